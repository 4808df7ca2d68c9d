"""Using a pushed model: evaluate, predict, a TF-Serving-compatible REST server, reports."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
