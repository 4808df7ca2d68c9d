"""Training-only augmentation on a batch of padded line images, with fresh random values for every
sample at every step.

Geometry (rotation, slant/shear, horizontal stretch, padding jitter) is one projective
transform per sample; the warp moves each pixel by a smooth random displacement field (glyph
shapes, not the line's geometry); stroke weight is a 2x2 grey-level dilation or erosion of the ink;
photometry (brightness, contrast, noise, blur) is arithmetic with per-sample random strengths.
Every operation has a switch, and a disabled operation does not touch the pixels: with
``enabled: false`` the batch comes back unchanged. Widths follow the ink: they grow when
padding, slant or a stretch adds columns, and shrink with a squeeze, which never goes below the
width whose CTC time steps the label needs.
"""

from __future__ import annotations

import math

import tensorflow as tf

from pipeline.config import AugmentationConfig, WarpConfig

_BLUR_RADIUS = 3  # kernel taps on each side; covers sigma up to about 1.5 well


def augment(
    image: tf.Tensor,
    width: tf.Tensor,
    config: AugmentationConfig,
    min_width: tf.Tensor | None = None,
):
    """Augment [batch, height, max_width, channels] images in [0, 1] with true ``width`` [batch].

    ``min_width`` [batch] is the narrowest width each line's label fits (CTC time steps); a
    squeeze below it is skipped for that line. Without it the stretch never squeezes.
    Returns (image, width) with the same shapes; padding columns beyond the new width are zero.
    """
    if not config.enabled:
        return image, width
    width = tf.cast(width, tf.int32)
    if _any_geometry(config):
        if min_width is None:
            min_width = width
        image, width = _geometry(image, width, tf.cast(min_width, tf.int32), config)
    if config.warp.enabled and config.warp.probability > 0:
        image = _warp(image, width, config.warp)
    if config.stroke.enabled and config.stroke.probability > 0:
        image = _stroke(image, width, config.stroke.probability)
    image = _photometry(image, config)
    return _zero_padding(tf.clip_by_value(image, 0.0, 1.0), width), width


def uses_min_width(config: AugmentationConfig) -> bool:
    """Whether ``augment`` reads its ``min_width``: only the stretch squeezes a line."""
    return config.enabled and config.stretch.enabled


def _any_geometry(config: AugmentationConfig) -> bool:
    return (
        config.rotation.enabled
        or config.shear.enabled
        or config.stretch.enabled
        or config.padding_jitter.enabled
    )


def _uniform(batch, low, high) -> tf.Tensor:
    return tf.random.uniform([batch], low, high)


