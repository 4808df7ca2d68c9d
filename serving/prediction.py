"""What every line reader returns: the SavedModel's (``serving.model``), ONNX Runtime's
(``serving.onnx_model``) and the language-model decoder's (``serving.char_lm``), and how both
readers batch lines of like widths (``predict_by_width``). No TensorFlow."""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from PIL import Image


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float
    top_k: tuple[str, ...]
    top_k_log_prob: tuple[float, ...] = ()  # the decoder's score of each top_k path, when known


def predict_by_width(
    predict: Callable[[Sequence[bytes]], list[Prediction]],
    images: Sequence[bytes],
    batch_size: int,
) -> tuple[list[Prediction], float]:
    """``predict`` on batches of lines of like widths; the predictions in ``images``' order and
    the seconds it took, ordering included.

    A batch is padded to its widest line, so the network's work grows with the widest line, not
    with each line's own width. Lines sorted by aspect ratio (width/height, from the image
    header) before batching, as PaddleOCR's recognizer does, waste less of it on padding.
    """
    started = time.perf_counter()
    order = sorted(range(len(images)), key=lambda i: aspect_ratio(images[i]))
    predictions: list[Prediction | None] = [None] * len(images)
    for indices in batched(order, batch_size):
        for i, prediction in zip(indices, predict([images[i] for i in indices]), strict=True):
            predictions[i] = prediction
    return predictions, time.perf_counter() - started


def aspect_ratio(image: bytes) -> float:
    """Width/height from the image header (no decoding); infinity when the header cannot be read,
    so such images come last and ``predict`` reports them."""
    try:
        with Image.open(io.BytesIO(image)) as opened:
            width, height = opened.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return math.inf
    return width / height if height else math.inf


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
