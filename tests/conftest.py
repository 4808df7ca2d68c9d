"""Shared fixtures: real generated line images and a small CRNN configuration for fast tests."""

from pathlib import Path

import pytest

from pipeline.config import CrnnConfig, load_config
from tools import synth_lines

SMALL_CNN = (
    '[{"filters": 16, "pool": [2, 2]}, {"filters": 32, "pool": [2, 2]},'
    ' {"filters": 64, "batch_norm": true, "pool": [2, 1]}, {"filters": 64, "pool": [2, 1]},'
    ' {"filters": 64, "kernel": [2, 2], "padding": "valid", "batch_norm": true}]'
)


def small_config(*overrides: str) -> CrnnConfig:
    """A CRNN small enough to learn a few dozen lines on two CPU cores in well under a minute."""
    return load_config(
        overrides=[
            f"model.conv_layers={SMALL_CNN}",
            "model.rnn_units=64",
            "model.max_width=160",
            "training.batch_size=16",
            "training.learning_rate=0.003",
            "training.lr_schedule=constant",
            *overrides,
        ]
    )


@pytest.fixture(scope="session")
def lines_dir(tmp_path_factory) -> Path:
    """64 generated printed lines (lowercase charset, at most 10 characters)."""
    out = tmp_path_factory.mktemp("lines")
    synth_lines.generate(out, count=64, seed=11, charset="lower", max_tokens=2, max_chars=10)
    return out
