"""The Keras vs PyTorch training-speed benchmark, without torch: the PyTorch network's definition
against the project's, the BENCHMARKS.md section from given figures, and the errors a user sees
when the PyTorch venv is missing or its run fails."""

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from benchmarks import bench_setup, report, torch_crnn, train_speed
from pipeline.config import CrnnConfig
from trainer_module import export

KERAS_PARAMETERS = 8_721_445  # tests/trainer_module/test_model.py: the default model, 37 classes


def measurements(**changes) -> train_speed.Measurements:
    given = train_speed.Measurements(
        width=100,
        batch=32,
        steps=10,
        threads=1,
        label_length=8,
        time_steps=24,
        keras_parameters=KERAS_PARAMETERS,
        keras_trainable=8_718_885,
        torch_parameters=KERAS_PARAMETERS,
        torch_trainable=8_718_885,
        torch_frozen=4_096,
        keras_rates=[20.0, 22.0, 21.0, 25.0, 19.0],
        torch_rates=[30.0, 28.0, 29.0, 31.0, 27.0],
        tensorflow_version="2.16.2",
        torch_version="2.13.0+cpu",
        pinning="pinned to core 0",
    )
    return replace(given, **changes)


def test_torch_network_matches_the_project_config():
    model = CrnnConfig().model
    layers = tuple(
        (layer.filters, layer.kernel, layer.padding, layer.batch_norm, layer.pool)
        for layer in model.conv_layers
    )
    assert layers == torch_crnn.CONV_LAYERS
    assert (model.channels, model.input_height) == (torch_crnn.CHANNELS, torch_crnn.HEIGHT)
    assert (model.rnn_units, model.rnn_layers) == (torch_crnn.RNN_UNITS, torch_crnn.RNN_LAYERS)
    counts = torch_crnn.parameter_count()
    assert counts["parameters"] == KERAS_PARAMETERS
    assert counts["trainable"] + counts["bn_statistics"] == KERAS_PARAMETERS


def test_both_sides_know_the_same_precisions_as_the_trainer():
    assert train_speed.PRECISIONS == torch_crnn.PRECISIONS == tuple(export.EXPORT_POLICIES)
    assert set(train_speed.PRECISION_NOTES) == set(train_speed.PRECISIONS)
    with pytest.raises(ValueError, match="precision 'float16': expected one of float32, bfloat16"):
        torch_crnn.build_model(precision="float16")  # refused before torch is imported


def test_section_reports_figures_ratio_and_missed_target():
    m = measurements()
    text = train_speed.section(
        [m], "python -m benchmarks.train_speed --write", "CPU X", "2026-01-02"
    )
    assert text.startswith("## Training speed: Keras CRNN vs the same architecture in PyTorch")
    assert (
        "| Keras (TensorFlow 2.16.2, tf_keras) | float32 | 8,721,445 | 21.0 "
        "| 20.0, 22.0, 21.0, 25.0, 19.0 |" in text
    )
    assert (
        "| PyTorch 2.13.0+cpu | float32 | 8,721,445 | 29.0 | 30.0, 28.0, 29.0, 31.0, 27.0 |" in text
    )
    assert "ratio Keras/PyTorch in float32 (medians): **0.72x**" in text
    assert "bfloat16" not in text
    assert "run by run 0.67x to 0.81x" in text
    assert "**not met**: Keras trains at 0.72x" in text
    assert "median of 5 runs each" in text
    assert "parameters: equal (8,721,445" in text
    assert "- command: `python -m benchmarks.train_speed --write`" in text
    assert "- machine: CPU X; pinned to core 0; threads 1" in text
    assert "- date: 2026-01-02" in text


def test_section_states_a_met_target_and_a_parameter_gap():
    m = measurements(keras_rates=[30.0] * 5, torch_rates=[25.0] * 5, torch_parameters=8_725_541)
    text = train_speed.section([m], "cmd", "machine", "date")
    assert "**met**: Keras trains at 1.20x" in text
    assert "NOT equal" in text and "gap +4,096" in text
    assert "(on 1 cores)" not in text and "(per core)" in text
    assert "both sides" not in text


