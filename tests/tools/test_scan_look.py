"""The scanned-page look: each step does what a scan does to a line, and nothing else."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tools import scan_look
from tools.synth_lines import render_line, resolve_fonts


@pytest.fixture(scope="module")
def line() -> np.ndarray:
    image = render_line("Scanned Page, No. 42 (draft)", resolve_fonts(None)[0], random.Random(0))
    return np.asarray(image)


def test_scanned_keeps_the_shape_and_is_deterministic(line):
    for seed in range(10):
        first = scan_look.scanned(line, random.Random(seed))
        assert first.shape == line.shape and first.dtype == np.uint8
        assert np.array_equal(first, scan_look.scanned(line, random.Random(seed)))
    assert not np.array_equal(
        scan_look.scanned(line, random.Random(1)), scan_look.scanned(line, random.Random(2))
    )


def test_binarized_lines_are_black_and_white_and_keep_the_ink(line):
    ink = line < 128
    for seed in range(6):
        binary = scan_look.binarized(line.astype(np.float32), random.Random(seed))
        assert set(np.unique(binary)) <= {0.0, 255.0}
        kept = (binary[ink] == 0).mean()
        assert kept > 0.8, f"seed {seed}: only {kept:.0%} of the ink stays black"


def test_paper_greys_the_background_and_keeps_ink_darker(line):
    toned = scan_look.paper(line.astype(np.float32), random.Random(3), np.random.default_rng(3))
    background, ink = np.median(toned[line > 200]), np.median(toned[line < 80])
    assert ink + 60 < background <= 250


def test_stroke_weight_thickens_or_thins_the_ink(line):
    pixels = line.astype(np.float32)
    outcomes = {
        seed: (
            scan_look.stroke_weight(pixels, random.Random(seed), np.random.default_rng(0)) < 128
        ).sum()
        for seed in range(12)
    }
    ink = (pixels < 128).sum()
    assert any(count > ink * 1.2 for count in outcomes.values())  # bolder
    assert any(count < ink * 0.9 for count in outcomes.values())  # thinner or broken


def test_skew_and_curl_move_the_ink_up_or_down_along_the_line(line):
    pixels = line.astype(np.float32)
    moved = [scan_look.skew_and_curl(pixels, random.Random(seed)) for seed in range(5)]
    assert all(image.shape == line.shape for image in moved)
    assert any(np.abs(image - pixels).mean() > 2 for image in moved)


def test_low_resolution_loses_fine_detail(line):
    pixels = line.astype(np.float32)
    blurred = scan_look.low_resolution(pixels, random.Random(4))
    sharpness = np.abs(np.diff(pixels, axis=1)).mean()
    assert np.abs(np.diff(blurred, axis=1)).mean() < sharpness


def test_speckle_adds_isolated_dots_on_the_paper(line):
    pixels = np.full((40, 400), 230, np.float32)
    dotted = scan_look.speckle(pixels, random.Random(5), np.random.default_rng(5))
    dark = (dotted < 128).mean()
    assert 0 < dark < 0.05
