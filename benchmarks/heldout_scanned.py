"""The scanned slice of the held-out set: lines cut out of printed-and-scanned pages.

``benchmarks.heldout`` draws each line alone with the training renderer; the training generator
(``tools.synth_lines``) degrades each line alone too, binarizing, speckling, skewing, curling and
cropping it. Real lines come out of pages, so this slice takes the route of a real scan instead,
with none of that code:

- **layout**: a small page per paragraph of held-out text (``heldout.heldout_text``, the full
  charset by default) in one held-out font at a body size (9-12 pt at 300 dpi; down to 7.5 pt
  for the longest lines, so that a column stays within 7 inches), print leading (1.15-1.35),
  left-aligned or justified columns of about 30-100 characters, wrapped at words;
- **print**: toner spread or thinning (the glyph coverage blurred and thresholded softly), toner
  density fading across the page and grain, on off-white paper with a fibre texture;
- **scan**: the whole page turned by up to 0.8 degrees with a slight perspective, the scanner's
  blur (PSF), resampled to 150 or 200 dpi (200 for print under 10.5 pt), sensor noise and the
  scanner's levels and gamma; then either a JPEG of the page, a lossless grey page, or a
  fax-like 1-bit page (200 dpi, thresholded by Sauvola's local method or by Otsu's global one
  over the whole page);
- **segmentation**: each line cut out of the scanned page from its known box, mapped through the
  page's transform with a deskew error of up to 0.3 degrees, as a line segmenter would: margins
  from tight to loose, so that some crops hold the ascenders and descenders of the neighbour lines.

The page is degraded as a whole, with numpy, scipy and Pillow only: nothing of
``tools.synth_lines`` but its font loader and file helpers, and no OpenCV (which the training
degradations use). The degradations are those of a decent office scan: harder than the clean
held-out lines for Tesseract 5 too, not destroyed text.

Line images are greyscale PNGs at the scan resolution (about 17-55 px high), not scaled to a
fixed height. Labels are the lines' texts with whitespace collapsed. The set depends only on
(seed, count, charset, max_chars, fonts), and the first lines of a bigger set are a smaller set.
Each page draws its texts, its layout and its degradations from three separate random streams,
so a change in ``heldout.heldout_text`` changes the words but not the pages' looks.

    python -m benchmarks.heldout_scanned --out outputs/bench/heldout-scanned --count 2000 \
        [--seed 2024] [--charset full] [--max-chars 100]

Output as ``benchmarks.heldout``'s (``heldout.read_labels`` and ``heldout.read_fonts`` read it):
``OUT/images/000000.png ...``, ``OUT/labels.csv`` (``path;label``, written last), ``OUT/fonts.txt``
and ``OUT/heldout.json`` (the settings; a later call with the same settings reuses the set).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from tqdm import tqdm

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import heldout
from tools import synth_lines

SCANNED_VERSION = "1"
DEFAULT_SEED = heldout.DEFAULT_SEED
DEFAULT_CHARSET = heldout.DEFAULT_CHARSET  # "full", as the clean slice
DEFAULT_MAX_CHARS = 100

PRINT_DPI = 300
SCAN_DPIS = (150, 200, 200)  # grey scans, drawn per page; 200 dpi is the common office setting
MIN_SCAN_EM = 22  # scan pixels per em at least (x-height about 10): 150 dpi from 10.5 pt up
FAX_DPI = 200  # 1-bit scans: a fax's fine mode (204 x 196 dpi)
SCAN_KINDS = {"jpeg": 5, "grey": 2, "binary": 3}  # how the scanner stores the page, and weights
POINT_SIZES = (9.0, 12.0)
MIN_POINT_SIZE = 7.5  # long lines get a smaller font, to fit MAX_COLUMN_INCHES
MAX_COLUMN_INCHES = 7.0
LEADING = (1.15, 1.35)  # line pitch per font size
LINES_PER_PAGE = (5, 10)
MIN_LINE_CHARS = 30  # shortest column, in characters of the font's average width
WRAP_LOSS = 6  # characters a column holds beyond the words wrapped into it, about
JUSTIFY_PROBABILITY = 0.35
PARAGRAPH_END_PROBABILITY = 0.3  # the page's last line is a short paragraph end
MAX_ROTATION_DEGREES = 0.8
MAX_PERSPECTIVE = 0.002  # corner displacement per page diagonal
MAX_DESKEW_ERROR_DEGREES = 0.3
CROP_MARGIN = (0.04, 0.3)  # vertical margin per line band height
SAMPLE_TEXT = "the quick brown fox jumps over the lazy dog, and 1990-1995 Etc."


@dataclass(frozen=True)
class PageLine:
    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom in print pixels


@dataclass(frozen=True)
class ScannedLine:
    text: str
    font: str
    image: Image.Image


# --------------------------------------------------------------------------- layout


def paragraph_words(rng: random.Random, charset: str, max_chars: int, wanted: int) -> list[str]:
    """At least ``wanted`` characters of held-out text, as words."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < wanted:
        text = heldout.heldout_text(rng, charset, max_tokens=16, max_chars=min(100, max_chars))
        words.extend(text.split())
    return words


