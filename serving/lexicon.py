"""Lexicon decoding (the paper's lexicon mode, asked for in tf.crnn #33): predictions corrected to
the nearest lexicon entries.

Word by word (whitespace-separated, spacing kept), a predicted word that is not in the lexicon is
replaced by the lexicon entry at the smallest edit distance, when that distance is at most
``max(1, round(ratio * length))`` (ratio 0.34 by default). Matching ignores case and the
punctuation around a word, and the prediction's case pattern (lower, Title, UPPER) and
punctuation are kept. Between equally close entries the first of these decides: a word that
the network's top-k alternatives also read, the prediction's length (OCR errors are mostly
substitutions), the longest common prefix; if entries are still tied the word is left alone, as
are words of fewer than four letters, words with digits (numbers and codes are not vocabulary)
and words with nothing close enough: an out-of-lexicon word stays as the network read it. A
top-k alternative whose words are all in the lexicon is preferred to a best path that is not.
Lines the network is sure of (confidence at least ``trust``, 0.7 by default) are kept as read,
and so are words that all of its top-k paths read the same way.

The search is rapidfuzz's C++ Levenshtein over the lexicon, fast for tens of thousands of entries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein, Prefix

_SPACING = re.compile(r"(\s+)")
_WORD = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)  # leading punctuation, word, trailing
MIN_LENGTH = 4  # shorter words are too ambiguous to correct


class Lexicon:
    def __init__(self, words: Sequence[str], ratio: float = 0.34, trust: float = 0.7):
        entries = {word.strip().lower() for word in words if word.strip()}
        if not entries:
            raise ValueError("the lexicon is empty")
        self.words = frozenset(entries)
        self._choices = sorted(entries)
        self.ratio, self.trust = ratio, trust

    @classmethod
    def load(cls, path: str | Path, ratio: float = 0.34, trust: float = 0.7) -> Lexicon:
        """One entry per line (UTF-8); blank lines and lines starting with # are skipped."""
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: cannot read the lexicon: {err}") from None
        return cls([line for line in lines if not line.lstrip().startswith("#")], ratio, trust)

    def knows(self, text: str) -> bool:
        """Every word of the text is in the lexicon (punctuation aside)."""
        cores = [_WORD.match(word).group(2).lower() for word in text.split()]
        return bool(cores) and all(core in self.words for core in cores)

    def _settled(self, core: str) -> bool:
        return (
            len(core) < MIN_LENGTH or core.lower() in self.words or any(ch.isdigit() for ch in core)
        )

    def nearest(self, word: str, hints: frozenset[str] = frozenset()) -> str:
        """The lexicon entry for one predicted word (case and punctuation kept), or the word."""
        lead, core, trail = _WORD.match(word).groups()
        if self._settled(core):
            return word
        limit = max(1, round(self.ratio * len(core)))
        matches = process.extract(
            core.lower(), self._choices, scorer=Levenshtein.distance, score_cutoff=limit, limit=8
        )
        if not matches:
            return word
        lowered = core.lower()

        def rank(match: tuple) -> tuple:
            entry, distance, _ = match
            prefix = Prefix.similarity(entry, lowered)
            return distance, entry not in hints, abs(len(entry) - len(core)), -prefix

        ranked = sorted(matches, key=rank)
        if len(ranked) > 1 and rank(ranked[0]) == rank(ranked[1]):
            return word  # no basis to choose between equally close entries
        return lead + _same_case(ranked[0][0], core) + trail

    def correct(self, text: str, alternatives: Sequence[str] = (), confidence: float = 0.0) -> str:
        """The corrected text of a prediction (``alternatives`` = its top-k paths, best first).

        A prediction the network is sure of (confidence >= ``trust``) is kept as read.
        """
        if confidence >= self.trust:
            return text
        if not self.knows(text):
            for alternative in alternatives[1:]:
                if self.knows(alternative):
                    return alternative
        readings = [
            {_WORD.match(word).group(2).lower() for word in alt.split()} for alt in alternatives
        ]
        hints = frozenset().union(*readings)
        # A word that every top-k path reads the same way is one the network is consistent
        # about: it stays, even if it is not in the lexicon (names, rare words).
        agreed = set.intersection(*readings) if len(readings) > 1 else set()
        parts = _SPACING.split(text)  # words at even indices, the spacing between them at odd
        return "".join(
            part
            if i % 2 or _WORD.match(part).group(2).lower() in agreed
            else self.nearest(part, hints)
            for i, part in enumerate(parts)
        )


def _same_case(entry: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return entry.upper()
    if like[:1].isupper():
        return entry[:1].upper() + entry[1:]
    return entry
