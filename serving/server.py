"""A TF-Serving-compatible REST server for a pushed CRNN, on Tornado.

    python -m serving.server [--model outputs/serving] [--host 127.0.0.1] [--port 8501]
        [--name crnn]

Speaks TF Serving's REST API for this model:

- ``POST /v1/models/<name>[/versions/<v>]:predict`` with ``{"instances": [{"b64": "..."}]}``
  (or ``[{"images": {"b64": "..."}}]``) -> ``{"predictions": [{"text", "confidence",
  "top_k_text", "top_k_log_prob"}, ...]}``; or the columnar ``{"inputs": [{"b64": ...}]}`` /
  ``{"inputs": {"images": [...]}}`` -> ``{"outputs": {"text": [...], ...}}``. The signature is
  ``predict_images`` (raw image bytes) unless the request names ``serving_default``, which takes
  base64 serialized tf.Examples as TF Serving would.
- ``GET /v1/models/<name>[/versions/<v>]``: version status; ``GET .../metadata``: signatures.

With ``--lm`` (a character language model, ``serving.char_lm``) and/or ``--lexicon``,
``predict_images`` requests are read as ``serving.predict`` reads them with the same options:
the ``predict_log_probs`` signature's per-step probabilities decoded by beam search with the
language model, then corrected to the lexicon; the response has the same fields.
``serving_default`` requests (tf.Examples) keep the exported decoder.

It serves the newest complete version under a push directory, picks up a newly pushed one without
a restart, falls back to the newest one left when the served one is deleted, and retries a version
that does not load with backoff. Concurrent requests are batched (``Batcher``: model calls of at
most ``--max-batch`` images, large requests split and interleaved with others; a failing call is
retried request by request, so only the bad request fails).

Answers beside 200: 400 for bad JSON, base64, images the model's decode cannot read, or images
the model fails on; 413 for bodies over ``--max-body-mb`` or images over ``--max-image-pixels``;
404 for unknown models, versions and endpoints; 503 with ``Retry-After`` when ``--max-queue``
images already wait; 504 when a request waits longer than ``--timeout``. Each is
``{"error": message}``, and the server keeps serving. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import tornado.httpserver
import tornado.ioloop
import tornado.web

import serving  # noqa: F401  (process set-up before TensorFlow)
from components import serving_layout
from serving import options
from serving.options import Decoding
from trainer_module import images

log = logging.getLogger("serving.server")

IMAGE_SIGNATURE = "predict_images"
EXAMPLE_SIGNATURE = "serving_default"
OUTPUTS = ("text", "confidence", "top_k_text", "top_k_log_prob")
IN_GRAPH = Decoding()  # no --lm, no --lexicon: the exported decoder's output as it is
MAX_RETRY_SECONDS = 300  # the longest wait before loading a broken version again
RETRY_AFTER_SECONDS = 1  # a full queue's Retry-After
CHECK_THREADS = 2  # requests parsed and their images checked side by side, off the event loop


class RequestError(Exception):
    """A client mistake: answered with its HTTP status and ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Limits:
    max_body_bytes: int = 16 << 20
    max_image_pixels: int = 8_000_000
    max_instances: int = 256
    timeout_seconds: float = 30.0


# --- the model, reloaded when a new version is pushed -------------------------------------------


