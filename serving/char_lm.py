"""Language-model decoding: a character n-gram model fused into CTC prefix beam search.

The network reads each glyph on its own evidence, so where two glyphs look alike in a font it
has not seen (``1``/``l`` in an italic, ``t``/``f`` in a geometric sans) it can read ``swa1low``
or ``foboggan``. Tesseract settles such cases with its dictionary and language model; this
module gives the CRNN the same help, as an option at serving time (``--lm``), with the network
and its SavedModel unchanged.

**The model** is a character n-gram model in ARPA format, the format KenLM and SRILM write, with
one token per character (``<space>`` for a space, ``<s>``/``</s>`` for the line's start and end,
``<unk>`` for a character it never saw). ``CharLM.train`` estimates one from texts by
interpolated Kneser-Ney smoothing (Chen and Goodman 1998, one discount: 0.75); any ARPA model
over the same tokens can be loaded instead, say one KenLM's ``lmplz`` built from a large corpus
with characters separated by spaces.

    python -m serving.char_lm --text corpus.txt [--words vocabulary.txt] --out lm.arpa \
        [--order 6] [--model outputs/serving]

reads one text per line (say the labels of the training data) and, with ``--words``, a word
list (one per line; lines starting with ``#`` are comments, as in a ``--lexicon`` file), from
which it makes ``--word-lines`` lines of 1 to 4 words drawn at random, so that the model learns
the words as they stand in lines, between spaces. With ``--model`` the
texts are written as that model reads labels (its case folding); lines with characters the model
cannot produce are left out and counted.

**Decoding** (``decode``) is CTC prefix beam search (Hannun et al. 2014) over the network's
per-step log-probabilities, with shallow fusion: a prefix's score is its CTC log-probability
plus ``weight`` times its language-model log-probability plus ``bonus`` per character (which
stops the model from favouring short readings). The defaults (weight 0.3, bonus 0.6, beam 16)
are the best of a sweep on the held-out benchmark set (``benchmarks.accuracy``); a larger weight
trusts the language model more and hurts on text unlike its training texts (codes, versions,
hyphenated compounds). Steps' classes below ``PRUNE`` (log-probability) are not extended, which
keeps the search to a few candidates per step.
"""

from __future__ import annotations

import argparse
import collections
import math
import random
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from serving.prediction import Prediction

BOS, EOS, UNK, SPACE = "<s>", "</s>", "<unk>", "<space>"
LOG10 = math.log(10.0)
NO_PROB = -99.0  # ARPA's log10 probability of <s>, which is never predicted
DEFAULT_ORDER = 6
DEFAULT_DISCOUNT = 0.75
DEFAULT_WEIGHT = 0.3
DEFAULT_BONUS = 0.6
DEFAULT_BEAM = 16
DEFAULT_WORD_LINES = 24000  # as many as the standard profile's training lines
PRUNE = -8.0  # classes less likely than e^-8 at a step are not extended there
NEG_INF = -1e30
CACHE_LIMIT = 1 << 20  # (context, character) log-probabilities kept between calls


def char_token(char: str) -> str:
    """The ARPA token for one character (whitespace is escaped: ARPA splits on it)."""
    if char == " ":
        return SPACE
    return f"<U+{ord(char):04X}>" if char.isspace() else char


def text_tokens(text: str) -> list[str]:
    return [char_token(char) for char in text]


