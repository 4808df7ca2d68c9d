"""Inference lines/s per core: the SavedModel, ONNX Runtime and Tesseract 5 on the same lines.

Every system reads the same held-out line images (``benchmarks.heldout``: fonts and texts the
training never uses) at batch 1 and batch 64, in one process pinned to one core:

- **SavedModel**: the pushed model's ``predict_images`` signature through
  ``serving.model.Recognizer.predict`` on PNG bytes (decode, resize, network and the decoder the
  model was exported with, ``evaluation.decoder`` of its configuration), TF intra/inter-op
  threads 1;
- **SavedModel, bfloat16 copy**: the same model exported again with ``export.precision``
  bfloat16 (``trainer_module.export.reexport``: the convolutions compute in bfloat16, the
  LSTMs in float32; CPUs with AVX512_BF16 or AMX run bfloat16 natively), read the same way;
- **SavedModel + char LM**: the same model with language-model decoding (``--lm``:
  ``serving.char_lm``'s prefix beam search in Python over the ``predict_log_probs`` signature),
  with a character 6-gram model over ``LM_TEXTS`` generated training-style texts and as many
  lines of the training words, at the default weight;
- **ONNX Runtime**: the same network exported by ``serving.onnx_export`` and read by
  ``serving.onnx_model.OnnxRecognizer`` (Pillow preprocessing, greedy CTC decoding in NumPy),
  ``intra_op_num_threads=1``;
- **ONNX Runtime, int8**: that export quantised to int8 (``serving.onnx_export.quantize_int8``),
  calibrated on ``CALIBRATION_LINES`` lines that ``tools.synth_lines`` draws as for training
  (DejaVu fonts, never the held-out ones), read the same way;
- **Tesseract 5** (``benchmarks.tesseract``: LSTM engine, ``--psm 7``, English, whitelist of the
  set's charset), ``OMP_THREAD_LIMIT=1``, a child of the pinned process (so on the same core).
  One process per call: batch 64 is one call on a list of 64 images, batch 1 is one call per
  image and so includes loading Tesseract's model every time; its per-line time in one call on
  all ``--lines`` images is reported as its best case.

Batch 64 reads all ``--lines`` images in batches of 64; batch 1 reads the first
``--batch1-lines`` of them one by one. Each figure is the median of ``--repeats`` timed runs
after one warm-up run; the systems take turns run by run (the order rotates), so a drifting load
on a shared machine falls on all of them alike.

    python -m benchmarks.inference_speed --model PUSH_DIR [--heldout DIR] [--lines 256]
        [--batch1-lines 64] [--repeats 5] [--write]

``--write`` replaces the ``inference_speed`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import report

SECTION = "inference_speed"
BATCH = 64
TARGET_BATCHED = 10.0  # issue 7: >= 10x Tesseract's lines/s per core batched
TARGET_SINGLE = 3.0  # ... and >= 3x at batch 1
DEFAULT_HELDOUT = "outputs/bench/heldout-speed"
SAVED_MODEL, ONNX, TESSERACT = "SavedModel", "ONNX Runtime", "Tesseract"
SAVED_MODEL_BF16 = "SavedModel, bfloat16 copy"
ONNX_INT8 = "ONNX Runtime, int8"
SAVED_MODEL_LM = "SavedModel + char LM"
LM_TEXTS = 24000  # generated texts the speed benchmark's language model learns from
LM_SEED = 31
CALIBRATION_LINES = 256  # generated training-style lines that calibrate the int8 export
CALIBRATION_SEED = 7
BEST = "tesseract_best"  # plan key of Tesseract's one call on every line
BY_WIDTH = "by width"  # plan key suffix of predict_all on every line (batches of like widths)


@dataclass
class SystemRates:
    """One system's timed runs (lines/s) at batch 1 and at batch 64."""

    system: str
    decoder: str
    single: list[float]
    batched: list[float]
    cer: float | None = None  # on the batch-64 lines, for a sanity check of what was timed
    line_accuracy: float | None = None
    by_width: list[float] = field(default_factory=list)  # predict_all: batches of like widths

    @property
    def single_median(self) -> float:
        return report.median(self.single)

    @property
    def batched_median(self) -> float:
        return report.median(self.batched)

    @property
    def by_width_median(self) -> float | None:
        return report.median(self.by_width) if self.by_width else None