class LoadedModel:
    """One loaded SavedModel version and its signatures."""

    def __init__(self, model_dir: str, decoding: Decoding = IN_GRAPH):
        import tensorflow as tf

        self.model_dir = model_dir
        version = serving_layout.version_of(model_dir)
        self.version = 1 if version is None else version  # a bare SavedModel is version 1
        loaded = tf.saved_model.load(model_dir)
        self._loaded = loaded  # keeps the signatures' variables alive
        self.signatures = {name: loaded.signatures[name] for name in loaded.signatures}
        # ValueError for a version exported without predict_log_probs (--lm): it is not served.
        self.recognizer = None if decoding.in_graph else decoding.recognizer(model_dir, loaded)

    def run(self, signature: str, inputs: list[bytes]) -> dict:
        import tensorflow as tf

        if signature == IMAGE_SIGNATURE and self.recognizer is not None:
            predictions = self.recognizer.predict(inputs)
            return prediction_outputs(predictions, self.recognizer.config.evaluation.top_paths)
        function = self.signatures[signature]
        (argument,) = function.structured_input_signature[1]
        outputs = function(**{argument: tf.constant(inputs)})
        return {name: outputs[name].numpy() for name in OUTPUTS}

    def metadata(self) -> dict:
        signatures = {}
        for name, function in self.signatures.items():
            _, inputs = function.structured_input_signature
            signatures[name] = {
                "inputs": {k: _spec(v) for k, v in inputs.items()},
                "outputs": {k: _spec(v) for k, v in function.structured_outputs.items()},
                "method_name": "tensorflow/serving/predict",
            }
        return {"signature_def": {"signature_def": signatures}}


def prediction_outputs(predictions: list, top_paths: int) -> dict:
    """``serving.model.Prediction``s as the signature's outputs: arrays of one row per line,
    ``top_paths`` columns for the alternatives (a line with fewer is padded with empty texts of
    log-probability -inf, as TensorFlow's beam search pads)."""

    def padded(values: tuple, fill) -> list:
        kept = list(values[:top_paths])
        return kept + [fill] * (top_paths - len(kept))

    return {
        "text": np.array([p.text.encode() for p in predictions], dtype=object),
        "confidence": np.array([p.confidence for p in predictions], dtype=np.float32),
        "top_k_text": np.array(
            [padded(tuple(t.encode() for t in p.top_k), b"") for p in predictions], dtype=object
        ),
        "top_k_log_prob": np.array(
            [padded(p.top_k_log_prob, -np.inf) for p in predictions], dtype=np.float32
        ),
    }


def _spec(spec) -> dict:
    dims = [{"size": str(d if d is not None else -1)} for d in spec.shape]
    return {"dtype": f"DT_{spec.dtype.name.upper()}", "tensor_shape": {"dim": dims}}


class ModelHolder:
    """The model currently served; ``refresh`` swaps in the version that should be served."""

    def __init__(self, path: str, decoding: Decoding = IN_GRAPH, poll_seconds: float = 5.0):
        self.path, self.decoding, self.poll_seconds = path, decoding, poll_seconds
        self.model = LoadedModel(serving_layout.resolve_model_dir(path), decoding)
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # folder -> (failures, next try)
        self._said_gone = False  # the served folder's removal is logged once

    def refresh(self) -> bool:
        """Serve the newest version that loads: a newer push, or, when the served version's
        folder is gone, the newest one left. A version that fails to load is logged once and
        retried with backoff (doubling up to MAX_RETRY_SECONDS), not reloaded every poll."""
        if serving_layout.is_saved_model(self.path):
            return False  # one SavedModel, not a push directory: nothing to choose from
        served_gone = not serving_layout.is_saved_model(self.model.model_dir)
        for version in reversed(serving_layout.versions(self.path)):
            if version <= self.model.version and not served_gone:
                return False
            folder = os.path.join(self.path, str(version))
            if not self._due(folder):
                continue
            try:
                model = LoadedModel(folder, self.decoding)  # load first: requests never wait
            except Exception as err:
                self._failed(folder, err)
                continue
            with self._lock:
                self.model = model
            self._failures.pop(folder, None)
            self._said_gone = False
            log.info("now serving version %s from %s", model.version, folder)
            return True
        if served_gone and not self._said_gone:
            self._said_gone = True
            log.warning(
                "%s was removed and no other version loads: still serving it from memory",
                self.model.model_dir,
            )
        return False

    def _due(self, folder: str) -> bool:
        return time.monotonic() >= self._failures.get(folder, (0, 0.0))[1]

    def _failed(self, folder: str, err: Exception) -> None:
        count = self._failures.get(folder, (0, 0.0))[0] + 1
        wait = min(self.poll_seconds * 2**count, MAX_RETRY_SECONDS)
        self._failures[folder] = (count, time.monotonic() + wait)
        if count == 1:
            reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else repr(err)
            log.warning(
                "cannot load %s (retrying with backoff, up to every %d s): %s",
                folder,
                MAX_RETRY_SECONDS,
                reason,
            )


