"""Lexicon decoding: fixes words the network nearly read, leaves the rest as read."""

import random
from pathlib import Path

import pytest
from testlib import render_lines

from serving.lexicon import Lexicon
from serving.model import Recognizer
from trainer_module.metrics import score

ROOT = Path(__file__).resolve().parents[2]
WORDS = (ROOT / "tools" / "data" / "words.txt").read_text().split()
OUT_OF_LEXICON_MARGIN = 0.02  # stated: CER may rise by at most 2 points on words not in the lexicon


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon(WORDS)


@pytest.mark.parametrize(
    ("prediction", "corrected"),
    [
        ("the qiuck answer", "the quick answer"),  # a near miss is corrected
        ("HOUES.", "HOUSE."),  # case and punctuation kept
        ("Captian,", "Captain,"),
        ("Wrold", "Wrold"),  # "world" and "would" equally close: no basis to choose
        ("invoice 2024-03", "invoice 2024-03"),  # numbers and codes are not vocabulary
        ("qwrtzp bkmx", "qwrtzp bkmx"),  # nothing close: left as read
        ("iro tbe", "iro tbe"),  # short words are too ambiguous
        ("  two  answer ", "  two  answer "),  # spacing kept
    ],
)
def test_near_misses_are_corrected_and_everything_else_is_kept(lexicon, prediction, corrected):
    assert lexicon.correct(prediction, confidence=0.3) == corrected


def test_a_confident_prediction_is_kept_as_read(lexicon):
    assert lexicon.correct("the qiuck answer", confidence=0.95) == "the qiuck answer"


def test_a_word_every_top_k_path_reads_alike_is_kept(lexicon):
    alternatives = ("the qiuck answex", "the qiuck answer", "tbe qiuck answer")
    assert lexicon.correct("the qiuck answex", alternatives, 0.3) == "the qiuck answer"
    assert lexicon.correct("the qiuck answex", alternatives[:1], 0.3) == "the quick answer"


def test_a_top_k_alternative_in_the_lexicon_wins_over_an_unknown_best_path(lexicon):
    alternatives = ("houes wrld", "house world", "4ouse world")
    assert lexicon.correct("houes wrld", alternatives, confidence=0.4) == "house world"


def test_equally_close_entries_are_settled_by_the_alternatives_or_not_at_all(lexicon):
    assert lexicon.correct("wauld", confidence=0.4) in ("would", "wauld")
    hinted = lexicon.correct("cald", ("cald", "cold", "calf"), confidence=0.4)
    assert hinted == "cold"


def test_lexicon_files(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# comment\nalpha\n\nBeta\n")
    assert Lexicon.load(path).words == {"alpha", "beta"}
    path.write_text("\n# nothing\n")
    with pytest.raises(ValueError, match="the lexicon is empty"):
        Lexicon.load(path)


def test_with_a_real_model_cer_falls_in_lexicon_and_barely_moves_outside(reader, lexicon):
    """The test model has seen a few hundred words; new renderings of them are read with errors
    a lexicon can fix, and letter strings outside the lexicon must not get much worse."""
    result, rows = reader
    rng = random.Random(3)
    seen = sorted({w for r in rows for w in r.label.split() if w in lexicon.words and len(w) > 3})
    in_lexicon = [rng.choice(seen) for _ in range(120)]
    outside = []
    while len(outside) < 120:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 8)))
        if word not in lexicon.words:
            outside.append(word)
    plain = Recognizer(result.model_dir)
    corrected = Recognizer(result.model_dir, lexicon)
    for texts, seed in ((in_lexicon, "in"), (outside, "out")):
        images = render_lines(texts, seed)
        before = score(texts, [p.text for p in plain.predict(images)])
        after = score(texts, [p.text for p in corrected.predict(images)])
        if seed == "in":
            assert after.cer < before.cer and after.line_accuracy > before.line_accuracy
        else:
            assert after.cer <= before.cer + OUT_OF_LEXICON_MARGIN
