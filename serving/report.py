"""An HTML evaluation report of a pushed model: one self-contained page to judge it by its mistakes.

    python -m serving.report [--model outputs/serving] --csv data/test/labels.csv --out report.html
    python -m serving.report --model DIR --examples 'outputs/pipeline/.../Split-eval/*.gz' --out R

The page holds the summary (CER, line accuracy, lines/s: the same figures as
``serving.evaluate``, computed by the same function), CER by label length and by source as
plots (inline SVG, drawn by matplotlib), the most confused characters (rapidfuzz's edit
operations: substitutions, deletions, insertions), and the worst lines as images (data URIs)
with truth and prediction side by side, their differences highlighted. Nothing is fetched when
the page opens: it can be mailed, archived as a pipeline artifact or opened offline.

Inputs: one or more ``path;label`` CSVs (the source of a line is its CSV), or tf.Example
TFRecords as the pipeline's ExampleGen writes them (``image``, ``label`` and, when present,
``source``), e.g. the eval split; ``local_runner.py --report`` does the latter for the model
its run trained.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import functools
import glob
import html
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import serving  # noqa: F401  (process set-up before TensorFlow)
from serving.evaluate import Evaluation, evaluate_images, read_images
from serving.options import add_decoding_arguments, add_model_argument, recognizer_from_args
from trainer_module.data import LabelledImage, read_csv_rows
from trainer_module.metrics import TextScore, length_bucket, score_by

DEFAULT_WORST = 30
TOP_CONFUSIONS = 20
EMPTY = "∅"  # a deleted or inserted character's other side
SPACE = "␣"  # a space, made visible in the confusion table


@dataclass
class Line:
    """One scored line: its image, truth (as the model should read it), prediction, source."""

    image: bytes
    truth: str
    prediction: str
    confidence: float
    source: str
    where: str  # file:row or record number

    @functools.cached_property
    def edits(self) -> int:
        from rapidfuzz.distance import Levenshtein

        return Levenshtein.distance(self.truth, self.prediction)


@dataclass
class ReportData:
    model_dir: str
    inputs: list[str]
    evaluation: Evaluation
    lines: list[Line]
    by_length: dict[str, TextScore] = field(default_factory=dict)
    by_source: dict[str, TextScore] = field(default_factory=dict)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    worst: list[Line] = field(default_factory=list)


# --- inputs ------------------------------------------------------------------------------------


@dataclass
class Inputs:
    rows: list[LabelledImage]
    images: list[bytes]
    sources: list[str]  # the group each row is reported under


def rows_from_csvs(csvs: Sequence[str], delimiter: str = ";") -> Inputs:
    """Rows of every CSV and their encoded images; a row's source is its CSV."""
    rows: list[LabelledImage] = []
    sources: list[str] = []
    for csv in csvs:
        found = read_csv_rows(csv, delimiter)
        if not found:
            raise ValueError(f"{csv}: no rows")
        rows.extend(found)
        sources.extend([str(csv)] * len(found))
    images, unreadable = read_images(rows)
    if unreadable:
        more = f"\n  ... and {len(unreadable) - 10} more" if len(unreadable) > 10 else ""
        listed = "\n  ".join(map(str, unreadable[:10]))
        raise ValueError(f"cannot read images:\n  {listed}{more}")
    return Inputs(rows, images, sources)


def rows_from_examples(pattern: str) -> Inputs:
    """tf.Examples of the ExampleGen (GZIP TFRecords; plain ones too) matching a glob; a row's
    source is its ``source`` feature, or its folder (the split) without one."""
    import tensorflow as tf

    files = sorted(glob.glob(pattern))
    if not files:
        raise ValueError(f"{pattern}: no TFRecord files match")
    inputs = Inputs([], [], [])
    for path in files:
        compression = "GZIP" if path.endswith(".gz") else ""
        for number, record in enumerate(tf.data.TFRecordDataset(path, compression), start=1):
            example = tf.train.Example.FromString(record.numpy())
            features = example.features.feature

            def text(name: str, features=features) -> str:
                values = features[name].bytes_list.value if name in features else []
                return values[0].decode("utf-8") if values else ""

            if "image" not in features or "label" not in features:
                raise ValueError(f"{path}: record {number}: needs 'image' and 'label' features")
            inputs.images.append(features["image"].bytes_list.value[0])
            inputs.rows.append(LabelledImage(text("path"), text("label"), f"{path}#{number}"))
            inputs.sources.append(text("source") or Path(path).parent.name)
    return inputs