@dataclass
class Measurements:
    """Everything the section reports; built by ``measure`` or by hand (tests)."""

    systems: list[SystemRates]  # the Tesseract row is the one named TESSERACT
    tesseract_best: list[float]  # lines/s of Tesseract's one call on all ``lines`` images
    lines: int
    single_lines: int
    repeats: int
    model_dir: str
    heldout: str
    charset: str
    pinning: str
    versions: dict[str, str] = field(default_factory=dict)

    def system(self, name: str) -> SystemRates:
        return next(rates for rates in self.systems if rates.system == name)

    @property
    def tesseract(self) -> SystemRates:
        return self.system(TESSERACT)

    @property
    def tesseract_best_median(self) -> float:
        return report.median(self.tesseract_best)


# --------------------------------------------------------------------------- wording


def cpu_bf16(cpuinfo: str = "/proc/cpuinfo") -> str:
    """Which bfloat16 instructions this CPU reports, in words for the section."""
    from trainer_module.train import cpu_bfloat16_flags

    found = cpu_bfloat16_flags(cpuinfo)
    if found is None:
        return "its CPU flags could not be read"
    return f"it reports {' and '.join(found)}" if found else "it reports neither"


def ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else float("inf")


def verdict(value: float, target: float) -> str:
    """``**met** (12.3x >= 10x)`` or ``**not met** (1.5x < 10x)``."""
    if value >= target:
        return f"**met** ({value:.2f}x >= {target:g}x)"
    return f"**not met** ({value:.2f}x < {target:g}x)"


def saved_model_decoder(evaluation) -> str:
    """The SavedModel's decoder, from its configuration's ``evaluation`` section."""
    if evaluation.decoder == "beam":
        return (
            f"CTC beam search (width {evaluation.beam_width}, top {evaluation.top_paths}), "
            "in the graph"
        )
    return "CTC greedy, in the graph"


ONNX_DECODER = "CTC greedy, NumPy (outside the graph)"


def lm_decoder(lm) -> str:
    from serving import char_lm

    return (
        f"CTC prefix beam search (width {char_lm.DEFAULT_BEAM}) with a character "
        f"{lm.order}-gram model, Python (outside the graph)"
    )


TESSERACT_DECODER = "Tesseract's LSTM decoder (--oem 1 --psm 7, whitelist)"


