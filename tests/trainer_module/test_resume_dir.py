"""Where a killed Trainer's state waits for the re-run: the same folder only for the same
training inputs."""

from types import SimpleNamespace

from testlib import small_config

from trainer_module.run import resume_dir


def args(data="data-1", steps=100, run_dir="/root/pipeline/Trainer/model_run/7"):
    return SimpleNamespace(
        custom_config={"data": data},
        transform_graph_path="/root/pipeline/Transform/transform_graph/5",
        train_steps=steps,
        model_run_dir=run_dir,
    )


def test_a_rerun_of_the_same_training_finds_the_same_folder_beside_the_trainer_runs():
    config = small_config()
    first = resume_dir(args(), config, None)
    assert first.startswith("/root/pipeline/Trainer/resume/")
    rerun = args(run_dir="/root/pipeline/Trainer/model_run/9")  # a new execution
    assert resume_dir(rerun, config, None) == first
    # settings that do not shape the training state leave it where it is
    gate = small_config("evaluation.cer_threshold=0.5", "pipeline.name=renamed")
    assert resume_dir(args(), gate, None) == first


def test_other_data_settings_steps_or_base_model_find_another_folder():
    config = small_config()
    first = resume_dir(args(), config, None)
    assert resume_dir(args(data="data-2"), config, None) != first
    assert resume_dir(args(steps=200), config, None) != first
    assert resume_dir(args(), config, "/serving/1") != first
    assert resume_dir(args(), small_config("training.learning_rate=0.01"), None) != first
    assert resume_dir(args(), small_config("model.rnn_units=40"), None) != first
