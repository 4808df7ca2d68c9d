"""The CRNN network: tf.crnn's architecture by default, every size configurable."""

import pytest
import tensorflow as tf

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


def test_an_input_height_the_cnn_cannot_reduce_to_one_is_refused():
    with pytest.raises(ValueError, match="input_height=48 leaves a feature map 2 high"):
        build_recognizer(ModelConfig(input_height=48), num_classes=5)
