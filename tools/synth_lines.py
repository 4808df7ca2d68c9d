"""Synthetic printed text lines: the project's embedded default data set.

The pipeline needs labelled text-line images that anyone can make offline, without downloads.
This module replaces tf.crnn's example data and its MNIST number generator. By default
(``text_style`` "print", charset ``ascii``: every printable ASCII character) a line reads as a
line of a printed page: running text in sentence case with Capitalised and ALL-CAPS words,
contractions, possessives, quotes and parentheses, a heading, form fields (``Total: $1,234.50``)
or a short label, with numbers, dates, prices, percentages, times, codes, e-mail and web
addresses and paths among the words of ``tools/data/words.txt``, up to ``max_chars`` (100)
characters. Each line is rendered with a real font (the core DejaVu fonts by default) and
degraded a little (rotation, blur, noise, JPEG); ``scan_share`` of the lines are cut from a
scanned-looking page instead (``render_scanned_line``, ``tools.scan_look``), so that a CRNN
trained on it reads printed and scanned lines, not one clean rendering.
``--random-share`` mixes in random character strings (TextRecognitionDataGenerator's random
sequences), so that the model reads glyphs it would otherwise guess from word and number shapes;
``--random-style runs`` makes them runs of letters and runs of digits (``ab12.7kq``) rather than
characters drawn one by one, so that a digit mostly sits beside digits and a letter beside letters.

Output, in tf.crnn's format::

    OUT/images/000000.png ...   greyscale line images, 28-48 px high
    OUT/labels.csv              one row per line: ``images/000000.png;label`` (UTF-8, no header)
    OUT/generation.json         the parameters used: seed, count, fonts, charset, version, and
                                the fonts that lack glyphs of the charset (they draw only the
                                lines whose characters they have)

Labels may contain ``;`` (the ``full`` charset has it): split each row on the first ``;`` only.
Each line depends only on (seed, index), so the same arguments give byte-identical files.

Command line::

    python -m tools.synth_lines --out data/synth --count 1000 --seed 0
"""

from __future__ import annotations

import argparse
import difflib
import functools
import io
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features
from tqdm import tqdm

from tools import scan_look

GENERATOR_VERSION = "2.0.0"

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
CORE_DEJAVU_FONTS = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSerif-Bold.ttf",
)
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
WORDS_PATH = Path(__file__).resolve().parent / "data" / "words.txt"

DIGITS = "0123456789"
LOWERCASE = "abcdefghijklmnopqrstuvwxyz"
UPPERCASE = LOWERCASE.upper()
PUNCTUATION = ".,:;!?'\"-/()&%$#+*=@"
RARE_PUNCTUATION = "[]{}<>_~^\\|`"  # the rest of printable ASCII: references, paths, code
CHARSETS: dict[str, str] = {
    "digits": DIGITS,
    "lower": LOWERCASE + DIGITS + " .,-",
    "alnum": LOWERCASE + UPPERCASE + DIGITS + " ",
    "full": LOWERCASE + UPPERCASE + DIGITS + " " + PUNCTUATION,
    "ascii": LOWERCASE + UPPERCASE + DIGITS + " " + PUNCTUATION + RARE_PUNCTUATION,
}
DEFAULT_CHARSET = "ascii"
TEXT_STYLES = ("print", "tokens")  # how a line's text is composed (``make_line``)

MIN_HEIGHT = 28
MAX_HEIGHT = 48
MAX_ROTATION_DEGREES = 1.5
MAX_BLUR_RADIUS = 1.0
MAX_NOISE_SIGMA = 10.0
JPEG_PROBABILITY = 0.3
JPEG_QUALITY = (30, 90)

PROBE_DRAWS = 200  # draws per token format when checking that a charset can use it
TRIES_PER_TOKEN = 8  # re-draws of one format before giving up on it for this token
DRAWS_PER_WANTED_TOKEN = 6  # token draws allowed per wanted token before a line is finished
RANDOM_TOKEN_LENGTH = (2, 8)  # shortest and longest random character string (``random_share``)
RANDOM_STYLES = ("uniform", "runs")  # how a random string is drawn (``random_token``)
RUN_LENGTH = (1, 4)  # shortest and longest run of letters or of digits (style "runs")
RUN_MARK_PROBABILITY = 0.25  # chance of a punctuation mark between two runs (style "runs")

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CASES: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "title": str.title,
    "upper": str.upper,
}
CASE_WEIGHTS = {"lower": 6.0, "title": 3.0, "upper": 1.0}


class SynthError(ValueError):
    """A problem with the generator's inputs; the CLI reports it as one line, exit status 2."""


# --------------------------------------------------------------------------- fonts


def resolve_fonts(paths: Sequence[str] | None) -> list[str]:
    """Return the font files to draw with, sorted, each checked to load in Pillow.

    ``None`` means the core DejaVu fonts in ``DEFAULT_FONT_DIR`` that exist. Otherwise each path
    is a font file or a directory searched recursively for .ttf/.otf/.ttc files.
    Raises ``ValueError`` (``SynthError``) naming the path and the fix when a path does not
    exist, a directory holds no fonts, a file cannot be loaded, or nothing is left.
    """
    if paths is None:
        found = [str(Path(DEFAULT_FONT_DIR) / name) for name in CORE_DEJAVU_FONTS]
        fonts = [path for path in found if os.path.isfile(path)]
        if not fonts:
            raise SynthError(
                f"no core DejaVu fonts in {DEFAULT_FONT_DIR}; install fonts-dejavu-core "
                "or pass --fonts FILE_OR_DIR"
            )
    else:
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        fonts = [font for path in paths for font in font_files_at(os.fspath(path))]
        if not fonts:
            raise SynthError("no font paths given; pass --fonts with a font file or directory")
    unique = sorted(set(fonts))
    for font in unique:
        check_font_loads(font)
    return unique


def font_files_at(path: str) -> list[str]:
    """The font files a --fonts argument names: the file itself or those under a directory."""
    if os.path.isfile(path):
        return [os.path.abspath(path)]
    if os.path.isdir(path):
        fonts = [
            os.path.abspath(found)
            for found in Path(path).rglob("*")
            if found.suffix.lower() in FONT_SUFFIXES and found.is_file()
        ]
        if not fonts:
            raise SynthError(
                f"font directory {path} holds no .ttf/.otf/.ttc files; "
                "pass a directory with fonts or a font file"
            )
        return fonts
    raise SynthError(
        f"font path {path} does not exist; pass an existing font file or directory "
        f"(the defaults are in {DEFAULT_FONT_DIR})"
    )


def check_font_loads(path: str) -> None:
    """Raise SynthError unless Pillow can load ``path`` as a font."""
    try:
        load_font(path, 16)
    except (OSError, ValueError) as error:
        raise SynthError(
            f"cannot load font {path} ({error}); pass a TrueType/OpenType font file"
        ) from None


@functools.lru_cache(maxsize=1024)
def glyph_coverage(path: str) -> frozenset[str]:
    """The characters ``path`` has a glyph for (its character map; face 0 of a collection).

    Pillow draws a character the font lacks as the font's .notdef glyph (often a box), which
    would put an image under a label that does not show it: ``make_line`` draws each line with
    a font whose map holds every character of the line.
    """
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError) as error:
        raise SynthError(f"cannot read the character map of font {path} ({error})") from None
    return frozenset(map(chr, cmap))