# --- figures -----------------------------------------------------------------------------------


def confusions(lines: Sequence[Line], top: int = TOP_CONFUSIONS) -> list[tuple[str, str, int]]:
    """The most frequent edit operations (truth character, predicted character, count)."""
    from rapidfuzz.distance import Levenshtein

    counts: collections.Counter = collections.Counter()
    for line in lines:
        for tag, source, dest in Levenshtein.editops(line.truth, line.prediction):
            truth = line.truth[source] if tag != "insert" else EMPTY
            read = line.prediction[dest] if tag != "delete" else EMPTY
            counts[(truth, read)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(truth, read, count) for (truth, read), count in ranked[:top]]


def worst_lines(lines: Sequence[Line], count: int) -> list[Line]:
    """Lines with errors, most edits per truth character first (then most edits, then order)."""
    wrong = [(index, line) for index, line in enumerate(lines) if line.truth != line.prediction]
    wrong.sort(key=lambda item: (-item[1].edits / max(1, len(item[1].truth)), -item[1].edits))
    return [line for _, line in wrong[:count]]


def build(
    recognizer,
    inputs: Inputs,
    names: Sequence[str],
    batch_size: int = 64,
    worst: int = DEFAULT_WORST,
) -> ReportData:
    evaluation = evaluate_images(recognizer, inputs.images, inputs.rows, batch_size)
    lines = [
        Line(
            image,
            recognizer.reference(row.label),
            prediction.text,
            prediction.confidence,
            source,
            row.source,
        )
        for row, image, source, prediction in zip(
            inputs.rows, inputs.images, inputs.sources, evaluation.predictions, strict=True
        )
    ]
    bounds = recognizer.config.evaluation.length_buckets
    truths = [line.truth for line in lines]
    predictions = [line.prediction for line in lines]
    # Bucket names are zero-padded, so name order is length order.
    lengths = [length_bucket(len(truth), bounds) for truth in truths]
    return ReportData(
        model_dir=str(recognizer.model_dir),
        inputs=list(names),
        evaluation=evaluation,
        lines=lines,
        by_length=score_by(truths, predictions, lengths),
        by_source=score_by(truths, predictions, [line.source for line in lines]),
        confusions=confusions(lines),
        worst=worst_lines(lines, worst),
    )


# --- rendering ---------------------------------------------------------------------------------


def bar_plot_svg(title: str, groups: dict[str, TextScore], xlabel: str) -> str:
    """A bar chart of CER per group (line counts on the bars) as an inline <svg> element."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = list(groups)
    cers = [100 * groups[name].cer for name in names]
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "crnn-report"}):
        figure, axes = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 2), 3.0), dpi=96)
        bars = axes.bar(range(len(names)), cers, color="#1f6fb4")
        axes.set_xticks(range(len(names)), names, rotation=30 if len(names) > 6 else 0)
        axes.set_xlabel(xlabel)
        axes.set_ylabel("CER (%)")
        axes.set_title(title)
        axes.set_ylim(0, max([*cers, 1.0]) * 1.25)
        for bar, name in zip(bars, names, strict=True):
            axes.annotate(
                f"{groups[name].lines} lines",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg")
        plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def image_data_uri(image: bytes) -> str:
    """A data URI for encoded image bytes; formats browsers may not show are re-encoded as PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as decoded:
        kind = (decoded.format or "").lower()
        if kind in ("png", "jpeg", "gif"):
            payload = image
        else:
            buffer = io.BytesIO()
            decoded.save(buffer, format="PNG")
            payload, kind = buffer.getvalue(), "png"
    return f"data:image/{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def diff_markup(truth: str, prediction: str) -> tuple[str, str]:
    """Truth and prediction as HTML, each character that differs wrapped in a marked span:
    ``del`` (missing or replaced in the prediction) and ``ins`` (inserted or replacing)."""
    from rapidfuzz.distance import Levenshtein

    left, right = [], []
    for op in Levenshtein.opcodes(truth, prediction):
        a = html.escape(truth[op.src_start : op.src_end])
        b = html.escape(prediction[op.dest_start : op.dest_end])
        if op.tag == "equal":
            left.append(a)
            right.append(b)
            continue
        if a:
            left.append(f'<span class="del">{a}</span>')
        if b:
            right.append(f'<span class="ins">{b}</span>')
    return "".join(left), "".join(right)


