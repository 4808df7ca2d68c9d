"""PaddleOCR's PP-OCRv4 line recognizer on the held-out lines: a second peer beside Tesseract 5.

The model is the one the rapidocr-onnxruntime wheel ships (``ch_PP-OCRv4_rec_infer.onnx``:
PaddleOCR's PP-OCRv4 mobile recognizer converted to ONNX, with the Chinese dictionary of 6,623
characters, which holds every printable ASCII character; space is its last class), run by
onnxruntime on the CPU. Recognition only: the images are already lines, so there is no detection
and no angle classifier. The wheel and onnxruntime live in their own venv
(``benchmarks/.venv-paddle``, pinned in ``benchmarks.bench_setup``), made on first use or by
``python -m benchmarks.bench_setup``; the model comes inside the wheel, nothing is downloaded at
run time. ``benchmarks/paddleocr_rec.py`` runs there as a child process, which loads the model
once, reads every image and answers in JSON; see it for how long lines keep their width.

Output: whatever the model reads, whitespace runs collapsed and ends stripped; case is kept.
Seconds: reading and recognizing the images (model loading and the child's start excluded); the
child inherits this process's pinned cores and runs onnxruntime on ``threads`` threads.

    python -m benchmarks.paddleocr_peer --heldout outputs/bench/heldout [--count 1000]

prints CER, line accuracy and lines/s on the first ``--count`` lines of ``DIR/labels.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_setup

SCRIPT = Path(__file__).resolve().parent / "paddleocr_rec.py"
UNREADABLE = 3  # paddleocr_rec.UNREADABLE (that script imports nothing of the project)
SETUP_FIX = "`python -m benchmarks.bench_setup` (needs PyPI reachable once)"


class PaddleOcrError(RuntimeError):
    """The PaddleOCR peer cannot run or failed; the message says why."""


class PaddleOcrUnavailable(PaddleOcrError):
    """Its venv is missing, or lacks the pinned rapidocr-onnxruntime wheel, and cannot be made."""


class PaddleOcrFailed(PaddleOcrError):
    """The recognizer's child process failed: an image it cannot read, or a crash."""


@dataclass
class PaddleOcrResult:
    texts: list[str]  # normalised, one per image, in order
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return len(self.texts) / max(self.seconds, 1e-9)


def normalise(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped; no case folding."""
    return " ".join(text.split())


def paddle_python(create: bool = True) -> Path:
    """The PaddleOCR venv's interpreter with the pinned wheel; made first when missing and
    ``create``, else PaddleOcrUnavailable naming the fix."""
    wanted = bench_setup.RAPIDOCR_VERSION
    installed = bench_setup.rapidocr_installed()
    if installed == wanted:
        return bench_setup.PADDLE_PYTHON
    state = f"holds rapidocr-onnxruntime {installed}" if installed else "is missing"
    problem = (
        f"the PaddleOCR venv {bench_setup.PADDLE_VENV} {state} "
        f"(rapidocr-onnxruntime=={wanted} with its PP-OCRv4 models wanted)"
    )
    if not create:
        raise PaddleOcrUnavailable(f"{problem}: create it with {SETUP_FIX}")
    print(f"{problem}: creating it (about a minute)", file=sys.stderr, flush=True)
    try:
        bench_setup.make_paddle_venv()
    except (OSError, subprocess.CalledProcessError) as error:
        raise PaddleOcrUnavailable(
            f"{problem}, and making it failed ({error}): run {SETUP_FIX} and read its errors"
        ) from error
    if bench_setup.rapidocr_installed() != wanted:
        raise PaddleOcrUnavailable(f"{problem}, and still after making it: run {SETUP_FIX}")
    return bench_setup.PADDLE_PYTHON


def _child(python: Path, args: Sequence[str], request: dict | None, threads: int) -> dict:
    """Run paddleocr_rec.py on the venv's Python (isolated: no project path): its JSON answer."""
    command = [str(python), "-I", str(SCRIPT), *args]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(
        command,
        input=json.dumps(request) if request is not None else None,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    message = (result.stderr or result.stdout).strip()
    if result.returncode == UNREADABLE:
        last = message.splitlines()[-1] if message else "cannot read an image"
        raise PaddleOcrFailed(f"PaddleOCR: {last} (missing, or not an image)")
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise PaddleOcrFailed(
            f"{' '.join(command)} exited with {result.returncode}:\n{message[-2000:]}"
        )
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError as error:
        raise PaddleOcrFailed(f"{SCRIPT.name} printed no JSON result: {lines[-1]!r}") from error


def version(python: Path | None = None) -> str:
    """``PP-OCRv4 rec (rapidocr-onnxruntime 1.4.4, onnxruntime 1.23.2)``."""
    found = _child(python or paddle_python(), ["--version"], None, threads=1)
    return (
        f"PP-OCRv4 rec (rapidocr-onnxruntime {found['rapidocr_onnxruntime']}, "
        f"onnxruntime {found['onnxruntime']})"
    )


def run(
    images: Sequence[str | Path], threads: int = 1, python: Path | None = None
) -> PaddleOcrResult:
    """Read ``images`` (line images, any size) with PP-OCRv4's recognizer; one child process,
    the model loaded once. Texts normalised, in the order of ``images``."""
    if not images:
        return PaddleOcrResult([], 0.0)
    request = {"images": [str(Path(image).resolve()) for image in images], "threads": threads}
    answer = _child(python or paddle_python(), [], request, threads)
    texts = answer.get("texts")
    if not isinstance(texts, list) or len(texts) != len(images):
        raise PaddleOcrFailed(f"{SCRIPT.name} answered {answer!r:.200} for {len(images)} images")
    return PaddleOcrResult([normalise(text) for text in texts], float(answer["seconds"]))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", required=True, help="held-out set directory (labels.csv)")
    parser.add_argument("--count", type=int, help="its first N lines (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="cores and onnxruntime threads")
    args = parser.parse_args(argv)

    from benchmarks import heldout, report
    from trainer_module.metrics import score

    labels = Path(args.heldout) / "labels.csv"
    if not labels.is_file():
        print(
            f"error: no {labels}: make the set with "
            f"`python -m benchmarks.heldout --out {args.heldout} --count 5000`",
            file=sys.stderr,
        )
        return 2
    rows = heldout.read_labels(labels)[: args.count]
    references = [label for _, label in rows]
    try:
        peer = version()
        pinning = report.pin_to_cores(args.threads)
        result = run([path for path, _ in rows], args.threads)
    except PaddleOcrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{peer}; {len(rows)} lines of {labels}; {pinning}; threads={args.threads}")
    figures = score(references, result.texts)
    print(
        f"paddleocr: CER={figures.cer:.4f} line_accuracy={figures.line_accuracy:.4f} "
        f"lines_per_second={result.lines_per_second:.1f}"
    )
    if not any(char.isupper() for char in "".join(references)):
        # As Tesseract's comparison: a set without capitals does not ask for case.
        folded = score(references, [text.lower() for text in result.texts])
        print(
            f"paddleocr lower-cased (the labels have no capitals): CER={folded.cer:.4f} "
            f"line_accuracy={folded.line_accuracy:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
