"""TFX Transform: line images through the trainer's geometry, labels into unit ids.

``preprocessing_fn`` decodes and normalises every image with ``geometry.prepare_images`` (the
function serving runs too) and encodes labels. The alphabet is either the configured one (a
lookup file or a character string, encoded through a constant table) or computed from the
training split with ``tft.vocabulary``; either way it is part of the transform graph, and the
Trainer reads it back with ``read_alphabet``. Augmentation is not here: it must be random at
every training step, so it lives in the Trainer's input pipeline.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from pipeline.config import CrnnConfig
from trainer_module import geometry
from trainer_module.alphabet import Alphabet, split_units_tf

# Raw features written by the ExampleGen.
IMAGE_KEY = "image"
LABEL_KEY = "label"
# Transformed features.
IMAGE = "image"
WIDTH = "width"
LABEL_IDS = "label_ids"
ALPHABET_VOCABULARY = "alphabet"


def config_from(custom_config: dict | None) -> CrnnConfig:
    """The run's configuration, passed to Transform and Trainer as ``custom_config["config"]``."""
    if not custom_config or "config" not in custom_config:
        raise ValueError('custom_config must carry the run configuration under "config"')
    return CrnnConfig.from_json(custom_config["config"], "custom_config")


def has_configured_alphabet(config: CrnnConfig) -> bool:
    return bool(config.alphabet.lookup_file or config.alphabet.characters)


def preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    config = config_from(custom_config)
    prepared = geometry.prepare_images(_flat(inputs[IMAGE_KEY]), config.model)
    units = split_units_tf(_flat(inputs[LABEL_KEY]), config.alphabet)
    ids = _encode(units, config)
    return {
        IMAGE: prepared["image"],
        WIDTH: tf.cast(prepared["width"], tf.int64),
        LABEL_IDS: ids,
    }


def _flat(feature) -> tf.Tensor:
    """A [batch] string tensor from a [batch, 1] dense or sparse raw feature."""
    if isinstance(feature, tf.SparseTensor):
        feature = tf.sparse.to_dense(feature, default_value="")
    return tf.reshape(feature, [-1])


def _encode(units: tf.RaggedTensor, config: CrnnConfig) -> tf.RaggedTensor:
    """Unit strings -> ids, dropping units outside the alphabet (ingest has already quarantined
    rows with unknown units when the alphabet is configured and the policy is "error")."""
    if has_configured_alphabet(config):
        alphabet = Alphabet.from_config(config.alphabet)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(alphabet.units), tf.range(len(alphabet.units), dtype=tf.int64)
            ),
            default_value=-1,
        )
        ids = tf.ragged.map_flat_values(table.lookup, units)
        if config.alphabet.unknown == "map":
            replacement = alphabet.units.index(config.alphabet.replacement)
            ids = tf.ragged.map_flat_values(
                lambda flat: tf.where(flat < 0, tf.cast(replacement, tf.int64), flat), ids
            )
    else:
        vocabulary = tft.vocabulary(units, vocab_filename=ALPHABET_VOCABULARY)
        ids = tft.apply_vocabulary(units, vocabulary, default_value=-1)
    return tf.ragged.boolean_mask(ids, ids >= 0)


def read_alphabet(
    transform_output: tft.TFTransformOutput, config: CrnnConfig, base_units: tuple[str, ...] = ()
):
    """The alphabet the transform graph encodes with, and how to map its ids to the model's.

    A configured alphabet is used as is. A computed vocabulary is in frequency order, which
    changes with the data; the model's alphabet is the units sorted, together with
    ``base_units`` (those of the model training starts from, so that it keeps every character
    it could read), so that retraining on a new span keeps unit ids stable. Returns
    (alphabet, remap) where remap[i] is the model id of transform id i, or None when no
    remapping is needed.
    """
    if has_configured_alphabet(config):
        return Alphabet.from_config(config.alphabet), None
    vocabulary = [
        unit.decode("utf-8") if isinstance(unit, bytes) else unit
        for unit in transform_output.vocabulary_by_name(ALPHABET_VOCABULARY)
    ]
    alphabet = Alphabet(tuple(sorted(set(vocabulary) | set(base_units))))
    return alphabet, [alphabet.units.index(unit) for unit in vocabulary]
