"""Training samples/s of the Keras CRNN beside the same architecture in PyTorch, side by side.

Keras: ``benchmarks.crnn_speed.training_samples_per_second`` in this process (the project's
``build_trainer``: CTC loss, Adam). PyTorch: ``benchmarks/torch_crnn.py`` run by the PyTorch venv's
Python (``benchmarks/.venv-torch``, made by ``python -m benchmarks.bench_setup``) as a child
process, which inherits this process's pinned cores and gets the same thread count. Both train
batches of 32 random 32xW grayscale images with labels of the same length, and their parameter
counts are printed and compared.

Two precisions (``--precision``, both by default): float32, the same arithmetic in both, and
bfloat16 as ``training.mixed_precision`` trains on a CPU with AVX512_BF16 or AMX (the
``standard`` profile's setting): Keras under the ``mixed_bfloat16`` policy (convolutions and
batch norm in bfloat16, LSTMs and the output layer in float32), PyTorch with the same split (its
CNN under ``torch.autocast``, see ``benchmarks/torch_crnn.py``).

Each run is a fresh model in either framework: one warm-up run of ``--steps`` steps, then one
timed run of as many. Keras and PyTorch runs alternate (K P, P K, K P, ...) so drifting load on a
shared machine falls on both alike; the table gives the median of ``--repeats`` runs of each and
the ratio of the medians.

    python -m benchmarks.train_speed [--threads 1] [--repeats 5] [--steps 10] [--width 100]
        [--precision float32 bfloat16] [--write]

``--write`` replaces the ``train_speed`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import bench_setup, crnn_speed, inference_speed, report, torch_crnn

TORCH_SCRIPT = Path(__file__).resolve().parent / "torch_crnn.py"
TARGET = 1.0  # issue 7: training >= 1.0x PyTorch's samples/s
SECTION = "train_speed"
PRECISIONS = torch_crnn.PRECISIONS  # torch_crnn runs without the project, so it holds the list
PRECISION_NOTES = {
    "float32": "the same arithmetic in both",
    "bfloat16": "`training.mixed_precision` on this CPU, as the standard profile trains",
}


class TorchVenvMissing(RuntimeError):
    """The PyTorch venv is not there; the message says how to make it."""


class TorchRunFailed(RuntimeError):
    """The PyTorch child process failed or printed no result."""


@dataclass
class Measurements:
    """Everything the section reports; built by ``measure`` or by hand (tests)."""

    width: int
    batch: int
    steps: int
    threads: int
    label_length: int
    time_steps: int
    keras_parameters: int
    keras_trainable: int
    torch_parameters: int
    torch_trainable: int
    torch_frozen: int
    keras_rates: list[float]
    torch_rates: list[float]
    tensorflow_version: str
    torch_version: str
    pinning: str
    precision: str = "float32"

    @property
    def keras_median(self) -> float:
        return report.median(self.keras_rates)

    @property
    def torch_median(self) -> float:
        return report.median(self.torch_rates)

    @property
    def ratio(self) -> float:
        return self.keras_median / self.torch_median

    @property
    def pair_ratios(self) -> list[float]:
        return [k / t for k, t in zip(self.keras_rates, self.torch_rates, strict=True)]


def torch_python(python: Path | None = None) -> Path:
    """The PyTorch venv's interpreter, or TorchVenvMissing saying how to make it."""
    python = Path(python or bench_setup.TORCH_PYTHON)
    if not python.exists():
        raise TorchVenvMissing(
            f"the PyTorch venv is missing ({python} does not exist): create it with "
            "`python -m benchmarks.bench_setup` (Python 3.11 + torch "
            f"{bench_setup.TORCH_VERSION} CPU in benchmarks/.venv-torch), then run this again"
        )
    return python


