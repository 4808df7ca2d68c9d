"""CsvImageExampleGen through TFX and Beam: quarantine, counts, limits, spans, runner modes."""

import io
import json
import struct
from pathlib import Path

import crcmod.predefined
import google_crc32c
import pytest
import tensorflow as tf
from apache_beam.io import tfrecordio
from PIL import Image
from test_ingest import png
from tfx import v1 as tfx
from tfx.components.example_gen import utils as example_gen_utils
from tfx.proto import example_gen_pb2

from components.csv_example_gen import (
    REPORT_FILE,
    CsvImageExampleGen,
    _GzipTFRecordSink,
    quarantine_file,
)
from components.ingest import IngestOptions, Reason
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def run_example_gen(
    tmp_path, input_base, pattern, *overrides, beam_args=(), hash_split=True, name="ingest"
):
    """Run a one-component pipeline; returns the Examples artifact's directory."""
    config = load_config(overrides=["data.max_image_pixels=1000000", *overrides])
    options = IngestOptions.from_config(config, report_dir=str(tmp_path / "reports"))
    input_config = example_gen_utils.make_default_input_config(pattern)
    output_config = (
        example_gen_pb2.Output(
            split_config=example_gen_pb2.SplitConfig(
                splits=[
                    example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=3),
                    example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1),
                ],
                partition_feature_name="path",
            )
        )
        if hash_split
        else example_gen_pb2.Output()
    )
    component = CsvImageExampleGen(str(input_base), options, input_config, output_config)
    root = tmp_path / name
    pipeline = tfx.dsl.Pipeline(
        pipeline_name=name,
        pipeline_root=str(root / "pipeline"),
        components=[component],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")
        ),
        beam_pipeline_args=list(beam_args),
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)
    (examples,) = (root / "pipeline" / "CsvImageExampleGen" / "examples").iterdir()
    return examples


def read_examples(split_dir: Path) -> list[tf.train.Example]:
    files = [str(f) for f in split_dir.iterdir()]
    records = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return [tf.train.Example.FromString(r.numpy()) for r in records]