def wrap(
    words: Sequence[str], font: ImageFont.FreeTypeFont, column: float, max_chars: int
) -> list[list[str]]:
    """Greedy word wrap into lines no wider than ``column`` pixels and ``max_chars`` characters
    (a word longer than either gets a line of its own)."""
    lines: list[list[str]] = [[]]
    for word in words:
        candidate = " ".join([*lines[-1], word])
        if lines[-1] and (font.getlength(candidate) > column or len(candidate) > max_chars):
            lines.append([word])
        else:
            lines[-1].append(word)
    return lines


def line_band(font: ImageFont.FreeTypeFont) -> tuple[int, int]:
    """(ascender height, descender depth) of the font around the baseline: the band a line
    segmenter finds from a line's baseline and x-height, the same for every line of the font."""
    top = font.getbbox("bdfhklAHT", anchor="ls")[1]
    bottom = font.getbbox("gjpqy", anchor="ls")[3]
    return -top, bottom


def lay_out_page(
    layout_rng: random.Random,
    text_rng: random.Random,
    font_path: str,
    charset: str,
    max_chars: int,
) -> tuple[Image.Image, list[PageLine], int]:
    """A paragraph of held-out text printed black on white at PRINT_DPI: (page, each line's text
    and box, the font size in pixels). The layout draws from ``layout_rng`` only, so that a
    change of the texts leaves it as it was."""
    # Wrapping at words ends a line some characters before the column's end: aim past it.
    low = min(MIN_LINE_CHARS + WRAP_LOSS, max_chars)
    target_chars = low + (max_chars + WRAP_LOSS - low) * layout_rng.betavariate(1.2, 3.2)
    points = layout_rng.uniform(*POINT_SIZES)
    leading = layout_rng.uniform(*LEADING)
    count = layout_rng.randint(*LINES_PER_PAGE)
    paragraph_end = layout_rng.random() < PARAGRAPH_END_PROBABILITY
    paragraph_end_share = layout_rng.uniform(0.2, 0.8)
    justify = layout_rng.random() < JUSTIFY_PROBABILITY
    margin_ems = layout_rng.uniform(1.5, 3.0)
    em_width = synth_lines.load_font(font_path, 100).getlength(SAMPLE_TEXT) / len(SAMPLE_TEXT) / 100
    widest = MAX_COLUMN_INCHES * 72 / (target_chars * em_width)
    size = round(max(MIN_POINT_SIZE, min(points, widest)) * PRINT_DPI / 72)
    font = synth_lines.load_font(font_path, size)
    pitch = size * leading
    column = target_chars * em_width * size
    words: list[str] = []
    while len(lines := wrap(words, font, column, max_chars)) <= count:
        words += paragraph_words(text_rng, charset, max_chars, round(count * target_chars))
    lines = lines[:count]
    paragraph_end = paragraph_end and len(lines[-1]) > 2
    if paragraph_end:
        keep = round(paragraph_end_share * len(lines[-1]))
        lines[-1] = lines[-1][: max(1, min(len(lines[-1]) - 1, keep))]
    ascender, descender = line_band(font)
    margin = round(size * margin_ems)
    width = round(column + 2 * margin + size)
    height = round(2 * margin + ascender + descender + (len(lines) - 1) * pitch)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    space = font.getlength(" ")
    placed = []
    for index, words_of_line in enumerate(lines):
        baseline = margin + ascender + index * pitch
        natural = font.getlength(" ".join(words_of_line))
        gaps = len(words_of_line) - 1
        stretch = (column - natural) / gaps if gaps else 0.0
        last = index == len(lines) - 1 and paragraph_end
        if not justify or last or not 0 < stretch < 2 * space:
            stretch = 0.0
        text = " ".join(words_of_line)
        pieces = words_of_line if stretch else [text]
        x, left, right = float(margin), math.inf, -math.inf
        for piece in pieces:
            box = draw.textbbox((x, baseline), piece, font=font, anchor="ls")
            draw.text((x, baseline), piece, font=font, fill=0, anchor="ls")
            left, right = min(left, box[0]), max(right, box[2])
            x += font.getlength(piece) + space + stretch
        placed.append(PageLine(text, (left, baseline - ascender, right, baseline + descender)))
    return page, placed, size


