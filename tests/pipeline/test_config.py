"""The typed configuration schema: defaults, JSON files, overrides, and clear errors."""

import json
import random
from pathlib import Path

import pytest

from pipeline.config import ConfigError, CrnnConfig, load_config
from tools import synth_lines
from trainer_module import geometry


def _write(tmp_path, content: str):
    path = tmp_path / "config.json"
    path.write_text(content)
    return path


def test_defaults_are_tf_crnn():
    config = load_config()
    assert config.model.input_height == 32
    assert [layer.filters for layer in config.model.conv_layers] == [
        64,
        128,
        256,
        256,
        512,
        512,
        512,
    ]
    assert [layer.batch_norm for layer in config.model.conv_layers] == [
        False,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    assert config.model.rnn_units == 256 and config.model.rnn_layers == 2
    assert config.training.train_steps == 2000 and config.training.epochs is None


def test_a_partial_file_keeps_every_other_default(tmp_path):
    path = _write(
        tmp_path, json.dumps({"model": {"rnn_units": 128}, "evaluation": {"decoder": "greedy"}})
    )
    config = load_config(path)
    assert config.model.rnn_units == 128
    assert config.evaluation.decoder == "greedy"
    assert config.model.input_height == 32


def test_overrides_apply_on_top_of_the_file_with_json_values(tmp_path):
    path = _write(tmp_path, json.dumps({"training": {"learning_rate": 0.1}}))
    config = load_config(
        path,
        [
            "training.learning_rate=0.003",
            "augmentation.noise.enabled=false",
            "pipeline.name=my-ocr",
        ],
    )
    assert config.training.learning_rate == 0.003
    assert config.augmentation.noise.enabled is False
    assert config.pipeline.name == "my-ocr"


def test_epochs_replace_the_default_step_count():
    config = load_config(overrides=["training.epochs=3"])
    assert config.training.epochs == 3 and config.training.train_steps is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            '{"model": {"rnn_unit": 12}}',
            "unknown key 'model.rnn_unit' (did you mean 'model.rnn_units'?)",
        ),
        ('{"modle": {}}', "unknown key 'modle' (did you mean 'model'?)"),
        (
            '{"model": {"conv_layers": [{"filters": 8, "krnel": [3, 3]}]}}',
            "unknown key 'model.conv_layers.0.krnel' (did you mean 'model.conv_layers.0.kernel'?)",
        ),
        ('{"model": {"rnn_units": "many"}}', "'model.rnn_units': Input should be a valid integer"),
        ('{"model": {"rnn_units": 12,}}', "not valid JSON at line 1 column 28"),
        ("[1, 2]", "the config must be a JSON object"),
        ('{"training": {"epochs": 2, "train_steps": 5}}', "not both"),
        ('{"pipeline": {"name": "My_Pipeline"}}', "Kubeflow Pipelines v2 rule"),
        ('{"evaluation": {"beam_width": 2, "top_paths": 3}}', "top_paths cannot exceed beam_width"),
        ('{"alphabet": {"unknown": "map"}}', "needs a replacement unit"),
    ],
)
def test_bad_config_files_name_the_file_the_key_and_the_problem(tmp_path, content, expected):
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert expected in str(error.value)


def test_a_missing_file_and_a_malformed_override_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match=r"expected section\.key=value"):
        load_config(overrides=["model.rnn_units"])
    with pytest.raises(ConfigError, match=r"unknown key 'training\.lr'"):
        load_config(overrides=["training.lr=1"])


def test_json_round_trip():
    config = load_config(overrides=["model.channels=3", "alphabet.characters=abc"])
    assert CrnnConfig.from_json(config.to_json()) == config


PROFILES = sorted((Path(__file__).parents[2] / "pipeline" / "configs").glob("*.json"))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda path: path.stem)
def test_profiles_read_printed_text_of_every_case_and_punctuation(profile):
    synthetic = load_config(profile).data.synthetic
    chars = synth_lines.resolve_charset(synthetic.charset)
    assert synthetic.charset != "lower" and synthetic.text_style == "print"
    assert set(synth_lines.CHARSETS["full"]) <= set(chars)
    assert synthetic.scan_share > 0


def test_the_standard_profile_reads_a_full_page_line_unsqueezed():
    """A 100-character line in the widest training face, drawn at the generator's tallest
    height, fits the standard profile's width and gives CTC the time steps its label needs."""
    config = load_config(PROFILES[[p.stem for p in PROFILES].index("standard")])
    synthetic, model = config.data.synthetic, config.model
    assert synthetic.max_chars >= 100
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
    text = ("Wm@" * 34)[: synthetic.max_chars]  # wide glyphs, and repeats CTC needs blanks for
    for seed in range(5):  # heights, margins and rotations vary line by line
        image = synth_lines.render_line(text, font, random.Random(seed))
        _, squeezed = geometry.resized_width(image.height, image.width, model)
        assert not squeezed, f"{image.width}x{image.height} squeezed into {model.max_width}"
        ids = [ord(char) for char in text]
        assert geometry.label_fit_problem(image.height, image.width, ids, model) is None
