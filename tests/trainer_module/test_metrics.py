"""CER is total edits over total reference characters; the in-graph metrics agree."""

import pytest
import tensorflow as tf

from trainer_module.metrics import (
    EditDistanceRate,
    ExactMatchRate,
    character_error_rate,
    confusions,
    line_accuracy,
    score,
)


def test_cer_is_total_edits_over_total_characters_not_a_mean_of_rates():
    references = ["a", "abcdefghij"]
    predictions = ["b", "abcdefghij"]
    # Mean of per-line rates would be (1/1 + 0/10) / 2 = 0.5; the set's CER is 1/11.
    assert character_error_rate(references, predictions) == pytest.approx(1 / 11)
    assert line_accuracy(references, predictions) == 0.5


def test_edits_count_insertions_deletions_and_substitutions():
    total = score(["kitten", "abc", "xyz"], ["sitting", "ab", "xyz"])
    assert (total.edits, total.characters, total.lines, total.exact) == (4, 12, 3, 1)
    assert score([], []).cer == 0.0
    with pytest.raises(ValueError, match="2 references but 1 predictions"):
        score(["a", "b"], ["a"])


def test_scores_merge_across_shards():
    merged = score(["abc"], ["abd"]).merge(score(["hello"], ["hello"]))
    assert merged.cer == pytest.approx(1 / 8) and merged.line_accuracy == 0.5


def test_in_graph_metrics_equal_the_plain_functions():
    truth = [[1, 2, 3], [4, 5], [6]]
    hypothesis = [[1, 3], [4, 5], [7, 6]]
    as_sparse = lambda rows: tf.ragged.constant(rows, dtype=tf.int64).to_sparse()  # noqa: E731
    cer, accuracy = EditDistanceRate(), ExactMatchRate()
    cer.update_state(as_sparse(truth), as_sparse(hypothesis))
    accuracy.update_state(as_sparse(truth), as_sparse(hypothesis))
    as_text = lambda rows: ["".join(chr(97 + i) for i in row) for row in rows]  # noqa: E731
    assert float(cer.result()) == pytest.approx(
        character_error_rate(as_text(truth), as_text(hypothesis))
    )
    assert float(accuracy.result()) == pytest.approx(1 / 3)


def test_confusions_name_each_edit_and_add_up_to_the_cer_edits():
    references = ["1920s", "ab-c", "x", "kiwi"]
    predictions = ["19205", "ab c", "xy", "kiw"]
    counts = confusions(references, predictions)
    assert counts == {("s", "5"): 1, ("-", " "): 1, ("", "y"): 1, ("i", ""): 1}
    assert sum(counts.values()) == score(references, predictions).edits