# --------------------------------------------------------------------------- print


def smooth_field(nprng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Noise of unit spread with blobs about ``cell`` pixels across (drawn on a coarse grid and
    interpolated: far cheaper than blurring full-size noise)."""
    grid = (max(2, round(shape[0] / cell) + 2), max(2, round(shape[1] / cell) + 2))
    small = Image.fromarray(nprng.standard_normal(grid, dtype=np.float32), mode="F")
    return np.asarray(small.resize((shape[1], shape[0]), Image.Resampling.BICUBIC))


def print_on_paper(
    page: Image.Image, rng: random.Random, nprng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """The page as a laser printer puts it on paper: grey levels (float) and the paper white."""
    coverage = 1.0 - np.asarray(page, dtype=np.float32) / 255.0
    # Toner spread or thinning: a threshold below 0.5 on the blurred coverage thickens strokes.
    spread = ndimage.gaussian_filter(coverage, rng.uniform(0.6, 1.4), truncate=3.0)
    level, steepness = rng.uniform(0.4, 0.6), rng.uniform(8.0, 16.0)
    coverage = 1.0 / (1.0 + np.exp(-steepness * (spread - level)))
    # Toner density: fading over the page and grain of the toner (blobs of 2 to 3 pixels).
    shape = coverage.shape
    fade = rng.uniform(0.0, 0.2) * np.clip(0.5 + 0.3 * smooth_field(nprng, shape, 300), 0, 1)
    grain = np.abs(smooth_field(nprng, shape, rng.uniform(2.0, 3.0))) * rng.uniform(0.03, 0.12)
    density = np.clip(rng.uniform(0.85, 1.0) - fade - grain, 0.2, 1.0)
    # Paper: a cloudy off-white with fibres.
    paper_white = rng.uniform(222.0, 250.0)
    paper = paper_white + rng.uniform(0.0, 3.0) * smooth_field(nprng, shape, 120)
    paper += rng.uniform(1.5, 4.0) * smooth_field(nprng, shape, rng.uniform(2.0, 4.0))
    ink = rng.uniform(8.0, 45.0)
    return paper - (paper - ink) * density * coverage, paper_white


# --------------------------------------------------------------------------- scan


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 projective map taking the four ``source`` points to the four ``target`` points."""
    rows, values = [], []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    coefficients = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
    return np.append(coefficients, 1.0).reshape(3, 3)


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N x 2) through a projective ``matrix``."""
    mapped = np.c_[points, np.ones(len(points))] @ matrix.T
    return mapped[:, :2] / mapped[:, 2:]


def rotation(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    """``points`` turned by ``degrees`` about ``centre``."""
    angle = math.radians(degrees)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (points - centre) @ turn.T + centre


def scan_geometry(rng: random.Random, size: tuple[int, int], scale: float) -> np.ndarray:
    """Print pixels -> scan pixels: the page turned slightly, a little perspective, resampled."""
    width, height = size
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)
    centre = np.array([width / 2, height / 2])
    turned = rotation(corners, centre, rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    jitter = MAX_PERSPECTIVE * math.hypot(width, height)
    moved = turned + np.array([[rng.uniform(-jitter, jitter) for _ in "xy"] for _ in corners])
    moved = (moved - moved.min(axis=0) + 2.0) * scale
    return homography(corners, moved)


def scan(
    paper: np.ndarray,
    paper_white: float,
    font_size: int,
    rng: random.Random,
    nprng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """A scan of the printed page: (grey pixels, print -> scan map, how it will be stored: a
    ``SCAN_KINDS`` key). Small print is scanned finer, as someone who wants it read would."""
    kind = rng.choices(list(SCAN_KINDS), weights=list(SCAN_KINDS.values()))[0]
    fine_enough = [dpi for dpi in SCAN_DPIS if font_size * dpi / PRINT_DPI >= MIN_SCAN_EM]
    dpi = rng.choice(fine_enough or [max(SCAN_DPIS)])
    scale = (FAX_DPI if kind == "binary" else dpi) / PRINT_DPI
    height, width = paper.shape
    matrix = scan_geometry(rng, (width, height), scale)
    # The scanner's optics and sensor integrate over a spot about one scan pixel wide.
    optics = ndimage.gaussian_filter(paper, rng.uniform(0.45, 0.75) / scale, truncate=3.0)
    printed = Image.fromarray(np.clip(optics, 0, 255).astype(np.uint8))
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=float)
    size = tuple(math.ceil(v) + 2 for v in apply(matrix, corners).max(axis=0))
    inverse = np.linalg.inv(matrix)
    inverse /= inverse[2, 2]
    scanned = printed.transform(
        size,
        Image.Transform.PERSPECTIVE,
        tuple(inverse.ravel()[:8]),
        resample=Image.Resampling.BILINEAR,
        fillcolor=round(paper_white),
    )
    pixels = np.asarray(scanned, dtype=np.float32)
    pixels += rng.uniform(0.5, 2.5) * nprng.standard_normal(pixels.shape, dtype=np.float32)
    # Levels and gamma: the scanner stretches paper towards white and toner towards black.
    white = paper_white - rng.uniform(0.0, 12.0)
    black = rng.uniform(0.0, 30.0)
    pixels = np.clip((pixels - black) / (white - black), 0.0, 1.0) ** rng.uniform(0.8, 1.25)
    return np.rint(pixels * 255.0).astype(np.uint8), matrix, kind


def store(grey: np.ndarray, kind: str, rng: random.Random) -> Image.Image:
    """The scanned page as the scanner stores it: a JPEG, lossless grey, or 1-bit like a fax
    (black 0 and white 255)."""
    if kind == "binary":
        method = sauvola if rng.random() < 0.6 else otsu
        return Image.fromarray(np.where(method(grey, rng), 255, 0).astype(np.uint8))
    page = Image.fromarray(grey)
    if kind == "jpeg":
        buffer = io.BytesIO()
        page.save(buffer, format="JPEG", quality=rng.randint(55, 92))
        page = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return page


def sauvola(grey: np.ndarray, rng: random.Random) -> np.ndarray:
    """Sauvola's local threshold over the page: True where the pixel is paper."""
    window = rng.choice((15, 21, 25, 31))
    values = grey.astype(np.float64)
    mean = ndimage.uniform_filter(values, window)
    spread = np.sqrt(np.maximum(ndimage.uniform_filter(values**2, window) - mean**2, 0.0))
    threshold = mean * (1.0 + rng.uniform(0.08, 0.2) * (spread / 128.0 - 1.0))
    return values > threshold


