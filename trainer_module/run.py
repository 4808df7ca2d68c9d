"""``run_fn`` for the TFX Trainer: Transform output in, an exported SavedModel out.

The Trainer passes the run configuration as ``custom_config["config"]``. Batches come from
``fn_args.data_accessor`` over the transformed examples; the alphabet from the transform graph.
TensorBoard logs go to ``fn_args.model_run_dir``; the training state, backed up after every
evaluation, to ``Trainer/resume/<key>`` beside it (``resume_dir``), so that re-running a killed
pipeline continues training where it stood; the model goes to ``fn_args.serving_model_dir``.
Training starts from ``fn_args.base_model`` (the latest pushed model) when it is compatible,
else from ``training.init_from`` (fine-tuning), else from scratch (``starting_model``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from pipeline.config import CrnnConfig
from trainer_module import data, export, train, transform

log = logging.getLogger(__name__)
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
URI_PREFIXES = ("gs://", "s3://", "hdfs://")
# The config sections that shape the training state (evaluation, export and pipeline do not).
TRAINING_SECTIONS = {"alphabet", "model", "augmentation", "training"}


def _batches(
    fn_args,
    files,
    schema,
    remap,
    config: CrnnConfig,
    batch_size: int,
    training: bool,
    curriculum: data.Curriculum | None = None,
):
    options = tfxio.TensorFlowDatasetOptions(
        batch_size=batch_size,
        shuffle=training,
        shuffle_seed=config.training.seed,
        num_epochs=None if training else 1,
    )
    dataset = fn_args.data_accessor.tf_dataset_factory(files, options, schema).unbatch()
    if curriculum is not None:
        dataset = dataset.filter(
            lambda features: curriculum.admits(tf.size(features[transform.LABEL_IDS]))
        )
    dataset = data.batch_by_width(
        dataset,
        lambda features: features[transform.WIDTH],
        batch_size,
        config.model.max_width,
    )

    def to_model(features):
        ids = features[transform.LABEL_IDS]
        if remap is not None:
            ids = tf.ragged.map_flat_values(lambda flat: tf.gather(remap, flat), ids)
        return data.to_model_batch(
            features[transform.IMAGE], features[transform.WIDTH], ids, config, training
        )

    return dataset.map(to_model, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def count_examples(files: list[str]) -> int:
    """Records in gzipped TFRecord files (needed to turn epochs into steps)."""
    dataset = tf.data.TFRecordDataset(tf.io.gfile.glob(files), compression_type="GZIP")
    return int(dataset.reduce(0, lambda count, _: count + 1))


def base_model_dir(fn_args) -> str | None:
    """The base model's SavedModel directory, or None (no model was pushed yet)."""
    base = getattr(fn_args, "base_model", None)
    if base and tf.io.gfile.exists(os.path.join(base, "saved_model.pb")):
        return base
    return None


def starting_model(fn_args, config: CrnnConfig) -> tuple[str | None, bool]:
    """The model training starts from, and whether it must load: the latest pushed model (warm
    start) when it can be read and its architecture matches, else ``training.init_from``, else
    none (training from scratch)."""
    pushed = base_model_dir(fn_args) if config.training.warm_start else None
    if pushed:
        try:
            differences = export.architecture_differences(
                config.model, export.read_assets(pushed)[1].model
            )
            why = f"its architecture differs in model.{', model.'.join(differences)}"
        except (OSError, ValueError) as err:
            differences, why = ["assets"], f"cannot read its assets ({err})"
        if not differences:
            return pushed, False
        log.info("not warm-starting from %s: %s", pushed, why)
    init_from = config.training.init_from
    if init_from and not init_from.startswith(URI_PREFIXES) and not os.path.isabs(init_from):
        init_from = os.path.join(PROJECT_ROOT, init_from)  # the shipped model, wherever it is
    return init_from, init_from is not None


def resume_dir(fn_args, config: CrnnConfig, base: str | None) -> str:
    """Where the training state is backed up: the same folder for the same configuration, data
    and base model, so that a killed Trainer, re-run as a new execution with a new
    ``model_run_dir`` (and, after a code change, new Transform output of the same data), goes
    on from its last evaluation. BackupAndRestore deletes the folder when training ends."""
    data = (fn_args.custom_config or {}).get("data") or fn_args.transform_graph_path
    settings = config.model_dump(mode="json", exclude_defaults=True, include=TRAINING_SECTIONS)
    inputs = [settings, data, fn_args.train_steps, base]
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    trainer_root = os.path.dirname(os.path.dirname(os.path.normpath(fn_args.model_run_dir)))
    return os.path.join(trainer_root, "resume", key)


def run_fn(fn_args) -> None:
    """Train the CRNN on the transformed examples and export it (the TFX Trainer's entry point)."""
    config = transform.config_from(fn_args.custom_config)
    tf.keras.utils.set_random_seed(config.training.seed)
    transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    start, required = starting_model(fn_args, config)
    base_units = export.read_assets(start)[0].units if start else ()
    alphabet, remap = transform.read_alphabet(transform_output, config, base_units)
    log.info("alphabet: %d units %s", len(alphabet), "".join(alphabet.units)[:120])
    remap_tensor = None if remap is None else tf.constant(remap, tf.int64)
    schema = transform_output.transformed_metadata.schema

    training = config.training
    if fn_args.train_steps and training.epochs is None:
        training = training.model_copy(update={"train_steps": fn_args.train_steps})
    examples = count_examples(fn_args.train_files) if training.epochs is not None else None
    schedule = train.Schedule.plan(training, examples)

    curriculum = (
        data.Curriculum(training.curriculum_steps, training.curriculum_max_chars)
        if training.curriculum_steps
        else None
    )
    train_data = _batches(
        fn_args,
        fn_args.train_files,
        schema,
        remap_tensor,
        config,
        training.batch_size,
        True,
        curriculum,
    )
    eval_data = _batches(
        fn_args, fn_args.eval_files, schema, remap_tensor, config, training.eval_batch_size, False
    )
    backup = resume_dir(fn_args, config, start)

    def warm_start(recognizer) -> None:
        log.info(export.warm_start(recognizer, alphabet, config, start, required))

    trainer, result = train.run_training(
        config,
        alphabet,
        schedule,
        train_data,
        eval_data,
        fn_args.model_run_dir,
        eval_steps=fn_args.eval_steps or training.eval_steps,
        prepare=warm_start if start else None,
        extra_callbacks=(curriculum,) if curriculum else (),
        backup_dir=backup,
    )
    if tf.io.gfile.exists(backup):  # BackupAndRestore empties it; the folder goes too
        tf.io.gfile.rmtree(backup)
    train.write_history(result, os.path.join(fn_args.model_run_dir, "history.json"))
    export.export_saved_model(trainer.recognizer, alphabet, config, fn_args.serving_model_dir)
