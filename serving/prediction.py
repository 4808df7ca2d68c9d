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
    the seconds it took, ordering included. ValueError when the model fails on an image.

    A batch is padded to its widest line, so the network's work grows with the widest line, not
    with each line's own width. Lines sorted by aspect ratio (width/height, from the image
    header) before batching, as PaddleOCR's recognizer does, waste less of it on padding.
    """
    results, seconds = predict_each(predict, images, batch_size)
    failed = [(i, result) for i, result in enumerate(results) if isinstance(result, str)]
    if failed:
        raise ValueError(f"image {failed[0][0]}: {failed[0][1]}")
    return results, seconds


def predict_each(
    predict: Callable[[Sequence[bytes]], list[Prediction]],
    images: Sequence[bytes],
    batch_size: int,
) -> tuple[list[Prediction | str], float]:
    """``predict_by_width``, but an image the model fails on gets a message (a str) in its place
    and the others are still read: a batch that fails is read again one image at a time."""
    started = time.perf_counter()
    order = sorted(range(len(images)), key=lambda i: aspect_ratio(images[i]))
    results: list[Prediction | str | None] = [None] * len(images)
    for indices in batched(order, batch_size):
        batch = [images[i] for i in indices]
        try:
            predicted = predict(batch)
        except Exception:  # which image? each alone
            predicted = [_predict_one(predict, image) for image in batch]
        for i, result in zip(indices, predicted, strict=True):
            results[i] = result
    return results, time.perf_counter() - started


def _predict_one(predict, image: bytes) -> Prediction | str:
    try:
        return predict([image])[0]
    except ValueError as err:  # the reader names what is wrong with the image
        return str(err)
    except Exception as err:
        return f"the model failed on it ({type(err).__name__})"


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