# --- batching ------------------------------------------------------------------------------------


class QueueFull(Exception):
    """The batcher already holds ``max_queue`` images: the request is refused (503)."""


class ModelFailed(Exception):
    """The model failed on this request's images alone (answered 400, its cause logged)."""


@dataclass(eq=False)
class _Request:
    signature: str
    chunks: list[list[bytes]]  # at most max_batch images each
    future: Future
    taken: int = 0  # chunks handed to the model so far
    parts: list = field(default_factory=list)  # (version, outputs) per finished chunk

    @property
    def waiting(self) -> int:
        return sum(len(chunk) for chunk in self.chunks[self.taken :])


def _settle(future: Future, result=None, error: BaseException | None = None) -> None:
    """Answer a request unless it was answered already (timed out, cancelled, failed)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


class Batcher:
    """Runs requests' images through the model in calls of up to ``max_batch``, fairly, and
    keeps running whatever a request does.

    A request is cut into chunks of at most ``max_batch`` images. The worker thread waits up to
    ``max_wait`` for company, then fills a call with the next chunk of the requests with the
    fewest images waiting first (a request served goes to the back of the line), so a one-line
    request waits for at most the call in progress, and 256-line requests take turns. A model
    call that fails is retried chunk by chunk, so only the request whose images break it fails.
    Requests already answered (timed out) are dropped unrun. At most ``max_queue`` images wait:
    ``submit`` raises QueueFull beyond. ``ensure_worker`` (on every submit and every poll)
    restarts a worker that stopped.
    """

    def __init__(
        self,
        holder: ModelHolder,
        max_batch: int = 64,
        max_wait: float = 0.005,
        max_queue: int = 1024,
    ):
        self.holder, self.max_batch, self.max_wait = holder, max_batch, max_wait
        self.max_queue, self.restarts = max_queue, 0
        self._line: deque[_Request] = deque()
        self._queued = 0  # images waiting in self._line
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.ensure_worker()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_worker(self) -> None:
        with self._changed:
            if self.alive:
                return
            if self._thread is not None:
                self.restarts += 1
                log.error("the batch worker stopped; restarted (%d restarts)", self.restarts)
            self._thread = threading.Thread(target=self._work, name="batcher", daemon=True)
            self._thread.start()

    def submit(self, signature: str, inputs: list[bytes]) -> Future:
        step = self.max_batch
        request = _Request(
            signature, [inputs[i : i + step] for i in range(0, len(inputs), step)], Future()
        )
        with self._changed:
            if self._queued + len(inputs) > self.max_queue:
                raise QueueFull(
                    f"{self._queued} images are waiting (at most {self.max_queue}); retry later"
                )
            self._line.append(request)
            self._queued += len(inputs)
            self._changed.notify()
        self.ensure_worker()
        return request.future

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                self._run(batch)
            except BaseException as err:  # answer the batch before the thread ends
                for request, _ in batch:
                    _settle(request.future, error=ModelFailed(f"internal error: {err!r}"))
                raise

    def _next_batch(self) -> list[tuple[_Request, int]]:
        """(request, chunk index) pairs of one signature, at most max_batch images in all."""
        with self._changed:
            while True:
                while not self._line:
                    self._changed.wait()
                deadline = time.monotonic() + self.max_wait
                while self._queued < self.max_batch and time.monotonic() < deadline:
                    self._changed.wait(max(0.0, deadline - time.monotonic()))
                for request in [r for r in self._line if r.future.done()]:
                    self._line.remove(request)  # timed out while it waited: dropped
                    self._queued -= request.waiting
                batch, size, signature = [], 0, None
                # Fewest waiting images first: a one-line request is never queued behind a
                # 256-line one's chunks; those fill the rest, one chunk per request in turn.
                for request in sorted(self._line, key=lambda r: r.waiting):
                    chunk = request.chunks[request.taken]
                    signature = signature or request.signature
                    if request.signature != signature or (
                        batch and size + len(chunk) > self.max_batch
                    ):
                        continue
                    batch.append((request, request.taken))
                    size += len(chunk)
                    self._queued -= len(chunk)
                served = [request for request, _ in batch]
                for request in served:  # served requests go behind the ones not served
                    request.taken += 1
                    self._line.remove(request)
                    if request.taken < len(request.chunks):
                        self._line.append(request)
                if batch:
                    return batch

    def _failure(self, request: _Request, index: int, err: Exception) -> str:
        """A short message for a chunk the model failed on: which image its decode cannot
        read and why, or the error's kind (the log has its TensorFlow dump)."""
        if request.signature == IMAGE_SIGNATURE:
            for i, problem in enumerate(images.decode_problems(request.chunks[index])):
                if problem:
                    return f"instance {index * self.max_batch + i}: {problem}"
        return f"the model could not read these inputs ({type(err).__name__}; see the log)"

    def _run(self, batch: list[tuple[_Request, int]]) -> None:
        model = self.holder.model
        inputs = [x for request, index in batch for x in request.chunks[index]]
        try:
            outputs = model.run(batch[0][0].signature, inputs)
        except Exception as err:
            if len(batch) > 1:  # find the request that breaks it; the others are answered
                for item in batch:
                    self._run([item])
                return
            log.warning("the model failed on a request: %s", err)
            request, index = batch[0]
            _settle(request.future, error=ModelFailed(self._failure(request, index, err)))
            return
        start = 0
        for request, index in batch:
            end = start + len(request.chunks[index])
            request.parts.append(
                (index, model.version, {k: v[start:end] for k, v in outputs.items()})
            )
            start = end
            if len(request.parts) == len(request.chunks):
                parts = sorted(request.parts, key=lambda part: part[0])
                versions = {version for _, version, _ in parts}
                joined = {
                    name: np.concatenate([part[2][name] for part in parts]) for name in OUTPUTS
                }
                _settle(request.future, (versions.pop() if len(versions) == 1 else None, joined))


