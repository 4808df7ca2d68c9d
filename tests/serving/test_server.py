"""The REST server over real HTTP on 127.0.0.1: TF Serving's API, bad requests, reload, load."""

import base64
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import tensorflow as tf
from testlib import running_server

from serving.model import Recognizer


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """The trained model pushed as version 1 and served by `python -m serving.server`."""
    result, _, rows = trained
    serving_dir = tmp_path_factory.mktemp("serving")
    shutil.copytree(result.model_dir, serving_dir / "1")
    limits = ["--max-body-mb", "0.5", "--max-image-pixels", "200000"]
    with running_server(serving_dir, "--poll-seconds", "0.5", *limits) as url:
        yield url, serving_dir, rows, result.model_dir


def b64(path) -> dict:
    return {"b64": base64.b64encode(Path(path).read_bytes()).decode()}


def test_predict_reads_generated_lines_as_the_model_does(served):
    url, _, rows, model_dir = served
    expected = Recognizer(model_dir).predict([Path(r.path).read_bytes() for r in rows[:8]])
    response = requests.post(f"{url}:predict", json={"instances": [b64(r.path) for r in rows[:8]]})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["text"] for p in predictions] == [e.text for e in expected]
    assert sum(p["text"] == r.label for p, r in zip(predictions, rows, strict=False)) >= 7
    assert all(0 < p["confidence"] <= 1 and len(p["top_k_text"]) == 3 for p in predictions)


def test_columnar_inputs_named_instances_versions_and_tf_examples(served):
    url, _, rows, _ = served
    images = [b64(r.path) for r in rows[:3]]
    columnar = requests.post(f"{url}/versions/1:predict", json={"inputs": {"images": images}})
    assert columnar.status_code == 200, columnar.text
    texts = columnar.json()["outputs"]["text"]
    named = requests.post(f"{url}:predict", json={"instances": [{"images": i} for i in images]})
    assert [p["text"] for p in named.json()["predictions"]] == texts
    examples = [
        {
            "b64": base64.b64encode(
                tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "image": tf.train.Feature(
                                bytes_list=tf.train.BytesList(value=[Path(r.path).read_bytes()])
                            )
                        }
                    )
                ).SerializeToString()
            ).decode()
        }
        for r in rows[:3]
    ]
    by_example = requests.post(
        f"{url}:predict", json={"signature_name": "serving_default", "instances": examples}
    )
    assert [p["text"] for p in by_example.json()["predictions"]] == texts


def test_status_and_metadata(served):
    url, *_ = served
    status = requests.get(url).json()
    assert status == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    metadata = requests.get(f"{url}/metadata").json()
    assert metadata["model_spec"]["version"] == "1"
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert signatures["predict_images"]["inputs"]["images"]["dtype"] == "DT_STRING"
    assert "top_k_text" in signatures["serving_default"]["outputs"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", ":predict", b"{not json", 400, "not valid JSON"),
        ("post", ":predict", b"[1, 2]", 400, "must be a JSON object"),
        ("post", ":predict", b'{"instances": []}', 400, "non-empty list"),
        ("post", ":predict", b'{"rows": [1]}', 400, '"instances" (row format) or "inputs"'),
        (
            "post",
            ":predict",
            b'{"instances": [{"b64": "%%%not base64"}]}',
            400,
            "instance 0: bad base64",
        ),
        ("post", ":predict", b'{"instances": ["plain"]}', 400, 'expected {"b64"'),
        (
            "post",
            ":predict",
            b'{"instances": [{"b64": "aGVsbG8="}]}',
            400,
            "instance 0: undecodable",
        ),
        (
            "post",
            ":predict",
            b'{"signature_name": "other", "instances": [{"b64": "aGVsbG8="}]}',
            400,
            "unknown signature_name",
        ),
        (
            "post",
            ":predict",
            b'{"instances": [' + b'{"b64": "' + b"A" * 600_000 + b'"}]}',
            413,
            "at most 524288",
        ),
        ("post", "/versions/7:predict", b'{"instances": []}', 404, "Specific(crnn, 7)"),
        ("get", "/versions/7", None, 404, "Specific(crnn, 7)"),
        ("get", "/../../other", None, 404, "no such endpoint"),
    ],
)
def test_bad_requests_get_a_4xx_json_error_and_the_server_keeps_serving(
    served, method, path, body, status, message
):
    url, _, rows, _ = served
    response = getattr(requests, method)(f"{url}{path}", data=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert (
        requests.post(f"{url}:predict", json={"instances": [b64(rows[0].path)]}).status_code == 200
    )


def test_images_over_the_pixel_limit_and_unknown_models(served, tmp_path):
    url, *_ = served
    from PIL import Image

    big = tmp_path / "big.png"
    Image.new("L", (1000, 300), 255).save(big)
    response = requests.post(f"{url}:predict", json={"instances": [b64(big)]})
    assert response.status_code == 413 and "pixel limit" in response.json()["error"]
    other = requests.post(
        url.replace("/crnn", "/other") + ":predict", json={"instances": [b64(big)]}
    )
    assert other.status_code == 404 and "Latest(other)" in other.json()["error"]


def test_a_bounded_concurrent_load_has_no_server_errors(served):
    url, _, rows, _ = served
    bodies = [{"instances": [b64(rows[i % len(rows)].path)]} for i in range(160)]

    def call(body):
        started = time.perf_counter()
        response = requests.post(f"{url}:predict", json=body, timeout=60)
        return response.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, bodies))
    assert [status for status, _ in results] == [200] * len(bodies)


def test_a_newly_pushed_version_is_served_without_a_restart(served):
    url, serving_dir, rows, model_dir = served
    shutil.copytree(model_dir, serving_dir / ".incoming-2")
    (serving_dir / ".incoming-2").rename(serving_dir / "2")
    deadline = time.time() + 60
    while time.time() < deadline:
        if requests.get(url).json()["model_version_status"][0]["version"] == "2":
            break
        time.sleep(0.5)
    assert requests.get(url).json()["model_version_status"][0]["version"] == "2"
    response = requests.post(f"{url}/versions/2:predict", json={"instances": [b64(rows[0].path)]})
    assert response.status_code == 200
