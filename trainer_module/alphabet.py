"""The alphabet: which units the network emits, how labels become unit ids and back.

A unit is usually one character; tf.crnn's lookup files also allow multi-character units
(``{"abbr": 7}``), written in labels as ``|a|b|abbr|``. The CTC blank is always the last class,
``len(units)``; this module is the only place that knows it.

CER everywhere in the project is measured on the characters of the text (units joined), so a
multi-character unit counts as its characters.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import AlphabetConfig


class UnknownUnitsError(ValueError):
    """Labels use units outside the alphabet and the policy is "error"."""


def split_units(label: str, config: AlphabetConfig) -> list[str]:
    """Split a label into units: ``|a|b|abbr|`` -> [a, b, abbr]; plain text -> its characters.

    Case folding is applied first. The TensorFlow twin of this function is ``split_units_tf``.
    """
    label = fold_case(label, config.case_fold)
    sep = config.unit_separator
    if _is_units_format(label, config):
        return [unit for unit in label[len(sep) : -len(sep)].split(sep) if unit]
    return list(label)


def _is_units_format(label: str, config: AlphabetConfig) -> bool:
    if config.label_format == "units":
        return True
    sep = config.unit_separator
    return (
        config.label_format == "auto"
        and len(label) > 2 * len(sep)
        and label.startswith(sep)
        and label.endswith(sep)
    )


def fold_case(text: str, case_fold: str) -> str:
    if case_fold == "lower":
        return text.lower()
    if case_fold == "upper":
        return text.upper()
    return text


def label_text(label: str, config: AlphabetConfig) -> str:
    """The text a label stands for (units joined): what predictions are compared with."""
    return "".join(split_units(label, config))


@dataclass(frozen=True)
class Alphabet:
    """An ordered tuple of units; unit i has id i, the CTC blank has id ``len(units)``."""

    units: tuple[str, ...]
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.units:
            raise ValueError("an alphabet needs at least one unit")
        if any(not unit for unit in self.units):
            raise ValueError("alphabet units must be non-empty strings")
        duplicates = [unit for unit, n in Counter(self.units).items() if n > 1]
        if duplicates:
            raise ValueError(f"alphabet has duplicate units: {duplicates}")
        object.__setattr__(self, "_ids", {unit: i for i, unit in enumerate(self.units)})

    # --- construction -----------------------------------------------------------------------------

    @classmethod
    def from_string(cls, characters: str) -> Alphabet:
        """Every distinct character of the string, in order of first appearance."""
        return cls(tuple(dict.fromkeys(characters)))

    @classmethod
    def from_lookup_file(cls, path: str | Path) -> Alphabet:
        """tf.crnn's lookup JSON ``{unit: code}``; units are ordered by code."""
        try:
            table = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read the alphabet lookup file: {err}") from None
        if not isinstance(table, dict) or not all(isinstance(c, int) for c in table.values()):
            raise ValueError(f"{path}: a lookup file maps each unit to an integer code")
        if len(set(table.values())) != len(table):
            raise ValueError(f"{path}: two units share a code")
        return cls(tuple(sorted(table, key=table.__getitem__)))

    @classmethod
    def from_labels(cls, labels: Iterable[str], config: AlphabetConfig) -> Alphabet:
        """The units found in the labels, sorted (stable across data sets with the same units)."""
        units = {unit for label in labels for unit in split_units(label, config)}
        return cls(tuple(sorted(units)))

    @classmethod
    def from_config(cls, config: AlphabetConfig, labels: Iterable[str] = ()) -> Alphabet:
        """The configured alphabet (lookup file or characters), else one built from the labels."""
        if config.lookup_file:
            alphabet = cls.from_lookup_file(config.lookup_file)
        elif config.characters:
            alphabet = cls.from_string(config.characters)
        else:
            return cls.from_labels(labels, config)
        if config.unknown == "map" and config.replacement not in alphabet:
            raise ValueError(f"alphabet.replacement {config.replacement!r} is not in the alphabet")
        return alphabet

    def to_lookup(self) -> dict[str, int]:
        """tf.crnn's lookup table format."""
        return {unit: i for i, unit in enumerate(self.units)}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_lookup(), ensure_ascii=False, indent=1) + "\n")

    # --- properties -------------------------------------------------------------------------------

    @property
    def blank_id(self) -> int:
        return len(self.units)

    @property
    def num_classes(self) -> int:
        """Units plus the CTC blank: the width of the network's output layer."""
        return len(self.units) + 1

    def __contains__(self, unit: object) -> bool:
        return unit in self._ids

    def __len__(self) -> int:
        return len(self.units)

    # --- encoding ---------------------------------------------------------------------------------

    def encode(self, label: str, config: AlphabetConfig) -> list[int]:
        """Unit ids of a label, applying the unknown-unit policy (error, drop or map)."""
        ids = []
        for unit in split_units(label, config):
            if unit in self._ids:
                ids.append(self._ids[unit])
            elif config.unknown == "map":
                ids.append(self._ids[config.replacement])
            elif config.unknown == "error":
                raise UnknownUnitsError(f"label {label!r} has unit {unit!r} outside the alphabet")
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Text of a sequence of unit ids (blanks and out-of-range ids are skipped)."""
        return "".join(self.units[i] for i in ids if 0 <= i < len(self.units))

    def unknown_units(self, label: str, config: AlphabetConfig) -> list[str]:
        return [unit for unit in split_units(label, config) if unit not in self._ids]


def check_labels(
    rows: Sequence[tuple[str, str]], alphabet: Alphabet, config: AlphabetConfig
) -> None:
    """Raise UnknownUnitsError listing every unknown unit with its count and a sample row.

    ``rows`` are (row name, label) pairs, e.g. ("train.csv:12", "hello"). Does nothing when the
    policy drops or maps unknown units.
    """
    if config.unknown != "error":
        return
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for name, label in rows:
        for unit in alphabet.unknown_units(label, config):
            counts[unit] += 1
            samples.setdefault(unit, f"{name} {label!r}")
    if counts:
        lines = [
            f"  {unit!r}: {n} time(s), e.g. {samples[unit]}" for unit, n in counts.most_common()
        ]
        raise UnknownUnitsError(
            f"{len(counts)} unit(s) outside the alphabet:\n"
            + "\n".join(lines)
            + '\nfix: add them to the alphabet, or set alphabet.unknown to "drop" or "map".'
        )


def split_units_tf(labels, config: AlphabetConfig):
    """TensorFlow twin of ``split_units`` for a batch of labels: string [batch] -> ragged units.

    Used where labels are tensors (Transform's preprocessing_fn). Kept beside the Python version
    and tested against it, since the two must split every label the same way.
    """
    import re

    import tensorflow as tf

    labels = tf.reshape(labels, [-1])
    if config.case_fold == "lower":
        labels = tf.strings.lower(labels, encoding="utf-8")
    elif config.case_fold == "upper":
        labels = tf.strings.upper(labels, encoding="utf-8")
    characters = tf.strings.unicode_split(labels, "UTF-8")
    if config.label_format == "text":
        return characters
    sep = config.unit_separator
    lengths = tf.strings.length(labels, unit="UTF8_CHAR")
    inner = tf.strings.substr(
        labels,
        tf.minimum(len(sep), lengths),
        tf.maximum(lengths - 2 * len(sep), 0),
        unit="UTF8_CHAR",
    )
    units = tf.strings.split(inner, sep)
    units = tf.ragged.boolean_mask(units, tf.strings.length(units) > 0)
    if config.label_format == "units":
        return units
    wrapped = tf.strings.regex_full_match(labels, f"(?s){re.escape(sep)}.+{re.escape(sep)}")
    keep_units = tf.ones_like(units, dtype=tf.bool) & wrapped[:, None]
    keep_characters = tf.ones_like(characters, dtype=tf.bool) & ~wrapped[:, None]
    return tf.concat(
        [
            tf.ragged.boolean_mask(units, keep_units),
            tf.ragged.boolean_mask(characters, keep_characters),
        ],
        axis=1,
    )
