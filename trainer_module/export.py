"""Export: one SavedModel that serving, TFMA and BulkInferrer use with no extra code.

Signatures:
- ``serving_default``: serialized tf.Example (``image`` bytes feature) -> text, confidence,
  top_k_text, top_k_log_prob. What TFMA, BulkInferrer and InfraValidator call.
- ``predict_images``: raw encoded PNG/JPEG bytes of any width (what TF Serving's REST
  ``{"b64": ...}`` delivers) -> the same outputs.
- ``predict_log_probs``: the same images -> the network's per-step ``log_probs`` [batch,
  steps, classes] (log-softmax, blank last) and ``logit_length``, for decoders outside the graph
  (``serving.char_lm``'s language-model beam search).

- ``transform_features``: serialized tf.Example -> ``label_length_bucket``, the slice TFMA
  reports CER by (``preprocessing_function_names`` in the Evaluator's config).

The image signatures run ``geometry.prepare_images``, the function training and Transform use,
so preprocessing cannot drift. The alphabet (tf.crnn lookup JSON) and the model configuration
are stored in ``assets/``; warm start reads them to check a later model is compatible.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import tensorflow as tf

from pipeline.config import CrnnConfig, EvaluationConfig, ModelConfig
from trainer_module import decoding, geometry
from trainer_module.alphabet import Alphabet, split_units_tf
from trainer_module.metrics import length_bucket_names
from trainer_module.model import OUTPUT_LAYER, build_recognizer, policy_scope

log = logging.getLogger(__name__)

IMAGE_KEY = "image"  # the tf.Example feature holding the encoded image
LABEL_KEY = "label"  # the tf.Example feature holding the label text
LENGTH_BUCKET = "label_length_bucket"
ALPHABET_ASSET = "alphabet.json"
CONFIG_ASSET = "crnn_config.json"


class _Untracked:
    """Holds the Keras model out of SavedModel's dependency tracking: tracked, Keras would
    serialise a traced call function for every layer (minutes and megabytes); only the
    variables need saving, and the signatures capture them."""

    def __init__(self, model: tf.keras.Model):
        self.model = model


class RecognizerModule(tf.Module):
    """What the SavedModel holds: the recognizer's weights, the unit table, the decoder setup."""

    def __init__(self, recognizer: tf.keras.Model, alphabet: Alphabet, config: CrnnConfig):
        super().__init__(name="crnn")
        self._keras = _Untracked(recognizer)
        self.weights = list(recognizer.weights)
        self.units = decoding.units_table(alphabet.units)
        self._model_config: ModelConfig = config.model
        self._alphabet_config = config.alphabet
        self._decoder: EvaluationConfig = config.evaluation
        self.bucket_bounds = tf.constant(config.evaluation.length_buckets, tf.int64)
        self.bucket_names = tf.constant(length_bucket_names(config.evaluation.length_buckets))

    def network(self, images) -> dict:
        """Encoded images -> the network's ``logits`` and ``logit_length``."""
        prepared = geometry.prepare_images(images, self._model_config)
        return self._keras.model(
            {
                "image": geometry.crop_to_batch_width(prepared["image"], prepared["width"]),
                "width": prepared["width"],
            },
            training=False,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def predict_images(self, images):
        outputs = self.network(images)
        return decoding.decode(
            outputs["logits"],
            outputs["logit_length"],
            self.units,
            self._decoder.decoder,
            self._decoder.beam_width,
            self._decoder.top_paths,
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    def predict_log_probs(self, images):
        outputs = self.network(images)
        return {
            "log_probs": tf.nn.log_softmax(tf.cast(outputs["logits"], tf.float32), axis=-1),
            "logit_length": outputs["logit_length"],
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, examples):
        features = tf.io.parse_example(examples, {IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)})
        return self.predict_images(features[IMAGE_KEY])  # one traced network for both

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        features = tf.io.parse_example(
            examples, {LABEL_KEY: tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        lengths = split_units_tf(features[LABEL_KEY], self._alphabet_config).row_lengths()
        bucket = tf.searchsorted(self.bucket_bounds, lengths, side="left")
        return {LENGTH_BUCKET: tf.gather(self.bucket_names, bucket)}


EXPORT_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def inference_model(
    recognizer: tf.keras.Model, alphabet: Alphabet, config: CrnnConfig
) -> tf.keras.Model:
    """The recognizer to export, computing in ``export.precision`` whatever policy it was trained
    under: itself when it already does, else a copy with its weights (built under
    ``mixed_bfloat16`` for bfloat16: variables and logits stay float32; under ``float32`` for a
    model trained with ``training.mixed_precision``)."""
    policy = EXPORT_POLICIES[config.export.precision]
    if recognizer.get_layer("conv1").dtype_policy.name == policy:
        return recognizer
    with policy_scope(policy):
        copy = build_recognizer(config.model, alphabet.num_classes)
    copy.set_weights(recognizer.get_weights())
    return copy


def export_saved_model(
    recognizer: tf.keras.Model, alphabet: Alphabet, config: CrnnConfig, export_dir: str | Path
) -> Path:
    """Write the SavedModel (its signatures, alphabet and config assets) to ``export_dir``."""
    export_dir = Path(export_dir)
    module = RecognizerModule(inference_model(recognizer, alphabet, config), alphabet, config)
    with tempfile.TemporaryDirectory() as staging:
        alphabet_file = Path(staging) / ALPHABET_ASSET
        alphabet.save(alphabet_file)
        config_file = Path(staging) / CONFIG_ASSET
        config_file.write_text(config.to_json())
        module.alphabet_file = tf.saved_model.Asset(str(alphabet_file))
        module.config_file = tf.saved_model.Asset(str(config_file))
        tf.saved_model.save(
            module,
            str(export_dir),
            signatures={
                "serving_default": module.serve_examples.get_concrete_function(),
                "predict_images": module.predict_images.get_concrete_function(),
                "predict_log_probs": module.predict_log_probs.get_concrete_function(),
                "transform_features": module.transform_features.get_concrete_function(),
            },
        )
    log.info("exported SavedModel to %s", export_dir)
    return export_dir


def read_assets(model_dir: str | Path) -> tuple[Alphabet, CrnnConfig]:
    """The alphabet and configuration stored with an exported model."""
    assets = Path(model_dir) / "assets"
    alphabet = Alphabet.from_lookup_file(assets / ALPHABET_ASSET)
    config = CrnnConfig.from_json((assets / CONFIG_ASSET).read_text(), str(assets / CONFIG_ASSET))
    return alphabet, config


def restore_weights(recognizer: tf.keras.Model, model_dir: str | Path) -> None:
    """Load an exported model's variables into a recognizer of the same architecture.

    The SavedModel's variables are an object-graph checkpoint whose root holds the list
    ``weights`` (the recognizer's weights in order), so a Checkpoint with the same structure
    restores them directly.
    """
    checkpoint = tf.train.Checkpoint(weights=list(recognizer.weights))
    status = checkpoint.read(str(Path(model_dir) / "variables" / "variables"))
    status.expect_partial().assert_existing_objects_matched()


def load_recognizer(model_dir: str | Path) -> tuple[tf.keras.Model, Alphabet, CrnnConfig]:
    """A Keras recognizer with an exported model's weights, its alphabet and configuration."""
    alphabet, config = read_assets(model_dir)
    recognizer = build_recognizer(config.model, alphabet.num_classes)
    restore_weights(recognizer, model_dir)
    return recognizer, alphabet, config


def reexport(model_dir: str | Path, export_dir: str | Path, precision: str) -> Path:
    """An exported model written again to ``export_dir`` with another ``export.precision``
    (say a bfloat16 copy of a float32 push, for CPUs with AVX512_BF16): same weights, alphabet
    and configuration but for the precision."""
    recognizer, alphabet, config = load_recognizer(model_dir)
    config = config.model_copy(
        update={"export": config.export.model_copy(update={"precision": precision})}
    )
    return export_saved_model(recognizer, alphabet, config, export_dir)


def architecture_differences(config: ModelConfig, base_config: ModelConfig) -> list[str]:
    """The model settings in which two models differ ([] when one's weights fit the other)."""
    base = base_config.model_dump()
    return [key for key, value in config.model_dump().items() if base.get(key) != value]


def transfer_weights(
    recognizer: tf.keras.Model, alphabet: Alphabet, base_model: str | Path
) -> tuple[str, ...]:
    """Copy a model of the same architecture into ``recognizer``; return the units it adds.

    Every layer but the output is copied as it is. The output layer's columns are matched by
    unit (and blank to blank), so an alphabet that adds units to the base's keeps what the base
    learnt of the others. A new unit keeps its fresh kernel column and starts with the mean bias
    of the base's units: about as likely as a known character, not more.
    """
    base, base_alphabet, _ = load_recognizer(base_model)
    for layer in recognizer.layers:
        if layer.weights and layer.name != OUTPUT_LAYER:
            layer.set_weights(base.get_layer(layer.name).get_weights())
    kernel, bias = recognizer.get_layer(OUTPUT_LAYER).get_weights()
    base_kernel, base_bias = base.get_layer(OUTPUT_LAYER).get_weights()
    base_ids = {unit: i for i, unit in enumerate(base_alphabet.units)}
    added = tuple(unit for unit in alphabet.units if unit not in base_ids)
    bias[:] = base_bias[: base_alphabet.blank_id].mean()
    pairs = [(i, base_ids[unit]) for i, unit in enumerate(alphabet.units) if unit in base_ids]
    pairs.append((alphabet.blank_id, base_alphabet.blank_id))
    ids, base_ids_matched = (list(side) for side in zip(*pairs, strict=True))
    kernel[:, ids] = base_kernel[:, base_ids_matched]
    bias[ids] = base_bias[base_ids_matched]
    recognizer.get_layer(OUTPUT_LAYER).set_weights([kernel, bias])
    return added


def warm_start(
    recognizer: tf.keras.Model,
    alphabet: Alphabet,
    config: CrnnConfig,
    base_model: str | Path,
    required: bool = False,
) -> str:
    """Initialise ``recognizer`` from ``base_model`` (``transfer_weights``); say what happened.

    A base that cannot be read or has another architecture leaves the recognizer as it is
    (training from scratch, the reason in the message), or raises ValueError when ``required``
    (``training.init_from``: the user asked for that model).
    """
    try:
        _, base_config = read_assets(base_model)
        differences = architecture_differences(config.model, base_config.model)
        if differences:
            raise ValueError(
                f"its architecture differs in model.{', model.'.join(differences)}; leave the "
                "model section out of the config to take the base's"
            )
        added = transfer_weights(recognizer, alphabet, base_model)
    except (OSError, ValueError) as err:
        if required:
            raise ValueError(f"cannot start from {base_model}: {err}") from None
        return f"not warm-starting from {base_model}: {err}; training from scratch"
    new = f" ({len(added)} new units: {''.join(added)[:40]})" if added else ""
    return f"warm-started from {base_model}{new}"


def load_predictor(model_dir: str | Path, signature: str = "predict_images"):
    """The exported signature as a callable (for CLIs and tests)."""
    return tf.saved_model.load(str(model_dir)).signatures[signature]
