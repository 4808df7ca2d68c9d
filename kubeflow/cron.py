"""Schedules: Kubeflow Pipelines takes a 6-field cron (seconds first), Vertex AI a 5-field one.

KFP's ScheduledWorkflow controller uses robfig/cron with a seconds field:
``second minute hour day-of-month month day-of-week``, so ``0 0 3 * * *`` is 03:00 every day
(in the controller's time zone, UTC on most clusters). Vertex AI schedules are unix cron with
minute resolution; a 6-field expression whose seconds field is 0 converts by dropping it.
"""

from __future__ import annotations

import re

from kubeflow.errors import UsageError

_FIELD = re.compile(r"^[0-9A-Za-z*?/,#-]+$")
EXAMPLE = "'0 0 3 * * *' (03:00 every day)"


def kfp_cron(expression: str) -> str:
    """The expression, normalised to single spaces, once it has six plausible fields."""
    fields = expression.split()
    if len(fields) != 6:
        raise UsageError(
            f"--cron {expression!r}: Kubeflow Pipelines needs 6 fields, seconds first "
            f"(second minute hour day-of-month month day-of-week), e.g. {EXAMPLE}; "
            f"got {len(fields)}"
        )
    bad = [field for field in fields if not _FIELD.match(field)]
    if bad:
        raise UsageError(f"--cron {expression!r}: not a cron field: {bad[0]!r}")
    return " ".join(fields)


def vertex_cron(expression: str) -> str:
    """The 5-field unix cron Vertex AI takes, from the same 6-field expression."""
    seconds, *rest = kfp_cron(expression).split()
    if seconds != "0":
        raise UsageError(
            f"--cron {expression!r}: Vertex AI schedules have minute resolution, so the "
            f"seconds field must be 0, e.g. {EXAMPLE}"
        )
    return " ".join(rest)
