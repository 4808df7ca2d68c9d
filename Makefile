# crnn-tfx: every command a user needs. `make run` and `make test` set up .venv first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow-transform and TFMA only work with Keras 2; set it before anything imports TensorFlow.
export TF_USE_LEGACY_KERAS := 1
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup run test pretrained bench lint format lock image clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 10

setup:  ## Create .venv (Python 3.10) holding exactly requirements.txt; a no-op when up to date.
	@tools/setup_venv.sh

run: setup  ## Set-up, then the whole pipeline on the embedded synthetic data (ARGS=... for more).
	$(PY) local_runner.py $(ARGS)

# The suite runs in TEST_WORKERS processes (pytest-xdist), a test file each at a time, so a file's
# module fixtures are built once; session fixtures are built once per process. TEST_WORKERS=0
# runs it in this process alone (what a debugger or `-x` wants).
TEST_WORKERS ?= 2
test: setup  ## Set-up, then every test (in TEST_WORKERS=2 processes; PYTEST_ARGS=... for more).
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The shipped model: the pipeline on pretrained.json's synthetic lines (its output_dir keeps the
# cache, and the Trainer's state after every evaluation, so a re-run after a kill goes on), then
# tools.ship_model copies the pushed SavedModel and an int8 ONNX copy into models/.
PRETRAINED_DIR := outputs/pretrained
pretrained: setup  ## Set-up, then train the shipped model into models/ (about 2 h on 2 cores; a re-run resumes).
	$(PY) -m benchmarks.bench_setup --training-fonts
	$(PY) local_runner.py pipeline/configs/pretrained.json --output-dir $(PRETRAINED_DIR) $(ARGS)
	$(PY) -m tools.ship_model --model $(PRETRAINED_DIR)/serving \
	  --calibration '$(PRETRAINED_DIR)/data/*/images/*.png'

# Each benchmark rewrites its own section of BENCHMARKS.md, in this order (the comparison with
# Tesseract first): `accuracy` trains the standard profile into STANDARD_DIR, and the inference and
# serving benchmarks then measure that model.
STANDARD_DIR := outputs/bench/standard
bench: setup  ## Set-up, then every benchmark; rewrites BENCHMARKS.md (under 2 h on 2 cores).
	$(PY) -m benchmarks.bench_setup
	$(PY) -m benchmarks.report --reset
	$(PY) -m benchmarks.accuracy --train --output-dir $(STANDARD_DIR) --write
	$(PY) -m benchmarks.inference_speed --model $(STANDARD_DIR)/serving --repeats 5 --write
	$(PY) -m benchmarks.serving_load --model $(STANDARD_DIR)/serving --rounds 5 --write
	$(PY) -m benchmarks.train_speed --repeats 5 --write
	$(PY) -m benchmarks.crnn_speed --write
	$(PY) -m benchmarks.ingest_speed --repeats 5 --write
	$(PY) -m benchmarks.pipeline_time --runs 3 --write
	$(PY) -m benchmarks.synth_lines_bench --write

lint: setup  ## Ruff: lint and format check.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup  ## Ruff: fix what it can and format.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: setup  ## Re-lock requirements.txt from requirements.in (CPython 3.10, x86-64 Linux).
	$(VENV)/bin/uv pip compile --quiet --python-version 3.10 --python-platform x86_64-unknown-linux-gnu \
	  --output-file requirements.txt requirements.in

image:  ## Build kubeflow/Dockerfile, the Kubeflow/Vertex image (needs Docker; IMAGE=name:tag).
	docker build -f kubeflow/Dockerfile -t $(or $(IMAGE),crnn-tfx:latest) .

clean:  ## Remove the venv, outputs and caches.
	rm -rf $(VENV) outputs .pytest_cache .ruff_cache benchmarks/.venv-torch benchmarks/.venv-paddle
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
