"""A held-out set of printed lines: fonts and texts that the training generator never uses.

A model trained on ``tools.synth_lines`` data has seen the core DejaVu fonts and the words of
``tools/data/words.txt``; scoring it on more of the same would measure memory, not reading. This
set keeps the rendering (``tools.synth_lines.render_line``: the same line heights, margins,
rotation, blur, noise and JPEG) and changes what is drawn:

- **fonts** from three Debian packages the training never uses (``HELDOUT_FONTS``): URW's
  PostScript clones (Nimbus Sans/Roman/Mono, Century Schoolbook, Palatino, Bookman, Gothic),
  Liberation 2 (Arial/Times/Courier metrics) and Noto Sans/Serif, italics included. DejaVu is
  never used. ``python -m benchmarks.bench_setup`` installs the packages.
- **texts** from ``benchmarks/data/heldout_words.txt`` (no word of it is in the training list)
  and token kinds the training generator does not make: hyphenated compounds, abbreviations,
  version numbers, measurements with units, ranges, decades, comma decimals, serial and hex
  codes (``TOKEN_KINDS``). The training generator's random strings (``random_share``, which
  the standard profile uses) put letters beside digits and hyphens, but in none of these forms:
  a decade, a measurement or a serial turns up among them only by chance.

Lines read as printed text (``heldout_text``: sentence starts capitalised, words in lower, Title
and UPPER case, commas, sentence ends, quotes and parentheses) and run from one token to 100
characters. Every label only uses characters of ``--charset`` (a ``tools.synth_lines`` preset or
literal characters; default ``full``: letters of both cases, digits, space and
``.,:;!?'"-/()&%$#+*=@``). Line ``i`` depends only on (seed, i): the same arguments give
byte-identical files.

    python -m benchmarks.heldout --out outputs/bench/heldout --count 5000 [--seed 2024]

Output: ``OUT/images/000000.png ...``, ``OUT/labels.csv`` (tf.crnn's ``path;label``, written
last), ``OUT/fonts.txt`` (each line's font file, for per-font figures) and ``OUT/heldout.json``
(the settings; a later call with the same settings reuses the set).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tqdm import tqdm

from tools import synth_lines

HELDOUT_VERSION = "2"
DEFAULT_SEED = 2024
DEFAULT_CHARSET = "full"
DEFAULT_MAX_CHARS = 100
WORDS_PATH = Path(__file__).resolve().parent / "data" / "heldout_words.txt"
FONTS_FILE = "fonts.txt"

# Debian package -> (directory, font files). Upright and italic, regular and bold; symbol and
# script faces (Standard Symbols, Dingbats, Z003) are left out: they are not text fonts.
HELDOUT_FONTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "fonts-urw-base35": (
        "/usr/share/fonts/opentype/urw-base35",
        (
            "NimbusSans-Regular.otf",
            "NimbusSans-Bold.otf",
            "NimbusSans-Italic.otf",
            "NimbusSansNarrow-Regular.otf",
            "NimbusRoman-Regular.otf",
            "NimbusRoman-Bold.otf",
            "NimbusRoman-Italic.otf",
            "NimbusMonoPS-Regular.otf",
            "NimbusMonoPS-Bold.otf",
            "C059-Roman.otf",
            "C059-Bold.otf",
            "P052-Roman.otf",
            "P052-Bold.otf",
            "URWBookman-Light.otf",
            "URWBookman-Demi.otf",
            "URWGothic-Book.otf",
            "URWGothic-Demi.otf",
        ),
    ),
    "fonts-liberation2": (
        "/usr/share/fonts/truetype/liberation2",
        (
            "LiberationSans-Regular.ttf",
            "LiberationSans-Bold.ttf",
            "LiberationSans-Italic.ttf",
            "LiberationSerif-Regular.ttf",
            "LiberationSerif-Bold.ttf",
            "LiberationMono-Regular.ttf",
            "LiberationMono-Bold.ttf",
        ),
    ),
    "fonts-noto-core": (
        "/usr/share/fonts/truetype/noto",
        (
            "NotoSans-Regular.ttf",
            "NotoSans-Bold.ttf",
            "NotoSans-Italic.ttf",
            "NotoSerif-Regular.ttf",
            "NotoSerif-Bold.ttf",
            "NotoSerif-Italic.ttf",
        ),
    ),
}

ABBREVIATIONS = (
    "approx.", "dept.", "etc.", "vs.", "fig.", "vol.", "est.", "avg.", "ref.", "incl.", "excl.",
    "govt.", "univ.", "assoc.", "corp.", "bros.", "jr.", "sr.", "misc.", "cont.", "ibid.", "sq.",
    "ft.", "pp.", "nr.", "tel.", "apt.", "blvd.", "hwy.",
)  # fmt: skip
UNITS = (
    "kg", "mg", "mm", "cm", "km", "ml", "kwh", "mph", "hz", "khz", "mhz", "ghz", "kb", "mb", "gb",
    "px", "dpi", "lb", "oz",
)  # fmt: skip
SERIAL_CHARS = "abcdefghjkmnpqrstuvwxyz0123456789"


class HeldoutError(ValueError):
    """A held-out set cannot be made as asked (fonts missing, charset unusable)."""


def missing_font_packages() -> list[str]:
    """The Debian packages of ``HELDOUT_FONTS`` whose files are not all on this machine."""
    return [
        package
        for package, (directory, names) in HELDOUT_FONTS.items()
        if not all((Path(directory) / name).is_file() for name in names)
    ]


def heldout_fonts() -> list[str]:
    """Every held-out font file, in a fixed order; HeldoutError naming the packages to install."""
    missing = missing_font_packages()
    if missing:
        raise HeldoutError(
            f"held-out fonts missing: install {' '.join(missing)} "
            "(python -m benchmarks.bench_setup, or apt-get install them)"
        )
    return [str(Path(d) / name) for d, names in HELDOUT_FONTS.values() for name in names]


@functools.lru_cache(maxsize=1)
def heldout_words() -> tuple[str, ...]:
    """The held-out word list (lower case; none of them is in tools/data/words.txt)."""
    return tuple(WORDS_PATH.read_text(encoding="utf-8").split())


# --------------------------------------------------------------------------- token kinds


def word(rng: random.Random) -> str:
    """A held-out word: zephyr."""
    return rng.choice(heldout_words())


def compound(rng: random.Random) -> str:
    """Two held-out words joined by a hyphen: walnut-kiosk."""
    return f"{word(rng)}-{word(rng)}"


def abbreviation(rng: random.Random) -> str:
    """An abbreviation with its dot: approx."""
    return rng.choice(ABBREVIATIONS)


def version(rng: random.Random) -> str:
    """A version number: v2.14.3, 3.10."""
    parts = [str(rng.randrange(20)) for _ in range(rng.randint(2, 3))]
    return ("v" if rng.random() < 0.5 else "") + ".".join(parts)


def measurement(rng: random.Random) -> str:
    """A quantity with a unit, joined or spaced: 25kg, 3.5 mm."""
    number = str(rng.randrange(1, 1000))
    if rng.random() < 0.3:
        number += f".{rng.randrange(10)}"
    return f"{number}{rng.choice(('', ' '))}{rng.choice(UNITS)}"


def number_range(rng: random.Random) -> str:
    """A range of numbers or years: 12-15, 1990-1995."""
    if rng.random() < 0.5:
        start = rng.randrange(1900, 2030)
        return f"{start}-{start + rng.randint(1, 12)}"
    start = rng.randrange(1, 200)
    return f"{start}-{start + rng.randint(1, 50)}"


def decade(rng: random.Random) -> str:
    """A decade: 1980s, 90s."""
    year = rng.randrange(1900, 2030, 10)
    return f"{year}s" if rng.random() < 0.6 else f"{year % 100:02d}s"


def comma_decimal(rng: random.Random) -> str:
    """A decimal number with a comma: 12,75."""
    return f"{rng.randrange(1000)},{rng.randrange(100):02d}"


def serial(rng: random.Random) -> str:
    """A mixed letter-digit code: k9x-42b7, a7f3c2."""
    first = "".join(rng.choices(SERIAL_CHARS, k=rng.randint(3, 4)))
    second = "".join(rng.choices(SERIAL_CHARS, k=rng.randint(2, 4)))
    return f"{first}-{second}" if rng.random() < 0.6 else first + second


def hex_code(rng: random.Random) -> str:
    """A hexadecimal number: 0x1f3a."""
    return f"0x{rng.randrange(16**4):04x}"


@dataclass(frozen=True)
class TokenKind:
    name: str
    weight: float
    draw: Callable[[random.Random], str]


def possessive(rng: random.Random) -> str:
    """A held-out word's possessive: walnut's."""
    return word(rng) + "'s"


HELDOUT_CONTRACTIONS = (
    "wouldn't", "haven't", "hasn't", "he'd", "she'll", "they'd", "we've", "you'll", "mustn't",
    "weren't", "it'll", "who's", "here's", "how's",
)  # fmt: skip


def contraction(rng: random.Random) -> str:
    """A contraction the training texts never use: wouldn't, she'll."""
    return rng.choice(HELDOUT_CONTRACTIONS)


def slashed_iso_date(rng: random.Random) -> str:
    """A year-first date with slashes or a day-month-year with a month name: 2024/03/15,
    15-Mar-2024."""
    year, month, day = rng.randint(1900, 2040), rng.randint(1, 12), rng.randint(1, 28)
    if rng.random() < 0.5:
        return f"{year}/{month:02d}/{day:02d}"
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{day}-{months[month - 1]}-{year}"


def dotted_phone(rng: random.Random) -> str:
    """A phone number with dots: 555.123.4567."""
    return f"{rng.randrange(200, 1000)}.{rng.randrange(100, 1000)}.{rng.randrange(10000):04d}"


def held_out_address(rng: random.Random) -> str:
    """An e-mail or web address on domains the training texts never use: zephyr@walnut.info,
    ftp://kiosk.biz/files."""
    domain = f"{word(rng)}.{rng.choice(('info', 'biz', 'ca', 'fr', 'int'))}"
    if rng.random() < 0.5:
        return f"{word(rng)}.{word(rng)}@{domain}"
    return f"ftp://{domain}/{word(rng)}"