def missing_glyphs(fonts: Sequence[str], chars: str) -> dict[str, str]:
    """Font -> the charset characters (space aside) it has no glyph for; covering fonts left out.

    Raises SynthError naming the characters of ``chars`` that no font in ``fonts`` can draw."""
    wanted = [char for char in chars if char != " "]
    missing = {}
    for font in fonts:
        covered = glyph_coverage(font)
        lacking = "".join(char for char in wanted if char not in covered)
        if lacking:
            missing[font] = lacking
    undrawable = "".join(c for c in wanted if all(c in missing.get(f, "") for f in fonts))
    if undrawable:
        names = ", ".join(Path(font).name for font in fonts)
        raise SynthError(
            f"no font has a glyph for {undrawable!r} of the charset (fonts: {names}); "
            "add a font that has them or leave them out of --charset"
        )
    return missing


def pick_font(rng: random.Random, text: str, fonts: Sequence[str]) -> str:
    """A random font of ``fonts`` for ``text``; drawn again among those that have all its glyphs.

    The first draw is the same whatever the fonts cover, so lines whose font has every glyph
    stay as they were; a line that needs a glyph its font lacks is drawn with a covering font.
    """
    font = fonts[rng.randrange(len(fonts))]
    needed = set(text) - {" "}
    if needed <= glyph_coverage(font):
        return font
    covering = [other for other in fonts if needed <= glyph_coverage(other)]
    if not covering:
        raise SynthError(f"no font has glyphs for all of {text!r}")
    return rng.choice(covering)


