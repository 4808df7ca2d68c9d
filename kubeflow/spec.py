"""What TFX's KubeflowV2DagRunner cannot say, written into the compiled pipeline spec.

The compiled spec is a plain dict (the PipelineJob JSON TFX returns). Three adjustments:

- **Resources.** Every step's container gets CPU and memory limits, the Trainer an accelerator
  (``kubeflow.trainer``). They are set here rather than with ``with_platform_config``, because
  TFX drops platform_config for FileBasedExampleGen subclasses (tensorflow/tfx#6146) and ingest
  needs resources as much as any step.
- **Caching.** The KFP cache key of a step is its spec and its input artifacts. Steps that read
  state the key cannot see must run every time: LatestPushedModel (the serving directory),
  Pusher (it writes there) and, on open-source KFP, ingest (which span is newest is decided
  inside the container, see below). Everything downstream of a step that ran gets new input
  artifacts, so it runs too; steps whose inputs did not change keep their cache.
- **Ingest on open-source KFP.** Vertex AI runs TFX's ExampleGen driver ({SPAN} resolution, input
  fingerprint) as the container's ``lifecycle.preCacheCheck`` hook; the open-source backend has
  no such hook. For ``--format yaml`` the ingest container runs ``kubeflow.example_gen_entrypoint``
  instead, which runs the same driver and then the executor.

The artifact root goes into ``defaultPipelineRoot``, so a YAML package (which has no runtime
config) still knows where the pipeline's own files (schema, ingest reports) were written.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.config import KubeflowConfig, StepResources

INGEST = "CsvImageExampleGen"
TRAINER = "Trainer"
BEAM_STEPS = (INGEST, "Transform", "Evaluator")
SERVING_DIR_STEPS = ("LatestPushedModel", "Pusher")
INGEST_ENTRYPOINT = ["python", "-m", "kubeflow.example_gen_entrypoint"]

KFP = "yaml"
VERTEX = "vertex"

_ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def tasks(pipeline_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Task name -> task spec of the root DAG (task names are the TFX component ids)."""
    return pipeline_spec["root"]["dag"]["tasks"]


def container(pipeline_spec: dict[str, Any], task: str) -> dict[str, Any]:
    """The container spec a task runs (task -> component -> executor)."""
    component = pipeline_spec["components"][tasks(pipeline_spec)[task]["componentRef"]["name"]]
    return pipeline_spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]


def resources_of(task: str, kubeflow: KubeflowConfig) -> StepResources:
    if task == TRAINER:
        return kubeflow.trainer
    return kubeflow.beam_steps if task in BEAM_STEPS else kubeflow.other_steps


def resource_spec(resources: StepResources, target: str) -> dict[str, Any]:
    """The pipeline-spec ResourceSpec (CPU in vCPU, memory in GB) as the spec's JSON."""
    spec = _ResourceSpec()
    if resources.cpu:
        spec.cpu_limit = resources.cpu
    if resources.memory_gb:
        spec.memory_limit = resources.memory_gb
    if resources.accelerator_count:
        vertex = target == VERTEX
        spec.accelerator.type = (
            resources.vertex_accelerator_type if vertex else resources.accelerator_type
        )
        spec.accelerator.count = resources.accelerator_count
    return json_format.MessageToDict(spec)


def uncached_tasks(target: str) -> tuple[str, ...]:
    return (*SERVING_DIR_STEPS, INGEST) if target == KFP else SERVING_DIR_STEPS


def adjust(job: dict[str, Any], kubeflow: KubeflowConfig, target: str) -> dict[str, Any]:
    """Resources, caching, the ingest entrypoint and the pipeline root, in place; returns job."""
    pipeline_spec = job["pipelineSpec"]
    for task in tasks(pipeline_spec):
        spec = resource_spec(resources_of(task, kubeflow), target)
        if spec:
            container(pipeline_spec, task)["resources"] = spec
    for task in uncached_tasks(target):
        tasks(pipeline_spec)[task]["cachingOptions"] = {"enableCache": False}
    if target == KFP:
        ingest = container(pipeline_spec, INGEST)
        ingest["command"] = list(INGEST_ENTRYPOINT)
        ingest.pop("lifecycle", None)
    pipeline_spec["defaultPipelineRoot"] = kubeflow.pipeline_root
    return job
