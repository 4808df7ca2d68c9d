"""Alphabet: tf.crnn lookup files, unit-format labels, case folding, unknown units."""

import json

import pytest

from pipeline.config import AlphabetConfig
from trainer_module.alphabet import (
    Alphabet,
    UnknownUnitsError,
    check_labels,
    label_text,
    split_units,
)

TEXT = AlphabetConfig()


def test_tf_crnn_lookup_file_with_multi_character_units(tmp_path):
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps({"a": 2, "b": 0, "abbr": 1}))
    alphabet = Alphabet.from_lookup_file(path)
    assert alphabet.units == ("b", "abbr", "a")
    assert alphabet.encode("|a|b|abbr|", TEXT) == [2, 0, 1]
    assert alphabet.blank_id == 3 and alphabet.num_classes == 4
    assert alphabet.decode([2, 3, 1]) == "aabbr"  # the blank (3) is skipped


def test_unit_labels_and_plain_text():
    assert split_units("|a|b|abbr|", TEXT) == ["a", "b", "abbr"]
    assert split_units("ab c", TEXT) == ["a", "b", " ", "c"]
    assert split_units("|x", TEXT) == ["|", "x"]  # not wrapped in separators: plain text
    assert split_units("|a|b|", AlphabetConfig(label_format="text")) == list("|a|b|")
    assert label_text("|a|b|abbr|", TEXT) == "ababbr"


def test_case_folding_applies_before_encoding():
    config = AlphabetConfig(case_fold="lower")
    alphabet = Alphabet.from_string("abc")
    assert alphabet.encode("CaB", config) == [2, 0, 1]
    assert Alphabet.from_labels(["Hello", "HELLO"], config).units == ("e", "h", "l", "o")


def test_alphabet_from_labels_is_sorted_and_stable():
    first = Alphabet.from_labels(["cab", "bed"], TEXT)
    second = Alphabet.from_labels(["bed", "cab", "abc"], TEXT)
    assert first.units == second.units == ("a", "b", "c", "d", "e")


def test_unknown_units_error_lists_each_with_count_and_a_sample_row():
    alphabet = Alphabet.from_string("abc")
    rows = [("train.csv:1", "abc"), ("train.csv:2", "abx"), ("train.csv:3", "xyz")]
    with pytest.raises(UnknownUnitsError) as error:
        check_labels(rows, alphabet, TEXT)
    message = str(error.value)
    assert "3 unit(s) outside the alphabet" in message
    assert "'x': 2 time(s), e.g. train.csv:2 'abx'" in message
    assert "'y': 1 time(s), e.g. train.csv:3 'xyz'" in message
    assert 'alphabet.unknown to "drop" or "map"' in message


def test_unknown_units_drop_and_map_policies():
    alphabet = Alphabet.from_string("ab?")
    assert alphabet.encode("axb", AlphabetConfig(unknown="drop")) == [0, 1]
    assert alphabet.encode("axb", AlphabetConfig(unknown="map", replacement="?")) == [0, 2, 1]
    check_labels([("r", "axb")], alphabet, AlphabetConfig(unknown="drop"))  # no error
    with pytest.raises(UnknownUnitsError, match="'x' outside the alphabet"):
        alphabet.encode("axb", TEXT)


def test_map_replacement_must_be_in_the_alphabet():
    config = AlphabetConfig(characters="abc", unknown="map", replacement="?")
    with pytest.raises(ValueError, match="replacement '\\?' is not in the alphabet"):
        Alphabet.from_config(config)


def test_lookup_round_trip_and_bad_files(tmp_path):
    alphabet = Alphabet.from_string("hello world")
    path = tmp_path / "alphabet.json"
    alphabet.save(path)
    assert Alphabet.from_lookup_file(path) == alphabet
    path.write_text('{"a": 0, "b": 0}')
    with pytest.raises(ValueError, match="two units share a code"):
        Alphabet.from_lookup_file(path)
    with pytest.raises(ValueError, match="duplicate units"):
        Alphabet(("a", "a"))


@pytest.mark.parametrize(
    "config",
    [
        AlphabetConfig(),
        AlphabetConfig(case_fold="lower"),
        AlphabetConfig(case_fold="upper"),
        AlphabetConfig(label_format="text"),
        AlphabetConfig(label_format="units"),
        AlphabetConfig(unit_separator="::"),
    ],
    ids=["auto", "lower", "upper", "text", "units", "long-separator"],
)
def test_the_tensorflow_split_matches_the_python_split(config):
    import tensorflow as tf

    from trainer_module.alphabet import split_units_tf

    labels = [
        "|a|b|abbr|",
        "ab c",
        "|x",
        "||",
        "|||",
        "Ünïcode é",
        "|é|ab|",
        "",
        "é|x|é",
        "::a::bc::",
    ]
    got = split_units_tf(tf.constant(labels), config).to_list()
    assert [[unit.decode() for unit in row] for row in got] == [
        split_units(label, config) for label in labels
    ]