def _runs(values: Sequence[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)


def section(m: Measurements, command: str, machine: str, date: str, note: str = "") -> str:
    """The BENCHMARKS.md section for ``m``."""
    tess = m.tesseract
    rows = []
    for rates in m.systems:
        accuracy = f"{rates.cer:.4f} / {rates.line_accuracy:.3f}" if rates.cer is not None else "-"
        by_width = rates.by_width_median
        rows.append(
            [
                rates.system,
                rates.decoder,
                f"{rates.single_median:.1f}",
                f"{rates.batched_median:.1f}",
                "-" if by_width is None else f"{by_width:.1f}",
                f"{ratio(rates.single_median, tess.single_median):.2f}x",
                f"{ratio(rates.batched_median, tess.batched_median):.2f}x",
                "-" if by_width is None else f"{ratio(by_width, tess.batched_median):.2f}x",
                accuracy,
            ]
        )
    best = m.tesseract_best_median
    load_ms = max(0.0, 1000 / tess.single_median - 1000 / best) if best > 0 else 0.0
    lines = [
        "## Inference speed per core: SavedModel, ONNX Runtime, Tesseract 5",
        "",
        f"The same {m.lines} held-out line images (`benchmarks.heldout`, charset `{m.charset}`, "
        f"fonts and texts the training never uses) for every system: batch {BATCH} reads all "
        f"{m.lines} in batches of {BATCH} in the set's order (as {BATCH}-line requests "
        f'arrive), "by width" all {m.lines} through `predict_all` (sorted by aspect ratio '
        f"from the image headers, then batches of {BATCH}, results back in order; "
        f"`serving.model.predict_by_width`), batch 1 the first {m.single_lines} one by one. "
        f"Median of {m.repeats} timed runs after one warm-up run; the systems take turns run by "
        "run. Model: "
        f"`{report.shown_path(m.model_dir)}`.",
        "",
        report.markdown_table(
            [
                "system",
                "decoder",
                "lines/s, batch 1",
                f"lines/s, batch {BATCH}",
                f"lines/s, batch {BATCH} by width",
                "vs Tesseract, batch 1",
                f"vs Tesseract, batch {BATCH}",
                f"vs Tesseract, batch {BATCH} by width",
                "CER / line accuracy (these lines)",
            ],
            rows,
        ),
        "",
        f"- Tesseract's best case, one call on all {m.lines} lines (its model loaded once): "
        f"**{best:.1f} lines/s** ({1000 / best:.1f} ms per line) per core; against it "
        + ", ".join(
            f"{rates.system} batched is {ratio(rates.batched_median, best):.2f}x"
            for rates in m.systems
            if rates.system != TESSERACT
        )
        + ".",
        f"- targets (issue 7): >= {TARGET_BATCHED:g}x Tesseract's lines/s per core batched and "
        f">= {TARGET_SINGLE:g}x at batch 1:",
    ]
    for rates in m.systems:
        if rates.system == TESSERACT:
            continue
        by_width = rates.by_width_median
        lines.append(
            f"  - {rates.system}: batch {BATCH} "
            f"{verdict(ratio(rates.batched_median, tess.batched_median), TARGET_BATCHED)}"
            + (
                ""
                if by_width is None
                else f", by width {verdict(ratio(by_width, tess.batched_median), TARGET_BATCHED)}"
            )
            + f"; batch 1 {verdict(ratio(rates.single_median, tess.single_median), TARGET_SINGLE)}"
        )
    lines += [
        "- Tesseract runs as one process per call (`benchmarks.tesseract.read_lines`): batch "
        f"{BATCH} is one call on a list of {BATCH} images; batch 1 is one call per image and so "
        "includes starting Tesseract and loading its model every call (about "
        f"{load_ms:.0f} ms per call here, beyond its best-case per-line time), which a service "
        "keeping Tesseract loaded would not pay. It reads the PNG files itself (from the page "
        "cache); the SavedModel and ONNX Runtime get the PNG bytes already in memory and decode "
        "them inside the timed call.",
        "- The SavedModel's decoder is the one it was exported with (`evaluation.decoder` of its "
        "configuration); ONNX Runtime runs the same network with greedy decoding in NumPy "
        "(`serving.onnx_model`), so the two can differ in text and speed by the decoder. The "
        "bfloat16 copy is the same model exported again with `export.precision` bfloat16 "
        "(`trainer_module.export.reexport`): the same decoder, the convolutions computing in "
        "bfloat16 (the LSTMs in float32), which this CPU runs natively when it has AVX512_BF16 "
        "or AMX "
        f"({cpu_bf16()}). The char LM row is the float32 SavedModel decoded with `--lm` "
        "(`serving.char_lm`: the network's log-probabilities from the `predict_log_probs` "
        f"signature, then prefix beam search in Python with a model over {LM_TEXTS} generated "
        "training-style texts and as many lines of the training words). The int8 export is "
        "ONNX Runtime's static quantisation of the convolutions (but the first, which reads the "
        "image and stays in float) and the matrix products "
        "(`serving.onnx_export --int8`), calibrated on "
        f"{CALIBRATION_LINES} generated training-style lines (DejaVu fonts, not the held-out "
        "ones).",
        "- runs (lines/s): "
        + "; ".join(
            f"{rates.system} batch 1: {_runs(rates.single)}, batch {BATCH}: {_runs(rates.batched)}"
            + (f", by width: {_runs(rates.by_width)}" if rates.by_width else "")
            for rates in m.systems
        )
        + f"; Tesseract best case: {_runs(m.tesseract_best)}",
        f"- command: `{command}`",
        f"- machine: {machine}",
        f"- threads: one process {m.pinning} (`sched_setaffinity`, inherited by Tesseract); "
        "TF intra/inter-op threads 1; ONNX Runtime intra_op_num_threads 1 (inter-op 1); "
        "Tesseract OMP_THREAD_LIMIT=1",
        "- versions: " + ", ".join(f"{name} {value}" for name, value in m.versions.items()),
        f"- date: {date}",
        f"- held-out set: `{report.shown_path(m.heldout)}`",
        *([f"- note: {note}"] if note else []),
    ]
    if m.repeats < 5:
        lines.append(f"- only {m.repeats} timed runs: issue 7 asks for the median of >= 5")
    return "\n".join(lines)


# --------------------------------------------------------------------------- measuring


@dataclass
class Entry:
    """One timed figure: ``predict`` on ``items`` in consecutive batches of ``batch``."""

    key: str
    predict: Callable[[Sequence], list[str]]
    items: Sequence
    batch: int


def time_run(predict: Callable[[Sequence], list[str]], items: Sequence, batch: int):
    """(lines/s, texts): ``predict`` on every full batch of ``batch`` items, in order."""
    count = len(items) // batch * batch
    if count == 0:
        raise ValueError(f"{len(items)} items cannot make one batch of {batch}")
    texts: list[str] = []
    started = time.perf_counter()
    for start in range(0, count, batch):
        texts.extend(predict(items[start : start + batch]))
    seconds = time.perf_counter() - started
    if len(texts) != count:
        raise RuntimeError(f"{len(texts)} texts for {count} lines")
    return count / seconds, texts


def run_plan(
    entries: Sequence[Entry], repeats: int, log: Callable[[str], None] = print
) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """One warm-up run then ``repeats`` timed runs of every entry, taking turns (the order
    rotates each run). Returns lines/s per key (timed runs only) and each key's warm-up texts."""
    rates: dict[str, list[float]] = {entry.key: [] for entry in entries}
    texts: dict[str, list[str]] = {}
    for run in range(repeats + 1):
        shift = run % len(entries)
        for entry in [*entries[shift:], *entries[:shift]]:
            lines_per_second, outputs = time_run(entry.predict, entry.items, entry.batch)
            if run == 0:
                texts[entry.key] = outputs
            else:
                rates[entry.key].append(lines_per_second)
        if run == 0:
            log("warm-up run done")
        else:
            log(
                f"run {run}/{repeats} (lines/s): "
                + ", ".join(f"{key} {values[-1]:.1f}" for key, values in rates.items())
            )
    return rates, texts


def texts_of(network) -> Callable[[Sequence[bytes]], list[str]]:
    """A network's texts for one batch of encoded lines (``predict``)."""
    return lambda batch: [p.text for p in network.predict(batch)]


def texts_by_width(network) -> Callable[[Sequence[bytes]], list[str]]:
    """A network's texts for every line, batched by width (``predict_all``), in input order."""
    return lambda lines: [p.text for p in network.predict_all(lines, BATCH)[0]]


def speed_lm(charset: str):
    """The language model the SavedModel + char LM row decodes with: ``LM_TEXTS`` texts drawn
    as for training and as many lines of the training words."""
    from serving import char_lm
    from tools import synth_lines

    texts = [
        synth_lines.make_print_text(synth_lines.line_rng(LM_SEED, index), charset)
        for index in range(LM_TEXTS)
    ]
    return char_lm.CharLM.train([*texts, *char_lm.word_lines(synth_lines.load_words(), LM_TEXTS)])


def measure(args: argparse.Namespace, pinning: str, tmp: str) -> Measurements:
    import onnxruntime
    import tensorflow as tf

    from benchmarks import heldout, tesseract
    from serving.model import Recognizer
    from serving.onnx_export import calibration_images, export_onnx, quantize_int8
    from serving.onnx_model import OnnxRecognizer
    from trainer_module.export import reexport
    from trainer_module.metrics import score

    labels = heldout.generate(args.heldout, args.lines, seed=args.seed, charset=args.charset)
    rows = heldout.read_labels(labels)[: args.lines]
    paths = [path for path, _ in rows]
    images = [path.read_bytes() for path in paths]
    chars = heldout.synth_lines.resolve_charset(args.charset)
    whitelist = tesseract.whitelist_for(chars)

    recognizer = Recognizer(args.model)
    lm = speed_lm(args.charset)
    lm_recognizer = Recognizer(args.model, lm=lm)
    print(f"exporting {recognizer.model_dir} to ONNX and in bfloat16 ...", flush=True)
    onnx_recognizer = OnnxRecognizer(export_onnx(args.model, Path(tmp) / "crnn.onnx"), threads=1)
    bf16_recognizer = Recognizer(
        str(reexport(recognizer.model_dir, Path(tmp) / "bfloat16", "bfloat16"))
    )
    calibration = heldout.synth_lines.generate(
        Path(tmp) / "calibration", CALIBRATION_LINES, CALIBRATION_SEED, charset=args.charset
    )
    int8_recognizer = OnnxRecognizer(
        quantize_int8(
            Path(tmp) / "crnn.onnx",
            Path(tmp) / "crnn-int8.onnx",
            calibration_images(str(Path(calibration["images_dir"]) / "*"), CALIBRATION_LINES),
        ),
        threads=1,
    )
    # The networks, each read batch by batch and all at once by width (``predict_all``).
    networks = {
        SAVED_MODEL: recognizer,
        SAVED_MODEL_BF16: bf16_recognizer,
        SAVED_MODEL_LM: lm_recognizer,
        ONNX: onnx_recognizer,
        ONNX_INT8: int8_recognizer,
    }

    def tesseract_lines(batch: Sequence[Path]) -> list[str]:
        texts, _ = tesseract.read_lines(batch, whitelist, threads=1)
        return [tesseract.normalise(text, chars) for text in texts]

    systems = {name: (texts_of(network), images) for name, network in networks.items()}
    systems[TESSERACT] = (tesseract_lines, paths)
    entries = []
    for name, (predict, items) in systems.items():
        entries.append(Entry(f"{name} b1", predict, items[: args.batch1_lines], 1))
        entries.append(Entry(f"{name} b{BATCH}", predict, items, BATCH))
    lines = len(images) // BATCH * BATCH  # the lines batch 64 reads
    for name, network in networks.items():
        entries.append(Entry(f"{name} {BY_WIDTH}", texts_by_width(network), images[:lines], lines))
    entries.append(Entry(BEST, tesseract_lines, paths, len(paths)))
    rates, texts = run_plan(entries, args.repeats)

    decoders = {
        SAVED_MODEL: saved_model_decoder(recognizer.config.evaluation),
        SAVED_MODEL_BF16: saved_model_decoder(bf16_recognizer.config.evaluation),
        SAVED_MODEL_LM: lm_decoder(lm),
        ONNX: ONNX_DECODER,
        ONNX_INT8: ONNX_DECODER,
        TESSERACT: TESSERACT_DECODER,
    }
    references = {
        SAVED_MODEL: [recognizer.reference(label) for _, label in rows],
        TESSERACT: [tesseract.normalise(label, chars) for _, label in rows],
    }
    for name in (ONNX, ONNX_INT8, SAVED_MODEL_BF16, SAVED_MODEL_LM):
        references[name] = references[SAVED_MODEL]
    results = []
    for name in systems:
        predicted = texts[f"{name} b{BATCH}"]
        figures = score(references[name][: len(predicted)], predicted)
        results.append(
            SystemRates(
                system=name,
                decoder=decoders[name],
                single=rates[f"{name} b1"],
                batched=rates[f"{name} b{BATCH}"],
                by_width=rates.get(f"{name} {BY_WIDTH}", []),
                cer=figures.cer,
                line_accuracy=figures.line_accuracy,
            )
        )
    return Measurements(
        systems=results,
        tesseract_best=rates[BEST],
        lines=len(images) // BATCH * BATCH,
        single_lines=min(args.batch1_lines, len(images)),
        repeats=args.repeats,
        model_dir=recognizer.model_dir,
        heldout=str(Path(args.heldout)),
        charset=args.charset,
        pinning=pinning,
        versions={
            "TensorFlow": tf.__version__,
            "onnxruntime": onnxruntime.__version__,
            "Tesseract": tesseract.tesseract_version().removeprefix("tesseract ").strip(),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument(
        "--heldout",
        default=DEFAULT_HELDOUT,
        help=f"held-out set folder (default {DEFAULT_HELDOUT})",
    )
    parser.add_argument("--lines", type=int, default=256, help="lines read at batch 64")
    parser.add_argument(
        "--batch1-lines", type=int, default=64, help="of those, lines read at batch 1 (default 64)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure")
    parser.add_argument("--charset", default="full", help="held-out charset (default full)")
    parser.add_argument("--seed", type=int, default=2024, help="held-out set seed")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    parser.add_argument(
        "--note", default="", help="a line added to the section (e.g. which model this is)"
    )
    args = parser.parse_args(argv)
    if args.lines < BATCH or args.batch1_lines < 1 or args.repeats < 1:
        parser.error(f"--lines must be at least {BATCH}; --batch1-lines and --repeats at least 1")

    pinning = report.pin_tensorflow(1)  # before TensorFlow runs anything
    with tempfile.TemporaryDirectory(prefix="inference_speed_") as tmp:
        m = measure(args, pinning, tmp)
    markdown = section(
        m, report.this_command(__spec__), report.machine(), report.today(), args.note
    )
    print(markdown)
    if args.write:
        report.write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
