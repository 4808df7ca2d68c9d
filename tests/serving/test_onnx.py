"""ONNX export parity: same text as the SavedModel on generated lines, logits within 1e-4; the
int8 export reads within INT8_CER_MARGIN of the float one."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
import tensorflow as tf

from serving.onnx_model import OnnxRecognizer
from trainer_module import export, geometry
from trainer_module.metrics import character_error_rate

ROOT = Path(__file__).resolve().parents[2]
LOGIT_TOLERANCE = 1e-4  # absolute, on identical input tensors
PIXEL_TOLERANCE = 0.02  # mean absolute difference of Pillow vs TensorFlow preprocessing
INT8_CER_MARGIN = 0.02  # CER points the int8 export may add to the float export's


def export_command(model_dir, output, *extra) -> list[str]:
    return [
        sys.executable,
        "-m",
        "serving.onnx_export",
        "--model",
        str(model_dir),
        "--output",
        str(output),
        *extra,
    ]


def test_onnx_reader_imports_no_tensorflow():
    code = (
        "import sys, serving.onnx_model; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'tensorflow', 'tf2onnx', 'keras', 'tf_keras'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    result, _, rows = trained
    out = tmp_path_factory.mktemp("onnx") / "crnn.onnx"
    command = export_command(result.model_dir, out)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"wrote {out}")
    return result, rows, OnnxRecognizer(out)


def test_onnx_runtime_reads_the_same_text_as_the_saved_model(exported, trained, tmp_path):
    result, rows, onnx_model = exported
    _, config, _ = trained
    greedy = config.model_copy(
        update={"evaluation": config.evaluation.model_copy(update={"decoder": "greedy"})}
    )
    recognizer, _, _ = export.load_recognizer(result.model_dir)
    export.export_saved_model(recognizer, result.alphabet, greedy, tmp_path / "greedy")
    images = [Path(row.path).read_bytes() for row in rows]
    saved = export.load_predictor(tmp_path / "greedy")(images=tf.constant(images))
    assert [p.text for p in onnx_model.predict(images)] == [
        t.decode() for t in saved["text"].numpy()
    ]
    confidences = np.array([p.confidence for p in onnx_model.predict(images)])
    np.testing.assert_allclose(confidences, saved["confidence"].numpy(), atol=0.02)


def test_with_a_language_model_onnx_runtime_reads_as_the_saved_model_does(exported):
    from serving.char_lm import CharLM
    from serving.model import Recognizer

    result, rows, plain = exported
    lm = CharLM.train([row.label for row in rows])
    onnx_model = OnnxRecognizer(plain.path, lm=lm)
    images = [Path(row.path).read_bytes() for row in rows]
    saved = Recognizer(result.model_dir, lm=lm).predict(images)
    read = onnx_model.predict(images)
    assert [p.text for p in read] == [p.text for p in saved]
    assert [len(p.top_k) for p in read] == [len(p.top_k) for p in saved]
    np.testing.assert_allclose(
        [p.confidence for p in read], [p.confidence for p in saved], atol=0.02
    )


def test_logits_agree_within_tolerance_on_identical_inputs(exported, trained):
    result, rows, onnx_model = exported
    _, config, _ = trained
    recognizer, _, _ = export.load_recognizer(result.model_dir)
    prepared = geometry.prepare_images(
        tf.constant([Path(row.path).read_bytes() for row in rows]), config.model
    )
    image = geometry.crop_to_batch_width(prepared["image"], prepared["width"]).numpy()
    width = prepared["width"].numpy()
    expected = recognizer({"image": image, "width": width}, training=False)
    logits, lengths = onnx_model.logits(image, width)
    np.testing.assert_array_equal(lengths, expected["logit_length"].numpy())
    for i, length in enumerate(lengths):
        difference = np.abs(logits[i, :length] - expected["logits"].numpy()[i, :length]).max()
        assert difference < LOGIT_TOLERANCE


def test_pillow_preprocessing_stays_close_to_the_training_geometry(exported, trained):
    _, rows, onnx_model = exported
    _, config, _ = trained
    images = [Path(row.path).read_bytes() for row in rows]
    image, width = onnx_model.prepare(images)
    prepared = geometry.prepare_images(tf.constant(images), config.model)
    np.testing.assert_array_equal(width, prepared["width"].numpy())
    reference = prepared["image"].numpy()[:, :, : image.shape[2]]
    assert np.abs(image - reference).mean() < PIXEL_TOLERANCE


def test_an_int8_export_quantizes_the_convolutions_and_reads_within_the_margin(exported, tmp_path):
    result, rows, float_model = exported
    out = tmp_path / "crnn-int8.onnx"
    # Calibrated on the lines the model was trained on, as a user would (its training images).
    pattern = str(Path(rows[0].path).parent / "*.png")
    command = export_command(result.model_dir, out, "--int8", pattern, "--calibration-lines", "64")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    graph = onnx.load(str(out)).graph
    ops = Counter(node.op_type for node in graph.node)
    convolutions = [node for node in graph.node if node.op_type == "Conv"]
    assert ops["QuantizeLinear"] >= len(convolutions) - 1 > 0
    assert ops["DequantizeLinear"] > len(convolutions)
    assert any(w.data_type == onnx.TensorProto.INT8 for w in graph.initializer)
    # Every convolution but the first reads dequantised int8 weights; the first, which reads the
    # image, keeps float weights (ONNX Runtime 1.23's fused int8 kernel misreads it on AMX Xeons).
    dequantized = {node.output[0] for node in graph.node if node.op_type == "DequantizeLinear"}
    weight_is_int8 = [node.input[1] in dequantized for node in convolutions]
    assert weight_is_int8 == [False] + [True] * (len(convolutions) - 1), weight_is_int8

    int8_model = OnnxRecognizer(out)  # reads the alphabet and config from the kept metadata
    assert int8_model.alphabet == float_model.alphabet
    images = [Path(row.path).read_bytes() for row in rows]
    labels = [row.label for row in rows]
    float_cer = character_error_rate(labels, [p.text for p in float_model.predict(images)])
    int8_cer = character_error_rate(labels, [p.text for p in int8_model.predict(images)])
    assert int8_cer <= float_cer + INT8_CER_MARGIN, (float_cer, int8_cer)


def test_int8_without_calibration_images_is_refused_clearly(tmp_path):
    command = export_command(tmp_path, tmp_path / "x.onnx", "--int8", str(tmp_path / "*.png"))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2
    assert "matches no file" in done.stderr and not (tmp_path / "x.onnx").exists()