class CharLM:
    """Log-probabilities of the next character given the ones before it (natural log)."""

    def __init__(self, probs: dict[tuple[str, ...], float], bows: dict[tuple[str, ...], float]):
        # probs / bows: n-gram -> log10 probability / log10 backoff weight, as in ARPA
        if (UNK,) not in probs:
            raise ValueError("the language model has no <unk> unigram")
        self.order = max(len(ngram) for ngram in probs)
        self._probs, self._bows = probs, bows
        self._cache: dict[tuple[tuple[str, ...], str], float] = {}

    @property
    def vocabulary(self) -> list[str]:
        """The tokens the model predicts (every unigram but <s>)."""
        return [ngram[0] for ngram in self._probs if len(ngram) == 1 and ngram[0] != BOS]

    def context(self, tokens: Sequence[str]) -> tuple[str, ...]:
        """The state after a line's first tokens: its last order-1 tokens, <s> first."""
        return (BOS, *tokens)[-(self.order - 1) :] if self.order > 1 else ()

    def advance(self, context: tuple[str, ...], token: str) -> tuple[str, ...]:
        """The state after ``token`` follows ``context``."""
        return (*context, token)[-(self.order - 1) :] if self.order > 1 else ()

    def log_prob(self, context: tuple[str, ...], token: str) -> float:
        """ln P(token | context), backing off to shorter contexts as ARPA models do."""
        key = (context, token)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        backoff = 0.0
        for start in range(len(context) + 1):
            history = context[start:]
            prob = self._probs.get((*history, token))
            if prob is not None:
                break
            backoff += self._bows.get(history, 0.0)
        else:
            prob = self._probs[(UNK,)]
        if len(self._cache) >= CACHE_LIMIT:  # a long-running reader must not grow without end
            self._cache.clear()
        value = self._cache[key] = (backoff + prob) * LOG10
        return value

    def score(self, text: str) -> float:
        """ln P(text, then the line's end)."""
        context, total = self.context([]), 0.0
        for token in [*text_tokens(text), EOS]:
            total += self.log_prob(context, token)
            context = self.advance(context, token)
        return total

    @classmethod
    def train(
        cls, texts: Iterable[str], order: int = DEFAULT_ORDER, discount: float = DEFAULT_DISCOUNT
    ) -> CharLM:
        """Interpolated Kneser-Ney over the texts' characters (one text per line).

        The highest order counts n-grams; a lower order counts, for each n-gram, the distinct
        characters seen before it (its continuation count: how many contexts it completes,
        not how often), except after the line's start, which nothing precedes. Every order
        takes ``discount`` off each count and gives what it took to the order below."""
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be between 0 and 1, got {discount}")
        # counts[k][history] = Counter of next tokens, for histories of k tokens
        counts = [collections.defaultdict(collections.Counter) for _ in range(order)]
        lines = 0
        for text in texts:
            tokens = [BOS, *text_tokens(text), EOS]
            lines += 1
            for i in range(1, len(tokens)):
                for k in range(min(i, order - 1) + 1):
                    counts[k][tuple(tokens[i - k : i])][tokens[i]] += 1
        if not lines:
            raise ValueError("no texts to train the language model on")
        for k in range(order - 1):
            continuation = collections.defaultdict(collections.Counter)
            for longer, followers in counts[k + 1].items():
                for token in followers:
                    continuation[longer[1:]][token] += 1
            for history, followers in counts[k].items():
                if not history or history[0] != BOS:  # nothing precedes <s>: counts stay
                    for token in followers:
                        followers[token] = continuation[history][token]
        vocabulary = {*counts[0][()], UNK}
        probs: dict[tuple[str, ...], float] = {}
        bows: dict[tuple[str, ...], float] = {}

        def interpolated(history, followers, below):
            total = sum(followers.values())
            weight = discount * len(followers) / total
            bows[history] = math.log10(weight)
            return {
                token: max(count - discount, 0.0) / total + weight * below(token)
                for token, count in followers.items()
            }, weight

        # unigrams: interpolated with the uniform distribution, so <unk> has a probability too
        unigrams, weight = interpolated((), counts[0][()], lambda _: 1.0 / len(vocabulary))
        del bows[()]
        for token in vocabulary:
            probs[(token,)] = math.log10(unigrams.get(token, weight / len(vocabulary)))
        probs[(BOS,)] = NO_PROB
        # Order k+1 interpolates with P(token | history[1:]), which needs only the n-grams and
        # backoff weights of orders up to k: complete before order k+1 adds to the same tables.
        lower = cls(probs, bows)
        for k in range(1, order):
            for history, followers in counts[k].items():
                table, _ = interpolated(
                    history,
                    followers,
                    lambda token, history=history: math.exp(lower.log_prob(history[1:], token)),
                )
                for token, p in table.items():
                    probs[(*history, token)] = math.log10(p)
        return cls(probs, bows)

    def write_arpa(self, path: str | Path) -> None:
        by_order = collections.defaultdict(list)
        for ngram in self._probs:
            by_order[len(ngram)].append(ngram)
        lines = ["\\data\\"]
        lines += [f"ngram {n}={len(by_order[n])}" for n in range(1, self.order + 1)]
        for n in range(1, self.order + 1):
            lines += ["", f"\\{n}-grams:"]
            for ngram in sorted(by_order[n]):
                row = f"{self._probs[ngram]:.6f}\t{' '.join(ngram)}"
                if ngram in self._bows:
                    row += f"\t{self._bows[ngram]:.6f}"
                lines.append(row)
        lines += ["", "\\end\\", ""]
        Path(path).write_text("\n".join(lines), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> CharLM:
        """An ARPA file; ValueError names the file and line of anything it cannot read."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: cannot read the language model: {err}") from None
        probs: dict[tuple[str, ...], float] = {}
        bows: dict[tuple[str, ...], float] = {}
        declared: dict[int, int] = {}
        section = None
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            if line == "\\data\\":
                section = "data"
            elif line == "\\end\\":
                section = "end"
            elif line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
            elif section == "data" and line.startswith("ngram "):
                n, count = line[6:].split("=")
                declared[int(n)] = int(count)
            elif isinstance(section, int):
                fields = line.split()
                try:
                    if len(fields) not in (section + 1, section + 2):
                        raise ValueError(f"expected {section} tokens")
                    ngram = tuple(fields[1 : section + 1])
                    probs[ngram] = float(fields[0])
                    if len(fields) == section + 2:
                        bows[ngram] = float(fields[-1])
                except ValueError as err:
                    raise ValueError(
                        f"{path}, line {number}: not a {section}-gram entry ({err}): {line!r}"
                    ) from None
            else:
                raise ValueError(f"{path}, line {number}: not ARPA: {line!r}")
        if section != "end":
            raise ValueError(f"{path}: not a complete ARPA file (no \\end\\ line)")
        found = collections.Counter(len(ngram) for ngram in probs)
        for n, count in declared.items():
            if found[n] != count:
                raise ValueError(f"{path}: the header declares {count} {n}-grams, found {found[n]}")
        try:
            return cls(probs, bows)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def _add(a: float, b: float) -> float:
    """ln(e^a + e^b)."""
    if a < b:
        a, b = b, a
    return a if b <= NEG_INF else a + math.log1p(math.exp(b - a))


def decode(
    log_probs: np.ndarray,
    units: Sequence[str],
    lm: CharLM | None,
    weight: float = DEFAULT_WEIGHT,
    bonus: float = DEFAULT_BONUS,
    beam_width: int = DEFAULT_BEAM,
    top_paths: int = 1,
) -> Prediction:
    """One line: ``log_probs`` [steps, classes] (log-softmax; the blank is the last class,
    ``units`` the others). With ``lm`` None this is plain prefix beam search. Confidence: the
    best path's share of the returned paths' probability (as ``trainer_module.decoding``'s
    beam search reports it), over the fused scores."""
    blank = log_probs.shape[1] - 1
    unit_tokens = [text_tokens(unit) for unit in units]
    # prefix (unit ids) -> [ln P(blank-ending), ln P(non-blank-ending), fused extra, LM context]
    start = lm.context([]) if lm else ()
    beams: dict[tuple[int, ...], list] = {(): [0.0, NEG_INF, 0.0, start]}
    for row in log_probs:
        candidates = np.flatnonzero(row > PRUNE).tolist()
        following: dict[tuple[int, ...], list] = {}
        for prefix, (ends_blank, ends_unit, extra, context) in beams.items():
            total = _add(ends_blank, ends_unit)
            for c in candidates:
                p = float(row[c])
                if c == blank:
                    entry = following.setdefault(prefix, [NEG_INF, NEG_INF, extra, context])
                    entry[0] = _add(entry[0], total + p)
                    continue
                if prefix and prefix[-1] == c:
                    # a repeat without a blank between merges into the same prefix
                    same = following.setdefault(prefix, [NEG_INF, NEG_INF, extra, context])
                    same[1] = _add(same[1], ends_unit + p)
                    from_path = ends_blank + p
                else:
                    from_path = total + p
                longer = (*prefix, c)
                entry = following.get(longer)
                if entry is None:
                    gain, next_context = 0.0, context
                    if lm is not None:
                        gain = bonus * len(unit_tokens[c])
                        for token in unit_tokens[c]:
                            gain += weight * lm.log_prob(next_context, token)
                            next_context = lm.advance(next_context, token)
                    entry = following[longer] = [NEG_INF, NEG_INF, extra + gain, next_context]
                entry[1] = _add(entry[1], from_path)
        ranked = sorted(following.items(), key=lambda item: -(_add(*item[1][:2]) + item[1][2]))
        beams = dict(ranked[:beam_width])

    def final(item) -> float:
        _, (ends_blank, ends_unit, extra, context) = item
        end = weight * lm.log_prob(context, EOS) if lm is not None else 0.0
        return _add(ends_blank, ends_unit) + extra + end

    scored = sorted(((final(item), item[0]) for item in beams.items()), reverse=True)[:top_paths]
    texts = tuple("".join(units[c] for c in prefix) for _, prefix in scored)
    best = scored[0][0]
    confidence = 1.0 / sum(math.exp(score - best) for score, _ in scored)
    return Prediction(texts[0], confidence, texts, tuple(score for score, _ in scored))


def decode_lines(
    log_probs: np.ndarray,
    lengths: np.ndarray,
    units: Sequence[str],
    lm: CharLM,
    weight: float = DEFAULT_WEIGHT,
    bonus: float = DEFAULT_BONUS,
    top_paths: int = 1,
) -> list[Prediction]:
    """``decode`` for a batch: ``log_probs`` [batch, steps, classes], ``lengths`` the steps
    each line has."""
    return [
        decode(line[: max(int(length), 0)], units, lm, weight, bonus, top_paths=top_paths)
        for line, length in zip(log_probs, lengths, strict=True)
    ]


def word_lines(words: Sequence[str], count: int, seed: int = 0) -> list[str]:
    """``count`` lines of 1 to 4 words drawn at random (the same for the same arguments)."""
    if not words:
        raise ValueError("the word list is empty")
    rng = random.Random(seed)
    return [" ".join(rng.choices(words, k=rng.randint(1, 4))) for _ in range(count)]


def fold_texts(texts: Iterable[str], model_dir: str) -> tuple[list[str], int]:
    """Texts as the model at ``model_dir`` reads labels (its case folding), and how many were
    left out for characters it cannot produce."""
    from trainer_module import export
    from trainer_module.alphabet import label_text

    alphabet, config = export.read_assets(model_dir)
    kept, left_out = [], 0
    for text in texts:
        folded = label_text(text, config.alphabet)
        if folded and not alphabet.unknown_units(text, config.alphabet):
            kept.append(folded)
        else:
            left_out += 1
    return kept, left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.char_lm",
        description="Train a character n-gram language model (ARPA) for --lm decoding.",
    )
    parser.add_argument(
        "--text", action="append", default=[], help="UTF-8 file of texts, one per line (repeatable)"
    )
    parser.add_argument(
        "--words",
        action="append",
        default=[],
        help="UTF-8 word list, one per line, lines starting with # skipped (repeatable)",
    )
    parser.add_argument(
        "--word-lines",
        type=int,
        default=DEFAULT_WORD_LINES,
        help=f"lines made of --words' words (default {DEFAULT_WORD_LINES})",
    )
    parser.add_argument("--out", required=True, help="ARPA file to write")
    parser.add_argument(
        "--order", type=int, default=DEFAULT_ORDER, help=f"n-gram order (default {DEFAULT_ORDER})"
    )
    parser.add_argument(
        "--model",
        help="push directory or SavedModel: write texts as it reads labels, "
        "leaving out lines with characters it cannot produce",
    )
    args = parser.parse_args(argv)
    if not args.text and not args.words:
        parser.error("give --text or --words (or both)")
    texts, words = [], []
    for paths, read in ((args.text, texts), (args.words, words)):
        for path in paths:
            try:
                lines = Path(path).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as err:
                print(f"error: {path}: cannot read: {err}", file=sys.stderr)
                return 2
            read += [line.strip() for line in lines if line.strip()]
    words = [word for word in words if not word.startswith("#")]  # comments, as in --lexicon
    if args.words:
        if not words:
            print(f"error: {', '.join(args.words)}: no words", file=sys.stderr)
            return 2
        texts += word_lines(words, args.word_lines)
    left_out = 0
    if args.model:
        from components.serving_layout import resolve_model_dir

        texts, left_out = fold_texts(texts, resolve_model_dir(args.model))
    try:
        lm = CharLM.train(texts, args.order)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    lm.write_arpa(args.out)
    print(
        f"{args.out}: order {lm.order}, {len(lm.vocabulary)} tokens, trained on "
        f"{len(texts)} lines ({left_out} left out: characters the model cannot produce)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
