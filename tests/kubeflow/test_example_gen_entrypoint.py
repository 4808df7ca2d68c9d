"""The ingest container of a KFP package, run the way the KFP launcher runs it.

The launcher substitutes ``{{$}}`` in the container's args with the ExecutorInput JSON (input
parameters resolved from the spec's constants, output artifact URIs, the output metadata file)
and runs the container's command. Here the same happens on this machine with the compiled
package: the newest span (2 of 2) must be resolved in the container and ingested, and the
Examples artifact must carry its span, as Vertex's lifecycle hook would record it.
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from kubeflow import spec

ROOT = Path(__file__).resolve().parents[2]


def executor_input(pipeline_spec: dict, task: str, out: Path) -> dict:
    task_spec = spec.tasks(pipeline_spec)[task]
    component = pipeline_spec["components"][task_spec["componentRef"]["name"]]
    artifact_type = component["outputDefinitions"]["artifacts"]["examples"]["artifactType"]
    parameters = task_spec["inputs"]["parameters"]
    return {
        "inputs": {
            "parameterValues": {
                name: value["runtimeValue"]["constant"] for name, value in parameters.items()
            }
        },
        "outputs": {
            "artifacts": {
                "examples": {
                    "artifacts": [
                        {
                            "name": "examples",
                            "type": artifact_type,
                            "uri": str(out / "examples"),
                            "metadata": {},
                        }
                    ]
                }
            },
            "outputFile": str(out / "kfp_outputs" / "output_metadata.json"),
        },
    }


def test_the_ingest_container_ingests_the_newest_span(tmp_path, compiled):
    pipeline_spec = yaml.safe_load(compiled.yaml.read_text())
    container = spec.container(pipeline_spec, spec.INGEST)
    invocation = json.dumps(executor_input(pipeline_spec, spec.INGEST, tmp_path))
    command = [sys.executable if part == "python" else part for part in container["command"]]
    args = [arg.replace("{{$}}", invocation) for arg in container["args"]]
    result = subprocess.run(command + args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]

    report = json.loads(
        (Path(compiled.pipeline_root) / "ingest" / "ingest_report.json").read_text()
    )
    assert report["span"] == 2
    span_2_rows = len((compiled.data_root / "span-2" / "labels.csv").read_text().splitlines())
    assert report["total_rows"] == report["total_written"] == span_2_rows == 14
    examples = tmp_path / "examples"
    assert (examples / "Split-train").is_dir() and (examples / "Split-eval").is_dir()

    output = json.loads((tmp_path / "kfp_outputs" / "output_metadata.json").read_text())
    (artifact,) = output["artifacts"]["examples"]["artifacts"]
    metadata = artifact["metadata"]
    assert metadata.get("span", metadata.get("custom:span")) == 2
    assert "num_files:1" in metadata["input_fingerprint"]
    assert json.loads(metadata["split_names"]) == ["train", "eval"]