def test_section_says_when_runs_straddle_the_target():
    m = measurements(keras_rates=[18.0, 22.0, 21.0, 20.0, 24.0], torch_rates=[20.0] * 5)
    text = train_speed.section([m], "cmd", "machine", "date")
    assert "**met**: Keras trains at 1.05x" in text
    assert "run-by-run ratios fall on both sides of 1.0x" in text
    assert "within this run's noise" in text


def test_section_reports_each_precision_with_its_own_ratio_and_verdict():
    results = [
        measurements(),
        measurements(
            precision="bfloat16",
            keras_rates=[40.0, 41.0, 39.0, 42.0, 38.0],
            torch_rates=[36.0, 35.0, 37.0, 34.0, 38.0],
        ),
    ]
    text = train_speed.section(results, "cmd", "machine", "date", "it reports avx512_bf16")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[1] for row in rows[1:]] == [
        "float32",
        "float32",
        "bfloat16",
        "bfloat16",
    ]
    assert "| Keras (TensorFlow 2.16.2, tf_keras) | bfloat16 | 8,721,445 | 40.0 |" in text
    assert "| PyTorch 2.13.0+cpu | bfloat16 | 8,721,445 | 36.0 |" in text
    assert "ratio Keras/PyTorch in float32 (medians): **0.72x**" in text
    assert "ratio Keras/PyTorch in bfloat16 (medians): **1.11x**" in text
    assert "in float32 (the same arithmetic in both): **not met**: Keras trains at 0.72x" in text
    assert "in bfloat16 (`training.mixed_precision` on this CPU" in text
    assert "standard profile trains): **met**: Keras trains at 1.11x" in text
    assert "in float32 and bfloat16." in text
    assert "On this machine it reports avx512_bf16." in text
    assert text.count("- parameters:") == 1
    with pytest.raises(ValueError, match="no measurements"):
        train_speed.section([], "cmd", "machine", "date")


def test_section_goes_into_its_own_block(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    for rates in ([20.0] * 5, [22.0] * 5):  # written twice: replaced, not appended
        text = train_speed.section([measurements(keras_rates=rates)], "cmd", "m", "d")
        report.write_section(train_speed.SECTION, text, path)
    written = path.read_text()
    assert written.count("<!-- train_speed:begin -->") == 1
    assert "| 22.0 |" in written and "| 20.0 |" not in written
    assert "kept" in written


def test_missing_torch_venv_says_how_to_make_it(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-venv" / "bin" / "python"
    with pytest.raises(train_speed.TorchVenvMissing, match=r"python -m benchmarks\.bench_setup"):
        train_speed.torch_python(missing)

    monkeypatch.setattr(bench_setup, "TORCH_PYTHON", missing)
    affinity = os.sched_getaffinity(0)
    assert train_speed.main(["--repeats", "5"]) == 2
    error = capsys.readouterr().err
    assert "the PyTorch venv is missing" in error
    assert "python -m benchmarks.bench_setup" in error
    assert os.sched_getaffinity(0) == affinity  # it stopped before pinning or measuring


def _fake_python(tmp_path: Path, script: str) -> Path:
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\n{script}\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return python


def test_torch_run_result_and_failure(tmp_path):
    args = dict(
        width=100, batch=32, steps=2, repeats=1, threads=1, label_length=8, learning_rate=1e-3
    )
    ok = _fake_python(tmp_path, 'echo "starting"; echo \'{"samples_per_second": [12.5]}\'')
    assert train_speed.run_torch(ok, **args) == {"samples_per_second": [12.5]}

    failing = _fake_python(tmp_path, 'echo "ModuleNotFoundError: torch" >&2; exit 3')
    with pytest.raises(train_speed.TorchRunFailed, match="exited with 3") as raised:
        train_speed.run_torch(failing, **args)
    assert "ModuleNotFoundError: torch" in str(raised.value)

    echo = _fake_python(tmp_path, 'printf \'{"argv": "%s"}\\n\' "$*"')
    argv = train_speed.run_torch(echo, **args, precision="bfloat16")["argv"]
    assert "--precision=bfloat16" in argv and "--label-length=8" in argv
    assert "--precision=float32" in train_speed.run_torch(echo, **args)["argv"]

    garbled = _fake_python(tmp_path, 'echo "not json"')
    with pytest.raises(train_speed.TorchRunFailed, match="no JSON result"):
        train_speed.run_torch(garbled, **args)
