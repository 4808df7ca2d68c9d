"""benchmarks.pipeline_time: per-component wall times read from ML Metadata (a store written
with the ml_metadata API the way TFX's orchestrator writes it), medians over runs, the table."""

import json
import sys
import time

import pytest
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as mlmd

from benchmarks import pipeline_time


def write_store(path, runs: list[list[tuple[str, float, int]]], pipeline="crnn-tfx") -> None:
    """Pipeline runs, each a list of (component, seconds it runs, final state), in order."""
    config = mlmd.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    run_type = store.put_context_type(mlmd.ContextType(name="pipeline_run"))
    node_type = store.put_context_type(mlmd.ContextType(name="node"))
    nodes = {}
    for index, components in enumerate(runs):
        [run] = store.put_contexts([mlmd.Context(type_id=run_type, name=f"run-{index}")])
        for component, seconds, state in components:
            if component not in nodes:
                [nodes[component]] = store.put_contexts(
                    [mlmd.Context(type_id=node_type, name=f"{pipeline}.{component}")]
                )
            kind = store.put_execution_type(mlmd.ExecutionType(name=f"components.{component}"))
            execution = mlmd.Execution(type_id=kind, last_known_state=mlmd.Execution.RUNNING)
            [execution.id] = store.put_executions([execution])
            store.put_attributions_and_associations(
                [],
                [
                    mlmd.Association(context_id=run, execution_id=execution.id),
                    mlmd.Association(context_id=nodes[component], execution_id=execution.id),
                ],
            )
            time.sleep(seconds)
            execution.last_known_state = state
            store.put_executions([execution])


COMPLETE, CACHED = mlmd.Execution.COMPLETE, mlmd.Execution.CACHED


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two runs' stores; the first also holds an older run, which must be ignored."""
    root = tmp_path_factory.mktemp("stores")
    first, second = root / "first", root / "second"
    first.mkdir()
    second.mkdir()
    write_store(
        first / "metadata.sqlite",
        [
            [("CsvImageExampleGen", 0.0, COMPLETE), ("Trainer", 0.0, CACHED)],
            [("CsvImageExampleGen", 0.15, COMPLETE), ("Trainer", 0.35, COMPLETE)],
        ],
    )
    write_store(
        second / "metadata.sqlite",
        [[("CsvImageExampleGen", 0.05, COMPLETE), ("Trainer", 0.25, COMPLETE)]],
    )
    return first, second


def test_component_times_come_from_the_newest_run_in_start_order(stores):
    first, _ = stores
    times = pipeline_time.component_times(first / "metadata.sqlite")
    assert list(times["components"]) == ["CsvImageExampleGen", "Trainer"]
    assert times["pipeline"] == "crnn-tfx" and times["run"] == "run-1"
    assert times["states"] == {"CsvImageExampleGen": "COMPLETE", "Trainer": "COMPLETE"}
    example_gen, trainer = times["components"].values()
    assert 0.15 <= example_gen < 0.15 + 0.2
    assert 0.35 <= trainer < 0.35 + 0.2
    assert example_gen + trainer <= times["span"] < example_gen + trainer + 0.3


def test_medians_start_up_and_total_over_runs(stores):
    first, second = stores
    (first / pipeline_time.SIDECAR).write_text(
        json.dumps({"process_seconds": 10.0, "generation_seconds": 2.0, "summary": "CER=0.1"})
    )
    runs = [pipeline_time.load_run(first), pipeline_time.load_run(second / "metadata.sqlite")]
    rows = {step: (median, values) for step, median, values in pipeline_time.summarize(runs)}
    assert list(rows) == [
        pipeline_time.GENERATION,
        "CsvImageExampleGen",
        "Trainer",
        pipeline_time.STARTUP,
        "total",
    ]
    assert rows[pipeline_time.GENERATION] == (2.0, [2.0, None])  # only known for run 1
    trainer_median, trainer_values = rows["Trainer"]
    assert trainer_median == pytest.approx(sum(trainer_values) / 2)
    assert trainer_values[0] > trainer_values[1]
    startup = 10.0 - runs[0]["span"] - 2.0
    assert rows[pipeline_time.STARTUP] == (pytest.approx(startup), [pytest.approx(startup), None])
    assert rows["total"] == (pytest.approx((10.0 + runs[1]["span"]) / 2), [10.0, runs[1]["span"]])

    text = pipeline_time.markdown(runs, "python -m benchmarks.pipeline_time")
    assert "| CsvImageExampleGen |" in text and "| **total** |" in text
    assert "from 2 runs (fewer than the 5" in text
    assert "1 of them summarised from an existing ML Metadata store" in text
    assert "- run 1: `CER=0.1`" in text


def test_the_command_line_summarises_existing_stores_without_running(stores, capsys):
    _, second = stores
    assert pipeline_time.main(["--from-metadata", str(second)]) == 0
    out = capsys.readouterr().out
    assert "## Pipeline wall time per component" in out
    assert "| Trainer |" in out and "from 1 run " in out


def test_a_missing_store_is_an_error_not_a_new_empty_store(tmp_path):
    with pytest.raises(FileNotFoundError):
        pipeline_time.component_times(tmp_path / "metadata.sqlite")
    assert not (tmp_path / "metadata.sqlite").exists()


def test_a_run_echoes_its_progress_and_keeps_both_streams(tmp_path, capsys):
    script = (
        "import sys\n"
        "print('component 1 done', file=sys.stderr, flush=True)\n"
        "print('CER=0.1 pushed')\n"
        "print('component 2 done', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    status, stdout, stderr = pipeline_time.run_echoing_progress(
        [sys.executable, "-c", script], tmp_path
    )
    assert status == 3
    assert stdout == "CER=0.1 pushed\n"
    assert stderr == "component 1 done\ncomponent 2 done\n"
    assert capsys.readouterr().err == "  component 1 done\n  component 2 done\n"
