"""Training: CTC loss on true lengths, Adam with a schedule, evaluation with CER, resumable fits.

``fit`` is shared by the TFX Trainer (``run.run_fn``) and the standalone CLI
(``python -m trainer_module.train``); it knows nothing of where batches come from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from pipeline.config import CrnnConfig, ModelConfig, TrainingConfig
from trainer_module.alphabet import Alphabet
from trainer_module.metrics import EditDistanceRate, ExactMatchRate
from trainer_module.model import build_recognizer, policy_scope

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 20  # the longest wait between two progress lines while training

NON_FINITE_LOSS = (
    "CTC loss is not finite. A label needs more time steps than its image width gives (ingest "
    "should have quarantined it), or training diverged (lower training.learning_rate)."
)


def sparse_labels(labels: dict) -> tf.SparseTensor:
    """Dense padded ids + lengths -> the sparse labels CTC and edit distance take."""
    return tf.RaggedTensor.from_tensor(labels["ids"], lengths=labels["length"]).to_sparse()


class CTCTrainer(tf.keras.Model):
    """The recognizer plus CTC loss, for ``fit``; test steps also report CER and line accuracy
    (greedy decoding, on unit ids)."""

    def __init__(self, recognizer: tf.keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.recognizer = recognizer
        self.loss_tracker = tf.keras.metrics.Mean(name="loss")
        self.cer = EditDistanceRate(name="cer")
        self.line_accuracy = ExactMatchRate(name="line_accuracy")

    def call(self, inputs, training=False):
        return self.recognizer(inputs, training=training)

    @property
    def metrics(self):
        return [self.loss_tracker, self.cer, self.line_accuracy]

    def ctc_loss(self, labels: dict, outputs: dict) -> tf.Tensor:
        per_example = tf.nn.ctc_loss(
            labels=sparse_labels(labels),
            logits=tf.cast(outputs["logits"], tf.float32),
            label_length=None,
            logit_length=outputs["logit_length"],
            logits_time_major=False,
            blank_index=-1,
        )
        return tf.debugging.assert_all_finite(per_example, NON_FINITE_LOSS)

    def train_step(self, data):
        inputs, labels = data
        with tf.GradientTape() as tape:
            outputs = self(inputs, training=True)
            per_example = self.ctc_loss(labels, outputs)
            loss = tf.nn.compute_average_loss(per_example)
            if self.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.losses))
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        self.loss_tracker.update_state(per_example)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        inputs, labels = data
        outputs = self(inputs, training=False)
        self.loss_tracker.update_state(self.ctc_loss(labels, outputs))
        logits = tf.transpose(outputs["logits"], [1, 0, 2])
        decoded, _ = tf.nn.ctc_greedy_decoder(
            logits, outputs["logit_length"], blank_index=logits.shape[-1] - 1
        )
        truth = sparse_labels(labels)
        self.cer.update_state(truth, decoded[0])
        self.line_accuracy.update_state(truth, decoded[0])
        return {metric.name: metric.result() for metric in self.metrics}


class WarmUp(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to the wrapped schedule's value over ``warmup_steps``."""

    def __init__(self, schedule, warmup_steps: int):
        self.schedule, self.warmup_steps = schedule, warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        ramp = tf.minimum(1.0, (step + 1) / float(max(self.warmup_steps, 1)))
        return self.schedule(step) * ramp

    def get_config(self):
        return {"warmup_steps": self.warmup_steps}


def learning_rate(config: TrainingConfig, total_steps: int):
    """The configured schedule: constant, exponential decay, or cosine to zero; optional warm-up."""
    schedules = tf.keras.optimizers.schedules
    if config.lr_schedule == "exponential":
        schedule = schedules.ExponentialDecay(
            config.learning_rate, config.decay_steps, config.decay_rate
        )
    elif config.lr_schedule == "cosine":
        schedule = schedules.CosineDecay(config.learning_rate, max(total_steps, 1))
    else:
        schedule = schedules.ExponentialDecay(config.learning_rate, 1, 1.0)  # constant
    return WarmUp(schedule, config.warmup_steps) if config.warmup_steps else schedule


