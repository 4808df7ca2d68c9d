"""Compile the one ``create_pipeline(...)`` for Kubeflow Pipelines (YAML) or Vertex AI (JSON).

The pipeline is the same object ``local_runner.py`` runs, built from the same configuration; only
where it reads and writes changes (``kubeflow`` config section or flags, URIs the cluster can
read). TFX's KubeflowV2DagRunner turns it into a pipeline spec (schema 2.1, the one the
open-source backend reads), then ``kubeflow.spec`` adds resources, caching and the ingest
entrypoint.

Compiling writes the raw schema under the pipeline root (``create_pipeline`` does, as locally), so
the compiling machine needs write access there. The serving directory is not read: what is pushed
is looked up when the pipeline runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from kubeflow import spec
from kubeflow.errors import UsageError
from pipeline.config import CrnnConfig

if TYPE_CHECKING:  # TFX takes ~25 s to import: only compile_job imports it
    from tfx import v1 as tfx

EXTENSIONS = {spec.KFP: (".yaml", ".yml"), spec.VERTEX: (".json",)}
DESCRIPTION = {spec.KFP: "KFP v2 PipelineSpec", spec.VERTEX: "Vertex AI PipelineJob"}
REQUIRED = ("pipeline_root", "data_root", "serving_dir")
# LatestPushedModel's serving_state parameter: locally it fingerprints the serving directory when
# the pipeline is built; here the lookup runs uncached instead (kubeflow.spec).
SERVING_STATE = "looked-up-at-run-time"
HASH_SPLIT = "train+eval"


@dataclass(frozen=True)
class Target:
    output: Path
    format: str  # spec.KFP or spec.VERTEX


def output_target(output: str, format: str | None) -> Target:
    """Where and what to write; the extension must agree with the format (TFX's own rule)."""
    suffix = Path(output).suffix.lower()
    inferred = next((name for name, exts in EXTENSIONS.items() if suffix in exts), None)
    chosen = format or inferred
    if chosen is None:
        raise UsageError(
            f"--output {output}: end it in .yaml (KFP PipelineSpec) or .json "
            "(Vertex AI PipelineJob, --format vertex)"
        )
    if suffix not in EXTENSIONS[chosen]:
        raise UsageError(
            f"--format {chosen} writes a {DESCRIPTION[chosen]}: --output must end in "
            f"{' or '.join(EXTENSIONS[chosen])}, not {Path(output).name!r}"
        )
    return Target(Path(output), chosen)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def settle(config: CrnnConfig, flags: dict[str, str | None], beam_args: list[str]) -> CrnnConfig:
    """Flags over the ``kubeflow`` section (validated like config values); ``--beam-arg``s go
    after ``pipeline.beam_args`` (a later Beam flag wins). Raises UsageError naming what is
    missing."""
    for key, value in flags.items():
        if value is not None:
            try:
                setattr(config.kubeflow, key, value)
            except ValidationError as err:
                raise UsageError(f"{_flag(key)} {value!r}: {err.errors()[0]['msg']}") from None
    config.pipeline.beam_args = [*config.pipeline.beam_args, *beam_args]
    missing = [
        f"{_flag(key)} (kubeflow.{key})" for key in REQUIRED if not getattr(config.kubeflow, key)
    ]
    if missing:
        raise UsageError(
            f"missing {', '.join(missing)}: give the flag or set the key in the config"
        )
    return config


def _join(root: str, name: str) -> str:
    return f"{root.rstrip('/')}/{name}"


def build(config: CrnnConfig) -> tfx.dsl.Pipeline:
    """The TFX pipeline object, reading from ``data_root`` and pushing to ``serving_dir``."""
    from pipeline.pipeline import DataSource, PipelinePaths, create_pipeline

    kubeflow = config.kubeflow
    patterns = dict(config.data.input_splits or {HASH_SPLIT: kubeflow.data_pattern})
    paths = PipelinePaths(
        pipeline_root=kubeflow.pipeline_root,
        serving_dir=kubeflow.serving_dir,
        ingest_reports=_join(kubeflow.pipeline_root, "ingest"),
    )
    return create_pipeline(
        config, DataSource(kubeflow.data_root, patterns), paths, serving_state=SERVING_STATE
    )


def compile_job(config: CrnnConfig, format: str) -> dict[str, Any]:
    """The PipelineJob dict (displayName, pipelineSpec, runtimeConfig), adjusted for ``format``."""
    from tfx.v1.orchestration.experimental import KubeflowV2DagRunner, KubeflowV2DagRunnerConfig

    runner = KubeflowV2DagRunner(
        KubeflowV2DagRunnerConfig(default_image=config.kubeflow.image, use_pipeline_spec_2_1=True)
    )
    job = runner.run(build(config), write_out=False)
    return spec.adjust(job, config.kubeflow, format)


def write(job: dict[str, Any], target: Target) -> None:
    """YAML: the PipelineSpec alone (what kfp.Client takes). JSON: the whole PipelineJob."""
    target.output.parent.mkdir(parents=True, exist_ok=True)
    if target.format == spec.KFP:
        name = job["pipelineSpec"]["pipelineInfo"]["name"]
        header = f"# PIPELINE DEFINITION\n# Name: {name}\n# Compiled by kubeflow.runner (TFX).\n"
        text = header + yaml.safe_dump(job["pipelineSpec"], sort_keys=True)
    else:
        text = json.dumps(job, indent=2, sort_keys=True) + "\n"
    target.output.write_text(text, encoding="utf-8")


def compile_to(config: CrnnConfig, target: Target) -> dict[str, Any]:
    job = compile_job(config, target.format)
    write(job, target)
    return job
