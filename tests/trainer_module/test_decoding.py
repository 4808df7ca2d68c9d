"""CTC decoding: greedy and beam search, top-k paths, confidences."""

import numpy as np
import pytest
import tensorflow as tf

from trainer_module import decoding

UNITS = decoding.units_table(("a", "b", "c"))  # ids 0..2, blank = 3
BLANK = 3


def _logits(path: list[int], certainty: float = 8.0, classes: int = 4) -> np.ndarray:
    """One line whose per-step best class follows ``path``."""
    logits = np.zeros([len(path), classes], np.float32)
    logits[np.arange(len(path)), path] = certainty
    return logits


def test_greedy_merges_repeats_and_splits_on_blanks():
    paths = [[0, 0, BLANK, 0, 1, 1, BLANK], [2, BLANK, BLANK, BLANK, BLANK, BLANK, BLANK]]
    logits = tf.constant(np.stack([_logits(p) for p in paths]))
    result = decoding.greedy_decode(logits, tf.constant([7, 7]), UNITS)
    assert [t.decode() for t in result["text"].numpy()] == ["aab", "c"]
    assert (result["confidence"].numpy() > 0.99).all()


def test_greedy_ignores_steps_beyond_the_logit_length():
    logits = tf.constant(_logits([0, 1, 2, 2])[None])
    result = decoding.greedy_decode(logits, tf.constant([2]), UNITS)
    assert result["text"].numpy()[0] == b"ab"


def test_confidence_drops_when_a_step_hesitates():
    sure = _logits([0, BLANK, 1])
    unsure = sure.copy()
    unsure[1] = [0.0, 0.0, 0.0, 0.2]
    logits = tf.constant(np.stack([sure, unsure]))
    confidence = decoding.greedy_decode(logits, tf.constant([3, 3]), UNITS)["confidence"].numpy()
    assert confidence[0] > 0.99 > 0.8 > confidence[1] > 0


def test_beam_returns_top_k_ranked_paths_and_a_gap_confidence():
    clear = _logits([0, BLANK, 1])
    ambiguous = _logits([0, BLANK, 1])
    ambiguous[2] = [0.0, 2.0, 2.0, 0.0]  # "ab" and "ac" equally likely
    logits = tf.constant(np.stack([clear, ambiguous]))
    result = decoding.beam_decode(logits, tf.constant([3, 3]), UNITS, beam_width=5, top_paths=3)
    assert result["top_k_text"].shape == (2, 3)
    assert result["text"].numpy()[0] == b"ab"
    assert set(result["top_k_text"].numpy()[1, :2]) == {b"ab", b"ac"}
    log_probs = result["top_k_log_prob"].numpy()
    assert (np.diff(log_probs, axis=1) <= 1e-6).all()
    confidence = result["confidence"].numpy()
    assert confidence[0] > 0.9
    assert confidence[1] == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("decoder", ["greedy", "beam"])
def test_both_decoders_give_the_same_outputs(decoder):
    logits = tf.constant(_logits([2, 2, BLANK, 2])[None])
    result = decoding.decode(logits, tf.constant([4]), UNITS, decoder, beam_width=4, top_paths=2)
    assert set(result) == {"text", "top_k_text", "top_k_log_prob", "confidence"}
    assert result["text"].numpy()[0] == b"cc"
    assert result["top_k_text"].shape[1] == (2 if decoder == "beam" else 1)
