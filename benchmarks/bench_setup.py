"""Set-up of the peer benchmarks: what ``make bench`` needs besides the project's .venv.

- Debian packages: the held-out fonts (fonts-urw-base35, fonts-liberation2, fonts-noto-core),
  the fonts the ``standard`` training profile renders with (``TRAINING_FONT_PACKAGES``, none of
  them a held-out font), and Tesseract 5 with its English model (tesseract-ocr,
  tesseract-ocr-eng). Installed with apt-get (as root, or through sudo) only when one is missing.
- A separate Python 3.11 venv with PyTorch 2.13.0 (CPU) for the same-architecture PyTorch CRNN
  (``benchmarks/torch_crnn.py``), in ``benchmarks/.venv-torch`` (git-ignored). PyTorch never
  goes into the project's .venv. Python 3.11 is found as ``$TORCH_PYTHON``, ``python3.11`` on
  PATH, or pyenv's ``versions/3.11.*``.
- A separate venv with rapidocr-onnxruntime (PaddleOCR's PP-OCRv4 models as ONNX, run by
  onnxruntime) for the PaddleOCR peer (``benchmarks/paddleocr_peer.py``), in
  ``benchmarks/.venv-paddle`` (git-ignored), made with the Python running this (the project's
  3.10). The recognition model comes inside the wheel: nothing is downloaded at run time.

Idempotent: every step is skipped when what it makes is already there.

    python -m benchmarks.bench_setup [--check]
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HELDOUT_FONT_PACKAGES = ("fonts-urw-base35", "fonts-liberation2", "fonts-noto-core")
# pipeline/configs/standard.json renders its synthetic lines with these (and DejaVu core).
TRAINING_FONT_PACKAGES = (
    "fonts-dejavu-extra",
    "fonts-open-sans",
    "fonts-roboto-unhinted",
    "fonts-lato",
    "fonts-linuxlibertine",
    "fonts-ebgaramond",
    "fonts-inconsolata",
    "fonts-cantarell",
    "fonts-crosextra-carlito",
    "fonts-crosextra-caladea",
    "fonts-hack",
    # shapes the fonts above lack: a single-storey a (Andika, Comfortaa), a geometric t
    # (League Spartan), a Courier-style monospace that is not URW's (Courier Prime), more
    # geometric sans faces with a short-barred t (Quicksand, Jura)
    "fonts-sil-andika",
    "fonts-comfortaa",
    "fonts-league-spartan",
    "fonts-courier-prime",
    "fonts-quicksand",
    "fonts-jura",
    # a Times-like serif not drawn from URW's fonts (STIXGeneral's four faces; the profile names
    # the files, not the folder, whose other faces are math symbols)
    "fonts-stix",
)
APT_PACKAGES = (
    *HELDOUT_FONT_PACKAGES,
    *TRAINING_FONT_PACKAGES,
    "tesseract-ocr",
    "tesseract-ocr-eng",
)
TORCH_VERSION = "2.13.0"
TORCH_VENV = Path(__file__).resolve().parent / ".venv-torch"
TORCH_PYTHON = TORCH_VENV / "bin" / "python"
# The PaddleOCR peer: the wheel holds the models; onnxruntime, which computes the figures, pinned.
RAPIDOCR_VERSION = "1.4.4"
ONNXRUNTIME_VERSION = "1.23.2"
PADDLE_REQUIREMENTS = (
    f"rapidocr-onnxruntime=={RAPIDOCR_VERSION}",
    f"onnxruntime=={ONNXRUNTIME_VERSION}",
)
PADDLE_REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"  # in the wheel's rapidocr_onnxruntime/models/
PADDLE_VENV = Path(__file__).resolve().parent / ".venv-paddle"
PADDLE_PYTHON = PADDLE_VENV / "bin" / "python"


class SetupError(RuntimeError):
    """A set-up step that cannot be done here; the message says what to do by hand."""


def missing_apt_packages(packages: Sequence[str] = APT_PACKAGES) -> list[str]:
    """The packages dpkg does not report as installed."""
    missing = []
    for package in packages:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def install_apt_packages(packages: Sequence[str]) -> None:
    """apt-get update + install, as root or through sudo."""
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise SetupError(
                f"missing Debian packages {' '.join(packages)}: run as root "
                f"`apt-get install -y {' '.join(packages)}`"
            )
        prefix = ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


def torch_installed() -> str | None:
    """The torch version in the benchmark venv, or None."""
    if not TORCH_PYTHON.exists():
        return None
    result = subprocess.run(
        [str(TORCH_PYTHON), "-c", "import torch; print(torch.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else None


def find_python311() -> str:
    """A Python 3.11 interpreter that runs."""
    candidates = [os.environ.get("TORCH_PYTHON"), shutil.which("python3.11")]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/3.11.*/bin/python3.11"), reverse=True)
    for candidate in filter(None, candidates):
        ok = subprocess.run([candidate, "-c", "import venv"], capture_output=True, check=False)
        if ok.returncode == 0:
            return candidate
    raise SetupError(
        "no Python 3.11 for the PyTorch venv: set TORCH_PYTHON=/path/to/python3.11 or "
        "`pyenv install 3.11`"
    )


def make_torch_venv() -> None:
    """Create benchmarks/.venv-torch and pip-install torch==TORCH_VERSION into it."""
    python = find_python311()
    subprocess.run([python, "-m", "venv", "--clear", str(TORCH_VENV)], check=True)
    subprocess.run(
        [str(TORCH_PYTHON), "-m", "pip", "install", "--quiet", f"torch=={TORCH_VERSION}"],
        check=True,
    )


def rapidocr_installed() -> str | None:
    """The rapidocr-onnxruntime version in the PaddleOCR venv when its wheel and recognition
    model are there, else None (found without importing the package, which loads OpenCV)."""
    if not PADDLE_PYTHON.exists():
        return None
    probe = (
        "import importlib.metadata as m, importlib.util as u, pathlib\n"
        "spec = u.find_spec('rapidocr_onnxruntime')\n"
        "folder = pathlib.Path(spec.origin).parent if spec and spec.origin else None\n"
        f"if folder and (folder / 'models' / {PADDLE_REC_MODEL!r}).is_file():\n"
        "    print(m.version('rapidocr-onnxruntime'))\n"
    )
    result = subprocess.run(
        [str(PADDLE_PYTHON), "-I", "-c", probe], capture_output=True, text=True, check=False
    )
    version = result.stdout.strip() if result.returncode == 0 else ""
    return version or None


def make_paddle_venv() -> None:
    """Create benchmarks/.venv-paddle with this Python and pip-install PADDLE_REQUIREMENTS."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PADDLE_VENV)], check=True)
    subprocess.run(
        [str(PADDLE_PYTHON), "-m", "pip", "install", "--quiet", *PADDLE_REQUIREMENTS], check=True
    )


