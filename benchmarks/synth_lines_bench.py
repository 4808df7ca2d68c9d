"""Speed of the synthetic line generator (tools.synth_lines) on one CPU core.

The embedded data set is made on the fly by ``make run`` and by tests, so generation must stay
cheap: the target is at least 200 lines/s in one process on one core. This runs ``generate``
``--repeats`` times into fresh temporary directories, pinned to one core where the OS allows it,
and prints each run and the median lines/s with the command, date, CPU model and versions.

    python -m benchmarks.synth_lines_bench --count 500 --repeats 5
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import PIL

from benchmarks import report
from tools.synth_lines import DEFAULT_CHARSET, generate

TARGET_LINES_PER_SECOND = 200


def time_one_run(count: int, seed: int, charset: str) -> float:
    """Generate ``count`` lines into a temporary directory; returns lines per second."""
    with tempfile.TemporaryDirectory(prefix="synth_lines_bench_") as out_dir:
        summary = generate(out_dir, count, seed, charset=charset)
    return summary["lines_per_second"]


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
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; exit status 1 when below the target speed."""
    args = parse_args(argv)
    pinning = "not pinned (--no-pin)" if args.no_pin else report.pin_to_cores(1)
    command = report.this_command(__spec__)
    versions = (
        f"Python {platform.python_version()}, Pillow {PIL.__version__}, numpy {np.__version__}"
    )
    print(f"command: {command}")
    print(f"date:    {report.today()}")
    print(f"machine: {report.machine()}, {pinning}")
    print(f"python:  {versions}")
    rates = []
    for repeat in range(args.repeats):
        rate = time_one_run(args.count, args.seed + repeat, args.charset)
        rates.append(rate)
        print(f"run {repeat + 1}/{args.repeats}: {args.count} lines, {rate:.0f} lines/s")
    median = report.median(rates)
    verdict = "ok" if median >= TARGET_LINES_PER_SECOND else "BELOW TARGET"
    summary = (
        f"median: {median:.0f} lines/s over {args.repeats} runs of {args.count} lines "
        f"(target >= {TARGET_LINES_PER_SECOND}: {verdict})"
    )
    print(summary)
    if args.write:
        report.write_section(
            "synth_lines",
            "\n".join(
                [
                    "## Synthetic line generator (one core)",
                    "",
                    f"**{median:.0f} lines/s** (median of {args.repeats} runs of {args.count} "
                    f"lines, charset `{args.charset}`; target >= {TARGET_LINES_PER_SECOND}).",
                    "",
                    f"- command: `{command}`",
                    f"- machine: {report.machine()}; {pinning}; {versions}",
                    f"- date: {report.today()}",
                ]
            ),
        )
    return 0 if median >= TARGET_LINES_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