def suffixed_amount(rng: random.Random) -> str:
    """An amount with a trailing sign or a comma decimal: 12.50$, 1.234,56, 3,5 %."""
    whole = rng.randrange(1, 100_000)
    forms = (
        f"{whole % 1000}.{rng.randrange(100):02d}$",
        f"{whole:,}".replace(",", ".") + f",{rng.randrange(100):02d}",
        f"{whole % 100},{rng.randrange(10)} %",
    )
    return rng.choice(forms)


TOKEN_KINDS = (
    TokenKind("word", 45, word),
    TokenKind("compound", 5, compound),
    TokenKind("abbreviation", 4, abbreviation),
    TokenKind("version", 3, version),
    TokenKind("measurement", 5, measurement),
    TokenKind("range", 3, number_range),
    TokenKind("decade", 2, decade),
    TokenKind("comma_decimal", 2, comma_decimal),
    TokenKind("serial", 3, serial),
    TokenKind("hex_code", 1, hex_code),
    TokenKind("possessive", 2, possessive),
    TokenKind("contraction", 2, contraction),
    TokenKind("slashed_iso_date", 1.5, slashed_iso_date),
    TokenKind("dotted_phone", 1, dotted_phone),
    TokenKind("address", 1, held_out_address),
    TokenKind("suffixed_amount", 1.5, suffixed_amount),
)

