"""Scheduled retraining, end to end on this machine: the cron line of kubeflow/README.md.

Each scheduled run is ``local_runner.py CONFIG --data 'DATA/span-{SPAN}/labels.csv'``. Run 1 sees
span 1 only: it trains briefly from scratch and, with nothing pushed yet, is compared with itself
and pushed. Then span 2 lands. Run 2 ingests span 2 (not span 1), warm-starts from the pushed
model, trains further, and the Evaluator compares it with the pushed model on span 2's eval split:
it is strictly better (run 1 was deliberately short), so it is blessed and pushed as a second
version. The CER bound is set out of reach (2.0), so the comparison alone decides the push.
"""

import json
import re
from pathlib import Path

import pytest
import tensorflow_model_analysis as tfma
from testlib import TINY_MODEL, run_local_runner

from pipeline import results
from tools import synth_lines

PIPELINE = "crnn-tfx"
TINY = {
    "model": TINY_MODEL,
    "augmentation": {"enabled": False},
    "training": {
        "batch_size": 16,
        "learning_rate": 0.003,
        "lr_schedule": "constant",
        "steps_per_evaluation": 1000,
        "warm_start": True,
    },
    "evaluation": {"cer_threshold": 2.0, "max_cer_increase": 0.0, "decoder": "greedy"},
}
FIRST_STEPS = 40  # a weak first model, so that the retrained one is clearly better
RETRAIN_STEPS = 400  # past the all-blank start (see tests/pipeline/test_local_runner.py)


def add_span(data: Path, span: int) -> None:
    synth_lines.generate(data / f"span-{span}", 200, seed=100 + span, charset="digits", max_chars=8)


def scheduled_run(tmp_path: Path, steps: int) -> tuple[dict, str]:
    """One run of the cron line; returns the summary figures and the log."""
    data = str(tmp_path / "data" / "span-{SPAN}" / "labels.csv")
    return run_local_runner(
        TINY, tmp_path, "--data", data, "--train-steps", str(steps), timeout=600
    )


def ingested_span(tmp_path: Path) -> int:
    report = json.loads((tmp_path / "out" / "ingest" / "ingest_report.json").read_text())
    return int(report["span"])


def versions(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "out" / "serving").iterdir() if p.name.isdigit())


def store(tmp_path: Path):
    return results.open_store(str(tmp_path / "out" / "metadata.sqlite"))


def cer_difference(evaluation_uri: str) -> float:
    """Candidate CER minus baseline CER on the overall slice, as the Evaluator computed it."""
    for slice_metrics in tfma.load_metrics(evaluation_uri):
        if slice_metrics.slice_key.single_slice_keys:
            continue
        for entry in slice_metrics.metric_keys_and_values:
            if entry.key.name == "cer" and entry.key.is_diff:
                return entry.value.double_value.value
    raise AssertionError(f"no CER difference in {evaluation_uri}: no baseline compared")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("retraining")
    add_span(tmp_path / "data", 1)
    first = scheduled_run(tmp_path, FIRST_STEPS)
    first_span, first_versions = ingested_span(tmp_path), versions(tmp_path)
    add_span(tmp_path / "data", 2)
    second = scheduled_run(tmp_path, RETRAIN_STEPS)
    return tmp_path, (first, first_span, first_versions), second


def test_run_1_ingests_span_1_trains_from_scratch_and_pushes(two_runs):
    tmp_path, ((summary, log), span, pushed), _ = two_runs
    assert span == 1
    assert "ingest: 200 rows -> 200 examples" in log
    assert "warm-started from" not in log  # nothing was pushed before run 1
    assert summary["blessed"] == "true"
    assert len(pushed) == 1 and summary["pushed"] == str(tmp_path / "out" / "serving" / pushed[0])


def test_run_2_ingests_the_newest_span(two_runs):
    tmp_path, _, (_, log) = two_runs
    assert ingested_span(tmp_path) == 2
    assert "ingest: 200 rows -> 200 examples" in log  # span 2 alone, not both spans
    metadata = store(tmp_path)
    (examples,) = results.latest_outputs(metadata, PIPELINE, "CsvImageExampleGen", "examples")
    assert results.custom_property(examples, "span") == 2


def test_run_2_warm_starts_from_the_pushed_model(two_runs):
    tmp_path, (_, _, pushed), (_, log) = two_runs
    match = re.search(r"warm-started from (\S+)", log)
    assert match, log[-3000:]
    assert "/LatestPushedModel/model/" in match.group(1)
    (latest,) = results.latest_outputs(store(tmp_path), PIPELINE, "LatestPushedModel", "model")
    assert results.custom_property(latest, "source") == str(
        tmp_path / "out" / "serving" / pushed[0]
    )


def test_run_2_is_evaluated_against_the_pushed_model_and_pushed_as_better(two_runs):
    tmp_path, (_, _, pushed), (second, _) = two_runs
    metadata = store(tmp_path)
    (baseline,) = results.latest_outputs(metadata, PIPELINE, "BaselineModel", "baseline")
    assert results.custom_property(baseline, "is_candidate") == 0
    assert results.custom_property(baseline, "source") == str(
        tmp_path / "out" / "serving" / pushed[0]
    )
    (evaluation,) = results.latest_outputs(metadata, PIPELINE, "Evaluator", "evaluation")
    assert tfma.load_validation_result(evaluation.uri).validation_ok
    # The reason it is pushed: lower CER than the pushed model (the CER bound is out of reach).
    assert cer_difference(evaluation.uri) < 0
    assert second["blessed"] == "true"
    now = versions(tmp_path)
    assert len(now) == 2 and now[0] == pushed[0]
    assert second["pushed"] == str(tmp_path / "out" / "serving" / now[1])
