"""The model in models/printed: the serving tools read with it when no --model is given, and
serving.predict reads files, directories and globs, as text or JSON."""

import json
from pathlib import Path

import pytest
from testlib import render_lines

from serving import evaluate, predict
from serving.options import SHIPPED_MODEL
from trainer_module.metrics import character_error_rate

# Mixed case, digits and punctuation, as people print them.
TEXTS = [
    "Invoice No. 4821, due 12/03/2026",
    "The Quick Brown Fox jumps over 3 lazy dogs.",
    "Total: $1,250.00 (incl. VAT)",
    "Call +44 20 7946 0958 before 5 pm!",
]


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lines")
    for i, png in enumerate(render_lines(TEXTS, "shipped")):
        (folder / f"line{i}.png").write_bytes(png)
    (folder / "notes.txt").write_text("not an image")
    (folder / "labels.csv").write_text(
        "".join(f"line{i}.png;{text}\n" for i, text in enumerate(TEXTS))
    )
    return folder


def test_the_shipped_model_is_in_the_repository_within_its_size():
    files = [path for path in SHIPPED_MODEL.rglob("*") if path.is_file()]
    assert any(path.name == "saved_model.pb" for path in files)
    assert (SHIPPED_MODEL / "crnn-int8.onnx").is_file()
    assert sum(path.stat().st_size for path in files) <= 15 * 2**20


def test_predict_reads_mixed_case_lines_without_a_model_argument(lines, capsys):
    assert predict.main([str(lines / f"line{i}.png") for i in range(len(TEXTS))]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [Path(row[0]).name for row in rows] == [f"line{i}.png" for i in range(len(TEXTS))]
    assert all(0 < float(row[2]) <= 1 for row in rows)
    assert character_error_rate(TEXTS, [row[1] for row in rows]) < 0.15


def test_predict_takes_a_directory_a_glob_and_writes_json(lines, capsys):
    empty = lines / "empty"
    empty.mkdir()
    args = ["--json", str(lines), str(lines / "line[01].png"), str(lines / "*.tif"), str(empty)]
    assert predict.main(args) == 1  # the glob and the directory that name no image
    results = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    names = [Path(result["path"]).name for result in results]
    assert names == [f"line{i}.png" for i in range(len(TEXTS))] + [
        "line0.png",
        "line1.png",
        "*.tif",
        "empty",
    ]
    assert results[0]["text"] == results[len(TEXTS)]["text"]
    assert results[0]["top_k"][0] == results[0]["text"] and 0 < results[0]["confidence"] <= 1
    assert results[-2] == {"path": str(lines / "*.tif"), "error": "no file matches this pattern"}
    assert "no PNG, JPEG, GIF or BMP file" in results[-1]["error"]


def test_evaluate_scores_a_csv_with_the_shipped_model(lines, capsys):
    assert evaluate.main(["--csv", str(lines / "labels.csv")]) == 0
    figures = dict(item.split("=") for item in capsys.readouterr().out.split("(")[0].split())
    assert float(figures["CER"]) < 0.15


def test_a_missing_model_is_a_clear_error(lines, tmp_path, capsys):
    assert predict.main(["--model", str(tmp_path / "none"), str(lines / "line0.png")]) == 2
    assert "neither a SavedModel nor a folder of numbered versions" in capsys.readouterr().err