def _geometry(image: tf.Tensor, width: tf.Tensor, min_width: tf.Tensor, config: AugmentationConfig):
    shape = tf.shape(image)
    batch, height, max_width = shape[0], shape[1], shape[2]
    h = tf.cast(height, tf.float32)
    zeros = tf.zeros([batch])

    angle = zeros
    if config.rotation.enabled:
        limit = math.radians(config.rotation.max_degrees)
        angle = _uniform(batch, -limit, limit)
    shear = zeros
    if config.shear.enabled:
        shear = _uniform(batch, -config.shear.max_shear, config.shear.max_shear)
    left = right = tf.zeros([batch], tf.int32)
    if config.padding_jitter.enabled:
        limit = config.padding_jitter.max_pixels + 1
        left = tf.random.uniform([batch], 0, limit, tf.int32)
        right = tf.random.uniform([batch], 0, limit, tf.int32)

    # A slanted line reaches |shear| * h / 2 further on each side; keep that ink in view.
    slant_margin = tf.cast(tf.math.ceil(tf.abs(shear) * h / 2), tf.int32)
    shift = left + slant_margin
    ink_width = _stretched_width(width, min_width, max_width - shift - right - slant_margin, config)
    scale = tf.cast(ink_width, tf.float32) / tf.cast(width, tf.float32)
    new_width = tf.minimum(ink_width + shift + right + slant_margin, max_width)

    # Fill what the transform uncovers with each line's own background.
    image = _background_beyond_width(image, width)

    # Output point p maps to input point M (p - c' - t) + c, with M = scale^-1 shear^-1
    # rotation^-1, c the centre of the original line, c' that of the stretched one and t the
    # shift (transforms map output to input).
    cx = tf.cast(width, tf.float32) / 2
    cy = tf.fill([batch], h / 2)
    tx = tf.cast(shift, tf.float32)
    cos, sin = tf.cos(angle), tf.sin(angle)
    m00, m01 = (cos + shear * sin) / scale, (sin - shear * cos) / scale
    m10, m11 = -sin, cos
    px, py = cx * scale + tx, cy
    transforms = tf.stack(
        [m00, m01, cx - m00 * px - m01 * py, m10, m11, cy - m10 * px - m11 * py, zeros, zeros],
        axis=1,
    )
    image = tf.raw_ops.ImageProjectiveTransformV3(
        images=image,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return image, new_width


def _background_beyond_width(image: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    """The padding beyond each line's ``width`` filled with the line's own background (the mean
    of its first column), so that a transform pulling pixels from there brings in paper, not the
    black padding; ``augment`` zeroes the padding again at the end."""
    background = tf.reduce_mean(image[:, :, :1, :], axis=[1, 2, 3])[:, None, None, None]
    inside = tf.sequence_mask(width, tf.shape(image)[2], dtype=image.dtype)[:, None, :, None]
    return image * inside + background * (1 - inside)


def _stretched_width(width, min_width, room, config: AugmentationConfig) -> tf.Tensor:
    """Each line's ink width after a random horizontal scale: a stretch stops where the line
    would leave ``room``, and a squeeze below ``min_width`` (the label's CTC need) is skipped."""
    if not config.stretch.enabled:
        return width
    scale = _uniform(tf.shape(width)[0], config.stretch.lower, config.stretch.upper)
    stretched = tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32)
    stretched = tf.minimum(stretched, tf.maximum(room, width))
    return tf.where(stretched < tf.maximum(min_width, 1), width, stretched)


def _warp(image: tf.Tensor, width: tf.Tensor, config: WarpConfig) -> tf.Tensor:
    """Each of a random ``probability`` share of the lines resampled through a smooth random
    displacement field: knots ``spacing`` pixels apart, each moved up to a per-line random
    strength (at most ``max_pixels``) along each axis, the field between them interpolated
    bilinearly. Lines not drawn come back unchanged; beyond each line's width the line's own
    background (its first column) is what the warp can pull in, not the black padding."""
    shape = tf.shape(image)
    batch, height, max_width = shape[0], shape[1], shape[2]
    image = _background_beyond_width(image, width)
    drawn = tf.random.uniform([batch]) < config.probability
    strength = tf.where(drawn, _uniform(batch, 0.0, config.max_pixels), 0.0)
    knots = tf.random.uniform(
        [batch, height // config.spacing + 2, max_width // config.spacing + 2, 2], -1.0, 1.0
    )
    field = tf.image.resize(knots * strength[:, None, None, None], [height, max_width])
    rows = tf.cast(tf.range(height), tf.float32)[None, :, None]
    columns = tf.cast(tf.range(max_width), tf.float32)[None, None, :]
    source_y = tf.clip_by_value(rows + field[..., 0], 0.0, tf.cast(height - 1, tf.float32))
    source_x = tf.clip_by_value(columns + field[..., 1], 0.0, tf.cast(max_width - 1, tf.float32))
    return _bilinear_sample(image, source_y, source_x)


def _bilinear_sample(image: tf.Tensor, y: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """``image`` [batch, height, width, channels] read at the points ``y``, ``x`` [batch,
    height, width] (inside the image), interpolating bilinearly; whole-pixel points read the
    pixel exactly."""
    shape = tf.shape(image)
    batch, height, width = shape[0], shape[1], shape[2]
    flat = tf.reshape(image, [batch, height * width, shape[3]])
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1, x1 = tf.minimum(y0 + 1, height - 1), tf.minimum(x0 + 1, width - 1)

    def at(rows: tf.Tensor, columns: tf.Tensor) -> tf.Tensor:
        index = tf.reshape(rows * width + columns, [batch, -1])
        return tf.reshape(tf.gather(flat, index, batch_dims=1), shape)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return top * (1 - wy) + bottom * wy


def _stroke(image: tf.Tensor, width: tf.Tensor, probability: float) -> tf.Tensor:
    """Dark ink one pixel bolder (a 2x2 minimum) or lighter (a 2x2 maximum) on a random
    ``probability`` share of the lines, half each way; the rest unchanged.

    The padding beyond each line's width reads as paper (1) in the window, so a bolder line
    does not draw the black padding into its last column.
    """
    inside = tf.sequence_mask(width, tf.shape(image)[2], dtype=image.dtype)[:, None, :, None]
    paper = image * inside + (1.0 - inside)
    bolder = -tf.nn.max_pool2d(-paper, ksize=2, strides=1, padding="SAME")
    lighter = tf.nn.max_pool2d(paper, ksize=2, strides=1, padding="SAME")
    draw = tf.random.uniform([tf.shape(image)[0]])[:, None, None, None]
    return tf.where(draw < probability / 2, bolder, tf.where(draw < probability, lighter, image))


def _photometry(image: tf.Tensor, config: AugmentationConfig) -> tf.Tensor:
    batch = tf.shape(image)[0]

    def per_sample(values: tf.Tensor) -> tf.Tensor:
        return values[:, None, None, None]

    if config.blur.enabled and config.blur.max_sigma > 0:
        image = _gaussian_blur(image, _uniform(batch, 0.0, config.blur.max_sigma))
    if config.contrast.enabled:
        factor = _uniform(batch, config.contrast.lower, config.contrast.upper)
        mean = tf.reduce_mean(image, axis=[1, 2, 3], keepdims=True)
        image = (image - mean) * per_sample(factor) + mean
    if config.brightness.enabled:
        delta = config.brightness.max_delta
        image = image + per_sample(_uniform(batch, -delta, delta))
    if config.noise.enabled and config.noise.max_stddev > 0:
        stddev = _uniform(batch, 0.0, config.noise.max_stddev)
        image = image + tf.random.normal(tf.shape(image)) * per_sample(stddev)
    return image


def _gaussian_blur(image: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    """Separable Gaussian blur with a different sigma per sample (sigma 0 = unchanged)."""
    taps = tf.range(-_BLUR_RADIUS, _BLUR_RADIUS + 1, dtype=tf.float32)
    safe_sigma = tf.maximum(sigma, 1e-3)[:, None]
    weights = tf.exp(-0.5 * tf.square(taps[None, :] / safe_sigma))
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)  # [batch, taps]

    def blur_along(tensor: tf.Tensor, axis: int) -> tf.Tensor:
        padding = [[0, 0]] * 4
        padding[axis] = [_BLUR_RADIUS, _BLUR_RADIUS]
        padded = tf.pad(tensor, padding, mode="SYMMETRIC")
        size = tf.shape(tensor)[axis]
        total = tf.zeros_like(tensor)
        for k in range(2 * _BLUR_RADIUS + 1):
            window = tf.gather(padded, tf.range(k, k + size), axis=axis)
            total += window * weights[:, k, None, None, None]
        return total

    return blur_along(blur_along(image, 1), 2)


def _zero_padding(image: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
    inside = tf.sequence_mask(width, tf.shape(image)[2], dtype=image.dtype)
    return image * inside[:, None, :, None]
