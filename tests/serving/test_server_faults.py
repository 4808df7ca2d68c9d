"""A fault test on loopback, bounded in count and time: for FAULT_SECONDS, client threads send
a mix of good lines, other formats of them, bad images, oversized bodies, slivers and 256-line
requests of large images that time out. Every good request is answered correctly; nothing
answers 5xx but a timed-out request's 504 or a full queue's 503; afterwards the server still
serves, its worker alive and its memory within a bound."""

from __future__ import annotations

import base64
import io
import random
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw
from testlib import server_process

FAULT_SECONDS = 30
CLIENTS = 4
TIMEOUT_SECONDS = 1.0  # the server's --timeout: a 256-line request of LARGE images takes longer
LARGE = (1500, 250)  # px: decoding and resizing 256 of these takes seconds on these CPUs
KINDS = ("good", "good", "good", "gif", "bad", "oversized", "sliver", "large")  # drawn at random
MEMORY_GROWTH_MB = 400  # resident memory the server may gain over the run (allocator caches)


def _b64(data: bytes) -> dict:
    return {"b64": base64.b64encode(data).decode()}


def _encoded(image: Image.Image, kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, kind)
    return out.getvalue()


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def fault_server(trained, tmp_path_factory):
    result, _, rows = trained
    serving_dir = tmp_path_factory.mktemp("fault-serving")
    shutil.copytree(result.model_dir, serving_dir / "1")
    flags = ["--timeout", str(TIMEOUT_SECONDS), "--max-batch", "8", "--max-body-mb", "8"]
    with server_process(serving_dir, *flags, "--max-image-pixels", "400000") as server:
        yield server, rows


def test_mixed_faults_leave_every_good_request_answered_and_the_server_serving(fault_server):
    server, rows = fault_server
    url = f"{server.url}:predict"
    good = [Path(row.path).read_bytes() for row in rows[:16]]
    answer = requests.post(url, json={"instances": [_b64(g) for g in good]}, timeout=60)
    assert answer.status_code == 200, answer.text
    expected = [p["text"] for p in answer.json()["predictions"]]
    large_image = Image.new("L", LARGE, 255)
    ImageDraw.Draw(large_image).text((20, 100), "A LARGE LINE 1234", fill=0)
    large = {"instances": [_b64(_encoded(large_image))] * 256}
    sliver = {"instances": [_b64(_encoded(Image.new("L", (40, 5000), 255)))]}
    oversized = b'{"instances": [{"b64": "' + b"A" * (9 << 20) + b'"}]}'
    bad = {"instances": [_b64(b"GIF89a but not really an image")]}
    memory_before = _resident_mb(server.process.pid)

    def client(seed: int) -> list[tuple[str, int, bool]]:
        rng, seen, stop = random.Random(seed), [], time.monotonic() + FAULT_SECONDS
        while time.monotonic() < stop:
            kind = rng.choice(
                ["good", "good", "good", "gif", "bad", "oversized", "sliver", "large"]
            )
            index = rng.randrange(len(good))
            if kind == "good":
                body = {"instances": [_b64(good[index])]}
            elif kind == "gif":
                body = {"instances": [_b64(_encoded(Image.open(io.BytesIO(good[index])), "GIF"))]}
            else:
                body = {"bad": bad, "sliver": sliver, "large": large}.get(kind)
            if kind == "oversized":
                response = requests.post(url, data=oversized, timeout=60)
            else:
                response = requests.post(url, json=body, timeout=60)
            right = response.status_code == 200 and (
                kind not in ("good", "gif")
                or response.json()["predictions"][0]["text"] == expected[index]
            )
            seen.append((kind, response.status_code, right))
        return seen

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for seen in pool.map(client, range(CLIENTS)) for r in seen]
    statuses = Counter((kind, status) for kind, status, _ in results)
    allowed = {
        "good": {200},
        "gif": {200},
        "sliver": {200},
        "bad": {400},
        "oversized": {413},
        "large": {200, 503, 504},  # 503: the queue (1,024 images) was full
    }
    assert all(status in allowed[kind] for kind, status in statuses), statuses
    assert all(right for kind, status, right in results if kind in ("good", "gif")), statuses
    assert statuses[("good", 200)] >= 20 and statuses[("large", 504)] >= 1, statuses

    # Afterwards: alive, serving, and its memory within a bound.
    status = requests.get(server.url, timeout=10).json()["model_version_status"][0]
    assert status["state"] == "AVAILABLE"
    after = requests.post(url, json={"instances": [_b64(good[0])]}, timeout=10)
    assert after.status_code == 200 and after.json()["predictions"][0]["text"] == expected[0]
    assert _resident_mb(server.process.pid) < memory_before + MEMORY_GROWTH_MB
    assert server.process.poll() is None