def render(data: ReportData, title: str = "CRNN evaluation report") -> str:
    import jinja2
    from markupsafe import Markup

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    worst = []
    for line in data.worst:
        truth, prediction = diff_markup(line.truth, line.prediction)
        worst.append(
            {
                "src": image_data_uri(line.image),
                "truth": Markup(truth),
                "prediction": Markup(prediction),
                "edits": line.edits,
                "cer": line.edits / max(1, len(line.truth)),
                "confidence": line.confidence,
                "where": line.where,
            }
        )
    plots = [
        Markup(bar_plot_svg("CER by label length", data.by_length, "label length (characters)")),
        Markup(bar_plot_svg("CER by source", data.by_source, "source")),
    ]
    score = data.evaluation.score
    return environment.from_string(TEMPLATE).render(
        title=title,
        model_dir=data.model_dir,
        inputs=data.inputs,
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        score=score,
        lines_per_second=data.evaluation.lines_per_second,
        summary=data.evaluation.line(),
        by_length=data.by_length,
        by_source=data.by_source,
        plots=plots,
        confusions=[
            (truth.replace(" ", SPACE), read.replace(" ", SPACE), count)
            for truth, read, count in data.confusions
        ],
        empty=EMPTY,
        worst=worst,
    )


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
table { border-collapse: collapse; } td, th { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; } td.n { text-align: right; }
.summary td { font-size: 16px; } .meta { color: #666; font-size: 12px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; } figure.plot { margin: 0; }
.line img { max-width: 480px; border: 1px solid #ccc; display: block; }
.text { font-family: ui-monospace, monospace; font-size: 15px; white-space: pre; }
.del { background: #f8c9c9; color: #900; text-decoration: line-through; }
.ins { background: #c9f0c9; color: #060; font-weight: bold; }
</style></head>
<body>
<h1>{{ title }}</h1>
<p class="meta">model {{ model_dir }} &middot; data {{ inputs | join(", ") }}
&middot; {{ created }}</p>
<table class="summary"><tr><th>lines</th><th>CER</th><th>line accuracy</th><th>lines/s</th></tr>
<tr><td class="n" id="lines">{{ score.lines }}</td>
<td class="n" id="cer">{{ "%.4f" | format(score.cer) }}</td>
<td class="n" id="line-accuracy">{{ "%.4f" | format(score.line_accuracy) }}</td>
<td class="n" id="lines-per-second">{{ "%.1f" | format(lines_per_second) }}</td></tr></table>
<p class="meta" id="summary-line">{{ summary }}</p>

<h2>CER by label length and by source</h2>
<div class="plots">{% for plot in plots %}<figure class="plot">{{ plot }}</figure>{% endfor %}</div>
<table><tr><th>label length</th><th>lines</th><th>CER</th><th>line accuracy</th></tr>
{% for name, s in by_length.items() %}<tr><td>{{ name }}</td><td class="n">{{ s.lines }}</td>
<td class="n">{{ "%.4f" | format(s.cer) }}</td>
<td class="n">{{ "%.4f" | format(s.line_accuracy) }}</td></tr>{% endfor %}</table>
<br><table><tr><th>source</th><th>lines</th><th>CER</th><th>line accuracy</th></tr>
{% for name, s in by_source.items() %}<tr><td>{{ name }}</td><td class="n">{{ s.lines }}</td>
<td class="n">{{ "%.4f" | format(s.cer) }}</td>
<td class="n">{{ "%.4f" | format(s.line_accuracy) }}</td></tr>{% endfor %}</table>

<h2>Most confused characters</h2>
{% if confusions %}<table id="confusions"><tr><th>truth</th><th>read as</th><th>times</th></tr>
{% for truth, read, count in confusions %}<tr><td class="text">{{ truth }}</td>
<td class="text">{{ read }}</td><td class="n">{{ count }}</td></tr>{% endfor %}</table>
<p class="meta">{{ empty }} on the truth side: an inserted character;
on the read side: a missed one. ␣ is a space.</p>
{% else %}<p>No errors.</p>{% endif %}

<h2>Worst lines ({{ worst | length }})</h2>
{% if worst %}<table id="worst"><tr><th>image</th><th>truth / prediction</th><th>CER</th></tr>
{% for w in worst %}<tr class="line"><td><img class="line" alt="line image" src="{{ w.src }}"></td>
<td><div class="text truth">{{ w.truth }}</div><div class="text prediction">{{ w.prediction }}</div>
<div class="meta">{{ w.where }} &middot; confidence {{ "%.2f" | format(w.confidence) }}</div></td>
<td class="n">{{ "%.2f" | format(w.cer) }} ({{ w.edits }})</td></tr>{% endfor %}</table>
{% else %}<p>Every line is read exactly.</p>{% endif %}

<script>
// Self-check for people and for tests: how many line images decoded, how many plots are drawn.
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.querySelectorAll("img.line"));
  document.body.dataset.linesShown = String(images.length);
  document.body.dataset.imagesLoaded = String(images.filter(function (img) {
    return img.complete && img.naturalWidth > 0;
  }).length);
  document.body.dataset.plots = String(document.querySelectorAll("figure.plot svg").length);
});
</script>
</body></html>
"""


def write_report(
    recognizer,
    out: str | Path,
    csvs: Sequence[str] = (),
    examples: str | None = None,
    batch_size: int = 64,
    worst: int = DEFAULT_WORST,
    delimiter: str = ";",
) -> ReportData:
    """Evaluate on the CSVs or the examples, write the page to ``out`` and return its data."""
    if bool(csvs) == bool(examples):
        raise ValueError("give CSV files or an examples glob (one of the two)")
    inputs = rows_from_csvs(csvs, delimiter) if csvs else rows_from_examples(examples)
    data = build(recognizer, inputs, list(csvs) or [examples], batch_size, worst)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serving.report",
        description="A self-contained HTML evaluation report of a pushed model: summary, CER by "
        "label length and source, most confused characters, worst lines with differences.",
    )
    add_model_argument(parser)
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument(
        "--csv", action="append", help="path;label CSV (repeatable; each CSV is a source)"
    )
    data.add_argument("--examples", help="glob of ExampleGen TFRecords, e.g. a Split-eval/*.gz")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--worst", type=int, default=DEFAULT_WORST, help="worst lines shown")
    parser.add_argument("--batch-size", type=int, default=64, help="lines per model call")
    add_decoding_arguments(parser)
    parser.add_argument("--delimiter", default=";", help="CSV delimiter (default ;)")
    args = parser.parse_args(argv)

    try:
        recognizer = recognizer_from_args(args)
        data = write_report(
            recognizer,
            args.out,
            args.csv or (),
            args.examples,
            args.batch_size,
            args.worst,
            args.delimiter,
        )
    except (OSError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{data.evaluation.line()} report={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
