"""The CLI: help, usage errors (one line, exit status 2, before TFX is even imported), configs."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kubeflow.runner", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def test_help_names_every_command():
    result = cli("--help")
    assert result.returncode == 0
    for command in ("compile", "submit", "schedule"):
        assert command in result.stdout


def test_compile_names_every_missing_location(tmp_path):
    line = error_line(cli("compile", "--output", str(tmp_path / "p.yaml")))
    for name in ("--pipeline-root", "--data-root", "--serving-dir", "kubeflow.pipeline_root"):
        assert name in line
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.parametrize(
    ("output", "format", "expected"),
    [
        ("p.yaml", "vertex", "--output must end in .json, not 'p.yaml'"),
        ("p.json", "yaml", "--output must end in .yaml or .yml, not 'p.json'"),
        ("p.txt", None, "end it in .yaml (KFP PipelineSpec) or .json"),
    ],
)
def test_the_output_extension_must_match_the_format(tmp_path, output, format, expected):
    args = ["compile", "--output", str(tmp_path / output)]
    if format:
        args += ["--format", format]
    assert expected in error_line(cli(*args))


def test_config_mistakes_are_named(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text('{"kubeflow": {"imag": "x"}}')
    line = error_line(cli("compile", "--output", "p.yaml", "--config", str(config)))
    assert "unknown key 'kubeflow.imag' (did you mean 'kubeflow.image'?)" in line
    negative = cli("compile", "--output", "p.yaml", "--set", "kubeflow.trainer.cpu=-1")
    assert "'kubeflow.trainer.cpu'" in error_line(negative)


@pytest.mark.parametrize("name", ["kfp-gke.json", "vertex-dataflow.json"])
def test_the_example_configs_are_valid(name):
    config = load_config(ROOT / "kubeflow" / "configs" / name)
    assert config.kubeflow.pipeline_root and config.kubeflow.data_root
    assert config.kubeflow.serving_dir and config.kubeflow.trainer.accelerator_count >= 1
