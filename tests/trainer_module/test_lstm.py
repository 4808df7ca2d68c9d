"""The CPU LSTM's training pass: the same outputs and gradients as Keras' own RNN, faster."""

import numpy as np
import pytest
import tensorflow as tf
from testlib import small_config

from trainer_module import lstm
from trainer_module.model import build_recognizer

UNITS = 8


def _bidirectional(layer_class):
    return tf.keras.layers.Bidirectional(
        layer_class(tf.keras.layers.LSTMCell(UNITS), return_sequences=True)
    )


@pytest.fixture
def lstm_sequence_calls(monkeypatch):
    """The ``go_backwards`` of every call to ``lstm.lstm_sequence``, which still runs."""
    calls = []
    original = lstm.lstm_sequence

    def spy(*args, **kwargs):
        calls.append(kwargs["go_backwards"])
        return original(*args, **kwargs)

    monkeypatch.setattr(lstm, "lstm_sequence", spy)
    return calls


@pytest.mark.parametrize("padded", [True, False])
def test_two_bilstms_match_keras_rnn_in_outputs_and_every_gradient(padded):
    rng = np.random.default_rng(4)
    inputs = tf.constant(rng.normal(size=(3, 9, 5)).astype("float32"))
    mask = tf.sequence_mask([9, 4, 6], 9) if padded else None
    ours = [_bidirectional(lstm.TrainingLSTM) for _ in range(2)]
    keras = [_bidirectional(tf.keras.layers.RNN) for _ in range(2)]
    for layers in (ours, keras):
        layers[1](layers[0](inputs, mask=mask), mask=mask)  # build
    for mine, theirs in zip(ours, keras, strict=True):
        theirs.set_weights([rng.normal(size=w.shape).astype("float32") for w in mine.weights])
        mine.set_weights(theirs.get_weights())
    upstream = tf.constant(rng.normal(size=(3, 9, 2 * UNITS)).astype("float32"))

    def run(layers):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = layers[1](layers[0](inputs, mask=mask, training=True), mask=mask)
            loss = tf.reduce_sum(outputs * upstream)
        weights = layers[0].trainable_weights + layers[1].trainable_weights
        return outputs, tape.gradient(loss, [inputs, *weights])

    (ours_out, ours_grads), (keras_out, keras_grads) = run(ours), run(keras)
    np.testing.assert_allclose(ours_out, keras_out, atol=1e-5)
    if padded:  # Bidirectional's zero_output_for_mask: masked steps output zeros
        assert not np.any(ours_out.numpy()[1, 4:])
    assert len(ours_grads) == 1 + 2 * 2 * 3  # input; kernel, recurrent kernel, bias x 4 LSTMs
    for mine, theirs in zip(ours_grads, keras_grads, strict=True):
        assert np.abs(theirs.numpy()).max() > 0
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_training_calls_use_lstm_sequence_and_inference_calls_keras_rnn(lstm_sequence_calls):
    calls = lstm_sequence_calls
    model = build_recognizer(small_config().model, num_classes=7)
    inputs = {"image": tf.random.uniform([2, 32, 48, 1], seed=1), "width": tf.constant([48, 30])}
    model(inputs, training=False)
    model(inputs)
    assert calls == []
    model(inputs, training=True)
    assert calls == [False, True] * 2  # two BiLSTMs: forward, backward each


def test_recognizer_gradients_are_keras_rnn_gradients(monkeypatch):
    model = build_recognizer(small_config().model, num_classes=7)
    inputs = {
        "image": tf.random.stateless_uniform([3, 32, 64, 1], seed=[2, 3]),
        "width": tf.constant([64, 40, 24]),
    }
    upstream = tf.random.stateless_normal([3, 16, 7], seed=[4, 5])

    def gradients():
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)["logits"]
            loss = tf.reduce_sum(logits * upstream[:, : tf.shape(logits)[1]])
        return logits, tape.gradient(loss, model.trainable_weights)

    ours_logits, ours = gradients()
    monkeypatch.setattr(
        lstm.TrainingLSTM, "_computes_with_lstm_sequence", lambda self, *args: False
    )
    keras_logits, keras = gradients()
    np.testing.assert_allclose(ours_logits, keras_logits, atol=1e-5)
    for weight, mine, theirs in zip(model.trainable_weights, ours, keras, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-3, atol=1e-5, err_msg=weight.name)


def test_what_lstm_sequence_does_not_implement_is_left_to_keras(lstm_sequence_calls):
    calls = lstm_sequence_calls
    inputs = tf.random.stateless_normal([2, 5, 3], seed=[6, 7])

    def layer(return_sequences=True, **cell):
        return lstm.TrainingLSTM(
            tf.keras.layers.LSTMCell(4, **cell),
            return_sequences=return_sequences,
            zero_output_for_mask=True,
        )

    assert layer()(inputs, training=True).shape == (2, 5, 4)
    assert len(calls) == 1  # the plain case is its own
    assert layer(dropout=0.5)(inputs, training=True).shape == (2, 5, 4)
    assert layer(recurrent_dropout=0.5)(inputs, training=True).shape == (2, 5, 4)
    assert layer(activation="relu")(inputs, training=True).shape == (2, 5, 4)
    assert layer(return_sequences=False)(inputs, training=True).shape == (2, 4)
    states = [tf.ones([2, 4])] * 2
    assert layer()(inputs, initial_state=states, training=True).shape == (2, 5, 4)
    assert len(calls) == 1


def test_a_model_with_it_round_trips_through_keras_config():
    layer = _bidirectional(lstm.TrainingLSTM)
    copy = tf.keras.layers.Bidirectional.from_config(layer.get_config())
    assert type(copy.forward_layer) is type(copy.backward_layer) is lstm.TrainingLSTM
    assert copy.backward_layer.go_backwards and not copy.forward_layer.go_backwards