def select_strategy(devices: list[str] | None = None) -> tf.distribute.Strategy:
    """MirroredStrategy over the given devices or over all visible GPUs when there are several;
    the default strategy otherwise (one GPU or the CPU)."""
    if devices:
        return tf.distribute.MirroredStrategy(devices)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy([gpu.name for gpu in gpus])
    return tf.distribute.get_strategy()


BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bfloat16_flags(cpuinfo: str = "/proc/cpuinfo") -> list[str] | None:
    """The bfloat16 instructions this CPU reports (AVX512_BF16, AMX), or None if its flags
    cannot be read (not Linux)."""
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        return None
    return [flag for flag in BF16_FLAGS if flag in flags]


def precision_policy(config: TrainingConfig, gpu: bool, cpu_bf16: bool) -> str:
    """The Keras policy ``training.mixed_precision`` asks for on this hardware: float16 compute
    on GPUs; bfloat16 on CPUs with bfloat16 instructions (oneDNN runs its convolutions about 1.5x
    as fast there; the model keeps its LSTMs in float32); float32 otherwise. Variables, loss and
    logits stay float32 under every policy."""
    if not config.mixed_precision:
        return "float32"
    if gpu:
        return "mixed_float16"
    if cpu_bf16:
        return "mixed_bfloat16"
    log.warning(
        "training.mixed_precision is set but there is no GPU and this CPU reports no bfloat16 "
        "instructions (%s): using float32",
        " or ".join(BF16_FLAGS),
    )
    return "float32"


@contextlib.contextmanager
def training_precision(config: TrainingConfig) -> Iterator[str]:
    """The global Keras policy for training on the visible hardware, set for the block (the
    models built in it keep theirs) and put back after it, so that what runs next in the same
    process (export, evaluation) builds in the policy it had."""
    policy = precision_policy(
        config, bool(tf.config.list_physical_devices("GPU")), bool(cpu_bfloat16_flags())
    )
    with policy_scope(policy):
        yield policy


@dataclass
class Schedule:
    """How ``total_steps`` are cut into Keras epochs (one evaluation after each)."""

    epochs: int
    steps_per_epoch: int

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @classmethod
    def plan(cls, config: TrainingConfig, train_examples: int | None = None) -> Schedule:
        if config.epochs is not None:
            if not train_examples:
                raise ValueError("training.epochs needs the number of training examples")
            return cls(config.epochs, math.ceil(train_examples / config.batch_size))
        epochs = math.ceil(config.train_steps / config.steps_per_evaluation)
        return cls(epochs, math.ceil(config.train_steps / epochs))


class ProgressLog(tf.keras.callbacks.Callback):
    """One line per evaluation a person can follow (step, losses, CER, learning rate, speed),
    and between them tqdm's progress over all steps (rate and time left) at least every
    ``PROGRESS_SECONDS``."""

    def __init__(self, schedule: Schedule, batch_size: int):
        super().__init__()
        self.schedule, self.batch_size = schedule, batch_size
        self.bar = None

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:  # made here, after BackupAndRestore has put back a resumed step
            done = int(tf.keras.backend.get_value(self.model.optimizer.iterations)) - 1
            if done:
                log.info("resumed from the backup at step %d", done)
            self.bar = tqdm(
                total=self.schedule.total_steps,
                initial=done,
                desc="training",
                unit="step",
                mininterval=PROGRESS_SECONDS,
            )
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self.started
        step = (epoch + 1) * self.schedule.steps_per_epoch
        rate = self.schedule.steps_per_epoch * self.batch_size / max(seconds, 1e-9)
        optimizer = self.model.optimizer
        lr = optimizer.learning_rate
        lr = float(tf.keras.backend.get_value(lr(optimizer.iterations) if callable(lr) else lr))
        log.info(
            "step %d/%d  loss %.3f  val_loss %.3f  val_cer %.4f  val_line_acc %.3f  lr %.2e  "
            "%.0f samples/s",
            step,
            self.schedule.total_steps,
            logs.get("loss", float("nan")),
            logs.get("val_loss", float("nan")),
            logs.get("val_cer", float("nan")),
            logs.get("val_line_accuracy", float("nan")),
            lr,
            rate,
        )


