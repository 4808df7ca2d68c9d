"""A pushed model, ready to read lines: load it once, predict batches of encoded images.

Every serving tool (evaluate, predict, the REST server, the report) goes through this module,
and through the model's ``predict_images`` signature, so they all read lines exactly as the
exported graph does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from components.serving_layout import resolve_model_dir
from pipeline.config import CrnnConfig
from trainer_module import export
from trainer_module.alphabet import Alphabet, label_text

SIGNATURE = "predict_images"


@dataclass(frozen=True)
class Prediction:
    text: str
    confidence: float
    top_k: tuple[str, ...]


class Recognizer:
    """The newest version under a push directory (or a SavedModel folder), loaded once;
    predictions corrected to a lexicon when one is given (``serving.lexicon``)."""

    def __init__(self, model_dir: str | Path, lexicon=None):
        self.lexicon = lexicon
        self.model_dir = resolve_model_dir(str(model_dir))
        self.alphabet: Alphabet
        self.config: CrnnConfig
        self.alphabet, self.config = export.read_assets(self.model_dir)
        self._predict = tf.saved_model.load(self.model_dir).signatures[SIGNATURE]

    @property
    def version(self) -> str:
        return Path(self.model_dir).name

    def reference(self, label: str) -> str:
        """A label as the model is expected to read it (units joined, case folded)."""
        return label_text(label, self.config.alphabet)

    def predict(self, images: Sequence[bytes]) -> list[Prediction]:
        """One batch of encoded PNG/JPEG/GIF/BMP images."""
        if not images:
            return []
        outputs = self._predict(images=tf.constant(list(images)))
        texts = outputs["text"].numpy()
        confidences = outputs["confidence"].numpy()
        top_k = outputs["top_k_text"].numpy()
        predictions = []
        for text, confidence, alternatives in zip(texts, confidences, top_k, strict=True):
            alternatives = tuple(alternative.decode("utf-8") for alternative in alternatives)
            text = text.decode("utf-8")
            if self.lexicon is not None:
                text = self.lexicon.correct(text, alternatives, float(confidence))
            predictions.append(Prediction(text, float(confidence), alternatives))
        return predictions

    def predict_all(
        self, images: Sequence[bytes], batch_size: int = 64
    ) -> tuple[list[Prediction], float]:
        """Predictions for any number of images, and the seconds spent in the model."""
        predictions, seconds = [], 0.0
        for batch in batched(images, batch_size):
            started = time.perf_counter()
            predictions.extend(self.predict(batch))
            seconds += time.perf_counter() - started
        return predictions, seconds


def load_lexicon(path: str | None):
    """The lexicon at ``path`` (None without one); ValueError names a file that cannot be read."""
    if not path:
        return None
    from serving.lexicon import Lexicon

    return Lexicon.load(path)


def batched(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
