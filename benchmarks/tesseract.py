"""Tesseract 5 on the held-out lines: the peer every accuracy and speed figure is compared with.

Tesseract runs as Debian ships it (``tesseract-ocr`` + ``tesseract-ocr-eng``): the LSTM engine
(``--oem 1``), one text line per image (``--psm 7``), English model, through its command line
(no Python binding). One process reads a list of images, each image a page of its own, so the
model is loaded once per run, as a service would keep it loaded; pages are split on the form
feed Tesseract writes between them.

Two configurations:

- ``whitelist``: ``tessedit_char_whitelist`` set to the held-out charset, so that Tesseract, like
  our model, only chooses among characters the set can contain;
- ``plain``: no whitelist, as a user runs it (it may write typographic quotes and dashes, which
  count as errors against the straight ones printed).

Scoring is the same for every system and counts every character as written, case and
punctuation included: only whitespace runs are collapsed and ends stripped (``normalise``).
Scores are ``trainer_module.metrics.score``: CER = edits / reference characters over the set,
line accuracy = exact lines.

Speed: ``OMP_THREAD_LIMIT`` pins Tesseract's threads (1 for per-core figures); the caller pins
the process to cores (children inherit it).

    python -m benchmarks.tesseract --heldout outputs/bench/heldout [--count 5000]

prints CER, line accuracy and lines/s of both configurations.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TESSERACT_ARGS = ("--oem", "1", "--psm", "7", "-l", "eng")
CONFIGURATIONS = ("whitelist", "plain")


class TesseractError(RuntimeError):
    """Tesseract is missing or failed."""


def tesseract_binary() -> str:
    binary = shutil.which("tesseract")
    if binary is None:
        raise TesseractError(
            "tesseract not found: python -m benchmarks.bench_setup (apt-get install "
            "tesseract-ocr tesseract-ocr-eng)"
        )
    return binary


def tesseract_version() -> str:
    """``tesseract 5.3.0`` (the first line of ``tesseract --version``)."""
    result = subprocess.run(
        [tesseract_binary(), "--version"], capture_output=True, text=True, check=True
    )
    return (result.stdout or result.stderr).splitlines()[0].strip()


def normalise(text: str, charset: str = "") -> str:
    """What is compared: ``text`` with whitespace runs collapsed to one space and the ends
    stripped; case and punctuation as written, whatever ``charset`` (kept for callers)."""
    return " ".join(text.split())


def command(list_file: str, whitelist: str | None) -> list[str]:
    """The tesseract command line reading every image of ``list_file`` to stdout."""
    extra = ["-c", f"tessedit_char_whitelist={whitelist}"] if whitelist else []
    return [tesseract_binary(), list_file, "stdout", *TESSERACT_ARGS, *extra]


def read_lines(
    images: Sequence[str | Path], whitelist: str | None = None, threads: int = 1
) -> tuple[list[str], float]:
    """Tesseract's text for each image (raw, one string per image) and the seconds it took,
    model loading included; one process for all images."""
    if not images:
        return [], 0.0
    with tempfile.TemporaryDirectory(prefix="tesseract_") as tmp:
        list_file = Path(tmp) / "images.txt"
        list_file.write_text("".join(f"{Path(image).resolve()}\n" for image in images))
        env = {**os.environ, "OMP_THREAD_LIMIT": str(threads)}
        started = time.perf_counter()
        result = subprocess.run(
            command(str(list_file), whitelist), capture_output=True, env=env, check=False
        )
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise TesseractError(
            f"tesseract failed ({result.returncode}): {result.stderr.decode()[-500:]}"
        )
    pages = result.stdout.decode("utf-8", errors="replace").split("\f")
    if pages and not pages[-1].strip() and len(pages) == len(images) + 1:
        pages = pages[:-1]
    if len(pages) != len(images):
        raise TesseractError(f"tesseract returned {len(pages)} pages for {len(images)} images")
    return pages, seconds


def whitelist_for(charset: str) -> str:
    """The whitelist value for a charset: its characters, whitespace as one space. The space
    must be listed: without it Tesseract 5's LSTM engine joins the words of a line."""
    return re.sub(r"\s", "", charset) + (" " if re.search(r"\s", charset) else "")


@dataclass
class TesseractResult:
    configuration: str
    texts: list[str]  # normalised
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return len(self.texts) / max(self.seconds, 1e-9)


def run(
    images: Sequence[str | Path], charset: str, configuration: str, threads: int = 1
) -> TesseractResult:
    """Read ``images`` with one of ``CONFIGURATIONS``; texts normalised for ``charset``."""
    if configuration not in CONFIGURATIONS:
        raise ValueError(f"unknown Tesseract configuration {configuration!r}: {CONFIGURATIONS}")
    whitelist = whitelist_for(charset) if configuration == "whitelist" else None
    texts, seconds = read_lines(images, whitelist, threads)
    return TesseractResult(configuration, [normalise(t, charset) for t in texts], seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", required=True, help="held-out set directory (or create it)")
    parser.add_argument("--count", type=int, default=5000, help="lines of the held-out set")
    parser.add_argument("--charset", default="full", help="held-out charset (default full)")
    parser.add_argument("--threads", type=int, default=1, help="cores and Tesseract threads")
    args = parser.parse_args(argv)

    from benchmarks import heldout, report
    from trainer_module.metrics import score

    pinning = report.pin_to_cores(args.threads)
    labels = heldout.generate(args.heldout, args.count, charset=args.charset)
    rows = heldout.read_labels(labels)
    chars = heldout.synth_lines.resolve_charset(args.charset)
    references = [normalise(label, chars) for _, label in rows]
    print(f"{tesseract_version()}; {pinning}; OMP_THREAD_LIMIT={args.threads}")
    for configuration in CONFIGURATIONS:
        result = run([path for path, _ in rows], chars, configuration, args.threads)
        figures = score(references, result.texts)
        print(
            f"tesseract {configuration}: CER={figures.cer:.4f} "
            f"line_accuracy={figures.line_accuracy:.4f} "
            f"lines_per_second={result.lines_per_second:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
