"""CsvImageExampleGen: tf.crnn's ``path;label`` CSVs + images -> tf.Examples, with Beam.

A FileBasedExampleGen (so TFX's input_config splits, output hash splits and {SPAN}/{VERSION}
patterns work, locally and on Kubeflow) whose Beam executor reads CSV rows, reads and checks each
image, and writes tf.Examples with ``image`` (encoded bytes), ``label``, ``path``, ``width``,
``height`` and ``source``, into TFX's gzipped TFRecords (at ``data.gzip_level``: TFX's own
writer always deflates, which for PNG and JPEG bytes costs much and saves little). Bad rows go to
``quarantine-<split>.jsonl`` beside the splits, each with file, row and reason (rules in
``components.ingest``).

After the Beam run the executor counts what was written by reading the output back (not from
Beam counters, which some runner modes lose) and checks rows in = examples written +
quarantined. ``ingest_report.json`` records the counts per split and per reason; the run fails
with a clear message when the counts do not add up or the quarantined share is over the limit.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import apache_beam as beam
import google_crc32c
import tensorflow as tf
from apache_beam.io import tfrecordio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.utils.windowed_value import WindowedValue
from tfx import types
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen import write_split
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.utils import proto_utils

from components import ingest

log = logging.getLogger(__name__)

INGEST_OPTIONS = "ingest_options_json"
REPORT_FILE = "ingest_report.json"
_QUARANTINE_DIR = "_quarantine_dir"  # exec property the executor adds for its PTransform


class IngestError(RuntimeError):
    """Ingest produced a result that must not go further (too many bad rows, lost rows)."""


def quarantine_file(directory: str, split: str) -> str:
    return os.path.join(directory, f"quarantine-{split}.jsonl")


def _input_split_name(exec_properties: dict[str, Any], split_pattern: str) -> str:
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties[specs.INPUT_CONFIG_KEY], input_config)
    return next(s.name for s in input_config.splits if s.pattern == split_pattern)


def _csv_files(input_base: str, split_pattern: str) -> list[str]:
    pattern = os.path.join(input_base, split_pattern)
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise IngestError(f"no CSV file matches {pattern}")
    return files


@beam.ptransform_fn
def _CsvImagesToExample(
    pipeline: beam.Pipeline, exec_properties: dict[str, Any], split_pattern: str
) -> beam.PCollection:
    options = ingest.IngestOptions.from_json(exec_properties[INGEST_OPTIONS])
    split = _input_split_name(exec_properties, split_pattern)
    files = _csv_files(exec_properties[specs.INPUT_BASE_KEY], split_pattern)

    # One shuffle: rows grouped by the image they name spreads the image reads and checks over
    # the workers, and brings the rows of one image together, where duplicates are found. Groups
    # are checked in batches, so that TensorFlow decodes a batch's images side by side.
    checked = (
        pipeline
        | "CsvFiles" >> beam.Create(files)
        | "Rows" >> beam.FlatMap(ingest.read_csv_rows, options)
        | "ByImage" >> beam.Map(_keyed_by_image, options)
        | "Group" >> beam.GroupByKey()
        | "Batch" >> beam.BatchElements(ingest.CHECK_BATCH, ingest.CHECK_BATCH)
        | "Check" >> beam.ParDo(_CheckGroups(options)).with_outputs(_QUARANTINED, main="examples")
    )
    _ = (
        checked[_QUARANTINED]
        | "ToJson" >> beam.Map(lambda r: r.to_json())
        | "WriteQuarantine"
        >> beam.io.WriteToText(
            quarantine_file(exec_properties[_QUARANTINE_DIR], split),
            num_shards=1,
            shard_name_template="",
        )
    )
    return checked.examples


_QUARANTINED = "quarantined"


# No type annotations here: Beam would take them as type hints for its coders.
def _keyed_by_image(row, options):
    """(image key, row); a row naming no image is a group of its own."""
    path = ingest.image_key(row, options)
    if path is None:
        return ("row", row.csv, row.number), row
    return ("image", path), dataclasses.replace(row, image_path=path)  # not resolved again


class _CheckGroups(beam.DoFn):
    """tf.Examples of the accepted rows of each batch of groups (``ingest.check_groups``);
    quarantined rows as a tagged output.

    A batch's outputs come out one batch late: its rows are read and its images handed to a
    decoder thread, then the batch before it is finished (its decode waited for, its examples
    emitted and, downstream in the same thread, serialized and written) while this one decodes.
    TensorFlow's decode lets go of Python's lock, so the two share the cores instead of taking
    turns. ``finish_bundle`` emits the last batch, each output in its own batch's window."""

    def __init__(self, options: ingest.IngestOptions):
        super().__init__()
        self._options = options

    def setup(self):
        self._decoder = ThreadPoolExecutor(1, thread_name_prefix="ingest-decode")

    def start_bundle(self):
        self._pending = None

    def process(self, batch, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam):
        groups = [rows for _, rows in batch]
        begun = (ingest.begin_check_groups(groups, self._options, self._decoder), window, timestamp)
        pending, self._pending = self._pending, begun
        if pending is not None:
            yield from _outputs(*pending)

    def finish_bundle(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            yield from _outputs(*pending)

    def teardown(self):
        self._decoder.shutdown()


def _outputs(results, window, timestamp):
    for result in results():
        if isinstance(result, ingest.Accepted):
            yield WindowedValue(result.to_example(), timestamp, (window,))
        else:
            quarantined = WindowedValue(result, timestamp, (window,))
            yield beam.pvalue.TaggedOutput(_QUARANTINED, quarantined)


class Executor(BaseExampleGenExecutor):
    """Beam executor of CsvImageExampleGen; see the module docstring."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:
        return _CsvImagesToExample

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        """TFX's ``BaseExampleGenExecutor.Do`` (1.16) with the splits written at
        ``data.gzip_level`` (TFX always deflates at zlib's default) and without its reshuffle
        (``_WriteSplit``), then the ingest report."""
        self._log_startup(input_dict, output_dict, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[specs.EXAMPLES_KEY])
        options = ingest.IngestOptions.from_json(exec_properties[INGEST_OPTIONS])
        exec_properties = {**exec_properties, _QUARANTINE_DIR: examples.uri}
        input_config, output_config = example_gen_pb2.Input(), example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties[specs.INPUT_CONFIG_KEY], input_config)
        proto_utils.json_to_proto(exec_properties[specs.OUTPUT_CONFIG_KEY], output_config)
        examples.split_names = artifact_utils.encode_split_names(
            example_gen_utils.generate_output_split_names(input_config, output_config)
        )
        with self._make_beam_pipeline() as pipeline:
            for split, records in self.GenerateExamplesByBeam(pipeline, exec_properties).items():
                _ = records | f"WriteSplit[{split}]" >> _WriteSplit(
                    artifact_utils.get_split_uri([examples], split), options.gzip_level
                )
        examples_utils.set_payload_format(examples, exec_properties[specs.OUTPUT_DATA_FORMAT_KEY])
        file_format = exec_properties[specs.OUTPUT_FILE_FORMAT_KEY]
        examples_utils.set_file_format(examples, write_split.to_file_format_str(file_format))
        report = _ingest_report(examples, exec_properties, input_config, options)
        _publish(report, examples, options)
        problem = _problem(report, options)
        if problem:
            raise IngestError(problem)


@beam.ptransform_fn
def _WriteSplit(records: beam.PCollection, split_uri: str, gzip_level: int) -> beam.pvalue.PDone:
    """TFX's ``write_split.WriteSplit`` for TFRecords: serialize, write ``data_tfrecord-*.gz``,
    here gzipped at ``gzip_level``.

    Without TFX's Reshuffle before the write: the group-by-image upstream is already a shuffle
    (on a distributed runner it spreads and reorders the rows), and on Beam's direct runner a
    Reshuffle reorders nothing (records come out in CSV order either way) while it cost a tenth
    of ingest's time. Training shuffles its examples itself."""
    prefix = os.path.join(split_uri, write_split.DEFAULT_TF_RECORD_FILE_NAME)
    return (
        records
        | "MaybeSerialize" >> beam.ParDo(write_split.MaybeSerialize())
        | "Write" >> beam.io.Write(_GzipTFRecordSink(prefix, gzip_level))
    )


# Beam's TFRecord writes and reads (both checksums of every record) take their CRC32C function
# from this slot, which Beam fills on first use with python-snappy's or, without it, crcmod's
# table: 16 us for a 5 KB line image. google-crc32c's C extension (the CPU's CRC32C
# instruction) takes 0.6 us, for this ExampleGen's writes and for the Transform and Evaluator
# reads that run in the same process. Its pure-Python fallback would be slower: Beam's choice
# stands on a platform without the extension.
if google_crc32c.implementation == "c":
    tfrecordio._default_crc32c_fn.fn = google_crc32c.value


class _GzipTFRecordSink(tfrecordio._TFRecordSink):
    """Beam's TFRecord sink (what ``beam.io.WriteToTFRecord`` writes with) whose files are
    gzipped at a chosen zlib level: Beam's own gzip files are always at zlib's default."""

    def __init__(self, prefix: str, gzip_level: int):
        super().__init__(
            prefix,
            coder=beam.coders.BytesCoder(),
            file_name_suffix=".gz",
            num_shards=0,
            shard_name_template=None,
            compression_type=CompressionTypes.UNCOMPRESSED,  # the gzip is ours, in ``open``
        )
        self.gzip_level = gzip_level

    def open(self, temp_path):
        return _GzipFile(super().open(temp_path), self.gzip_level)


class _GzipFile(gzip.GzipFile):
    """A gzip writer that closes the file it writes into (``GzipFile`` leaves that open)."""

    def __init__(self, raw, level: int):
        # No file name in the header (GzipFile would take the temporary file's).
        super().__init__(filename="", fileobj=raw, mode="wb", compresslevel=level, mtime=0)
        self.raw = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.raw.close()


def _ingest_report(
    examples, exec_properties: dict[str, Any], input_config: example_gen_pb2.Input, options
) -> dict[str, Any]:
    """Counts from the files themselves: CSV rows read, examples written, rows quarantined."""
    base = exec_properties[specs.INPUT_BASE_KEY]
    rows, quarantined, reasons, samples = {}, {}, Counter(), {}
    for split in input_config.splits:
        rows[split.name] = sum(
            ingest.count_rows(csv, options) for csv in _csv_files(base, split.pattern)
        )
        records = _read_quarantine(quarantine_file(examples.uri, split.name))
        quarantined[split.name] = len(records)
        for record in records:
            kind = ingest.reason_kind(record["reason"])
            reasons[kind] += 1
            samples.setdefault(kind, f"{record['csv']}:{record['row']} {record['reason']}")
    written = {
        split: _count_records(artifact_utils.get_split_uri([examples], split))
        for split in artifact_utils.decode_split_names(examples.split_names)
    }
    return {
        "input_base": base,
        "span": exec_properties.get("span"),
        "rows": rows,
        "written": written,
        "quarantined": quarantined,
        "quarantine_reasons": dict(reasons.most_common()),
        "quarantine_samples": samples,
        "total_rows": sum(rows.values()),
        "total_written": sum(written.values()),
        "total_quarantined": sum(quarantined.values()),
    }


def _read_quarantine(path: str) -> list[dict]:
    if not tf.io.gfile.exists(path):
        return []
    with tf.io.gfile.GFile(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _count_records(split_uri: str) -> int:
    files = tf.io.gfile.glob(os.path.join(split_uri, "*"))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return int(dataset.reduce(0, lambda count, _: count + 1))


def _publish(report: dict[str, Any], examples, options: ingest.IngestOptions) -> None:
    """Write the report beside the splits (and to report_dir, which survives a failed run),
    log it, and put the totals on the Examples artifact in ML Metadata."""
    text = json.dumps(report, indent=1, ensure_ascii=False)
    destinations = [os.path.join(examples.uri, REPORT_FILE)]
    if options.report_dir:
        tf.io.gfile.makedirs(options.report_dir)
        destinations.append(os.path.join(options.report_dir, REPORT_FILE))
    for path in destinations:
        with tf.io.gfile.GFile(path, "w") as handle:
            handle.write(text)
    for key in ("total_rows", "total_written", "total_quarantined"):
        examples.set_int_custom_property(key, report[key])
    log.info(
        "ingest: %d rows -> %d examples (%s) + %d quarantined %s",
        report["total_rows"],
        report["total_written"],
        ", ".join(f"{split} {n}" for split, n in report["written"].items()),
        report["total_quarantined"],
        report["quarantine_reasons"] or "",
    )


def _problem(report: dict[str, Any], options: ingest.IngestOptions) -> str | None:
    total, written, bad = report["total_rows"], report["total_written"], report["total_quarantined"]
    where = f" (see {options.report_dir or report['input_base']}/{REPORT_FILE})"
    if total != written + bad:
        return (
            f"ingest lost rows: {total} rows in, {written} examples written + {bad} "
            f"quarantined = {written + bad}{where}"
        )
    if total and bad / total > options.max_quarantine_fraction:
        reasons = "; ".join(f"{n} {kind}" for kind, n in report["quarantine_reasons"].items())
        samples = "\n".join(f"  e.g. {s}" for s in report["quarantine_samples"].values())
        return (
            f"ingest quarantined {bad} of {total} rows ({bad / total:.1%}), over the limit of "
            f"{options.max_quarantine_fraction:.1%} (data.max_quarantine_fraction): {reasons}\n"
            f"{samples}{where}"
        )
    if written == 0:
        return f"ingest wrote no examples from {total} rows{where}"
    return None


class CsvImageExampleGenSpec(types.ComponentSpec):
    # TFX's ComponentSpec API: class-level dicts.
    PARAMETERS = {  # noqa: RUF012
        **specs.FileBasedExampleGenSpec.PARAMETERS,
        INGEST_OPTIONS: ExecutionParameter(type=str),
    }
    INPUTS = {}  # noqa: RUF012
    OUTPUTS = {specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}  # noqa: RUF012


class CsvImageExampleGen(FileBasedExampleGen):
    """ExampleGen for tf.crnn CSVs and images (a FileBasedExampleGen: Kubeflow resolves its
    {SPAN} patterns with the same driver as TFX's own)."""

    SPEC_CLASS = CsvImageExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(
        self,
        input_base: str,
        options: ingest.IngestOptions,
        input_config: example_gen_pb2.Input | None = None,
        output_config: example_gen_pb2.Output | None = None,
        range_config=None,
    ):
        input_config = input_config or example_gen_utils.make_default_input_config("*.csv")
        output_config = output_config or example_gen_utils.make_default_output_config(input_config)
        spec = CsvImageExampleGenSpec(
            input_base=input_base,
            input_config=input_config,
            output_config=output_config,
            range_config=range_config,
            output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
            output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
            ingest_options_json=options.to_json(),
            examples=types.Channel(type=standard_artifacts.Examples),
        )
        # FileBasedExampleGen.__init__ builds its own spec; the base component takes ours.
        base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