CASES = (str.lower, str.title, str.upper)
CASED_KINDS = {"word", "compound", "abbreviation", "possessive", "contraction"}
CODE_KINDS = {"serial", "version"}  # in upper case half the time: R5G3-X3D, V2.1
CASE_WEIGHTS = (70, 22, 8)
DRAWS_PER_TOKEN = 8
SENTENCE_MARKS = ".?!"
INNER_MARKS = ",,,,;:"
ENCLOSING = ('""', "()", "''")


def in_case(rng: random.Random, token: str, allowed: frozenset[str]) -> str:
    """``token`` lower-cased, Title-cased or upper-cased, among the variants the charset allows."""
    variants = [case(token) for case in CASES]
    if "'" in token:  # str.title would make wouldn't Wouldn'T
        variants[1] = token[:1].upper() + token[1:]
    fitting = [(v, w) for v, w in zip(variants, CASE_WEIGHTS, strict=True) if set(v) <= allowed]
    if not fitting:
        return token
    return rng.choices([v for v, _ in fitting], weights=[w for _, w in fitting])[0]


def punctuated(rng: random.Random, token: str, allowed: frozenset[str]) -> tuple[str, bool]:
    """``token`` perhaps with a mark after it (a sentence end, a comma...) or inside quotes or
    parentheses; and whether it ended a sentence. Marks the charset lacks are left out."""
    roll = rng.random()
    if roll < 0.06:
        mark = rng.choice(SENTENCE_MARKS)
        return (token + mark, True) if mark in allowed else (token, False)
    if roll < 0.16:
        mark = rng.choice(INNER_MARKS)
        return (token + mark if mark in allowed else token), False
    if roll < 0.19:
        pair = rng.choice(ENCLOSING)
        return (pair[0] + token + pair[1] if set(pair) <= allowed else token), False
    return token, False


