"""``create_pipeline``: the one pipeline definition every runner (local, Beam, Kubeflow) uses.

Data flows top to bottom: CSV + images -> examples (CsvImageExampleGen) -> transformed examples
and the alphabet (Transform) -> model (Trainer, warm-started from the latest pushed model) ->
evaluation with CER and line accuracy against the latest pushed model (Evaluator) -> blessed
models only, atomically versioned (Pusher). No runner detail leaks in here.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.components.example_gen import utils as example_gen_utils
from tfx.dsl.components.base import executor_spec
from tfx.proto import example_gen_pb2

from components import atomic_pusher, csv_example_gen, model_lookup, serving_layout, tfma_metrics
from components.ingest import IngestOptions
from pipeline.config import ConfigError, CrnnConfig
from trainer_module import export

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CODE_PACKAGES = ("components", "pipeline", "trainer_module")

# The raw examples CsvImageExampleGen writes (Transform needs a schema; ImportSchemaGen gives it).
RAW_SCHEMA = """\
feature { name: "image" type: BYTES shape {} presence { min_fraction: 1.0 } }
feature { name: "label" type: BYTES shape {} presence { min_fraction: 1.0 } }
feature { name: "path" type: BYTES shape {} presence { min_fraction: 1.0 } }
feature { name: "source" type: BYTES shape {} presence { min_fraction: 1.0 } }
feature { name: "width" type: INT shape {} presence { min_fraction: 1.0 } }
feature { name: "height" type: INT shape {} presence { min_fraction: 1.0 } }
"""


@dataclass(frozen=True)
class DataSource:
    """Where ExampleGen reads: a base directory and split patterns relative to it (patterns may
    hold {SPAN} and {VERSION})."""

    input_base: str
    patterns: dict[str, str]  # split name -> pattern; one entry "train+eval" means hash splits

    @property
    def hash_split(self) -> bool:
        return len(self.patterns) == 1


@dataclass(frozen=True)
class PipelinePaths:
    pipeline_root: str
    serving_dir: str
    ingest_reports: str | None = None


def code_fingerprint() -> str:
    """Hash of the pipeline's own code: part of cache keys, so editing the code behind a dotted
    ``run_fn`` / ``preprocessing_fn`` path re-runs the steps it affects."""
    digest = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def write_raw_schema(pipeline_root: str) -> str:
    """Write the raw schema under a content-addressed path (ImportSchemaGen caches on the path)."""
    digest = hashlib.sha256(RAW_SCHEMA.encode()).hexdigest()[:12]
    path = os.path.join(pipeline_root, "schema", digest, "schema.pbtxt")
    if not tf.io.gfile.exists(path):
        tf.io.gfile.makedirs(os.path.dirname(path))
        with tf.io.gfile.GFile(path, "w") as out:
            out.write(RAW_SCHEMA)
    return path


def eval_config(config: CrnnConfig) -> tfma.EvalConfig:
    """CER and line accuracy overall, by label-length bucket and by source; blessing needs CER
    under the bound and not above the baseline's (overall slice only)."""
    alphabet = {"alphabet": config.alphabet.model_dump()}
    gate = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(
            upper_bound={"value": config.evaluation.cer_threshold}
        ),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.LOWER_IS_BETTER,
            absolute={"value": config.evaluation.max_cer_increase},
        ),
    )
    module = tfma_metrics.__name__
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=export.LABEL_KEY,
                prediction_key="text",
                preprocessing_function_names=["transform_features"],
                model_type=tfma.TF_GENERIC,
            )
        ],
        slicing_specs=[
            tfma.SlicingSpec(),
            tfma.SlicingSpec(feature_keys=[export.LENGTH_BUCKET]),
            tfma.SlicingSpec(feature_keys=["source"]),
        ],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name=tfma_metrics.CharacterErrorRate.__name__,
                        module=module,
                        config=json.dumps(alphabet),
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()], threshold=gate
                            )
                        ],
                    ),
                    tfma.MetricConfig(
                        class_name=tfma_metrics.LineAccuracy.__name__,
                        module=module,
                        config=json.dumps(alphabet),
                    ),
                ]
            )
        ],
    )


def example_gen(source: DataSource, config: CrnnConfig, options: IngestOptions):
    """The ingest component for a data source: hash splits train/eval on the image path, or the
    source's own named splits."""
    if source.hash_split:
        (pattern,) = source.patterns.values()
        input_config = example_gen_utils.make_default_input_config(pattern)
        buckets = config.data.split_buckets
        output_config = example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets[name])
                    for name in ("train", "eval")
                ],
                # Split on the image path: stable when features change, and duplicates of one
                # image always land in the same split.
                partition_feature_name="path",
            )
        )
    else:
        input_config = example_gen_pb2.Input(
            splits=[
                example_gen_pb2.Input.Split(name=name, pattern=pattern)
                for name, pattern in source.patterns.items()
            ]
        )
        output_config = example_gen_pb2.Output()
    return csv_example_gen.CsvImageExampleGen(
        input_base=source.input_base,
        options=options,
        input_config=input_config,
        output_config=output_config,
    )


