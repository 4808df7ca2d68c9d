"""Shared fixtures: real generated line images and a small CRNN configuration for fast tests."""

from pathlib import Path

import pytest
from testlib import small_config

from tools import synth_lines


@pytest.fixture(scope="session")
def lines_dir(tmp_path_factory) -> Path:
    """64 generated printed lines (lowercase charset, at most 10 characters)."""
    out = tmp_path_factory.mktemp("lines")
    synth_lines.generate(
        out, count=64, seed=11, charset="lower", text_style="tokens", max_tokens=2, max_chars=10
    )
    return out


@pytest.fixture(scope="session")
def trained(lines_dir, tmp_path_factory):
    """The small CRNN trained for 500 steps on the 64 generated lines (it reads them all) and
    exported: (standalone result, config, CSV rows)."""
    from trainer_module import data, standalone

    out = tmp_path_factory.mktemp("trained")
    config = small_config(
        "training.train_steps=500",
        "training.steps_per_evaluation=100",
        "augmentation.enabled=false",
    )
    csv = lines_dir / "labels.csv"
    result = standalone.train_from_csv(csv, csv, config, out)
    return result, config, data.read_csv_rows(csv)


@pytest.fixture(scope="session")
def reader(tmp_path_factory):
    """A small CRNN trained on 512 generated lines: it reads new renderings of the words it has
    seen mostly right (a few CER points), the model a lexicon or a language model is meant for.
    The session's 64-line ``trained`` model reads them at 40-50% CER, where the nearest entry
    is often the wrong word and whether a lexicon helps depends on the training run."""
    from trainer_module import data, standalone

    out = tmp_path_factory.mktemp("reader")
    synth_lines.generate(
        out, count=512, seed=11, charset="lower", text_style="tokens", max_tokens=2, max_chars=10
    )
    config = small_config(
        "training.train_steps=1000",
        "training.steps_per_evaluation=100",
        "augmentation.enabled=false",
    )
    csv = out / "labels.csv"
    return standalone.train_from_csv(csv, csv, config, out / "trained"), data.read_csv_rows(csv)
