"""What every line reader returns: the SavedModel's (``serving.model``), ONNX Runtime's
(``serving.onnx_model``) and the language-model decoder's (``serving.char_lm``). No TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float
    top_k: tuple[str, ...]
