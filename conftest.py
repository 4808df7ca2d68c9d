"""Test-wide set-up, loaded by pytest before any test module imports TensorFlow."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, exactly as every entry point gets it)
