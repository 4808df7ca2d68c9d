"""A compiled package on disk: which kind it is, its pipeline name and its artifact root.

``submit`` and ``schedule`` read these to pick defaults (run and schedule names, the pipeline
root) and to refuse a package the chosen backend cannot run before any request is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeflow.errors import UsageError

KFP_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Package:
    path: Path
    pipeline_spec: dict[str, Any]

    @property
    def is_vertex_job(self) -> bool:
        return self.path.suffix.lower() == ".json"

    @property
    def name(self) -> str:
        return self.pipeline_spec.get("pipelineInfo", {}).get("name", self.path.stem)

    @property
    def pipeline_root(self) -> str | None:
        return self.pipeline_spec.get("defaultPipelineRoot") or None


def read(path: str) -> Package:
    """Load a .yaml PipelineSpec or a .json Vertex PipelineJob; UsageError when unreadable."""
    file = Path(path)
    if file.suffix.lower() not in (*KFP_SUFFIXES, ".json"):
        raise UsageError(f"--package {path}: expected a .yaml or .json file from `compile`")
    try:
        text = file.read_text(encoding="utf-8")
        document = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except OSError as err:
        raise UsageError(f"--package {path}: {err.strerror}") from None
    except (ValueError, yaml.YAMLError) as err:
        raise UsageError(f"--package {path}: not a compiled pipeline ({err})") from None
    if not isinstance(document, dict):
        raise UsageError(f"--package {path}: not a compiled pipeline")
    pipeline_spec = document.get("pipelineSpec", document)
    if "root" not in pipeline_spec:
        raise UsageError(f"--package {path}: not a compiled pipeline (no root DAG)")
    return Package(file, pipeline_spec)


def for_kfp(path: str) -> Package:
    package = read(path)
    if package.is_vertex_job:
        raise UsageError(
            f"--package {path}: kfp.Client runs a PipelineSpec YAML; this is a Vertex AI "
            "PipelineJob (compile with --output pipeline.yaml, or submit it with --vertex)"
        )
    return package


def for_vertex(path: str) -> Package:
    package = read(path)
    if not package.is_vertex_job:
        raise UsageError(
            f"--package {path}: --vertex needs a package compiled with --format vertex (.json); "
            "a .yaml package names Kubernetes accelerators and runs ingest without Vertex's hook"
        )
    return package
