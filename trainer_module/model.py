"""The CRNN network (arXiv 1507.05717): CNN -> map-to-sequence -> deep BiLSTM -> per-step logits.

``build_recognizer`` turns a ModelConfig into a tf.keras (Keras 2) functional model with two
inputs, the padded image batch and each image's true width, and two outputs, the logits
[batch, time, classes] and each line's logit length, which CTC loss and decoding need.

A line's result does not depend on the batch it is in: after each convolution block the columns
beyond the line's own width are set back to zero (batch norm's shift would otherwise turn the
zero padding into values that the next convolution reads at the line's right edge, so a line
beside a wider one would read differently from the same line alone), and padded time steps are
masked in the LSTMs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf

from pipeline.config import ModelConfig
from trainer_module import geometry
from trainer_module.lstm import TrainingLSTM

# The output layer's name: a warm start matches its columns to units, every other layer by name.
OUTPUT_LAYER = "logits"


def require_keras2() -> None:
    """Fail early and clearly if TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set."""
    if not tf.keras.__name__.startswith("tf_keras"):
        raise RuntimeError(
            "tf.keras is Keras 3 here; this project needs Keras 2 (tf_keras). Set "
            "TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported (import a project package "
            "first, or export it in the shell)."
        )


@contextlib.contextmanager
def policy_scope(policy: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``policy`` for the block and put back after it: the
    models built inside keep ``policy``, what is built after gets the policy from before."""
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


def _lstm(units: int, use_cudnn: bool) -> tf.keras.layers.Layer:
    """An LSTM returning sequences. With a GPU, Keras' LSTM (cuDNN kernels). Without one, the
    generic RNN over the same LSTMCell (``lstm.TrainingLSTM``, whose training pass has a faster
    hand-written gradient): identical weights (checkpoints move between the two) and CPU
    arithmetic, minus the second, cuDNN graph Keras' LSTM traces into every function, which
    costs seconds per trace and makes the CPU gradient slower.

    Under a bfloat16 policy the CPU LSTM computes in float32: its state, carried over every time
    step, would keep only 8 bits of mantissa, and the CPU is no faster for it."""
    if use_cudnn:
        return tf.keras.layers.LSTM(units, return_sequences=True)
    bfloat16 = tf.keras.mixed_precision.global_policy().compute_dtype == "bfloat16"
    dtype = "float32" if bfloat16 else None
    return TrainingLSTM(
        tf.keras.layers.LSTMCell(units, dtype=dtype), return_sequences=True, dtype=dtype
    )


def _zero_padding_columns(args, index: int, config: ModelConfig) -> tf.Tensor:
    """Features [batch, height, columns, channels] with the columns beyond each line's width
    after convolution ``index`` (``geometry.conv_widths``) set to zero."""
    features, width = args
    valid = geometry.conv_widths(width, config)[index]
    mask = tf.sequence_mask(valid, tf.shape(features)[2], dtype=features.dtype)
    return features * mask[:, None, :, None]


def build_recognizer(config: ModelConfig, num_classes: int) -> tf.keras.Model:
    """The CRNN as a Keras model: {"image", "width"} -> {"logits", "logit_length"}."""
    require_keras2()
    cnn_height = geometry.height_reduction(config)
    if cnn_height != 1:
        raise ValueError(
            f"model.input_height={config.input_height} leaves a feature map {cnn_height} high "
            "after the CNN; the sequence needs height 1 (adjust input_height or the pools)"
        )
    image = tf.keras.Input((config.input_height, None, config.channels), name="image")
    width = tf.keras.Input((), dtype=tf.int32, name="width")

    features = image
    for i, layer in enumerate(config.conv_layers, start=1):
        features = tf.keras.layers.Conv2D(
            layer.filters,
            layer.kernel,
            padding=layer.padding,
            use_bias=not layer.batch_norm,
            name=f"conv{i}",
        )(features)
        if layer.batch_norm:
            # Momentum 0.9 (PyTorch's default) lets the inference statistics follow training
            # within tens of steps; Keras' 0.99 lags for hundreds, which short runs notice.
            features = tf.keras.layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(features)
        features = tf.keras.layers.ReLU(name=f"relu{i}")(features)
        features = tf.keras.layers.Lambda(
            _zero_padding_columns, arguments={"index": i - 1, "config": config}, name=f"pad{i}"
        )([features, width])
        if layer.pool:
            features = tf.keras.layers.MaxPool2D(
                layer.pool, strides=layer.pool, padding="same", name=f"pool{i}"
            )(features)

    # Map-to-sequence: the height-1 feature map becomes one feature vector per column.
    sequence = tf.keras.layers.Lambda(lambda t: tf.squeeze(t, axis=1), name="to_sequence")(features)
    logit_length = tf.keras.layers.Lambda(
        lambda w: tf.cast(geometry.time_steps(w, config), tf.int32), name="logit_length"
    )(width)
    mask = tf.keras.layers.Lambda(
        lambda args: tf.sequence_mask(args[0], tf.shape(args[1])[1]), name="time_mask"
    )([logit_length, sequence])

    use_cudnn = bool(tf.config.list_logical_devices("GPU"))
    for i in range(config.rnn_layers):
        sequence = tf.keras.layers.Bidirectional(
            _lstm(config.rnn_units, use_cudnn), name=f"bilstm{i + 1}"
        )(sequence, mask=mask)
        if config.rnn_dropout and i < config.rnn_layers - 1:
            sequence = tf.keras.layers.Dropout(config.rnn_dropout, name=f"rnn_dropout{i + 1}")(
                sequence
            )
    if config.dropout:
        sequence = tf.keras.layers.Dropout(config.dropout, name="dropout")(sequence)
    logits = tf.keras.layers.Dense(num_classes, dtype="float32", name=OUTPUT_LAYER)(sequence)
    return tf.keras.Model(
        inputs={"image": image, "width": width},
        outputs={"logits": logits, "logit_length": logit_length},
        name="crnn",
    )