def otsu(grey: np.ndarray, _: random.Random) -> np.ndarray:
    """Otsu's global threshold over the page's histogram: True where the pixel is paper."""
    counts = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256)
    weight = np.cumsum(counts)
    total = weight[-1]
    mean = np.cumsum(counts * levels)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean[-1] * weight - mean * total) ** 2 / (weight * (total - weight))
    return grey > int(np.nanargmax(between[:-1]))


# --------------------------------------------------------------------------- segmentation


def cut_line(
    page: Image.Image,
    line: PageLine,
    matrix: np.ndarray,
    deskew_error: float,
    binary: bool,
    rng: random.Random,
) -> Image.Image:
    """The line as a segmenter cuts it from the scanned page: its band with margins, deskewed by
    the page's estimated angle (off by ``deskew_error`` degrees), at the scan resolution."""
    left, top, right, bottom = line.box
    band = bottom - top
    shift = rng.uniform(-0.05, 0.05) * band
    top -= rng.uniform(*CROP_MARGIN) * band - shift
    bottom += rng.uniform(*CROP_MARGIN) * band + shift
    left -= rng.uniform(0.05, 0.8) * band
    right += rng.uniform(0.05, 0.8) * band
    corners = np.array([[left, top], [left, bottom], [right, bottom], [right, top]])
    centre = corners.mean(axis=0)
    quad = apply(matrix, rotation(corners, centre, deskew_error))
    scale = math.sqrt(abs(np.linalg.det(matrix[:2, :2])))
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    resample = Image.Resampling.NEAREST if binary else Image.Resampling.BILINEAR
    return page.transform(
        size, Image.Transform.QUAD, tuple(quad.ravel()), resample=resample, fillcolor=255
    )