# --- request parsing -----------------------------------------------------------------------------


def parse_request(body: bytes, limits: Limits) -> tuple[str, list[bytes], bool]:
    """(signature, decoded inputs, row format?) or RequestError(400/413)."""
    try:
        request = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the body is not valid JSON: {err}") from None
    except RecursionError:
        raise RequestError(400, "the body's JSON is nested too deeply") from None
    if not isinstance(request, dict):
        raise RequestError(400, 'the body must be a JSON object with "instances" or "inputs"')
    signature = request.get("signature_name") or IMAGE_SIGNATURE
    if signature not in (IMAGE_SIGNATURE, EXAMPLE_SIGNATURE):
        raise RequestError(
            400, f"unknown signature_name {signature!r}: {IMAGE_SIGNATURE} or {EXAMPLE_SIGNATURE}"
        )
    if "instances" in request:
        values, row_format = request["instances"], True
    elif "inputs" in request:
        values, row_format = request["inputs"], False
        if isinstance(values, dict):
            if len(values) != 1:
                raise RequestError(400, "inputs must name the one input of the signature")
            (values,) = values.values()
    else:
        raise RequestError(400, 'the body needs "instances" (row format) or "inputs" (columnar)')
    if not isinstance(values, list) or not values:
        raise RequestError(400, "give a non-empty list of instances")
    if len(values) > limits.max_instances:
        raise RequestError(413, f"{len(values)} instances, at most {limits.max_instances}")
    inputs = [_decode_instance(value, i) for i, value in enumerate(values)]
    if signature == IMAGE_SIGNATURE:
        check_headers(inputs, limits.max_image_pixels)
    return signature, inputs, row_format


