"""The REST server over real HTTP on 127.0.0.1: TF Serving's API, bad requests, reload, load."""

import base64
import io
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import tensorflow as tf
from PIL import Image
from testlib import server_process

from serving.model import Recognizer


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    """The trained model pushed as version 1 and served by `python -m serving.server`."""
    result, _, rows = trained
    serving_dir = tmp_path_factory.mktemp("serving")
    shutil.copytree(result.model_dir, serving_dir / "1")
    limits = ["--max-body-mb", "0.5", "--max-image-pixels", "200000"]
    with server_process(serving_dir, "--poll-seconds", "0.5", *limits) as process:
        yield process, serving_dir, rows, result.model_dir


@pytest.fixture(scope="module")
def served(server):
    process, *rest = server
    return process.url, *rest


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
        ("post", ":predict", b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
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


def _as(path, mode: str, kind: str, transparent: bool = False) -> dict:
    """A line's image in another mode and format; ``transparent``: black text on a transparent
    background whose hidden colour is black (white paper's alpha is 0)."""
    image = Image.open(path).convert("L")
    if transparent:
        ink = Image.eval(image, lambda v: 255 - v)
        image = Image.merge("LA", (Image.new("L", image.size, 0), ink))
    out = io.BytesIO()
    image.convert(mode).save(out, kind)
    return {"b64": base64.b64encode(out.getvalue()).decode()}


def test_every_advertised_format_reads_as_the_png_does(served):
    url, _, rows, _ = served
    lines = rows[:4]
    png = requests.post(f"{url}:predict", json={"instances": [b64(r.path) for r in lines]})
    expected = [p["text"] for p in png.json()["predictions"]]
    variants = {
        "GIF": [_as(r.path, "L", "GIF") for r in lines],
        "BMP": [_as(r.path, "RGB", "BMP") for r in lines],
        "transparent PNG": [_as(r.path, "RGBA", "PNG", transparent=True) for r in lines],
        "CMYK JPEG": [_as(r.path, "CMYK", "JPEG") for r in lines],
    }
    for kind, instances in variants.items():
        response = requests.post(f"{url}:predict", json={"instances": instances})
        assert response.status_code == 200, (kind, response.text)
        texts = [p["text"] for p in response.json()["predictions"]]
        matching = sum(a == b for a, b in zip(texts, expected, strict=True))
        assert matching >= (3 if kind == "CMYK JPEG" else 4), (kind, texts, expected)


def test_a_sliver_or_a_truncated_image_fails_no_request_beside_it(served, tmp_path):
    url, _, rows, _ = served
    sliver = tmp_path / "sliver.png"
    Image.new("L", (40, 5000), 255).save(sliver)  # 40 px wide, 5,000 px tall: read
    truncated = tmp_path / "truncated.png"  # its header is whole: only the decode finds it
    truncated.write_bytes(Path(rows[5].path).read_bytes()[:-60])
    bodies = [{"instances": [b64(rows[i].path)]} for i in range(3)]
    bodies += [{"instances": [b64(sliver)]}, {"instances": [b64(rows[4].path), b64(truncated)]}]
    with ThreadPoolExecutor(5) as pool:  # sent together, so they share model calls
        responses = list(pool.map(lambda b: requests.post(f"{url}:predict", json=b), bodies * 3))
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 200, 200, 400] * 3, [r.text for r in responses]
    message = responses[4].json()["error"]
    assert message.startswith("instance 1: undecodable or truncated image"), message
    assert len(message) < 300  # no TensorFlow dump


def test_a_broken_version_is_retried_with_backoff_and_a_deleted_one_falls_back(server):
    """Runs after the new-version test: versions 1 and 2 are pushed, 2 is served."""
    process, serving_dir, rows, model_dir = server
    url = process.url

    def served_version() -> str:
        return requests.get(url).json()["model_version_status"][0]["version"]

    assert served_version() == "2"
    broken = serving_dir / "3"
    shutil.copytree(model_dir, broken)
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")
    time.sleep(4)  # eight polls
    assert served_version() == "2"
    failures = [line for line in process.log if f"cannot load {broken}" in line]
    assert len(failures) == 1, failures  # logged once, not every poll
    shutil.rmtree(serving_dir / "2")
    deadline = time.time() + 30
    while time.time() < deadline and served_version() != "1":
        time.sleep(0.5)
    assert served_version() == "1"
    response = requests.post(f"{url}:predict", json={"instances": [b64(rows[0].path)]})
    assert response.status_code == 200
