"""A data set of lines saved in every advertised format passes ingest's checks and trains: the
loss falls as it does on PNGs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from testlib import small_config

from components import ingest
from trainer_module import data, standalone

FORMATS = {  # file suffix -> (Pillow mode, Pillow format)
    "gif": ("L", "GIF"),
    "bmp": ("RGB", "BMP"),
    "jpg": ("CMYK", "JPEG"),
    "rgba.png": ("RGBA", "PNG"),
    "png": ("L", "PNG"),
}


def _on_transparency(image: Image.Image) -> Image.Image:
    """Black ink on a transparent background whose hidden colour is black."""
    ink = Image.eval(image.convert("L"), lambda v: 255 - v)
    return Image.merge("RGBA", (*[Image.new("L", image.size, 0)] * 3, ink))


def test_every_format_is_accepted_and_trains(lines_dir, tmp_path):
    rows = data.read_csv_rows(lines_dir / "labels.csv")
    written = []
    for i, row in enumerate(rows):
        suffix = list(FORMATS)[i % len(FORMATS)]
        mode, kind = FORMATS[suffix]
        image = Image.open(row.path)
        image = _on_transparency(image) if mode == "RGBA" else image.convert(mode)
        path = tmp_path / f"line{i}.{suffix}"
        out = io.BytesIO()
        image.save(out, kind)
        path.write_bytes(out.getvalue())
        written.append((path.name, row.label))
    csv = tmp_path / "labels.csv"
    data.write_csv_rows(csv, written)

    options = ingest.IngestOptions.from_config(small_config())
    checked = ingest.check_rows(list(ingest.read_csv_rows(str(csv), options)), options)
    quarantined = [c for c in checked if isinstance(c, ingest.Quarantined)]
    assert not quarantined, quarantined[:3]

    config = small_config(
        "training.train_steps=150", "training.steps_per_evaluation=50", "augmentation.enabled=false"
    )
    result = standalone.train_from_csv(csv, csv, config, tmp_path / "run")
    losses = result.fit.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    assert Path(result.model_dir, "saved_model.pb").exists()
