"""A bounded concurrent load on the REST server: latency percentiles, throughput, errors.

Starts ``python -m serving.server --model PUSH_DIR --host 127.0.0.1 --port <free>`` as a child
process (request batching as set by ``--max-batch`` / ``--batch-wait-ms``), waits until it
listens, then per round ``--clients`` threads POST ``/v1/models/crnn:predict`` with one
held-out line image each (``{"instances": [{"b64": ...}]}``, the images of ``benchmarks.heldout``
in turn) until ``--requests`` requests are answered. Per round: p50, p90 and p99 latency (ms,
from sending the request to reading the whole answer), throughput (requests/s over the round's
wall time), non-2xx answers (5xx counted separately) and requests with no answer at all. One
warm-up round first, not counted; the section gives the median over ``--rounds`` rounds and
every round. Then ``--mixed-rounds`` rounds of the same good requests while ``NOISE_CLIENTS``
more threads send what a server meets on a bad day (``noise_bodies``: images that are not
images, bodies over the limit, 256-line requests, tall slivers): the good requests' latency under
it is a row of its own, and the noise's answers are counted by status. The server is stopped at
the end, also on error.

    python -m benchmarks.serving_load --model PUSH_DIR [--clients 8] [--requests 400]
        [--rounds 5] [--mixed-rounds 3] [--max-batch 64] [--batch-wait-ms 5] [--heldout DIR]
        [--write]

Exit status 1 when any request got a non-2xx answer or none (issue 6: zero 5xx under load).
``--write`` replaces the ``serving_load`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks  # noqa: F401  (Keras 2 before TensorFlow)
from benchmarks import report

ROOT = report.ROOT
SECTION = "serving_load"
DEFAULT_HELDOUT = "outputs/bench/heldout-serving"
HELDOUT_LINES = 64  # distinct images the clients send in turn
NO_ANSWER = 0  # the status recorded for a request that got no HTTP answer
START_TIMEOUT = 300.0  # seconds the server may take to load the model and listen
NOISE_CLIENTS = 2  # threads sending noise_bodies beside the good clients in a mixed round
MAX_BODY_MB = 16  # the server's default --max-body-mb; the noise sends a body over it


class ServerFailed(RuntimeError):
    """The server did not start (its output tail is in the message)."""


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks (NumPy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0-100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class RoundResult:
    """One round: each request's status (NO_ANSWER when none came) and latency in ms (answered
    requests only), and the round's wall time."""

    statuses: list[int]
    latencies_ms: list[float]
    seconds: float
    bad_bodies: int = 0  # 2xx answers without exactly one prediction

    @property
    def requests(self) -> int:
        return len(self.statuses)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def non_2xx(self) -> int:
        """Requests that did not get a 2xx answer, those with no answer included."""
        return sum(1 for status in self.statuses if not 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(1 for status in self.statuses if 500 <= status < 600)

    @property
    def no_answer(self) -> int:
        return self.statuses.count(NO_ANSWER)

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")


@dataclass
class Summary:
    """Medians over the timed rounds; error counts summed over them."""

    p50: float
    p90: float
    p99: float
    throughput: float
    requests: int
    non_2xx: int
    server_errors: int
    no_answer: int
    bad_bodies: int

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and self.bad_bodies == 0


def summarize(rounds: Sequence[RoundResult]) -> Summary:
    if not rounds:
        raise ValueError("no rounds to summarize")
    return Summary(
        p50=report.median([r.p(50) for r in rounds]),
        p90=report.median([r.p(90) for r in rounds]),
        p99=report.median([r.p(99) for r in rounds]),
        throughput=report.median([r.throughput for r in rounds]),
        requests=sum(r.requests for r in rounds),
        non_2xx=sum(r.non_2xx for r in rounds),
        server_errors=sum(r.server_errors for r in rounds),
        no_answer=sum(r.no_answer for r in rounds),
        bad_bodies=sum(r.bad_bodies for r in rounds),
    )


# --------------------------------------------------------------------------- the section


@dataclass
class Setup:
    """What the load ran against, for the section."""

    model_dir: str
    model_bytes: int
    decoder: str
    clients: int
    requests: int
    rounds: int
    max_batch: int
    batch_wait_ms: float
    images: int
    heldout: str


def round_row(label: str, r: RoundResult) -> list[str]:
    return [
        label,
        f"{r.p(50):.1f}",
        f"{r.p(90):.1f}",
        f"{r.p(99):.1f}",
        f"{r.throughput:.1f}",
        str(r.non_2xx),
        str(r.server_errors),
    ]


def section(
    setup: Setup,
    rounds: Sequence[RoundResult],
    command: str,
    machine: str,
    date: str,
    mixed: Sequence[RoundResult] = (),
    noise: Counter | None = None,
) -> str:
    s = summarize(rounds)
    header = ["round", "p50 ms", "p90 ms", "p99 ms", "requests/s", "non-2xx", "5xx"]
    rows = [
        [
            f"**median of {len(rounds)}**",
            f"**{s.p50:.1f}**",
            f"**{s.p90:.1f}**",
            f"**{s.p99:.1f}**",
            f"**{s.throughput:.1f}**",
            f"**{s.non_2xx}**",
            f"**{s.server_errors}**",
        ]
    ]
    rows += [round_row(str(index), r) for index, r in enumerate(rounds, 1)]
    if mixed:
        m = summarize(mixed)
        rows.append(
            [
                f"**mixed load, median of {len(mixed)}**",
                f"**{m.p50:.1f}**",
                f"**{m.p90:.1f}**",
                f"**{m.p99:.1f}**",
                f"**{m.throughput:.1f}**",
                f"**{m.non_2xx}**",
                f"**{m.server_errors}**",
            ]
        )
        rows += [round_row(f"mixed {index}", r) for index, r in enumerate(mixed, 1)]
    if s.clean:
        errors = f"**0 non-2xx** (0 5xx) in {s.requests} timed requests"
    else:
        errors = (
            f"**{s.non_2xx} non-2xx** in {s.requests} timed requests: {s.server_errors} 5xx, "
            f"{s.no_answer} without an answer, {s.non_2xx - s.server_errors - s.no_answer} "
            f"other; {s.bad_bodies} 2xx answers without one prediction (issue 6 asks for zero "
            "5xx)"
        )
    lines = [
        "## Serving under load: the REST server on 127.0.0.1",
        "",
        f"`python -m serving.server` on a pushed model; {setup.clients} client threads POST "
        f'`/v1/models/crnn:predict` with one line image each (`{{"instances": [{{"b64": '
        f"...}}]}}`, {setup.images} held-out lines in turn) until {setup.requests} requests are "
        "answered, per round. Latency: from sending the request to reading the whole answer. "
        f"One warm-up round, then {setup.rounds} timed rounds; the first row is the median "
        "over them.",
        "",
        report.markdown_table(header, rows),
        "",
        f"- errors: {errors}",
        *(
            [
                f"- mixed load: the good requests' rows while {NOISE_CLIENTS} more threads sent, "
                "in turn, an image that is not one, a body over the 16 MiB limit, 256 lines at "
                "once and a 40x5000 px sliver; their answers: "
                + ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(noise.items()))
            ]
            if mixed and noise
            else []
        ),
        f"- server: request batching up to {setup.max_batch} images per model call, waiting up "
        f"to {setup.batch_wait_ms:g} ms for more (`--max-batch {setup.max_batch} "
        f"--batch-wait-ms {setup.batch_wait_ms:g}`); TensorFlow's default threads; server and "
        "clients share the machine's cores, not pinned",
        f"- model: `{report.shown_path(setup.model_dir)}` "
        f"({setup.model_bytes / 2**20:.1f} MiB on disk), decoder "
        f"{setup.decoder}",
        f"- command: `{command}`",
        f"- machine: {machine}",
        f"- date: {date}",
        f"- held-out images: `{report.shown_path(setup.heldout)}`",
    ]
    if setup.rounds < 5:
        lines.append(f"- only {setup.rounds} timed rounds: issue 7 asks for the median of >= 5")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(model: str, port: int, max_batch: int, batch_wait_ms: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "serving.server",
        "--model",
        str(model),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--max-batch",
        str(max_batch),
        "--batch-wait-ms",
        str(batch_wait_ms),
    ]


