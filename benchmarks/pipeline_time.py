"""Wall time of ``make run`` per component, read back from each run's ML Metadata.

Each fresh run is ``local_runner.py`` with the quick-start configuration (what ``make run``
runs) in a new output directory with ``--no-cache``: it generates the embedded synthetic data
set, then runs every component. Per component, the time is its execution's
``last_update_time_since_epoch - create_time_since_epoch`` in ML Metadata (registered when the
launcher starts it, updated when its outputs are published), read with the ``ml_metadata`` API.
Beside them: the data generation (from local_runner's log line) and the process's own wall
time, whose remainder is start-up (imports, building the pipeline) and the orchestrator.

    python -m benchmarks.pipeline_time [--runs 5] [--write] [--keep DIR]
                                       [--from-metadata PATH ...]

``--from-metadata`` summarises existing runs (a ``metadata.sqlite`` or the output directory
holding it; the newest pipeline run in each store) without running anything, unless ``--runs``
is also given. A run this script made leaves ``pipeline_time.json`` (process wall time, data
generation) beside its ``metadata.sqlite``; ``--keep DIR`` keeps every run's output directory
under DIR so it can be summarised again later. ``--write`` replaces the ``pipeline_time``
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import report

ROOT = report.ROOT
SIDECAR = "pipeline_time.json"
GENERATION = "synthetic data generation"
STARTUP = "start-up and orchestration"
GENERATED = re.compile(r"\b(\d+) lines in ([\d.]+) s\b")


# ---- reading ML Metadata ------------------------------------------------------------------------


def metadata_path(path: str | os.PathLike) -> Path:
    """A metadata.sqlite, or the output directory holding one."""
    path = Path(path)
    if path.is_dir():
        path = path / "metadata.sqlite"
    if not path.is_file():
        raise FileNotFoundError(f"no ML Metadata store at {path}")
    return path


def open_store(path: str | os.PathLike):
    """A read-only ``MetadataStore`` on a sqlite file (never creates one)."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path(path))
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def component_times(path: str | os.PathLike) -> dict:
    """The newest pipeline run in a store: {"pipeline", "run", "components": {component:
    seconds} in the order they started, "states": {component: COMPLETE/CACHED/...},
    "span": seconds from the first start to the last update}."""
    from ml_metadata.proto import metadata_store_pb2 as mlmd

    store = open_store(path)
    runs = store.get_contexts_by_type("pipeline_run")
    if not runs:
        raise ValueError(f"{path}: no pipeline run in this ML Metadata store")
    run = max(runs, key=lambda c: (c.create_time_since_epoch, c.id))
    executions = {e.id: e for e in store.get_executions_by_context(run.id)}
    names, pipelines = {}, set()
    for node in store.get_contexts_by_type("node"):
        pipeline_name, _, component = node.name.rpartition(".")
        for execution in store.get_executions_by_context(node.id):
            if execution.id in executions:
                names[execution.id] = component
                pipelines.add(pipeline_name)
    ordered = sorted(
        (e for e in executions.values() if e.id in names),
        key=lambda e: (e.create_time_since_epoch, e.id),
    )
    if not ordered:
        raise ValueError(f"{path}: the newest pipeline run ({run.name}) has no executions")
    components, states = {}, {}
    for execution in ordered:
        name = names[execution.id]
        seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1e3
        components[name] = components.get(name, 0.0) + seconds
        states[name] = mlmd.Execution.State.Name(execution.last_known_state)
    span = (
        max(e.last_update_time_since_epoch for e in ordered) - ordered[0].create_time_since_epoch
    ) / 1e3
    return {
        "pipeline": ",".join(sorted(pipelines)),
        "run": run.name,
        "components": components,
        "states": states,
        "span": span,
    }


def load_run(path: str | os.PathLike) -> dict:
    """``component_times`` plus what this script recorded beside the store, when it ran it."""
    store = metadata_path(path)
    result = component_times(store)
    result["source"] = str(store)
    sidecar = store.parent / SIDECAR
    if sidecar.is_file():
        result.update(json.loads(sidecar.read_text()))
    if "summary" in result:
        result["summary"] = result["summary"].replace(str(store.parent), "NEW_DIR")
    return result


# ---- running the pipeline -----------------------------------------------------------------------


