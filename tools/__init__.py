"""Command-line tools around the pipeline: the synthetic printed-line generator, set-up scripts."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
