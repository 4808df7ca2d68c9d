"""Custom TFX components: the CSV + images ExampleGen and the latest-pushed-model lookup."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
