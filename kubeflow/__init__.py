"""Kubeflow Pipelines and Vertex AI: compile, submit and schedule the same pipeline."""

import pipeline  # noqa: F401  (Keras 2 and process set-up, before anything imports TensorFlow)
