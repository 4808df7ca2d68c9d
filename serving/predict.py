"""Read text lines from image files (the shipped model unless --model names another).

    python -m serving.predict [--model outputs/serving] [--json] IMAGE|DIR|'GLOB' ...

Each argument is an image file, a directory (its PNG, JPEG, GIF and BMP files, sorted) or a
quoted glob (``'scans/**/*.png'``). Prints one line per image, in that order:
``path<TAB>text<TAB>confidence``, or ``path<TAB>error: reason`` for an image that cannot be read,
decoded or read by the model; with ``--json`` a JSON object per line instead
(``{"path", "text", "confidence", "top_k"}`` or ``{"path", "error"}``). Every image is tried;
the exit status is 1 when any failed (a glob or directory with no image counts), 2 when the
model cannot be loaded.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.options import add_decoding_arguments, add_model_argument, recognizer_from_args
from serving.prediction import Prediction, predict_each

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
GLOB_CHARS = set("*?[")


def expand(arguments: list[str]) -> list[tuple[str, str | None]]:
    """(path, None) for each image the arguments name, or (argument, reason) for a directory or
    glob that names none."""
    found: list[tuple[str, str | None]] = []
    for argument in arguments:
        if Path(argument).is_dir():
            paths = sorted(
                str(path)
                for path in Path(argument).iterdir()
                if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
            )
            empty = "no PNG, JPEG, GIF or BMP file in this directory"
        elif GLOB_CHARS & set(argument) and not Path(argument).exists():
            paths = sorted(
                path for path in glob.glob(argument, recursive=True) if Path(path).is_file()
            )
            empty = "no file matches this pattern"
        else:
            paths, empty = [argument], ""
        found.extend((path, None) for path in paths)
        if not paths:
            found.append((argument, empty))
    return found


def read_files(
    recognizer, targets: list[tuple[str, str | None]], batch_size: int
) -> list[tuple[str, Prediction | str]]:
    """(path, prediction or the reason it failed) for each target, in order."""
    from serving.model import read_image

    results: list[Prediction | str | None] = [problem for _, problem in targets]
    readable = []
    for i, (path, problem) in enumerate(targets):
        if problem:
            continue
        data, results[i] = read_image(path, recognizer.config.data.max_image_pixels)
        if data is not None:
            readable.append((i, data))
    predicted, _ = predict_each(recognizer.predict, [data for _, data in readable], batch_size)
    for (i, _), result in zip(readable, predicted, strict=True):
        results[i] = result
    return [(path, result) for (path, _), result in zip(targets, results, strict=True)]


def format_line(path: str, result: Prediction | str, as_json: bool) -> str:
    if as_json:
        if isinstance(result, str):
            return json.dumps({"path": path, "error": result})
        fields = {"text": result.text, "confidence": round(result.confidence, 4)}
        return json.dumps({"path": path, **fields, "top_k": list(result.top_k)})
    if isinstance(result, str):
        return f"{path}\terror: {result}"
    return f"{path}\t{result.text}\t{result.confidence:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.predict",
        description="Print path<TAB>text<TAB>confidence for each line image "
        "(path<TAB>error: reason for one that cannot be read).",
    )
    add_model_argument(parser)
    parser.add_argument("--batch-size", type=int, default=64, help="images per model call")
    parser.add_argument("--json", action="store_true", help="a JSON object per line instead")
    add_decoding_arguments(parser)
    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files, directories or quoted globs"
    )
    args = parser.parse_args(argv)

    try:
        recognizer = recognizer_from_args(args)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    results = read_files(recognizer, expand(args.images), args.batch_size)
    print("\n".join(format_line(path, result, args.json) for path, result in results))
    return 1 if any(isinstance(result, str) for _, result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
