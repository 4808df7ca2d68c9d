"""The CRNN network: tf.crnn's architecture by default, every size configurable."""

import numpy as np
import pytest
import tensorflow as tf
from testlib import small_config

from pipeline.config import ModelConfig, load_config
from trainer_module.model import build_recognizer


def test_default_is_tf_crnn_with_about_8_7_million_parameters():
    model = build_recognizer(ModelConfig(), num_classes=37)
    assert model.count_params() == 8_721_445  # paper: about 8.3 M; tf.crnn's BN layers add a few
    convs = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 256, 512, 512, 512]
    assert convs[-1].kernel_size == (2, 2) and convs[-1].padding == "valid"
    norms = [
        layer.name
        for layer in model.layers
        if isinstance(layer, tf.keras.layers.BatchNormalization)
    ]
    assert norms == ["bn3", "bn5", "bn7"]
    lstms = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Bidirectional)]
    assert len(lstms) == 2
    assert all(layer.forward_layer.cell.units == 256 for layer in lstms)
    assert model.get_layer("logits").units == 37


def test_sizes_come_from_the_config():
    config = load_config(
        overrides=[
            "model.rnn_units=32",
            "model.rnn_layers=1",
            "model.channels=3",
            "model.dropout=0.2",
        ]
    ).model
    model = build_recognizer(config, num_classes=11)
    lstms = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Bidirectional)]
    assert len(lstms) == 1 and lstms[0].forward_layer.cell.units == 32
    assert model.input["image"].shape[-1] == 3
    assert build_recognizer(config, 11).count_params() < 8_000_000


def test_dropout_between_the_lstms_and_before_the_output_layer_together():
    # Both used to be named "dropout" (Keras' automatic name and the explicit one) and the
    # model failed to build when a config set both.
    config = small_config("model.rnn_layers=3", "model.rnn_dropout=0.5", "model.dropout=0.5").model
    model = build_recognizer(config, num_classes=7)
    dropouts = [layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dropout)]
    assert [(d.name, d.rate) for d in dropouts] == [
        ("rnn_dropout1", 0.5),
        ("rnn_dropout2", 0.5),
        ("dropout", 0.5),
    ]
    inputs = {
        "image": tf.random.uniform([2, config.input_height, 64, 1], seed=3),
        "width": tf.constant([64, 40]),
    }
    inference = [model(inputs, training=False)["logits"].numpy() for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])  # dropout off at inference
    training = model(inputs, training=True)["logits"].numpy()
    assert not np.allclose(training, inference[0])  # and on in training


def test_an_input_height_the_cnn_cannot_reduce_to_one_is_refused():
    with pytest.raises(ValueError, match="input_height=48 leaves a feature map 2 high"):
        build_recognizer(ModelConfig(input_height=48), num_classes=5)


def test_a_lines_logits_do_not_depend_on_the_wider_lines_beside_it():
    """Batch norm's shift turns zero padding into values; the padding columns are zeroed again
    after each block, so a line reads the same alone as beside a wider line."""
    config = small_config().model
    model = build_recognizer(config, num_classes=11)
    rng = np.random.default_rng(3)
    for layer in model.layers:  # trained-like batch norm statistics (fresh ones map 0 to 0)
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()])
    narrow = rng.uniform(0, 1, (1, config.input_height, 40, 1)).astype("float32")
    wide = rng.uniform(0, 1, (1, config.input_height, 120, 1)).astype("float32")
    alone = model({"image": narrow, "width": tf.constant([40])}, training=False)
    padded = np.concatenate([np.pad(narrow, [(0, 0), (0, 0), (0, 80), (0, 0)]), wide])
    beside = model({"image": padded, "width": tf.constant([40, 120])}, training=False)
    steps = int(alone["logit_length"][0])
    assert int(beside["logit_length"][0]) == steps
    np.testing.assert_allclose(
        beside["logits"][0, :steps].numpy(), alone["logits"][0, :steps].numpy(), atol=1e-5
    )
