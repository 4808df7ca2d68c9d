"""``submit`` and ``schedule`` against a KFP API on 127.0.0.1: real HTTP, real kfp.Client.

The CLI runs as a user runs it (a subprocess, HOME pointing at an empty directory so no kfp
context file is read); the server records each request, so the tests assert the exact endpoints
called, in order, and the bodies: the compiled spec, pipeline_root, cron, max_concurrency,
no_catchup.
"""

import os
import subprocess
import sys
from pathlib import Path

import yaml
from testlib import PIPELINE_TASKS

ROOT = Path(__file__).resolve().parents[2]
API = "/apis/v2beta1"
KFP_ERROR = {
    "error": "Failed to create a new run: InternalServerError: Failed to store run",
    "code": 13,
    "message": "Failed to create a new run: InternalServerError: Failed to store run",
    "details": [{"@type": "type.googleapis.com/google.rpc.Status", "code": 13}],
}


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KF_PIPELINES")}
    env["HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "kubeflow.runner", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_submit_creates_the_experiment_and_a_run_of_the_compiled_spec(
    tmp_path, kfp_server, compiled
):
    result = cli(
        tmp_path,
        "submit",
        "--host",
        kfp_server.url,
        "--package",
        str(compiled.yaml),
        "--experiment",
        "ocr",
        "--run-name",
        "first run",
    )
    assert result.returncode == 0, result.stderr
    assert kfp_server.calls() == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    lookup = kfp_server.requests[1].query
    assert '"stringValue": "ocr"' in lookup["filter"] and '"display_name"' in lookup["filter"]
    assert kfp_server.body_of("POST", f"{API}/experiments")["display_name"] == "ocr"
    run = kfp_server.body_of("POST", f"{API}/runs")
    (experiment,) = kfp_server.experiments
    assert run["experiment_id"] == experiment["experiment_id"]
    assert run["display_name"] == "first run"
    assert run["runtime_config"]["pipeline_root"] == compiled.pipeline_root
    sent = run["pipeline_spec"]
    package = yaml.safe_load(compiled.yaml.read_text())
    assert sent["pipelineInfo"] == package["pipelineInfo"] == {"name": "crnn-tfx"}
    assert sent["root"]["dag"]["tasks"].keys() == package["root"]["dag"]["tasks"].keys()
    assert sent["deploymentSpec"] == package["deploymentSpec"]
    assert "submitted run " in result.stdout and "first run" in result.stdout


def test_submit_with_a_namespace_skips_the_health_check_and_overrides_the_root(
    tmp_path, kfp_server, compiled
):
    kfp_server.experiments.append({"experiment_id": "e-1", "display_name": "crnn-tfx"})
    result = cli(
        tmp_path,
        "submit",
        "--host",
        kfp_server.url,
        "--package",
        str(compiled.yaml),
        "--namespace",
        "team-ocr",
        "--pipeline-root",
        "gs://bucket/other-root",
    )
    assert result.returncode == 0, result.stderr
    assert kfp_server.calls() == [("GET", f"{API}/experiments"), ("POST", f"{API}/runs")]
    assert kfp_server.requests[0].query["namespace"] == "team-ocr"
    run = kfp_server.body_of("POST", f"{API}/runs")
    assert run["experiment_id"] == "e-1"  # the default experiment name, found, not created
    assert run["runtime_config"]["pipeline_root"] == "gs://bucket/other-root"
    assert run["display_name"].startswith("crnn-tfx ")


def test_schedule_creates_a_recurring_run_one_at_a_time_without_catch_up(
    tmp_path, kfp_server, compiled
):
    kfp_server.experiments.append({"experiment_id": "e-7", "display_name": "nightly"})
    result = cli(
        tmp_path,
        "schedule",
        "--host",
        kfp_server.url,
        "--package",
        str(compiled.yaml),
        "--cron",
        "0  0 3 * * *",
        "--experiment",
        "nightly",
    )
    assert result.returncode == 0, result.stderr
    assert kfp_server.calls() == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/recurringruns"),
    ]
    job = kfp_server.body_of("POST", f"{API}/recurringruns")
    assert job["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * *"}}
    assert int(job["max_concurrency"]) == 1
    assert job["no_catchup"] is True
    assert job["mode"] == "ENABLE"
    assert job["experiment_id"] == "e-7"
    assert job["display_name"] == "crnn-tfx retraining"
    assert job["runtime_config"]["pipeline_root"] == compiled.pipeline_root
    assert set(job["pipeline_spec"]["root"]["dag"]["tasks"]) == PIPELINE_TASKS
    assert "scheduled recurring run " in result.stdout


def test_a_server_error_is_one_line_and_exit_status_1(tmp_path, kfp_server, compiled):
    kfp_server.errors[("POST", f"{API}/runs")] = (500, KFP_ERROR)
    result = cli(tmp_path, "submit", "--host", kfp_server.url, "--package", str(compiled.yaml))
    assert result.returncode == 1
    assert one_error_line(result) == (
        f"error: Kubeflow Pipelines at {kfp_server.url} answered 500 Internal Server Error: "
        "Failed to create a new run: InternalServerError: Failed to store run"
    )


def test_a_refused_schedule_reports_the_servers_reason(tmp_path, kfp_server, compiled):
    kfp_server.errors[("POST", f"{API}/recurringruns")] = (
        400,
        {"error": "bad", "code": 3, "message": "Invalid input error: cron is malformed"},
    )
    result = cli(
        tmp_path,
        "schedule",
        "--host",
        kfp_server.url,
        "--package",
        str(compiled.yaml),
        "--cron",
        "0 0 3 * * *",
    )
    assert result.returncode == 1
    assert one_error_line(result).endswith(
        "answered 400 Bad Request: Invalid input error: cron is malformed"
    )


def test_an_unreachable_host_is_one_line_and_exit_status_1(tmp_path, compiled):
    result = cli(
        tmp_path, "submit", "--host", "http://127.0.0.1:9", "--package", str(compiled.yaml)
    )
    assert result.returncode == 1
    assert one_error_line(result).startswith(
        "error: cannot reach Kubeflow Pipelines at http://127.0.0.1:9"
    )


def test_usage_errors_exit_2_before_any_request(tmp_path, kfp_server, compiled):
    host = ["--host", kfp_server.url]
    bad_cron = cli(
        tmp_path, "schedule", *host, "--package", str(compiled.yaml), "--cron", "0 3 * * *"
    )
    assert bad_cron.returncode == 2
    assert "6 fields, seconds first" in one_error_line(bad_cron)
    vertex_package = cli(tmp_path, "submit", *host, "--package", str(compiled.vertex))
    assert vertex_package.returncode == 2
    assert "Vertex AI PipelineJob" in one_error_line(vertex_package)
    no_host = cli(tmp_path, "submit", "--package", str(compiled.yaml))
    assert no_host.returncode == 2 and "--host" in one_error_line(no_host)
    missing = cli(tmp_path, "submit", *host, "--package", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in one_error_line(missing)
    assert kfp_server.requests == []
