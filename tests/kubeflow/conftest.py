"""Shared fixtures: compiled packages of the real pipeline, and a KFP API server on 127.0.0.1.

The server is plain ``http.server`` speaking the KFP v2beta1 REST endpoints that kfp 2.5's
``kfp.Client`` calls for submit and schedule (healthz, experiments, runs, recurring runs). It
records every request and can be told to answer one endpoint with an error.
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kubeflow import runner
from tools import synth_lines

API = "/apis/v2beta1"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict | None


@dataclass
class FakeKfp:
    """State of the fake KFP API: experiments it knows, requests it got, errors to answer."""

    url: str = ""
    experiments: list[dict] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    errors: dict[tuple[str, str], tuple[int, dict]] = field(default_factory=dict)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]

    def body_of(self, method: str, path: str) -> dict:
        (body,) = [r.body for r in self.requests if (r.method, r.path) == (method, path)]
        return body


def _answer(kfp: FakeKfp, request: Request) -> tuple[int, dict]:
    key = (request.method, request.path)
    if key in kfp.errors:
        return kfp.errors[key]
    if key == ("GET", f"{API}/healthz"):
        return 200, {"multi_user": False}
    if key == ("GET", f"{API}/experiments"):
        wanted = json.loads(request.query["filter"])["predicates"][0]["stringValue"]
        found = [e for e in kfp.experiments if e["display_name"] == wanted]
        return 200, {"experiments": found, "total_size": len(found)} if found else {}
    if key == ("POST", f"{API}/experiments"):
        experiment = {**request.body, "experiment_id": str(uuid.uuid4())}
        kfp.experiments.append(experiment)
        return 200, experiment
    if key == ("POST", f"{API}/runs"):
        return 200, {**request.body, "run_id": str(uuid.uuid4()), "state": "PENDING"}
    if key == ("POST", f"{API}/recurringruns"):
        return 200, {**request.body, "recurring_run_id": str(uuid.uuid4()), "status": "ENABLED"}
    return 404, {"error": "Not Found", "code": 5, "message": f"no route {request.path}"}


def _handler(kfp: FakeKfp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            request = Request(self.command, url.path, query, json.loads(raw) if raw else None)
            kfp.requests.append(request)
            status, answer = _answer(kfp, request)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    return Handler


@pytest.fixture
def kfp_server():
    kfp = FakeKfp()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(kfp))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kfp.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield kfp
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Compiled:
    yaml: Path
    vertex: Path
    pipeline_root: str
    data_root: Path
    serving_dir: str


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> Compiled:
    """The real pipeline compiled both ways, reading two small spans of digit lines."""
    base = tmp_path_factory.mktemp("kubeflow")
    data = base / "data"
    for span in (1, 2):
        synth_lines.generate(
            data / f"span-{span}", 12 + span, seed=span, charset="digits", max_chars=24
        )
    flags = [
        "--pipeline-root",
        str(base / "root"),
        "--data-root",
        str(data),
        "--serving-dir",
        str(base / "serving"),
        "--image",
        "registry.example/crnn-tfx:1",
        "--beam-arg=--direct_num_workers=1",
    ]
    yaml_path, vertex_path = base / "pipeline.yaml", base / "pipeline.json"
    assert runner.main(["compile", "--output", str(yaml_path), *flags]) == 0
    assert runner.main(["compile", "--output", str(vertex_path), "--format", "vertex", *flags]) == 0
    return Compiled(yaml_path, vertex_path, str(base / "root"), data, str(base / "serving"))
