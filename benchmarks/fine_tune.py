"""Fine-tuning the shipped model on one typeface: the held-out font family it reads worst.

    python -m benchmarks.fine_tune [--model models/printed] [--lines 1000] [--steps 300] [--write]

1. Reads the clean held-out slice (``benchmarks.heldout``, ``outputs/bench/heldout``) with the
   model and takes the font family (a font file's name up to its first hyphen: NimbusSans,
   URWGothic, ...) it reads worst.
2. Generates ``--lines`` lines in that family's fonts with ``tools.synth_lines``: the training
   generator's words and token kinds, so no held-out text is trained on; scanned-looking in
   the shipped model's share.
3. Runs the pipeline on them with ``training.init_from`` = the model, timed.
4. Reads the family's held-out lines, the whole clean slice and the scanned slice
   (``benchmarks.heldout_scanned``) with the fine-tuned model: CER and line accuracy before
   and after, each change with its paired bootstrap interval (``accuracy.cer_difference``), so
   a change inside it reads as no change.

``--write`` replaces the ``fine_tune`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import accuracy, heldout, report

ROOT = report.ROOT
SECTION = "fine_tune"
PRETRAINED = ROOT / "pipeline" / "configs" / "pretrained.json"
CLEAN = ROOT / "outputs" / "bench" / "heldout" / "labels.csv"
SCANNED = ROOT / "outputs" / "bench" / "heldout-scanned" / "labels.csv"
PROFILE = json.loads(PRETRAINED.read_text())  # the shipped model's data, augmentation and gate
PIPELINE_NAME = "crnn-fine-tune"


def family(font: str) -> str:
    """A font file's family: its name up to the first hyphen (``URWGothic-Demi.otf`` ->
    ``URWGothic``)."""
    return Path(font).stem.split("-")[0]


def read_slice(model_dir: str, labels_csv: Path) -> tuple[dict, list[str]]:
    """The model's figures on a held-out slice (``accuracy.system_figures``, by family in place
    of package) and each line's family."""
    from serving.model import Recognizer

    paths, references, fonts, _ = accuracy.heldout_slice(labels_csv)
    families = [family(font) for font in fonts]
    images = [path.read_bytes() for path in paths]
    predictions, seconds = accuracy.model_reads(Recognizer(model_dir), images, "reading")
    texts = [accuracy.tesseract.normalise(p.text) for p in predictions]
    return accuracy.system_figures(references, texts, families, fonts, seconds), families


def family_lines(figures: dict, families: list[str], name: str) -> dict:
    """``figures`` restricted to the lines of one family (for ``cer_difference``)."""
    keep = [i for i, line_family in enumerate(families) if line_family == name]
    return {key: [figures[key][i] for i in keep] for key in ("line_edits", "line_chars")}


def generate_lines(name: str, count: int, out: Path) -> Path:
    """``count`` training lines in the family's held-out fonts, as pretrained.json's generator
    makes them but for the fonts; the labels CSV."""
    from tools import synth_lines

    synthetic = PROFILE["data"]["synthetic"]
    fonts = [font for font in heldout.heldout_fonts() if family(font) == name]
    synth_lines.generate(
        out,
        count=count,
        seed=synthetic["seed"] + 1,
        fonts=fonts,
        charset=synthetic["charset"],
        max_chars=synthetic["max_chars"],
        random_share=synthetic["random_share"],
        scan_share=synthetic["scan_share"],
    )
    return out / "labels.csv"


