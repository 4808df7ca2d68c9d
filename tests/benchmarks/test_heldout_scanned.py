"""The scanned slice: page lines, cut out of printed-and-scanned pages, the same on every run."""

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks import heldout, heldout_scanned
from tools import synth_lines

COUNT = 30
SEED = 3  # its first 30 lines come from 1-bit and grey pages (the scan draws ignore the texts)


@pytest.fixture(scope="module")
def labels(tmp_path_factory) -> Path:
    return heldout_scanned.generate(tmp_path_factory.mktemp("scanned"), COUNT, seed=SEED)


def _tree(labels_csv: Path) -> dict[str, bytes]:
    out = labels_csv.parent
    return {
        str(path.relative_to(out)): path.read_bytes() for path in out.rglob("*") if path.is_file()
    }


def test_labels_are_page_lines_of_the_full_charset_in_held_out_fonts(labels):
    rows = heldout.read_labels(labels)
    texts = [text for _, text in rows]
    allowed = set(synth_lines.resolve_charset("full"))
    assert len(rows) == COUNT
    assert all(text and text == " ".join(text.split()) and set(text) <= allowed for text in texts)
    assert all(len(text) <= 100 for text in texts)
    assert sum(len(text) >= 30 for text in texts) >= 0.7 * COUNT  # real lines: 43 at the median
    fonts = heldout.read_fonts(labels)
    assert len(fonts) == COUNT
    assert set(fonts) <= {Path(font).name for font in heldout.heldout_fonts()}
    # A page is set in one font: the fonts come in runs of a page's 5 to 10 lines.
    runs = 1 + sum(a != b for a, b in itertools.pairwise(fonts))
    assert runs <= COUNT // heldout_scanned.LINES_PER_PAGE[0] + 1


def test_images_are_greyscale_pngs_at_scan_resolution_as_wide_as_their_text(labels):
    heights, widths, lengths = [], [], []
    for path, text in heldout.read_labels(labels):
        with Image.open(path) as image:
            assert (image.format, image.mode) == ("PNG", "L")
            heights.append(image.height)
            widths.append(image.width)
        lengths.append(len(text))
    assert min(heights) >= 15 and max(heights) <= 80
    assert 20 <= np.median(heights) <= 60
    assert np.corrcoef(widths, lengths)[0, 1] > 0.6


def test_lines_look_cut_from_scanned_pages_not_rendered_alone(labels):
    pixels = [np.asarray(Image.open(path)) for path, _ in heldout.read_labels(labels)]
    # The fax-like share is 1-bit (black and white only); the rest keeps its grey levels.
    binary = [set(np.unique(image)) <= {0, 255} for image in pixels]
    assert any(binary) and not all(binary)
    # A segmenter's crop cuts through ink (a neighbour line's ascenders or descenders, or the
    # line's own in a tight crop); synth_lines.render_line always leaves a margin around a line.
    cut = [(image[0] < 100).any() or (image[-1] < 100).any() for image in pixels]
    assert any(cut) and not all(cut)


def test_the_set_depends_only_on_seed_and_count_and_is_reused(labels, tmp_path):
    again = heldout_scanned.generate(tmp_path / "again", COUNT, seed=SEED)
    assert _tree(again) == _tree(labels)
    fewer = heldout_scanned.generate(tmp_path / "fewer", 8, seed=SEED)
    assert heldout.read_labels(fewer) == [
        (fewer.parent / path.relative_to(labels.parent), text)
        for path, text in heldout.read_labels(labels)[:8]
    ]
    first = heldout.read_labels(fewer)[0][0]
    assert first.read_bytes() == (labels.parent / "images" / first.name).read_bytes()
    other = heldout_scanned.generate(tmp_path / "other", 8, seed=SEED + 1)
    assert [t for _, t in heldout.read_labels(other)] != [t for _, t in heldout.read_labels(fewer)]

    stamp = fewer.stat().st_mtime_ns
    assert heldout_scanned.generate(tmp_path / "fewer", 8, seed=SEED) == fewer
    assert fewer.stat().st_mtime_ns == stamp  # same settings: reused, not rewritten
    settings = (fewer.parent / "heldout.json").read_text()
    assert '"generator": "benchmarks.heldout_scanned"' in settings


def test_command_line_writes_a_set_and_refuses_an_empty_one(tmp_path, capsys):
    out = tmp_path / "cli"
    assert heldout_scanned.main(["--out", str(out), "--count", "3", "--seed", "5"]) == 0
    assert len(heldout.read_labels(out / "labels.csv")) == 3
    assert heldout_scanned.main(["--out", str(tmp_path / "none"), "--count", "0"]) == 2
    assert "count must be at least 1" in capsys.readouterr().err
