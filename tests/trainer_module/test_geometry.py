"""Image geometry: fixed height, aspect kept, padding, squeezing, and CTC time steps."""

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from pipeline.config import ModelConfig, load_config
from trainer_module import geometry
from trainer_module.model import build_recognizer

# Its last convolution is 'valid' (narrows the width), unlike the default stack's.
STANDARD = Path(__file__).parents[2] / "pipeline" / "configs" / "standard.json"


def _png(width: int, height: int, mode: str = "L", value: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), value).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_resize_keeps_aspect_ratio_and_pads_with_zeros():
    config = ModelConfig(max_width=256)
    prepared = geometry.prepare_images(tf.constant([_png(100, 16), _png(40, 64)]), config)
    assert prepared["image"].shape == (2, 32, 256, 1)
    assert prepared["width"].numpy().tolist() == [200, 20]
    assert prepared["squeezed"].numpy().tolist() == [False, False]
    image = prepared["image"].numpy()
    assert np.allclose(image[0, :, :200], 200 / 255, atol=1e-3)
    assert not image[0, :, 200:].any() and not image[1, :, 20:].any()


def test_too_wide_lines_are_squeezed_and_flagged():
    config = ModelConfig(max_width=128)
    prepared = geometry.prepare_images(tf.constant([_png(1000, 32)]), config)
    assert prepared["width"].numpy().tolist() == [128]
    assert prepared["squeezed"].numpy().tolist() == [True]
    assert geometry.resized_width(32, 1000, config) == (128, True)
    assert geometry.resized_width(16, 100, config) == (128, True)
    assert geometry.resized_width(64, 100, config) == (50, False)


def test_jpeg_and_rgb_channels():
    gray = geometry.prepare_images(tf.constant([_jpeg(64, 32)]), ModelConfig(channels=1))
    rgb = geometry.prepare_images(tf.constant([_jpeg(64, 32)]), ModelConfig(channels=3))
    assert gray["image"].shape[-1] == 1 and rgb["image"].shape[-1] == 3
    green = rgb["image"].numpy()[0, 10, 10]
    assert green[1] > 0.7 and green[0] < 0.1


def test_non_image_bytes_fail():
    with pytest.raises(tf.errors.InvalidArgumentError):
        geometry.prepare_images(tf.constant([b"not an image"]), ModelConfig())


@pytest.fixture(scope="module")
def default_model():
    return build_recognizer(ModelConfig(), num_classes=7)


@pytest.mark.parametrize("width", [8, 9, 31, 100, 257])
def test_time_steps_match_the_network_output(width, default_model):
    config = ModelConfig()
    outputs = default_model({"image": tf.zeros([1, 32, width, 1]), "width": tf.constant([width])})
    assert outputs["logits"].shape[1] == geometry.time_steps(width, config)
    assert int(outputs["logit_length"][0]) == geometry.time_steps(width, config)


def test_ctc_needs_a_blank_between_repeated_units():
    assert geometry.min_time_steps([1, 2, 3]) == 3
    assert geometry.min_time_steps([1, 1, 2, 2, 2]) == 8
    config = ModelConfig()
    assert geometry.time_steps(geometry.min_width_for(25, config), config) >= 25
    assert geometry.time_steps(geometry.min_width_for(25, config) - 1, config) < 25


def test_tensor_twins_agree_with_the_python_label_fit_arithmetic():
    labels = [[1, 2, 3], [4, 4, 4, 5], [], [6] * 30, [1, 2] * 40]
    needed = geometry.min_time_steps_batch(tf.ragged.constant(labels)).numpy()
    assert needed.tolist() == [geometry.min_time_steps(label) for label in labels]
    for config in (ModelConfig(max_width=256), load_config(STANDARD).model):
        widths = geometry.min_widths(tf.constant(needed), config).numpy()
        for steps, width in zip(needed, widths, strict=True):
            if geometry.time_steps(config.max_width, config) < steps:
                assert width == config.max_width + 1  # no width up to the maximum fits
            else:
                assert width == max(1, geometry.min_width_for(int(steps), config))


def test_a_line_gives_the_same_logits_alone_and_in_a_padded_batch(default_model):
    config, model = ModelConfig(), default_model
    rng = np.random.default_rng(0)
    encoded = [_png(90, 32, value=int(v)) for v in rng.integers(0, 255, 3)]
    encoded.append(_random_png(rng, 60, 20))
    batch = geometry.prepare_images(tf.constant(encoded), config)
    alone = geometry.prepare_images(tf.constant(encoded[-1:]), config)
    cropped = geometry.crop_to_batch_width(batch["image"], batch["width"])
    together = model({"image": cropped, "width": batch["width"]})["logits"][-1]
    single = model(
        {
            "image": geometry.crop_to_batch_width(alone["image"], alone["width"]),
            "width": alone["width"],
        }
    )["logits"][0]
    steps = geometry.time_steps(int(alone["width"][0]), config)
    np.testing.assert_allclose(together[:steps], single[:steps], atol=1e-4)


def _random_png(rng, width, height) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (height, width), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()