def check_headers(inputs: list[bytes], max_pixels: int) -> None:
    """RequestError for the first image whose header says it cannot be read (not an image, a
    format the model's decode does not read, over the pixel limit). The pixels themselves are
    decoded once, in the model's graph; an image that fails there is named by
    ``Batcher._failure``."""
    for i, data in enumerate(inputs):
        problem, _ = images.inspect_header(data, max_pixels)
        if problem:
            status = 413 if problem.startswith(images.TOO_MANY_PIXELS) else 400
            raise RequestError(status, f"instance {i}: {problem}")


def _decode_instance(value, index: int) -> bytes:
    if isinstance(value, dict) and "b64" not in value and len(value) == 1:
        (value,) = value.values()  # {"images": {"b64": ...}}
    if not (isinstance(value, dict) and isinstance(value.get("b64"), str)):
        raise RequestError(400, f'instance {index}: expected {{"b64": "<base64 image bytes>"}}')
    try:
        return base64.b64decode(value["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, f"instance {index}: bad base64") from None


def format_response(outputs: dict, row_format: bool) -> dict:
    as_json = {name: _json_values(value) for name, value in outputs.items()}
    if not row_format:
        return {"outputs": as_json}
    count = len(as_json["text"])
    return {"predictions": [{name: as_json[name][i] for name in OUTPUTS} for i in range(count)]}


def _json_values(array) -> list:
    if array.dtype.kind in ("S", "O"):
        return [
            [x.decode("utf-8") for x in row] if array.ndim > 1 else row.decode("utf-8")
            for row in array
        ]
    return array.tolist()


# --- HTTP ----------------------------------------------------------------------------------------


class _Handler(tornado.web.RequestHandler):
    def initialize(self, server: ServerState):
        self.state = server

    def write_error(self, status_code: int, **kwargs) -> None:
        reason = self._reason
        if "exc_info" in kwargs and isinstance(kwargs["exc_info"][1], tornado.web.HTTPError):
            reason = kwargs["exc_info"][1].log_message or reason
        self.finish({"error": reason})

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error": message})

    def check_model(self, name: str, version: str | None) -> LoadedModel | None:
        model = self.state.holder.model
        if name != self.state.name or (version is not None and int(version) != model.version):
            wanted = f"Specific({name}, {version})" if version else f"Latest({name})"
            self.fail(404, f"Servable not found for request: {wanted}")
            return None
        return model


class PredictHandler(_Handler):
    async def post(self, name: str, version: str | None = None) -> None:
        if self.check_model(name, version) is None:
            return
        length = len(self.request.body)
        if length > self.state.limits.max_body_bytes:
            return self.fail(
                413, f"body of {length} bytes, at most {self.state.limits.max_body_bytes}"
            )
        try:  # JSON, base64 and image decoding off the event loop: other requests go on
            signature, inputs, row_format = await asyncio.get_running_loop().run_in_executor(
                self.state.checkers, parse_request, self.request.body, self.state.limits
            )
        except RequestError as err:
            return self.fail(err.status, str(err))
        try:
            future = self.state.batcher.submit(signature, inputs)
        except QueueFull as err:
            self.set_header("Retry-After", str(RETRY_AFTER_SECONDS))
            return self.fail(503, str(err))
        try:
            served, outputs = await asyncio.wait_for(
                asyncio.wrap_future(future), self.state.limits.timeout_seconds
            )
        except asyncio.TimeoutError:  # the future is cancelled: the batcher drops it
            return self.fail(504, f"no answer within {self.state.limits.timeout_seconds} s")
        except ModelFailed as err:
            return self.fail(400, str(err))
        if version is not None and served != int(version):
            return self.fail(503, f"version {version} was replaced while this request waited")
        self.finish(format_response(outputs, row_format))


class StatusHandler(_Handler):
    def get(self, name: str, version: str | None = None, metadata: str | None = None) -> None:
        model = self.check_model(name, version)
        if model is None:
            return
        if metadata:
            spec = {"name": name, "signature_name": "", "version": str(model.version)}
            return self.finish({"model_spec": spec, "metadata": model.metadata()})
        if self.state.batcher.alive:
            state, status = "AVAILABLE", {"error_code": "OK", "error_message": ""}
        else:
            message = "no batch worker is running (restarted on the next request or poll)"
            state, status = "UNAVAILABLE", {"error_code": "UNAVAILABLE", "error_message": message}
        self.finish(
            {
                "model_version_status": [
                    {"version": str(model.version), "state": state, "status": status}
                ]
            }
        )


class NotFoundHandler(_Handler):
    def prepare(self) -> None:
        self.fail(404, f"no such endpoint: {self.request.method} {self.request.path}")


@dataclass
class ServerState:
    name: str
    holder: ModelHolder
    batcher: Batcher
    limits: Limits
    checkers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="check")
    )


