"""Evaluate a pushed model on a tf.crnn CSV: character error rate, line accuracy, speed.

    python -m serving.evaluate [--model outputs/serving] --csv data/test/labels.csv
        [--batch-size 64]

prints ``CER=<x> line_accuracy=<y> lines_per_second=<z>``. ``--model`` may be a push directory
(the newest version is used) or a SavedModel folder; the shipped model when left out. Rows
whose image cannot be read (missing, not an image, undecodable, or failing in the model) are
listed on stderr with file, row and reason, and count as lines read as nothing (every character
an error) unless ``--skip-unreadable`` leaves them out; either way the line says how many there
were.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.options import add_decoding_arguments, add_model_argument, recognizer_from_args
from serving.prediction import Prediction, predict_each
from trainer_module.data import LabelledImage, read_csv_rows
from trainer_module.metrics import TextScore

UNREADABLE_LISTED = 20  # rows named on stderr; the count covers them all


@dataclass
class Unreadable:
    row: LabelledImage
    reason: str

    def __str__(self) -> str:
        return f"{self.row.source}: {self.row.path}: {self.reason}"


@dataclass
class Evaluation:
    score: TextScore
    lines_per_second: float
    rows: list[LabelledImage]  # the rows scored
    predictions: list  # serving.model.Prediction, in row order ("" for an unreadable row)
    unreadable: list[Unreadable] = field(default_factory=list)
    skipped: bool = False  # unreadable rows left out of the score (else scored as "")

    def line(self) -> str:
        figures = (
            f"CER={self.score.cer:.4f} line_accuracy={self.score.line_accuracy:.4f} "
            f"lines_per_second={self.lines_per_second:.1f}"
        )
        if self.unreadable:
            how = "skipped" if self.skipped else "scored as empty"
            figures += f" unreadable={len(self.unreadable)} ({how})"
        return figures


def read_images(
    rows: list[LabelledImage], max_pixels: int | None = None
) -> tuple[list[bytes | None], list[Unreadable]]:
    """Each row's image bytes (None where it cannot be read), and why those cannot
    (``serving.model.read_image``; with ``max_pixels`` the header is checked too)."""
    from serving.model import read_image

    found, unreadable = [], []
    for row in rows:
        data, problem = read_image(row.path, max_pixels)
        found.append(data)
        if problem:
            unreadable.append(Unreadable(row, problem))
    return found, unreadable


def evaluate(
    recognizer,
    csv_path: str | Path,
    batch_size: int = 64,
    delimiter=";",
    skip_unreadable: bool = False,
) -> Evaluation:
    rows = read_csv_rows(csv_path, delimiter)
    if not rows:
        raise ValueError(f"{csv_path}: no rows")
    images, unreadable = read_images(rows, recognizer.config.data.max_image_pixels)
    return evaluate_images(recognizer, images, rows, batch_size, skip_unreadable, unreadable)


def evaluate_images(
    recognizer,
    images: list[bytes | None],
    rows: list[LabelledImage],
    batch_size: int = 64,
    skip_unreadable: bool = False,
    unreadable: list[Unreadable] | None = None,
) -> Evaluation:
    """Score predictions for encoded images (None: unreadable) against their rows' labels (what
    every figure of ``serving.evaluate`` and ``serving.report`` comes from)."""
    unreadable = list(unreadable or [])
    readable = [i for i, image in enumerate(images) if image is not None]
    results, seconds = predict_each(recognizer.predict, [images[i] for i in readable], batch_size)
    nothing = Prediction("", 0.0, ("",))
    predictions: list[Prediction] = [nothing] * len(rows)
    for i, result in zip(readable, results, strict=True):
        if isinstance(result, str):
            unreadable.append(Unreadable(rows[i], result))
        else:
            predictions[i] = result
    failed = {id(u.row) for u in unreadable}
    kept = [i for i in range(len(rows)) if not (skip_unreadable and id(rows[i]) in failed)]
    score = TextScore()
    for i in kept:
        score.add(recognizer.reference(rows[i].label), predictions[i].text)
    return Evaluation(
        score,
        len(readable) / max(seconds, 1e-9),
        [rows[i] for i in kept],
        [predictions[i] for i in kept],
        unreadable,
        skip_unreadable,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.evaluate",
        description="CER, line accuracy and lines/s of a pushed model on a path;label CSV.",
    )
    add_model_argument(parser)
    parser.add_argument("--csv", required=True, help="path;label CSV (paths relative to it)")
    parser.add_argument("--batch-size", type=int, default=64, help="lines per model call")
    add_decoding_arguments(parser)
    parser.add_argument("--delimiter", default=";", help="CSV delimiter (default ;)")
    parser.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="leave rows whose image cannot be read out of the score (default: scored as empty)",
    )
    args = parser.parse_args(argv)

    try:
        recognizer = recognizer_from_args(args)
        result = evaluate(
            recognizer, args.csv, args.batch_size, args.delimiter, args.skip_unreadable
        )
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if result.unreadable:
        listed = "\n  ".join(map(str, result.unreadable[:UNREADABLE_LISTED]))
        more = len(result.unreadable) - UNREADABLE_LISTED
        print(f"{len(result.unreadable)} unreadable rows:\n  {listed}", file=sys.stderr)
        if more > 0:
            print(f"  ... and {more} more", file=sys.stderr)
    print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
