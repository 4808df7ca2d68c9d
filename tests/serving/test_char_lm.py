"""Language-model decoding: a character n-gram model (ARPA) fused into CTC prefix beam search."""

import base64
import itertools
import math
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from testlib import render_lines, running_server

from serving import char_lm
from serving.char_lm import BOS, CharLM, decode
from serving.model import Recognizer
from tools import synth_lines
from trainer_module.metrics import score

ROOT = Path(__file__).resolve().parents[2]
WORDS = synth_lines.load_words()
UNITS = tuple(" ,-.0123456789abcdefghijklmnopqrstuvwxyz")


@pytest.fixture(scope="module")
def words_lm() -> CharLM:
    """Trained on lines of the generator's words: letters follow letters, no digits."""
    rng = random.Random(5)
    return CharLM.train(" ".join(rng.sample(WORDS, 3)) for _ in range(3000))


@pytest.mark.parametrize("history", ["", "sw", "swallo", "zzzqx", "the ", "12"])
def test_every_context_gives_a_distribution_over_the_vocabulary(words_lm, history):
    context = words_lm.context(char_lm.text_tokens(history))
    total = sum(math.exp(words_lm.log_prob(context, token)) for token in words_lm.vocabulary)
    assert total == pytest.approx(1.0, abs=1e-9)
    assert context[0] == BOS or len(context) == words_lm.order - 1


def test_lower_orders_count_the_contexts_a_character_completes_not_its_occurrences():
    """Kneser-Ney: "u" is frequent but only ever after "q"; "b" is rare but follows three
    letters. After a context never seen, "b" is the likelier guess."""
    lm = CharLM.train(["qu"] * 100 + ["ab", "cb", "db"], order=2)
    unseen = ("x",)
    assert lm.log_prob(unseen, "b") > lm.log_prob(unseen, "u")
    assert lm.log_prob(("q",), "u") > math.log(0.9)  # after "q", "u" stays near certain


def test_a_unigram_model_decodes_too():
    lm = CharLM.train(["aaa", "ab"], order=1)
    assert lm.context(["a", "b"]) == () and lm.advance((), "a") == ()
    log_probs = _hesitant_line("ab", {}, doubt=0.0)
    assert decode(log_probs, UNITS, lm).text == "ab"


def test_the_model_prefers_what_its_texts_spell(words_lm):
    assert words_lm.score("swallow") > words_lm.score("swa1low") + 5
    assert words_lm.score("the house") > words_lm.score("tbe hovse")


def test_arpa_files_keep_every_probability(words_lm, tmp_path):
    path = tmp_path / "lm.arpa"
    words_lm.write_arpa(path)
    loaded = CharLM.load(path)
    assert loaded.order == words_lm.order == char_lm.DEFAULT_ORDER
    for text in ("swallow", "a b", "x9 z!", ""):
        assert loaded.score(text) == pytest.approx(words_lm.score(text), abs=1e-4)
    header = path.read_text().split("\n\n")[0].splitlines()
    assert header[0] == "\\data\\" and header[1].startswith("ngram 1=")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda text: text.replace("\\end\\", ""), "no \\\\end\\\\ line"),
        (lambda text: text.replace("ngram 2=", "ngram 2=1"), "declares"),
        (lambda text: text.replace("\n-", "\nx-", 1), r"line \d+: not a 1-gram entry"),
    ],
)
def test_a_broken_arpa_file_is_named_with_its_line(words_lm, tmp_path, change, reason):
    path = tmp_path / "broken.arpa"
    words_lm.write_arpa(path)
    path.write_text(change(path.read_text()))
    with pytest.raises(ValueError, match=f"{path}.*{reason}"):
        CharLM.load(path)


def _labelling_probabilities(log_probs: np.ndarray) -> dict[str, float]:
    """Every labelling's exact CTC probability, by summing over all paths (small inputs only)."""
    blank = log_probs.shape[1] - 1
    totals: dict[str, float] = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        labels = [c for i, c in enumerate(path) if c != blank and (i == 0 or path[i - 1] != c)]
        text = "".join(UNITS[c] for c in labels)
        p = math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[text] = totals.get(text, 0.0) + p
    return totals


@pytest.mark.parametrize("seed", range(5))
def test_without_a_language_model_the_search_finds_the_most_probable_labelling(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(5, 4))  # units " ", ",", "-" and the blank: 4^5 paths
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert log_probs.min() > char_lm.PRUNE  # nothing pruned: the search is exact
    exact = _labelling_probabilities(log_probs)
    ranked = sorted(exact, key=exact.get, reverse=True)
    reading = decode(log_probs, UNITS[:3], None, beam_width=512, top_paths=3)  # no pruning
    assert list(reading.top_k) == ranked[:3]
    top = [exact[text] for text in ranked[:3]]
    assert reading.confidence == pytest.approx(top[0] / sum(top), rel=1e-6)


def _hesitant_line(text: str, confusions: dict[str, str], doubt: float) -> np.ndarray:
    """Per-step log-probabilities of a network that reads ``text`` with a blank after every
    character, but puts ``doubt`` of each confusable character's mass on its look-alike."""
    blank = len(UNITS)
    rows = []
    for char in text:
        row = np.full(blank + 1, 1e-6)
        if char in confusions:
            row[UNITS.index(confusions[char])] = doubt
            row[UNITS.index(char)] = 1.0 - doubt
        else:
            row[UNITS.index(char)] = 1.0
        rows += [row, np.eye(blank + 1)[blank] + 1e-6]
    probs = np.array(rows)
    return np.log(probs / probs.sum(axis=1, keepdims=True))


