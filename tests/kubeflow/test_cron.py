"""Cron expressions: 6 fields for Kubeflow Pipelines, 5 (seconds dropped) for Vertex AI."""

import pytest

from kubeflow.cron import kfp_cron, vertex_cron
from kubeflow.errors import UsageError


def test_kfp_takes_six_fields_seconds_first():
    assert kfp_cron("0 0 3 * * *") == "0 0 3 * * *"
    assert kfp_cron(" 0  */15 *  * * MON-FRI ") == "0 */15 * * * MON-FRI"
    assert kfp_cron("0 0 3 ? * 1,3,5") == "0 0 3 ? * 1,3,5"


@pytest.mark.parametrize("expression", ["0 3 * * *", "0 0 3 * * * 2030", "", "@daily"])
def test_other_field_counts_are_refused_with_an_example(expression):
    with pytest.raises(UsageError, match=r"6 fields, seconds first .*'0 0 3 \* \* \*'"):
        kfp_cron(expression)


def test_a_field_that_is_not_cron_is_named():
    with pytest.raises(UsageError, match=r"not a cron field: '3;'"):
        kfp_cron("0 0 3; * * *")


def test_vertex_drops_a_zero_seconds_field():
    assert vertex_cron("0 0 3 * * *") == "0 3 * * *"
    assert vertex_cron("0 30 2 * * 1-5") == "30 2 * * 1-5"


def test_vertex_refuses_seconds_it_cannot_schedule():
    with pytest.raises(UsageError, match="seconds field must be 0"):
        vertex_cron("30 0 3 * * *")
