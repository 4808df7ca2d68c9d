#!/usr/bin/env python
"""Run the CRNN pipeline on this machine: tf.crnn's train entry point, as a TFX run.

    python local_runner.py [CONFIG.json] [--data CSV_OR_GLOB_OR_DIR] [--output-dir DIR]
                           [--epochs N | --train-steps N] [--gpu IDS]
                           [--runner local|beam] [--beam-workers N] [--set SECTION.KEY=VALUE]

With no --data (and no data.source in the config) it generates the embedded synthetic data set
and trains on that. Metadata (sqlite), artifacts, ingest reports and the serving directory all
live under the output directory; re-running with the same data and configuration reuses cached
steps. The last line printed is the summary:

    CER=<x> line_accuracy=<y> blessed=<true|false> pushed_model=<path or none>
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import logging
import os
import re
import sys
import time
from pathlib import Path

from pipeline.config import add_override_argument

ROOT = Path(__file__).resolve().parent
QUICKSTART = ROOT / "pipeline" / "configs" / "quickstart.json"
GLOB_CHARS = set("*?[{")
log = logging.getLogger("local_runner")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python local_runner.py",
        description="Run the CRNN TFX pipeline locally: ingest CSV + images, Transform, train, "
        "evaluate CER against the latest pushed model, push if blessed.",
        epilog="The last line is: CER=<x> line_accuracy=<y> blessed=<true|false> "
        "pushed_model=<path or none>. Every config key is in pipeline/config.py.",
    )
    parser.add_argument(
        "config", nargs="?", help=f"JSON config (default: {QUICKSTART.relative_to(ROOT)})"
    )
    parser.add_argument(
        "--data",
        help="a path;label CSV, a glob or {SPAN} pattern (quote it), or a directory of CSVs "
        "(train.csv + eval.csv are used as splits); default: data.source, else the embedded "
        "synthetic data set",
    )
    parser.add_argument("--output-dir", help="default: pipeline.output_dir (outputs)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the training split")
    length.add_argument("--train-steps", type=int, help="training steps")
    parser.add_argument(
        "--gpu",
        metavar="IDS",
        help='GPUs to use, e.g. "0" or "0,1" (CUDA_VISIBLE_DEVICES); '
        '"" for none; default: all visible',
    )
    parser.add_argument(
        "--runner",
        choices=["local", "beam"],
        default="local",
        help="TFX orchestrator: local (in process) or beam (Beam's DAG runner)",
    )
    parser.add_argument(
        "--beam-workers",
        type=int,
        default=1,
        help="worker processes for ingest, Transform and evaluation (Beam direct runner)",
    )
    add_override_argument(parser, "training.learning_rate=0.0005")
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    parser.add_argument(
        "--report",
        metavar="HTML",
        help="also write the HTML evaluation report (serving.report) of the trained model on the "
        "eval split",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show every log line of TFX, Beam and TensorFlow"
    )
    return parser.parse_args(argv)


def configure_process(args: argparse.Namespace) -> None:
    """Before TensorFlow is imported: GPU selection, and PYTHONPATH for Beam worker processes
    (they import the project's modules by name)."""
    if args.gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = args.gpu
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", force=True
    )
    if not args.verbose:
        for handler in logging.getLogger().handlers:
            handler.addFilter(ProgressFilter())
    # TFX logs component progress through absl. Setting the verbosity sets absl's --verbosity
    # flag, so a later flag parse (Transform does one) keeps INFO instead of its WARNING default.
    import absl.logging

    absl.logging.set_verbosity(absl.logging.INFO)


class ProgressFilter(logging.Filter):
    """Progress a person can follow: each TFX component starting and finishing, this project's
    own messages (ingest counts, training steps, pushes) and errors. TFX, Beam and TensorFlow
    log thousands of INFO and WARNING lines per run; ``--verbose`` shows them."""

    OWN = ("components", "pipeline", "trainer_module", "tools", "local_runner")
    COMPONENT = re.compile(r"^Component \w+ is (running|finished)")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR or record.name.split(".")[0] in self.OWN:
            return True
        return bool(self.COMPONENT.match(record.getMessage()))


def overrides(args: argparse.Namespace) -> list[str]:
    extra = list(args.set)
    if args.epochs is not None:
        extra += [f"training.epochs={args.epochs}", "training.train_steps=null"]
    if args.train_steps is not None:
        extra += [f"training.train_steps={args.train_steps}", "training.epochs=null"]
    if args.no_cache:
        extra.append("pipeline.enable_cache=false")
    return extra


