"""serving.model: batches of lines of like widths, results in the caller's order."""

import io
import math
from pathlib import Path

from PIL import Image

from serving.model import Prediction, Recognizer, aspect_ratio, predict_by_width


def _png(width: int, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def test_lines_are_batched_by_width_and_answered_in_the_callers_order():
    widths = [300, 40, 220, 90, 35, 260, 120]
    images = [_png(width) for width in widths]
    batches = []

    def predict(batch):
        batches.append([Image.open(io.BytesIO(image)).width for image in batch])
        return [Prediction(str(width), 1.0, ()) for width in batches[-1]]

    predictions, seconds = predict_by_width(predict, images, batch_size=3)

    assert [p.text for p in predictions] == [str(width) for width in widths]
    assert batches == [[35, 40, 90], [120, 220, 260], [300]]
    assert seconds > 0


def test_aspect_ratio_from_the_header_and_unreadable_images_last():
    assert aspect_ratio(_png(96, 48)) == 2.0
    assert aspect_ratio(b"not an image") == math.inf


def test_width_order_reads_the_same_text_as_one_batch_in_order(trained):
    result, _, rows = trained
    recognizer = Recognizer(result.model_dir)
    images = [Path(row.path).read_bytes() for row in rows]
    in_order = [p.text for p in recognizer.predict(images)]
    by_width, _ = recognizer.predict_all(images, batch_size=3)
    assert [p.text for p in by_width] == in_order
    assert len(set(in_order)) > 1  # a model that reads every line alike would prove nothing
