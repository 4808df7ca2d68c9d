"""Helpers shared by test modules, importable by name (`from testlib import ...`): conftest
modules are not importable reliably when several exist.

- ``small_config``: a CRNN small enough to learn a few dozen lines on two CPU cores quickly;
- ``TINY_MODEL``: the same small network as a config section, for the pipeline runs' JSON files;
- ``SUMMARY``: the last line ``local_runner.py`` prints; ``local_runner_command`` and
  ``run_local_runner``: a run of it on a config dict, as a user starts one;
- ``PIPELINE_TASKS``: the components ``pipeline.create_pipeline`` makes;
- ``render_lines``: PNG renderings of texts, as the generator draws them;
- ``running_server``/``server_process``: ``python -m serving.server`` on a free port, for as long
  as a block runs.
"""

import contextlib
import dataclasses
import io
import json
import random
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from pipeline.config import CrnnConfig, load_config
from tools import synth_lines

SMALL_CONV_LAYERS = [
    {"filters": 16, "pool": [2, 2]},
    {"filters": 32, "pool": [2, 2]},
    {"filters": 64, "batch_norm": True, "pool": [2, 1]},
    {"filters": 64, "pool": [2, 1]},
    {"filters": 64, "kernel": [2, 2], "padding": "valid", "batch_norm": True},
]
TINY_MODEL = {"max_width": 128, "conv_layers": SMALL_CONV_LAYERS, "rnn_units": 48}
SUMMARY = re.compile(
    r"^CER=(?P<cer>[\d.]+|nan) line_accuracy=(?P<acc>[\d.]+|nan) "
    r"blessed=(?P<blessed>true|false) pushed_model=(?P<pushed>\S+)$"
)
ROOT = Path(__file__).resolve().parents[1]


def local_runner_command(config: dict, tmp_path: Path, *args: str) -> list[str]:
    """``local_runner.py`` on ``config`` (written to tmp_path/config.json), its output in
    tmp_path/out."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    out = str(tmp_path / "out")
    return [sys.executable, "local_runner.py", str(path), "--output-dir", out, *args]


def run_local_runner(config: dict, tmp_path: Path, *args: str, timeout=900) -> tuple[dict, str]:
    """A run to its end: the summary line's figures (``SUMMARY``'s groups) and the whole log."""
    result = subprocess.run(
        local_runner_command(config, tmp_path, *args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    match = SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert match, result.stdout[-2000:]
    return match.groupdict(), log


PIPELINE_TASKS = {
    "CsvImageExampleGen",
    "ImportSchemaGen",
    "Transform",
    "LatestPushedModel",
    "Trainer",
    "BaselineModel",
    "Evaluator",
    "Pusher",
}


def small_config(*overrides: str) -> CrnnConfig:
    """A CRNN small enough to learn a few dozen lines on two CPU cores in well under a minute."""
    return load_config(
        overrides=[
            f"model.conv_layers={json.dumps(SMALL_CONV_LAYERS)}",
            "model.rnn_units=64",
            "model.max_width=160",
            "training.batch_size=16",
            "training.learning_rate=0.003",
            "training.lr_schedule=constant",
            *overrides,
        ]
    )


def render_lines(texts: list[str], seed: str) -> list[bytes]:
    """PNG images of the texts in the generator's fonts, one rendering per (seed, index)."""
    fonts = synth_lines.resolve_fonts(None)
    images = []
    for i, text in enumerate(texts):
        image = synth_lines.render_line(text, fonts[i % len(fonts)], random.Random(f"{seed}:{i}"))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images


@dataclasses.dataclass
class ServerProcess:
    url: str  # the model's URL, .../v1/models/crnn
    process: subprocess.Popen
    log: list[str]  # its output so far (drained on a thread, so the pipe never fills)


@contextlib.contextmanager
def server_process(model: Path, *args: str):
    """``python -m serving.server --model MODEL ARGS`` on a free port of 127.0.0.1, started
    and listening: yields a ServerProcess; stopped afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "serving.server", "--model", str(model), "--port", str(port)]
    process = subprocess.Popen(
        [*command, *args],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output: list[str] = []
        while not (output and output[-1].startswith("listening on")):
            line = process.stdout.readline()
            if not line:  # the server exited
                raise RuntimeError("the server did not start:\n" + "".join(output)[-3000:])
            output.append(line)
        threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
        yield ServerProcess(f"http://127.0.0.1:{port}/v1/models/crnn", process, output)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def running_server(model: Path, *args: str):
    """``server_process``, yielding only the model's URL."""
    with server_process(model, *args) as server:
        yield server.url
