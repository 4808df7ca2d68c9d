"""Speed of the synthetic line generator (tools.synth_lines) on one CPU core.

The embedded data set is made on the fly by ``make run`` and by tests, so generation must stay
cheap: the target is at least 200 lines/s in one process on one core. This runs ``generate``
``--repeats`` times into fresh temporary directories, pinned to one core where the OS allows it,
and prints each run and the median lines/s with the command, date, CPU model and versions.

    python -m benchmarks.synth_lines_bench --count 500 --repeats 5
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import PIL

from tools.synth_lines import DEFAULT_CHARSET, generate

TARGET_LINES_PER_SECOND = 200


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pin_to_one_core() -> str:
    """Restrict this process to its first allowed core; returns a description of what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def time_one_run(count: int, seed: int, charset: str) -> float:
    """Generate ``count`` lines into a temporary directory; returns lines per second."""
    with tempfile.TemporaryDirectory(prefix="synth_lines_bench_") as out_dir:
        summary = generate(out_dir, count, seed, charset=charset)
    return summary["lines_per_second"]


def this_command() -> list[str]:
    """The command line that started this benchmark, as a user would type it."""
    if __package__:
        return [sys.executable, "-m", __spec__.name, *sys.argv[1:]]
    return [sys.executable, *sys.argv]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="lines per run (default: 500)")
    parser.add_argument("--repeats", type=int, default=5, help="number of runs (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first run (default: 0)")
    parser.add_argument("--charset", default=DEFAULT_CHARSET, help="charset (default: full)")
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the process to a single core"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; exit status 1 when below the target speed."""
    args = parse_args(argv)
    pinning = "not pinned (--no-pin)" if args.no_pin else pin_to_one_core()
    print(f"command: {shlex.join(this_command())}")
    print(f"date:    {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"cpu:     {cpu_model()}, {pinning}")
    print(f"python:  {platform.python_version()}, Pillow {PIL.__version__}, numpy {np.__version__}")
    rates = []
    for repeat in range(args.repeats):
        rate = time_one_run(args.count, args.seed + repeat, args.charset)
        rates.append(rate)
        print(f"run {repeat + 1}/{args.repeats}: {args.count} lines, {rate:.0f} lines/s")
    median = statistics.median(rates)
    verdict = "ok" if median >= TARGET_LINES_PER_SECOND else "BELOW TARGET"
    print(
        f"median: {median:.0f} lines/s over {args.repeats} runs of {args.count} lines "
        f"(target >= {TARGET_LINES_PER_SECOND}: {verdict})"
    )
    return 0 if median >= TARGET_LINES_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
