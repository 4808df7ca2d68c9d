"""Evaluate a pushed model on a tf.crnn CSV: character error rate, line accuracy, speed.

    python -m serving.evaluate --model outputs/serving --csv data/test/labels.csv [--batch-size 64]

prints ``CER=<x> line_accuracy=<y> lines_per_second=<z>``. ``--model`` may be a push directory
(the newest version is used) or a SavedModel folder. Rows whose image cannot be read stop the
evaluation with the file, row and reason: a figure over a silently smaller set would mislead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.options import add_decoding_arguments, recognizer_from_args
from trainer_module.data import LabelledImage, read_csv_rows
from trainer_module.metrics import TextScore


@dataclass
class Evaluation:
    score: TextScore
    lines_per_second: float
    rows: list[LabelledImage]
    predictions: list  # serving.model.Prediction, in row order

    def line(self) -> str:
        return (
            f"CER={self.score.cer:.4f} line_accuracy={self.score.line_accuracy:.4f} "
            f"lines_per_second={self.lines_per_second:.1f}"
        )


def read_images(rows: list[LabelledImage]) -> list[bytes]:
    images, problems = [], []
    for row in rows:
        try:
            images.append(Path(row.path).read_bytes())
        except OSError as err:
            problems.append(f"{row.source}: {row.path}: {err.strerror or err}")
    if problems:
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ValueError("cannot read images:\n  " + "\n  ".join(problems[:10]) + more)
    return images


def evaluate(recognizer, csv_path: str | Path, batch_size: int = 64, delimiter=";") -> Evaluation:
    rows = read_csv_rows(csv_path, delimiter)
    if not rows:
        raise ValueError(f"{csv_path}: no rows")
    return evaluate_images(recognizer, read_images(rows), rows, batch_size)


def evaluate_images(
    recognizer, images: list[bytes], rows: list[LabelledImage], batch_size: int = 64
) -> Evaluation:
    """Score predictions for encoded images against their rows' labels (what every figure of
    ``serving.evaluate`` and ``serving.report`` comes from)."""
    predictions, seconds = recognizer.predict_all(images, batch_size)
    score = TextScore()
    for row, prediction in zip(rows, predictions, strict=True):
        score.add(recognizer.reference(row.label), prediction.text)
    return Evaluation(score, len(rows) / max(seconds, 1e-9), rows, predictions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.evaluate",
        description="CER, line accuracy and lines/s of a pushed model on a path;label CSV.",
    )
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument("--csv", required=True, help="path;label CSV (paths relative to it)")
    parser.add_argument("--batch-size", type=int, default=64, help="lines per model call")
    add_decoding_arguments(parser)
    parser.add_argument("--delimiter", default=";", help="CSV delimiter (default ;)")
    args = parser.parse_args(argv)

    try:
        recognizer = recognizer_from_args(args)
        result = evaluate(recognizer, args.csv, args.batch_size, args.delimiter)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