def run_echoing_progress(command: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``command``; return (exit status, stdout, stderr). Its stderr (local_runner's
    progress: a line per component and per evaluation) is also echoed, indented, to ours as it
    comes, so an hour-long run is not silent."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(process.stdout), daemon=True)
    reader.start()
    stderr = []
    for line in process.stderr:
        stderr.append(line)
        print(f"  {line}", end="", file=sys.stderr, flush=True)
    reader.join()
    return process.wait(), "".join(stdout), "".join(stderr)


def run_pipeline(out_dir: Path, extra_args: tuple[str, ...] = ()) -> dict:
    """One fresh ``local_runner.py`` run (quick-start config, no cache) into ``out_dir``; writes
    ``pipeline_time.json`` there and returns ``load_run``'s summary."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    command = [sys.executable, "local_runner.py", "--output-dir", str(out_dir), "--no-cache"]
    command += list(extra_args)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    returncode, stdout, stderr = run_echoing_progress(command, ROOT)
    wall = time.perf_counter() - started
    load_after = os.getloadavg()[0]
    log = stdout + stderr
    if returncode != 0:
        raise RuntimeError(f"local_runner.py failed ({returncode}):\n{log[-4000:]}")
    generated = GENERATED.search(log)
    sidecar = {
        "command": " ".join(["python", *command[1:]]).replace(str(out_dir), "NEW_DIR"),
        "process_seconds": wall,
        "generation_seconds": float(generated.group(2)) if generated else None,
        "summary": stdout.strip().splitlines()[-1].replace(str(out_dir), "NEW_DIR"),
        "load_average": [load_before, load_after],
    }
    (out_dir / SIDECAR).write_text(json.dumps(sidecar, indent=1) + "\n")
    return load_run(out_dir)


# ---- summary ------------------------------------------------------------------------------------


def summarize(runs: list[dict]) -> list[tuple[str, float, list[float | None]]]:
    """(step, median seconds, seconds per run) rows: data generation when known, every component
    in the order they run, start-up when the process time is known, and the total."""
    order: list[str] = []
    for run in runs:
        order += [name for name in run["components"] if name not in order]
    rows = []

    def add(step: str, values: list[float | None]) -> None:
        known = [v for v in values if v is not None]
        if known:
            rows.append((step, report.median(known), values))

    add(GENERATION, [run.get("generation_seconds") for run in runs])
    for name in order:
        add(name, [run["components"].get(name) for run in runs])
    startups = []
    for run in runs:
        if run.get("process_seconds") is None:
            startups.append(None)
            continue
        startups.append(run["process_seconds"] - run["span"] - (run.get("generation_seconds") or 0))
    add(STARTUP, startups)
    totals = [run.get("process_seconds") or run["span"] for run in runs]
    rows.append(("total", report.median(totals), totals))
    return rows


def _quickstart() -> str:
    config = json.loads((ROOT / "pipeline" / "configs" / "quickstart.json").read_text())
    lines = config.get("data", {}).get("synthetic", {}).get("count")
    steps = config.get("training", {}).get("train_steps")
    return (
        f"{lines:,} generated lines, {steps} training steps" if lines and steps else "quick start"
    )


def markdown(runs: list[dict], command: str) -> str:
    rows = summarize(runs)
    total = rows[-1][1]

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    table = report.markdown_table(
        ["step", "median seconds", "share", *[f"run {i + 1}" for i in range(len(runs))]],
        [
            [
                f"**{step}**" if step == "total" else step,
                seconds(median),
                f"{median / total:.0%}" if total else "",
                *map(seconds, values),
            ]
            for step, median, values in rows
        ],
    )
    fresh = [run for run in runs if run.get("process_seconds") is not None]
    states = sorted({state for run in runs for state in run["states"].values()})
    count = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    if len(runs) < 5:
        count += (
            " (fewer than the 5 of the other benchmarks: one run takes about "
            f"{total / 60:.0f} minutes here)"
        )
    if len(fresh) < len(runs):
        count += (
            f"; {len(runs) - len(fresh)} of them summarised from an existing ML Metadata store, "
            "without process time or data generation"
        )
    loads = ", ".join(
        f"run {i + 1} {run['load_average'][0]:.1f} / {run['load_average'][1]:.1f}"
        for i, run in enumerate(runs)
        if run.get("load_average")
    )
    commands = sorted({run["command"] for run in fresh if run.get("command")})
    each_run = "".join(f"; each run: `{c}`" for c in commands)
    facts = [
        f"- from {count}",
        f"- execution states: {', '.join(states)}",
        *[f"- run {i + 1}: `{run['summary']}`" for i, run in enumerate(runs) if "summary" in run],
        f"- command: `{command}`{each_run}",
        f"- machine: {report.machine()}"
        + (f"; 1-minute load average before and after each run: {loads}" if loads else ""),
        f"- date {report.today()}",
    ]
    text = f"""## Pipeline wall time per component (`make run`)

`local_runner.py` with `pipeline/configs/quickstart.json` (what `make run` runs:
{_quickstart()}), each run in a new output directory with `--no-cache`.
A component's time is its execution's `last_update_time_since_epoch -
create_time_since_epoch` in the run's ML Metadata (read with the `ml_metadata` API); data
generation is from local_runner's log line; "{STARTUP}" is the rest of the process's wall
time (Python, TensorFlow and TFX imports, building the pipeline, the orchestrator between
components). Medians over the runs.

{table}

"""
    return text + "\n".join(facts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_time", description=__doc__)
    parser.add_argument("--runs", type=int, help="fresh runs (default 5; 0 with --from-metadata)")
    parser.add_argument(
        "--from-metadata",
        nargs="+",
        default=[],
        metavar="PATH",
        help="metadata.sqlite files (or output directories) of runs to include",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep each run's output directory here")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    count = args.runs if args.runs is not None else (0 if args.from_metadata else 5)
    runs = [load_run(path) for path in args.from_metadata]
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="pipeline_time-"))
    try:
        for index in range(count):
            out_dir = scratch / f"run-{time.strftime('%Y%m%d-%H%M%S')}"
            runs.append(run_pipeline(out_dir))
            print(f"run {index + 1}/{count}: {runs[-1]['components']}", file=sys.stderr)
            if not args.keep:
                shutil.rmtree(out_dir, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    if not runs:
        parser.error("nothing to summarise: give --runs N or --from-metadata PATH")
    text = markdown(runs, report.this_command(__spec__))
    print(text)
    if args.write:
        report.write_section("pipeline_time", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
