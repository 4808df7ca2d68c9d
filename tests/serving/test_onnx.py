"""ONNX export parity: same text as the SavedModel on generated lines, logits within 1e-4."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from serving.onnx_model import OnnxRecognizer
from trainer_module import export, geometry

ROOT = Path(__file__).resolve().parents[2]
LOGIT_TOLERANCE = 1e-4  # absolute, on identical input tensors
PIXEL_TOLERANCE = 0.02  # mean absolute difference of Pillow vs TensorFlow preprocessing


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    result, _, rows = trained
    out = tmp_path_factory.mktemp("onnx") / "crnn.onnx"
    command = [
        sys.executable,
        "-m",
        "serving.onnx_export",
        "--model",
        str(result.model_dir),
        "--output",
        str(out),
    ]
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
