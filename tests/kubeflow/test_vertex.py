"""``submit --vertex`` / ``schedule --vertex``: the job aiplatform would send, and the calls.

No Vertex AI endpoint is reachable offline, so the boundary is faked at exactly two methods,
``PipelineJob.submit`` and ``PipelineJob.create_schedule``: each fake checks its arguments
against the real method's signature and records them. Everything before that is real
aiplatform: ``PipelineJob(...)`` parses the compiled package and builds the PipelineJob resource
it would submit (Application Default Credentials are replaced by anonymous ones).
"""

import inspect
import json
from types import SimpleNamespace

import google.auth
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

from kubeflow import runner

JOB_NAME = "projects/p-1/locations/europe-west4/pipelineJobs/crnn-tfx-1"
SCHEDULE_NAME = "projects/p-1/locations/europe-west4/schedules/42"
LOCATION = ["--vertex", "--project", "p-1", "--region", "europe-west4"]


@pytest.fixture
def vertex(monkeypatch):
    """Record PipelineJob.submit / create_schedule calls instead of calling Vertex AI."""
    calls = []
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "p-1"))
    real_submit = aiplatform.PipelineJob.submit
    real_create_schedule = aiplatform.PipelineJob.create_schedule

    def submit(self, *args, **kwargs):
        inspect.signature(real_submit).bind(self, *args, **kwargs)
        calls.append(("submit", self, kwargs))
        self._gca_resource.name = JOB_NAME

    def create_schedule(self, *args, **kwargs):
        inspect.signature(real_create_schedule).bind(self, *args, **kwargs)
        calls.append(("create_schedule", self, kwargs))
        return SimpleNamespace(resource_name=SCHEDULE_NAME)

    monkeypatch.setattr(aiplatform.PipelineJob, "submit", submit)
    monkeypatch.setattr(aiplatform.PipelineJob, "create_schedule", create_schedule)
    return calls


def test_submit_sends_the_compiled_job_to_the_project_and_region(vertex, compiled, capsys):
    status = runner.main(["submit", *LOCATION, "--package", str(compiled.vertex)])
    assert status == 0
    ((method, job, kwargs),) = vertex
    assert method == "submit"
    assert kwargs == {"service_account": None, "experiment": None}
    assert (job.project, job.location) == ("p-1", "europe-west4")
    resource = job._gca_resource
    package = json.loads(compiled.vertex.read_text())
    assert resource.runtime_config.gcs_output_directory == compiled.pipeline_root
    assert resource.display_name == "crnn-tfx"
    tasks = resource.pipeline_spec["root"]["dag"]["tasks"]
    assert set(tasks) == set(package["pipelineSpec"]["root"]["dag"]["tasks"])
    trainer = resource.pipeline_spec["deploymentSpec"]["executors"]["Trainer_executor"]
    assert trainer["container"]["resources"]["accelerator"]["type"] == "NVIDIA_TESLA_T4"
    assert JOB_NAME in capsys.readouterr().out


def test_schedule_converts_the_cron_and_runs_one_job_at_a_time(vertex, compiled, capsys):
    status = runner.main(
        [
            "schedule",
            *LOCATION,
            "--package",
            str(compiled.vertex),
            "--cron",
            "0 30 2 * * 1-5",
            "--service-account",
            "runner@p-1.iam.gserviceaccount.com",
            "--pipeline-root",
            "gs://bucket/vertex-root",
        ]
    )
    assert status == 0
    ((method, job, kwargs),) = vertex
    assert method == "create_schedule"
    assert kwargs == {
        "cron": "30 2 * * 1-5",
        "display_name": "crnn-tfx retraining",
        "max_concurrent_run_count": 1,
        "service_account": "runner@p-1.iam.gserviceaccount.com",
    }
    assert job._gca_resource.runtime_config.gcs_output_directory == "gs://bucket/vertex-root"
    assert SCHEDULE_NAME in capsys.readouterr().out


def test_vertex_usage_errors_exit_2_without_a_call(vertex, compiled, capsys):
    seconds = ["--package", str(compiled.vertex), "--cron", "30 0 3 * * *"]
    assert runner.main(["schedule", *LOCATION, *seconds]) == 2
    assert "seconds field must be 0" in capsys.readouterr().err
    assert runner.main(["submit", "--vertex", "--package", str(compiled.vertex)]) == 2
    assert "--vertex needs --project and --region" in capsys.readouterr().err
    assert runner.main(["submit", *LOCATION, "--package", str(compiled.yaml)]) == 2
    assert "--format vertex" in capsys.readouterr().err
    assert vertex == []


def test_a_vertex_api_error_is_one_line_and_exit_status_1(monkeypatch, vertex, compiled, capsys):
    def refuse(self, *args, **kwargs):
        raise api_exceptions.PermissionDenied("Permission 'aiplatform.pipelineJobs.create' denied")

    monkeypatch.setattr(aiplatform.PipelineJob, "submit", refuse)
    assert runner.main(["submit", *LOCATION, "--package", str(compiled.vertex)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: Vertex AI (p-1, europe-west4) answered 403: "
        "Permission 'aiplatform.pipelineJobs.create' denied"
    )
