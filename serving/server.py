"""A TF-Serving-compatible REST server for a pushed CRNN, on Tornado.

    python -m serving.server --model outputs/serving [--host 127.0.0.1] [--port 8501] [--name crnn]

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

It serves the newest complete version under a push directory and picks up a newly pushed one
without a restart. Concurrent requests are batched into one model call. Bodies over
``--max-body-mb``, images over ``--max-image-pixels``, bad JSON, bad base64 and bytes that are not
an image get a 4xx with ``{"error": ...}`` and the server keeps serving; a request that waits
longer than ``--timeout`` gets a 504. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import logging
import queue
import sys
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
import tornado.httpserver
import tornado.ioloop
import tornado.web

import serving  # noqa: F401  (process set-up before TensorFlow)
from components import serving_layout
from components.ingest import inspect_image
from serving import options
from serving.options import Decoding

log = logging.getLogger("serving.server")

IMAGE_SIGNATURE = "predict_images"
EXAMPLE_SIGNATURE = "serving_default"
OUTPUTS = ("text", "confidence", "top_k_text", "top_k_log_prob")
IN_GRAPH = Decoding()  # no --lm, no --lexicon: the exported decoder's output as it is


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
    """The model currently served; ``refresh`` swaps in a newer pushed version."""

    def __init__(self, path: str, decoding: Decoding = IN_GRAPH):
        self.path, self.decoding = path, decoding
        self.model = LoadedModel(serving_layout.resolve_model_dir(path), decoding)
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        newest = serving_layout.newest(self.path)
        if newest is None or serving_layout.version_of(newest) <= self.model.version:
            return False
        model = LoadedModel(newest, self.decoding)  # load first: requests never wait on it
        with self._lock:
            self.model = model
        log.info("now serving version %s from %s", model.version, newest)
        return True


# --- batching ------------------------------------------------------------------------------------


@dataclass
class _Job:
    signature: str
    inputs: list[bytes]
    future: Future


class Batcher:
    """Joins concurrent requests into model calls of up to ``max_batch`` inputs.

    One worker thread takes the first waiting job, waits at most ``max_wait`` for more of the
    same signature, runs the model once and hands each job its slice of the outputs.
    """

    def __init__(self, holder: ModelHolder, max_batch: int = 64, max_wait: float = 0.005):
        self.holder, self.max_batch, self.max_wait = holder, max_batch, max_wait
        self._jobs: queue.Queue[_Job] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="batcher", daemon=True)
        self._thread.start()

    def submit(self, signature: str, inputs: list[bytes]) -> Future:
        future: Future = Future()
        self._jobs.put(_Job(signature, inputs, future))
        return future

    def _work(self) -> None:
        while True:
            jobs = [self._jobs.get()]
            size, deadline = len(jobs[0].inputs), time.monotonic() + self.max_wait
            while size < self.max_batch:
                try:
                    job = self._jobs.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job.signature != jobs[0].signature:
                    self._run([job])
                    continue
                jobs.append(job)
                size += len(job.inputs)
            self._run(jobs)

    def _run(self, jobs: list[_Job]) -> None:
        model = self.holder.model
        try:
            outputs = model.run(jobs[0].signature, [x for job in jobs for x in job.inputs])
        except Exception as err:
            for job in jobs:
                job.future.set_exception(err)
            return
        start = 0
        for job in jobs:
            end = start + len(job.inputs)
            job.future.set_result((model.version, {k: v[start:end] for k, v in outputs.items()}))
            start = end


# --- request parsing -----------------------------------------------------------------------------


def parse_request(body: bytes, limits: Limits) -> tuple[str, list[bytes], bool]:
    """(signature, decoded inputs, row format?) or RequestError(400/413)."""
    try:
        request = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the body is not valid JSON: {err}") from None
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
        for i, data in enumerate(inputs):
            problem, _ = inspect_image(data, limits.max_image_pixels)
            if problem:
                status = 413 if "pixel limit" in problem else 400
                raise RequestError(status, f"instance {i}: {problem}")
    return signature, inputs, row_format


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
        try:
            signature, inputs, row_format = parse_request(self.request.body, self.state.limits)
        except RequestError as err:
            return self.fail(err.status, str(err))
        future = self.state.batcher.submit(signature, inputs)
        try:
            served, outputs = await asyncio.wait_for(
                asyncio.wrap_future(future), self.state.limits.timeout_seconds
            )
        except asyncio.TimeoutError:
            return self.fail(504, f"no answer within {self.state.limits.timeout_seconds} s")
        except Exception as err:
            log.warning("prediction failed: %s", err)
            return self.fail(400, f"the model could not read the input: {str(err)[:300]}")
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
        state = {"error_code": "OK", "error_message": ""}
        self.finish(
            {
                "model_version_status": [
                    {"version": str(model.version), "state": "AVAILABLE", "status": state}
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
    holder = ModelHolder(args.model, Decoding.from_args(args))
    state = ServerState(
        args.name, holder, Batcher(holder, args.max_batch, args.batch_wait_ms / 1000), limits
    )
    # Tornado's own limit is a backstop for bodies without a Content-Length; ours answers 413.
    server = tornado.httpserver.HTTPServer(
        make_app(state), max_body_size=limits.max_body_bytes * 2 + (1 << 20)
    )
    server.listen(args.port, address=args.host)
    loop = tornado.ioloop.IOLoop.current()

    async def poll() -> None:
        try:
            await loop.run_in_executor(None, holder.refresh)
        except Exception as err:
            log.warning("could not load a newly pushed version: %s", err)

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
    parser.add_argument(
        "--model", required=True, help="push directory (newest version) or SavedModel"
    )
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
        help="seconds a request may wait, 503 after (default 30)",
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
