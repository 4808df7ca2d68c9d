"""Augmentation: per-sample random, each switch honoured, off means untouched."""

import numpy as np
import pytest
import tensorflow as tf

from pipeline.config import AugmentationConfig
from trainer_module.augment import augment

OPERATIONS = [
    "brightness",
    "contrast",
    "rotation",
    "shear",
    "stretch",
    "stroke",
    "warp",
    "padding_jitter",
    "noise",
    "blur",
]


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


def _ink_columns(image: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Columns per sample, inside its width (the padding is black too), where the bar is."""
    inside = np.arange(image.shape[2])[None, :] < width[:, None]
    return ((image[:, 16, :, 0] < 0.5) & inside).sum(axis=1)


def test_stretch_scales_the_ink_and_the_width_together():
    tf.random.set_seed(7)
    image, width = _lines(batch=32, width=60, max_width=96)
    config = _only("stretch")
    config.stretch.lower, config.stretch.upper = 0.6, 1.4
    out, new_width = augment(image, width, config, min_width=tf.fill([32], 1))
    new_width = new_width.numpy()
    assert (new_width >= 36).all() and (new_width <= 84).all()
    assert (new_width < 55).any() and (new_width > 65).any()  # both directions drawn
    # The 40-column bar scales with its line: 40 * new_width / 60, within interpolation.
    np.testing.assert_allclose(_ink_columns(out.numpy(), new_width), 40 * new_width / 60, atol=2)


def test_a_squeeze_never_leaves_a_line_narrower_than_its_label_needs():
    tf.random.set_seed(11)
    image, width = _lines(batch=64, width=60, max_width=96)
    config = _only("stretch")
    config.stretch.lower, config.stretch.upper = 0.5, 1.0
    min_width = tf.constant([55, 1] * 32)
    _, new_width = augment(image, width, config, min_width=min_width)
    new_width = new_width.numpy()
    assert (new_width >= min_width.numpy()).all()
    assert (new_width[0::2] == 60).sum() > 20  # a squeeze below 55 falls back to the line as is
    assert (new_width[1::2] < 45).any()  # labels that fit anywhere are squeezed freely
    _, unknown = augment(image, width, config)  # no label widths given: never squeezed
    assert (unknown.numpy() == 60).all()


def test_a_stretch_stops_at_the_maximum_width_with_the_ink_in_view():
    tf.random.set_seed(13)
    image, width = _lines(batch=16, width=80, max_width=96)
    config = _only("stretch")
    config.stretch.upper = 2.0
    out, new_width = augment(image, width, config)
    new_width = new_width.numpy()
    assert (new_width <= 96).all() and (new_width == 96).any()
    # The bar ends 10 columns before the line's end, scaled: none of it is cut off.
    np.testing.assert_allclose(_ink_columns(out.numpy(), new_width), 60 * new_width / 80, atol=2)


def test_stretch_is_off_unless_a_config_turns_it_on():
    assert not AugmentationConfig().stretch.enabled
    with pytest.raises(ValueError):
        AugmentationConfig.model_validate({"stretch": {"lower": 1.2}})


def test_stroke_makes_the_ink_bolder_or_lighter_by_a_pixel_and_leaves_the_rest():
    tf.random.set_seed(3)
    image, width = _lines(batch=64)
    config = _only("stroke")
    config.stroke.probability = 0.6
    out, new_width = augment(image, width, config)
    np.testing.assert_array_equal(new_width.numpy(), width.numpy())
    ink = (out.numpy()[:, :, :60, 0] < 0.5).sum(axis=(1, 2))  # the padding beyond is zero
    bar = 12 * 40  # the bar of _lines: 12 rows, 40 columns
    bolder, lighter = 13 * 41, 11 * 39  # one more (or fewer) row and column of ink
    assert set(ink) == {bar, bolder, lighter}
    # About 30% each way and 40% untouched; the last column of a line never turns to ink.
    counts = {value: int((ink == value).sum()) for value in (bar, bolder, lighter)}
    assert all(8 <= count <= 35 for count in counts.values()), counts
    assert (out.numpy()[:, :, 59] > 0.5).all()


def test_warp_moves_the_ink_by_at_most_its_displacement_on_its_share_of_lines():
    tf.random.set_seed(5)
    image, width = _lines(batch=64)
    config = _only("warp")
    config.warp.probability = 0.5
    config.warp.max_pixels = 2.0
    out, new_width = augment(image, width, config)
    out, before = out.numpy()[..., 0], image.numpy()[..., 0]
    np.testing.assert_array_equal(new_width.numpy(), width.numpy())
    unchanged = [np.array_equal(a, b) for a, b in zip(out, before, strict=True)]
    assert 16 <= sum(unchanged) <= 48, sum(unchanged)  # about half the lines left as they were
    for warped in out[[not same for same in unchanged]]:
        # The bar (rows 10-21, columns 10-49) moves at most 2 pixels each way: its core stays
        # ink, and nothing further than 2 pixels from it darkens; no padding is pulled in.
        assert (warped[12:20, 12:48] < 0.5).all()
        away = np.ones_like(warped, bool)
        away[8:24, 8:52] = False
        away[:, 60:] = False
        assert (warped[away] > 0.999).all()


def test_warp_is_off_unless_a_config_turns_it_on():
    assert not AugmentationConfig().warp.enabled
    with pytest.raises(ValueError):
        AugmentationConfig.model_validate({"warp": {"spacing": 1}})


def test_stroke_is_off_unless_a_config_turns_it_on():
    assert not AugmentationConfig().stroke.enabled
    with pytest.raises(ValueError):
        AugmentationConfig.model_validate({"stroke": {"probability": 1.5}})
