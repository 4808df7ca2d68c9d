"""Input pipelines: batches of (model inputs, CTC labels) from CSV rows or from Transform output.

Both sources end in ``to_model_batch``: images cropped to the widest line of the batch, labels as
dense ids plus lengths (what MirroredStrategy distributes without trouble), and augmentation
for training only.

CSV reading follows tf.crnn: ``path;label`` per row, the label is everything after the first
delimiter, relative paths are relative to the CSV file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from pipeline.config import CrnnConfig
from trainer_module import augment, geometry
from trainer_module.alphabet import Alphabet

AUTOTUNE = tf.data.AUTOTUNE


@dataclass(frozen=True)
class LabelledImage:
    """One CSV row: the image path (resolved), its label, and where it came from."""

    path: str
    label: str
    source: str  # "file.csv:row"


def read_csv_rows(csv_path: str | Path, delimiter: str = ";") -> list[LabelledImage]:
    """Rows of a tf.crnn CSV; rows without a delimiter, or not UTF-8, raise ValueError naming
    file and row."""
    csv_path = Path(csv_path)
    rows = []
    raw = csv_path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        row = raw.count(b"\n", 0, err.start) + 1
        raise ValueError(
            f"{csv_path}:{row}: not UTF-8 ({err.reason} at byte {err.start})"
        ) from None
    for number, line in enumerate(io.StringIO(text), start=1):
        line = line.rstrip("\r\n")
        if not line:
            continue
        path, sep, label = line.partition(delimiter)
        if not sep:
            raise ValueError(f"{csv_path}:{number}: no {delimiter!r} between path and label")
        resolved = Path(path) if Path(path).is_absolute() else csv_path.parent / path
        rows.append(LabelledImage(str(resolved), label, f"{csv_path}:{number}"))
    return rows


def write_csv_rows(csv_path: str | Path, rows: list[tuple[str, str]], delimiter=";") -> None:
    """Write (path, label) rows in tf.crnn's format (no quoting: the label is the rest)."""
    with open(csv_path, "w", encoding="utf-8", newline="\n") as out:
        for path, label in rows:
            out.write(f"{path}{delimiter}{label}\n")


def to_model_batch(
    image: tf.Tensor,
    width: tf.Tensor,
    label_ids: tf.RaggedTensor,
    config: CrnnConfig,
    training: bool,
):
    """(padded images, widths, ragged unit ids) -> ({"image", "width"}, {"ids", "length"})."""
    width = tf.cast(tf.reshape(width, [-1]), tf.int32)
    label_ids = tf.cast(label_ids, tf.int32)
    if training:
        min_width = None  # the narrowest width each label fits: work out only when used
        if augment.uses_min_width(config.augmentation):
            min_width = geometry.min_widths(geometry.min_time_steps_batch(label_ids), config.model)
        image, width = augment.augment(image, width, config.augmentation, min_width)
    image = geometry.crop_to_batch_width(image, width)
    labels = {"ids": label_ids.to_tensor(0), "length": tf.cast(label_ids.row_lengths(), tf.int32)}
    return {"image": image, "width": width}, labels


WIDTH_BUCKET_PX = 64  # a batch holds lines within 64 px of each other: padding is at most that


def batch_by_width(
    examples: tf.data.Dataset, width_of, batch_size: int, max_width: int
) -> tf.data.Dataset:
    """Ragged batches of ``batch_size`` examples of similar width (``width_of(example)``).

    A batch is cropped to its widest line (``geometry.crop_to_batch_width``), so a batch that
    mixes a 40 px word with a 1,500 px paragraph line pays for 1,500 px on every line: grouping
    by width (ranges of WIDTH_BUCKET_PX up to ``max_width``) cuts the padding the network
    computes. Examples stay in their input order within a width range; a partial batch of each
    range is given at the end of a finite input.
    """
    last = max(0, -(-max_width // WIDTH_BUCKET_PX) - 1)

    def bucket(example) -> tf.Tensor:
        width = tf.reshape(tf.cast(width_of(example), tf.int64), [-1])[0]
        return tf.minimum(width // WIDTH_BUCKET_PX, last)

    return examples.group_by_window(
        key_func=bucket,
        reduce_func=lambda _, window: window.ragged_batch(batch_size),
        window_size=batch_size,
    )


class Curriculum(tf.keras.callbacks.Callback):
    """Short lines first: for the first ``steps`` training steps only lines of at most
    ``max_chars`` characters pass ``admits``.

    CTC on long lines sits for hundreds of steps on all-blank output before it aligns; short
    lines align sooner and cost fewer pixels a step. As a callback it follows the optimizer's
    step, so a resumed run goes on from where the curriculum stood, not from its start.
    """

    def __init__(self, steps: int, max_chars: int):
        super().__init__()
        self.steps, self.max_chars = steps, max_chars
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False)

    def admits(self, label_length: tf.Tensor) -> tf.Tensor:
        return (self.step >= self.steps) | (tf.cast(label_length, tf.int64) <= self.max_chars)

    def on_train_batch_begin(self, batch, logs=None):
        self.step.assign(tf.cast(self.model.optimizer.iterations, tf.int64))


def csv_dataset(
    rows: list[LabelledImage],
    alphabet: Alphabet,
    config: CrnnConfig,
    batch_size: int,
    training: bool,
    cache: bool = True,
) -> tf.data.Dataset:
    """Batches from CSV rows; training datasets shuffle and repeat forever.

    Labels are encoded up front (so unknown units fail here, naming the row); images are decoded
    with the same geometry as serving, and cached decoded when ``cache`` is set.
    """
    ids = [alphabet.encode(row.label, config.alphabet) for row in rows]
    paths = tf.data.Dataset.from_tensor_slices([row.path for row in rows])
    labels = tf.data.Dataset.from_tensor_slices(tf.ragged.constant(ids, dtype=tf.int32))
    dataset = tf.data.Dataset.zip((paths, labels))
    dataset = dataset.map(lambda path, label: (tf.io.read_file(path), label), AUTOTUNE)
    dataset = dataset.ragged_batch(batch_size).map(
        lambda encoded, label: (geometry.prepare_images(encoded, config.model), label), AUTOTUNE
    )
    dataset = dataset.unbatch()
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(len(rows), seed=config.training.seed).repeat()
    return (
        dataset.ragged_batch(batch_size)
        .map(
            lambda inputs, label: to_model_batch(
                inputs["image"], inputs["width"], label, config, training
            ),
            AUTOTUNE,
        )
        .prefetch(AUTOTUNE)
    )
