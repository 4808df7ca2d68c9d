"""The held-out set is held out: no training font or word, and a fair Tesseract set-up."""

import json
import random
import re
from pathlib import Path

from benchmarks import bench_setup, heldout, tesseract
from tools import synth_lines

ROOT = Path(__file__).resolve().parents[2]


def _training_font_dirs() -> list[str]:
    standard = json.loads((ROOT / "pipeline" / "configs" / "standard.json").read_text())
    return [synth_lines.DEFAULT_FONT_DIR, *standard["data"]["synthetic"]["fonts"]]


def test_no_held_out_font_lies_where_a_training_profile_draws_from():
    held_out = {
        str(Path(directory) / name)
        for directory, names in heldout.HELDOUT_FONTS.values()
        for name in names
    }
    for directory in _training_font_dirs():
        assert not [font for font in held_out if font.startswith(directory.rstrip("/") + "/")]
    # The packages are disjoint too, and the benchmark set-up installs both kinds.
    assert not set(heldout.HELDOUT_FONTS) & set(bench_setup.TRAINING_FONT_PACKAGES)
    assert set(heldout.HELDOUT_FONTS) <= set(bench_setup.APT_PACKAGES)
    assert set(bench_setup.TRAINING_FONT_PACKAGES) <= set(bench_setup.APT_PACKAGES)


def test_no_held_out_word_is_a_training_word():
    training = set((ROOT / "tools" / "data" / "words.txt").read_text().split())
    words = heldout.heldout_words()
    assert len(words) > 500 and not set(words) & training


def test_held_out_texts_only_use_the_charset_and_depend_on_the_seed():
    allowed = set(synth_lines.resolve_charset("lower"))
    texts = [heldout.heldout_text(random.Random(i), "lower", max_chars=24) for i in range(300)]
    assert all(text and set(text) <= allowed and len(text) <= 24 for text in texts)
    assert texts == [
        heldout.heldout_text(random.Random(i), "lower", max_chars=24) for i in range(300)
    ]
    assert len(set(texts)) > 250


def test_held_out_texts_read_as_print_in_mixed_case_with_long_lines():
    texts = [heldout.heldout_text(random.Random(i)) for i in range(1000)]
    allowed = set(synth_lines.resolve_charset("full"))
    assert all(text and set(text) <= allowed and len(text) <= 100 for text in texts)
    joined = " ".join(texts)
    assert re.search(r"[A-Z][a-z]", joined) and re.search(r"\b[A-Z]{3,}\b", joined)
    assert {"'", '"', "(", ")", ",", ".", "?", "!", ":", ";", "@", "/", "$", "%"} <= set(joined)
    lengths = sorted(len(text) for text in texts)
    assert lengths[len(lengths) // 2] >= 30 and lengths[-1] >= 90 and lengths[0] <= 10
    # After a sentence end the next word mostly starts with a capital (abbreviations aside).
    after_end = re.findall(r"[.?!] ([a-z])", joined)
    assert len(after_end) < 0.3 * len(re.findall(r"[.?!] ", joined))


def test_tesseract_gets_the_charset_with_the_space_and_scoring_keeps_case():
    # Without the space in its whitelist Tesseract 5 joins the words of a line.
    chars = synth_lines.resolve_charset("full")
    whitelist = tesseract.whitelist_for(chars)
    assert whitelist.endswith(" ") and set(whitelist) == set(chars)
    # Case and punctuation are scored as written, whatever the charset: only spaces collapse.
    assert tesseract.normalise("  Hello,   World! \n", chars) == "Hello, World!"
    assert tesseract.normalise("Hello World", "lower") == "Hello World"
