"""Tests of tools.synth_lines, the synthetic printed-line generator, with real fonts and files."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image

from tools import synth_lines
from tools.synth_lines import (
    CHARSETS,
    CORE_DEJAVU_FONTS,
    DEFAULT_FONT_DIR,
    MAX_HEIGHT,
    MIN_HEIGHT,
    cut_from_page,
    generate,
    line_rng,
    make_line,
    make_print_text,
    make_text,
    render_line,
    render_scanned_line,
    resolve_charset,
    resolve_fonts,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_FONT_PATHS = [Path(DEFAULT_FONT_DIR) / name for name in CORE_DEJAVU_FONTS]
ROW = re.compile(r"images/(\d{6})\.png;(.+)")

pytestmark = pytest.mark.skipif(
    not any(path.is_file() for path in CORE_FONT_PATHS),
    reason=f"no core DejaVu fonts in {DEFAULT_FONT_DIR} (install fonts-dejavu-core)",
)


def read_labels(out_dir: Path) -> list[tuple[str, str]]:
    """(relative image path, label) rows of labels.csv, split on the first ';' only."""
    text = (out_dir / "labels.csv").read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    return [tuple(row.split(";", 1)) for row in text.splitlines()]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tools.synth_lines ARGS`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "tools.synth_lines", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_clean_text(text: str, chars: str, max_chars: int) -> None:
    """The make_text contract: non-empty, short enough, charset only, single inner spaces."""
    assert text, "empty text"
    assert len(text) <= max_chars, text
    assert set(text) <= set(chars), text
    assert text == text.strip() and "  " not in text, repr(text)


# --------------------------------------------------------------------------- data sets


def test_generate_writes_images_labels_and_settings(tmp_path: Path) -> None:
    summary = generate(tmp_path, count=12, seed=7)

    rows = read_labels(tmp_path)
    assert len(rows) == 12
    for index, (path, label) in enumerate(rows):
        assert path == f"images/{index:06d}.png"
        assert_clean_text(label, CHARSETS["ascii"], 100)
        with Image.open(tmp_path / path) as image:
            image.load()
            assert image.mode == "L"
            assert MIN_HEIGHT <= image.height <= MAX_HEIGHT, (path, image.size)
            if len(label) > 1:
                assert image.width > image.height, (label, image.size)
    assert summary["count"] == 12 and summary["lines_per_second"] > 0
    assert Path(summary["labels_csv"]) == tmp_path / "labels.csv"

    settings = json.loads((tmp_path / "generation.json").read_text(encoding="utf-8"))
    assert settings["seed"] == 7 and settings["count"] == 12
    assert settings["charset"] == CHARSETS["ascii"] and settings["version"]
    assert set(settings["fonts"]) <= set(CORE_DEJAVU_FONTS) and settings["fonts"]
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"
    assert settings["fonts_missing_glyphs"] == {}, "the core DejaVu fonts draw every charset"


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, count=6, seed=3)
    generate(second, count=6, seed=3)
    generate(other, count=6, seed=4)

    assert (first / "labels.csv").read_bytes() == (second / "labels.csv").read_bytes()
    for path, _ in read_labels(first):
        assert (first / path).read_bytes() == (second / path).read_bytes(), path
    assert read_labels(first) != read_labels(other)


def test_each_line_depends_only_on_seed_and_index(tmp_path: Path) -> None:
    generate(tmp_path / "long", count=5, seed=11)
    generate(tmp_path / "short", count=2, seed=11)

    assert read_labels(tmp_path / "long")[:2] == read_labels(tmp_path / "short")
    for name in ("000000.png", "000001.png"):
        long_image = (tmp_path / "long" / "images" / name).read_bytes()
        assert long_image == (tmp_path / "short" / "images" / name).read_bytes()


def test_digits_charset_gives_digit_strings(tmp_path: Path) -> None:
    generate(tmp_path, count=6, seed=1, charset="digits", max_chars=8)

    labels = [label for _, label in read_labels(tmp_path)]
    assert all(label.isdigit() and len(label) <= 8 for label in labels), labels
    lengths = {len(make_text(random.Random(i), "digits", max_chars=5)) for i in range(200)}
    assert lengths == {1, 2, 3, 4, 5}


def test_semicolons_in_labels_read_back_on_the_first_split(tmp_path: Path) -> None:
    charset = "abcdefghijklmnopqrstuvwxyz;"
    generate(tmp_path, count=30, seed=5, charset=charset)

    labels = [label for _, label in read_labels(tmp_path)]
    expected = [make_print_text(line_rng(5, index), charset) for index in range(30)]
    assert labels == expected
    assert any(";" in label for label in labels), "no label with ';' to check"


def test_failed_run_leaves_no_labels_csv(tmp_path: Path, monkeypatch) -> None:
    generate(tmp_path, count=3, seed=0)  # a stale labels.csv that must not survive
    calls = []

    def render_then_fail(text, font_path, rng):
        calls.append(text)
        if len(calls) > 2:
            raise RuntimeError("disk on fire")
        return Image.new("L", (60, 32), 255)

    monkeypatch.setattr(synth_lines, "render_line", render_then_fail)
    with pytest.raises(RuntimeError):
        generate(tmp_path, count=5, seed=1)
    assert not (tmp_path / "labels.csv").exists()


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("charset", "max_chars"),
    [("full", 24), ("full", 3), ("lower", 24), ("alnum", 12), ("abcdefghijklmnop0123456789-", 20)],
)
def test_make_text_respects_charset_and_length(charset: str, max_chars: int) -> None:
    chars = synth_lines.resolve_charset(charset)
    rng = random.Random(charset)
    for _ in range(300):
        assert_clean_text(make_text(rng, charset, 1, 4, max_chars), chars, max_chars)


def test_literal_charset_is_honoured() -> None:
    rng = random.Random(0)
    texts = [make_text(rng, "abcdefghijklmnop0123456789-") for _ in range(300)]
    used = set("".join(texts))
    assert used <= set("abcdefghijklmnop0123456789- ")
    assert {"-", " "} <= used and used & set("0123456789") and used & set("abcdefghijklmnop")


def test_full_charset_uses_every_character_and_token_kind() -> None:
    rng = random.Random(1)
    texts = [make_text(rng, "full") for _ in range(3000)]

    assert set("".join(texts)) == set(CHARSETS["full"])
    joined = "\n".join(texts)
    for kind, pattern in {
        "iso date": r"\d{4}-\d\d-\d\d",
        "dotted date": r"\d\d\.\d\d\.\d{4}",
        "month date": r"[A-Za-z]{3} \d{1,2},? \d{4}",
        "price": r"\$\d{1,3}(,\d{3})*\.\d\d",
        "time": r"\d\d:\d\d",
        "code": r"[A-Z]{2,3}-\d{3,5}",
        "phone": r"\(\d{3}\) \d{3}-\d{4}",
        "thousands": r"\d,\d{3}",
    }.items():
        assert re.search(pattern, joined), f"no {kind} in 3000 lines"


def test_random_share_mixes_letters_with_digits_and_zero_changes_nothing() -> None:
    letter_beside_digit = re.compile(r"[a-z][0-9]|[0-9][a-z]")

    def share_mixed(random_share: float) -> float:
        texts = [make_text(line_rng(9, i), "lower", 1, 4, 24, random_share) for i in range(1500)]
        for text in texts:
            assert_clean_text(text, CHARSETS["lower"], 24)
        return sum(bool(letter_beside_digit.search(text)) for text in texts) / len(texts)

    # The formats alone rarely put a letter beside a digit (ordinals, a few codes).
    assert share_mixed(0.0) < 0.08
    assert 0.2 < share_mixed(0.15) < share_mixed(0.5)
    # 0 draws nothing extra: the data sets made before the option existed stay the same.
    assert [make_text(line_rng(3, i), "lower") for i in range(50)] == [
        make_text(line_rng(3, i), "lower", 1, 4, 24, 0.0) for i in range(50)
    ]
    # Every token random: each is 2-8 characters of the charset, spaces only between tokens.
    for index in range(300):
        for token in make_text(line_rng(4, index), "lower", 1, 4, 60, 1.0).split(" "):
            assert 2 <= len(token) <= 8, token


def test_random_runs_keep_digits_among_digits_and_still_mix_kinds() -> None:
    def random_tokens(style: str, charset: str = "lower") -> list[str]:
        texts = [make_text(line_rng(5, i), charset, 1, 4, 60, 1.0, style) for i in range(400)]
        for text in texts:
            assert_clean_text(text, CHARSETS.get(charset, charset + " "), 60)
        return [token for text in texts for token in text.split(" ")]

    def lone_digit_share(tokens: list[str]) -> float:
        """Share of digits with a letter on each side: what a 1 read as l would look like."""
        lone = re.compile(r"(?<=[a-zA-Z])[0-9](?=[a-zA-Z])")
        digits = sum(char.isdigit() for token in tokens for char in token)
        return sum(len(lone.findall(token)) for token in tokens) / digits

    uniform, runs = random_tokens("uniform"), random_tokens("runs")
    assert all(2 <= len(token) <= 8 for token in runs)
    # Uniform draws put a digit between two letters often; runs almost never (only a run of one
    # digit between two letter runs).
    assert lone_digit_share(uniform) > 0.2
    assert lone_digit_share(runs) < 0.25 * lone_digit_share(uniform)
    # Letters still meet digits (1920s), digits meet digits across a mark (12.13), and marks
    # never start or end a string.
    joined = " ".join(runs)
    assert re.search(r"[a-z][0-9]|[0-9][a-z]", joined)
    assert re.search(r"[0-9][.,-][0-9]", joined) and re.search(r"[a-z][.,-][a-z]", joined)
    assert not [token for token in runs if not (token[0].isalnum() and token[-1].isalnum())]
    # A charset of one kind gives runs of that kind; an unknown style is refused by name.
    assert all(token.isalpha() for token in random_tokens("runs", "abcxyz"))
    with pytest.raises(ValueError, match="random-style"):
        make_text(line_rng(1, 0), "lower", 1, 4, 24, 0.5, "words")


def test_min_and_max_tokens_bound_the_word_count() -> None:
    rng = random.Random(2)
    counts = {len(make_text(rng, "lower", 2, 2, 60).split(" ")) for _ in range(100)}
    # Multi-word tokens (dates with month names, phone numbers) can add spaces, never remove.
    assert min(counts) >= 2


@pytest.mark.parametrize("charset", ["", "nosuchcharset", "fulll", "!?"])
def test_bad_charsets_raise_value_error(charset: str) -> None:
    with pytest.raises(ValueError, match="charset"):
        make_text(random.Random(0), charset)


# --------------------------------------------------------------------------- images and fonts


def test_render_line_gives_legible_greyscale_lines() -> None:
    font = str(resolve_fonts(None)[0])
    for seed in range(20):
        image = render_line("Invoice 1,234.50", font, random.Random(seed))
        assert image.mode == "L"
        assert MIN_HEIGHT <= image.height <= MAX_HEIGHT and image.width > 4 * image.height
        histogram = image.histogram()
        darkest = next(level for level, n in enumerate(histogram) if n)
        assert darkest < 128, "no dark ink"
        assert sum(histogram[160:]) > image.width * image.height / 2, "background not light"


def test_resolve_fonts_defaults_to_existing_core_dejavu_files() -> None:
    fonts = resolve_fonts(None)
    assert fonts == sorted(fonts) and fonts
    assert {Path(font).name for font in fonts} <= set(CORE_DEJAVU_FONTS)
    assert all(Path(font).is_file() for font in fonts)


def test_resolve_fonts_searches_directories(tmp_path: Path) -> None:
    source = next(path for path in CORE_FONT_PATHS if path.is_file())
    nested = tmp_path / "fonts" / "nested"
    nested.mkdir(parents=True)
    shutil.copy(source, nested / "Copy.TTF")
    (tmp_path / "fonts" / "readme.txt").write_text("not a font")

    fonts = resolve_fonts([str(tmp_path / "fonts")])
    assert [Path(font).name for font in fonts] == ["Copy.TTF"]


def test_resolve_fonts_names_bad_paths(tmp_path: Path) -> None:
    empty, broken = tmp_path / "empty", tmp_path / "broken.ttf"
    empty.mkdir()
    broken.write_text("not a font")
    for path in (tmp_path / "missing", empty, broken):
        with pytest.raises(ValueError, match=re.escape(str(path))):
            resolve_fonts([str(path)])


def digits_only_font(directory: Path) -> Path:
    """A real font that lacks letters: DejaVu Sans cut down to its digits by fontTools.subset."""
    source = next(path for path in CORE_FONT_PATHS if path.is_file())
    subsetter = subset.Subsetter()
    subsetter.populate(text="0123456789")
    with TTFont(source) as font:
        subsetter.subset(font)
        directory.mkdir(parents=True, exist_ok=True)
        font.save(directory / "DigitsOnly.ttf")
    return directory / "DigitsOnly.ttf"


def test_lines_are_drawn_only_with_fonts_that_have_their_glyphs(tmp_path: Path) -> None:
    digits = str(digits_only_font(tmp_path / "fonts"))
    full = str(resolve_fonts(None)[0])
    fonts = sorted([digits, full])
    assert synth_lines.glyph_coverage(digits) >= set("0123456789")
    assert not synth_lines.glyph_coverage(digits) & set("abcxyz.,-")

    picked = {"letters": set(), "digits": set()}
    for seed in range(200):
        picked["letters"].add(synth_lines.pick_font(random.Random(seed), "tax 12.50", fonts))
        picked["digits"].add(synth_lines.pick_font(random.Random(seed), "2024 17", fonts))
    assert picked["letters"] == {full}, "a line with letters was given the digits-only font"
    assert picked["digits"] == {digits, full}, "a font lacking letters must still draw digits"

    summary = generate(tmp_path / "data", count=40, seed=5, fonts=fonts, charset="lower")
    missing = {"DigitsOnly.ttf": "abcdefghijklmnopqrstuvwxyz.,-"}
    assert summary["fonts_missing_glyphs"] == missing
    settings = json.loads((tmp_path / "data" / "generation.json").read_text(encoding="utf-8"))
    assert settings["fonts_missing_glyphs"] == missing
    assert len(read_labels(tmp_path / "data")) == 40


def test_a_charset_no_font_can_draw_is_refused_before_writing(tmp_path: Path) -> None:
    digits = str(digits_only_font(tmp_path / "fonts"))
    with pytest.raises(ValueError, match=r"no font has a glyph for 'abc.*DigitsOnly\.ttf"):
        generate(tmp_path / "data", count=5, seed=1, fonts=[digits], charset="lower")
    assert not (tmp_path / "data" / "labels.csv").exists()
    generate(tmp_path / "digits", count=5, seed=1, fonts=[digits], charset="digits")
    assert len(read_labels(tmp_path / "digits")) == 5


# --------------------------------------------------------------------------- command line


def test_cli_writes_files_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "data"
    result = run_cli("--out", str(out), "--count", "5", "--seed", "2", "--charset", "alnum")

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        rf"wrote 5 lines to {re.escape(str(out))} in [\d.]+ s \(\d+ lines/s\)\n", result.stdout
    )
    rows = read_labels(out)
    assert [path for path, _ in rows] == [f"images/{i:06d}.png" for i in range(5)]
    assert all((out / path).is_file() for path, _ in rows)
    assert all(set(label) <= set(CHARSETS["alnum"]) for _, label in rows)
    assert json.loads((out / "generation.json").read_text())["charset_name"] == "alnum"


def test_cli_draws_random_strings_in_the_style_asked_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    args = ("--count", "6", "--seed", "3", "--random-share", "1", "--charset", "lower",
            "--text-style", "tokens", "--max-chars", "24")  # fmt: skip
    result = run_cli("--out", str(out), *args, "--random-style", "runs")

    assert result.returncode == 0, result.stderr
    settings = json.loads((out / "generation.json").read_text())
    assert (settings["random_share"], settings["random_style"]) == (1.0, "runs")
    assert [label for _, label in read_labels(out)] == [
        make_text(line_rng(3, i), "lower", 1, 4, 24, 1.0, "runs") for i in range(6)
    ]
    refused = run_cli("--out", str(tmp_path / "no"), *args, "--random-style", "words")
    assert refused.returncode == 2 and "--random-style" in refused.stderr
    assert not (tmp_path / "no").exists()


def test_cli_names_fonts_that_lack_glyphs(tmp_path: Path) -> None:
    digits = digits_only_font(tmp_path / "fonts")
    full = resolve_fonts(None)[0]
    out = tmp_path / "data"
    result = run_cli("--out", str(out), "--count", "4", "--fonts", str(digits), full)

    assert result.returncode == 0, result.stderr
    note = re.search(
        r"^note: DigitsOnly\.ttf has no glyph for '(.+)'; lines with them use", result.stdout, re.M
    )
    assert note and set("aZ.,;@") <= set(note.group(1)), result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--fonts", "{tmp}/no-such-font.ttf"], "no-such-font.ttf"),
        (["--fonts", "{tmp}/empty-font-dir"], "empty-font-dir"),
        (["--charset", "nosuchcharset"], "nosuchcharset"),
    ],
)
def test_cli_reports_bad_arguments_in_one_line(tmp_path: Path, args: list[str], named: str):
    (tmp_path / "empty-font-dir").mkdir()
    out = tmp_path / "out"
    args = [arg.format(tmp=tmp_path) for arg in args]
    result = run_cli("--out", str(out), "--count", "3", *args)

    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (out / "labels.csv").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--count", "0"], "count"),
        (["--count", "3", "--charset", "?!"], "cannot spell"),
        (["--count", "3", "--charset", ""], "empty charset"),
        (["--count", "3", "--min-tokens", "3", "--max-tokens", "2"], "min-tokens"),
        (["--count", "3", "--random-share", "1.5"], "random-share"),
    ],
)
def test_main_rejects_bad_settings_with_status_2(tmp_path: Path, capsys, args, named) -> None:
    out = tmp_path / "out"
    assert synth_lines.main(["--out", str(out), *args]) == 2
    assert named in capsys.readouterr().err
    assert not (out / "labels.csv").exists()


def test_main_rejects_an_out_path_that_is_a_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "taken"
    out.write_text("a file")
    assert synth_lines.main(["--out", str(out), "--count", "2"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert out.read_text() == "a file"


def test_help_describes_the_output_format(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        synth_lines.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for expected in ("--fonts", "--charset", "--max-chars", "labels.csv", "generation.json"):
        assert expected in help_text


def test_word_list_is_sorted_unique_lowercase_ascii() -> None:
    lines = synth_lines.WORDS_PATH.read_text(encoding="utf-8").splitlines()
    assert 1000 <= len(lines) <= 1500
    assert lines == sorted(set(lines))
    assert all(re.fullmatch(r"[a-z]+", word) for word in lines)


# --------------------------------------------------------------------------- printed-page texts


def test_print_texts_read_as_printed_lines_of_the_whole_ascii_set() -> None:
    texts = [make_print_text(line_rng(2, i), "ascii", 100) for i in range(3000)]
    for text in texts:
        assert_clean_text(text, CHARSETS["ascii"], 100)
    assert set("".join(texts)) == set(CHARSETS["ascii"])  # every printable ASCII character
    joined = "\n".join(texts)
    for kind, pattern in {
        "sentence start": r"[.?!] [A-Z][a-z]+",
        "ALL-CAPS word": r"\b[A-Z]{4,}\b",
        "contraction": r"\b[A-Za-z]+'(t|s|ll|re|ve|m|d)\b",
        "possessive": r"[a-z]'s\b",
        "quoted words": r"\"[A-Za-z]+ [^\"]+\"",
        "parenthesis": r"\([^)]+\)",
        "price": r"\$\d{1,3}(,\d{3})*\.\d\d",
        "currency code": r"\b(USD|EUR|GBP) \d",
        "percentage": r"\d%",
        "time": r"\d\d:\d\d",
        "date": r"\d\d/\d\d/\d{2,4}",
        "e-mail": r"[a-z]+@[a-z]+\.[a-z]+",
        "web address": r"(https?://|www\.)[a-z]+\.",
        "thousands": r"\d,\d{3}",
        "form field": r"[A-Z][a-z]+: ",
    }.items():
        assert re.search(pattern, joined), f"no {kind} in 3000 lines"
    lengths = sorted(map(len, texts))
    # Lines run from single labels to full page lines, most of them long.
    assert lengths[0] <= 5 and lengths[-1] >= 95 and lengths[len(lengths) // 2] >= 40


def test_print_texts_keep_to_narrow_charsets_and_short_limits() -> None:
    for charset, limit in [("lower", 100), ("full", 30), ("alnum", 60), ("digits", 8)]:
        for index in range(300):
            text = make_print_text(line_rng(5, index), charset, limit)
            assert_clean_text(text, resolve_charset(charset), limit)


def test_generate_defaults_to_print_lines_and_records_the_style(tmp_path: Path) -> None:
    summary = generate(tmp_path, count=20, seed=4, scan_share=0.5)
    settings = json.loads(Path(summary["generation_json"]).read_text())
    assert settings["charset_name"] == "ascii" and settings["text_style"] == "print"
    assert settings["scan_share"] == 0.5 and settings["max_chars"] == 100
    labels = [label for _, label in read_labels(tmp_path)]
    assert labels == [make_line(4, i, resolve_fonts(None), scan_share=0.5)[0] for i in range(20)]
    assert any(label != label.lower() for label in labels)


def test_scan_share_changes_only_the_images_it_draws_scanned(tmp_path: Path) -> None:
    fonts = resolve_fonts(None)
    plain = [make_line(9, i, fonts) for i in range(30)]
    scanned = [make_line(9, i, fonts, scan_share=0.5) for i in range(30)]
    assert [text for text, _ in plain] == [text for text, _ in scanned]
    changed = [a.tobytes() != b.tobytes() for (_, a), (_, b) in zip(plain, scanned, strict=True)]
    assert 5 <= sum(changed) <= 25


def test_scanned_lines_can_carry_neighbour_lines_ink_at_their_edges() -> None:
    font = str(resolve_fonts(None)[0])
    text = "Total: $1,234.50 due"
    alone = cut_from_page(text, font, random.Random(1), ("", ""))
    with_neighbours = [
        cut_from_page(text, font, random.Random(seed), ("Qjgpy ypqgj", "Hdlkt bdfhk"))
        for seed in range(20)
    ]

    def edge_ink(image) -> int:
        pixels = np.asarray(image)
        return int((pixels[:2] < 128).sum() + (pixels[-2:] < 128).sum())

    assert edge_ink(alone) == 0
    assert any(edge_ink(image) > 0 for image in with_neighbours)
    rendered = render_scanned_line(text, font, random.Random(3), ("Above", "Below"))
    assert rendered.mode == "L" and rendered.width > 4 * rendered.height


def test_cli_takes_text_style_and_scan_share(tmp_path: Path) -> None:
    result = run_cli("--out", str(tmp_path), "--count", "4", "--text-style", "tokens",
                     "--scan-share", "1", "--max-chars", "20")  # fmt: skip
    assert result.returncode == 0, result.stderr
    settings = json.loads((tmp_path / "generation.json").read_text())
    assert settings["text_style"] == "tokens" and settings["scan_share"] == 1.0
    bad = run_cli("--out", str(tmp_path), "--count", "4", "--scan-share", "2")
    assert bad.returncode == 2 and "scan-share must be between 0 and 1" in bad.stderr