def heldout_text(
    rng: random.Random, charset: str = DEFAULT_CHARSET, max_tokens: int = 16, max_chars: int = 100
) -> str:
    """One line: 1 to ``max_tokens`` tokens joined by spaces, at most ``max_chars`` long, every
    character in ``charset``; a digits-only charset gives digit strings.

    With letters, capitals and punctuation in the charset, lines read as printed text: a capital
    at a sentence's start, words in lower, Title or UPPER case, commas, sentence ends, quotes and
    parentheses (``punctuated``). The number of tokens is drawn first, so lines run from one
    token to ``max_chars``."""
    chars = synth_lines.resolve_charset(charset)
    allowed = frozenset(chars)
    if synth_lines.is_digits_only(chars):
        return "".join(rng.choices(sorted(allowed), k=rng.randint(1, max_chars)))
    wanted, tokens, length = rng.randint(1, max_tokens), [], -1
    weights = [kind.weight for kind in TOKEN_KINDS]
    sentence_start = rng.random() < 0.5
    for _ in range(wanted * DRAWS_PER_TOKEN):
        kind = rng.choices(TOKEN_KINDS, weights=weights)[0]
        token = kind.draw(rng)
        if kind.name in CASED_KINDS:
            token = in_case(rng, token, allowed)
        elif kind.name in CODE_KINDS and rng.random() < 0.5 and set(token.upper()) <= allowed:
            token = token.upper()
        if sentence_start and token[:1].islower() and token[:1].upper() in allowed:
            token = token[:1].upper() + token[1:]
        token, ends_sentence = punctuated(rng, token, allowed)
        if set(token) <= allowed and length + 1 + len(token) <= max_chars:
            tokens.append(token)
            length += 1 + len(token)
            sentence_start = ends_sentence
            if len(tokens) == wanted:
                break
    if tokens:
        return " ".join(tokens)
    for _ in range(1000):  # a tight max_chars: a fitting prefix of a word
        token = in_case(rng, word(rng), allowed)[:max_chars].strip()
        if token and set(token) <= allowed:
            return token
    raise HeldoutError(f"charset {charset!r} cannot spell any held-out token")


# --------------------------------------------------------------------------- the set


def settings(count: int, seed: int, charset: str, max_chars: int, fonts: Sequence[str]) -> dict:
    """What heldout.json records: enough to tell whether an existing set is this one."""
    return {
        "generator": "benchmarks.heldout",
        "version": HELDOUT_VERSION,
        "count": count,
        "seed": seed,
        "charset": synth_lines.resolve_charset(charset),
        "max_chars": max_chars,
        "fonts": [Path(font).name for font in fonts],
        "words_sha256": hashlib.sha256(WORDS_PATH.read_bytes()).hexdigest()[:16],
        "renderer": f"tools.synth_lines.render_line {synth_lines.GENERATOR_VERSION}",
    }