def test_the_language_model_settles_glyphs_the_network_hesitates_on(words_lm):
    log_probs = _hesitant_line("swallow", {"l": "1"}, doubt=0.6)  # the network favours "1"
    assert decode(log_probs, UNITS, None).text == "swa11ow"
    assert decode(log_probs, UNITS, words_lm).text == "swallow"
    sure = _hesitant_line("swallow", {"l": "1"}, doubt=0.999)  # evidence outweighs the model
    assert decode(sure, UNITS, words_lm).text == "swa11ow"


def test_with_a_real_model_cer_falls_on_words_of_the_language_models_texts(
    reader, tmp_path, capsys
):
    """The 512-line reader decoded with a language model trained on its words (through the
    CLI, folded as the model reads labels) reads new renderings of them better than without."""
    result, rows = reader
    corpus = tmp_path / "texts.txt"
    corpus.write_text("\n".join([r.label for r in rows] + ["Ωmega"]) + "\n")
    arpa = tmp_path / "lm.arpa"
    command = ["--text", str(corpus), "--out", str(arpa), "--model", str(result.model_dir)]
    assert char_lm.main(command) == 0
    assert f"trained on {len(rows)} lines (1 left out" in capsys.readouterr().out
    rng = random.Random(8)
    seen = sorted({w for r in rows for w in r.label.split() if len(w) > 3 and w.isalpha()})
    texts = [" ".join(rng.sample(seen, 2)) for _ in range(100)]
    images = render_lines(texts, "lm")
    plain = Recognizer(result.model_dir)
    fused = Recognizer(result.model_dir, lm=CharLM.load(arpa))
    before = score(texts, [p.text for p in plain.predict(images)])
    readings = fused.predict(images)
    after = score(texts, [p.text for p in readings])
    assert after.cer < before.cer and after.line_accuracy > before.line_accuracy
    assert all(len(p.top_k) == plain.config.evaluation.top_paths for p in readings)


def test_a_word_list_becomes_lines_of_its_words(tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("# seabirds and ports\nswallow\nharbour\n\n")
    arpa = tmp_path / "words.arpa"
    assert char_lm.main(["--words", str(words), "--word-lines", "200", "--out", str(arpa)]) == 0
    assert "trained on 200 lines (0 left out" in capsys.readouterr().out
    lm = CharLM.load(arpa)
    assert not {"#", "d", "p"} & set(lm.vocabulary), "the comment line was read as words"
    assert lm.score("harbour swallow") > lm.score("harbour swa1low") + 5
    assert char_lm.word_lines(["a", "b"], 5) == char_lm.word_lines(["a", "b"], 5)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert char_lm.main(["--words", str(empty), "--out", str(arpa)]) == 2
    assert f"{empty}: no words" in capsys.readouterr().err


def test_the_serving_clis_take_a_language_model(reader, words_lm, tmp_path, capsys):
    from serving import predict

    result, rows = reader
    arpa = tmp_path / "words.arpa"
    words_lm.write_arpa(arpa)
    image = rows[0].path
    assert predict.main(["--model", str(result.model_dir), "--lm", str(arpa), image]) == 0
    path, text, confidence = capsys.readouterr().out.strip().split("\t")
    assert path == image and text and 0.0 < float(confidence) <= 1.0
    broken = tmp_path / "broken.arpa"
    broken.write_text("\\data\\\nngram 1=1\n\n\\1-grams:\n-1.0 a b c\n\\end\\\n")
    assert predict.main(["--model", str(result.model_dir), "--lm", str(broken), image]) == 2
    assert f"{broken}, line 5: not a 1-gram entry" in capsys.readouterr().err


def test_the_rest_server_decodes_with_a_language_model(reader, words_lm, tmp_path):
    """`serving.server --lm` answers predict_images requests as `Recognizer(lm=...)` reads the
    same images; a file that is not a language model stops it with the file named."""
    result, rows = reader
    arpa = tmp_path / "words.arpa"
    words_lm.write_arpa(arpa)
    push = tmp_path / "push"
    shutil.copytree(result.model_dir, push / "1")
    rng = random.Random(3)
    seen = sorted({w for r in rows for w in r.label.split() if len(w) > 3 and w.isalpha()})
    images = render_lines([" ".join(rng.sample(seen, 2)) for _ in range(12)], "server")
    fused = Recognizer(result.model_dir, lm=CharLM.load(arpa)).predict(images)

    with running_server(push, "--lm", str(arpa)) as url:
        body = {"instances": [{"b64": base64.b64encode(image).decode()} for image in images]}
        response = requests.post(f"{url}:predict", json=body, timeout=60)
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["text"] for a in answers] == [p.text for p in fused]
    for answer, expected in zip(answers, fused, strict=True):
        assert answer["top_k_text"][: len(expected.top_k)] == list(expected.top_k)
        assert answer["confidence"] == pytest.approx(expected.confidence, rel=1e-5)
        # the language model's fused scores, not the exported decoder's log-probabilities
        paths = len(expected.top_k)
        assert answer["top_k_log_prob"][:paths] == pytest.approx(expected.top_k_log_prob, 1e-5)
        assert answer["top_k_log_prob"][paths:] == [-math.inf] * (len(answer["top_k_text"]) - paths)

    broken = tmp_path / "broken.arpa"
    broken.write_text("not an ARPA file\n")
    command = [sys.executable, "-m", "serving.server", "--model", str(push), "--lm", str(broken)]
    failed = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert failed.returncode == 2 and str(broken) in failed.stderr, failed.stderr
