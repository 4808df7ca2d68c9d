"""Training samples/s and inference lines/s of the default (tf.crnn-size) CRNN on the CPU.

Training: the Keras CTC training step (forward, CTC loss, backward, Adam) on batches of 32
random lines of 32x100 and 32x256 pixels with labels that fit, in float32 and under the
``mixed_bfloat16`` policy that ``training.mixed_precision`` takes on CPUs with AVX512_BF16 or
AMX (convolutions in bfloat16, LSTMs in float32). Inference: the exported
SavedModel's ``predict_images`` signature on PNG bytes (decode, resize, network, beam search),
at batch 1 and batch 64, exported in float32 and in bfloat16 (``export.precision``). Threads
are pinned (``--threads``, default 1: per-core figures) and the median of ``--repeats`` timed
runs is reported after one warm-up run.

    python -m benchmarks.crnn_speed [--threads 1] [--repeats 5] [--write]

``--write`` replaces the ``crnn_speed`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import report

WIDTHS = (100, 256)
TRAIN_BATCH = 32
CLASSES = 37  # 36 units + blank, tf.crnn's default alphabet size


def _training_batches(width: int):
    import numpy as np
    import tensorflow as tf

    from pipeline.config import ModelConfig
    from trainer_module import geometry

    rng = np.random.default_rng(0)
    steps = geometry.time_steps(width, ModelConfig())
    label_length = max(1, steps // 3)
    images = rng.random([TRAIN_BATCH, 32, width, 1], dtype=np.float32)
    ids = rng.integers(0, CLASSES - 1, [TRAIN_BATCH, label_length]).astype("int32")
    inputs = {"image": images, "width": np.full([TRAIN_BATCH], width, "int32")}
    labels = {"ids": ids, "length": np.full([TRAIN_BATCH], label_length, "int32")}
    return tf.data.Dataset.from_tensors((inputs, labels)).repeat()


def training_samples_per_second(
    width: int, steps: int, repeats: int, precision: str = "float32"
) -> list[float]:
    import tensorflow as tf

    from pipeline.config import CrnnConfig
    from trainer_module import export, train
    from trainer_module.alphabet import Alphabet
    from trainer_module.model import policy_scope

    alphabet = Alphabet(tuple(f"u{i}" for i in range(CLASSES - 1)))
    with policy_scope(export.EXPORT_POLICIES[precision]):
        trainer = train.build_trainer(CrnnConfig(), alphabet, steps * (repeats + 1))
    times: list[float] = []

    class Timer(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.started)

    trainer.fit(
        _training_batches(width),
        epochs=repeats + 1,
        steps_per_epoch=steps,
        callbacks=[Timer()],
        verbose=0,
    )
    return [steps * TRAIN_BATCH / seconds for seconds in times[1:]]


def _png_lines(width: int, count: int) -> list[bytes]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    lines = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (32, width), dtype=np.uint8)).save(buffer, "PNG")
        lines.append(buffer.getvalue())
    return lines


def inference_lines_per_second(
    model_dir: str, width: int, batch: int, lines: int, repeats: int
) -> list[float]:
    import tensorflow as tf

    from trainer_module import export

    predict = export.load_predictor(model_dir)
    images = _png_lines(width, batch)
    batch_tensor = tf.constant(images)
    rates = []
    for run in range(repeats + 1):
        started = time.perf_counter()
        for _ in range(max(1, lines // batch)):
            predict(images=batch_tensor)
        seconds = time.perf_counter() - started
        if run:  # the first run is the warm-up
            rates.append(max(1, lines // batch) * batch / seconds)
    return rates


def exported_default_model(directory: str, precision: str) -> str:
    from pipeline.config import load_config
    from trainer_module import export
    from trainer_module.alphabet import Alphabet
    from trainer_module.model import build_recognizer

    config = load_config(overrides=[f"export.precision={precision}"])
    alphabet = Alphabet(tuple("abcdefghijklmnopqrstuvwxyz0123456789"))
    recognizer = build_recognizer(config.model, alphabet.num_classes)
    return str(export.export_saved_model(recognizer, alphabet, config, Path(directory) / precision))


def markdown(
    rows: list[list[str]],
    precisions: tuple[str, ...],
    repeats: int,
    threads: int,
    pinning: str,
    tf_version: str,
) -> str:
    """The section: a row per input width with training samples/s for each precision, then
    inference lines/s at batch 1 and 64 for each export precision, in ``precisions`` order."""
    header = ["input", *(f"training samples/s ({precision})" for precision in precisions)]
    for precision in precisions:
        header += [f"inference lines/s, batch 1 ({precision})", f"batch 64 ({precision})"]
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"rows of {[len(r) for r in rows]} cells for {len(header)} columns")
    per = "per core" if threads == 1 else f"on {threads} cores"
    return "\n".join(
        [
            f"## CRNN speed on the CPU ({per})",
            "",
            "Default tf.crnn-size model (8.7 M parameters, 37 classes). Training: Keras CTC step, "
            f"batch {TRAIN_BATCH}, Adam, in float32 and under `training.mixed_precision`'s "
            "CPU policy (`mixed_bfloat16`: convolutions in bfloat16, LSTMs in float32). "
            "Inference: exported `predict_images` on PNG bytes "
            "(decode, resize, network, beam search width 10, top 3), the model exported with "
            f"`export.precision` {' and '.join(precisions)}. Median of {repeats} runs after a "
            "warm-up.",
            "",
            report.markdown_table(header, rows),
            "",
            f"- command: `{report.this_command(__spec__)}`",
            f"- machine: {report.machine()}; {pinning}, TF intra/inter-op threads {threads}",
            f"- TensorFlow {tf_version}; date {report.today()}",
            "- targets (issue 3): inference >= 30 lines/s per core at batch 1 and >= 100 batched;"
            " training at least as fast as the same architecture in PyTorch (see the PyTorch "
            "comparison section).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="cores and TF threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--train-steps", type=int, default=10, help="training steps per run")
    parser.add_argument("--lines", type=int, default=128, help="lines per inference run")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)

    pinning = report.pin_tensorflow(args.threads)
    import tensorflow as tf

    from trainer_module import export

    precisions = tuple(export.EXPORT_POLICIES)  # export.precision's values, training's policies
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        models = {p: exported_default_model(tmp, p) for p in precisions}
        for width in WIDTHS:
            row = [f"32x{width}"]
            for precision in precisions:
                rates = training_samples_per_second(
                    width, args.train_steps, args.repeats, precision
                )
                row.append(f"{report.median(rates):.1f}")
            for model_dir in models.values():
                for batch, lines in ((1, args.lines // 4), (64, args.lines)):
                    rates = inference_lines_per_second(model_dir, width, batch, lines, args.repeats)
                    row.append(f"{report.median(rates):.1f}")
            print(" | ".join(row), flush=True)
            rows.append(row)

    text = markdown(rows, precisions, args.repeats, args.threads, pinning, tf.__version__)
    print(text)
    if args.write:
        report.write_section("crnn_speed", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
