"""PaddleOCR's PP-OCRv4 text-line recognizer on a list of line images: the script behind
``benchmarks.paddleocr_peer``, run by the PaddleOCR venv's Python (``benchmarks/.venv-paddle``,
made by ``python -m benchmarks.bench_setup``) with the standard library and rapidocr-onnxruntime.

The model is the one the rapidocr-onnxruntime wheel ships (``models/ch_PP-OCRv4_rec_infer.onnx``,
its character list in the model's metadata), run by rapidocr's own ``TextRecognizer`` as its
pipeline runs it after detection: no detection and no angle classifier here, the images are
already lines. Each image is scaled to height 48 keeping its aspect ratio, and each batch is
padded on the right to its widest line (at least 320 wide), so a long line keeps its width: it is
never squeezed into the default 48x320 input.

Batches: rapidocr (like PaddleOCR) sorts the lines by aspect ratio and cuts batches of 6, which
on a few lines of unlike widths pads a short line to many times its width, and then the model
drops spaces ("Hello World" padded 8x reads "HelloWorld"). Here a batch also holds only lines
whose aspect ratios lie within ``MAX_PADDING`` of its narrowest, so a line reads the same (within
that much padding) whichever lines come with it; on thousands of lines nearly every batch is
PaddleOCR's own.

Reads one JSON object on stdin, ``{"images": [path, ...], "threads": 1}``, and prints one JSON
line: ``{"texts": [...], "seconds": ...}``, the texts raw and in the order of the images, the
seconds those of reading the images and recognizing them (model loading excluded). An image that
cannot be read ends it with exit status 3 and the path on stderr.

    benchmarks/.venv-paddle/bin/python -I benchmarks/paddleocr_rec.py < request.json
    benchmarks/.venv-paddle/bin/python -I benchmarks/paddleocr_rec.py --version
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path

MODEL = "ch_PP-OCRv4_rec_infer.onnx"
BATCH = 6  # rapidocr's and PaddleOCR's rec_batch_num
MAX_PADDING = 1.25  # a batch's widest line at most this many times its narrowest
MIN_RATIO = 320 / 48  # the recognizer pads every line to at least its default input, 48x320
CHUNK = 1024  # images decoded at a time: 5,000 long lines at once would take gigabytes
UNREADABLE = 3  # exit status for an image that cannot be read


class UnreadableImage(Exception):
    """An image file that is missing or that OpenCV cannot decode."""


def versions() -> dict[str, str]:
    return {
        "model": MODEL,
        "rapidocr_onnxruntime": metadata.version("rapidocr-onnxruntime"),
        "onnxruntime": metadata.version("onnxruntime"),
    }


def load_recognizer(threads: int):
    """rapidocr's TextRecognizer with the wheel's configuration and model, on ``threads``."""
    import rapidocr_onnxruntime
    import yaml
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    package = Path(rapidocr_onnxruntime.__file__).resolve().parent
    config = yaml.safe_load((package / "config.yaml").read_text())["Rec"]
    model = package / "models" / MODEL
    if Path(config["model_path"]).name != MODEL:
        raise RuntimeError(f"the wheel's config names {config['model_path']}, expected {MODEL}")
    config.update(
        model_path=str(model),
        rec_batch_num=BATCH,
        intra_op_num_threads=threads,
        inter_op_num_threads=1,
    )
    return TextRecognizer(config)


def read_image(path: str):
    """The image as the 3-channel BGR array the recognizer takes (greyscale lines repeated)."""
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadableImage(path)
    return image


def batches(ratios: list[float]) -> list[list[int]]:
    """Indices of the lines in batches: by aspect ratio (width / height), at most ``BATCH`` a
    batch, the widest at most ``MAX_PADDING`` times the narrowest (both floored at MIN_RATIO)."""
    groups: list[list[int]] = []
    for index in sorted(range(len(ratios)), key=ratios.__getitem__):
        if groups and len(groups[-1]) < BATCH:
            narrowest = max(ratios[groups[-1][0]], MIN_RATIO)
            if max(ratios[index], MIN_RATIO) <= narrowest * MAX_PADDING:
                groups[-1].append(index)
                continue
        groups.append([index])
    return groups


def recognize(recognizer, paths: list[str]) -> tuple[list[str], float]:
    """The raw text of each image, and the seconds taken to read and recognize them all."""
    texts: list[str] = []
    started = time.perf_counter()
    for start in range(0, len(paths), CHUNK):
        images = [read_image(path) for path in paths[start : start + CHUNK]]
        chunk = [""] * len(images)
        for batch in batches([image.shape[1] / image.shape[0] for image in images]):
            results, _ = recognizer([images[index] for index in batch])
            for index, (text, _score) in zip(batch, results, strict=True):
                chunk[index] = text
        texts.extend(chunk)
    return texts, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="store_true", help="print the versions and stop")
    args = parser.parse_args(argv)
    if args.version:
        print(json.dumps(versions()))
        return 0
    request = json.load(sys.stdin)
    recognizer = load_recognizer(int(request.get("threads", 1)))
    try:
        texts, seconds = recognize(recognizer, [str(path) for path in request["images"]])
    except UnreadableImage as error:
        print(f"cannot read image {error}", file=sys.stderr)
        return UNREADABLE
    print(json.dumps({"texts": texts, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
