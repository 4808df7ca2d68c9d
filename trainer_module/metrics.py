"""Character error rate and line accuracy.

CER over a set = total edit distance / total reference characters (not the mean of per-line
rates, which over-weights short lines). Line accuracy = share of exact matches. The plain
functions use rapidfuzz's Levenshtein distance; ``EditDistanceRate`` and ``ExactMatchRate`` are
the same figures computed in the graph during training, so TensorBoard can plot them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import tensorflow as tf
from rapidfuzz.distance import Levenshtein


@dataclass
class TextScore:
    """Running totals from which CER and line accuracy follow; add them up across shards."""

    edits: int = 0
    characters: int = 0
    lines: int = 0
    exact: int = 0

    def add(self, reference: str, prediction: str) -> None:
        self.edits += Levenshtein.distance(reference, prediction)
        self.characters += len(reference)
        self.lines += 1
        self.exact += reference == prediction

    def merge(self, other: TextScore) -> TextScore:
        return TextScore(
            self.edits + other.edits,
            self.characters + other.characters,
            self.lines + other.lines,
            self.exact + other.exact,
        )

    @property
    def cer(self) -> float:
        """Edits per reference character; a non-empty prediction for empty references counts
        every inserted character as an error against at least one reference character."""
        if self.characters == 0:
            return 0.0 if self.edits == 0 else float(self.edits)
        return self.edits / self.characters

    @property
    def line_accuracy(self) -> float:
        return self.exact / self.lines if self.lines else 0.0


def _pairs(references: Iterable[str], predictions: Iterable[str]) -> list[tuple[str, str]]:
    """(reference, prediction) pairs; a clear error when the two lists differ in length."""
    references, predictions = list(references), list(predictions)
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    return list(zip(references, predictions, strict=True))


def score(references: Iterable[str], predictions: Iterable[str]) -> TextScore:
    total = TextScore()
    for reference, prediction in _pairs(references, predictions):
        total.add(reference, prediction)
    return total


def line_edits(references: Iterable[str], predictions: Iterable[str]) -> list[int]:
    """Each line's character edits (the CER's numerator, line by line)."""
    return [Levenshtein.distance(r, p) for r, p in _pairs(references, predictions)]


def score_by(
    references: Iterable[str], predictions: Iterable[str], groups: Iterable[str]
) -> dict[str, TextScore]:
    """A score per group (e.g. label-length bucket, source, font), in group name order."""
    scores: dict[str, TextScore] = {}
    for reference, prediction, group in zip(references, predictions, groups, strict=True):
        scores.setdefault(group, TextScore()).add(reference, prediction)
    return dict(sorted(scores.items()))


def confusions(references: Iterable[str], predictions: Iterable[str]) -> Counter[tuple[str, str]]:
    """Every character error, counted: (reference character, character read) for a
    substitution, (character, "") for one dropped, ("", character) for one inserted. The same
    edits as the CER's (rapidfuzz's Levenshtein alignment), so the counts add up to its edits."""
    counts: Counter[tuple[str, str]] = Counter()
    for reference, prediction in _pairs(references, predictions):
        for edit in Levenshtein.editops(reference, prediction):
            source = reference[edit.src_pos] if edit.tag != "insert" else ""
            read = prediction[edit.dest_pos] if edit.tag != "delete" else ""
            counts[source, read] += 1
    return counts


def character_error_rate(references: Iterable[str], predictions: Iterable[str]) -> float:
    return score(references, predictions).cer


def line_accuracy(references: Iterable[str], predictions: Iterable[str]) -> float:
    return score(references, predictions).line_accuracy


def _edit_distances(truth: tf.SparseTensor, hypothesis: tf.SparseTensor) -> tf.Tensor:
    return tf.edit_distance(
        tf.cast(hypothesis, tf.int64), tf.cast(truth, tf.int64), normalize=False
    )


class EditDistanceRate(tf.keras.metrics.Metric):
    """In-graph CER on unit ids: total edit distance / total reference length."""

    def __init__(self, name: str = "cer", **kwargs):
        super().__init__(name=name, **kwargs)
        self.edits = self.add_weight(name="edits", initializer="zeros")
        self.length = self.add_weight(name="length", initializer="zeros")

    def update_state(self, truth: tf.SparseTensor, hypothesis: tf.SparseTensor) -> None:
        self.edits.assign_add(tf.reduce_sum(_edit_distances(truth, hypothesis)))
        self.length.assign_add(tf.cast(tf.size(truth.values), tf.float32))

    def result(self) -> tf.Tensor:
        return tf.math.divide_no_nan(self.edits, self.length)


class ExactMatchRate(tf.keras.metrics.Mean):
    """In-graph line accuracy: the share of lines decoded without a single edit."""

    def __init__(self, name: str = "line_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, truth: tf.SparseTensor, hypothesis: tf.SparseTensor) -> None:
        super().update_state(tf.cast(_edit_distances(truth, hypothesis) == 0, tf.float32))


def length_bucket_names(bounds: list[int]) -> list[str]:
    """Slice names for label lengths: bounds [5, 10, 20] -> 01-05, 06-10, 11-20, 21+.

    Zero-padded so that the names sort in length order in reports and TFMA views.
    """
    digits = len(str(bounds[-1] + 1))
    names, low = [], 1
    for high in bounds:
        names.append(f"{low:0{digits}d}-{high:0{digits}d}")
        low = high + 1
    return [*names, f"{low:0{digits}d}+"]


def length_bucket(length: int, bounds: list[int]) -> str:
    names = length_bucket_names(bounds)
    return next((names[i] for i, high in enumerate(bounds) if length <= high), names[-1])