class Server:
    """A server child process, read continuously (so its log never fills the pipe); ready when
    it prints ``listening on``. A context manager that always stops it."""

    def __init__(self, command: Sequence[str], timeout: float = START_TIMEOUT, cwd=ROOT):
        self.command, self.timeout, self.cwd = list(command), timeout, cwd
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("listening on"):
                self._ready.set()

    def tail(self, chars: int = 3000) -> str:
        return "".join(self.output)[-chars:]

    def start(self) -> Server:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._drain, name="server-output", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader take the last lines
                raise ServerFailed(
                    f"the server exited with {self.process.returncode} before listening:\n"
                    + self.tail()
                )
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"the server did not listen within {self.timeout:g} s:\n" + self.tail()
                )
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)

    def __enter__(self) -> Server:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


# --------------------------------------------------------------------------- the load


def request_bodies(images: Sequence[bytes]) -> list[bytes]:
    """One JSON body per image: TF Serving's row format with one base64 instance."""
    return [
        json.dumps({"instances": [{"b64": base64.b64encode(image).decode()}]}).encode()
        for image in images
    ]


def run_round(
    url: str, bodies: Sequence[bytes], clients: int, requests_count: int, timeout: float = 60.0
) -> RoundResult:
    """``clients`` threads POST ``bodies`` in turn to ``url`` until ``requests_count`` requests
    have been sent and answered (or have failed)."""
    import requests

    lock = threading.Lock()
    next_index = 0
    statuses: list[int] = []
    latencies: list[float] = []
    bad_bodies = 0

    def client() -> None:
        nonlocal next_index, bad_bodies
        with requests.Session() as session:
            while True:
                with lock:
                    if next_index >= requests_count:
                        return
                    index = next_index
                    next_index += 1
                body = bodies[index % len(bodies)]
                started = time.perf_counter()
                try:
                    response = session.post(
                        url,
                        data=body,
                        headers={"Content-Type": "application/json"},
                        timeout=timeout,
                    )
                    _ = response.content  # the whole answer is read
                    elapsed = (time.perf_counter() - started) * 1000
                except requests.RequestException:
                    with lock:
                        statuses.append(NO_ANSWER)
                    continue
                well_formed = True
                if 200 <= response.status_code < 300:
                    try:
                        well_formed = len(response.json()["predictions"]) == 1
                    except (ValueError, KeyError, TypeError):
                        well_formed = False
                with lock:
                    statuses.append(response.status_code)
                    latencies.append(elapsed)
                    bad_bodies += not well_formed

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return RoundResult(statuses, latencies, seconds, bad_bodies)


