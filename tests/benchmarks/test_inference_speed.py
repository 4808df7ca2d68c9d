"""The inference-speed benchmark without a model or Tesseract: how runs are batched and timed,
and the BENCHMARKS.md section (ratios, targets met or not) from given measurements."""

import os

import pytest

from benchmarks import inference_speed as speed
from benchmarks import report
from pipeline.config import EvaluationConfig


def rates(system, decoder, single, batched, cer=None, line_accuracy=None, by_width=()):
    return speed.SystemRates(system, decoder, single, batched, cer, line_accuracy, list(by_width))


def measurements(**changes) -> speed.Measurements:
    given = dict(
        systems=[
            rates(
                speed.SAVED_MODEL,
                "CTC beam search (width 10, top 3), in the graph",
                [40.0, 36.0, 38.0, 44.0, 30.0],  # median 38
                [80.0, 90.0, 85.0, 70.0, 100.0],  # median 85
                0.1234,
                0.5,
                [100.0, 110.0, 120.0, 105.0, 115.0],  # by width: median 110
            ),
            rates(speed.ONNX, speed.ONNX_DECODER, [60.0] * 5, [600.0] * 5),
            rates(speed.TESSERACT, speed.TESSERACT_DECODER, [4.0] * 5, [50.0] * 5, 0.08, 0.25),
        ],
        tesseract_best=[55.0, 60.0, 50.0, 62.5, 40.0],  # median 55
        lines=256,
        single_lines=64,
        repeats=5,
        model_dir="/models/serving/17",
        heldout="outputs/bench/heldout-speed",
        charset="lower",
        pinning="pinned to core 0",
        versions={"TensorFlow": "2.16.2", "onnxruntime": "1.23.2", "Tesseract": "5.3.0"},
    )
    given.update(changes)
    return speed.Measurements(**given)


def test_verdict_and_ratio_wording():
    assert speed.verdict(12.345, 10) == "**met** (12.35x >= 10x)"
    assert speed.verdict(10.0, 10) == "**met** (10.00x >= 10x)"
    assert speed.verdict(9.5, 10).startswith("**not met**")
    assert speed.verdict(1.5, 3) == "**not met** (1.50x < 3x)"
    assert speed.ratio(85.0, 50.0) == pytest.approx(1.7)
    assert speed.ratio(1.0, 0.0) == float("inf")


def test_saved_model_decoder_is_read_from_the_configuration():
    beam = EvaluationConfig(decoder="beam", beam_width=8, top_paths=2)
    assert speed.saved_model_decoder(beam) == "CTC beam search (width 8, top 2), in the graph"
    assert speed.saved_model_decoder(EvaluationConfig(decoder="greedy")) == (
        "CTC greedy, in the graph"
    )


def test_section_reports_medians_ratios_and_targets():
    text = speed.section(measurements(), "python -m benchmarks.inference_speed", "CPU X", "D")
    assert text.startswith("## Inference speed per core: SavedModel, ONNX Runtime, Tesseract 5")
    assert (
        "| SavedModel | CTC beam search (width 10, top 3), in the graph | 38.0 | 85.0 | 110.0 "
        "| 9.50x | 1.70x | 2.20x | 0.1234 / 0.500 |" in text
    )
    assert (
        "| ONNX Runtime | CTC greedy, NumPy (outside the graph) | 60.0 | 600.0 | - | 15.00x "
        in text
    )
    assert "| 12.00x | - | - |" in text  # not timed by width, no accuracy given for ONNX Runtime
    assert "| Tesseract | " in text
    assert "| 4.0 | 50.0 | - | 1.00x | 1.00x | - | 0.0800 / 0.250 |" in text
    assert (
        "  - SavedModel: batch 64 **not met** (1.70x < 10x), by width **not met** (2.20x < 10x); "
        "batch 1 **met** (9.50x >= 3x)" in text
    )
    assert "  - ONNX Runtime: batch 64 **met** (12.00x >= 10x); batch 1 **met** (15.00x >= 3x)" in (
        text
    )
    # Tesseract's best case: one call on every line, and what the others are against it.
    assert "**55.0 lines/s** (18.2 ms per line)" in text
    assert "SavedModel batched is 1.55x, ONNX Runtime batched is 10.91x" in text
    # Batch 1 is one Tesseract process per image: 250 ms per line vs 18.2 ms once loaded.
    assert "about 232 ms per call here" in text
    assert "one call per image" in text and "loading its model every call" in text
    assert "Median of 5 timed runs after one warm-up run" in text
    assert "the first 64 one by one" in text and "all 256 in batches of 64" in text
    assert "SavedModel batch 1: 40.0, 36.0, 38.0, 44.0, 30.0" in text
    assert "by width: 100.0, 110.0, 120.0, 105.0, 115.0; ONNX Runtime batch 1" in text
    assert "sorted by aspect ratio" in text and "results back in order" in text
    assert "- command: `python -m benchmarks.inference_speed`" in text
    assert "- machine: CPU X" in text and "- date: D" in text
    assert "pinned to core 0" in text and "TF intra/inter-op threads 1" in text
    assert "intra_op_num_threads 1" in text and "OMP_THREAD_LIMIT=1" in text
    assert "- versions: TensorFlow 2.16.2, onnxruntime 1.23.2, Tesseract 5.3.0" in text
    assert "`/models/serving/17`" in text
    assert "issue 7 asks for the median" not in text
    assert "- note:" not in text


