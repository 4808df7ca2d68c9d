"""Test-wide set-up, loaded by pytest before any test module imports TensorFlow."""

import os
from pathlib import Path

import pipeline  # noqa: F401  (Keras 2 and process set-up, exactly as every entry point gets it)

# Beam's multi-processing workers import the project's modules by name, as under local_runner.py.
ROOT = str(Path(__file__).resolve().parent)
os.environ["PYTHONPATH"] = os.pathsep.join(
    dict.fromkeys([ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
)
