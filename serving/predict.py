"""Read text lines from image files with a pushed model.

    python -m serving.predict --model outputs/serving line1.png line2.jpg ...

prints one line per image, in the order given: ``path<TAB>text<TAB>confidence``, or
``path<TAB>error: reason`` for an image that cannot be read, decoded or read by the model. Every
image is tried; the exit status is 1 when any failed, 2 when the model cannot be loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.options import add_decoding_arguments, recognizer_from_args
from serving.prediction import predict_each


def read_image(path: str, max_pixels: int) -> tuple[bytes | None, str | None]:
    """(bytes, None) for an image the model can decode, (None, reason) otherwise."""
    from trainer_module import images

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        return None, err.strerror or str(err)
    problem, _ = images.inspect(data, max_pixels)
    return (None, problem) if problem else (data, None)


def read_files(recognizer, paths: list[str], batch_size: int) -> tuple[list[str], int]:
    """One output line per path, in order (a prediction or the reason it failed), and how many
    failed."""
    lines: list[str | None] = [None] * len(paths)
    readable = []
    for i, path in enumerate(paths):
        data, problem = read_image(path, recognizer.config.data.max_image_pixels)
        if problem:
            lines[i] = f"{path}\terror: {problem}"
        else:
            readable.append((i, data))
    results, _ = predict_each(recognizer.predict, [data for _, data in readable], batch_size)
    for (i, _), result in zip(readable, results, strict=True):
        if isinstance(result, str):
            lines[i] = f"{paths[i]}\terror: {result}"
        else:
            lines[i] = f"{paths[i]}\t{result.text}\t{result.confidence:.4f}"
    failed = len(paths) - len(readable) + sum(isinstance(r, str) for r in results)
    return lines, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.predict",
        description="Print path<TAB>text<TAB>confidence for each line image "
        "(path<TAB>error: reason for one that cannot be read).",
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
    lines, failed = read_files(recognizer, args.images, args.batch_size)
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
