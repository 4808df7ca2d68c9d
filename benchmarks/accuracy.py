"""Accuracy against Tesseract and PaddleOCR on the held-out set, and the ``standard`` profile.

    python -m benchmarks.accuracy [--train] [--output-dir outputs/bench/standard] [--model DIR]
                                  [--heldout outputs/bench/heldout] [--count 5000]
                                  [--scanned outputs/bench/heldout-scanned] [--scanned-count 2000]
                                  [--skip-lm] [--write]

``--train`` first runs the real pipeline with ``pipeline/configs/standard.json`` (synthetic data
only: ``tools.synth_lines`` with the DejaVu fonts and the repository's word list) into
``--output-dir``; without it the newest run already there is used. Then, on the held-out set's
clean slice (``benchmarks.heldout``: fonts and texts the training never sees, in mixed case with
punctuation):

- this project's pushed model (its exported decoder), alone and with lexicon decoding: the
  in-lexicon case (lexicon = training words + held-out words, so every held-out word is in it)
  and the out-of-lexicon case (lexicon = training words only: no held-out word is in it, so the
  lexicon can only do harm; ``serving.lexicon`` promises at most +2 CER points there);
- the same model with language-model decoding (``serving.char_lm``: a character 6-gram model
  over the training texts plus ``DEFAULT_WORD_LINES`` lines of words, fused into beam search at
  the default weight), in-vocabulary (words: training + held-out, as Tesseract's dictionary
  holds English words) and out-of-vocabulary (training words only);
- Tesseract 5 (``benchmarks.tesseract``: LSTM engine, ``--psm 7``, with and without a whitelist)
  and PaddleOCR's PP-OCRv4 recognizer (``benchmarks.paddleocr_peer``).

The plain model and the peers also read the scanned slice (``benchmarks.heldout_scanned``).
Everyone is scored as written (``tesseract.normalise``: whitespace collapsed, case and
punctuation kept), with a column ignoring case beside it. CER and line accuracy per system, per
font package and on the fonts the model reads worst; for the comparisons with the peers, the CER
difference with its 95% interval from a paired bootstrap over the lines
(``cer_difference``: how far the difference could move on another draw of held-out lines); the
pipeline's wall
time per component (from its ML Metadata), the training curve (eval-split CER per evaluation,
from the Trainer's history.json), and a PNG plot (``benchmarks/figures/accuracy.png``).
``--write`` replaces the ``accuracy`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import heldout, report, tesseract
from serving import char_lm

ROOT = report.ROOT
STANDARD = ROOT / "pipeline" / "configs" / "standard.json"
FIGURE = Path(__file__).resolve().parent / "figures" / "accuracy.png"
TRAINING_WORDS = ROOT / "tools" / "data" / "words.txt"
COMMON_ERRORS = 8  # character errors listed beside Tesseract's
HARDEST_FONTS = 6  # fonts listed in the "hardest fonts" table
BOOTSTRAP_RESAMPLES = 9999  # paired bootstrap of a CER difference over the held-out lines
CONFIDENCE = 0.95
LEXICON_MARGIN = 0.02  # serving.lexicon's stated out-of-lexicon margin (CER points as a fraction)
DECODING_VARIANTS = ("lexicon", "char LM")  # systems that are the model plus a decoding option
PADDLE = "PaddleOCR PP-OCRv4 rec"
PROGRESS_CHUNK = 500  # lines read between two progress updates


def train_standard(output_dir: Path) -> None:
    """Run the pipeline with the standard profile into a fresh ``output_dir`` (timed, with the
    eval split's HTML report), as ``benchmarks.pipeline_time`` runs ``make run``."""
    from benchmarks import pipeline_time

    pipeline_time.run_pipeline(
        output_dir, [str(STANDARD), "--report", str(output_dir / "eval_report.html")]
    )


def history(output_dir: Path) -> dict:
    """The newest Trainer run's history.json (eval metrics per evaluation)."""
    found = sorted(
        glob.glob(str(output_dir / "pipeline" / "Trainer" / "model_run" / "*" / "history.json")),
        key=lambda path: int(Path(path).parent.name),
    )
    if not found:
        raise FileNotFoundError(f"{output_dir}: no Trainer history.json (run with --train)")
    return json.loads(Path(found[-1]).read_text())


def is_plain(name: str) -> bool:
    """A system without lexicon or language-model decoding."""
    return not any(variant in name for variant in DECODING_VARIANTS)


def training_texts(config, output_dir: Path) -> list[str]:
    """The labels of the standard profile's synthetic training data (generated if missing)."""
    import local_runner
    from trainer_module.data import read_csv_rows

    return [row.label for row in read_csv_rows(local_runner.synthetic_data(config, output_dir))]


def heldout_slice(labels_csv: Path) -> tuple[list[Path], list[str], list[str], list[str]]:
    """A held-out slice's image paths, references (``tesseract.normalise``d), fonts, packages."""
    rows = heldout.read_labels(labels_csv)
    fonts = heldout.read_fonts(labels_csv)
    packages = [heldout.font_package(font) for font in fonts]
    references = [tesseract.normalise(label) for _, label in rows]
    return [path for path, _ in rows], references, fonts, packages


def in_chunks(read, items: list, name: str) -> tuple[list[str], float]:
    """``read(chunk) -> (texts, seconds)`` over ``items`` in chunks of PROGRESS_CHUNK, with
    tqdm's progress (rate and time left); the texts in order and the seconds summed."""
    from tqdm import tqdm

    texts: list[str] = []
    seconds = 0.0
    with tqdm(total=len(items), desc=name, unit="line", mininterval=20) as bar:
        for start in range(0, len(items), PROGRESS_CHUNK):
            chunk_texts, chunk_seconds = read(items[start : start + PROGRESS_CHUNK])
            texts += chunk_texts
            seconds += chunk_seconds
            bar.update(len(chunk_texts))
    return texts, seconds


def peer_systems(paths: list[Path], chars: str) -> dict[str, tuple[list[str], float]]:
    """Tesseract 5 (whitelist and plain) and PaddleOCR's PP-OCRv4 recognizer on ``paths``."""
    from benchmarks import paddleocr_peer

    def tesseract_reader(configuration: str):
        def read(chunk):
            result = tesseract.run(chunk, chars, configuration)
            return result.texts, result.seconds

        return read

    def paddle(chunk):
        result = paddleocr_peer.run(chunk)
        return result.texts, result.seconds

    systems = {}
    for configuration in tesseract.CONFIGURATIONS:
        name = f"Tesseract 5 ({configuration})"
        systems[name] = in_chunks(tesseract_reader(configuration), paths, name)
    systems[PADDLE] = in_chunks(paddle, paths, PADDLE)
    return systems


def model_reads(recognizer, images: list[bytes], name: str) -> tuple[list, float]:
    """The recognizer's predictions of ``images`` (batches of 64), with progress."""
    return in_chunks(lambda chunk: recognizer.predict_all(chunk, 64), images, name)


def evaluate_systems(
    model_dir: str, labels_csv: Path, texts: list[str], with_lm: bool = True
) -> dict:
    """CER and line accuracy of every system on the clean held-out slice, overall and per font
    package (``texts``: the training texts, for the language models; ``with_lm`` False leaves
    the language-model decoding out, the slowest of the systems on long lines)."""
    from serving.lexicon import Lexicon
    from serving.model import Recognizer

    paths, references, fonts, packages = heldout_slice(labels_csv)
    chars = heldout.synth_lines.resolve_charset(heldout.DEFAULT_CHARSET)
    images = [path.read_bytes() for path in paths]

    training_words = TRAINING_WORDS.read_text().split()
    lexicons = {
        " + lexicon (in-lexicon)": Lexicon([*training_words, *heldout.heldout_words()]),
        " + lexicon (out-of-lexicon)": Lexicon(training_words),
    }
    recognizer = Recognizer(model_dir)
    name = f"crnn-tfx ({recognizer.config.evaluation.decoder})"
    # One pass of the network; each lexicon corrects the same predictions afterwards.
    predictions, seconds = model_reads(recognizer, images, name)
    systems = {name: ([tesseract.normalise(p.text) for p in predictions], seconds)}
    for suffix, lexicon in lexicons.items():
        started = time.perf_counter()
        corrected = [lexicon.correct(p.text, p.top_k, p.confidence) for p in predictions]
        extra = time.perf_counter() - started
        systems[name + suffix] = ([tesseract.normalise(t) for t in corrected], seconds + extra)
    vocabularies = {
        " + char LM (in-vocabulary)": [*training_words, *heldout.heldout_words()],
        " + char LM (out-of-vocabulary)": training_words,
    }
    lms = {
        suffix: char_lm.CharLM.train(
            [*texts, *char_lm.word_lines(words, char_lm.DEFAULT_WORD_LINES)]
        )
        for suffix, words in vocabularies.items()
        if with_lm
    }
    fused = Recognizer(model_dir, lm=next(iter(lms.values()))) if lms else None  # one load
    for suffix, lm in lms.items():
        fused.lm = lm
        predictions, seconds = model_reads(fused, images, name + suffix)
        systems[name + suffix] = ([tesseract.normalise(p.text) for p in predictions], seconds)
    systems.update(peer_systems(paths, chars))
    return {
        name: system_figures(references, texts, packages, fonts, seconds)
        for name, (texts, seconds) in systems.items()
    }


def evaluate_scanned(model_dir: str, labels_csv: Path) -> dict:
    """The plain model and the peers on the scanned slice (``benchmarks.heldout_scanned``)."""
    from serving.model import Recognizer

    paths, references, fonts, packages = heldout_slice(labels_csv)
    chars = heldout.synth_lines.resolve_charset(heldout.DEFAULT_CHARSET)
    recognizer = Recognizer(model_dir)
    name = f"crnn-tfx ({recognizer.config.evaluation.decoder})"
    predictions, seconds = model_reads(recognizer, [path.read_bytes() for path in paths], name)
    systems = {name: ([tesseract.normalise(p.text) for p in predictions], seconds)}
    systems.update(peer_systems(paths, chars))
    return {
        name: system_figures(references, texts, packages, fonts, seconds)
        for name, (texts, seconds) in systems.items()
    }


def system_figures(
    references: list[str], texts: list[str], packages: list[str], fonts: list[str], seconds: float
) -> dict:
    """One system's figures on the held-out lines: overall (as written, and ignoring case), per
    font package and per font, its character errors, and each line's edits and length (for
    ``cer_difference``)."""
    from trainer_module.metrics import confusions, line_edits, score, score_by

    return {
        "overall": score(references, texts),
        "ignoring_case": score([r.lower() for r in references], [t.lower() for t in texts]),
        "by_package": score_by(references, texts, packages),
        "by_font": score_by(references, texts, fonts),
        "confusions": confusions(references, texts),
        "line_edits": line_edits(references, texts),
        "line_chars": [len(reference) for reference in references],
        "seconds": seconds,
    }


def cer_difference(ours: dict, theirs: dict, seed: int = 0) -> tuple[float, float, float]:
    """CER(ours) - CER(theirs) on the same lines, and its ``CONFIDENCE`` interval from a paired
    bootstrap over the lines (``scipy.stats.bootstrap``, BCa): lines are drawn with their edits
    under both systems, so what the systems share (a hard line) moves both CERs together."""
    import numpy as np
    from scipy import stats

    a, b = np.array(ours["line_edits"]), np.array(theirs["line_edits"])
    chars = np.array(ours["line_chars"])
    if list(chars) != list(theirs["line_chars"]):
        raise ValueError("the two systems were scored on different lines")

    def difference(mine, other, length, axis=-1):
        return (mine.sum(axis) - other.sum(axis)) / np.maximum(length.sum(axis), 1)

    observed = float(difference(a, b, chars))
    if np.array_equal(a, b):  # every resample agrees: nothing to estimate
        return observed, observed, observed
    interval = stats.bootstrap(
        (a, b, chars),
        difference,
        n_resamples=BOOTSTRAP_RESAMPLES,
        paired=True,
        vectorized=True,
        confidence_level=CONFIDENCE,
        method="BCa",
        random_state=np.random.default_rng(seed),
    ).confidence_interval
    return observed, float(interval.low), float(interval.high)


def signed_points(value: float) -> str:
    """A CER difference in percentage points, signed: 0.0011 -> "+0.11"."""
    return f"{100 * value:+.2f}"


def difference_words(ours: dict, theirs: dict) -> str:
    """The difference in words, "+0.11 CER points (95% interval ...)", and whether it holds 0."""
    observed, low, high = cer_difference(ours, theirs)
    if low > 0 or high < 0:
        side = "above" if low > 0 else "below"
        reading = f"the whole interval is {side} 0"
    else:
        reading = "the interval holds 0: on a set of this size the two are not told apart"
    lines = len(ours["line_edits"])
    return (
        f"{signed_points(observed)} CER points ({CONFIDENCE:.0%} interval "
        f"{signed_points(low)} to {signed_points(high)}, a paired bootstrap over the {lines} "
        f"lines; {reading})"
    )


def letters_beside_digits(random_share: float, random_style: str = "uniform") -> str:
    """Where the standard profile's training texts put letters beside digits, and where not."""
    held_out = "the held-out set's forms (`1920s`, `832khz`, serials)"
    if not random_share:
        return (
            "The training texts keep letters and digits in separate tokens, apart from a few "
            f"codes (`tools.synth_lines.TOKEN_FORMATS`), while {held_out} mix them."
        )
    drawn = {
        "uniform": "each character drawn from the whole charset",
        "runs": "runs of letters and runs of digits",
    }[random_style]
    return (
        f"The training texts mix letters and digits in random strings ({random_share:.0%} of "
        f"tokens, `data.synthetic.random_share`; {drawn}, `random_style` {random_style}) and a "
        f"few codes (`tools.synth_lines.TOKEN_FORMATS`), in none of {held_out}."
    )


def geometry(config) -> str:
    """The profile's model and precision in words: line height and width, filters, LSTMs."""
    model = config.model
    filters = "-".join(str(layer.filters) for layer in model.conv_layers)
    precision = (
        "bfloat16 where the CPU has it (`training.mixed_precision`)"
        if config.training.mixed_precision
        else "float32"
    )
    return (
        f"lines resized to {model.input_height} px high and up to {model.max_width} px wide, "
        f"convolutions of {filters} filters, LSTMs of {model.rnn_units}, trained in {precision}"
    )


def augmentations(config) -> str:
    """The training augmentations the profile turns on, in words (`augmentation.*`)."""
    section = config.augmentation
    names = [
        {"stroke": "stroke weight", "warp": "local warp"}.get(name, name.replace("_", " "))
        for name in type(section).model_fields
        if name != "enabled" and getattr(section, name).enabled
    ]
    if not section.enabled or not names:
        return "no augmentation"
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"augmented with {listed} (`augmentation`)"


def pipeline_seconds(output_dir: Path) -> dict[str, float]:
    """Wall seconds of the newest run: data generation (when recorded), each component (from
    its ML Metadata), and the whole process (when recorded; else first start to last update)."""
    from benchmarks import pipeline_time

    run = pipeline_time.load_run(output_dir)
    seconds = {}
    if run.get("generation_seconds"):
        seconds["synthetic data generation"] = run["generation_seconds"]
    seconds.update(run["components"])
    seconds["total"] = run.get("process_seconds") or run["span"]
    return seconds


def plot(curve: dict, systems: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), dpi=100)
    steps = curve.get("steps", [])
    left.plot(steps, [100 * c for c in curve.get("val_cer", [])], marker="o", label="eval split")
    plain = [name for name in systems if is_plain(name)]
    for index, name in enumerate(plain, start=1):
        left.axhline(
            100 * systems[name]["overall"].cer,
            color=f"C{index}",
            linestyle="--",
            linewidth=1,
            label=f"{name}, held-out",
        )
    left.set_xlabel("training step")
    left.set_ylabel("CER (%)")
    left.set_yscale("log")
    left.set_title("standard profile: CER during training")
    left.legend(fontsize=7)
    names = list(systems)
    right.barh(range(len(names)), [100 * systems[n]["overall"].cer for n in names], color="#1f6fb4")
    right.set_yticks(range(len(names)), names, fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("CER on the held-out set (%)")
    right.set_title("held-out fonts and texts")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


def font_count(config) -> int:
    """How many font files the configuration's synthetic data is drawn with."""
    from tools import synth_lines

    try:
        return len(synth_lines.resolve_fonts(config.data.synthetic.fonts))
    except ValueError:
        return 0


def font_folder_count(config) -> int:
    """How many folders the configuration's fonts come from (a font file counts its folder)."""
    paths = config.data.synthetic.fonts or []
    return len({path if os.path.isdir(path) else os.path.dirname(path) for path in paths})


def curve_of(history_json: dict, steps_per_evaluation: int) -> dict:
    """Step and eval-split CER of each evaluation (steps from the history, or from the config
    for histories written before they recorded them)."""
    cers = history_json.get("val_cer", [])
    steps = history_json.get("steps") or [(i + 1) * steps_per_evaluation for i in range(len(cers))]
    return {"steps": steps, "val_cer": cers}


def hardest_fonts(systems: dict, ours: str, count: int = HARDEST_FONTS) -> list[list[str]]:
    """Rows for the ``count`` fonts our model reads worst: font, lines, then every plain
    system's CER on that font's lines (lexicon variants left out)."""
    plain = [name for name in systems if is_plain(name)]
    by_font = systems[ours]["by_font"]
    worst = sorted(by_font.items(), key=lambda item: (-item[1].cer, item[0]))[:count]
    return [
        [font, figures.lines, *(percent(systems[name]["by_font"][font].cer) for name in plain)]
        for font, figures in worst
    ]


def error_name(error: tuple[str, str]) -> str:
    """("s", "5") -> "`s` read as `5`"; ("-", "") -> "`-` dropped"; ("", " ") -> "space
    inserted"."""

    def char(c: str) -> str:
        return "space" if c == " " else "`" + c.replace("|", "\\|") + "`"

    source, read = error
    if not read:
        return f"{char(source)} dropped"
    if not source:
        return f"{char(read)} inserted"
    return f"{char(source)} read as {char(read)}"


def common_errors(mine, theirs, count: int = COMMON_ERRORS) -> list:
    """Rows for the ``count`` most frequent character errors in ``mine`` (``confusions``): the
    error, how often it is in ``mine``, and how often in ``theirs``."""
    top = sorted(mine.items(), key=lambda item: (-item[1], item[0]))[:count]
    return [[error_name(error), times, theirs.get(error, 0)] for error, times in top]


def letter_digit_errors(confusions) -> int:
    """Substitutions of a digit for a letter or a letter for a digit."""
    return sum(
        times
        for (source, read), times in confusions.items()
        if (source.isdigit() and read.isalpha()) or (source.isalpha() and read.isdigit())
    )


def percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def case_errors(confusions) -> int:
    """Substitutions of a letter by the same letter in the other case."""
    return sum(
        times
        for (source, read), times in confusions.items()
        if source != read and source.lower() == read.lower()
    )


def score_rows(systems: dict) -> list[list]:
    """Rows of a slice's main table: CER as written, CER ignoring case, line accuracy, lines."""
    return [
        [
            name,
            percent(f["overall"].cer),
            percent(f["ignoring_case"].cer),
            percent(f["overall"].line_accuracy),
            f["overall"].lines,
        ]
        for name, f in systems.items()
    ]


SCORE_HEADER = ["system", "CER", "CER ignoring case", "line accuracy", "lines"]


def peers(systems: dict) -> list[str]:
    """The peer systems of a slice, Tesseract's configurations first."""
    return [name for name in systems if not name.startswith("crnn-tfx")]


def best_tesseract(systems: dict) -> str:
    """The Tesseract configuration with the lowest CER on a slice."""
    return min(
        (name for name in systems if name.startswith("Tesseract")),
        key=lambda name: systems[name]["overall"].cer,
    )


def comparisons(systems: dict, ours: str) -> list[str]:
    """One bullet per peer: our CER against theirs, with the paired interval."""
    return [
        f"  - against {name} ({percent(systems[name]['overall'].cer)}): "
        + difference_words(systems[ours], systems[name])
        for name in peers(systems)
    ]


def goal_words(systems: dict, ours: str, whole_interval: bool) -> str:
    """Whether our CER is at most the best Tesseract configuration's (with the whole interval
    at or below 0 when ``whole_interval``), and how it stands against half of it."""
    tess = best_tesseract(systems)
    our_cer, their_cer = systems[ours]["overall"].cer, systems[tess]["overall"].cer
    _, _, high = cer_difference(systems[ours], systems[tess])
    met = our_cer <= their_cer and (high <= 0 or not whole_interval)
    ratio = our_cer / max(their_cer, 1e-9)
    return (
        f"{percent(our_cer)} against {tess}'s {percent(their_cer)} ({ratio:.2f}x"
        + (f", interval up to {signed_points(high)} points" if whole_interval else "")
        + f"): {'goal met' if met else 'goal not met'}"
        + (
            f"; the aim, half of Tesseract's, {'met' if ratio <= 0.5 else 'not met'}"
            if whole_interval
            else ""
        )
    )


def lm_words(in_lm, out_lm, plain: float, synthetic, tesseract_figures, tess: str) -> list[str]:
    """The language-model bullet (none when the run left the language models out)."""
    if in_lm is None or out_lm is None:
        return ["- **Language-model decoding** (`--lm`): not measured in this run (`--skip-lm`)."]
    their_cer = tesseract_figures["overall"].cer
    in_cer, out_cer = in_lm["overall"].cer, out_lm["overall"].cer
    return [
        f"- **Language-model decoding** (`--lm`, `serving.char_lm`): in-vocabulary "
        f"{percent(plain)} -> {percent(in_cer)}; out-of-vocabulary {percent(plain)} -> "
        f"{percent(out_cer)}. The model: a character 6-gram model over the "
        f"{synthetic.count} training texts and {char_lm.DEFAULT_WORD_LINES} lines "
        "of 1-4 words (training + held-out words; training words only), weight "
        f"{char_lm.DEFAULT_WEIGHT}, bonus {char_lm.DEFAULT_BONUS} per character, beam "
        f"{char_lm.DEFAULT_BEAM}. "
        + (
            f"With it, in-vocabulary, this model is at or below {tess}"
            if in_cer <= their_cer
            else f"With it, in-vocabulary, this model is still above {tess} "
            f"({in_cer / max(their_cer, 1e-9):.1f}x)"
        )
        + f": {difference_words(in_lm, tesseract_figures)}."
    ]


def markdown(
    systems: dict,
    curve: dict,
    components: dict[str, float],
    config,
    heldout_csv: Path,
    count: int,
    model_dir: str,
    tesseract_version: str,
    command: str = "",
    note: str = "",
    scanned: dict | None = None,
    scanned_csv: Path | None = None,
    peer_versions: str = "",
) -> str:
    ours = next(name for name in systems if name.startswith("crnn-tfx") and is_plain(name))
    tess = best_tesseract(systems)
    packages = sorted({package for f in systems.values() for package in f["by_package"]})
    by_font = [
        [name, *(percent(f["by_package"][package].cer) for package in packages)]
        for name, f in systems.items()
        if is_plain(name)
    ]
    plain = systems[ours]["overall"].cer
    in_lexicon = next(f for n, f in systems.items() if "in-lexicon" in n)["overall"].cer
    out_lexicon = next(f for n, f in systems.items() if "out-of-lexicon" in n)["overall"].cer
    in_lm_figures = next((f for n, f in systems.items() if "LM (in-vocabulary)" in n), None)
    out_lm_figures = next((f for n, f in systems.items() if "LM (out-of-vocabulary)" in n), None)
    total = components.get("total", sum(components.values()))
    timing = [[name, f"{seconds / 60:.1f}"] for name, seconds in components.items()]
    training = config.training
    synthetic = config.data.synthetic
    points = ", ".join(
        f"step {step}: {percent(cer)}"
        for step, cer in zip(curve["steps"], curve["val_cer"], strict=True)
    )
    kept = "kept" if out_lexicon - plain <= LEXICON_MARGIN else "NOT kept"
    mine, theirs = systems[ours]["confusions"], systems[tess]["confusions"]
    my_errors, their_errors = sum(mine.values()), sum(theirs.values())
    my_letter_digit = letter_digit_errors(mine)
    lines = [
        "## Accuracy against Tesseract and PaddleOCR, and the `standard` training profile",
        "",
        f"Held-out set, clean slice: {count} lines from `benchmarks.heldout` "
        f"({report.shown_path(heldout_csv.parent)}): fonts "
        "from fonts-urw-base35, fonts-liberation2 and fonts-noto-core, texts from "
        "`benchmarks/data/heldout_words.txt` and token kinds the training generator does not "
        "make, in mixed case with the punctuation of print (charset `full`), 1 to 100 characters. "
        "The model never saw these fonts or words: it was trained on synthetic data only "
        f"(`pipeline/configs/standard.json`: {synthetic.count} lines of charset "
        f"`{synthetic.charset}` up to {synthetic.max_chars} characters, "
        f"{synthetic.scan_share:.0%} of them cut from a scanned-looking page, drawn with "
        f"{font_count(config)} fonts from DejaVu and {font_folder_count(config) - 1} "
        "other font folders (none a held-out font), "
        f"{training.train_steps} steps of batch {training.batch_size}, through the real "
        f"pipeline; {geometry(config)}; {augmentations(config)}). Scoring counts every "
        "character as written, case and punctuation included; only whitespace runs are "
        "collapsed (`benchmarks.tesseract.normalise`). The column ignoring case stands beside "
        "it, not instead.",
        "",
        report.markdown_table(SCORE_HEADER, score_rows(systems)),
        "",
        f"- **Goal** (clean slice): CER at most Tesseract's best configuration, with the whole "
        f"interval at or below 0. This model: {goal_words(systems, ours, True)}.",
        *comparisons(systems, ours),
    ]
    if scanned:
        lines += [
            "",
            f"Held-out set, scanned slice: {scanned[ours]['overall'].lines} lines from "
            f"`benchmarks.heldout_scanned` ({report.shown_path(Path(scanned_csv).parent)}): "
            "paragraphs of held-out text laid out on a page, the page degraded as a print-and-"
            "scan chain would and the lines cut out from it: degradations of its own, not the "
            "training ones (`tools.scan_look`), by another code path.",
            "",
            report.markdown_table(SCORE_HEADER, score_rows(scanned)),
            "",
            f"- **Goal** (scanned slice): CER at most Tesseract's. This model: "
            f"{goal_words(scanned, ours, False)}.",
            *comparisons(scanned, ours),
        ]
    lines += [
        "",
        "CER by font package (clean slice):",
        "",
        report.markdown_table(["system", *packages], by_font),
        "",
        f"The {HARDEST_FONTS} held-out fonts this model reads worst (CER on each font's lines):",
        "",
        report.markdown_table(
            ["font", "lines", *(name for name in systems if is_plain(name))],
            hardest_fonts(systems, ours),
        ),
        "",
        f"The {COMMON_ERRORS} character errors this model makes most often on the clean slice, "
        f"beside how often {tess} makes each:",
        "",
        report.markdown_table(
            ["error", f"{ours} (of {my_errors})", f"{tess} (of {their_errors})"],
            common_errors(mine, theirs),
        ),
        "",
        f"- case errors (a letter read in the other case): {case_errors(mine)} of this model's "
        f"{my_errors} character errors; {tess}: {case_errors(theirs)} of {their_errors}.",
        f"- letters read as digits or digits as letters: {my_letter_digit} of this model's "
        f"{my_errors} character errors ({my_letter_digit / max(my_errors, 1):.0%}); "
        f"{tess}: {letter_digit_errors(theirs)} of {their_errors}. "
        + letters_beside_digits(synthetic.random_share, synthetic.random_style),
        f"- **Lexicon decoding** (`--lexicon`): in-lexicon {percent(plain)} -> "
        f"{percent(in_lexicon)}; out-of-lexicon {percent(plain)} -> {percent(out_lexicon)} "
        f"(stated margin: at most +{percent(LEXICON_MARGIN)}; {kept}).",
        *lm_words(in_lm_figures, out_lm_figures, plain, synthetic, systems[tess], tess),
        "- **Training curve** (eval split, in-distribution; held-out CERs as lines): "
        f"`benchmarks/figures/accuracy.png`. Eval-split CER per evaluation: {points}.",
        f"- **Wall time** of the standard run: {total / 60:.1f} min in all (budget: 60 min on "
        "this 2-core CPU), per component:",
        "",
        report.markdown_table(["component", "minutes"], timing),
        "",
        "![accuracy](benchmarks/figures/accuracy.png)",
        "",
        f"- model: `{report.shown_path(model_dir)}`; Tesseract: {tesseract_version} "
        "(`--oem 1 --psm 7 -l eng`, one process per set)"
        + (f"; {peer_versions}" if peer_versions else ""),
        f"- command: `{command or report.this_command()}`",
        f"- machine: {report.machine()}; date {report.today()}",
        "- accuracy figures are deterministic for a model and set (one run); the wall time is "
        "one run of the standard profile, not a median (it takes most of an hour)",
        *([f"- note: {note}"] if note else []),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--train", action="store_true", help="run the standard profile first")
    parser.add_argument("--output-dir", default=str(ROOT / "outputs" / "bench" / "standard"))
    parser.add_argument(
        "--model",
        help="the SavedModel to score (default: the newest push under --output-dir/serving; "
        "an unblessed run's model is at --output-dir/pipeline/Trainer/model/N/Format-Serving)",
    )
    parser.add_argument("--heldout", default=str(ROOT / "outputs" / "bench" / "heldout"))
    parser.add_argument("--count", type=int, default=5000, help="held-out lines (clean slice)")
    parser.add_argument(
        "--scanned",
        default=str(ROOT / "outputs" / "bench" / "heldout-scanned"),
        help="scanned slice",
    )
    parser.add_argument(
        "--scanned-count", type=int, default=2000, help="held-out lines (scanned slice)"
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="write BENCHMARKS.md's section and its figure, benchmarks/figures/accuracy.png",
    )
    parser.add_argument("--note", default="", help="a line added to the section (e.g. the load)")
    parser.add_argument(
        "--skip-lm",
        action="store_true",
        help="leave out the language-model decoding (the slowest system on long lines)",
    )
    args = parser.parse_args(argv)

    from pipeline.config import load_config

    output_dir = Path(args.output_dir).resolve()
    if args.train:
        train_standard(output_dir)
    config = load_config(str(STANDARD))
    model_dir = args.model or str(output_dir / "serving")
    if not Path(model_dir).is_dir():
        print(
            f"error: {model_dir}: no pushed model (run with --train, or name an unblessed "
            "run's model with --model)",
            file=sys.stderr,
        )
        return 2
    from benchmarks import heldout_scanned, paddleocr_peer

    labels = heldout.generate(args.heldout, args.count)
    scanned_labels = heldout_scanned.generate(args.scanned, args.scanned_count)
    texts = training_texts(config, output_dir)
    systems = evaluate_systems(model_dir, labels, texts, with_lm=not args.skip_lm)
    scanned = evaluate_scanned(model_dir, scanned_labels)
    curve = curve_of(history(output_dir), config.training.steps_per_evaluation)
    components = pipeline_seconds(output_dir)
    for slice_name, figures_by_system in (("clean", systems), ("scanned", scanned)):
        for name, figures in figures_by_system.items():
            print(
                f"{slice_name}: {name}: CER={figures['overall'].cer:.4f} "
                f"CER_ignoring_case={figures['ignoring_case'].cer:.4f} "
                f"line_accuracy={figures['overall'].line_accuracy:.4f}"
            )
    if args.write:  # the figure belongs to the section: a trial run leaves both as they were
        plot(curve, systems, FIGURE)
        report.write_section(
            "accuracy",
            markdown(
                systems,
                curve,
                components,
                config,
                Path(labels),
                args.count,
                model_dir,
                tesseract.tesseract_version(),
                report.this_command(__spec__),
                args.note,
                scanned,
                Path(scanned_labels),
                paddleocr_peer.version(),
            ),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
