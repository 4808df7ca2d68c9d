"""Export a pushed model's network to ONNX, with the alphabet and geometry inside the file.

    python -m serving.onnx_export --model outputs/serving --output crnn.onnx [--opset 17]
        [--int8 'data/images/*.png' [--calibration-lines 256]]

The ONNX graph is the recognizer network: ``image`` float32 [batch, height, width, channels] in
[0, 1] (right-padded with zeros) and ``width`` int32 [batch] in, ``logits`` [batch, time,
classes] and ``logit_length`` [batch] out. Image decoding, resizing and CTC decoding stay outside
(ONNX has neither image decoding nor CTC beam search); ``serving.onnx_model`` does them with
Pillow and NumPy. The file's metadata holds the alphabet (tf.crnn lookup JSON) and the model
configuration, so it is all a runtime needs.

``--int8`` writes the network quantised to int8 instead (``quantize_int8``: ONNX Runtime's static
quantisation, QDQ format, per-channel weights, on the convolutions and matrix products; activation
ranges calibrated on line images like those it will read, prepared exactly as at inference). On
CPUs with int8 dot-product instructions (AVX512-VNNI, AVX-VNNI) it reads batches 1.4x (Intel Xeon
with AMX) to 1.9x (Zen 4) as fast as the float export; the text it reads may differ slightly from
the float model's, which ``tests/serving/test_onnx.py`` bounds. Weights keep 7 of int8's bits
(``reduce_range``), as ONNX Runtime advises for CPUs without VNNI: there its AVX2 kernel multiplies
with VPMADDUBSW, whose 16-bit sums saturate with full-range weights (an export without it read the
parity test's lines at 12% CER instead of 0% on an AVX2-only Zen 3, and fine on an AVX-512 Zen 4).
The first convolution, the one that reads the image (one channel in, a few per cent of the
arithmetic), stays in float: on an Intel Xeon with AMX-INT8 (family 6 model 167), ONNX Runtime
1.23's fused int8 kernel for it reads the benchmark's held-out lines at 4.3% CER instead of the
float model's 0.50% (the same quantised graph run unfused reads 0.48%; microsoft/onnxruntime#26324
reports the same first-layer fault on 4th-generation Xeons), and with it in float the export reads
them at 0.45%.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)

ALPHABET_KEY = "crnn.alphabet"
CONFIG_KEY = "crnn.config"
CALIBRATION_BATCH = 32
QUANTIZED_OPS = ("Conv", "MatMul")  # nearly all of the network's arithmetic


def export_onnx(model_dir: str, output: str | Path, opset: int = 17) -> Path:
    """Convert the SavedModel's network (weights restored into a fresh Keras recognizer)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    from components.serving_layout import resolve_model_dir
    from trainer_module import export

    recognizer, alphabet, config = export.load_recognizer(resolve_model_dir(model_dir))
    spec = (
        tf.TensorSpec(
            [None, config.model.input_height, None, config.model.channels], tf.float32, name="image"
        ),
        tf.TensorSpec([None], tf.int32, name="width"),
    )

    @tf.function(input_signature=spec)
    def network(image, width):
        outputs = recognizer({"image": image, "width": width}, training=False)
        return {"logits": outputs["logits"], "logit_length": outputs["logit_length"]}

    proto, _ = tf2onnx.convert.from_function(network, input_signature=spec, opset=opset)
    metadata = {ALPHABET_KEY: json.dumps(alphabet.to_lookup()), CONFIG_KEY: config.to_json()}
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(output))
    return output


def quantize_int8(
    onnx_path: str | Path, output: str | Path, calibration_images: Sequence[bytes]
) -> Path:
    """``onnx_path`` (an ``export_onnx`` file) statically quantised to int8 into ``output``.

    Weights are int8 per output channel (but the first convolution's, which reads the image and
    stays in float: see the module's notes); activations uint8 with ranges from running the float
    model on ``calibration_images`` (encoded line images, prepared by ``OnnxRecognizer`` as at
    inference, in batches of ``CALIBRATION_BATCH``). The alphabet and configuration metadata are
    kept, so ``OnnxRecognizer`` reads the result like any export."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from serving.onnx_model import OnnxRecognizer

    if not calibration_images:
        raise ValueError("int8 quantisation needs calibration images (none given)")
    recognizer = OnnxRecognizer(onnx_path)
    batches = []
    for start in range(0, len(calibration_images), CALIBRATION_BATCH):
        image, width = recognizer.prepare(calibration_images[start : start + CALIBRATION_BATCH])
        batches.append({"image": image, "width": width})

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.remaining = iter(batches)

        def get_next(self):
            return next(self.remaining, None)

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as staging:
        prepared = Path(staging) / "prepared.onnx"
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)
        image_convolution = first_convolution(onnx.load(str(prepared)).graph)
        quantize_static(
            str(prepared),
            str(output),
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            # 7-bit weights: without VNNI (AVX2 only), ONNX Runtime's uint8 x int8 products
            # go through VPMADDUBSW, whose 16-bit pair sums saturate with full-range weights
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=list(QUANTIZED_OPS),
            # in float: ONNX Runtime 1.23's fused int8 kernel misreads it on AMX Xeons (above)
            nodes_to_exclude=[image_convolution],
        )
    source, quantized = onnx.load(str(onnx_path)), onnx.load(str(output))
    if {p.key for p in quantized.metadata_props} != {p.key for p in source.metadata_props}:
        del quantized.metadata_props[:]
        quantized.metadata_props.extend(source.metadata_props)
        onnx.save(quantized, str(output))
    return output


def export_int8(
    model_dir: str, output: str | Path, calibration: Sequence[bytes], opset: int = 17
) -> Path:
    """``export_onnx`` then ``quantize_int8``: the int8 network alone at ``output``."""
    with tempfile.TemporaryDirectory() as staging:
        float_model = export_onnx(model_dir, Path(staging) / "float.onnx", opset)
        return quantize_int8(float_model, output, calibration)


def first_convolution(graph) -> str:
    """The name of the graph's first Conv node (ONNX keeps nodes in topological order): the
    convolution that reads the image."""
    for node in graph.node:
        if node.op_type == "Conv":
            return node.name
    raise ValueError("the ONNX graph has no convolution to quantise")


def calibration_images(pattern: str, count: int) -> list[bytes]:
    """The first ``count`` files (in name order) that ``pattern`` matches, read as bytes."""
    paths = sorted(glob.glob(pattern))[:count]
    if not paths:
        raise ValueError(f"--int8 {pattern!r} matches no file")
    return [Path(path).read_bytes() for path in paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.onnx_export",
        description="Export a pushed CRNN's network to ONNX (alphabet and geometry included).",
    )
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument("--output", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument(
        "--int8",
        metavar="GLOB",
        help="write the network quantised to int8, calibrated on the line images GLOB matches "
        "(quote it; images like those the model will read, e.g. its training lines)",
    )
    parser.add_argument(
        "--calibration-lines",
        type=int,
        default=256,
        help="with --int8: how many of those images calibrate (default 256)",
    )
    args = parser.parse_args(argv)
    try:
        if args.int8:
            images = calibration_images(args.int8, args.calibration_lines)
            path = export_int8(args.model, args.output, images, args.opset)
        else:
            path = export_onnx(args.model, args.output, args.opset)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
