"""Image geometry: encoded bytes -> a fixed-height, aspect-preserving, padded float image.

Training, Transform's ``preprocessing_fn`` and both serving signatures call ``prepare_images``,
so the pixels a model is trained on and the pixels it serves on come from the same code (bytes
decoded by ``images.decode``).
Also here: how many CTC time steps a given image width yields, so ingest can reject labels that
cannot fit before they ever reach the loss.
"""

from __future__ import annotations

import itertools
import math

import tensorflow as tf

from pipeline.config import ModelConfig
from trainer_module import images


def resized_width(height: int, width: int, config: ModelConfig) -> tuple[int, bool]:
    """Width after resizing to ``config.input_height`` (aspect kept), and whether it was squeezed.

    Plain Python twin of the arithmetic in ``_resize_one`` (used by ingest checks).
    """
    natural = max(1, round(width * config.input_height / max(height, 1)))
    narrowest = min(min_width_for(1, config), config.max_width)
    return min(max(natural, narrowest), config.max_width), natural > config.max_width


def time_steps(width, config: ModelConfig):
    """CTC time steps (logit length) of an image of this width, after the CNN.

    Works on Python ints and on integer tensors alike: the last convolution's width
    (``conv_widths``) after its pool.
    """
    if not config.conv_layers:
        return width
    return _pooled(conv_widths(width, config)[-1], config.conv_layers[-1])


def conv_widths(width, config: ModelConfig) -> list:
    """Columns of an image of this width that each convolution's output draws from the image
    (after the convolution, before its pool): the rest of a padded batch's columns is padding.

    Each 'valid' convolution narrows by kernel - 1; each pool of width p divides, rounding up
    ('same' padding). Works on Python ints and on integer tensors alike.
    """
    widths = []
    for layer in config.conv_layers:
        if layer.padding == "valid":
            width = width - (layer.kernel[1] - 1)
        widths.append(width)
        width = _pooled(width, layer)
    return widths


def _pooled(width, layer):
    if not layer.pool:
        return width
    pool_w = layer.pool[1]
    return (width + pool_w - 1) // pool_w


def min_time_steps(unit_ids) -> int:
    """Time steps CTC needs for a label: its length plus one blank between repeated units."""
    repeats = sum(1 for a, b in itertools.pairwise(unit_ids) if a == b)
    return len(unit_ids) + repeats


def min_time_steps_batch(unit_ids: tf.RaggedTensor) -> tf.Tensor:
    """``min_time_steps`` of every label of a ragged [batch, units] batch, as int32 [batch]."""
    dense = tf.cast(unit_ids.to_tensor(-1), tf.int32)
    repeats = (dense[:, 1:] == dense[:, :-1]) & (dense[:, 1:] >= 0)
    lengths = tf.cast(unit_ids.row_lengths(), tf.int32)
    return lengths + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


def min_widths(steps: tf.Tensor, config: ModelConfig) -> tf.Tensor:
    """Smallest image width (int32, per element) whose ``time_steps`` reach ``steps``; tensor
    twin of ``min_width_for`` up to ``config.max_width`` (max_width + 1 where none does)."""
    widths = tf.range(1, config.max_width + 1)
    available = tf.cast(time_steps(widths, config), tf.int32)  # nondecreasing in width
    return tf.searchsorted(available, tf.cast(steps, tf.int32), side="left") + 1


def label_fit_problem(
    image_height: int, image_width: int, unit_ids: list[int], config: ModelConfig
) -> str | None:
    """Why CTC could not align this label with this image (after resizing), or None if it can.

    Ingest quarantines such rows and the standalone trainer rejects them, so the loss never
    meets a label longer than its sequence (tf.crnn's inf/NaN losses).
    """
    width, _ = resized_width(image_height, image_width, config)
    needed, available = min_time_steps(unit_ids), time_steps(width, config)
    if needed <= available:
        return None
    return (
        f"label too long for its image: {len(unit_ids)} units need {needed} time steps, the "
        f"image gives {available} (resized width {width}; needs at least "
        f"{min_width_for(needed, config)} px at height {config.input_height})"
    )


def min_width_for(steps: int, config: ModelConfig) -> int:
    """Smallest image width whose time_steps reach ``steps`` (for error messages)."""
    width = 1
    while time_steps(width, config) < steps and width < 1 << 20:
        width *= 2
    lo = width // 2
    while lo + 1 < width:
        mid = (lo + width) // 2
        lo, width = (lo, mid) if time_steps(mid, config) >= steps else (mid, width)
    return width


def height_reduction(config: ModelConfig) -> int:
    """Output height of the CNN for ``config.input_height`` (must be 1 for the RNN)."""
    height = config.input_height
    for layer in config.conv_layers:
        if layer.padding == "valid":
            height -= layer.kernel[0] - 1
        if layer.pool:
            height = math.ceil(height / layer.pool[0])
    return height


def _resize_one(encoded: tf.Tensor, config: ModelConfig) -> tuple[tf.Tensor, ...]:
    image = images.decode(encoded, config.channels)
    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    natural = tf.maximum(1, tf.cast(tf.round(width * config.input_height / height), tf.int32))
    # A sliver (a tall narrow image) is stretched to one time step's width: narrower, the CNN's
    # 'valid' convolutions leave it no columns and the whole batch beside it fails.
    narrowest = min(min_width_for(1, config), config.max_width)
    new_width = tf.clip_by_value(natural, narrowest, config.max_width)
    resized = tf.image.resize(image, [config.input_height, new_width], antialias=True)
    normalized = tf.clip_by_value(resized, 0.0, 1.0)
    padded = tf.pad(normalized, [[0, 0], [0, config.max_width - new_width], [0, 0]])
    padded.set_shape([config.input_height, config.max_width, config.channels])
    return padded, new_width, natural > config.max_width


def prepare_images(encoded: tf.Tensor, config: ModelConfig) -> dict[str, tf.Tensor]:
    """A batch of encoded images -> the model's inputs.

    Returns ``image`` float32 [batch, input_height, max_width, channels] in [0, 1], zero-padded on
    the right; ``width`` int32 [batch], the true width before padding (at most max_width; lines
    wider than that are squeezed); ``squeezed`` bool [batch].
    """
    spec = (
        tf.TensorSpec([config.input_height, config.max_width, config.channels], tf.float32),
        tf.TensorSpec([], tf.int32),
        tf.TensorSpec([], tf.bool),
    )
    images, widths, squeezed = tf.map_fn(
        lambda one: _resize_one(one, config), tf.reshape(encoded, [-1]), fn_output_signature=spec
    )
    return {"image": images, "width": widths, "squeezed": squeezed}


def crop_to_batch_width(image: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """Drop padding columns that no image of the batch uses (less work for the CNN and RNN)."""
    return image[:, :, : tf.reduce_max(width), :]
