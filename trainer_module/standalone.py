"""Train from tf.crnn CSV files without a pipeline: quick experiments, tests and benchmarks.

    python -m trainer_module.standalone --train data/train.csv --eval data/eval.csv \\
        --output-dir runs/exp1 [--config my_config.json] [--set training.train_steps=500 ...]

Rows whose label cannot be aligned with their image (too long for its width) or whose units are
outside the alphabet are rejected before training, each with its file, row and reason. The
result is an exported SavedModel in ``OUTPUT/model`` (the same export as the TFX Trainer) and
TensorBoard logs and a resumable backup in ``OUTPUT/run``. The pipeline (``local_runner.py``) is
the way to train for production; this is the same model and training loop.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf
from PIL import Image

from pipeline.config import ConfigError, CrnnConfig, add_override_argument, load_config
from trainer_module import data, export, geometry, train
from trainer_module.alphabet import Alphabet, check_labels

log = logging.getLogger(__name__)


@dataclass
class Rejected:
    row: data.LabelledImage
    reason: str


@dataclass
class CheckedRows:
    kept: list[data.LabelledImage] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def check_rows(
    rows: list[data.LabelledImage], alphabet: Alphabet, config: CrnnConfig
) -> CheckedRows:
    """Keep the rows CTC can learn from; reject the others with a reason (nothing is dropped
    silently: kept + rejected = rows)."""
    checked = CheckedRows()
    for row in rows:
        reason = _row_problem(row, alphabet, config)
        if reason:
            checked.rejected.append(Rejected(row, reason))
        else:
            checked.kept.append(row)
    return checked


def _row_problem(row: data.LabelledImage, alphabet: Alphabet, config: CrnnConfig) -> str | None:
    try:
        with Image.open(row.path) as image:
            width, height = image.size
    except (OSError, ValueError) as err:
        return f"unreadable image: {err}"
    ids = alphabet.encode(row.label, config.alphabet)
    if not ids:
        return "empty label"
    return geometry.label_fit_problem(height, width, ids, config.model)


@dataclass
class StandaloneResult:
    model_dir: Path
    alphabet: Alphabet
    fit: train.FitResult
    rejected: list[Rejected]


def train_from_csv(
    train_csv: str | Path, eval_csv: str | Path | None, config: CrnnConfig, output_dir: str | Path
) -> StandaloneResult:
    """Check rows, train, export. The alphabet comes from the config or the training labels."""
    tf.keras.utils.set_random_seed(config.training.seed)
    output_dir = Path(output_dir)
    delimiter = config.data.delimiter
    train_rows = data.read_csv_rows(train_csv, delimiter)
    eval_rows = data.read_csv_rows(eval_csv, delimiter) if eval_csv else []
    alphabet = Alphabet.from_config(config.alphabet, [row.label for row in train_rows])
    check_labels([(row.source, row.label) for row in train_rows], alphabet, config.alphabet)
    train_checked = check_rows(train_rows, alphabet, config)
    eval_checked = check_rows(eval_rows, alphabet, config)
    rejected = train_checked.rejected + eval_checked.rejected
    for item in rejected:
        log.warning("rejected %s: %s", item.row.source, item.reason)
    if not train_checked.kept:
        raise ValueError(f"{train_csv}: no usable training rows ({len(rejected)} rejected)")

    schedule = train.Schedule.plan(config.training, len(train_checked.kept))
    batch = config.training.batch_size
    train_data = data.csv_dataset(train_checked.kept, alphabet, config, batch, training=True)
    eval_data = None
    if eval_checked.kept:
        eval_data = data.csv_dataset(
            eval_checked.kept, alphabet, config, config.training.eval_batch_size, training=False
        )
    trainer, result = train.run_training(
        config,
        alphabet,
        schedule,
        train_data,
        eval_data,
        output_dir / "run",
        eval_steps=config.training.eval_steps,
    )
    model_dir = export.export_saved_model(
        trainer.recognizer, alphabet, config, output_dir / "model"
    )
    return StandaloneResult(model_dir, alphabet, result, rejected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trainer_module.standalone",
        description="Train the CRNN on tf.crnn CSV files (path;label) without the TFX pipeline.",
    )
    parser.add_argument("--train", required=True, help="training CSV (path;label rows)")
    parser.add_argument("--eval", help="evaluation CSV; evaluated after every epoch")
    parser.add_argument("--output-dir", required=True, help="model/ and run/ are written here")
    parser.add_argument("--config", help="JSON config (see pipeline/config.py for every key)")
    add_override_argument(parser, "training.train_steps=500")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        config = load_config(args.config, args.set)
        result = train_from_csv(args.train, args.eval, config, args.output_dir)
    except (ConfigError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    cer = min(result.fit.history.get("val_cer", [float("nan")]))
    print(f"model={result.model_dir} val_cer={cer:.4f} rejected={len(result.rejected)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
