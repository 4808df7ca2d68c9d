"""TFMA metrics on decoded text: character error rate and line accuracy.

Keras metrics in TFMA get labels cast to float, which fails for text (tfx#2920), so these are
TFMA metrics with a Beam combiner over (label, prediction) strings, in the shape of TFMA's own
ExactMatch. The accumulator is the trainer's ``TextScore``, so the Evaluator's figures are the
same arithmetic as ``serving.evaluate``'s: total edits / total reference characters.

References are normalised as training saw them (``|a|b|`` units joined, case folded), using the
alphabet configuration passed in the MetricConfig's ``config`` JSON.
"""

from __future__ import annotations

import apache_beam as beam
from tensorflow_model_analysis.metrics import metric_types, metric_util

from pipeline.config import AlphabetConfig
from trainer_module.alphabet import label_text
from trainer_module.metrics import TextScore

CER = "cer"
LINE_ACCURACY = "line_accuracy"


def _text(value) -> str:
    value = value.reshape(-1)[0] if hasattr(value, "reshape") else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class _TextScoreCombiner(beam.CombineFn):
    def __init__(self, key: metric_types.MetricKey, eval_config, alphabet: dict | None, figure):
        self._key, self._eval_config, self._figure = key, eval_config, figure
        self._alphabet = AlphabetConfig.model_validate(alphabet or {})

    def create_accumulator(self) -> TextScore:
        return TextScore()

    def add_input(self, score: TextScore, element: metric_types.StandardMetricInputs) -> TextScore:
        for label, prediction, _ in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            model_name=self._key.model_name,
            output_name=self._key.output_name,
            flatten=False,
            squeeze=False,
        ):
            score.add(label_text(_text(label), self._alphabet), _text(prediction))
        return score

    def merge_accumulators(self, scores) -> TextScore:
        total = TextScore()
        for score in scores:
            total = total.merge(score)
        return total

    def extract_output(self, score: TextScore) -> dict:
        return {self._key: self._figure(score)}


def _computations(figure):
    def computations(
        name: str,
        eval_config=None,
        model_name: str = "",
        output_name: str = "",
        sub_key=None,
        aggregation_type=None,
        class_weights=None,
        example_weighted: bool = False,
        alphabet: dict | None = None,
    ):
        key = metric_types.MetricKey(
            name=name,
            model_name=model_name,
            output_name=output_name,
            sub_key=sub_key,
            example_weighted=example_weighted,
        )
        combiner = _TextScoreCombiner(key, eval_config, alphabet, figure)
        return [metric_types.MetricComputation(keys=[key], preprocessors=None, combiner=combiner)]

    return computations


class CharacterErrorRate(metric_types.Metric):
    """Total edit distance / total reference characters over the slice (lower is better)."""

    def __init__(self, name: str = CER, alphabet: dict | None = None):
        super().__init__(
            metric_util.merge_per_key_computations(_computations(lambda s: s.cer)),
            name=name,
            alphabet=alphabet,
        )


class LineAccuracy(metric_types.Metric):
    """Share of lines whose decoded text equals the reference exactly (higher is better)."""

    def __init__(self, name: str = LINE_ACCURACY, alphabet: dict | None = None):
        super().__init__(
            metric_util.merge_per_key_computations(_computations(lambda s: s.line_accuracy)),
            name=name,
            alphabet=alphabet,
        )


metric_types.register_metric(CharacterErrorRate)
metric_types.register_metric(LineAccuracy)
