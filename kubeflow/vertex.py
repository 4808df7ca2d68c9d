"""Submit and schedule a compiled ``--format vertex`` package on Vertex AI Pipelines.

Through ``google.cloud.aiplatform``: ``PipelineJob(...).submit()`` starts one run,
``PipelineJob(...).create_schedule(cron=..., max_concurrent_run_count=1)`` creates a schedule
(a 5-field cron, see ``kubeflow.cron``; Vertex does not backfill missed runs). Credentials are
Application Default Credentials from the environment (``gcloud auth application-default login``,
``GOOGLE_APPLICATION_CREDENTIALS`` or the workload's service account), never from code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubeflow.cron import vertex_cron
from kubeflow.errors import ServerError, UsageError
from kubeflow.package import Package

if TYPE_CHECKING:
    from google.cloud import aiplatform


@dataclass(frozen=True)
class Location:
    project: str
    region: str
    service_account: str | None = None


@contextmanager
def reporting(location: Location) -> Iterator[None]:
    """Vertex AI and credential failures as one line."""
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    where = f"Vertex AI ({location.project}, {location.region})"
    try:
        yield
    except auth_exceptions.DefaultCredentialsError as err:
        raise UsageError(
            f"no Google credentials for {where}: run `gcloud auth application-default login` "
            f"or set GOOGLE_APPLICATION_CREDENTIALS ({' '.join(str(err).split())})"
        ) from None
    except api_exceptions.GoogleAPICallError as err:
        code = getattr(err.code, "value", err.code)
        raise ServerError(f"{where} answered {code}: {' '.join(err.message.split())}") from None
    except auth_exceptions.GoogleAuthError as err:
        raise ServerError(f"{where}: {' '.join(str(err).split())}") from None


def _job(
    package: Package, location: Location, pipeline_root: str, display_name: str
) -> aiplatform.PipelineJob:
    from google.cloud import aiplatform

    return aiplatform.PipelineJob(
        display_name=display_name,
        template_path=str(package.path),
        pipeline_root=pipeline_root,
        project=location.project,
        location=location.region,
    )


def submit(
    location: Location,
    package: Package,
    pipeline_root: str,
    run_name: str,
    experiment: str | None,
) -> str:
    """Start one run now; returns the PipelineJob resource name."""
    with reporting(location):
        job = _job(package, location, pipeline_root, run_name)
        job.submit(service_account=location.service_account, experiment=experiment)
        return job.resource_name


def schedule(
    location: Location, package: Package, pipeline_root: str, job_name: str, cron: str
) -> str:
    """Create a schedule running one job at a time; returns the schedule resource name."""
    unix_cron = vertex_cron(cron)
    with reporting(location):
        job = _job(package, location, pipeline_root, job_name)
        created = job.create_schedule(
            cron=unix_cron,
            display_name=job_name,
            max_concurrent_run_count=1,
            service_account=location.service_account,
        )
        return created.resource_name
