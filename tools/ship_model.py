"""Make a trained model the shipped one: ``models/printed`` (``serving.options.SHIPPED_MODEL``).

    python -m tools.ship_model --model outputs/pretrained/serving
        --calibration 'outputs/pretrained/data/*/images/*.png' [--to models/printed]

Writes the model's SavedModel in the push layout (``<to>/<version>/``) and its int8 ONNX copy
(``<to>/crnn-int8.onnx``, calibrated on the first 256 images the pattern matches), replacing what
was there only when both are written and together within ``--max-mb`` (15: plain files in git,
which every clone carries). The model card, ``models/README.md``, is written by hand.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import tools  # noqa: F401  (Keras 2 before TensorFlow)
from serving.options import SHIPPED_MODEL

ONNX_NAME = "crnn-int8.onnx"
CALIBRATION_LINES = 256


def folder_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def ship(model: str, to: Path, calibration: str, max_mb: float) -> Path:
    """Stage the SavedModel and the int8 copy beside ``to``, check the size, then swap them in."""
    from components import serving_layout
    from serving import onnx_export

    source = Path(serving_layout.resolve_model_dir(model))
    version = serving_layout.version_of(str(source)) or serving_layout.next_version(str(to))
    images = onnx_export.calibration_images(calibration, CALIBRATION_LINES)
    to.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=to.parent, prefix=".ship-") as staging:
        staged = Path(staging) / to.name
        shutil.copytree(source, staged / str(version))
        onnx_export.export_int8(str(source), staged / ONNX_NAME, images)
        size = folder_bytes(staged)
        if size > max_mb * 2**20:
            raise ValueError(f"{size / 2**20:.1f} MiB in all, over --max-mb {max_mb}")
        if to.exists():
            shutil.rmtree(to)
        staged.rename(to)
    return to / str(version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ship_model",
        description="Copy a trained model (and an int8 ONNX copy) into models/ as the shipped one.",
    )
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument(
        "--calibration",
        required=True,
        metavar="GLOB",
        help="line images to calibrate the int8 copy on (quote it; e.g. the training lines)",
    )
    parser.add_argument("--to", type=Path, default=SHIPPED_MODEL, help="default: %(default)s")
    parser.add_argument("--max-mb", type=float, default=15.0, help="size limit (default 15)")
    args = parser.parse_args(argv)
    try:
        shipped = ship(args.model, args.to, args.calibration, args.max_mb)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    size = folder_bytes(args.to) / 2**20
    print(f"shipped {shipped} and {args.to / ONNX_NAME} ({size:.1f} MiB in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
