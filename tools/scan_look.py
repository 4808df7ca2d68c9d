"""A scanned-page look for one synthetic line image: what lines cut from scanned documents show.

``tools.synth_lines`` draws a share of its lines (``scan_share``) with neighbour lines' ink at
the edges or cut tight, then passes them here. Each step runs with its own probability, so lines
differ in which of them they show:

- grey, textured paper and show-through (the page's back, mirrored and faint);
- slight skew and curl (a page not flat on the glass): a smooth vertical displacement along x;
- thickened or broken strokes (toner spread, worn type): OpenCV erosion or dilation of the ink,
  holes punched into it;
- low resolution upscaled again (a 150 or 100 dpi scan read at the line's size);
- binarization, as scanners and fax do: a global threshold (Otsu's) or an adaptive one (mean or
  Gaussian over a local window), OpenCV's implementations;
- speckle: dust and toner dots.

Images are uint8 greyscale arrays, dark ink on light paper, and keep their size.
"""

from __future__ import annotations

import random

import cv2
import numpy as np

PAPER_GREY = (150, 245)  # paper level of a scanned page
SHOW_THROUGH_CONTRAST = (0.06, 0.18)  # share of the ink's contrast the back page shows
MAX_SKEW_DEGREES = 2.0
MAX_CURL_PIXELS = 2.5  # largest vertical shift along a line from the page's curl
DOWNSCALE = (0.4, 0.75)  # a low-resolution scan: shrink by this, then back
ADAPTIVE_BLOCK = (11, 41)  # adaptive threshold's window, in pixels (made odd)
SPECKLE_DENSITY = (0.0005, 0.004)  # share of pixels that become a dot


def scanned(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """``image`` as a line cut from a scanned page (see the module docstring); same shape."""
    pixels = image.astype(np.float32)
    noise = np.random.default_rng(rng.getrandbits(64))
    if rng.random() < 0.7:
        pixels = paper(pixels, rng, noise)
    if rng.random() < 0.5:
        pixels = skew_and_curl(pixels, rng)
    if rng.random() < 0.5:
        pixels = stroke_weight(pixels, rng, noise)
    if rng.random() < 0.5:
        pixels = low_resolution(pixels, rng)
    if rng.random() < 0.45:
        pixels = binarized(pixels, rng)
    if rng.random() < 0.5:
        pixels = speckle(pixels, rng, noise)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def paper(pixels: np.ndarray, rng: random.Random, noise: np.random.Generator) -> np.ndarray:
    """Re-tone onto grey paper with a grain, and sometimes the mirrored back page showing."""
    low, high = float(pixels.min()), float(pixels.max())
    ink = (high - pixels) / max(high - low, 1.0)  # 1 on ink, 0 on paper
    if rng.random() < 0.5:
        back = cv2.GaussianBlur(ink[::-1, ::-1].copy(), (0, 0), rng.uniform(0.8, 2.0))
        shift = rng.randint(0, max(1, pixels.shape[1] // 3))
        ink = np.maximum(ink, np.roll(back, shift, axis=1) * rng.uniform(*SHOW_THROUGH_CONTRAST))
    paper_level = rng.uniform(*PAPER_GREY)
    ink_level = rng.uniform(0, min(90, paper_level - 80))
    grain = cv2.GaussianBlur(noise.standard_normal(pixels.shape, dtype=np.float32), (0, 0), 1.5)
    return paper_level - ink * (paper_level - ink_level) + grain * rng.uniform(0, 12)


def skew_and_curl(pixels: np.ndarray, rng: random.Random) -> np.ndarray:
    """Remap rows by a small skew plus a smooth curl, both varying along x."""
    height, width = pixels.shape
    x = np.arange(width, dtype=np.float32)
    slope = np.tan(np.radians(rng.uniform(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES)))
    periods = rng.uniform(0.2, 1.2)
    phase = rng.uniform(0, 2 * np.pi)
    curl = rng.uniform(0, MAX_CURL_PIXELS) * np.sin(2 * np.pi * periods * x / width + phase)
    shift = np.clip((x - width / 2) * slope + curl, -height / 4, height / 4).astype(np.float32)
    map_x = np.broadcast_to(x, (height, width)).astype(np.float32)
    map_y = np.arange(height, dtype=np.float32)[:, None] + shift[None, :]
    return cv2.remap(pixels, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def stroke_weight(pixels: np.ndarray, rng: random.Random, noise: np.random.Generator) -> np.ndarray:
    """Thicker strokes (ink spread: erode the light paper), thinner ones, or broken ones."""
    kernel = np.ones((2, 2), np.uint8)
    choice = rng.randrange(3)
    if choice == 0:
        return cv2.erode(pixels, kernel)  # the minimum grows dark ink
    if choice == 1:
        return cv2.dilate(pixels, kernel)
    paper_level = float(np.percentile(pixels, 90))
    holes = noise.random(pixels.shape) < rng.uniform(0.02, 0.08)
    holes = cv2.dilate(holes.astype(np.uint8), kernel).astype(bool)
    return np.where(holes, np.maximum(pixels, paper_level * 0.9), pixels)


def low_resolution(pixels: np.ndarray, rng: random.Random) -> np.ndarray:
    """Shrink (area average, as a scanner's sensor does), then enlarge back to the same size."""
    height, width = pixels.shape
    factor = rng.uniform(*DOWNSCALE)
    small = cv2.resize(
        pixels,
        (max(1, round(width * factor)), max(4, round(height * factor))),
        interpolation=cv2.INTER_AREA,
    )
    enlarge = rng.choice((cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC))
    return cv2.resize(small, (width, height), interpolation=enlarge)


def binarized(pixels: np.ndarray, rng: random.Random) -> np.ndarray:
    """Black and white: Otsu's global threshold or an adaptive (mean or Gaussian) one."""
    grey = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    else:
        block = rng.randint(*ADAPTIVE_BLOCK) | 1
        method = rng.choice((cv2.ADAPTIVE_THRESH_MEAN_C, cv2.ADAPTIVE_THRESH_GAUSSIAN_C))
        binary = cv2.adaptiveThreshold(
            grey, 255, method, cv2.THRESH_BINARY, block, rng.uniform(5, 20)
        )
    return binary.astype(np.float32)


def speckle(pixels: np.ndarray, rng: random.Random, noise: np.random.Generator) -> np.ndarray:
    """Dark dust and light toner drop-outs, one to two pixels across."""
    density = rng.uniform(*SPECKLE_DENSITY)
    dark = noise.random(pixels.shape) < density
    light = noise.random(pixels.shape) < density / 2
    if rng.random() < 0.5:
        dark = cv2.dilate(dark.astype(np.uint8), np.ones((2, 2), np.uint8)).astype(bool)
    # Dust is dark even on a line with little ink; drop-outs take the paper's level.
    ink = min(float(np.percentile(pixels, 2)), 60.0)
    paper_level = float(np.percentile(pixels, 90))
    return np.where(dark, ink, np.where(light, paper_level, pixels))
