"""Read text lines from image files with a pushed model.

    python -m serving.predict --model outputs/serving line1.png line2.jpg ...

prints ``path<TAB>text<TAB>confidence`` per image, in the order given. An image that cannot be
read or decoded is reported on stderr with its reason; the others are still read, and the exit
status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.options import add_decoding_arguments, recognizer_from_args


def read_image(path: str, max_pixels: int) -> tuple[bytes | None, str | None]:
    """(bytes, None) for an image the model can decode, (None, reason) otherwise."""
    from components.ingest import inspect_image

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return None, err.strerror or str(err)
    problem, _ = inspect_image(data, max_pixels)
    return (None, problem) if problem else (data, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.predict",
        description="Print path<TAB>text<TAB>confidence for each line image.",
    )
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument("--batch-size", type=int, default=64, help="images per model call")
    add_decoding_arguments(parser)
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    args = parser.parse_args(argv)

    try:
        recognizer = recognizer_from_args(args)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    readable, failed = [], False
    for path in args.images:
        data, problem = read_image(path, recognizer.config.data.max_image_pixels)
        if problem:
            print(f"{path}\terror: {problem}", file=sys.stderr)
            failed = True
        else:
            readable.append((path, data))
    predictions, _ = recognizer.predict_all([data for _, data in readable], args.batch_size)
    for (path, _), prediction in zip(readable, predictions, strict=True):
        print(f"{path}\t{prediction.text}\t{prediction.confidence:.4f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