def scanned_page(
    seed: int, page_index: int, fonts: Sequence[str], charset: str, max_chars: int
) -> list[ScannedLine]:
    """Page ``page_index`` of set ``seed``: its lines, cut out after printing and scanning."""
    layout_rng, text_rng, rng = (
        random.Random(f"heldout_scanned:{seed}:{page_index}:{stream}")
        for stream in ("layout", "text", "scan")
    )
    nprng = np.random.default_rng(rng.getrandbits(64))
    font = fonts[layout_rng.randrange(len(fonts))]
    page, lines, font_size = lay_out_page(layout_rng, text_rng, font, charset, max_chars)
    paper, paper_white = print_on_paper(page, rng, nprng)
    grey, matrix, kind = scan(paper, paper_white, font_size, rng, nprng)
    scanned, binary = store(grey, kind, rng), kind == "binary"
    deskew_error = rng.uniform(-MAX_DESKEW_ERROR_DEGREES, MAX_DESKEW_ERROR_DEGREES)
    return [
        ScannedLine(line.text, font, cut_line(scanned, line, matrix, deskew_error, binary, rng))
        for line in lines
    ]


# --------------------------------------------------------------------------- the set


def settings(count: int, seed: int, charset: str, max_chars: int, fonts: Sequence[str]) -> dict:
    """What heldout.json records: enough to tell whether an existing set is this one."""
    return {
        "generator": "benchmarks.heldout_scanned",
        "version": SCANNED_VERSION,
        "heldout_version": heldout.HELDOUT_VERSION,
        "count": count,
        "seed": seed,
        "charset": synth_lines.resolve_charset(charset),
        "max_chars": max_chars,
        "fonts": [Path(font).name for font in fonts],
        "words_sha256": hashlib.sha256(heldout.WORDS_PATH.read_bytes()).hexdigest()[:16],
    }


def generate(
    out_dir: str | Path,
    count: int,
    seed: int = DEFAULT_SEED,
    charset: str = DEFAULT_CHARSET,
    max_chars: int = DEFAULT_MAX_CHARS,
    fonts: Sequence[str] | None = None,
) -> Path:
    """Write the scanned slice to ``out_dir`` (reused when heldout.json already records the same
    settings); returns the labels.csv path."""
    if count < 1:
        raise heldout.HeldoutError(f"count must be at least 1, got {count}")
    if max_chars < 1:
        raise heldout.HeldoutError(f"max_chars must be at least 1, got {max_chars}")
    fonts = list(fonts) if fonts is not None else heldout.heldout_fonts()
    out = Path(out_dir)
    wanted = settings(count, seed, charset, max_chars, fonts)
    labels = out / "labels.csv"
    if heldout.is_made(out, wanted):
        return labels
    images = synth_lines.prepare_output_dir(out)
    labels.unlink(missing_ok=True)
    rows: list[str] = []
    used: list[str] = []
    page_index = 0
    with tqdm(total=count, desc="scanned held-out lines", unit="line", mininterval=20) as bar:
        while len(rows) < count:
            page = scanned_page(seed, page_index, fonts, charset, max_chars)[: count - len(rows)]
            for line in page:
                name = f"{len(rows):06d}.png"
                line.image.save(images / name, format="PNG")
                rows.append(f"images/{name};{' '.join(line.text.split())}\n")
                used.append(f"{Path(line.font).name}\n")
            bar.update(len(page))
            page_index += 1
    return heldout.write_set(out, rows, used, wanted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--count", type=int, default=2000, help="lines (default 2000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--charset",
        default=DEFAULT_CHARSET,
        help=f"label characters: a tools.synth_lines preset ({', '.join(synth_lines.CHARSETS)}) or "
        "literal characters (default: full)",
    )
    parser.add_argument(
        "--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="longest line (default 100)"
    )
    args = parser.parse_args(argv)
    try:
        labels = generate(args.out, args.count, args.seed, args.charset, args.max_chars)
    except (heldout.HeldoutError, synth_lines.SynthError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"held-out scanned slice: {labels} ({args.count} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
