"""What a finished run produced, read back from ML Metadata: the figures of the one-line summary.

``CER=<x> line_accuracy=<y> blessed=<true|false> pushed_model=<path or none>``
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow_model_analysis as tfma
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from components.tfma_metrics import CER, LINE_ACCURACY

_DONE = (mlmd.Execution.COMPLETE, mlmd.Execution.CACHED)


@dataclass
class RunSummary:
    cer: float | None
    line_accuracy: float | None
    blessed: bool
    pushed_model: str | None
    executions: dict[str, str]  # component -> COMPLETE / CACHED / FAILED ...

    def line(self) -> str:
        def number(value: float | None) -> str:
            return "nan" if value is None else f"{value:.4f}"

        return (
            f"CER={number(self.cer)} line_accuracy={number(self.line_accuracy)} "
            f"blessed={str(self.blessed).lower()} pushed_model={self.pushed_model or 'none'}"
        )


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """A read-only store on a run's metadata.sqlite (it never creates one)."""
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def latest_outputs(store, pipeline_name: str, node_id: str, key: str) -> list:
    """Output artifacts under ``key`` of the newest finished execution of a component."""
    context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    if context is None:
        return []
    executions = [
        e for e in store.get_executions_by_context(context.id) if e.last_known_state in _DONE
    ]
    if not executions:
        return []
    newest = max(executions, key=lambda e: (e.create_time_since_epoch, e.id))
    ids = [
        event.artifact_id
        for event in store.get_events_by_execution_ids([newest.id])
        if event.type == mlmd.Event.OUTPUT and event.path.steps and event.path.steps[0].key == key
    ]
    return store.get_artifacts_by_id(ids)


def latest_states(store, pipeline_name: str) -> dict[str, str]:
    """State (COMPLETE, CACHED, FAILED...) of each component in the newest run."""
    runs = [run for run in store.get_contexts_by_type("pipeline_run") if run.name]
    if not runs:
        return {}
    newest = max(runs, key=lambda c: (c.create_time_since_epoch, c.id))
    in_run = {e.id for e in store.get_executions_by_context(newest.id)}
    states = {}
    for node in store.get_contexts_by_type("node"):
        prefix, _, node_id = node.name.partition(".")
        if prefix != pipeline_name:
            continue
        for execution in store.get_executions_by_context(node.id):
            if execution.id in in_run:
                states[node_id] = mlmd.Execution.State.Name(execution.last_known_state)
    return states


def custom_property(artifact, key: str):
    value = artifact.custom_properties.get(key)
    return None if value is None else getattr(value, value.WhichOneof("value"))


def overall_metrics(evaluation_uri: str) -> dict[str, float]:
    """Candidate metrics of the overall slice (not the baseline's, not the differences)."""
    figures = {}
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for entry in slice_metrics.metric_keys_and_values:
            key = entry.key
            if key.is_diff or key.model_name not in ("", "candidate"):
                continue
            figures[key.name] = entry.value.double_value.value
    return figures


def summarize(metadata_path: str, pipeline_name: str) -> RunSummary:
    store = open_store(metadata_path)
    figures = {}
    evaluation = latest_outputs(store, pipeline_name, "Evaluator", "evaluation")
    if evaluation:
        figures = overall_metrics(evaluation[0].uri)
    blessing = latest_outputs(store, pipeline_name, "Evaluator", "blessing")
    pushed = latest_outputs(store, pipeline_name, "Pusher", "pushed_model")
    pushed_model = None
    if pushed and custom_property(pushed[0], "pushed") == 1:
        pushed_model = custom_property(pushed[0], "pushed_destination")
    return RunSummary(
        cer=figures.get(CER),
        line_accuracy=figures.get(LINE_ACCURACY),
        blessed=bool(blessing and custom_property(blessing[0], "blessed") == 1),
        pushed_model=pushed_model,
        executions=latest_states(store, pipeline_name),
    )


def eval_report_inputs(metadata_path: str, pipeline_name: str) -> tuple[str, str]:
    """The newest run's trained SavedModel and a glob of its eval split's TFRecords."""
    store = open_store(metadata_path)
    model = latest_outputs(store, pipeline_name, "Trainer", "model")
    examples = latest_outputs(store, pipeline_name, "CsvImageExampleGen", "examples")
    if not model or not examples:
        raise ValueError(f"{metadata_path}: no finished Trainer and ExampleGen run to report on")
    return f"{model[0].uri}/Format-Serving", f"{examples[0].uri}/Split-eval/*"
