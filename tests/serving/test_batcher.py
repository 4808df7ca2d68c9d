"""The batcher in-process, with a stand-in model that records its calls: fair chunks, failures
that stay with their request, timed-out requests dropped, a full queue refused, and a worker
that is restarted after it dies. (The HTTP tests run it with the real model.)"""

from __future__ import annotations

import threading
import time
from concurrent.futures import wait

import numpy as np
import pytest

from serving.server import OUTPUTS, Batcher, ModelFailed, QueueFull


class Crash(BaseException):
    """Not an Exception: what would end a worker thread that caught only Exceptions."""


class Recording:
    """A model that echoes its inputs as texts and records each call's inputs."""

    version = 3

    def __init__(self, delay: float = 0.0):
        self.calls: list[list[bytes]] = []
        self.delay, self.gate = delay, threading.Event()
        self.gate.set()

    def run(self, signature: str, inputs: list[bytes]) -> dict:
        self.gate.wait(10)
        self.calls.append(list(inputs))
        time.sleep(self.delay)
        if b"crash" in inputs:
            raise Crash()
        if b"bad" in inputs:
            raise ValueError("Graph execution error: a long TensorFlow dump")
        count = len(inputs)
        outputs = {name: np.zeros(count, np.float32) for name in OUTPUTS}
        outputs["text"] = np.array(inputs, dtype=object)
        return outputs


class Holder:
    def __init__(self, model):
        self.model = model


def texts(future) -> list[bytes]:
    return list(future.result(timeout=10)[1]["text"])


def test_a_large_request_is_split_and_interleaved_with_small_ones():
    model = Recording()
    model.gate.clear()  # hold the worker until everything is queued
    batcher = Batcher(Holder(model), max_batch=4, max_wait=0.001)
    large = batcher.submit("s", [b"L%d" % i for i in range(12)])
    small = [batcher.submit("s", [b"s%d" % i]) for i in range(3)]
    model.gate.set()
    assert texts(large) == [b"L%d" % i for i in range(12)]
    assert [texts(f) for f in small] == [[b"s0"], [b"s1"], [b"s2"]]
    assert all(len(call) <= 4 for call in model.calls)
    # The small requests were not kept waiting behind all three of the large one's chunks.
    last_small = max(i for i, call in enumerate(model.calls) if any(x[:1] == b"s" for x in call))
    last_large = max(i for i, call in enumerate(model.calls) if any(x[:1] == b"L" for x in call))
    assert last_small < last_large


def test_a_failing_call_fails_only_the_request_that_broke_it():
    model = Recording()
    model.gate.clear()
    batcher = Batcher(Holder(model), max_batch=8, max_wait=0.001)
    good = [batcher.submit("s", [b"g%d" % i]) for i in range(3)]
    bad = batcher.submit("s", [b"bad"])
    model.gate.set()
    assert [texts(f) for f in good] == [[b"g0"], [b"g1"], [b"g2"]]
    with pytest.raises(ModelFailed, match="ValueError") as failure:
        bad.result(timeout=10)
    assert "dump" not in str(failure.value)  # a short message; the log has the rest


def test_timed_out_requests_are_dropped_and_the_worker_goes_on():
    model = Recording(delay=0.2)
    batcher = Batcher(Holder(model), max_batch=2, max_wait=0.001)
    first = batcher.submit("s", [b"a", b"b"])
    abandoned = batcher.submit("s", [b"x%d" % i for i in range(6)])
    abandoned.cancel()  # what asyncio.wait_for does to a request that timed out
    assert texts(first) == [b"a", b"b"]
    assert texts(batcher.submit("s", [b"after"])) == [b"after"]
    assert not any(x.startswith(b"x") for call in model.calls for x in call)


def test_a_full_queue_refuses_and_then_recovers():
    model = Recording()
    model.gate.clear()
    batcher = Batcher(Holder(model), max_batch=4, max_wait=0.001, max_queue=10)
    held = batcher.submit("s", [b"h"] * 4)
    time.sleep(0.1)  # the worker has taken it and waits at the gate
    queued = batcher.submit("s", [b"q"] * 10)
    with pytest.raises(QueueFull):
        batcher.submit("s", [b"over"])
    model.gate.set()
    wait([held, queued], timeout=10)
    assert texts(batcher.submit("s", [b"later"])) == [b"later"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_answers_its_batch_and_is_restarted():
    model = Recording()
    batcher = Batcher(Holder(model), max_batch=4, max_wait=0.001)
    crashed = batcher.submit("s", [b"crash"])
    with pytest.raises(ModelFailed, match="internal error"):
        crashed.result(timeout=10)
    deadline = time.monotonic() + 10
    while batcher.alive and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not batcher.alive  # what the status endpoint reports as UNAVAILABLE
    assert texts(batcher.submit("s", [b"next"])) == [b"next"]  # submit restarts it
    assert batcher.alive and batcher.restarts == 1
