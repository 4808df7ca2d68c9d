"""Container entrypoint of CsvImageExampleGen on open-source Kubeflow Pipelines.

Vertex AI runs TFX's file-based ExampleGen driver as the container's ``lifecycle.preCacheCheck``
hook: it resolves ``{SPAN}``/``{VERSION}`` in the input patterns (the newest span), fingerprints
the input and writes the resolved properties to the executor's output file, where TFX's executor
entrypoint picks them up. The open-source KFP backend has no such hook, so without this module the
executor would look for a file literally named ``span-{SPAN}/labels.csv``. Here the same driver
runs first and then the same executor, in one container, with the same arguments:

    python -m kubeflow.example_gen_entrypoint --executor_class_path CLASS \\
        --json_serialized_invocation_args '{{$}}' [--json_serialized_inputs_spec_args SPEC] \\
        [BEAM ARGS]

``kubeflow.spec`` puts this command on the ingest step of a ``--format yaml`` package.
"""

from __future__ import annotations

import argparse
import json

from absl import app
from tfx.dsl.io import fileio

# TFX's own entrypoints, with their own flag parsers: each ignores the other's flags.
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as executor
from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver

Parsed = tuple[argparse.Namespace, tuple[argparse.Namespace, list[str]]]


def parse_flags(argv: list[str]) -> Parsed:
    return driver._parse_flags(argv), executor._parse_flags(argv)


def with_driver_metadata(invocation: str) -> str:
    """The executor input with the driver's metadata (span, version, input fingerprint) on its
    output artifacts, as Vertex records them before the executor runs."""
    executor_input = json.loads(invocation)
    outputs = executor_input["outputs"]
    with fileio.open(outputs["outputFile"]) as handle:
        driver_output = json.load(handle)
    for key, produced in driver_output.get("artifacts", {}).items():
        targets = outputs["artifacts"][key]["artifacts"]
        for target, artifact in zip(targets, produced["artifacts"], strict=True):
            target.setdefault("metadata", {}).update(artifact.get("metadata", {}))
    return json.dumps(executor_input)


def main(parsed: Parsed) -> None:
    driver_flags, (executor_args, beam_args) = parsed
    # The driver resolves the span and writes it to the executor's output file, where the
    # executor reads its exec properties back (and which it overwrites with its outputs).
    driver.main(driver_flags)
    executor_args.json_serialized_invocation_args = with_driver_metadata(
        executor_args.json_serialized_invocation_args
    )
    executor.main((executor_args, beam_args))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
