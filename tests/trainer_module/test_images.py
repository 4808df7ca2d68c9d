"""Every advertised format decodes to the same pixels as a grey PNG of the same line, and what
cannot be read is said, not decoded into something else."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageDraw

from trainer_module import images

LINE = "Hello 42"


def _line(mode: str = "L") -> Image.Image:
    image = Image.new("L", (120, 32), 255)
    ImageDraw.Draw(image).text((5, 8), LINE, fill=0)
    return image.convert(mode)


def _encoded(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def _transparent(mode: str) -> Image.Image:
    """Black text on a fully transparent background whose hidden colour is black."""
    image = Image.new("RGBA", (120, 32), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((5, 8), LINE, fill=(0, 0, 0, 255))
    return image.convert(mode)


def _sixteen_bit() -> Image.Image:
    pixels = np.asarray(_line(), np.uint16) * 257  # 0-255 -> 0-65535
    return Image.fromarray(pixels, "I;16")


VARIANTS = {
    "grey PNG": lambda: _encoded(_line(), "PNG"),
    "RGB PNG": lambda: _encoded(_line("RGB"), "PNG"),
    "palette PNG": lambda: _encoded(_line("P"), "PNG"),
    "16-bit PNG": lambda: _encoded(_sixteen_bit(), "PNG"),
    "RGBA PNG on transparency": lambda: _encoded(_transparent("RGBA"), "PNG"),
    "grey+alpha PNG on transparency": lambda: _encoded(_transparent("LA"), "PNG"),
    "GIF": lambda: _encoded(_line(), "GIF"),
    "grey BMP": lambda: _encoded(_line(), "BMP"),
    "RGB BMP": lambda: _encoded(_line("RGB"), "BMP"),
    "grey JPEG": lambda: _encoded(_line(), "JPEG"),
    "RGB JPEG": lambda: _encoded(_line("RGB"), "JPEG"),
    "CMYK JPEG": lambda: _encoded(_line("CMYK"), "JPEG"),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_each_format_reads_as_the_grey_png_reads(name):
    encoded = VARIANTS[name]()
    assert images.inspect(encoded, 10**6) == (None, (120, 32))
    reference = images.decode(tf.constant(_encoded(_line(), "PNG")), 1).numpy()
    decoded = images.decode(tf.constant(encoded), 1).numpy()
    assert decoded.shape == (32, 120, 1) and decoded.dtype == np.float32
    # JPEG is lossy; the rest read to within rounding.
    tolerance = 0.05 if "JPEG" in name else 0.01
    assert np.abs(decoded - reference).mean() < tolerance, name
    assert decoded.min() < 0.3 and np.median(decoded) > 0.95  # dark text on white


def test_rgb_models_get_three_equal_channels_from_a_grey_file():
    decoded = images.decode(tf.constant(_encoded(_line(), "PNG")), 3).numpy()
    assert decoded.shape == (32, 120, 3)
    np.testing.assert_allclose(decoded[..., 0], decoded[..., 2])


def test_files_it_cannot_read_are_named_with_a_reason():
    good = _encoded(_line(), "PNG")
    one_bit_bmp = _encoded(_line("1"), "BMP")  # TensorFlow's BMP decoder has no 1-bit support
    problems = images.decode_problems([good, good[:-40], one_bit_bmp, good])
    assert problems[0] is None and problems[3] is None
    assert problems[1].startswith(images.UNDECODABLE)
    assert problems[2].startswith(images.UNDECODABLE)
    assert images.inspect(b"", 10**6)[0] == images.EMPTY_FILE
    assert images.inspect(_encoded(_line(), "TIFF"), 10**6)[0].startswith(
        images.UNSUPPORTED_FORMAT + " TIFF"
    )
    assert images.inspect(good, 1000)[0].startswith(images.TOO_MANY_PIXELS)
    assert images.inspect(b"not an image", 10**6)[0].startswith(images.UNDECODABLE)