class AveragingAdam(tf.keras.optimizers.Adam):
    """Adam keeping a moving average of the weights (``use_ema``) whose momentum ramps up as
    ``tf.train.ExponentialMovingAverage``'s does with ``num_updates``: min(momentum,
    (1 + t) / (10 + t)) at step t. The average forgets the initial weights within the first
    steps, where a constant 0.999 would still give them 37% of the weight after 1,000 steps."""

    def _update_model_variables_moving_average(self, var_list):
        if not self.use_ema:
            return
        step = tf.cast(self.iterations, tf.float32)
        momentum = tf.minimum(self.ema_momentum, (1.0 + step) / (10.0 + step))

        def update(average, variable):
            average.assign(momentum * average + (1.0 - momentum) * variable)

        for variable in var_list:
            average = self._model_variables_moving_average[
                self._index_dict[self._var_key(variable)]
            ]
            self._distribution_strategy.extended.update(
                average, update, args=(variable,), group=False
            )


def build_trainer(config: CrnnConfig, alphabet: Alphabet, total_steps: int) -> CTCTrainer:
    """Recognizer + CTC trainer compiled with Adam and the configured schedule, keeping a moving
    average of the weights with ``training.ema_momentum`` (call inside the strategy's scope)."""
    recognizer = build_recognizer(config.model, alphabet.num_classes)
    trainer = CTCTrainer(recognizer)
    momentum = config.training.ema_momentum
    schedule = learning_rate(config.training, total_steps)
    if momentum is None:
        optimizer = tf.keras.optimizers.Adam(schedule)
    else:
        optimizer = AveragingAdam(schedule, use_ema=True, ema_momentum=momentum)
    trainer.compile(optimizer=optimizer)
    return trainer


