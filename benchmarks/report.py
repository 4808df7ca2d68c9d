"""What every benchmark reports with its figures: command, machine, date; and BENCHMARKS.md upkeep.

Each benchmark owns one section of BENCHMARKS.md between ``<!-- name:begin -->`` and
``<!-- name:end -->`` markers and rewrites only that section, so benchmarks can run separately
and ``make bench`` can regenerate the whole file.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def cpu_model() -> str:
    """The CPU from /proc/cpuinfo (``describe_cpu``), or what ``platform`` knows."""
    try:
        described = describe_cpu(Path("/proc/cpuinfo").read_text())
    except OSError:
        described = ""
    return described or platform.processor() or platform.machine()


def describe_cpu(cpuinfo: str) -> str:
    """The first processor's model name, family/model numbers and the widest vector unit
    (TensorFlow's and ONNX Runtime's kernels, and so every speed here, depend on it): a VM's
    "AMD EPYC" names both a Zen 3 without AVX-512 and a Zen 4 with it, twice as fast on a CRNN.
    '' when the text names no model."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor is enough
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name", "")
    if not name:
        return ""
    details = []
    if "cpu family" in fields and "model" in fields:
        details.append(f"family {fields['cpu family']} model {fields['model']}")
    flags = set(fields.get("flags", "").split())
    if flags:
        vector = (
            "AVX-512"
            if "avx512f" in flags
            else "AVX2, no AVX-512"
            if "avx2" in flags
            else "no AVX2"
        )
        extras = [
            label for flag, label in (("avx512_bf16", "BF16"), ("amx_tile", "AMX")) if flag in flags
        ]
        details.append(" + ".join([vector, *extras]))
    return f"{name} ({'; '.join(details)})" if details else name


def machine() -> str:
    """One line: CPU model, usable cores, memory, OS."""
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu_model()}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}"
    )


def today() -> str:
    return datetime.date.today().isoformat()


def pin_to_cores(count: int) -> str:
    """Restrict this process to its first ``count`` allowed cores; describe what was done."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cores = sorted(os.sched_getaffinity(0))[:count]
    os.sched_setaffinity(0, set(cores))
    return f"pinned to core{'s' if len(cores) > 1 else ''} {','.join(map(str, cores))}"


def pin_tensorflow(threads: int) -> str:
    """``pin_to_cores(threads)`` plus TensorFlow's intra/inter-op threads (call before
    TensorFlow runs anything); describes the pinning."""
    pinned = pin_to_cores(threads)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return pinned


def this_command(module_spec=None, argv: Sequence[str] | None = None) -> str:
    """The command line that started this benchmark, as a user would type it; a ``--note``'s
    text, which the section prints as its own line, is shown as NOTE."""
    args = list(sys.argv if argv is None else argv)
    if "--note" in args[:-1]:
        args[args.index("--note") + 1] = "NOTE"
    prefix = ["python", "-m", module_spec.name] if module_spec is not None else ["python", args[0]]
    return shlex.join([*prefix, *args[1:]])


def shown_path(path: Path | str, root: Path = ROOT) -> str:
    """A path as BENCHMARKS.md shows it: relative to the checkout when inside it, so the file does
    not name the directory one machine happened to clone into."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return str(path)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, markdown: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the section ``name`` of BENCHMARKS.md with ``markdown``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    path.write_text(text if text.endswith("\n") else text + "\n")


HEADER = """# Benchmarks

Every figure below was measured by `make bench` (or the command in its section) on the machine and
date its section states; comparisons are side by side in the same run. `make bench` rewrites this
file from scratch: set-up (`benchmarks.bench_setup`: fonts, Tesseract, a PyTorch venv, a
PaddleOCR venv), then each benchmark in turn, each owning one section. Targets come from the
issues; whether each is met is stated where it is measured.
"""


def reset(path: Path = BENCHMARKS_MD) -> None:
    """Start BENCHMARKS.md afresh (the header only); benchmarks then append their sections."""
    path.write_text(HEADER)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report", description="BENCHMARKS.md upkeep."
    )
    parser.add_argument("--reset", action="store_true", help="rewrite BENCHMARKS.md as a header")
    args = parser.parse_args(argv)
    if args.reset:
        reset()
        print(f"{BENCHMARKS_MD}: reset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