@functools.lru_cache(maxsize=1024)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``path`` in pixel ``size``, cached: lines reuse a few dozen sizes."""
    return ImageFont.truetype(path, size)


@functools.lru_cache(maxsize=256)
def line_height_per_pixel_size(path: str) -> float:
    """Ascent plus descent per pixel of font size, to pick the size for a wanted line height."""
    ascent, descent = load_font(path, 100).getmetrics()
    return (ascent + descent) / 100


# --------------------------------------------------------------------------- charsets


def resolve_charset(name_or_chars: str) -> str:
    """Return the allowed characters for a preset name or a literal string of characters.

    A literal gets a space added (tokens are joined by spaces) unless it is digits only.
    Raises SynthError for an empty charset, non-printable characters, or a literal that looks
    like a mistyped preset name (it repeats a character or is close to a preset's name).
    """
    if name_or_chars in CHARSETS:
        return CHARSETS[name_or_chars]
    presets = ", ".join(CHARSETS)
    if not name_or_chars:
        raise SynthError(f"empty charset; use a preset ({presets}) or a string of characters")
    unprintable = sorted({char for char in name_or_chars if not char.isprintable()})
    if unprintable:
        raise SynthError(
            f"charset has non-printable characters {unprintable!r}; labels must be one line"
        )
    if looks_like_preset_name(name_or_chars):
        hint = difflib.get_close_matches(name_or_chars, list(CHARSETS), n=1)
        did_you_mean = f"did you mean {hint[0]!r}? " if hint else ""
        raise SynthError(
            f"unknown charset {name_or_chars!r}: not a preset ({presets}); {did_you_mean}"
            "a literal charset lists each allowed character once"
        )
    chars = "".join(dict.fromkeys(name_or_chars))
    if not is_digits_only(chars) and " " not in chars:
        chars += " "
    return chars


def looks_like_preset_name(text: str) -> bool:
    """True for a would-be literal charset that repeats a character or nearly names a preset."""
    repeats = len(set(text)) < len(text)
    return repeats or bool(difflib.get_close_matches(text, list(CHARSETS), n=1, cutoff=0.75))


def is_digits_only(chars: str) -> bool:
    """True when every character is an ASCII digit: the charset of a number generator."""
    return bool(chars) and set(chars) <= set(DIGITS)


# --------------------------------------------------------------------------- text


@functools.lru_cache(maxsize=1)
def load_words() -> tuple[str, ...]:
    """The word list shipped in tools/data/words.txt."""
    return tuple(WORDS_PATH.read_text(encoding="utf-8").split())


@dataclass(frozen=True)
class Alphabet:
    """What a charset allows, precomputed: the characters, digits, code letters, cased words."""

    allowed: frozenset[str]
    digits: str
    code_letters: str
    words: dict[str, tuple[str, ...]]


def make_alphabet(chars: str) -> Alphabet:
    """Precompute an Alphabet for the allowed characters ``chars``."""
    allowed = frozenset(chars)
    cased_words = {
        case: tuple(word for word in map(CASES[case], load_words()) if set(word) <= allowed)
        for case in CASES
    }
    upper = "".join(char for char in UPPERCASE if char in allowed)
    lower = "".join(char for char in LOWERCASE if char in allowed)
    return Alphabet(
        allowed=allowed,
        digits="".join(char for char in DIGITS if char in allowed),
        code_letters=upper or lower,
        words={case: words for case, words in cased_words.items() if words},
    )


def any_word(rng: random.Random, alphabet: Alphabet) -> str:
    """A word from the list in a random case the charset allows ('' when none fits)."""
    cases = list(alphabet.words)
    if not cases:
        return ""
    case = rng.choices(cases, weights=[CASE_WEIGHTS[case] for case in cases])[0]
    return rng.choice(alphabet.words[case])


def cased(
    rng: random.Random, word: str, alphabet: Alphabet, cases: Sequence[str] = tuple(CASES)
) -> str:
    """``word`` in a random one of ``cases`` that the charset allows (Title when none does)."""
    variants = [CASES[case](word) for case in cases]
    allowed = [variant for variant in variants if set(variant) <= alphabet.allowed]
    return rng.choice(allowed) if allowed else word.title()


def capitalised(word: str) -> str:
    """``word`` with its first letter upper case and the rest as it was: Don't, E-mail."""
    return word[:1].upper() + word[1:]


def word_with(rng: random.Random, alphabet: Alphabet, before: str, after: str) -> str:
    """A word between ``before`` and ``after`` ('' when the charset allows no word)."""
    word = any_word(rng, alphabet)
    return f"{before}{word}{after}" if word else ""


def digit_run(rng: random.Random, length: int) -> str:
    """``length`` random decimal digits."""
    return "".join(rng.choices(DIGITS, k=length))


def letter_run(rng: random.Random, alphabet: Alphabet, length: int) -> str:
    """``length`` random code letters (upper case when allowed); 'A's when there are none."""
    return "".join(rng.choices(alphabet.code_letters or "A", k=length))


def random_date(rng: random.Random) -> tuple[int, int, int]:
    """A (year, month, day) between 1950 and 2035."""
    return rng.randint(1950, 2035), rng.randint(1, 12), rng.randint(1, 28)


def money(rng: random.Random) -> str:
    """An amount with cents and thousands separators, spread over several magnitudes."""
    cents = rng.randrange(1, 10 ** rng.randint(3, 9))
    return f"{cents // 100:,}.{cents % 100:02d}"


def word_in_case(case: str) -> Callable[[random.Random, Alphabet], str]:
    """A token format drawing a word in one case."""

    def draw(rng: random.Random, alphabet: Alphabet) -> str:
        words = alphabet.words.get(case)
        return rng.choice(words) if words else ""

    return draw


def integer(rng: random.Random, _: Alphabet) -> str:
    """An integer of 1 to 5 digits: 7, 4821."""
    return str(rng.randrange(10 ** rng.randint(1, 5)))


def decimal(rng: random.Random, _: Alphabet) -> str:
    """A decimal number: 3.14, 0.5, 12.125."""
    places = rng.randint(1, 3)
    return f"{rng.randrange(1000)}.{digit_run(rng, places)}"


def thousands(rng: random.Random, _: Alphabet) -> str:
    """An integer with thousands separators: 12,345."""
    return f"{rng.randrange(1000, 10_000_000):,}"


def signed(rng: random.Random, _: Alphabet) -> str:
    """A signed integer: -42, +7."""
    return rng.choice("-+") + str(rng.randrange(1, 1000))


def percent(rng: random.Random, _: Alphabet) -> str:
    """A percentage: 12%, 7.5%."""
    whole = rng.randrange(101)
    return f"{whole}.{rng.randrange(10)}%" if rng.random() < 0.3 else f"{whole}%"


def ordinal(rng: random.Random, _: Alphabet) -> str:
    """An ordinal number: 1st, 22nd, 13th."""
    number = rng.randrange(1, 100)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{'th' if 10 <= number % 100 <= 20 else suffix}"


def iso_date(rng: random.Random, _: Alphabet) -> str:
    """An ISO date: 2024-03-15."""
    year, month, day = random_date(rng)
    return f"{year}-{month:02d}-{day:02d}"


def slash_date(rng: random.Random, _: Alphabet) -> str:
    """A day/month or month/day date: 15/03/2024, 03/15/24."""
    year, month, day = random_date(rng)
    first, second = (day, month) if rng.random() < 0.5 else (month, day)
    return f"{first:02d}/{second:02d}/{year if rng.random() < 0.7 else year % 100:02d}"


def dot_date(rng: random.Random, _: Alphabet) -> str:
    """A dotted date: 15.03.2024."""
    year, month, day = random_date(rng)
    return f"{day:02d}.{month:02d}.{year}"


def month_name_date(rng: random.Random, alphabet: Alphabet) -> str:
    """A date with a month name: Mar 15 2024, Mar 15, 2024, 15 MAR 2024."""
    year, month, day = random_date(rng)
    name = cased(rng, MONTHS[month - 1], alphabet)
    pattern = rng.choice(("{m} {d} {y}", "{m} {d}, {y}", "{d} {m} {y}"))
    return pattern.format(m=name, d=day, y=year)


def dollar_price(rng: random.Random, _: Alphabet) -> str:
    """A dollar price: $12.99, $1,234.50, $5."""
    return "$" + (money(rng) if rng.random() < 0.8 else str(rng.randrange(1, 1000)))


def plain_price(rng: random.Random, _: Alphabet) -> str:
    """An amount without currency: 1,234.50."""
    return money(rng)


def clock_time(rng: random.Random, _: Alphabet) -> str:
    """A 24-hour time: 12:45."""
    hour, minute = rng.randrange(24), rng.randrange(60)
    return f"{hour:02d}:{minute:02d}"


def clock_time_seconds(rng: random.Random, _: Alphabet) -> str:
    """A time with seconds: 09:05:33."""
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def twelve_hour_time(rng: random.Random, alphabet: Alphabet) -> str:
    """A 12-hour time: 7:30 pm."""
    hour, minute = rng.randint(1, 12), rng.randrange(60)
    return (
        f"{hour}:{minute:02d} {cased(rng, rng.choice(('am', 'pm')), alphabet, ('lower', 'upper'))}"
    )


def letter_code(rng: random.Random, alphabet: Alphabet) -> str:
    """A reference code: AB-1234."""
    letters = letter_run(rng, alphabet, rng.randint(2, 3))
    return f"{letters}-{digit_run(rng, rng.randint(3, 5))}"


def hash_code(rng: random.Random, alphabet: Alphabet) -> str:
    """A numbered code: #A12-334."""
    return f"#{letter_run(rng, alphabet, 1)}{digit_run(rng, 2)}-{digit_run(rng, 3)}"


def phone_number(rng: random.Random, _: Alphabet) -> str:
    """A phone number: (555) 123-4567, 555-123-4567, +1 555 123 4567."""
    area, exchange, line = digit_run(rng, 3), digit_run(rng, 3), digit_run(rng, 4)
    pattern = rng.choice(("({a}) {e}-{n}", "{a}-{e}-{n}", "+1 {a} {e} {n}"))
    return pattern.format(a=area, e=exchange, n=line)


def zip_code(rng: random.Random, _: Alphabet) -> str:
    """A US zip code: 90210, 90210-1234."""
    code = digit_run(rng, 5)
    return f"{code}-{digit_run(rng, 4)}" if rng.random() < 0.3 else code


def punctuated_word(rng: random.Random, alphabet: Alphabet) -> str:
    """A word with trailing punctuation: end. or, wait!"""
    return word_with(rng, alphabet, "", rng.choice(".,:;!?"))


def quoted_word(rng: random.Random, alphabet: Alphabet) -> str:
    """A quoted or parenthesised word: \"word\", 'word', (word)."""
    opening, closing = rng.choice(('""', "''", "()"))
    return word_with(rng, alphabet, opening, closing)


def possessive_word(rng: random.Random, alphabet: Alphabet) -> str:
    """A possessive: friend's."""
    return word_with(rng, alphabet, "", "'s")


def email_address(rng: random.Random, alphabet: Alphabet) -> str:
    """An e-mail address: info@market.com."""
    user, host = any_word(rng, alphabet).lower(), any_word(rng, alphabet).lower()
    domain = rng.choice(("com", "org", "net"))
    return f"{user}@{host}.{domain}" if user and host else ""


def arithmetic(rng: random.Random, _: Alphabet) -> str:
    """A small sum: 3+4=7, 12*3=36."""
    left, right = rng.randrange(1, 100), rng.randrange(1, 100)
    operator = rng.choice("+-*")
    result = {"+": left + right, "-": left - right, "*": left * right}[operator]
    return f"{left}{operator}{right}={result}"


def symbol(rng: random.Random, _: Alphabet) -> str:
    """A standalone symbol: &, +, =, *, /, -."""
    return rng.choice("&+=*/-")


CONTRACTIONS = (
    "don't", "it's", "can't", "won't", "isn't", "aren't", "didn't", "doesn't", "wasn't", "we'll",
    "we're", "they're", "you're", "you've", "I'm", "I've", "I'd", "that's", "there's", "let's",
    "what's", "couldn't", "shouldn't", "o'clock",
)  # fmt: skip
CURRENCY_CODES = ("USD", "EUR", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK")
TOP_LEVEL_DOMAINS = ("com", "org", "net", "io", "gov", "edu", "co.uk", "de")


def contraction(rng: random.Random, alphabet: Alphabet) -> str:
    """A contraction: don't, it's, I'm."""
    word = rng.choice(CONTRACTIONS)
    return capitalised(word) if rng.random() < 0.25 else word


def currency_amount(rng: random.Random, _: Alphabet) -> str:
    """An amount with a currency code before or after it: USD 1,250.00, 12.50 EUR."""
    code, amount = rng.choice(CURRENCY_CODES), money(rng)
    return f"{code} {amount}" if rng.random() < 0.6 else f"{amount} {code}"


def fraction(rng: random.Random, _: Alphabet) -> str:
    """A fraction or ratio: 1/2, 3/4, 16:9."""
    return f"{rng.randint(1, 20)}{rng.choice('/:')}{rng.randint(1, 20)}"


def numbered_reference(rng: random.Random, alphabet: Alphabet) -> str:
    """A numbered reference: No. 17, p. 212, Sec. 4.2, Art. 9."""
    prefix = cased(rng, rng.choice(("no.", "p.", "sec.", "art.", "ch.")), alphabet, ("title",))
    number = str(rng.randint(1, 400))
    return f"{prefix} {number}.{rng.randint(1, 9)}" if rng.random() < 0.3 else f"{prefix} {number}"


def web_address(rng: random.Random, alphabet: Alphabet) -> str:
    """A URL-like token: www.harbor.org, https://mail.net/a-b?id=42, example.com/docs."""
    host = f"{any_word(rng, alphabet).lower()}.{rng.choice(TOP_LEVEL_DOMAINS)}"
    path = f"/{any_word(rng, alphabet).lower()}" if rng.random() < 0.5 else ""
    if path and rng.random() < 0.4:
        path += f"?id={rng.randrange(1000)}"
    scheme = rng.choice(("https://", "http://", "www.", ""))
    return f"{scheme}{host}{path}" if host[0] != "." else ""


def file_path(rng: random.Random, alphabet: Alphabet) -> str:
    """A file path: /usr/local/report_2024.txt, C:\\Users\\anna, ~/docs/plan.pdf."""
    parts = [any_word(rng, alphabet).lower() for _ in range(rng.randint(1, 3))]
    name = (
        parts[-1]
        + rng.choice(("", "_" + str(rng.randint(1, 2030))))
        + rng.choice(("", ".txt", ".pdf", ".csv"))
    )
    style = rng.randrange(3)
    if style == 0:
        return "/" + "/".join([*parts[:-1], name])
    if style == 1:
        return "C:\\" + "\\".join([*parts[:-1], name])
    return "~/" + "/".join([*parts[:-1], name])


def bracketed(rng: random.Random, alphabet: Alphabet) -> str:
    """A bracketed mark: [12], [Note], {id}, <b>, `code`."""
    opening, closing = rng.choice(("[]", "[]", "{}", "<>", "``"))
    inner = str(rng.randint(1, 99)) if rng.random() < 0.5 else any_word(rng, alphabet)
    return f"{opening}{inner}{closing}" if inner else ""


def technical(rng: random.Random, alphabet: Alphabet) -> str:
    """A technical token: x^2, a|b, ~15, user_id, 2^10."""
    word, number = any_word(rng, alphabet).lower(), str(rng.randint(2, 99))
    forms = (f"{word}^{rng.randint(2, 3)}", f"{word}|{number}", f"~{number}", f"{word}_{word}")
    return rng.choice(forms) if word else ""


@dataclass(frozen=True)
class TokenFormat:
    """One kind of token (a word in title case, an ISO date, a price...) and how often to use it."""

    name: str
    weight: float
    draw: Callable[[random.Random, Alphabet], str]


TOKEN_FORMATS = (
    TokenFormat("word_lower", 40, word_in_case("lower")),
    TokenFormat("word_title", 14, word_in_case("title")),
    TokenFormat("word_upper", 5, word_in_case("upper")),
    TokenFormat("punctuated_word", 5, punctuated_word),
    TokenFormat("quoted_word", 2, quoted_word),
    TokenFormat("possessive_word", 1, possessive_word),
    TokenFormat("email_address", 1, email_address),
    TokenFormat("symbol", 1, symbol),
    TokenFormat("integer", 6, integer),
    TokenFormat("decimal", 3, decimal),
    TokenFormat("thousands", 2, thousands),
    TokenFormat("signed", 1, signed),
    TokenFormat("percent", 2, percent),
    TokenFormat("ordinal", 1, ordinal),
    TokenFormat("arithmetic", 1, arithmetic),
    TokenFormat("iso_date", 1.5, iso_date),
    TokenFormat("slash_date", 1.5, slash_date),
    TokenFormat("dot_date", 1, dot_date),
    TokenFormat("month_name_date", 2, month_name_date),
    TokenFormat("dollar_price", 3, dollar_price),
    TokenFormat("plain_price", 1.5, plain_price),
    TokenFormat("clock_time", 2, clock_time),
    TokenFormat("clock_time_seconds", 1, clock_time_seconds),
    TokenFormat("twelve_hour_time", 1, twelve_hour_time),
    TokenFormat("letter_code", 2, letter_code),
    TokenFormat("hash_code", 1, hash_code),
    TokenFormat("phone_number", 1.5, phone_number),
    TokenFormat("zip_code", 1, zip_code),
    TokenFormat("contraction", 2, contraction),
    TokenFormat("currency_amount", 1, currency_amount),
    TokenFormat("fraction", 1, fraction),
    TokenFormat("numbered_reference", 1, numbered_reference),
    TokenFormat("web_address", 1, web_address),
    TokenFormat("file_path", 0.5, file_path),
    TokenFormat("bracketed", 1, bracketed),
    TokenFormat("technical", 0.5, technical),
)


@dataclass(frozen=True)
class TextPlan:
    """The token formats a charset can satisfy, ready for weighted drawing."""

    chars: str
    alphabet: Alphabet
    digits_only: bool
    formats: tuple[TokenFormat, ...]
    cumulative_weights: tuple[float, ...]
    glyphs: str  # the charset without the space: what random strings draw from
    run_kinds: tuple[str, ...]  # its letters and its digits, those it has (style "runs")
    marks: str  # its other glyphs: punctuation put between runs


@functools.lru_cache(maxsize=64)
def text_plan(charset: str) -> TextPlan:
    """Resolve ``charset`` and find the token formats that can produce text in it.

    Raises SynthError when no format can (for example a charset of punctuation only).
    """
    chars = resolve_charset(charset)
    alphabet = make_alphabet(chars)
    digits_only = is_digits_only(chars)
    formats = () if digits_only else tuple(f for f in TOKEN_FORMATS if can_draw(f, alphabet))
    if not digits_only and not formats:
        raise SynthError(
            f"charset {charset!r} cannot spell any word, number, date, price, time or code; "
            "add letters or digits to it"
        )
    cumulative = tuple(np.cumsum([f.weight for f in formats]).tolist())
    glyphs = chars.replace(" ", "")
    letters = "".join(char for char in glyphs if char.isalpha())
    digits = "".join(char for char in glyphs if char.isdigit())
    run_kinds = tuple(kind for kind in (letters, digits) if kind)
    marks = "".join(char for char in glyphs if not char.isalnum())
    return TextPlan(chars, alphabet, digits_only, formats, cumulative, glyphs, run_kinds, marks)


def can_draw(token_format: TokenFormat, alphabet: Alphabet) -> bool:
    """True when some of a fixed sample of the format's tokens fit the alphabet."""
    rng = random.Random(f"probe:{token_format.name}")
    return any(fits(token_format.draw(rng, alphabet), alphabet) for _ in range(PROBE_DRAWS))


def fits(token: str, alphabet: Alphabet) -> bool:
    """True when ``token`` is non-empty and uses only allowed characters."""
    return bool(token) and set(token) <= alphabet.allowed


def draw_token(rng: random.Random, plan: TextPlan) -> str:
    """A token from a random format of the plan, or '' when its draws kept missing the charset."""
    token_format = rng.choices(plan.formats, cum_weights=plan.cumulative_weights)[0]
    for _ in range(TRIES_PER_TOKEN):
        token = token_format.draw(rng, plan.alphabet)
        if fits(token, plan.alphabet):
            return token
    return ""


def check_text_limits(min_tokens: int, max_tokens: int, max_chars: int) -> None:
    """Raise SynthError unless 1 <= min_tokens <= max_tokens and max_chars >= 1."""
    if not 1 <= min_tokens <= max_tokens:
        raise SynthError(f"need 1 <= min-tokens <= max-tokens, got {min_tokens} and {max_tokens}")
    if max_chars < 1:
        raise SynthError(f"max-chars must be at least 1, got {max_chars}")


def make_text(
    rng: random.Random,
    charset: str,
    min_tokens: int = 1,
    max_tokens: int = 4,
    max_chars: int = 24,
    random_share: float = 0.0,
    random_style: str = "uniform",
) -> str:
    """One line of text: words mixed with numbers, dates, prices, times and codes.

    ``charset`` is a preset name or literal characters (see ``resolve_charset``). The result is
    non-empty, at most ``max_chars`` long, uses only charset characters and single spaces between
    tokens. A digits-only charset gives a digit string 1 to ``max_chars`` long. With
    ``random_share`` > 0, that share of the tokens are random strings of the charset's characters
    (``random_token``, drawn in ``random_style``) instead of drawn formats; 0 draws nothing
    extra, so texts stay the same.
    """
    check_text_limits(min_tokens, max_tokens, max_chars)
    check_random_share(random_share)
    check_random_style(random_style)
    plan = text_plan(charset)
    if plan.digits_only:
        return "".join(rng.choices(plan.alphabet.digits, k=rng.randint(1, max_chars)))
    wanted = rng.randint(min_tokens, max_tokens)
    tokens: list[str] = []
    length = -1  # the joining spaces number one less than the tokens
    for _ in range(wanted * DRAWS_PER_WANTED_TOKEN):
        if random_share and rng.random() < random_share:
            token = random_token(rng, plan, random_style)
        else:
            token = draw_token(rng, plan)
        if token and length + 1 + len(token) <= max_chars:
            tokens.append(token)
            length += 1 + len(token)
            if len(tokens) == wanted:
                break
    return " ".join(tokens) if tokens else shortened_token(rng, plan, max_chars)


LINE_KINDS = {"prose": 0.62, "heading": 0.08, "fields": 0.12, "short": 0.18}
SHORT_LINE_TOKENS = (1, 4)  # a "short" line: a label, a cell, a word or two
MIN_FULL_LINE = 0.3  # a "prose" line fills at least this share of max_chars (more when it can)
SENTENCE_END = {".": 6, "?": 1, "!": 1}
MID_PUNCTUATION = {",": 6, ";": 1, ":": 1}
QUOTE_PAIRS = ('""', "''", "()")
FIELD_NAMES = (
    "name", "date", "total", "invoice no.", "ref", "account", "phone", "email", "address",
    "amount due", "order", "qty", "price", "subtotal", "tax", "page", "id", "code", "time",
    "paid", "balance", "due date", "customer", "reg. no.", "vat",
)  # fmt: skip


def make_print_text(
    rng: random.Random,
    charset: str,
    max_chars: int = 100,
    random_share: float = 0.0,
    random_style: str = "uniform",
) -> str:
    """One line as printed pages have them: running text, a heading, form fields or a short
    label, at most ``max_chars`` long, only ``charset`` characters, single spaces.

    Running text ("prose") fills a random share (MIN_FULL_LINE to all) of ``max_chars``: words
    mostly in lower case, a capital at each sentence start, Capitalised and sometimes ALL-CAPS
    words, contractions and possessives, commas, colons and sentence ends, quotes and parentheses
    around a few words, and between them the numbers, dates, prices, times, codes and addresses
    of ``TOKEN_FORMATS``; it may start mid-sentence and end with a hyphenated word, as a line cut
    from a paragraph does. Headings are Title Case or ALL CAPS, fields are ``Name: value`` pairs,
    short lines 1-4 tokens (``make_text``). ``random_share`` mixes in random strings as
    ``make_text`` does. A charset without letters gets ``make_text``'s lines.
    """
    check_text_limits(1, 1, max_chars)
    check_random_share(random_share)
    check_random_style(random_style)
    plan = text_plan(charset)
    if plan.digits_only or not plan.alphabet.words:
        return make_text(rng, charset, 1, 4, max_chars, random_share, random_style)
    kind = rng.choices(list(LINE_KINDS), weights=list(LINE_KINDS.values()))[0]
    if kind == "short" or max_chars < 12:
        return make_text(rng, charset, *SHORT_LINE_TOKENS, max_chars, random_share, random_style)
    target = rng.randint(max(1, round(MIN_FULL_LINE * max_chars)), max_chars)
    if kind == "heading":
        line = heading(rng, plan, min(target, 60))
    elif kind == "fields":
        line = fields(rng, plan, target)
    else:
        line = prose(rng, plan, target, random_share, random_style)
    line = " ".join(line.split())
    if line and len(line) <= max_chars and set(line) <= plan.alphabet.allowed:
        return line
    return make_text(rng, charset, *SHORT_LINE_TOKENS, max_chars, random_share, random_style)


def allowed_mark(rng: random.Random, plan: TextPlan, weights: dict[str, int]) -> str:
    """A mark of ``weights`` the charset has, drawn by weight ('' when it has none)."""
    marks = [mark for mark in weights if mark in plan.alphabet.allowed]
    return rng.choices(marks, weights=[weights[m] for m in marks])[0] if marks else ""


def prose_token(rng: random.Random, plan: TextPlan, random_share: float, random_style: str) -> str:
    """A token of running text: mostly a lower-case word, sometimes a Capitalised or ALL-CAPS
    one, a contraction or possessive, a random string or another format's token."""
    roll = rng.random()
    if random_share and rng.random() < random_share:
        return random_token(rng, plan, random_style)
    if roll < 0.62:
        return rng.choice(plan.alphabet.words.get("lower") or load_words())
    if roll < 0.68:
        return capitalised(rng.choice(load_words()))
    if roll < 0.70:
        return rng.choice(load_words()).upper()
    if roll < 0.74:
        return rng.choice(load_words()) + ("'s" if rng.random() < 0.8 else "'")
    return draw_token(rng, plan)


def prose(
    rng: random.Random, plan: TextPlan, target: int, random_share: float, random_style: str
) -> str:
    """Running text of about ``target`` characters (never more)."""
    tokens: list[str] = []
    length, sentence_start = -1, rng.random() < 0.6
    open_group = 0  # tokens left inside an open quote or parenthesis
    closing = ""
    for _ in range(target):  # a bound on draws; most lines stop far earlier
        token = prose_token(rng, plan, random_share, random_style)
        if not token:
            continue
        if sentence_start:
            token, sentence_start = capitalised(token), False
        if not open_group and rng.random() < 0.05:
            pair = rng.choice(QUOTE_PAIRS)
            token, closing, open_group = pair[0] + token, pair[1], rng.randint(1, 4)
        if open_group:
            open_group -= 1
            if not open_group:
                token += closing
        roll = 1.0 if not token[-1].isalnum() else rng.random()  # no mark after a mark
        if roll < 0.08:
            token += allowed_mark(rng, plan, SENTENCE_END)
            sentence_start = True
        elif roll < 0.18:
            token += allowed_mark(rng, plan, MID_PUNCTUATION)
        if length + 1 + len(token) > target:
            break
        tokens.append(token)
        length += 1 + len(token)
    if open_group and tokens:
        tokens[-1] += closing
    if tokens and length + 3 < target and rng.random() < 0.1:  # a word broken at the line's end
        word = rng.choice(load_words())
        tokens.append(word[: max(2, min(len(word) - 1, target - length - 2))] + "-")
    return " ".join(tokens)


def heading(rng: random.Random, plan: TextPlan, target: int) -> str:
    """A heading of about ``target`` characters: Title Case or ALL CAPS words, perhaps numbered
    (``4.2 Terms And Conditions``, ``CHAPTER 12: HARBOR``)."""
    case = rng.choice((capitalised, str.upper))
    words = []
    if rng.random() < 0.3:
        words.append(
            rng.choice((f"{rng.randint(1, 12)}.", f"{rng.randint(1, 9)}.{rng.randint(1, 9)}"))
        )
    if rng.random() < 0.2:
        words.append(case(rng.choice(("chapter", "section", "part", "appendix"))))
        words.append(f"{rng.randint(1, 30)}:")
    length = len(" ".join(words))
    for _ in range(12):
        word = case(rng.choice(load_words()))
        if length + 1 + len(word) > target:
            break
        words.append(word)
        length += 1 + len(word)
    return " ".join(words)


def fields(rng: random.Random, plan: TextPlan, target: int) -> str:
    """Form fields of about ``target`` characters: ``Invoice No.: 4821 Date: 03/05/1990``."""
    pairs, length = [], -1
    for _ in range(6):
        name = rng.choice(FIELD_NAMES)
        name = name.upper() if rng.random() < 0.25 else capitalised(name)
        value = (
            draw_token(rng, plan)
            if rng.random() < 0.7
            else capitalised(any_word(rng, plan.alphabet))
        )
        pair = f"{name}: {value}" if value else ""
        if pair and length + 1 + len(pair) <= target:
            pairs.append(pair)
            length += 1 + len(pair)
    return " ".join(pairs)


def random_token(rng: random.Random, plan: TextPlan, style: str = "uniform") -> str:
    """A string of RANDOM_TOKEN_LENGTH charset characters (no space), drawn in ``style``.

    TextRecognitionDataGenerator's "random sequences": letters next to digits and punctuation in
    no word's or number's order, so that a model learns to read each glyph rather than to expect
    the next one from the words and formats it was trained on. "uniform" draws each character
    from the whole charset; "runs" joins runs of letters and runs of digits (``run_token``).
    """
    length = rng.randint(*RANDOM_TOKEN_LENGTH)
    if style == "runs" and plan.run_kinds:
        return run_token(rng, plan, length)
    return "".join(rng.choices(plan.glyphs, k=length))


def run_token(rng: random.Random, plan: TextPlan, length: int) -> str:
    """``length`` characters of the charset as runs of RUN_LENGTH letters or digits: ``ab12.7kq``.

    Letter and digit runs take turns; between two runs a punctuation mark of the charset comes
    with RUN_MARK_PROBABILITY, and after one the next run's kind is drawn again (``12.13``,
    ``ab-cd`` as well as ``ab-12``). So a letter still stands beside a digit at each change of
    kind (``1920s``), but a digit is mostly read among digits and a letter among letters, as in
    real text, where the uniform style puts ``1`` and ``l`` anywhere. A charset of one kind
    only (letters without digits, say) gives runs of that kind.
    """
    kinds, marks = plan.run_kinds, plan.marks
    chars: list[str] = []
    kind = rng.randrange(len(kinds))
    while len(chars) < length:
        run = min(rng.randint(*RUN_LENGTH), length - len(chars))
        chars.extend(rng.choices(kinds[kind], k=run))
        kind = (kind + 1) % len(kinds)
        if marks and len(chars) < length - 1 and rng.random() < RUN_MARK_PROBABILITY:
            chars.append(rng.choice(marks))
            kind = rng.randrange(len(kinds))
    return "".join(chars)


def check_random_style(random_style: str) -> None:
    """Raise SynthError unless ``random_style`` is one of RANDOM_STYLES."""
    if random_style not in RANDOM_STYLES:
        raise SynthError(
            f"random-style must be one of {', '.join(RANDOM_STYLES)}, got {random_style!r}"
        )


def check_random_share(share: float, name: str = "random-share") -> None:
    """Raise SynthError unless 0 <= share <= 1 (``name``: the setting, for the message)."""
    if not 0.0 <= share <= 1.0:
        raise SynthError(f"{name} must be between 0 and 1, got {share}")


def check_text_style(text_style: str) -> None:
    """Raise SynthError unless ``text_style`` is one of TEXT_STYLES."""
    if text_style not in TEXT_STYLES:
        raise SynthError(f"text-style must be one of {', '.join(TEXT_STYLES)}, got {text_style!r}")


def shortened_token(rng: random.Random, plan: TextPlan, max_chars: int) -> str:
    """The start of a drawn token, for limits so tight that no whole token fits."""
    for _ in range(100):
        token = draw_token(rng, plan)[:max_chars].rstrip()
        if token:
            return token
    return next(char for char in plan.chars if char != " ")


# --------------------------------------------------------------------------- images


def render_line(text: str, font_path: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` as a printed line: a greyscale ("L") image 28 to 48 px high.

    Random font size, margins and grey levels, then mild degradations with random strengths:
    rotation within +-1.5 degrees, Gaussian blur, Gaussian noise and sometimes a JPEG round trip.
    """
    image, background = draw_text(text, font_path, rng)
    image = rotate_slightly(image, background, rng)
    image = fit_height(image)
    image = blur(image, rng)
    image = add_noise(image, rng)
    return jpeg_round_trip(image, rng)


def render_scanned_line(
    text: str, font_path: str, rng: random.Random, neighbours: tuple[str, str] = ("", "")
) -> Image.Image:
    """Draw ``text`` as a line cut from a scanned page: a greyscale ("L") image.

    The line is cut from a page where ``neighbours`` (the lines above and below; '' for none)
    stand at a random line pitch, with margins from a tight cut into the ascenders to a loose one
    that takes in the neighbours' descenders and ascenders; then ``tools.scan_look.scanned``
    gives it paper, skew and curl, stroke damage, low resolution, thresholds and speckle.
    """
    image = cut_from_page(text, font_path, rng, neighbours)
    image = fit_height(image)
    image = Image.fromarray(scan_look.scanned(np.asarray(image), rng))
    return jpeg_round_trip(image, rng)


def cut_from_page(
    text: str, font_path: str, rng: random.Random, neighbours: tuple[str, str]
) -> Image.Image:
    """``text`` between its neighbour lines on white paper, cut out with random margins."""
    height = rng.randint(MIN_HEIGHT, MAX_HEIGHT - 2)
    size = max(8, round(height / line_height_per_pixel_size(font_path)))
    font = load_font(font_path, size)
    ascent, descent = font.getmetrics()
    pitch = round((ascent + descent) * rng.uniform(1.0, 1.3))
    x0, _, x1, _ = font.getbbox(text)
    above, below = neighbours
    width = max([x1, *(font.getbbox(line)[2] for line in neighbours if line)]) + 16
    page = Image.new("L", (width, 3 * pitch), 255)
    draw = ImageDraw.Draw(page)
    for line, top in ((above, 0), (text, pitch), (below, 2 * pitch)):
        if line:
            draw.text((8, top), line, font=font, fill=0)
    top = pitch - rng.randint(-1, max(1, pitch - ascent - descent + 4))
    bottom = pitch + ascent + descent + rng.randint(-1, max(1, pitch - ascent - descent + 4))
    left, right = 8 + x0 - rng.randint(0, 8), 8 + x1 + rng.randint(0, 8)
    return page.crop((max(0, left), max(0, top), min(width, right), min(3 * pitch, bottom)))


def draw_text(text: str, font_path: str, rng: random.Random) -> tuple[Image.Image, int]:
    """Dark text on a light background with a few pixels of margin; returns (image, bg grey)."""
    height = rng.randint(MIN_HEIGHT, MAX_HEIGHT - 2)
    top, bottom = rng.randint(1, 4), rng.randint(1, 4)
    left, right = rng.randint(1, 8), rng.randint(1, 8)
    size = max(8, round((height - top - bottom) / line_height_per_pixel_size(font_path)))
    font = load_font(font_path, size)
    ascent, descent = font.getmetrics()
    x0, y0, x1, y1 = font.getbbox(text)
    ink_top, ink_bottom = min(0, y0), max(ascent + descent, y1)
    background = rng.randint(165, 255)
    ink = rng.randint(0, min(90, background - 110))
    size_px = (x1 - x0 + left + right, ink_bottom - ink_top + top + bottom)
    image = Image.new("L", size_px, background)
    ImageDraw.Draw(image).text((left - x0, top - ink_top), text, font=font, fill=ink)
    return image, background


def rotate_slightly(image: Image.Image, background: int, rng: random.Random) -> Image.Image:
    """Rotate by a small random angle, kept small enough that the line stays <= MAX_HEIGHT."""
    width, height = image.size
    room = max(0.0, min(1.0, (MAX_HEIGHT - 2 - height) / width))
    limit = min(MAX_ROTATION_DEGREES, math.degrees(math.asin(room)))
    angle = rng.uniform(-limit, limit)
    if abs(angle) < 0.05:
        return image
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=background)


def fit_height(image: Image.Image) -> Image.Image:
    """Scale the image, keeping its aspect, into MIN_HEIGHT..MAX_HEIGHT when it is outside."""
    width, height = image.size
    target = min(max(height, MIN_HEIGHT), MAX_HEIGHT)
    if target == height:
        return image
    return image.resize((max(1, round(width * target / height)), target), Image.Resampling.BILINEAR)


def blur(image: Image.Image, rng: random.Random) -> Image.Image:
    """Gaussian blur with a random radius up to MAX_BLUR_RADIUS (none below 0.2)."""
    radius = rng.uniform(0.0, MAX_BLUR_RADIUS)
    return image.filter(ImageFilter.GaussianBlur(radius)) if radius >= 0.2 else image


def add_noise(image: Image.Image, rng: random.Random) -> Image.Image:
    """Additive Gaussian noise with a random sigma up to MAX_NOISE_SIGMA grey levels."""
    sigma = rng.uniform(0.0, MAX_NOISE_SIGMA)
    noise_seed = rng.getrandbits(64)
    if sigma < 0.5:
        return image
    noise = np.random.default_rng(noise_seed).standard_normal(
        (image.height, image.width), dtype=np.float32
    )
    pixels = np.asarray(image, dtype=np.float32) + noise * np.float32(sigma)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def jpeg_round_trip(image: Image.Image, rng: random.Random) -> Image.Image:
    """With probability JPEG_PROBABILITY, encode as JPEG (random quality) and decode again."""
    roll, quality = rng.random(), rng.randint(*JPEG_QUALITY)
    if roll >= JPEG_PROBABILITY:
        return image
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("L")


# --------------------------------------------------------------------------- data sets


def line_rng(seed: int, index: int) -> random.Random:
    """The random stream of line ``index``: a function of (seed, index) only."""
    return random.Random(f"{seed}:{index}")


def make_line(
    seed: int,
    index: int,
    fonts: Sequence[str],
    charset: str = DEFAULT_CHARSET,
    min_tokens: int = 1,
    max_tokens: int = 4,
    max_chars: int = 100,
    random_share: float = 0.0,
    random_style: str = "uniform",
    text_style: str = "print",
    scan_share: float = 0.0,
) -> tuple[str, Image.Image]:
    """Line ``index`` of the data set ``seed``: its label and image (``fonts`` in fixed order).

    ``text_style`` "print" composes the text as printed pages do (``make_print_text``; the token
    limits are not used), "tokens" joins ``min_tokens`` to ``max_tokens`` tokens (``make_text``).
    ``scan_share`` of the lines are drawn as cut from a scanned page (``render_scanned_line``,
    half of them between neighbour lines); 0 draws nothing extra, so lines stay the same.
    """
    rng = line_rng(seed, index)
    if text_style == "print":
        text = make_print_text(rng, charset, max_chars, random_share, random_style)
    else:
        text = make_text(
            rng, charset, min_tokens, max_tokens, max_chars, random_share, random_style
        )
    font = pick_font(rng, text, fonts)
    if scan_share and rng.random() < scan_share:
        neighbours = ("", "")
        if rng.random() < 0.5:  # drawn with the line's font: only lines it has glyphs for
            drawn = [make_print_text(rng, charset, max_chars) for _ in range(2)]
            covered = glyph_coverage(font)
            above, below = (line if set(line) - {" "} <= covered else "" for line in drawn)
            neighbours = (above, below)
        return text, render_scanned_line(text, font, rng, neighbours)
    return text, render_line(text, font, rng)


def generate(
    out_dir: str | os.PathLike[str],
    count: int,
    seed: int,
    fonts: Sequence[str] | None = None,
    charset: str = DEFAULT_CHARSET,
    min_tokens: int = 1,
    max_tokens: int = 4,
    max_chars: int = 100,
    random_share: float = 0.0,
    random_style: str = "uniform",
    text_style: str = "print",
    scan_share: float = 0.0,
    progress: bool = False,
) -> dict:
    """Write ``count`` lines to ``out_dir``: images/NNNNNN.png, labels.csv, generation.json.

    Deterministic: the same arguments give byte-identical images and labels.csv. Images are
    written first and labels.csv last (atomically), so a labels.csv never lists missing images.
    Returns a summary: count, seconds, lines_per_second and the output paths.
    Raises SynthError (a ValueError) for bad arguments before writing anything.
    """
    started = time.perf_counter()
    if count < 1:
        raise SynthError(f"count must be at least 1, got {count}")
    check_text_limits(min_tokens, max_tokens, max_chars)
    check_random_share(random_share)
    check_random_style(random_style)
    check_text_style(text_style)
    check_random_share(scan_share, "scan-share")
    font_paths = resolve_fonts(fonts)
    plan = text_plan(charset)
    # A font without every charset glyph draws only the lines it can (pick_font): say which.
    lacking = missing_glyphs(font_paths, plan.chars)
    out = Path(out_dir)
    images_dir = prepare_output_dir(out)
    labels_path, metadata_path = out / "labels.csv", out / "generation.json"
    labels_path.unlink(missing_ok=True)  # a stale index must never describe the new images
    digits = max(6, len(str(count - 1)))
    rows = []
    lines = tqdm(
        range(count), desc="synthetic lines", unit="line", mininterval=20, disable=not progress
    )
    for index in lines:
        text, image = make_line(
            seed,
            index,
            font_paths,
            charset,
            min_tokens,
            max_tokens,
            max_chars,
            random_share,
            random_style,
            text_style,
            scan_share,
        )
        name = f"{index:0{digits}d}.png"
        image.save(images_dir / name, format="PNG")
        rows.append(f"images/{name};{text}\n")
    settings = generation_settings(count, seed, font_paths, charset, plan.chars)
    settings.update(min_tokens=min_tokens, max_tokens=max_tokens, max_chars=max_chars)
    settings.update(random_share=random_share, random_style=random_style)
    settings.update(text_style=text_style, scan_share=scan_share)
    settings["fonts_missing_glyphs"] = {Path(font).name: chars for font, chars in lacking.items()}
    write_atomically(metadata_path, json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
    write_atomically(labels_path, "".join(rows))
    seconds = time.perf_counter() - started
    return {
        "count": count,
        "seconds": seconds,
        "lines_per_second": count / seconds if seconds > 0 else float("inf"),
        "out_dir": str(out),
        "images_dir": str(images_dir),
        "labels_csv": str(labels_path),
        "generation_json": str(metadata_path),
        "fonts_missing_glyphs": settings["fonts_missing_glyphs"],
    }


def prepare_output_dir(out: Path) -> Path:
    """Create ``out/images`` and return it; SynthError when ``out`` is a file or not creatable."""
    if out.exists() and not out.is_dir():
        raise SynthError(f"--out {out} exists and is not a directory; pick a directory path")
    images_dir = out / "images"
    try:
        images_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SynthError(f"cannot create {images_dir}: {error.strerror or error}") from None
    return images_dir


def generation_settings(
    count: int, seed: int, fonts: Sequence[str], charset: str, chars: str
) -> dict:
    """What generation.json records: enough to make the same data set again."""
    return {
        "generator": "tools.synth_lines",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "count": count,
        "fonts": [Path(font).name for font in fonts],
        "charset_name": charset if charset in CHARSETS else "literal",
        "charset": chars,
        "label_format": "path;label (path relative to labels.csv; split on the first ';')",
        "pillow": PIL.__version__,
        "freetype": features.version("freetype2"),
        "numpy": np.__version__,
    }


def write_atomically(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` with \\n line ends to a temporary name, then rename it to ``path``."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(temporary, path)


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``python -m tools.synth_lines``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth_lines",
        description=(
            "Generate synthetic printed text-line images with labels for CRNN training:\n"
            "running text, headings and form fields with numbers, dates, prices, times,\n"
            "codes and addresses, rendered with real fonts, then mildly rotated, blurred,\n"
            "noised and sometimes JPEG-compressed; a share of them (--scan-share) cut from\n"
            "a scanned-looking page instead."
        ),
        epilog=(
            "output:\n"
            "  OUT/images/000000.png ...  greyscale PNG lines, 28-48 px high\n"
            "  OUT/labels.csv             tf.crnn format, one row per line, no header, UTF-8:\n"
            "                             images/000000.png;label  (split on the first ';')\n"
            "  OUT/generation.json        seed, count, fonts, charset and generator version\n"
            "Each line is drawn with a font that has glyphs for all its characters; a font\n"
            "lacking some charset glyphs draws only the lines it can (listed in\n"
            "generation.json as fonts_missing_glyphs).\n"
            "The same arguments always give byte-identical images and labels."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--count", type=int, required=True, help="number of lines to write")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--fonts",
        nargs="+",
        action="extend",
        metavar="PATH",
        help=(
            "font files (.ttf/.otf/.ttc) or directories searched recursively for them "
            f"(default: the core DejaVu fonts in {DEFAULT_FONT_DIR})"
        ),
    )
    parser.add_argument(
        "--charset",
        default=DEFAULT_CHARSET,
        metavar="NAME_OR_CHARS",
        help=(
            f"allowed label characters: a preset ({', '.join(CHARSETS)}) or a literal string "
            "listing each allowed character once; space is added unless it is digits only, "
            "and a digits-only charset makes digit strings (default: full)"
        ),
    )
    parser.add_argument(
        "--text-style",
        choices=TEXT_STYLES,
        default="print",
        help=(
            "print: lines as printed pages have them (running text in sentence case, headings, "
            "form fields, short labels; up to --max-chars); tokens: --min-tokens to --max-tokens "
            "words, numbers, dates and codes joined by spaces (default: print)"
        ),
    )
    parser.add_argument(
        "--min-tokens", type=int, default=1, help="tokens style: fewest tokens (default: 1)"
    )
    parser.add_argument(
        "--max-tokens", type=int, default=4, help="tokens style: most tokens (default: 4)"
    )
    parser.add_argument(
        "--max-chars", type=int, default=100, help="longest label in characters (default: 100)"
    )
    parser.add_argument(
        "--scan-share",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help=(
            "share of lines cut from a scanned-looking page: neighbour lines' ink or a tight cut, "
            "grey paper, show-through, skew and curl, broken or thick strokes, low resolution, "
            "thresholds, speckle (tools.scan_look; default: 0, none)"
        ),
    )
    parser.add_argument(
        "--random-share",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help=(
            "share of tokens that are random strings of 2-8 charset characters, letters beside "
            "digits and punctuation in no word's order (default: 0, none)"
        ),
    )
    parser.add_argument(
        "--random-style",
        choices=RANDOM_STYLES,
        default="uniform",
        help=(
            "how the random strings are drawn: uniform (each character from the whole charset) "
            "or runs (runs of 1-4 letters and of 1-4 digits, sometimes a punctuation mark "
            "between: ab12.7kq) (default: uniform)"
        ),
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for bad arguments, 1 for I/O failures)."""
    args = build_parser().parse_args(argv)
    try:
        summary = generate(
            args.out,
            args.count,
            args.seed,
            fonts=args.fonts,
            charset=args.charset,
            min_tokens=args.min_tokens,
            max_tokens=args.max_tokens,
            max_chars=args.max_chars,
            random_share=args.random_share,
            random_style=args.random_style,
            text_style=args.text_style,
            scan_share=args.scan_share,
            progress=True,
        )
    except SynthError as error:
        print(f"synth_lines: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"synth_lines: error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {summary['count']} lines to {summary['out_dir']} in {summary['seconds']:.1f} s "
        f"({summary['lines_per_second']:.0f} lines/s)"
    )
    for font, chars in summary["fonts_missing_glyphs"].items():
        print(f"note: {font} has no glyph for {chars!r}; lines with them use other fonts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
