"""A CRNN configuration small enough for fast tests (importable by name: `from small_model import
small_config`; conftest modules are not importable reliably when several exist)."""

from pipeline.config import CrnnConfig, load_config

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
