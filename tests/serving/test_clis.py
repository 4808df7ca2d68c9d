"""serving.predict and serving.evaluate with files that cannot be read beside good ones: every
file gets its line, every unreadable row is named with its reason, and the figures say how they
were counted."""

from __future__ import annotations

import shutil
from pathlib import Path

from serving import evaluate, predict


def _bad_files(tmp_path: Path, good: Path) -> dict[str, Path]:
    files = {
        "not an image": tmp_path / "notes.gif",
        "truncated": tmp_path / "truncated.png",
        "missing": tmp_path / "missing.png",
    }
    files["not an image"].write_bytes(b"GIF89a, or so it says")
    files["truncated"].write_bytes(good.read_bytes()[:-60])
    return files


def test_predict_prints_a_line_for_every_file_and_fails_only_at_the_end(trained, tmp_path, capsys):
    result, _, rows = trained
    good = [Path(row.path) for row in rows[:2]]
    bad = _bad_files(tmp_path, good[0])
    paths = [str(good[0]), str(bad["not an image"]), str(bad["truncated"]), str(bad["missing"])]
    paths.append(str(good[1]))
    assert predict.main(["--model", str(result.model_dir), *paths]) == 1
    lines = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [line[0] for line in lines] == paths
    assert lines[0][1] == rows[0].label and 0 < float(lines[0][2]) <= 1
    assert lines[4][1] == rows[1].label
    assert lines[1][1].startswith("error: undecodable")
    assert lines[2][1].startswith("error: undecodable or truncated image")
    assert lines[3][1] == "error: No such file or directory"


def test_evaluate_names_unreadable_rows_and_counts_them(trained, tmp_path, capsys):
    result, _, rows = trained
    for row in rows[:6]:
        shutil.copy(row.path, tmp_path)
    bad = _bad_files(tmp_path, Path(rows[0].path))
    csv = tmp_path / "labels.csv"
    lines = [f"{Path(row.path).name};{row.label}" for row in rows[:6]]
    lines[2:2] = [f"{bad['not an image'].name};gone", f"{bad['missing'].name};lost line"]
    csv.write_text("\n".join(lines) + "\n")
    model = ["--model", str(result.model_dir), "--csv", str(csv)]

    assert evaluate.main(model) == 0
    captured = capsys.readouterr()
    assert f"{csv}:3: {bad['not an image']}: undecodable" in captured.err
    assert f"{csv}:4: {bad['missing']}: No such file or directory" in captured.err
    scored = dict(item.split("=") for item in captured.out.split("(")[0].split())
    assert scored["unreadable"] == "2" and "scored as empty" in captured.out

    assert evaluate.main([*model, "--skip-unreadable"]) == 0
    skipped = dict(item.split("=") for item in capsys.readouterr().out.split("(")[0].split())
    good_only = tmp_path / "good.csv"
    good_only.write_text("\n".join(lines[:2] + lines[4:]) + "\n")
    assert evaluate.main(["--model", str(result.model_dir), "--csv", str(good_only)]) == 0
    alone = dict(item.split("=") for item in capsys.readouterr().out.split())
    assert skipped["CER"] == alone["CER"] and skipped["line_accuracy"] == alone["line_accuracy"]
    # Scored as empty, the two unreadable lines' characters are all errors.
    assert float(scored["CER"]) > float(skipped["CER"])


def test_evaluate_names_the_file_and_row_of_a_csv_that_is_not_utf8(trained, tmp_path, capsys):
    result, _, rows = trained
    csv = tmp_path / "labels.csv"
    csv.write_bytes(f"{rows[0].path};{rows[0].label}\n".encode() + b"b.png;caf\xe9\n")
    assert evaluate.main(["--model", str(result.model_dir), "--csv", str(csv)]) == 2
    assert f"{csv}:2: not UTF-8" in capsys.readouterr().err
