"""Augmentation: per-sample random, each switch honoured, off means untouched."""

import numpy as np
import pytest
import tensorflow as tf

from pipeline.config import AugmentationConfig
from trainer_module.augment import augment

OPERATIONS = ["brightness", "contrast", "rotation", "shear", "padding_jitter", "noise", "blur"]


def _lines(batch=4, width=60, max_width=96):
    """White lines with a black bar of 'ink', zero padding after ``width``."""
    image = np.zeros([batch, 32, max_width, 1], np.float32)
    image[:, :, :width] = 1.0
    image[:, 10:22, 10 : width - 10] = 0.0
    return tf.constant(image), tf.fill([batch], width)


def _only(operation: str) -> AugmentationConfig:
    config = AugmentationConfig()
    for name in OPERATIONS:
        getattr(config, name).enabled = name == operation
    return config


def test_disabled_augmentation_returns_the_batch_untouched():
    image, width = _lines()
    out, new_width = augment(image, width, AugmentationConfig(enabled=False))
    assert out is image and new_width is width
    untouched, _ = augment(image, width, _only("none"))
    np.testing.assert_array_equal(untouched.numpy(), image.numpy())


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_operation_changes_pixels_per_sample_and_keeps_padding_zero(operation):
    tf.random.set_seed(1)
    image, width = _lines()
    out, new_width = augment(image, width, _only(operation))
    out = out.numpy()
    assert not np.allclose(out, image.numpy(), atol=1e-3), f"{operation} changed nothing"
    assert not np.allclose(out[0], out[1], atol=1e-4), f"{operation} is not per sample"
    for sample, w in zip(out, new_width.numpy(), strict=True):
        assert not sample[:, w:].any()
    assert (out >= 0).all() and (out <= 1).all()


def test_fresh_values_at_every_call():
    image, width = _lines()
    first, _ = augment(image, width, _only("noise"))
    second, _ = augment(image, width, _only("noise"))
    assert not np.allclose(first.numpy(), second.numpy())


def test_padding_jitter_and_slant_widen_lines_within_the_maximum():
    tf.random.set_seed(3)
    image, width = _lines(batch=16, width=60, max_width=70)
    _, padded = augment(image, width, _only("padding_jitter"))
    assert (padded.numpy() >= 60).all() and (padded.numpy() <= 70).all()
    assert (padded.numpy() > 60).any()
    _, slanted = augment(image, width, _only("shear"))
    assert (slanted.numpy() >= 60).all()


def test_rotation_keeps_the_background_light():
    tf.random.set_seed(5)
    image, width = _lines()
    config = _only("rotation")
    config.rotation.max_degrees = 5.0
    out, _ = augment(image, width, config)
    corners = out.numpy()[:, [0, -1]][:, :, [0, 50]]
    assert corners.min() > 0.9  # filled with the line's own background, not black
