"""MirroredStrategy: training runs on two replicas (two logical CPU devices) and its loss falls;
the weight averages (``training.ema_momentum``) are evaluated there too."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import pipeline
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, "tests")
from testlib import small_config
from trainer_module import data, train
from trainer_module.alphabet import Alphabet

config = small_config("training.train_steps=240", "training.steps_per_evaluation=80",
                      "augmentation.enabled=false", "training.batch_size=16",
                      "training.ema_momentum=0.9")
rows = data.read_csv_rows(sys.argv[1])
alphabet = Alphabet.from_labels([r.label for r in rows], config.alphabet)
strategy = train.select_strategy([d.name for d in tf.config.list_logical_devices("CPU")])
dataset = strategy.experimental_distribute_dataset(
    data.csv_dataset(rows, alphabet, config, 16, training=True))
eval_data = strategy.experimental_distribute_dataset(
    data.csv_dataset(rows, alphabet, config, 32, training=False))
schedule = train.Schedule.plan(config.training)
with strategy.scope():
    trainer = train.build_trainer(config, alphabet, schedule.total_steps)
# a distributed dataset needs its step count: the 64 lines are 2 batches of 32
result = train.fit(trainer, dataset, eval_data, config, schedule, sys.argv[2], eval_steps=2)
print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                  "devices": list(strategy.extended.worker_devices),
                  "loss": result.history["loss"], "val_cer": result.history["val_cer"],
                  "averaged": train.swap_averaged_weights(trainer)}))
"""


def test_mirrored_strategy_trains_on_two_replicas_and_learns(lines_dir, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(lines_dir / "labels.csv"), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["devices"] == [
        "/job:localhost/replica:0/task:0/device:CPU:0",
        "/job:localhost/replica:0/task:0/device:CPU:1",
    ]
    losses = report["loss"]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]
    assert losses[-1] < 0.85 * losses[0]
    assert report["averaged"] and report["val_cer"][-1] < report["val_cer"][0], report
