"""A pushed model, ready to read lines: load it once, predict batches of encoded images.

Every serving tool (evaluate, predict, the REST server, the report) goes through this module,
and through the model's ``predict_images`` signature, so they all read lines exactly as the
exported graph does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import tensorflow as tf

from components.serving_layout import resolve_model_dir
from pipeline.config import CrnnConfig
from serving import char_lm
from serving.prediction import Prediction, aspect_ratio, batched, predict_by_width
from trainer_module import export
from trainer_module import images as line_images
from trainer_module.alphabet import Alphabet, label_text

# Prediction and the batching helpers live in the TF-free serving.prediction; named here too.
__all__ = [
    "Prediction",
    "Recognizer",
    "aspect_ratio",
    "batched",
    "load_lexicon",
    "predict_by_width",
    "read_image",
]

SIGNATURE = "predict_images"
LOG_PROBS_SIGNATURE = "predict_log_probs"


def read_image(path: str | Path, max_pixels: int | None = None) -> tuple[bytes | None, str | None]:
    """A line image file's bytes, or None and why it cannot be read: missing, or (with
    ``max_pixels``) a header the model's decode does not take. The pixels are decoded once, by
    the model (``Recognizer.predict`` names a file that fails there)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return None, err.strerror or str(err)
    problem = line_images.inspect_header(data, max_pixels)[0] if max_pixels else None
    return (None, problem) if problem else (data, None)


class Recognizer:
    """The newest version under a push directory (or a SavedModel folder), loaded once.

    With a language model (``lm``, a ``serving.char_lm.CharLM``) lines are decoded by its beam
    search over the ``predict_log_probs`` signature's output instead of the exported decoder;
    with a lexicon (``serving.lexicon``) predictions are then corrected to it."""

    def __init__(
        self,
        model_dir: str | Path,
        lexicon=None,
        lm=None,
        lm_weight: float = char_lm.DEFAULT_WEIGHT,
        lm_bonus: float = char_lm.DEFAULT_BONUS,
        loaded=None,
    ):
        """``loaded``: the SavedModel already loaded by ``tf.saved_model.load`` (the REST
        server's), so that it is not loaded twice."""
        self.lexicon, self.lm, self.lm_weight, self.lm_bonus = lexicon, lm, lm_weight, lm_bonus
        self.model_dir = resolve_model_dir(str(model_dir))
        self.alphabet: Alphabet
        self.config: CrnnConfig
        self.alphabet, self.config = export.read_assets(self.model_dir)
        if loaded is None:
            loaded = tf.saved_model.load(self.model_dir)
        signatures = loaded.signatures
        self._predict = signatures[SIGNATURE]
        if lm is not None:
            if LOG_PROBS_SIGNATURE not in signatures:
                raise ValueError(
                    f"{self.model_dir}: no {LOG_PROBS_SIGNATURE} signature, which --lm decoding "
                    "reads: the model was exported by an older version; export it again "
                    "(trainer_module.export.reexport keeps its weights)"
                )
            self._log_probs = signatures[LOG_PROBS_SIGNATURE]

    @property
    def version(self) -> str:
        return Path(self.model_dir).name

    def reference(self, label: str) -> str:
        """A label as the model is expected to read it (units joined, case folded)."""
        return label_text(label, self.config.alphabet)

    def predict(self, images: Sequence[bytes]) -> list[Prediction]:
        """One batch of encoded PNG/JPEG/GIF/BMP images. ValueError naming the problem when the
        graph's decode fails on a batch of one (a truncated or broken file)."""
        if not images:
            return []
        try:
            predictions = self._read(images) if self.lm is None else self._read_with_lm(images)
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
            if len(images) == 1 and (problem := line_images.decode_problem(images[0])):
                raise ValueError(problem) from None
            raise
        if self.lexicon is None:
            return predictions
        return [
            replace(p, text=self.lexicon.correct(p.text, p.top_k, p.confidence))
            for p in predictions
        ]

    def _read(self, images: Sequence[bytes]) -> list[Prediction]:
        outputs = self._predict(images=tf.constant(list(images)))
        texts = outputs["text"].numpy()
        confidences = outputs["confidence"].numpy()
        top_k = outputs["top_k_text"].numpy()
        top_k_log_prob = outputs["top_k_log_prob"].numpy()
        return [
            Prediction(
                text.decode("utf-8"),
                float(confidence),
                tuple(alternative.decode("utf-8") for alternative in alternatives),
                tuple(map(float, log_probs)),
            )
            for text, confidence, alternatives, log_probs in zip(
                texts, confidences, top_k, top_k_log_prob, strict=True
            )
        ]

    def _read_with_lm(self, images: Sequence[bytes]) -> list[Prediction]:
        outputs = self._log_probs(images=tf.constant(list(images)))
        return char_lm.decode_lines(
            outputs["log_probs"].numpy(),
            outputs["logit_length"].numpy(),
            self.alphabet.units,
            self.lm,
            self.lm_weight,
            self.lm_bonus,
            self.config.evaluation.top_paths,
        )

    def predict_all(
        self, images: Sequence[bytes], batch_size: int = 64
    ) -> tuple[list[Prediction], float]:
        """Predictions for any number of images, in their order, and the seconds spent reading
        them (``predict_by_width``)."""
        return predict_by_width(self.predict, images, batch_size)


def load_lexicon(path: str | None):
    """The lexicon at ``path`` (None without one); ValueError names a file that cannot be read."""
    if not path:
        return None
    from serving.lexicon import Lexicon

    return Lexicon.load(path)
