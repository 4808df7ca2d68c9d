"""Training batches group lines of similar width, and lose or repeat none of them."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from trainer_module import data


def _examples(widths: list[int]) -> tf.data.Dataset:
    ids = tf.ragged.constant([[index % 7] * (1 + index % 3) for index in range(len(widths))])
    return tf.data.Dataset.from_tensor_slices(
        {"width": tf.constant(widths, tf.int64), "ids": ids, "index": tf.range(len(widths))}
    )


def test_batches_hold_lines_of_similar_width_and_every_line_once():
    rng = np.random.default_rng(0)
    widths = rng.integers(20, 1600, 500).tolist()
    batches = list(data.batch_by_width(_examples(widths), lambda e: e["width"], 16, max_width=1600))
    seen = sorted(int(i) for batch in batches for i in batch["index"].numpy())
    assert seen == list(range(500))
    span = data.WIDTH_BUCKET_PX
    for batch in batches:
        batch_widths = batch["width"].numpy()
        assert len(batch_widths) <= 16
        assert batch_widths.max() - batch_widths.min() < span
        # Labels stay ragged and matched to their lines.
        lengths = batch["ids"].row_lengths().numpy()
        assert list(lengths) == [1 + int(i) % 3 for i in batch["index"].numpy()]
    # Padding to each batch's widest line is far less than in batches of input order.
    grouped = sum(len(b["width"]) * int(b["width"].numpy().max()) for b in batches)
    in_order = sum(16 * max(widths[i : i + 16]) for i in range(0, 500, 16))
    assert grouped < 0.7 * in_order


def test_a_repeated_input_gives_full_batches_forever():
    examples = _examples([100, 900, 120, 880] * 8).repeat()
    batches = data.batch_by_width(examples, lambda e: e["width"], 8, max_width=1000)
    for batch in batches.take(20):
        assert len(batch["width"]) == 8


def test_the_curriculum_admits_only_short_lines_until_its_last_step():
    curriculum = data.Curriculum(steps=100, max_chars=3)
    labels = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[7] * n for n in range(1, 41)]))

    def admitted() -> list[int]:
        return [
            int(tf.size(ids)) for ids in labels.filter(lambda ids: curriculum.admits(tf.size(ids)))
        ]

    assert admitted() == [1, 2, 3]
    curriculum.step.assign(99)
    assert admitted() == [1, 2, 3]
    curriculum.step.assign(100)  # a resumed run restores the step: the filter follows it
    assert admitted() == list(range(1, 41))
