"""The CRNN speed section: one column per figure measured, named by batch and precision; the
training step is timed under each precision's policy."""

import pytest

from benchmarks import crnn_speed


def test_each_precision_gets_its_own_batch_1_and_batch_64_columns():
    rows = [["32x100", "22.0", "33.1", "40.7", "75.0", "17.8", "132.2"]]
    text = crnn_speed.markdown(rows, ("float32", "bfloat16"), 5, 1, "pinned to core 0", "2.16.2")
    header, rule, row = (line for line in text.splitlines() if line.startswith("|"))
    assert header.count("|") == rule.count("|") == row.count("|") == 8
    assert "| training samples/s (float32) | training samples/s (bfloat16) |" in header
    assert "| inference lines/s, batch 1 (float32) | batch 64 (float32) |" in header
    assert "| inference lines/s, batch 1 (bfloat16) | batch 64 (bfloat16) |" in header
    assert "(per core)" in text and "float32 and bfloat16" in text


def test_a_row_that_does_not_fit_the_columns_is_refused():
    with pytest.raises(ValueError, match="columns"):
        crnn_speed.markdown(
            [["32x100", "22.0", "40.7", "75.0", "1.0"]], ("float32", "bfloat16"), 5, 1, "", ""
        )


def test_the_bfloat16_training_step_runs_under_mixed_bfloat16_and_leaves_the_policy(monkeypatch):
    import tensorflow as tf

    from trainer_module import train

    built = []
    real = train.build_trainer

    def recording(config, alphabet, total_steps):
        trainer = real(config, alphabet, total_steps)
        built.append(trainer.recognizer.get_layer("conv1").dtype_policy.name)
        return trainer

    monkeypatch.setattr(train, "build_trainer", recording)
    rates = crnn_speed.training_samples_per_second(32, 1, 1, "bfloat16")
    assert built == ["mixed_bfloat16"] and len(rates) == 1 and rates[0] > 0
    assert tf.keras.mixed_precision.global_policy().name == "float32"
