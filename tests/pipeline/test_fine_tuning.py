"""Fine-tuning the shipped model through local_runner.py, as a user runs it.

A fine-tuning run (``training.init_from`` = the shipped model) on a few mixed-case lines, some
with a character the shipped model lacks, ends blessed with that character added to its
alphabet; a model that cannot be the base is refused before anything runs."""

import re
from pathlib import Path

import pytest
from testlib import TINY_MODEL, render_lines, run_local_runner

from pipeline.config import ConfigError, CrnnConfig
from serving.options import SHIPPED_MODEL
from tools import synth_lines
from trainer_module import export

ROOT = Path(__file__).resolve().parents[2]
NEW_CHARACTER = "é"


@pytest.fixture(scope="module")
def mixed_case_lines(tmp_path_factory) -> Path:
    """48 generated printed lines, then 8 rendered ones with a character new to the model."""
    folder = tmp_path_factory.mktemp("lines")
    synth_lines.generate(folder, count=48, seed=23, charset="ascii", max_chars=24)
    texts = [
        f"Caf{NEW_CHARACTER} No. {i}" if i % 2 else f"r{NEW_CHARACTER}sum{NEW_CHARACTER} {i}"
        for i in range(8)
    ]
    rows = []
    for i, png in enumerate(render_lines(texts, "fine-tune")):
        (folder / "images" / f"new{i}.png").write_bytes(png)
        rows.append(f"images/new{i}.png;{texts[i]}\n")
    with open(folder / "labels.csv", "a", encoding="utf-8") as labels:
        labels.writelines(rows)
    return folder / "labels.csv"


def test_fine_tuning_the_shipped_model_extends_its_alphabet_and_ends_blessed(
    mixed_case_lines, tmp_path
):
    config = {
        "augmentation": {"enabled": False},
        "training": {
            "init_from": str(SHIPPED_MODEL.relative_to(ROOT)),
            "batch_size": 8,
            "learning_rate": 0.0003,
            "lr_schedule": "constant",
            "train_steps": 20,
            "steps_per_evaluation": 20,
            "eval_steps": 2,
        },
        # From scratch, 20 steps read nothing (CER about 1): passing this gate shows the start.
        "evaluation": {"cer_threshold": 0.2, "decoder": "greedy"},
    }
    summary, log = run_local_runner(config, tmp_path, "--data", str(mixed_case_lines))

    base = export.read_assets(next(p for p in SHIPPED_MODEL.iterdir() if p.name.isdigit()))
    assert re.search(
        rf"warm-started from {SHIPPED_MODEL}/\d+ \(1 new units: {NEW_CHARACTER}\)", log
    )
    assert summary["blessed"] == "true" and float(summary["cer"]) <= 0.2
    alphabet, pushed_config = export.read_assets(summary["pushed"])
    assert set(alphabet.units) == set(base[0].units) | {NEW_CHARACTER}
    assert pushed_config.model == base[1].model  # the base's network, not the default one


def test_an_init_from_that_is_not_a_model_is_refused_before_anything_runs(tmp_path):
    from pipeline.pipeline import with_init_model

    config = CrnnConfig.model_validate({"training": {"init_from": str(tmp_path)}})
    with pytest.raises(
        ConfigError, match=rf"training.init_from={tmp_path}: .*neither a SavedModel"
    ):
        with_init_model(config)
    shipped = export.read_assets(next(p for p in SHIPPED_MODEL.iterdir() if p.name.isdigit()))
    same = CrnnConfig.model_validate(
        {"model": shipped[1].model.model_dump(), "training": {"init_from": str(SHIPPED_MODEL)}}
    )
    kept = with_init_model(same)
    assert kept.model == shipped[1].model
    assert (ROOT / kept.training.init_from).parent == SHIPPED_MODEL  # kept relative to the project
    other = CrnnConfig.model_validate(
        {"model": TINY_MODEL, "training": {"init_from": str(SHIPPED_MODEL)}}
    )
    with pytest.raises(ConfigError, match=r"architecture differs in model\.max_width, "):
        with_init_model(other)
