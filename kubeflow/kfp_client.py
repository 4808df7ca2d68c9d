"""Submit and schedule a compiled package on open-source Kubeflow Pipelines with ``kfp.Client``.

The REST calls kfp 2.5 (kfp-server-api 2.0.5) makes, in order:

- ``kfp.Client(host=..., namespace=...)``: ``GET /apis/v2beta1/healthz``, only when no namespace
  is given (it checks for multi-user mode; on failure it retries 5 times, 5 s apart).
- get or create the experiment: ``GET /apis/v2beta1/experiments?filter=<display_name
  EQUALS name>&namespace=<ns>``, then ``POST /apis/v2beta1/experiments`` if none matched.
- submit: ``POST /apis/v2beta1/runs`` with ``experiment_id``, ``display_name``, the whole
  ``pipeline_spec`` and ``runtime_config.pipeline_root``.
- schedule: ``POST /apis/v2beta1/recurringruns`` with the same spec and runtime config, plus
  ``trigger.cron_schedule.cron``, ``max_concurrency`` 1, ``no_catchup`` true, ``mode`` ENABLE.

No named pipeline is uploaded: the spec travels inside each run and recurring run. Credentials
are kfp.Client's own business (a port-forward or ingress URL, the kube config, the
``KF_PIPELINES_*`` environment variables); nothing here handles tokens.
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeflow.errors import ServerError
from kubeflow.package import Package

if TYPE_CHECKING:
    import kfp


@dataclass(frozen=True)
class Endpoint:
    host: str
    namespace: str | None = None


class _Quiet(logging.Filter):
    """kfp.Client logs each failed health check with logging.exception: keep the line, drop
    the traceback. urllib3's connection retries end in one error line of our own: drop them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return not record.name.startswith("urllib3")


def _client(endpoint: Endpoint) -> kfp.Client:
    import kfp

    warnings.filterwarnings("ignore", message="This client only works", category=FutureWarning)
    handler = logging.StreamHandler()
    handler.addFilter(_Quiet())
    logging.basicConfig(level=logging.WARNING, format="%(message)s", handlers=[handler])
    if endpoint.namespace:
        return kfp.Client(host=endpoint.host, namespace=endpoint.namespace)
    return kfp.Client(host=endpoint.host)


def describe(status: int, reason: str, body: bytes | str | None) -> str:
    """One line from a KFP error answer: ``{"error": ..., "code": ..., "message": ...}``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        text = answer.get("message") or answer.get("error") or answer.get("error_message") or text
    message = " ".join(str(text).split())
    return f"{status} {reason}" + (f": {message}" if message else "")


@contextmanager
def reporting(endpoint: Endpoint) -> Iterator[None]:
    """Client and server failures as one ServerError line."""
    import kfp_server_api
    import urllib3

    try:
        yield
    except kfp_server_api.ApiException as err:
        raise ServerError(
            f"Kubeflow Pipelines at {endpoint.host} answered "
            + describe(err.status, err.reason, err.body)
        ) from None
    except urllib3.exceptions.HTTPError as err:
        reason = re.sub(r"^<[^>]*>: ", "", str(getattr(err, "reason", None) or err))
        raise ServerError(f"cannot reach Kubeflow Pipelines at {endpoint.host}: {reason}") from None
    except TimeoutError:
        raise ServerError(
            f"Kubeflow Pipelines at {endpoint.host} failed its health check "
            "(GET /apis/v2beta1/healthz) 5 times; pass --namespace to skip it"
        ) from None


def submit(
    endpoint: Endpoint, package: Package, experiment: str, pipeline_root: str, run_name: str
) -> str:
    """Start one run now; returns the run id."""
    with reporting(endpoint):
        client = _client(endpoint)
        result = client.create_run_from_pipeline_package(
            str(package.path),
            arguments={},
            run_name=run_name,
            experiment_name=experiment,
            namespace=endpoint.namespace,
            pipeline_root=pipeline_root,
        )
    return result.run_id


def schedule(
    endpoint: Endpoint,
    package: Package,
    experiment: str,
    pipeline_root: str,
    job_name: str,
    cron: str,
) -> str:
    """Create an enabled recurring run: one run at a time, no backfill; returns its id."""
    with reporting(endpoint):
        client = _client(endpoint)
        experiment_id = client.create_experiment(
            name=experiment, namespace=endpoint.namespace
        ).experiment_id
        recurring = client.create_recurring_run(
            experiment_id=experiment_id,
            job_name=job_name,
            cron_expression=cron,
            max_concurrency=1,
            no_catchup=True,
            pipeline_package_path=str(package.path),
            pipeline_root=pipeline_root,
            enabled=True,
        )
    return recurring.recurring_run_id