def install_training_fonts() -> int:
    missing = missing_apt_packages(TRAINING_FONT_PACKAGES)
    try:
        if missing:
            print(f"installing {' '.join(missing)}", flush=True)
            install_apt_packages(missing)
    except (SetupError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("training fonts: all present")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only, install nothing")
    parser.add_argument(
        "--training-fonts",
        action="store_true",
        help="only the fonts the standard and pretrained profiles render with (make pretrained)",
    )
    args = parser.parse_args(argv)
    if args.training_fonts:
        return install_training_fonts()
    missing = missing_apt_packages()
    torch = torch_installed()
    torch_ok = bool(torch and torch.startswith(TORCH_VERSION))
    rapidocr = rapidocr_installed()
    rapidocr_ok = rapidocr == RAPIDOCR_VERSION
    if args.check:
        print(f"Debian packages missing: {' '.join(missing) or 'none'}")
        print(f"PyTorch venv {TORCH_VENV}: {torch or 'missing'}")
        print(f"PaddleOCR venv {PADDLE_VENV}: rapidocr-onnxruntime {rapidocr or 'missing'}")
        return 0 if not missing and torch_ok and rapidocr_ok else 1
    try:
        if missing:
            print(f"installing {' '.join(missing)}", flush=True)
            install_apt_packages(missing)
        else:
            print("Debian packages: all present")
        if not torch_ok:
            print(f"creating {TORCH_VENV} with torch=={TORCH_VERSION}", flush=True)
            make_torch_venv()
        print(f"PyTorch venv: torch {torch_installed()}")
        if not rapidocr_ok:
            print(f"creating {PADDLE_VENV} with {' '.join(PADDLE_REQUIREMENTS)}", flush=True)
            make_paddle_venv()
        print(f"PaddleOCR venv: rapidocr-onnxruntime {rapidocr_installed()}")
    except (SetupError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