def noise_bodies(images: Sequence[bytes]) -> dict[str, bytes]:
    """Requests a server meets on a bad day, each answered without harm to the others: an image
    that is not one (400), a body over the limit (413), 256 lines at once (200), a 40x5000 px
    sliver (200)."""
    import io

    from PIL import Image

    def body(instances: list[bytes]) -> bytes:
        return json.dumps(
            {"instances": [{"b64": base64.b64encode(x).decode()} for x in instances]}
        ).encode()

    sliver = io.BytesIO()
    Image.new("L", (40, 5000), 255).save(sliver, "PNG")
    return {
        "not an image": body([b"GIF89a and nothing after it"]),
        "oversized": b'{"instances": [{"b64": "' + b"A" * (MAX_BODY_MB << 20) + b'"}]}',
        "256 lines": body([images[i % len(images)] for i in range(256)]),
        "sliver": body([sliver.getvalue()]),
    }


def run_noise(url: str, bodies: dict[str, bytes], stop: threading.Event) -> Counter:
    """``NOISE_CLIENTS`` threads send ``bodies`` in turn until ``stop``; (kind, status) counts."""
    import requests

    counts: Counter = Counter()
    lock = threading.Lock()

    def client(offset: int) -> None:
        kinds = list(bodies)
        index = offset
        with requests.Session() as session:
            while not stop.is_set():
                kind = kinds[index % len(kinds)]
                index += 1
                try:
                    status = session.post(url, data=bodies[kind], timeout=120).status_code
                except requests.RequestException:
                    status = NO_ANSWER
                with lock:
                    counts[(kind, status)] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(NOISE_CLIENTS)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join()
    return counts


