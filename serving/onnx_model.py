"""Read lines with an exported ONNX model in ONNX Runtime: no TensorFlow at inference.

Preprocessing mirrors ``trainer_module.geometry`` with Pillow and NumPy (decode, transparency on
white, convert to the model's channels, resize to its height keeping the aspect ratio with an
antialiasing bilinear filter, squeeze to ``max_width``, scale to [0, 1], right-pad with zeros);
decoding is greedy CTC with the same confidence as the SavedModel's greedy decoder (geometric
mean of per-step best probabilities), or ``serving.char_lm``'s beam search with a language model.
The parity test bounds how far this path may drift from the SavedModel.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image

from pipeline.config import CrnnConfig
from serving import char_lm
from serving.onnx_export import ALPHABET_KEY, CONFIG_KEY
from serving.prediction import Prediction, predict_by_width
from trainer_module.alphabet import Alphabet


def on_white(image: Image.Image) -> Image.Image:
    """Transparency composited on white, as ``trainer_module.images.decode`` does (a transparent
    PNG's hidden colour is often black)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")
    return image


class OnnxRecognizer:
    """An ONNX export in ONNX Runtime; with a language model (``lm``, a
    ``serving.char_lm.CharLM``) lines are decoded by its beam search instead of greedily."""

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        lm=None,
        lm_weight: float = char_lm.DEFAULT_WEIGHT,
        lm_bonus: float = char_lm.DEFAULT_BONUS,
    ):
        self.path = Path(path)
        self.lm, self.lm_weight, self.lm_bonus = lm, lm_weight, lm_bonus
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        metadata = self.session.get_modelmeta().custom_metadata_map
        lookup = json.loads(metadata[ALPHABET_KEY])
        self.alphabet = Alphabet(tuple(sorted(lookup, key=lookup.__getitem__)))
        self.config = CrnnConfig.from_json(metadata[CONFIG_KEY], str(path))

    def prepare(self, images: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Encoded images -> (float32 [batch, height, batch width, channels], int32 widths)."""
        model = self.config.model
        mode = "L" if model.channels == 1 else "RGB"
        arrays = []
        for data in images:
            with Image.open(io.BytesIO(data)) as image:
                image = on_white(image).convert(mode)
                natural = max(1, round(image.width * model.input_height / image.height))
                width = min(natural, model.max_width)
                resized = image.resize((width, model.input_height), Image.BILINEAR)
            array = np.asarray(resized, dtype=np.float32) / 255.0
            arrays.append(array.reshape(model.input_height, width, model.channels))
        widths = np.array([a.shape[1] for a in arrays], np.int32)
        batch = np.zeros(
            (len(arrays), model.input_height, widths.max(), model.channels), np.float32
        )
        for i, array in enumerate(arrays):
            batch[i, :, : array.shape[1]] = array
        return batch, widths

    def logits(self, image: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, lengths = self.session.run(
            ["logits", "logit_length"], {"image": image, "width": width}
        )
        return logits, lengths

    def predict(self, images: Sequence[bytes]) -> list[Prediction]:
        if not images:
            return []
        logits, lengths = self.logits(*self.prepare(images))
        if self.lm is None:
            return greedy_decode(logits, lengths, self.alphabet)
        return char_lm.decode_lines(
            log_softmax(logits),
            lengths,
            self.alphabet.units,
            self.lm,
            self.lm_weight,
            self.lm_bonus,
            self.config.evaluation.top_paths,
        )

    def predict_all(
        self, images: Sequence[bytes], batch_size: int = 64
    ) -> tuple[list[Prediction], float]:
        """As ``Recognizer.predict_all``: batches of lines of like widths, results in order."""
        return predict_by_width(self.predict, images, batch_size)


def greedy_decode(logits: np.ndarray, lengths: np.ndarray, alphabet: Alphabet) -> list[Prediction]:
    """Best path per line: merge repeats, drop blanks; confidence as the SavedModel's greedy."""
    predictions = []
    for line, length in zip(log_softmax(logits), lengths, strict=True):
        line = line[: max(int(length), 0)]
        best = line.argmax(axis=-1)
        kept = [
            c for i, c in enumerate(best) if (i == 0 or c != best[i - 1]) and c != alphabet.blank_id
        ]
        confidence = float(np.exp(line.max(axis=-1).mean())) if len(line) else 0.0
        text = alphabet.decode(kept)
        predictions.append(Prediction(text, confidence, (text,)))
    return predictions


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
