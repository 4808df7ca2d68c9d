"""The PaddleOCR peer reads real rendered lines with the wheel's PP-OCRv4 model, in order.

The first test to need it makes benchmarks/.venv-paddle when it is missing (``paddle_python``,
as ``make bench`` would; about 35 s with PyPI reachable), so these tests run the model for real.
"""

import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks import bench_setup, paddleocr_peer, paddleocr_rec
from trainer_module.metrics import score

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LONG = "Invoice #A-7731 of 12/03/2025: EUR 4,512.80 (paid); ref. QX-9."
VERY_LONG = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit 12345; "
    "Sed do eiusmod tempor (ut labore) et."
)
LINES = (  # (text, image height): the held-out set's lines are 28 to 60 px high
    ("Hello World", 32),
    ("abc 123", 28),
    (LONG, 60),
    ("The Quick Brown Fox", 40),
    (VERY_LONG, 44),
)


def render(text: str, height: int, path: Path) -> Path:
    """Black DejaVu Sans on white, a greyscale PNG ``height`` px high, 8 px margins."""
    font = ImageFont.truetype(FONT, round(height * 0.7))
    image = Image.new("L", (int(font.getlength(text)) + 16, height), 255)
    ImageDraw.Draw(image).text((8, height // 2), text, font=font, fill=0, anchor="lm")
    image.save(path)
    return path


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> list[tuple[Path, str]]:
    if not Path(FONT).is_file():
        pytest.fail(f"{FONT} missing: apt-get install fonts-dejavu-core")
    out = tmp_path_factory.mktemp("paddle_lines")
    return [(render(text, h, out / f"{i:06d}.png"), text) for i, (text, h) in enumerate(LINES)]


@pytest.fixture(scope="module")
def read(lines) -> paddleocr_peer.PaddleOcrResult:
    return paddleocr_peer.run([path for path, _ in lines])


def test_it_reads_the_rendered_lines_in_order_with_case(lines, read):
    references = [text for _, text in lines]
    assert len(read.texts) == len(references)
    figures = score(references, read.texts)
    assert figures.cer <= 0.02, read.texts
    for reference, text in zip(references, read.texts, strict=True):
        assert score([reference], [text]).cer <= 0.05, (reference, text)
    assert read.seconds > 0 and read.lines_per_second > 0


def test_a_long_line_keeps_its_width(lines):
    path, text = lines[-1]
    assert Image.open(path).width > 1000 and len(text) == 100
    assert score([text], paddleocr_peer.run([path]).texts).cer <= 0.03


def test_a_line_reads_the_same_whichever_lines_come_with_it(lines, read):
    backwards = paddleocr_peer.run([path for path, _ in reversed(lines)])
    assert backwards.texts == read.texts[::-1]
    assert paddleocr_peer.run([lines[0][0]]).texts == read.texts[:1]


def test_an_unreadable_image_is_a_clear_error(lines, tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(paddleocr_peer.PaddleOcrFailed, match=r"cannot read image .*missing\.png"):
        paddleocr_peer.run([lines[0][0], missing])
    garbled = tmp_path / "garbled.png"
    garbled.write_text("not a PNG")
    with pytest.raises(paddleocr_peer.PaddleOcrFailed, match=r"garbled\.png"):
        paddleocr_peer.run([garbled])
    assert paddleocr_peer.run([]).texts == []  # nothing to read: no child process


def test_version_names_the_model_and_the_pinned_wheel():
    assert paddleocr_peer.version() == (
        f"PP-OCRv4 rec (rapidocr-onnxruntime {bench_setup.RAPIDOCR_VERSION}, "
        f"onnxruntime {bench_setup.ONNXRUNTIME_VERSION})"
    )


def test_a_missing_venv_or_wheel_names_the_fix(monkeypatch):
    monkeypatch.setattr(bench_setup, "rapidocr_installed", lambda: None)
    with pytest.raises(paddleocr_peer.PaddleOcrUnavailable, match=r"python -m benchmarks\.bench"):
        paddleocr_peer.paddle_python(create=False)

    def cannot_make() -> None:
        raise subprocess.CalledProcessError(1, ["pip", "install"])

    monkeypatch.setattr(bench_setup, "make_paddle_venv", cannot_make)
    with pytest.raises(paddleocr_peer.PaddleOcrUnavailable, match="making it failed") as raised:
        paddleocr_peer.paddle_python()
    assert "python -m benchmarks.bench_setup" in str(raised.value)

    monkeypatch.setattr(bench_setup, "rapidocr_installed", lambda: "1.3.0")
    with pytest.raises(paddleocr_peer.PaddleOcrUnavailable, match=r"holds rapidocr-\S+ 1\.3"):
        paddleocr_peer.paddle_python(create=False)


def test_batches_hold_lines_of_like_width():
    ratios = [40.0, 2.0, 7.0, 41.0, 8.0, 3.0, 45.0, 60.0, 8.5, 8.6, 8.7, 8.8, 8.4]
    groups = paddleocr_rec.batches(ratios)
    assert sorted(i for group in groups for i in group) == list(range(len(ratios)))
    floor = paddleocr_rec.MIN_RATIO
    for group in groups:
        widths = [max(ratios[i], floor) for i in group]
        assert len(group) <= paddleocr_rec.BATCH
        assert max(widths) <= min(widths) * paddleocr_rec.MAX_PADDING
    # those narrower than the model's 48x320 input padded to it, with one within 25% of it
    assert groups == [[1, 5, 2, 4], [12, 8, 9, 10, 11], [0, 3, 6], [7]]


def test_normalise_collapses_whitespace_and_keeps_case():
    assert paddleocr_peer.normalise("  Hello \t  World \n") == "Hello World"


def test_cli_scores_a_labels_csv(lines, tmp_path, capsys):
    (tmp_path / "labels.csv").write_text(
        "".join(f"{path};{text}\n" for path, text in lines), encoding="utf-8"
    )
    affinity = os.sched_getaffinity(0)
    try:  # in this process, which has TensorFlow (metrics) loaded already; main pins it
        assert paddleocr_peer.main(["--heldout", str(tmp_path), "--count", "3"]) == 0
    finally:
        os.sched_setaffinity(0, affinity)
    printed = capsys.readouterr().out
    assert "PP-OCRv4 rec (rapidocr-onnxruntime" in printed and "; 3 lines of" in printed
    assert "paddleocr: CER=0.0" in printed and "lines_per_second=" in printed
    assert "lower-cased" not in printed  # the labels have capitals

    assert paddleocr_peer.main(["--heldout", str(tmp_path / "no")]) == 2
    assert "python -m benchmarks.heldout" in capsys.readouterr().err
