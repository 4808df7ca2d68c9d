"""``compile``: what the KFP YAML and the Vertex JSON contain, checked with kfp's own loaders."""

import json

import kfp
import yaml
from kfp.client import client as kfp_client_module
from testlib import PIPELINE_TASKS

from kubeflow import compiler, runner, spec
from pipeline.config import load_config

IMAGE = "registry.example/crnn-tfx:1"


def load(compiled) -> dict:
    return yaml.safe_load(compiled.yaml.read_text())


def vertex_job(compiled) -> dict:
    return json.loads(compiled.vertex.read_text())


def test_kfp_loads_the_yaml_as_a_pipeline_spec(compiled):
    component = kfp.components.load_component_from_file(str(compiled.yaml))
    assert component.name == "crnn-tfx"
    assert set(component.pipeline_spec.root.dag.tasks) == PIPELINE_TASKS
    # The parse kfp.Client.create_run_from_pipeline_package does before sending the spec.
    document = kfp_client_module._extract_pipeline_yaml(str(compiled.yaml))
    assert document.pipeline_spec.schema_version == "2.1.0"
    assert document.pipeline_spec.default_pipeline_root == compiled.pipeline_root


def test_every_component_of_create_pipeline_is_a_task(compiled):
    config = compiler.settle(
        load_config(),
        {
            "pipeline_root": compiled.pipeline_root,
            "data_root": str(compiled.data_root),
            "serving_dir": compiled.serving_dir,
        },
        [],
    )
    ids = {component.id for component in compiler.build(config).components}
    assert ids == PIPELINE_TASKS == set(spec.tasks(load(compiled)))


def test_every_step_is_a_container_of_the_project_image_and_none_is_a_resolver(compiled):
    pipeline_spec = load(compiled)
    executors = pipeline_spec["deploymentSpec"]["executors"]
    assert len(executors) == len(PIPELINE_TASKS)
    for executor in executors.values():
        assert set(executor) == {"container"}  # no importer, no resolver
        assert executor["container"]["image"] == IMAGE
    assert "resolver" not in compiled.yaml.read_text().lower()
    assert "resolver" not in compiled.vertex.read_text().lower()


def test_the_trainer_requests_a_gpu_and_every_step_cpu_and_memory(compiled):
    pipeline_spec = load(compiled)
    trainer = spec.container(pipeline_spec, "Trainer")["resources"]
    assert trainer == {
        "accelerator": {"count": "1", "type": "nvidia.com/gpu"},
        "cpuLimit": 8.0,
        "memoryLimit": 26.0,
    }
    for task in PIPELINE_TASKS - {"Trainer"}:
        resources = spec.container(pipeline_spec, task)["resources"]
        assert "accelerator" not in resources
        assert resources["cpuLimit"] > 0 and resources["memoryLimit"] > 0
    # TFX drops platform_config on FileBasedExampleGen; ingest gets its resources anyway.
    assert spec.container(pipeline_spec, "CsvImageExampleGen")["resources"] == {
        "cpuLimit": 4.0,
        "memoryLimit": 16.0,
    }
    vertex = spec.container(vertex_job(compiled)["pipelineSpec"], "Trainer")["resources"]
    assert vertex["accelerator"] == {"count": "1", "type": "NVIDIA_TESLA_T4"}


def test_steps_reading_state_kfp_cannot_see_are_never_cached(compiled):
    def caching(pipeline_spec: dict) -> dict[str, bool]:
        return {
            name: task.get("cachingOptions", {}).get("enableCache", False)
            for name, task in spec.tasks(pipeline_spec).items()
        }

    kfp_caching = caching(load(compiled))
    assert {name for name, on in kfp_caching.items() if not on} == {
        "LatestPushedModel",
        "Pusher",
        "CsvImageExampleGen",
    }
    # Vertex runs the ExampleGen driver before its cache check: the newest span is in the key.
    vertex_caching = caching(vertex_job(compiled)["pipelineSpec"])
    assert {name for name, on in vertex_caching.items() if not on} == {
        "LatestPushedModel",
        "Pusher",
    }


def test_ingest_resolves_the_newest_span_on_both_backends(compiled):
    kfp_ingest = spec.container(load(compiled), "CsvImageExampleGen")
    assert kfp_ingest["command"] == ["python", "-m", "kubeflow.example_gen_entrypoint"]
    assert "lifecycle" not in kfp_ingest
    vertex_ingest = spec.container(vertex_job(compiled)["pipelineSpec"], "CsvImageExampleGen")
    hook = vertex_ingest["lifecycle"]["preCacheCheck"]
    assert hook["command"][-1] == "tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"
    assert vertex_ingest["command"][-1].endswith("kubeflow_v2_run_executor")
    parameters = spec.tasks(load(compiled))["CsvImageExampleGen"]["inputs"]["parameters"]
    assert parameters["input_base"]["runtimeValue"]["constant"] == str(compiled.data_root)
    assert "span-{SPAN}/labels.csv" in parameters["input_config"]["runtimeValue"]["constant"]


def test_the_vertex_job_carries_the_same_dag(compiled):
    def dag(pipeline_spec: dict) -> dict[str, tuple]:
        return {
            name: (task["componentRef"]["name"], sorted(task.get("dependentTasks", [])))
            for name, task in spec.tasks(pipeline_spec).items()
        }

    job = vertex_job(compiled)
    assert dag(job["pipelineSpec"]) == dag(load(compiled))
    assert dag(load(compiled))["Pusher"] == ("Pusher", ["Evaluator", "Trainer"])
    assert job["runtimeConfig"]["gcsOutputDirectory"] == compiled.pipeline_root
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "crnn-tfx"


def test_beam_args_reach_the_beam_steps(compiled):
    for task in spec.BEAM_STEPS:
        assert "--direct_num_workers=1" in spec.container(load(compiled), task)["args"]


def test_the_config_file_and_set_overrides_decide_roots_and_resources(tmp_path, compiled):
    config = tmp_path / "kubeflow.json"
    config.write_text(
        json.dumps(
            {
                "pipeline": {"name": "crnn-nightly", "beam_args": ["--direct_num_workers=1"]},
                "kubeflow": {
                    "pipeline_root": compiled.pipeline_root,
                    "data_root": str(compiled.data_root),
                    "serving_dir": compiled.serving_dir,
                    "data_pattern": "drop-{SPAN}/rows.csv",
                },
            }
        )
    )
    output = tmp_path / "nightly.yml"
    status = runner.main(
        [
            "compile",
            "--config",
            str(config),
            "--output",
            str(output),
            "--set",
            "kubeflow.trainer.accelerator_count=2",
            "--set",
            "kubeflow.trainer.accelerator_type=nvidia.com/mig-1g.10gb",
            "--beam-arg=--direct_num_workers=2",
        ]
    )
    assert status == 0
    pipeline_spec = yaml.safe_load(output.read_text())
    assert pipeline_spec["pipelineInfo"]["name"] == "crnn-nightly"
    trainer = spec.container(pipeline_spec, "Trainer")
    assert trainer["resources"]["accelerator"] == {"count": "2", "type": "nvidia.com/mig-1g.10gb"}
    assert trainer["image"] == "crnn-tfx:latest"  # the default image
    args = spec.container(pipeline_spec, "Transform")["args"]
    assert args.index("--direct_num_workers=2") > args.index("--direct_num_workers=1")
    parameters = spec.tasks(pipeline_spec)["CsvImageExampleGen"]["inputs"]["parameters"]
    assert "drop-{SPAN}/rows.csv" in parameters["input_config"]["runtimeValue"]["constant"]
