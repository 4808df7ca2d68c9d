"""CTC decoding: logits -> text, the top-k alternatives, and a per-line confidence.

Greedy decoding takes the best class at every step. Its confidence is the geometric mean of the
per-step best-class probabilities over the line's valid steps: 1.0 when every step is certain,
lower as any step hesitates, and comparable between short and long lines.

Beam search keeps ``beam_width`` prefixes and returns ``top_paths`` texts with their
log-probabilities. Its confidence generalises tf.crnn's log-probability gap between the best and
second path: the best path's share of the probability of the returned paths,
``1 / sum_k exp(logp_k - logp_best)`` (for two paths, the logistic of the gap). It is 1.0 when
the alternatives are negligible and 1/k when all k paths are equally likely.
"""

from __future__ import annotations

import tensorflow as tf


def units_table(units: tuple[str, ...]) -> tf.Tensor:
    """Unit strings indexed by id; the blank id (last) maps to the empty string."""
    return tf.constant([*units, ""], dtype=tf.string)


def _texts(sparse_ids: tf.SparseTensor, units: tf.Tensor) -> tf.Tensor:
    """Decoder output ([batch, max_length] sparse ids) -> one string per line."""
    blank = tf.cast(tf.shape(units)[0] - 1, tf.int64)
    dense = tf.sparse.to_dense(sparse_ids, default_value=blank)
    return tf.strings.reduce_join(tf.gather(units, dense), axis=-1)


def greedy_decode(logits: tf.Tensor, logit_length: tf.Tensor, units: tf.Tensor) -> dict:
    """Best-path decoding. Returns ``text`` [batch], ``confidence`` [batch] and
    ``log_prob`` [batch], the log-probability of the best path."""
    logits = tf.cast(logits, tf.float32)
    blank = logits.shape[-1] - 1  # static: the output layer's width
    decoded, _ = tf.nn.ctc_greedy_decoder(
        tf.transpose(logits, [1, 0, 2]), logit_length, merge_repeated=True, blank_index=blank
    )
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    best = tf.reduce_max(log_probs, axis=-1)
    valid = tf.sequence_mask(logit_length, tf.shape(logits)[1], dtype=tf.float32)
    path_log_prob = tf.reduce_sum(best * valid, axis=1)
    mean_log_prob = path_log_prob / tf.maximum(tf.reduce_sum(valid, axis=1), 1.0)
    return {
        "text": _texts(decoded[0], units),
        "confidence": tf.exp(mean_log_prob),
        "log_prob": path_log_prob,
    }


def beam_decode(
    logits: tf.Tensor, logit_length: tf.Tensor, units: tf.Tensor, beam_width: int, top_paths: int
) -> dict:
    """Beam search. Returns ``text`` [batch], ``top_k_text`` [batch, top_paths],
    ``top_k_log_prob`` [batch, top_paths] and ``confidence`` [batch]."""
    logits = tf.cast(logits, tf.float32)
    # The op's blank is the last class, as in this project's alphabet.
    decoded, log_probs = tf.nn.ctc_beam_search_decoder(
        tf.transpose(tf.nn.log_softmax(logits, axis=-1), [1, 0, 2]),
        logit_length,
        beam_width=beam_width,
        top_paths=top_paths,
    )
    top_k = tf.stack([_texts(path, units) for path in decoded], axis=1)
    gaps = log_probs - log_probs[:, :1]
    return {
        "text": top_k[:, 0],
        "top_k_text": top_k,
        "top_k_log_prob": log_probs,
        "confidence": 1.0 / tf.reduce_sum(tf.exp(gaps), axis=1),
    }


def decode(logits, logit_length, units: tf.Tensor, decoder: str, beam_width: int, top_paths: int):
    """Greedy or beam decoding with the same outputs: text, top_k_text, top_k_log_prob,
    confidence. Greedy fills top_k_text with its single path (k = 1)."""
    if decoder == "beam":
        return beam_decode(logits, logit_length, units, beam_width, top_paths)
    result = greedy_decode(logits, logit_length, units)
    return {
        "text": result["text"],
        "top_k_text": result["text"][:, None],
        "top_k_log_prob": result["log_prob"][:, None],
        "confidence": result["confidence"],
    }
