"""Speed and accuracy benchmarks; results go to BENCHMARKS.md."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