def with_init_model(config: CrnnConfig) -> CrnnConfig:
    """``training.init_from`` resolved to a SavedModel folder (the newest version of a push
    directory), and that model's network settings unless the config gives a model section:
    fine-tuning needs the base's architecture, which a user should not have to copy. ConfigError
    when the model cannot be read."""
    init_from = config.training.init_from
    if not init_from:
        return config
    local = Path(init_from).expanduser()
    location = str(local.resolve()) if local.exists() else init_from
    try:
        model_dir = serving_layout.resolve_model_dir(location)
        _, base = export.read_assets(model_dir)
    except (OSError, ValueError) as err:
        raise ConfigError(f"training.init_from={init_from}: {err}") from None
    # Inside the project (the shipped model), relative to it: the Kubeflow image holds the
    # project elsewhere; trainer_module.run.starting_model resolves it there.
    if Path(model_dir).is_relative_to(PROJECT_ROOT):
        model_dir = str(Path(model_dir).relative_to(PROJECT_ROOT))
    training = config.training.model_copy(update={"init_from": model_dir})
    update = {"training": training}
    if "model" not in config.model_fields_set:
        update["model"] = base.model
    elif differences := export.architecture_differences(config.model, base.model):
        raise ConfigError(
            f"training.init_from={init_from}: its architecture differs in "
            f"model.{', model.'.join(differences)}; leave the model section out to take its own"
        )
    return config.model_copy(update=update)


def create_pipeline(
    config: CrnnConfig,
    source: DataSource,
    paths: PipelinePaths,
    metadata_connection_config=None,
    beam_pipeline_args: list[str] | None = None,
    data_fingerprint: str = "",
    serving_state: str | None = None,
) -> tfx.dsl.Pipeline:
    """The pipeline; ``serving_state`` defaults to what is pushed now (read when building)."""
    config = with_init_model(config)
    code = code_fingerprint()
    # "data" keys the Trainer's resume folder (trainer_module.run.resume_dir).
    run_config = {"config": config.to_json(), "code": code, "data": data_fingerprint}
    # Transform only depends on geometry and alphabet: training changes keep its cache.
    transform_config = CrnnConfig(model=config.model, alphabet=config.alphabet)
    options = IngestOptions.from_config(
        config, report_dir=paths.ingest_reports, fingerprint=f"{code}:{data_fingerprint}"
    )

    example_gen_step = example_gen(source, config, options)
    schema = tfx.components.ImportSchemaGen(schema_file=write_raw_schema(paths.pipeline_root))
    transform = tfx.components.Transform(
        examples=example_gen_step.outputs["examples"],
        schema=schema.outputs["schema"],
        preprocessing_fn="trainer_module.transform.preprocessing_fn",
        custom_config={"config": transform_config.to_json(), "code": code},
        disable_statistics=True,  # image tensors: statistics would cost more than they tell
    )
    latest = model_lookup.LatestPushedModel(
        serving_dir=paths.serving_dir,
        serving_state=serving_state
        if serving_state is not None
        else serving_layout.state(paths.serving_dir),
    )
    training = config.training
    trainer = tfx.components.Trainer(
        run_fn="trainer_module.run.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        # Wired only with warm start on: a re-run after a push then continues training from the
        # pushed model (TFX's usual warm-start behaviour); with it off an unchanged re-run is
        # served entirely from the cache.
        base_model=latest.outputs["model"] if training.warm_start else None,
        train_args=tfx.proto.TrainArgs(splits=["train"], num_steps=training.train_steps or 0),
        eval_args=tfx.proto.EvalArgs(splits=["eval"], num_steps=training.eval_steps or 0),
        custom_config=run_config,
    )
    baseline = model_lookup.BaselineModel(
        latest=latest.outputs["model"], candidate=trainer.outputs["model"]
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen_step.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["baseline"],
        eval_config=eval_config(config),
        example_splits=["eval"],
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=paths.serving_dir)
        ),
        custom_executor_spec=executor_spec.ExecutorClassSpec(atomic_pusher.Executor),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline.name,
        pipeline_root=paths.pipeline_root,
        components=[
            example_gen_step,
            schema,
            transform,
            latest,
            trainer,
            baseline,
            evaluator,
            pusher,
        ],
        enable_cache=config.pipeline.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=[*(beam_pipeline_args or []), *config.pipeline.beam_args],
    )
