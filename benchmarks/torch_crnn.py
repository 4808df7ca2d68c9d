"""The default CRNN of this project written in plain PyTorch, and its training speed on the CPU.

The same network as ``trainer_module.model.build_recognizer`` with the default
``pipeline.config.CrnnConfig()``: tf.crnn's 7-layer CNN (same filters, kernels, 'same'/'valid'
padding, batch norm after conv 3, 5 and 7 with no convolution bias there, the same max-pools with
'same' padding), map-to-sequence, two bidirectional LSTMs of 256 units per direction, a dense
layer to the classes; CTC loss (blank = last class, mean over the batch) and Adam. Input: a batch
of 1x32xW grayscale images (NCHW, PyTorch's native layout; Keras uses NHWC, its own).

Parameters: PyTorch's LSTM has two bias vectors per gate (``bias_ih`` and ``bias_hh``), Keras'
LSTMCell one. ``bias_hh`` is zeroed and frozen here, so the gates compute exactly Keras' function
and the trainable parameters are the same in number; its 4 x 256 values per direction and layer
(4,096 in all) are constants and are reported as such. Keras' ``count_params()`` also counts batch
norm's moving mean and variance, which PyTorch keeps as buffers (``running_mean``,
``running_var``); ``parameters`` below counts them the Keras way, so the two figures compare.

Precision: ``float32``, or ``bfloat16`` as Keras' ``mixed_bfloat16`` policy splits it in this
project (``trainer_module.model``): the CNN (convolutions, batch norm, pools) under
``torch.autocast("cpu", dtype=torch.bfloat16)`` with float32 weights, its output cast to float32
for the LSTMs, the output layer and the CTC loss.

Script mode runs on the PyTorch venv's Python (``benchmarks/.venv-torch``, made by
``python -m benchmarks.bench_setup``) with the standard library and torch only, and prints one
JSON object: parameter counts, CTC time steps and samples/s of each timed run.

    benchmarks/.venv-torch/bin/python benchmarks/torch_crnn.py [--width 100] [--batch 32]
        [--steps 10] [--repeats 5] [--threads 1] [--precision float32]

Importing this module does not import torch (the project's tests read ``CONV_LAYERS`` and
``parameter_count`` without it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

# tf.crnn's CNN, as pipeline.config.tf_crnn_conv_layers() (a test keeps the two equal):
# (filters, kernel, padding, batch_norm, pool); a conv with batch norm has no bias.
CONV_LAYERS: tuple[tuple[int, tuple[int, int], str, bool, tuple[int, int] | None], ...] = (
    (64, (3, 3), "same", False, (2, 2)),
    (128, (3, 3), "same", False, (2, 2)),
    (256, (3, 3), "same", True, None),
    (256, (3, 3), "same", False, (2, 1)),
    (512, (3, 3), "same", True, None),
    (512, (3, 3), "same", False, (2, 1)),
    (512, (2, 2), "valid", True, None),
)
CHANNELS = 1
HEIGHT = 32
RNN_UNITS = 256
RNN_LAYERS = 2
CLASSES = 37  # 36 units + blank (last), as benchmarks.crnn_speed
PRECISIONS = ("float32", "bfloat16")
BN_EPSILON = 1e-3  # Keras' BatchNormalization default
BN_MOMENTUM = 0.1  # PyTorch's convention for Keras' momentum=0.9 (build_recognizer)
ADAM_EPSILON = 1e-7  # Keras' Adam default


def parameter_count(
    classes: int = CLASSES,
    channels: int = CHANNELS,
    conv_layers=CONV_LAYERS,
    rnn_units: int = RNN_UNITS,
    rnn_layers: int = RNN_LAYERS,
) -> dict[str, int]:
    """The network's sizes by arithmetic (no torch): trainable weights, batch norm statistics,
    and ``parameters`` = their sum (Keras' ``count_params()`` convention)."""
    trainable = statistics = 0
    depth = channels
    for filters, (kh, kw), _padding, batch_norm, _pool in conv_layers:
        trainable += kh * kw * depth * filters + (0 if batch_norm else filters)
        if batch_norm:
            trainable += 2 * filters  # gamma, beta
            statistics += 2 * filters  # moving mean, moving variance
        depth = filters
    for _ in range(rnn_layers):
        # Per direction: input and recurrent kernels and one bias, for 4 gates.
        trainable += 2 * 4 * rnn_units * (depth + rnn_units + 1)
        depth = 2 * rnn_units
    trainable += depth * classes + classes
    return {
        "parameters": trainable + statistics,
        "trainable": trainable,
        "bn_statistics": statistics,
    }


def build_model(
    classes: int = CLASSES,
    channels: int = CHANNELS,
    conv_layers=CONV_LAYERS,
    rnn_units: int = RNN_UNITS,
    rnn_layers: int = RNN_LAYERS,
    precision: str = "float32",
):
    """The CRNN as a torch.nn.Module: images [N, C, 32, W] -> logits [T, N, classes] (float32;
    the CNN in bfloat16 under autocast when ``precision`` is "bfloat16", see the docstring)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    import torch
    from torch import nn

    bfloat16 = precision == "bfloat16"

    class CRNN(nn.Module):
        def __init__(self):
            super().__init__()
            layers: list[nn.Module] = []
            depth = channels
            for filters, kernel, padding, batch_norm, pool in conv_layers:
                layers.append(
                    nn.Conv2d(depth, filters, kernel, padding=padding, bias=not batch_norm)
                )
                if batch_norm:
                    layers.append(nn.BatchNorm2d(filters, eps=BN_EPSILON, momentum=BN_MOMENTUM))
                layers.append(nn.ReLU())
                if pool:
                    # ceil_mode = Keras' padding="same" for a pool whose stride is its size.
                    layers.append(nn.MaxPool2d(pool, stride=pool, ceil_mode=True))
                depth = filters
            self.cnn = nn.Sequential(*layers)
            self.rnn = nn.LSTM(depth, rnn_units, num_layers=rnn_layers, bidirectional=True)
            for name, weight in self.rnn.named_parameters():
                if name.startswith("bias_hh"):  # Keras' LSTMCell has one bias: see the docstring
                    nn.init.zeros_(weight)
                    weight.requires_grad_(False)
            self.logits = nn.Linear(2 * rnn_units, classes)

        def forward(self, images):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                features = self.cnn(images)  # [N, C, 1, T]
            features = features.float()
            if features.shape[2] != 1:
                raise ValueError(f"feature map height {features.shape[2]}, the sequence needs 1")
            sequence = features.squeeze(2).permute(2, 0, 1)  # map-to-sequence: [T, N, C]
            sequence, _ = self.rnn(sequence)
            return self.logits(sequence)

    return CRNN()


def model_counts(model) -> dict[str, int]:
    """Counts of a built model: trainable, batch norm statistics, the frozen zero LSTM biases."""
    from torch import nn

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    statistics = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules()
        if isinstance(m, nn.BatchNorm2d)
    )
    return {
        "parameters": trainable + statistics,
        "trainable": trainable,
        "bn_statistics": statistics,
        "frozen_zero_lstm_bias_hh": frozen,
    }


def training_samples_per_second(
    width: int,
    batch: int,
    steps: int,
    repeats: int,
    label_length: int | None = None,
    learning_rate: float = 1e-3,
    seed: int = 0,
    precision: str = "float32",
) -> dict:
    """One warm-up run of ``steps`` training steps, then ``repeats`` timed runs of as many."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = build_model(precision=precision)
    counts = model_counts(model)
    expected = parameter_count()
    if counts["parameters"] != expected["parameters"]:
        raise AssertionError(f"built model counts {counts}, the arithmetic {expected}")
    images = torch.rand(batch, CHANNELS, HEIGHT, width)
    model.eval()
    with torch.no_grad():
        time_steps = model(images[:1]).shape[0]
    model.train()
    label_length = label_length or max(1, time_steps // 3)
    targets = torch.randint(0, CLASSES - 1, (batch, label_length))
    input_lengths = torch.full((batch,), time_steps, dtype=torch.long)
    target_lengths = torch.full((batch,), label_length, dtype=torch.long)
    ctc = nn.CTCLoss(blank=CLASSES - 1, reduction="sum")
    optimizer = torch.optim.Adam(
        [p for p in model.parameters() if p.requires_grad], lr=learning_rate, eps=ADAM_EPSILON
    )

    def run() -> float:
        started = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            log_probs = model(images).log_softmax(2)
            loss = ctc(log_probs, targets, input_lengths, target_lengths) / batch
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - started
        if not torch.isfinite(loss):
            raise FloatingPointError(f"CTC loss is not finite: {loss.item()}")
        return steps * batch / seconds

    run()  # warm-up
    rates = [run() for _ in range(repeats)]
    return {
        **counts,
        "time_steps": time_steps,
        "label_length": label_length,
        "samples_per_second": rates,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=100, help="image width (height 32)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="training steps per run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="intra- and inter-op threads")
    parser.add_argument("--label-length", type=int, help="units per label (default: steps // 3)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="float32", help="the CNN's compute precision"
    )
    args = parser.parse_args(argv)

    # This venv has no NumPy, which torch mentions on import; nothing here needs it.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    result = training_samples_per_second(
        args.width,
        args.batch,
        args.steps,
        args.repeats,
        label_length=args.label_length,
        learning_rate=args.learning_rate,
        precision=args.precision,
    )
    result = {
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "width": args.width,
        "batch": args.batch,
        "steps": args.steps,
        "precision": args.precision,
        **result,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