def test_section_carries_a_note_when_given():
    text = speed.section(measurements(), "c", "m", "d", note="a trial model, not the profile's")
    assert text.endswith("\n- note: a trial model, not the profile's")


def test_section_says_when_fewer_than_five_runs():
    m = measurements(repeats=3)
    assert "only 3 timed runs: issue 7 asks for the median of >= 5" in speed.section(
        m, "c", "m", "d"
    )


def test_section_goes_into_its_own_block(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n<!-- other:begin -->\nkept\n<!-- other:end -->\n")
    for best in ([55.0] * 5, [44.0] * 5):  # written twice: replaced, not appended
        report.write_section(
            speed.SECTION, speed.section(measurements(tesseract_best=best), "c", "m", "d"), path
        )
    written = path.read_text()
    assert written.count("<!-- inference_speed:begin -->") == 1
    assert "**44.0 lines/s**" in written and "**55.0 lines/s**" not in written
    assert "kept" in written


def test_time_run_reads_full_batches_in_order():
    calls = []

    def predict(batch):
        calls.append(list(batch))
        return [str(item) for item in batch]

    items = list(range(130))
    rate, texts = speed.time_run(predict, items, 64)
    assert [len(call) for call in calls] == [64, 64]  # the last 2 items make no full batch
    assert texts == [str(i) for i in range(128)] and rate > 0

    calls.clear()
    _, texts = speed.time_run(predict, items[:5], 1)
    assert calls == [[0], [1], [2], [3], [4]]  # batch 1: one call per line

    with pytest.raises(ValueError, match="cannot make one batch"):
        speed.time_run(predict, items[:10], 64)
    with pytest.raises(RuntimeError, match="1 texts for 2 lines"):
        speed.time_run(lambda batch: ["x"], items[:2], 2)


def test_run_plan_discards_the_warm_up_and_rotates_the_order():
    order = []

    def system(name):
        def predict(batch):
            order.append(name)
            return [name] * len(batch)

        return predict

    entries = [speed.Entry(key, system(key), [0, 1], 2) for key in ("a", "b", "c")]
    logged = []
    rates, texts = speed.run_plan(entries, repeats=5, log=logged.append)
    assert {key: len(values) for key, values in rates.items()} == {"a": 5, "b": 5, "c": 5}
    assert texts == {"a": ["a", "a"], "b": ["b", "b"], "c": ["c", "c"]}
    assert order[:9] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert len(order) == 18 and logged[0] == "warm-up run done"
    assert logged[-1].startswith("run 5/5 (lines/s): a ")


def test_bad_arguments_stop_before_pinning(capsys):
    affinity = os.sched_getaffinity(0)
    with pytest.raises(SystemExit) as raised:
        speed.main(["--model", "nowhere", "--lines", "10"])
    assert raised.value.code == 2
    assert "--lines must be at least 64" in capsys.readouterr().err
    assert os.sched_getaffinity(0) == affinity


def test_the_cpu_bfloat16_note_names_the_flags_the_cpu_reports(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert speed.cpu_bf16(str(cpuinfo)) == "it reports avx512_bf16"
    cpuinfo.write_text("flags\t\t: fpu avx2 amx_bf16 avx512_bf16\n")
    assert speed.cpu_bf16(str(cpuinfo)) == "it reports avx512_bf16 and amx_bf16"
    cpuinfo.write_text("flags\t\t: fpu avx2\n")
    assert speed.cpu_bf16(str(cpuinfo)) == "it reports neither"
    assert "could not be read" in speed.cpu_bf16(str(tmp_path / "missing"))