@pytest.fixture
def messy_data(tmp_path):
    """Twelve good lines and one row of every bad kind."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(12):
        (root / "images" / f"good{i}.png").write_bytes(png(120 + i, 32, 100 + i))
        rows.append(f"images/good{i}.png;line {i}".encode())
    (root / "images" / "empty.png").write_bytes(b"")
    (root / "images" / "truncated.png").write_bytes(png(300, 64, 90)[:60])
    (root / "images" / "huge.png").write_bytes(png(2000, 1000))
    (root / "images" / "narrow.png").write_bytes(png(30, 32))
    (tmp_path / "outside.png").write_bytes(png())
    rows += [
        b"images/missing.png;gone",
        b"images/empty.png;empty",
        b"images/truncated.png;cut",
        b"images/huge.png;bomb",
        b"images/good0.png;",
        b"images/good1.png;caf\xe9",
        b"images/narrow.png;far too long for thirty pixels",
        b"images/good2.png",
        b"../outside.png;escape",
        b"images/good3.png;line 3",
    ]
    (root / "labels.csv").write_bytes(b"\n".join(rows) + b"\n")
    return root


EXPECTED_REASONS = {
    Reason.MISSING_FILE: 1,
    Reason.EMPTY_FILE: 1,
    Reason.UNDECODABLE: 1,
    Reason.TOO_MANY_PIXELS: 1,
    Reason.EMPTY_LABEL: 1,
    Reason.LABEL_NOT_UTF8: 1,
    Reason.LABEL_TOO_LONG: 1,
    Reason.WRONG_COLUMNS: 1,
    Reason.OUTSIDE_ROOT: 1,
    Reason.DUPLICATE: 1,
}


def test_every_bad_row_lands_in_quarantine_and_the_counts_add_up(tmp_path, messy_data):
    examples = run_example_gen(
        tmp_path, messy_data, "labels.csv", "data.max_quarantine_fraction=0.5"
    )
    report = json.loads((examples / REPORT_FILE).read_text())
    assert report["total_rows"] == 22
    assert report["total_quarantined"] == 10
    assert report["total_written"] == 12 == sum(report["written"].values())
    assert set(report["written"]) == {"train", "eval"}
    assert report["quarantine_reasons"] == EXPECTED_REASONS
    quarantined = [
        json.loads(line)
        for line in Path(quarantine_file(str(examples), "single_split")).read_text().splitlines()
    ]
    by_row = {q["row"]: q for q in quarantined}
    assert sorted(by_row) == list(range(13, 23))
    assert by_row[13]["reason"] == Reason.MISSING_FILE
    assert by_row[13]["csv"] == str(messy_data / "labels.csv")
    assert by_row[22]["reason"] == (
        f"{Reason.DUPLICATE} of {messy_data / 'labels.csv'}:4 (same image)"
    )
    labels = sorted(
        e.features.feature["label"].bytes_list.value[0].decode()
        for split in ("train", "eval")
        for e in read_examples(examples / f"Split-{split}")
    )
    assert labels == sorted(f"line {i}" for i in range(12))
    assert (tmp_path / "reports" / REPORT_FILE).exists()


def test_too_many_bad_rows_stop_the_run_with_a_clear_message(tmp_path, messy_data):
    with pytest.raises(RuntimeError) as failure:
        run_example_gen(tmp_path, messy_data, "labels.csv", "data.max_quarantine_fraction=0.2")
    message = str(failure.value)
    assert "ingest quarantined 10 of 22 rows (45.5%), over the limit of 20.0%" in message
    assert "1 missing file" in message and f"{messy_data / 'labels.csv'}:13" in message
    report = json.loads((tmp_path / "reports" / REPORT_FILE).read_text())
    assert report["total_quarantined"] == 10  # the report survives the failed run


def test_the_newest_span_is_ingested(tmp_path):
    base = tmp_path / "incoming"
    for span, count in ((1, 4), (2, 6)):
        folder = base / f"span-{span}"
        (folder / "images").mkdir(parents=True)
        rows = []
        for i in range(count):
            (folder / "images" / f"{i}.png").write_bytes(png(100 + i, 32, 50 + span))
            rows.append(f"images/{i}.png;span {span} line {i}")
        (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    examples = run_example_gen(tmp_path, base, "span-{SPAN}/labels.csv")
    report = json.loads((examples / REPORT_FILE).read_text())
    assert report["span"] == 2 and report["total_written"] == 6
    labels = [
        e.features.feature["label"].bytes_list.value[0].decode()
        for split in ("train", "eval")
        for e in read_examples(examples / f"Split-{split}")
    ]
    assert sorted(labels) == sorted(f"span 2 line {i}" for i in range(6))


def test_multi_processing_beam_writes_the_same_examples_as_in_memory(tmp_path, lines_dir):
    """Two worker processes (as `local_runner.py --beam-workers 2` runs) against in-memory."""
    results = {}
    for mode, args in {
        "in_memory": ["--direct_running_mode=in_memory", "--direct_num_workers=1"],
        "multi_processing": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    }.items():
        examples = run_example_gen(tmp_path, lines_dir, "labels.csv", beam_args=args, name=mode)
        results[mode] = {
            split: sorted(
                e.SerializeToString(deterministic=True)
                for e in read_examples(examples / f"Split-{split}")
            )
            for split in ("train", "eval")
        }
    assert results["in_memory"] == results["multi_processing"]
    assert sum(len(v) for v in results["in_memory"].values()) == 64


def test_gzip_level_sets_how_hard_the_examples_are_deflated(tmp_path, lines_dir):
    """Level 0 (the default) keeps gzip's format but stores the records as they are; a higher
    level deflates them: much smaller for uncompressed (BMP) images, same examples read back."""
    bmp_dir = tmp_path / "bmp"
    (bmp_dir / "images").mkdir(parents=True)
    rows = []
    for line in (lines_dir / "labels.csv").read_text(encoding="utf-8").splitlines():
        path, label = line.split(";", 1)
        name = Path(path).with_suffix(".bmp").name
        Image.open(lines_dir / path).save(bmp_dir / "images" / name, format="BMP")
        rows.append(f"images/{name};{label}")
    (bmp_dir / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")

    written = {}
    for level in (0, 6):
        examples = run_example_gen(
            tmp_path, bmp_dir, "labels.csv", f"data.gzip_level={level}", name=f"level{level}"
        )
        files = sorted(examples.glob("Split-*/*"))
        assert files and all(f.name.endswith(".gz") for f in files)
        records = [r.numpy() for r in tf.data.TFRecordDataset([str(f) for f in files], "GZIP")]
        written[level] = {
            "bytes": sum(f.stat().st_size for f in files),
            "records": sum(len(r) for r in records),
            "examples": sorted(
                tf.train.Example.FromString(r).SerializeToString(deterministic=True)
                for r in records
            ),
        }
    assert len(written[0]["examples"]) == 64
    assert written[0]["examples"] == written[6]["examples"]
    assert written[0]["bytes"] > written[0]["records"]  # stored: records plus framing
    assert written[6]["bytes"] < 0.8 * written[0]["bytes"]  # deflated (noisy lines: ~35%)


def test_the_writer_frames_records_as_beams_tfrecord_writer_does(tmp_path):
    """Importing the ExampleGen gives Beam's TFRecord I/O the hardware CRC32C; the sink's records
    are byte for byte what Beam frames with its own fallback, crcmod's table (TensorFlow's
    reader checks both checksums of every record it reads, as the tests above do)."""
    crcmod_crc32c = crcmod.predefined.mkPredefinedCrcFun("crc-32c")

    def masked(data: bytes) -> bytes:
        crc = tfrecordio._TFRecordUtil._masked_crc32c(data, crc32c_fn=crcmod_crc32c)
        return struct.pack("<I", crc)

    sink = _GzipTFRecordSink(str(tmp_path / "data"), 0)
    ours, beams = io.BytesIO(), io.BytesIO()
    for record in (b"", b"x", bytes(range(256)) * 21):
        sink.write_encoded_record(ours, record)
        length = struct.pack("<Q", len(record))
        beams.write(length + masked(length) + record + masked(record))
    assert ours.getvalue() == beams.getvalue()
    assert len(ours.getvalue()) == 3 * 16 + 1 + 256 * 21
    # The locked wheel's C extension (hardware CRC32C) is what computes them here.
    assert tfrecordio._default_crc32c_fn.fn is google_crc32c.value
