"""Export a pushed model's network to ONNX, with the alphabet and geometry inside the file.

    python -m serving.onnx_export --model outputs/serving --output crnn.onnx [--opset 17]

The ONNX graph is the recognizer network: ``image`` float32 [batch, height, width, channels] in
[0, 1] (right-padded with zeros) and ``width`` int32 [batch] in, ``logits`` [batch, time,
classes] and ``logit_length`` [batch] out. Image decoding, resizing and CTC decoding stay outside
(ONNX has neither image decoding nor CTC beam search); ``serving.onnx_model`` does them with
Pillow and NumPy. The file's metadata holds the alphabet (tf.crnn lookup JSON) and the model
configuration, so it is all a runtime needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)

ALPHABET_KEY = "crnn.alphabet"
CONFIG_KEY = "crnn.config"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.onnx_export",
        description="Export a pushed CRNN's network to ONNX (alphabet and geometry included).",
    )
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument("--output", required=True, help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    args = parser.parse_args(argv)
    try:
        path = export_onnx(args.model, args.output, args.opset)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
