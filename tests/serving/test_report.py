"""The HTML report: its figures equal serving.evaluate's, and it renders in headless Chromium."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from serving import evaluate, report
from serving.model import Recognizer
from tools import synth_lines

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when the machine has none (the test set-up)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("chromium is missing: install Debian's package `chromium` (apt-get, as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        capture_output=True,
    )
    return shutil.which("chromium") or pytest.fail("apt-get installed chromium but it is not found")


@pytest.fixture(scope="module")
def recognizer(trained):
    result, _, _ = trained
    return Recognizer(result.model_dir)


@pytest.fixture(scope="module")
def unseen(tmp_path_factory):
    """48 lines the small model did not train on (it reads its training lines perfectly)."""
    out = tmp_path_factory.mktemp("unseen")
    synth_lines.generate(
        out, count=48, seed=12, charset="lower", text_style="tokens", max_tokens=2, max_chars=10
    )
    return out / "labels.csv"


@pytest.fixture(scope="module")
def page(recognizer, unseen):
    out = unseen.parent / "report.html"
    data = report.write_report(recognizer, out, [str(unseen)], worst=12)
    return out, data


def _figure(text: str, name: str) -> str:
    return re.search(rf'id="{name}">([^<]+)<', text).group(1)


def test_the_page_shows_what_serving_evaluate_prints(page, recognizer, unseen, capsys):
    out, data = page
    assert evaluate.main(["--model", recognizer.model_dir, "--csv", str(unseen)]) == 0
    printed = dict(item.split("=") for item in capsys.readouterr().out.split())
    text = out.read_text()
    assert _figure(text, "cer") == printed["CER"]
    assert _figure(text, "line-accuracy") == printed["line_accuracy"]
    assert _figure(text, "lines") == str(len(data.lines)) == "48"
    # The small model makes mistakes on these lines, so every section has something to show.
    assert data.evaluation.score.edits > 0
    assert data.confusions and data.worst
    assert sum(score.lines for score in data.by_length.values()) == 48
    assert sum(score.edits for score in data.by_source.values()) == data.evaluation.score.edits


def test_worst_lines_come_first_and_differences_are_marked():
    lines = [
        report.Line(b"", "house", "house", 0.9, "a", "a:1"),
        report.Line(b"", "house", "hovse", 0.5, "a", "a:2"),
        report.Line(b"", "cat", "cut", 0.5, "a", "a:3"),
        report.Line(b"", "river", "rivers", 0.5, "a", "a:4"),
    ]
    assert [line.where for line in report.worst_lines(lines, 5)] == ["a:3", "a:2", "a:4"]
    assert report.confusions(lines) == [("a", "u", 1), ("u", "v", 1), ("∅", "s", 1)]
    truth, prediction = report.diff_markup("a<b c", "a<d c!")
    assert truth == 'a&lt;<span class="del">b</span> c'
    assert prediction == 'a&lt;<span class="ins">d</span> c<span class="ins">!</span>'


def test_a_report_from_pipeline_examples_equals_the_csv_one(page, recognizer, tmp_path):
    """The eval split as ExampleGen writes it (GZIP TFRecords of tf.Examples) gives the same page
    figures as the CSV it came from."""
    _, data = page
    split = tmp_path / "Split-eval"
    split.mkdir()
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(str(split / "data_tfrecord-00000-of-00001.gz"), options) as writer:
        for line in data.lines:
            feature = {
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[line.image])),
                "label": tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[line.truth.encode()])
                ),
            }
            writer.write(
                tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
            )
    from_examples = report.write_report(
        recognizer, tmp_path / "eval.html", examples=str(split / "*.gz"), worst=12
    )
    assert from_examples.evaluation.score == data.evaluation.score
    assert list(from_examples.by_source) == ["Split-eval"]
    with pytest.raises(ValueError, match="no TFRecord files match"):
        report.rows_from_examples(str(tmp_path / "nothing" / "*.gz"))


def test_the_report_renders_in_headless_chromium(page, chromium, tmp_path):
    """Chromium loads every line image and both plots (the page's own check sets body data
    attributes), and the screenshot shows the plots' bars and the line images' dark text."""
    out, data = page
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--virtual-time-budget=5000", "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    body = dict(re.findall(r'data-([a-z-]+)="(\d+)"', re.search(r"<body[^>]*>", dom).group(0)))
    assert body == {
        "lines-shown": str(len(data.worst)),
        "images-loaded": str(len(data.worst)),
        "plots": "2",
    }

    def screenshot(page_path):
        shot = page_path.with_suffix(".png")
        subprocess.run(
            [*common, "--window-size=1200,2400", f"--screenshot={shot}", page_path.as_uri()],
            capture_output=True,
            timeout=120,
            check=True,
        )
        return np.asarray(Image.open(shot).convert("RGB")).astype(int)

    pixels = screenshot(out)
    bar = np.all(np.abs(pixels - [0x1F, 0x6F, 0xB4]) <= 8, axis=-1)
    assert bar.sum() > 2000, "no plot bars in the screenshot"
    # The same page with the line images' bytes made undecodable (shifted base64): what changes
    # on screen is what the images drew.
    broken = tmp_path / "broken.html"
    broken.write_text(out.read_text().replace(";base64,", ";base64,AAAA"))
    changed = np.any(pixels != screenshot(broken), axis=-1)
    assert changed.sum() > 20 * 40 * len(data.worst), "the line images did not render"