def swap_averaged_weights(model: tf.keras.Model) -> bool:
    """Exchange the model's trainable weights with the moving averages its optimizer keeps
    (``use_ema``); a second call undoes the first. False (nothing done) when the optimizer keeps
    no averages or has not made them yet (before the first step)."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    averages = getattr(optimizer, "_model_variables_moving_average", None)
    if not getattr(optimizer, "use_ema", False) or not averages:
        return False
    for variable in model.trainable_variables:
        average = averages[optimizer._index_dict[optimizer._var_key(variable)]]
        raw = tf.identity(variable)
        variable.assign(average)
        average.assign(raw)
    return True


class AveragedWeights(tf.keras.callbacks.Callback):
    """With ``training.ema_momentum``, what is evaluated, kept as the best epoch and exported is
    the moving average of the weights, while training steps the raw ones. This callback, first
    in the list, puts the averages into the model when an evaluation begins; its ``swap_back``,
    after EarlyStopping has copied the evaluated weights and before BackupAndRestore saves the
    raw ones (with their averages), puts them back at the end of the epoch. After the last step
    ``Model.fit`` writes the averages into the model (``finalize_variable_values``), and
    EarlyStopping then restores the best evaluated averages."""

    def __init__(self):
        super().__init__()
        self.swapped = False
        self.swap_back = _SwapBack(self)

    def on_test_begin(self, logs=None):
        if not self.swapped:
            self.swapped = swap_averaged_weights(self.model)

    def restore_raw(self) -> None:
        if self.swapped:
            swap_averaged_weights(self.model)
            self.swapped = False


class _SwapBack(tf.keras.callbacks.Callback):
    def __init__(self, averaged: AveragedWeights):
        super().__init__()
        self.averaged = averaged

    def on_epoch_end(self, epoch, logs=None):
        self.averaged.restore_raw()


@dataclass
class FitResult:
    history: dict
    schedule: Schedule
    seconds: float


def fit(
    trainer: CTCTrainer,
    train_data: tf.data.Dataset,
    eval_data: tf.data.Dataset | None,
    config: CrnnConfig,
    schedule: Schedule,
    run_dir: str | Path,
    eval_steps: int | None = None,
    extra_callbacks: tuple[tf.keras.callbacks.Callback, ...] = (),
    backup_dir: str | Path | None = None,
) -> FitResult:
    """Train with evaluation after every epoch; resumable from ``backup_dir`` after a kill.

    ``run_dir`` receives TensorBoard logs (``logs/``) and, unless ``backup_dir`` is given, the
    backup that BackupAndRestore resumes from (``backup/``). The weights of the epoch with the
    best eval CER are restored at the end. With ``training.ema_momentum`` the weights evaluated,
    restored and left in the model are the moving averages (``AveragedWeights``).
    """
    run_dir = Path(run_dir)
    averaged = AveragedWeights() if config.training.ema_momentum is not None else None
    callbacks = [
        *([averaged] if averaged else []),
        tf.keras.callbacks.TensorBoard(str(run_dir / "logs"), update_freq="epoch"),
        ProgressLog(schedule, config.training.batch_size),
        *extra_callbacks,
    ]
    if eval_data is not None:
        callbacks.append(
            tf.keras.callbacks.EarlyStopping(
                monitor="val_cer",
                mode="min",
                patience=config.training.early_stopping_patience or schedule.epochs + 1,
                restore_best_weights=True,
            )
        )
    if averaged:
        callbacks.append(averaged.swap_back)
    callbacks.append(tf.keras.callbacks.BackupAndRestore(str(backup_dir or run_dir / "backup")))
    started = time.perf_counter()
    history = trainer.fit(
        train_data,
        validation_data=eval_data,
        validation_steps=eval_steps,
        epochs=schedule.epochs,
        steps_per_epoch=schedule.steps_per_epoch,
        callbacks=callbacks,
        verbose=0,
    )
    return FitResult(history.history, schedule, time.perf_counter() - started)


def run_training(
    config: CrnnConfig,
    alphabet: Alphabet,
    schedule: Schedule,
    train_data: tf.data.Dataset,
    eval_data: tf.data.Dataset | None,
    run_dir: str | Path,
    eval_steps: int | None = None,
    prepare: Callable[[tf.keras.Model], None] | None = None,
    extra_callbacks: tuple[tf.keras.callbacks.Callback, ...] = (),
    backup_dir: str | Path | None = None,
) -> tuple[CTCTrainer, FitResult]:
    """Train on every visible GPU (or the CPU): strategy, precision, trainer, then ``fit``.
    ``prepare`` gets the fresh recognizer before training (e.g. a warm start)."""
    strategy = select_strategy()
    with training_precision(config.training) as policy:
        log.info(
            "training %d steps (%d evaluations) on %d replica(s), policy %s",
            schedule.total_steps,
            schedule.epochs,
            strategy.num_replicas_in_sync,
            policy,
        )
        with strategy.scope():
            trainer = build_trainer(config, alphabet, schedule.total_steps)
        if prepare is not None:
            prepare(trainer.recognizer)
        result = fit(
            trainer,
            train_data,
            eval_data,
            config,
            schedule,
            run_dir,
            eval_steps,
            extra_callbacks,
            backup_dir,
        )
    return trainer, result


def write_history(result: FitResult, path: str) -> None:
    """The loss/CER curves as JSON (local paths and gs:// alike), with the step of each point."""
    points = len(result.history.get("loss", []))
    steps = [
        min(result.schedule.total_steps, (i + 1) * result.schedule.steps_per_epoch)
        for i in range(points)
    ]
    with tf.io.gfile.GFile(path, "w") as out:
        out.write(
            json.dumps({"seconds": result.seconds, "steps": steps, **result.history}, indent=1)
        )


def same_architecture(a: ModelConfig, b: ModelConfig) -> bool:
    """Whether weights of a model built from ``a`` fit one built from ``b``."""
    return a.model_dump() == b.model_dump()