def make_line(
    seed: int, index: int, fonts: Sequence[str], charset: str, max_chars: int
) -> tuple[str, str, object]:
    """Line ``index`` of set ``seed``: (label, font path, PIL image)."""
    rng = random.Random(f"heldout:{seed}:{index}")
    text = heldout_text(rng, charset, max_chars=max_chars)
    font = fonts[rng.randrange(len(fonts))]
    return text, font, synth_lines.render_line(text, font, rng)


def generate(
    out_dir: str | Path,
    count: int,
    seed: int = DEFAULT_SEED,
    charset: str = DEFAULT_CHARSET,
    max_chars: int = DEFAULT_MAX_CHARS,
    fonts: Sequence[str] | None = None,
) -> Path:
    """Write the set to ``out_dir`` (reused when heldout.json already records the same settings);
    returns the labels.csv path."""
    if count < 1:
        raise HeldoutError(f"count must be at least 1, got {count}")
    fonts = list(fonts) if fonts is not None else heldout_fonts()
    out = Path(out_dir)
    wanted = settings(count, seed, charset, max_chars, fonts)
    labels = out / "labels.csv"
    if is_made(out, wanted):
        return labels
    images = synth_lines.prepare_output_dir(out)
    labels.unlink(missing_ok=True)
    rows, used = [], []
    for index in tqdm(range(count), desc="held-out lines", unit="line", mininterval=20):
        text, font, image = make_line(seed, index, fonts, charset, max_chars)
        name = f"{index:06d}.png"
        image.save(images / name, format="PNG")
        rows.append(f"images/{name};{text}\n")
        used.append(f"{Path(font).name}\n")
    return write_set(out, rows, used, wanted)


def is_made(out: Path, settings: dict) -> bool:
    """Whether ``out`` holds a complete set made with ``settings`` (heldout.json records them)."""
    metadata = out / "heldout.json"
    return (
        (out / "labels.csv").is_file()
        and metadata.is_file()
        and json.loads(metadata.read_text()) == settings
    )


def write_set(out: Path, rows: list[str], fonts: list[str], settings: dict) -> Path:
    """Write a held-out set's fonts.txt, heldout.json and, last, labels.csv (``rows``, one
    ``path;label`` line each); returns the labels.csv path."""
    synth_lines.write_atomically(out / FONTS_FILE, "".join(fonts))
    synth_lines.write_atomically(out / "heldout.json", json.dumps(settings, indent=2) + "\n")
    labels = out / "labels.csv"
    synth_lines.write_atomically(labels, "".join(rows))
    return labels


def read_labels(labels_csv: str | Path) -> list[tuple[Path, str]]:
    """(image path, label) rows of a tf.crnn CSV written by ``generate``."""
    csv = Path(labels_csv)
    rows = []
    for line in csv.read_text(encoding="utf-8").splitlines():
        if line:
            path, _, label = line.partition(";")
            rows.append((csv.parent / path, label))
    return rows


def read_fonts(labels_csv: str | Path) -> list[str]:
    """The font file name of each line of a set written by ``generate``, in row order."""
    return (Path(labels_csv).parent / FONTS_FILE).read_text(encoding="utf-8").split()


def font_package(font_name: str) -> str:
    """The Debian package a held-out font file comes from."""
    return next(pkg for pkg, (_, names) in HELDOUT_FONTS.items() if font_name in names)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--count", type=int, default=5000, help="lines (default 5000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--charset",
        default=DEFAULT_CHARSET,
        help=f"label characters: a tools.synth_lines preset ({', '.join(synth_lines.CHARSETS)}) or "
        "literal characters; only use characters the compared models can produce "
        "(default: full: letters of both cases, digits, space and the common punctuation)",
    )
    parser.add_argument(
        "--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="longest label (default 100)"
    )
    args = parser.parse_args(argv)
    try:
        labels = generate(args.out, args.count, args.seed, args.charset, args.max_chars)
    except (HeldoutError, synth_lines.SynthError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"held-out set: {labels} ({args.count} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