def fingerprint_files(directory: str) -> str:
    """Names, sizes and modification times of every file under a local directory: images
    referenced by a CSV are not in TFX's own input fingerprint, so ingest re-runs on this."""
    if "://" in directory:
        return ""
    digest = hashlib.sha256()
    for base, _, files in sorted(os.walk(directory)):
        for name in sorted(files):
            stat = os.stat(os.path.join(base, name))
            digest.update(f"{os.path.join(base, name)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def synthetic_data(config, output_dir: Path) -> Path:
    """The embedded data set: generated once per ``data.synthetic`` settings and generator
    version (a folder named by their hash)."""
    from tools import synth_lines

    synthetic = config.data.synthetic
    settings = synthetic.model_dump_json()
    digest = hashlib.sha256(settings.encode()).hexdigest()[:12]
    # A newer generator draws other images from the same settings: never reuse an older set.
    name = f"synthetic-{synthetic.count}-{digest}-v{synth_lines.GENERATOR_VERSION}"
    directory = output_dir / "data" / name
    if not (directory / "labels.csv").exists():
        log.info("generating the embedded synthetic data set in %s", directory)
        summary = synth_lines.generate(
            directory,
            synthetic.count,
            synthetic.seed,
            fonts=synthetic.fonts,
            charset=synthetic.charset,
            max_chars=synthetic.max_chars,
            random_share=synthetic.random_share,
            random_style=synthetic.random_style,
            text_style=synthetic.text_style,
            scan_share=synthetic.scan_share,
            progress=True,
        )
        log.info("%d lines in %.1f s", summary["count"], summary["seconds"])
        for font, chars in summary["fonts_missing_glyphs"].items():
            log.info("%s has no glyph for %r: lines with them use other fonts", font, chars)
    return directory / "labels.csv"


def data_source(spec: str | None, config, output_dir: Path):
    """--data (or data.source) -> where ExampleGen reads, and which splits it makes."""
    from pipeline.pipeline import DataSource

    hash_split = "train+eval"
    if spec is None:
        csv = synthetic_data(config, output_dir)
        return DataSource(str(csv.parent), {hash_split: csv.name})
    if any(char in spec for char in GLOB_CHARS):
        parts = Path(spec).parts
        fixed = next(i for i, part in enumerate(parts) if set(part) & GLOB_CHARS)
        base = Path(*parts[:fixed]) if fixed else Path(".")
        return DataSource(str(base.resolve()), {hash_split: str(Path(*parts[fixed:]))})
    path = Path(spec).resolve()
    if path.is_file():
        return DataSource(str(path.parent), {hash_split: path.name})
    if not path.is_dir():
        raise SystemExit(f"error: --data {spec}: no such file or directory")
    if config.data.input_splits:
        return DataSource(str(path), dict(config.data.input_splits))
    if (path / "train.csv").is_file() and (path / "eval.csv").is_file():
        return DataSource(str(path), {"train": "train.csv", "eval": "eval.csv"})
    if not glob.glob(str(path / "*.csv")):
        raise SystemExit(f"error: --data {spec}: no .csv file in this directory")
    return DataSource(str(path), {hash_split: "*.csv"})


def beam_args(args: argparse.Namespace) -> list[str]:
    """Beam args for the direct runner. One worker passes none: Beam's default is the in-memory
    runner with one worker, and with no Beam args TFX does not package itself as an sdist for
    remote workers before every Beam component (1.5-2.5 s each, of no use on this machine)."""
    if args.beam_workers > 1:
        return [
            "--direct_running_mode=multi_processing",
            f"--direct_num_workers={args.beam_workers}",
        ]
    return []


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_process(args)
    from pipeline.config import ConfigError, load_config

    try:
        config = load_config(args.config or QUICKSTART, overrides(args))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output_dir = Path(args.output_dir or config.pipeline.output_dir).resolve()
    try:
        source = data_source(args.data or config.data.source, config, output_dir)
    except ValueError as err:  # e.g. tools.synth_lines.SynthError: fonts missing
        print(f"error: {err}", file=sys.stderr)
        return 2

    from tfx import v1 as tfx
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

    from pipeline import results
    from pipeline.pipeline import PipelinePaths, create_pipeline

    metadata_path = str(output_dir / "metadata.sqlite")
    paths = PipelinePaths(
        pipeline_root=str(output_dir / "pipeline"),
        serving_dir=config.pipeline.serving_dir or str(output_dir / "serving"),
        ingest_reports=str(output_dir / "ingest"),
    )
    try:
        pipeline = create_pipeline(
            config,
            source,
            paths,
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                metadata_path
            ),
            beam_pipeline_args=beam_args(args),
            data_fingerprint=fingerprint_files(source.input_base),
        )
    except ConfigError as err:  # e.g. a training.init_from model that cannot be read
        print(f"error: {err}", file=sys.stderr)
        return 2
    runner = tfx.orchestration.LocalDagRunner() if args.runner == "local" else BeamDagRunner()
    log.info(
        "pipeline %s: data %s %s -> %s",
        config.pipeline.name,
        source.input_base,
        source.patterns,
        output_dir,
    )
    started = time.perf_counter()
    runner.run(pipeline)
    summary = results.summarize(metadata_path, config.pipeline.name)
    steps = ", ".join(f"{name} {state.lower()}" for name, state in summary.executions.items())
    log.info("finished in %.0f s: %s", time.perf_counter() - started, steps)
    if args.report:
        write_eval_report(metadata_path, config.pipeline.name, args.report)
    print(summary.line(), flush=True)
    return 0


def write_eval_report(metadata_path: str, pipeline_name: str, out: str) -> None:
    """The HTML report of this run's trained model on its eval split (as the Evaluator saw it)."""
    from pipeline import results
    from serving import report
    from serving.model import Recognizer

    model_dir, examples = results.eval_report_inputs(metadata_path, pipeline_name)
    data = report.write_report(Recognizer(model_dir), out, examples=examples)
    log.info("report %s: %s", out, data.evaluation.line())


if __name__ == "__main__":
    sys.exit(main())