def model_size(model_dir: str | Path) -> int:
    return sum(path.stat().st_size for path in Path(model_dir).rglob("*") if path.is_file())


def describe_decoder(evaluation) -> str:
    if evaluation.decoder == "beam":
        return f"CTC beam search (width {evaluation.beam_width}, top {evaluation.top_paths})"
    return "CTC greedy"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="push directory or SavedModel folder")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=400, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (after a warm-up)")
    parser.add_argument(
        "--mixed-rounds", type=int, default=3, help="rounds under the mixed load (0: none)"
    )
    parser.add_argument("--max-batch", type=int, default=64, help="server: images per model call")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=5.0, help="server: wait for more requests"
    )
    parser.add_argument(
        "--heldout",
        default=DEFAULT_HELDOUT,
        help=f"held-out set folder (default {DEFAULT_HELDOUT})",
    )
    parser.add_argument("--charset", default="full", help="held-out charset (default full)")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    if min(args.clients, args.requests, args.rounds, args.max_batch) < 1:
        parser.error("--clients, --requests, --rounds and --max-batch must be at least 1")

    from benchmarks import heldout
    from components.serving_layout import resolve_model_dir
    from trainer_module import export

    try:
        model_dir = resolve_model_dir(args.model)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _, config = export.read_assets(model_dir)
    labels = heldout.generate(args.heldout, HELDOUT_LINES, charset=args.charset)
    images = [path.read_bytes() for path, _ in heldout.read_labels(labels)]
    bodies = request_bodies(images)
    setup = Setup(
        model_dir=model_dir,
        model_bytes=model_size(model_dir),
        decoder=describe_decoder(config.evaluation),
        clients=args.clients,
        requests=args.requests,
        rounds=args.rounds,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        images=len(bodies),
        heldout=str(Path(args.heldout)),
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/models/crnn:predict"
    command = server_command(args.model, port, args.max_batch, args.batch_wait_ms)
    rounds: list[RoundResult] = []
    mixed: list[RoundResult] = []
    try:
        with Server(command):
            for index in range(args.rounds + 1):
                result = run_round(url, bodies, args.clients, args.requests)
                label = "warm-up" if index == 0 else f"round {index}/{args.rounds}"
                print(
                    f"{label}: p50 {result.p(50):.1f} ms, p99 {result.p(99):.1f} ms, "
                    f"{result.throughput:.1f} requests/s, non-2xx {result.non_2xx} "
                    f"(5xx {result.server_errors})",
                    flush=True,
                )
                if index:
                    rounds.append(result)
            stop = threading.Event()
            noise_done: dict[str, Counter] = {}
            noise_thread = threading.Thread(
                target=lambda: noise_done.setdefault(
                    "counts", run_noise(url, noise_bodies(images), stop)
                )
            )
            if args.mixed_rounds:
                noise_thread.start()
            for index in range(args.mixed_rounds):
                result = run_round(url, bodies, args.clients, args.requests)
                print(
                    f"mixed {index + 1}/{args.mixed_rounds}: p50 {result.p(50):.1f} ms, "
                    f"p99 {result.p(99):.1f} ms, non-2xx {result.non_2xx}",
                    flush=True,
                )
                mixed.append(result)
            stop.set()
            if args.mixed_rounds:
                noise_thread.join()
    except ServerFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    noise = noise_done.get("counts")
    markdown = section(
        setup,
        rounds,
        report.this_command(__spec__),
        report.machine(),
        report.today(),
        mixed,
        noise,
    )
    print(markdown)
    if args.write:
        report.write_section(SECTION, markdown)
    clean = summarize(rounds).clean and (not mixed or summarize(mixed).clean)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
