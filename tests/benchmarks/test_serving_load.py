"""The serving-load benchmark without a model: percentiles and round summaries, the section from
given rounds, the load driver against a small local HTTP server that answers 2xx, 4xx and 5xx,
and starting and stopping a server process."""

import base64
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from benchmarks import serving_load as load


def test_percentile_matches_numpy_linear():
    rng = np.random.default_rng(3)
    for size in (1, 2, 7, 100, 401):
        values = rng.exponential(50.0, size).tolist()
        for q in (0, 1, 50, 90, 99, 100):
            assert load.percentile(values, q) == pytest.approx(np.percentile(values, q))
    assert load.percentile([10, 20, 30, 40], 50) == 25
    assert load.percentile([40, 10, 30, 20], 90) == pytest.approx(37.0)  # order does not matter
    with pytest.raises(ValueError):
        load.percentile([], 50)
    with pytest.raises(ValueError):
        load.percentile([1.0], 101)


def test_round_counts_non_2xx_5xx_and_unanswered():
    r = load.RoundResult(
        statuses=[200, 200, 503, 400, load.NO_ANSWER, 204, 500],
        latencies_ms=[10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
        seconds=2.0,
    )
    assert r.requests == 7 and r.throughput == 3.5
    assert (r.non_2xx, r.server_errors, r.no_answer) == (4, 2, 1)
    assert r.p(50) == 35.0 and r.p(99) == pytest.approx(59.5)


def test_summary_is_the_median_over_rounds_with_errors_summed():
    rounds = [
        load.RoundResult([200] * 4, [10.0, 10.0, 10.0, 10.0], 1.0),
        load.RoundResult([200, 200, 500, 200], [30.0, 30.0, 30.0, 30.0], 2.0),
        load.RoundResult([200] * 4, [20.0, 20.0, 20.0, 20.0], 4.0, bad_bodies=1),
    ]
    s = load.summarize(rounds)
    assert (s.p50, s.p90, s.p99) == (20.0, 20.0, 20.0)
    assert s.throughput == 2.0  # medians of 4, 2, 1 requests/s
    assert (s.requests, s.non_2xx, s.server_errors, s.bad_bodies) == (12, 1, 1, 1)
    assert not s.clean
    assert load.summarize(rounds[:1]).clean
    with pytest.raises(ValueError):
        load.summarize([])


def setup(**changes) -> load.Setup:
    given = dict(
        model_dir="/models/serving/17",
        model_bytes=7 * 2**20 + 2**19,
        decoder="CTC beam search (width 10, top 3)",
        clients=8,
        requests=400,
        rounds=5,
        max_batch=64,
        batch_wait_ms=5.0,
        images=64,
        heldout="outputs/bench/heldout-serving",
    )
    given.update(changes)
    return load.Setup(**given)


def clean_rounds(count=5):
    return [
        load.RoundResult([200] * 4, [10.0 * i, 20.0 * i, 30.0 * i, 40.0 * i], 0.1 * i)
        for i in range(1, count + 1)
    ]


def test_section_states_figures_settings_and_zero_errors():
    text = load.section(setup(), clean_rounds(), "python -m benchmarks.serving_load", "CPU", "D")
    assert text.startswith("## Serving under load: the REST server on 127.0.0.1")
    assert "| round | p50 ms | p90 ms | p99 ms | requests/s | non-2xx | 5xx |" in text
    # Round 3: latencies 30, 60, 90, 120 ms over 0.3 s; the median row is round 3's here.
    assert "| 3 | 75.0 | 111.0 | 119.1 | 13.3 | 0 | 0 |" in text
    assert "| **median of 5** | **75.0** | **111.0** | **119.1** | **13.3** | **0** | **0** |" in (
        text
    )
    assert "**0 non-2xx** (0 5xx) in 20 timed requests" in text
    assert "8 client threads" in text and "until 400 requests are answered" in text
    assert "`--max-batch 64 --batch-wait-ms 5`" in text
    assert "`/models/serving/17` (7.5 MiB on disk), decoder CTC beam search" in text
    assert "- command: `python -m benchmarks.serving_load`" in text
    assert "- machine: CPU" in text and "- date: D" in text
    assert "timed rounds: issue 7" not in text


def test_section_reports_errors_and_few_rounds():
    rounds = [
        load.RoundResult([200, 503, 400, load.NO_ANSWER], [10.0, 20.0, 30.0], 1.0),
        load.RoundResult([200, 200, 200, 200], [10.0, 20.0, 30.0, 40.0], 1.0, bad_bodies=2),
    ]
    text = load.section(setup(rounds=2), rounds, "c", "m", "d")
    assert (
        "**3 non-2xx** in 8 timed requests: 1 5xx, 1 without an answer, 1 other; "
        "2 2xx answers without one prediction" in text
    )
    assert "only 2 timed rounds" in text


class Handler(BaseHTTPRequestHandler):
    """200 with one prediction; the image bytes b"boom" -> 500, b"bad" -> 400, b"two" -> two
    predictions."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        image = base64.b64decode(body["instances"][0]["b64"])
        status, count = {b"boom": (500, 0), b"bad": (400, 0), b"two": (200, 2)}.get(image, (200, 1))
        answer = json.dumps({"predictions": [{"text": "x"}] * count}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/models/crnn:predict"
    server.shutdown()
    server.server_close()


def test_run_round_counts_every_answer(http_url):
    bodies = load.request_bodies([b"ok", b"boom", b"bad", b"two", b"ok"])
    assert json.loads(bodies[1]) == {"instances": [{"b64": base64.b64encode(b"boom").decode()}]}
    result = load.run_round(http_url, bodies, clients=4, requests_count=23)
    assert result.requests == 23 and len(result.latencies_ms) == 23
    # 23 requests over 5 bodies in turn (index mod 5): ok x9, boom x5, bad x5, two x4.
    assert result.statuses.count(500) == 5 and result.statuses.count(400) == 5
    assert result.statuses.count(200) == 13
    assert (result.non_2xx, result.server_errors, result.no_answer) == (10, 5, 0)
    assert result.bad_bodies == 4
    assert result.throughput > 0 and min(result.latencies_ms) > 0


def test_run_round_counts_requests_without_an_answer():
    url = f"http://127.0.0.1:{load.free_port()}/v1/models/crnn:predict"  # nothing listens
    result = load.run_round(url, load.request_bodies([b"ok"]), clients=2, requests_count=3)
    assert result.statuses == [load.NO_ANSWER] * 3 and result.latencies_ms == []
    assert (result.non_2xx, result.no_answer, result.server_errors) == (3, 3, 0)


def test_server_command_binds_localhost_with_the_batching_settings():
    command = load.server_command("/push", 8600, 32, 2.5)
    assert command[:3] == [sys.executable, "-m", "serving.server"]
    text = " ".join(command)
    assert "--model /push" in text and "--port 8600" in text and "--host 127.0.0.1" in text
    assert "--max-batch 32" in text and "--batch-wait-ms 2.5" in text


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_server_waits_until_listening_and_is_stopped():
    code = (
        "import time; print('loading'); print('listening on http://127.0.0.1:1', flush=True);"
        "time.sleep(60)"
    )
    with load.Server(python(code), timeout=30) as server:
        assert server.process.poll() is None
        assert server.output[-1].startswith("listening on")
    assert server.process.poll() is not None  # stopped on leaving the block


def test_server_that_exits_or_never_listens_fails_with_its_output():
    exits = load.Server(python("import sys; print('no model'); sys.exit(3)"), timeout=30)
    with pytest.raises(load.ServerFailed, match=r"exited with 3 before listening:\nno model"):
        exits.start()
    slow = load.Server(python("import time; print('slow', flush=True); time.sleep(60)"), 0.5)
    with pytest.raises(load.ServerFailed, match=r"did not listen within 0\.5 s") as raised, slow:
        pass
    assert "slow" in str(raised.value)
    assert slow.process.poll() is not None  # stopped although it never listened


def test_server_is_stopped_when_the_load_fails():
    code = "import time; print('listening on x', flush=True); time.sleep(60)"
    server = load.Server(python(code), timeout=30)
    with pytest.raises(RuntimeError, match="load failed"), server:
        raise RuntimeError("load failed")
    assert server.process.poll() is not None


def test_the_mixed_load_is_a_row_of_its_own_with_the_noise_counted():
    noise = Counter({("not an image", 400): 7, ("256 lines", 200): 3, ("256 lines", 504): 1})
    text = load.section(setup(), clean_rounds(), "c", "m", "d", clean_rounds(3), noise)
    assert "| **mixed load, median of 3** | **50.0** |" in text
    assert "| mixed 2 | 50.0 |" in text
    assert "256 lines 200: 3, 256 lines 504: 1, not an image 400: 7" in text


def test_noise_goes_on_until_stopped_and_every_answer_is_counted(http_url):
    bodies = {"ok": load.request_bodies([b"ok"])[0], "bad": load.request_bodies([b"bad"])[0]}
    stop = threading.Event()
    timer = threading.Timer(0.5, stop.set)
    timer.start()
    counts = load.run_noise(http_url, bodies, stop)
    assert set(counts) == {("ok", 200), ("bad", 400)}
    assert abs(counts[("ok", 200)] - counts[("bad", 400)]) <= load.NOISE_CLIENTS
    kinds = load.noise_bodies([b"\x89PNG line"])
    assert len(json.loads(kinds["256 lines"])["instances"]) == 256
    assert len(kinds["oversized"]) > load.MAX_BODY_MB << 20
