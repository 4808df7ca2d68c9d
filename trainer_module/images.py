"""Encoded image bytes: the formats read, how they are decoded, and why a file cannot be.

Ingest, Transform, training and both serving signatures decode with ``decode`` (through
``geometry.prepare_images``), and ingest and the servers check with ``inspect``, which decodes
with the same function: what passes the check decodes the same way everywhere.
"""

from __future__ import annotations

import functools
import io

import tensorflow as tf
from PIL import Image, UnidentifiedImageError

# What ``decode`` reads: PNG (grey, RGB, palette, 8 or 16 bit, alpha), JPEG (grey, RGB, CMYK),
# GIF (its first frame), BMP (8, 24 and 32 bit).
FORMATS = ("PNG", "JPEG", "GIF", "BMP")

# Problems (an ingest quarantine reason or a 400's message starts with one of these).
EMPTY_FILE = "empty file"
UNDECODABLE = "undecodable or truncated image"
UNSUPPORTED_FORMAT = "unsupported image format"
TOO_MANY_PIXELS = "image over the pixel limit"

# Images in decode at once: the cores busy, and a batch of large images not all in memory at once.
_DECODES_AT_ONCE = 8


def decode(encoded: tf.Tensor, channels: int) -> tf.Tensor:
    """Image bytes -> float32 [h, w, channels] in [0, 1].

    Decoded in the file's own channels (asking TensorFlow for one channel fails on GIF, BMP and
    CMYK JPEG), transparency composited on white (a transparent PNG's hidden colour is often
    black), then reduced to grey or widened to RGB.
    """
    image = tf.io.decode_image(encoded, dtype=tf.float32, expand_animations=False)
    found = tf.shape(image)[-1]
    alpha = tf.cond(
        tf.equal(found % 2, 0),  # grey+alpha (2) or RGBA (4)
        lambda: image[:, :, -1:],
        lambda: tf.ones_like(image[:, :, :1]),
    )
    colour = tf.cond(
        found >= 3, lambda: image[:, :, :3], lambda: tf.tile(image[:, :, :1], [1, 1, 3])
    )
    rgb = colour * alpha + (1.0 - alpha)
    # Grey stays exactly grey: rgb_to_grayscale's weights sum to 0.9999, not 1.
    grey = tf.cond(found >= 3, lambda: tf.image.rgb_to_grayscale(rgb), lambda: rgb[:, :, :1])
    result = grey if channels == 1 else rgb
    result.set_shape([None, None, channels])
    return result


def inspect(encoded: bytes, max_pixels: int) -> tuple[str | None, tuple[int, int]]:
    """Whether ``decode`` reads these bytes: (problem or None, (width, height)).

    The header first (``inspect_header``), so the pixel limit is checked before any decoding
    (decompression bombs); then ``decode`` itself: a truncated or broken file fails here, not in
    a training step or beside other requests in a served batch.
    """
    problem, size = inspect_header(encoded, max_pixels)
    if problem:
        return problem, size
    problem = decode_problem(encoded)
    return (problem, (0, 0)) if problem else (None, size)


def inspect_header(encoded: bytes, max_pixels: int) -> tuple[str | None, tuple[int, int]]:
    """``inspect`` without the decode: size and format from the header (Pillow), the pixel
    limit, the formats ``decode`` reads."""
    if not encoded:
        return EMPTY_FILE, (0, 0)
    try:
        with Image.open(io.BytesIO(encoded)) as image:
            width, height = image.size
            kind = image.format
    except UnidentifiedImageError:
        return f"{UNDECODABLE}: not a {', '.join(FORMATS)} image", (0, 0)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as err:
        return f"{UNDECODABLE}: {err}", (0, 0)
    if width * height > max_pixels:
        return (
            f"{TOO_MANY_PIXELS}: {width}x{height} = {width * height} px > {max_pixels}",
            (width, height),
        )
    if kind not in FORMATS:
        return f"{UNSUPPORTED_FORMAT} {kind} (use {', '.join(FORMATS)})", (width, height)
    return None, (width, height)


def decode_problem(encoded: bytes) -> str | None:
    """Why ``decode`` cannot read these bytes in full, or None when it can."""
    try:
        _decode_side_by_side()(tf.constant([encoded]))
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
        return f"{UNDECODABLE}: {err.message.strip().splitlines()[0]}"
    return None


def decode_problems(images: list[bytes]) -> list[str | None]:
    """``decode_problem`` of each image, the images decoded side by side in one TensorFlow call
    (the eager decode holds Python's lock: one core; side by side it takes about half the time
    per image on 2 cores). A batch with a bad image is decoded again one by one, to say which
    image and why."""
    if len(images) < 2:
        return [decode_problem(image) for image in images]
    try:
        _decode_side_by_side()(tf.constant(images))
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        return [decode_problem(image) for image in images]
    return [None] * len(images)


@functools.cache
def _decode_side_by_side() -> tf.types.experimental.GenericFunction:
    """A TensorFlow function that decodes a vector of encoded images (shapes out)."""

    def shape(encoded: tf.Tensor) -> tf.Tensor:
        return tf.shape(decode(encoded, 1))

    # No AutoGraph: nothing here needs converting, and it reads the source from disk.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)], autograph=False)
    def decode_all(images: tf.Tensor) -> tf.Tensor:
        return tf.map_fn(
            shape, images, fn_output_signature=tf.int32, parallel_iterations=_DECODES_AT_ONCE
        )

    return decode_all
