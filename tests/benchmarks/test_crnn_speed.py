"""The CRNN speed section: one column per figure measured, named by batch and precision."""

import pytest

from benchmarks import crnn_speed


def test_each_precision_gets_its_own_batch_1_and_batch_64_columns():
    rows = [["32x100", "22.0", "40.7", "75.0", "17.8", "132.2"]]
    text = crnn_speed.markdown(rows, ("float32", "bfloat16"), 5, 1, "pinned to core 0", "2.16.2")
    header, rule, row = (line for line in text.splitlines() if line.startswith("|"))
    assert header.count("|") == rule.count("|") == row.count("|") == 7
    assert "| inference lines/s, batch 1 (float32) | batch 64 (float32) |" in header
    assert "| inference lines/s, batch 1 (bfloat16) | batch 64 (bfloat16) |" in header
    assert "(per core)" in text and "float32 and bfloat16" in text


def test_a_row_that_does_not_fit_the_columns_is_refused():
    with pytest.raises(ValueError, match="columns"):
        crnn_speed.markdown(
            [["32x100", "22.0", "40.7", "75.0"]], ("float32", "bfloat16"), 5, 1, "", ""
        )
