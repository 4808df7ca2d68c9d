"""Baseline and warm start without Resolver nodes (which open-source Kubeflow cannot run).

``LatestPushedModel`` copies the newest complete version under the serving directory into its
Model artifact (``<uri>/Format-Serving``, where Trainer and Evaluator read a model), or leaves it
empty with ``found = 0`` when nothing was pushed yet. The Trainer warm-starts from it.

``BaselineModel`` gives the Evaluator its baseline: the latest pushed model, or, before the first
push, the candidate itself, so that the "not worse than the baseline" check passes trivially and
the CER bound alone decides. Both are plain container steps on every orchestrator.

Caching: the lookup has no inputs, so its cache key would never change; ``serving_state``
(what is pushed, read when the pipeline is built) makes a new push re-run it.
"""

import os  # no `from __future__ import annotations`: TFX reads these signatures' real types

from tfx import v1 as tfx
from tfx.types import standard_artifacts
from tfx.utils import io_utils

from components import serving_layout

SERVING = "Format-Serving"
Parameter = tfx.dsl.components.Parameter
InputArtifact = tfx.dsl.components.InputArtifact
OutputArtifact = tfx.dsl.components.OutputArtifact


@tfx.dsl.components.component
def LatestPushedModel(
    serving_dir: Parameter[str],
    serving_state: Parameter[str],
    model: OutputArtifact[standard_artifacts.Model],
) -> tfx.dsl.components.OutputDict(found=int):
    del serving_state  # only part of the cache key
    latest = serving_layout.newest(serving_dir)
    if latest:
        io_utils.copy_dir(latest, os.path.join(model.uri, SERVING))
        model.set_string_custom_property("source", latest)
    model.set_int_custom_property("found", int(bool(latest)))
    return {"found": int(bool(latest))}


@tfx.dsl.components.component
def BaselineModel(
    latest: InputArtifact[standard_artifacts.Model],
    candidate: InputArtifact[standard_artifacts.Model],
    baseline: OutputArtifact[standard_artifacts.Model],
) -> tfx.dsl.components.OutputDict(is_candidate=int):
    pushed = os.path.join(latest.uri, SERVING)
    use_pushed = serving_layout.is_saved_model(pushed)
    source = pushed if use_pushed else os.path.join(candidate.uri, SERVING)
    io_utils.copy_dir(source, os.path.join(baseline.uri, SERVING))
    baseline.set_string_custom_property(
        "source", latest.get_string_custom_property("source") if use_pushed else "candidate"
    )
    baseline.set_int_custom_property("is_candidate", int(not use_pushed))
    return {"is_candidate": int(not use_pushed)}