def make_app(state: ServerState) -> tornado.web.Application:
    name = r"(?P<name>[^/:]+)"
    version = r"(?:/versions/(?P<version>\d+))?"
    return tornado.web.Application(
        [
            (rf"/v1/models/{name}{version}:predict", PredictHandler, {"server": state}),
            (
                rf"/v1/models/{name}{version}(?P<metadata>/metadata)?",
                StatusHandler,
                {"server": state},
            ),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args={"server": state},
    )


def serve(args: argparse.Namespace) -> None:
    limits = Limits(
        max_body_bytes=int(args.max_body_mb * (1 << 20)),
        max_image_pixels=args.max_image_pixels,
        timeout_seconds=args.timeout,
    )
    holder = ModelHolder(args.model, Decoding.from_args(args), args.poll_seconds)
    batcher = Batcher(holder, args.max_batch, args.batch_wait_ms / 1000, args.max_queue)
    state = ServerState(args.name, holder, batcher, limits)
    # Tornado's own limit is a backstop for bodies without a Content-Length; ours answers 413.
    # A client that sends no headers (idle_connection_timeout) or no whole body in time is cut.
    server = tornado.httpserver.HTTPServer(
        make_app(state),
        max_body_size=limits.max_body_bytes * 2 + (1 << 20),
        idle_connection_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
    )
    server.listen(args.port, address=args.host)
    loop = tornado.ioloop.IOLoop.current()

    async def poll() -> None:
        batcher.ensure_worker()  # the supervisor: a stopped worker is restarted
        try:
            await loop.run_in_executor(None, holder.refresh)
        except Exception as err:  # refresh handles load failures; this is a backstop
            log.warning("checking for a new version failed: %s", err)

    tornado.ioloop.PeriodicCallback(poll, args.poll_seconds * 1000).start()
    log.info(
        "serving %s version %d on http://%s:%d/v1/models/%s",
        holder.model.model_dir,
        holder.model.version,
        args.host,
        args.port,
        args.name,
    )
    print(f"listening on http://{args.host}:{args.port}/v1/models/{args.name}", flush=True)
    loop.start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.server",
        description="Serve a pushed CRNN over TF Serving's REST API (predict, status, metadata).",
    )
    options.add_model_argument(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8501, help="default 8501, TF Serving's REST port"
    )
    parser.add_argument("--name", default="crnn", help="model name in the URL (default crnn)")
    parser.add_argument(
        "--max-batch", type=int, default=64, help="most images per model call (default 64)"
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        default=5.0,
        help="how long a batch waits for more requests (default 5)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=16.0,
        help="request body limit, 413 above it (default 16)",
    )
    parser.add_argument(
        "--max-image-pixels",
        type=int,
        default=8_000_000,
        help="largest image, 400 above it (default 8000000)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds a request may wait for the model, 504 after (default 30)",
    )
    parser.add_argument(
        "--max-queue",
        type=int,
        default=1024,
        help="images waiting for the model at most; 503 with Retry-After beyond (default 1024)",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=60.0,
        help="seconds a connection may take to send a request's headers (default 60)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=60.0,
        help="seconds a request may take to send its body (default 60)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=5.0,
        help="seconds between checks for a new version (default 5)",
    )
    options.add_decoding_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        serve(args)
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
