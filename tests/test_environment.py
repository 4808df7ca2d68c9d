"""The foundation: a locked environment, Keras 2 everywhere, Python 3.10 discovery, venv repair."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        assert "==" in line, f"requirements.txt line not pinned: {line!r}"
        name, version = line.split("==")
        pins[_normalized(name.split("[")[0])] = version.strip()
    return pins


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return env


def test_every_lock_line_is_pinned_and_the_venv_holds_exactly_the_lock():
    lock = _lock()
    assert len(lock) > 200  # TFX's whole tree, not a stub
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    installed = {
        _normalized(name): version
        for name, version in (line.split("==") for line in freeze.splitlines() if "==" in line)
    }
    assert installed == lock


def test_every_direct_dependency_has_a_reason():
    lines = (ROOT / "requirements.in").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"no reason above {line!r} in requirements.in"


def test_the_stack_is_the_pinned_one():
    lock = _lock()
    assert sys.version_info[:2] == (3, 10)
    assert lock["tfx"] == "1.16.0"
    assert lock["tensorflow"].startswith("2.16.")
    assert "dill" in lock and "tf-keras" in lock
    assert lock["apache-beam"] == "2.60.0"


@pytest.mark.parametrize("package", ["pipeline", "trainer_module", "components", "serving"])
def test_importing_a_project_package_first_makes_tf_keras_keras_2(package):
    code = f"import {package}, tensorflow as tf; print(tf.keras.layers.Dense.__module__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_clean_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().startswith("tf_keras.")


def test_without_the_project_tf_keras_would_be_keras_3():
    """The control for the test above: the variable is what makes the difference."""
    code = "import tensorflow as tf; print(tf.keras.layers.Dense.__module__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=_clean_env(), capture_output=True, text=True
    )
    assert result.stdout.strip().startswith("keras.")


# --- Python 3.10 discovery ------------------------------------------------------------------------

FIND = str(ROOT / "tools" / "find_python.sh")


def _find(path: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", FIND],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/root"), **env},
        capture_output=True,
        text=True,
    )


def _fake(directory: Path, name: str, body: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_find_python_skips_a_python3_10_on_path_that_does_not_run(tmp_path):
    broken = tmp_path / "shims"
    _fake(broken, "python3.10", 'echo "pyenv: python3.10: command not found" >&2; exit 127')
    result = _find(f"{broken}:/usr/bin:/bin")
    assert result.returncode == 1
    assert "no working Python 3.10" in result.stderr
    assert "pyenv install 3.10" in result.stderr and "PYTHON=" in result.stderr


def test_find_python_takes_a_working_python3_10_from_path(tmp_path):
    good = tmp_path / "bin"
    _fake(good, "python3.10", f'exec {sys.executable} "$@"')
    result = _find(f"{good}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == Path(sys.executable).resolve()


def test_find_python_falls_back_to_pyenv_versions(tmp_path):
    broken = tmp_path / "shims"
    _fake(broken, "python3.10", "exit 127")
    root = tmp_path / "pyenv"
    version_bin = root / "versions" / "3.10.99" / "bin"
    _fake(version_bin, "python3.10", f'exec {sys.executable} "$@"')
    _fake(tmp_path / "pyenv-bin", "pyenv", f'[ "$1" = root ] && echo {root}; exit 0')
    result = _find(f"{broken}:{tmp_path / 'pyenv-bin'}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr


def test_find_python_rejects_a_user_python_that_is_not_3_10():
    result = _find("/usr/bin:/bin", PYTHON="/usr/bin/python3")
    assert result.returncode == 1
    assert "PYTHON=/usr/bin/python3 is not a working Python 3.10" in result.stderr


# --- venv set-up ----------------------------------------------------------------------------------


def test_setup_is_a_no_op_when_the_venv_matches_the_lock():
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "setup_venv.sh")],
        capture_output=True,
        text=True,
        env=_clean_env(VENV=str(Path(sys.prefix))),
    )
    assert result.returncode == 0
    assert result.stdout == ""


def test_setup_replaces_a_broken_venv_and_stamps_it_only_when_complete(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(tmp_path / "gone")
    (venv / ".requirements.sha256").write_text("stale\n")
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "setup_venv.sh")],
        capture_output=True,
        text=True,
        env=_clean_env(VENV=str(venv)),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "does not run as Python 3.10; recreating it" in result.stdout
    stamp = (venv / ".requirements.sha256").read_text().strip()
    assert len(stamp) == 64 and stamp != "stale"
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tfx; print(tfx.__version__)"],
        capture_output=True,
        text=True,
        env=_clean_env(),
    )
    assert version.stdout.strip() == "1.16.0"