def run_torch(
    python: Path,
    width: int,
    batch: int,
    steps: int,
    repeats: int,
    threads: int,
    label_length: int,
    learning_rate: float,
    precision: str = "float32",
) -> dict:
    """One child run of torch_crnn.py (a warm-up, then ``repeats`` timed runs): its JSON."""
    command = [
        str(python),
        str(TORCH_SCRIPT),
        f"--width={width}",
        f"--batch={batch}",
        f"--steps={steps}",
        f"--repeats={repeats}",
        f"--threads={threads}",
        f"--label-length={label_length}",
        f"--learning-rate={learning_rate}",
        f"--precision={precision}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise TorchRunFailed(
            f"{' '.join(command)} exited with {result.returncode}:\n"
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError as error:
        raise TorchRunFailed(
            f"{TORCH_SCRIPT.name} printed no JSON result: {lines[-1]!r}"
        ) from error


def keras_counts() -> tuple[int, int]:
    """(count_params(), trainable) of the default recognizer at crnn_speed's class count."""
    import numpy as np

    from pipeline.config import CrnnConfig
    from trainer_module.model import build_recognizer

    recognizer = build_recognizer(CrnnConfig().model, crnn_speed.CLASSES)
    trainable = sum(int(np.prod(w.shape)) for w in recognizer.trainable_weights)
    return recognizer.count_params(), trainable


def label_length_for(width: int) -> tuple[int, int]:
    """(CTC time steps, label length) of crnn_speed's training batches at this width."""
    from pipeline.config import ModelConfig
    from trainer_module import geometry

    steps = geometry.time_steps(width, ModelConfig())
    return steps, max(1, steps // 3)  # as crnn_speed._training_batches


def measure(
    python: Path,
    width: int,
    steps: int,
    repeats: int,
    threads: int,
    pinning: str,
    precision: str = "float32",
) -> Measurements:
    """Interleaved runs in ``precision``: each repeat one Keras and one PyTorch run, alternating
    which is first."""
    import tensorflow as tf

    from pipeline.config import CrnnConfig

    time_steps, label_length = label_length_for(width)
    keras_parameters, keras_trainable = keras_counts()
    learning_rate = CrnnConfig().training.learning_rate
    keras_rates: list[float] = []
    torch_rates: list[float] = []
    torch_result: dict = {}

    def keras_run() -> None:
        tf.keras.backend.clear_session()
        keras_rates.extend(crnn_speed.training_samples_per_second(width, steps, 1, precision))

    def torch_run() -> None:
        nonlocal torch_result
        torch_result = run_torch(
            python,
            width,
            crnn_speed.TRAIN_BATCH,
            steps,
            1,
            threads,
            label_length,
            learning_rate,
            precision,
        )
        if torch_result["time_steps"] != time_steps:
            raise TorchRunFailed(
                f"the PyTorch model gives {torch_result['time_steps']} time steps at width "
                f"{width}, the Keras model {time_steps}: the architectures differ"
            )
        torch_rates.extend(torch_result["samples_per_second"])

    for run in range(repeats):
        for framework in (keras_run, torch_run) if run % 2 == 0 else (torch_run, keras_run):
            framework()
        print(
            f"{precision} run {run + 1}/{repeats}: Keras {keras_rates[-1]:.1f} samples/s, "
            f"PyTorch {torch_rates[-1]:.1f} samples/s",
            flush=True,
        )
    return Measurements(
        width=width,
        batch=crnn_speed.TRAIN_BATCH,
        steps=steps,
        threads=threads,
        label_length=label_length,
        time_steps=time_steps,
        keras_parameters=keras_parameters,
        keras_trainable=keras_trainable,
        torch_parameters=torch_result["parameters"],
        torch_trainable=torch_result["trainable"],
        torch_frozen=torch_result["frozen_zero_lstm_bias_hh"],
        keras_rates=keras_rates,
        torch_rates=torch_rates,
        tensorflow_version=tf.__version__,
        torch_version=torch_result["torch"],
        pinning=pinning,
        precision=precision,
    )


def _rates(values: Sequence[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)


def parameters_note(m: Measurements) -> str:
    """How the two parameter counts compare, stated exactly."""
    convention = (
        "counted as Keras' `count_params()`: trainable weights plus batch norm's moving "
        "mean/variance"
    )
    if m.keras_parameters == m.torch_parameters and m.keras_trainable == m.torch_trainable:
        same = f"equal ({m.keras_parameters:,}, {convention}; {m.keras_trainable:,} trainable)"
    else:
        same = (
            f"NOT equal: Keras {m.keras_parameters:,} ({m.keras_trainable:,} trainable), "
            f"PyTorch {m.torch_parameters:,} ({m.torch_trainable:,} trainable), {convention}; "
            f"gap {m.torch_parameters - m.keras_parameters:+,}"
        )
    return (
        f"- parameters: {same}. PyTorch's LSTM has a second bias vector per gate (`bias_hh`) "
        "that Keras' LSTMCell lacks; the PyTorch model keeps it at zero and frozen "
        f"({m.torch_frozen:,} constants, not counted), so both compute the same function with "
        "the same trainable weights."
    )


def verdict(m: Measurements) -> str:
    """Met or not met at ``TARGET``, and whether the run-by-run ratios straddle it."""
    pairs = m.pair_ratios
    text = (
        f"**met**: Keras trains at {m.ratio:.2f}x PyTorch's samples/s"
        if m.ratio >= TARGET
        else f"**not met**: Keras trains at {m.ratio:.2f}x PyTorch's samples/s "
        f"({(1 - m.ratio) * 100:.0f}% slower)"
    )
    if min(pairs) < TARGET <= max(pairs):
        text += (
            f" on the medians, but the run-by-run ratios fall on both sides of {TARGET:.1f}x: "
            "the margin is within this run's noise"
        )
    return text


def section(
    results: Sequence[Measurements], command: str, machine: str, date: str, bf16_note: str = ""
) -> str:
    """The ``train_speed`` section of BENCHMARKS.md: a pair of rows, a ratio and a verdict per
    precision measured (``results`` in order), from one run of the benchmark."""
    if not results:
        raise ValueError("no measurements to report")
    first = results[0]
    per = "per core" if first.threads == 1 else f"on {first.threads} cores"
    runs = len(first.keras_rates)
    precisions = [m.precision for m in results]
    rows = []
    for m in results:
        rows += [
            [
                f"Keras (TensorFlow {m.tensorflow_version}, tf_keras)",
                m.precision,
                f"{m.keras_parameters:,}",
                f"{m.keras_median:.1f}",
                _rates(m.keras_rates),
            ],
            [
                f"PyTorch {m.torch_version}",
                m.precision,
                f"{m.torch_parameters:,}",
                f"{m.torch_median:.1f}",
                _rates(m.torch_rates),
            ],
        ]
    lines = [
        f"## Training speed: Keras CRNN vs the same architecture in PyTorch ({per})",
        "",
        "The default tf.crnn-size CRNN (7-layer CNN with batch norm, 2 bidirectional LSTMs "
        f"of 256, dense to 37 classes) in both frameworks: batch {first.batch} of random "
        f"1x32x{first.width} grayscale images, labels of {first.label_length} units "
        f"({first.time_steps} CTC time steps), CTC loss, Adam. Keras: the project's "
        "`build_trainer` step (`benchmarks/crnn_speed.py`; the LSTMs' gradient from "
        "`trainer_module/lstm.py`); PyTorch: `benchmarks/torch_crnn.py` (`nn.LSTM`, "
        "`nn.CTCLoss`). Each run is a fresh model: one warm-up run of "
        f"{first.steps} steps, then {first.steps} timed steps. Keras and PyTorch runs alternate "
        f"in one process tree on the same cores; median of {runs} runs each, in "
        f"{' and '.join(precisions)}.",
    ]
    if "bfloat16" in precisions:
        lines += [
            "",
            "bfloat16 is how `training.mixed_precision` trains on a CPU with AVX512_BF16 or AMX: "
            "Keras under the `mixed_bfloat16` policy (convolutions and batch norm in bfloat16 "
            "with float32 weights, the LSTMs and the output layer in float32), PyTorch with the "
            'same split (the CNN under `torch.autocast("cpu", dtype=torch.bfloat16)`, its output '
            "cast to float32 for the LSTMs, the output layer and the CTC loss)."
            + (f" On this machine {bf16_note}." if bf16_note else ""),
        ]
    lines += [
        "",
        report.markdown_table(
            ["framework", "precision", "parameters", "samples/s (median)", "runs (samples/s)"],
            rows,
        ),
        "",
    ]
    for m in results:
        pairs = m.pair_ratios
        lines.append(
            f"- ratio Keras/PyTorch in {m.precision} (medians): **{m.ratio:.2f}x**; run by run "
            f"{min(pairs):.2f}x to {max(pairs):.2f}x"
        )
    for m in results:
        note = PRECISION_NOTES.get(m.precision)
        lines.append(
            f"- target (issue 7): training >= {TARGET:.1f}x PyTorch, in {m.precision}"
            + (f" ({note})" if note else "")
            + f": {verdict(m)}"
        )
    lines += [
        parameters_note(first),
        f"- command: `{command}`",
        f"- machine: {machine}; {first.pinning}; threads {first.threads} (TF intra/inter-op, "
        "torch set_num_threads/set_num_interop_threads)",
        f"- date: {date}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="cores and threads (default 1)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per framework (>= 5)")
    parser.add_argument("--steps", type=int, default=10, help="training steps per run")
    parser.add_argument("--width", type=int, default=100, help="image width (height 32)")
    parser.add_argument(
        "--precision",
        nargs="+",
        choices=PRECISIONS,
        default=list(PRECISIONS),
        help="precisions to compare, in order (default: float32 bfloat16)",
    )
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1 or args.threads < 1:
        parser.error("--repeats, --steps and --threads must be at least 1")
    if args.repeats < 5:
        print(f"note: --repeats {args.repeats}: issue 7 asks for the median of >= 5 runs")
    try:
        python = torch_python()
    except TorchVenvMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    pinning = report.pin_tensorflow(args.threads)
    results = []
    try:
        for precision in dict.fromkeys(args.precision):
            results.append(
                measure(
                    python, args.width, args.steps, args.repeats, args.threads, pinning, precision
                )
            )
    except TorchRunFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    first = results[0]
    print(
        f"parameters: Keras {first.keras_parameters:,} ({first.keras_trainable:,} trainable), "
        f"PyTorch {first.torch_parameters:,} ({first.torch_trainable:,} trainable, "
        f"{first.torch_frozen:,} frozen zero LSTM bias_hh)"
    )
    markdown = section(
        results,
        report.this_command(__spec__),
        report.machine(),
        report.today(),
        bf16_note=inference_speed.cpu_bf16(),
    )
    print(markdown)
    if args.write:
        report.write_section(SECTION, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