def fine_tune(model: str, labels_csv: Path, steps: int, out: Path) -> tuple[str, str, float]:
    """The pipeline from ``model`` on the lines: (the fine-tuned model, its summary line,
    seconds). The model is the pushed one, or the Trainer's when the Evaluator did not bless."""
    config = {
        "augmentation": PROFILE["augmentation"],
        "training": {
            "init_from": model,
            "batch_size": 32,
            "learning_rate": 0.0003,
            "lr_schedule": "cosine",
            "train_steps": steps,
            "steps_per_evaluation": steps,
            "eval_steps": 8,
        },
        "evaluation": {"cer_threshold": PROFILE["evaluation"]["cer_threshold"]},
        "pipeline": {"name": PIPELINE_NAME},
    }
    config_path = out / "fine_tune.json"
    config_path.write_text(json.dumps(config, indent=1))
    command = [sys.executable, "local_runner.py", str(config_path), "--data", str(labels_csv)]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, "--output-dir", str(out / "run")], cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"the fine-tuning run failed:\n{result.stderr[-3000:]}")
    from pipeline import results

    metadata = str(out / "run" / "metadata.sqlite")
    summary = results.summarize(metadata, PIPELINE_NAME)
    tuned = summary.pushed_model or results.eval_report_inputs(metadata, PIPELINE_NAME)[0]
    return tuned, summary.line(), seconds


def change_row(label: str, before: dict, after: dict, lines: int) -> list[str]:
    """A table row: the slice, its lines, CER before and after, the change with its interval."""

    def cer(figures: dict) -> float:
        return sum(figures["line_edits"]) / max(sum(figures["line_chars"]), 1)

    change, low, high = accuracy.cer_difference(after, before)
    return [
        label,
        lines,
        accuracy.percent(cer(before)),
        accuracy.percent(cer(after)),
        f"{accuracy.signed_points(change)} [{accuracy.signed_points(low)}, "
        f"{accuracy.signed_points(high)}]",
    ]


def markdown(name: str, rows: list[list], summary: str, seconds: float, args) -> str:
    table = report.markdown_table(
        ["held-out lines", "lines", "CER before", "CER after", "change, points [95% interval]"],
        rows,
    )
    return "\n".join(
        [
            f"## Fine-tuning the shipped model on one typeface ({name})",
            "",
            f"`{report.this_command('benchmarks.fine_tune')}` on {report.machine()}, "
            f"{report.today()}.",
            "",
            f"The held-out family the model read worst, {name}: {args.lines} generated lines in "
            f"its fonts (training words, no held-out text), {args.steps} steps from "
            f"`{report.shown_path(args.model)}` through the pipeline in {seconds / 60:.1f} min "
            f"(`{summary}`). The change is after minus before, with its paired bootstrap "
            "interval over the lines: an interval across zero is no change.",
            "",
            table,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    from serving.options import SHIPPED_MODEL

    parser = argparse.ArgumentParser(prog="python -m benchmarks.fine_tune", description=__doc__)
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="default: %(default)s")
    parser.add_argument("--lines", type=int, default=1000, help="fine-tuning lines (1000)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (300)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench" / "fine-tune")
    parser.add_argument("--write", action="store_true", help="rewrite BENCHMARKS.md's section")
    args = parser.parse_args(argv)

    from components.serving_layout import resolve_model_dir

    model = resolve_model_dir(str(Path(args.model).resolve()))
    clean, families = read_slice(model, CLEAN)
    name = max(clean["by_package"].items(), key=lambda item: item[1].cer)[0]
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    labels_csv = generate_lines(name, args.lines, args.out / "lines")
    tuned, summary, seconds = fine_tune(model, labels_csv, args.steps, args.out)
    clean_after, _ = read_slice(tuned, CLEAN)
    scanned, _ = read_slice(model, SCANNED)
    scanned_after, _ = read_slice(tuned, SCANNED)
    rows = [
        change_row(
            f"clean, {name}",
            family_lines(clean, families, name),
            family_lines(clean_after, families, name),
            families.count(name),
        ),
        change_row("clean, all fonts", clean, clean_after, len(families)),
        change_row("scanned, all fonts", scanned, scanned_after, len(scanned["line_chars"])),
    ]
    text = markdown(name, rows, summary, seconds, args)
    print(text)
    if args.write:
        report.write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
