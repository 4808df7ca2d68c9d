"""Ingest rules: every bad-row kind is quarantined with its reason; good rows become examples."""

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from components import ingest
from components.ingest import IngestOptions, Reason
from pipeline.config import load_config


def png(width=120, height=32, value=200, format="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), value).save(buffer, format=format)
    return buffer.getvalue()


def options(*overrides: str, **fields) -> IngestOptions:
    config = load_config(overrides=["data.max_image_pixels=1000000", *overrides])
    return IngestOptions.from_config(config).__class__(
        **{**IngestOptions.from_config(config).__dict__, **fields}
    )


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "images" / "good.png").write_bytes(png())
    (root / "images" / "empty.png").write_bytes(b"")
    (root / "images" / "truncated.png").write_bytes(png(300, 64, 90)[:60])
    (root / "images" / "text.png").write_bytes(b"this is not an image\n")
    (root / "images" / "huge.png").write_bytes(png(2000, 1000))
    (root / "images" / "narrow.png").write_bytes(png(40, 32))
    tiff = io.BytesIO()
    Image.new("L", (100, 32), 128).save(tiff, format="TIFF")
    (root / "images" / "scan.tif").write_bytes(tiff.getvalue())
    (tmp_path / "outside.png").write_bytes(png())
    os.symlink(tmp_path / "outside.png", root / "images" / "link.png")
    return root


def row(data_dir, line: bytes, number=1, header=None) -> ingest.CsvRow:
    csv = str(data_dir / "labels.csv")
    if header:
        return ingest.CsvRow(csv, number, tuple(line.split(b";")), header)
    return ingest.CsvRow(csv, number, tuple(line.split(b";", 1)))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"images/gone.png;hello", Reason.MISSING_FILE),
        (b"images/empty.png;hello", Reason.EMPTY_FILE),
        (b"images/truncated.png;hello", Reason.UNDECODABLE),
        (b"images/text.png;hello", Reason.UNDECODABLE),
        (b"images/huge.png;hello", Reason.TOO_MANY_PIXELS + ": 2000x1000 = 2000000 px > 1000000"),
        (b"images/scan.tif;hello", Reason.UNSUPPORTED_FORMAT + " TIFF"),
        (b"images/good.png;", Reason.EMPTY_LABEL),
        (b"images/good.png;   ", Reason.EMPTY_LABEL),
        (b"images/good.png;caf\xe9", Reason.LABEL_NOT_UTF8),
        (b"images/\xff.png;hello", Reason.PATH_NOT_UTF8),
        (b"images/narrow.png;a much too long label", Reason.LABEL_TOO_LONG),
        (b"images/good.png", Reason.WRONG_COLUMNS + ": 1 column(s), expected 2 (path;label)"),
        (b"../outside.png;hello", Reason.OUTSIDE_ROOT),
        (b"images/link.png;hello", Reason.OUTSIDE_ROOT),
    ],
)
def test_each_bad_row_kind_is_quarantined_with_its_reason(data_dir, line, reason):
    outcome = ingest.check_row(row(data_dir, line, number=7), options())
    assert isinstance(outcome, ingest.Quarantined), outcome
    assert outcome.reason.startswith(reason), outcome.reason
    assert (outcome.csv, outcome.row) == (str(data_dir / "labels.csv"), 7)


def test_absolute_paths_must_lie_in_the_data_root(data_dir, tmp_path):
    inside = f"{data_dir}/images/good.png;hello".encode()
    outside = f"{tmp_path}/outside.png;hello".encode()
    opts = options(data_root=str(data_dir))
    assert isinstance(ingest.check_row(row(data_dir, inside), opts), ingest.Accepted)
    outcome = ingest.check_row(row(data_dir, outside), opts)
    assert outcome.reason == f"{Reason.OUTSIDE_ROOT} {data_dir}"


def test_a_good_row_becomes_an_example_with_every_feature(data_dir):
    outcome = ingest.check_row(row(data_dir, b"images/good.png;hello; world"), options())
    assert isinstance(outcome, ingest.Accepted)
    assert outcome.label == "hello; world"  # everything after the first delimiter
    assert (outcome.width, outcome.height) == (120, 32)
    features = outcome.to_example().features.feature
    assert features["image"].bytes_list.value[0] == png()
    assert features["label"].bytes_list.value[0] == b"hello; world"
    assert features["path"].bytes_list.value[0] == str(data_dir / "images" / "good.png").encode()
    assert features["width"].int64_list.value[0] == 120
    assert features["source"].bytes_list.value[0] == b""


def test_units_outside_a_configured_alphabet(data_dir):
    strict = options("alphabet.characters=helo")
    outcome = ingest.check_row(row(data_dir, b"images/good.png;hello world"), strict)
    assert outcome.reason == f"{Reason.UNKNOWN_UNITS}: ' drw'"
    dropping = options("alphabet.characters=helo", "alphabet.unknown=drop")
    assert isinstance(
        ingest.check_row(row(data_dir, b"images/good.png;hello world"), dropping), ingest.Accepted
    )
    outcome = ingest.check_row(row(data_dir, b"images/good.png;xyz"), dropping)
    assert outcome.reason.startswith(Reason.EMPTY_LABEL)


def test_header_rows_name_columns_and_carry_a_source(data_dir):
    csv = data_dir / "with_header.csv"
    csv.write_bytes(b"path;source;label\nimages/good.png;scanner-2;a;b\nimages/good.png;x\n")
    rows = list(ingest.read_csv_rows(str(csv), options(has_header=True)))
    assert [r.number for r in rows] == [2, 3]
    first = ingest.check_row(rows[0], options(has_header=True))
    assert (first.source, first.label) == ("scanner-2", "a;b")
    second = ingest.check_row(rows[1], options(has_header=True))
    assert second.reason.startswith(Reason.WRONG_COLUMNS + ": 2 column(s), expected 3")
    csv.write_bytes(b"file;text\n")
    with pytest.raises(ValueError, match=r"with_header\.csv:1: the header must name the columns"):
        list(ingest.read_csv_rows(str(csv), options(has_header=True)))


def test_blank_lines_are_skipped_and_crlf_is_handled(data_dir):
    csv = data_dir / "labels.csv"
    csv.write_bytes(b"images/good.png;one\r\n\r\n  \nimages/good.png;two\n")
    rows = list(ingest.read_csv_rows(str(csv), options()))
    assert [(r.number, r.fields[1]) for r in rows] == [(1, b"one"), (4, b"two")]
    assert ingest.count_rows(str(csv), options()) == 2


def test_duplicates_keep_the_first_row_and_name_it(data_dir):
    accepted = [
        ingest.check_row(row(data_dir, b"images/good.png;hello", number=n), options())
        for n in (5, 2)
    ]
    relabelled = ingest.check_row(row(data_dir, b"images/good.png;hullo", number=9), options())
    kept, *dropped = ingest.dedupe("p", [*accepted, relabelled])
    assert kept.row == 2
    assert [d.reason for d in dropped] == [
        f"{Reason.DUPLICATE} of {data_dir / 'labels.csv'}:2 (same image)",
        f"{Reason.DUPLICATE} of {data_dir / 'labels.csv'}:2 (same image, label 'hello')",
    ]


def test_a_batch_of_rows_is_checked_as_row_by_row(data_dir):
    lines = [
        b"images/good.png;hello",
        b"images/truncated.png;hello",  # its header passes: only TensorFlow's decode fails
        b"images/gone.png;hello",
        b"images/narrow.png;ok",
        b"images/text.png;hello",
        b"images/good.png;again",
    ]
    rows = [row(data_dir, line, number=n) for n, line in enumerate(lines, start=1)]
    batched = ingest.check_rows(rows, options())
    assert batched == [ingest.check_row(r, options()) for r in rows]
    accepted = [isinstance(outcome, ingest.Accepted) for outcome in batched]
    assert accepted == [True, False, False, True, False, True]
    assert batched[1].reason.startswith(Reason.UNDECODABLE)


def test_images_decoded_side_by_side_are_judged_one_by_one():
    good, truncated = png(), png(300, 64, 90)[:120]
    assert ingest.tensorflow_decode_problems([good, png(80, 32, 10)]) == [None, None]
    problems = ingest.tensorflow_decode_problems([good, truncated, good])
    assert problems[0] is None and problems[2] is None
    assert problems[1] == ingest.tensorflow_decode_problem(truncated)
    assert problems[1].startswith(Reason.UNDECODABLE)


def test_groups_checked_together_keep_each_images_first_row(data_dir):
    good = [row(data_dir, b"images/good.png;hello", number=n) for n in (5, 2)]
    narrow = [row(data_dir, b"images/narrow.png;ok", number=3)]
    outcomes = list(ingest.check_groups([good, narrow], options()))
    assert [(o.row, type(o).__name__) for o in outcomes] == [
        (2, "Accepted"),
        (5, "Quarantined"),
        (3, "Accepted"),
    ]
    assert outcomes[1].reason.startswith(f"{Reason.DUPLICATE} of {data_dir / 'labels.csv'}:2")


def begun_batch_sizes(monkeypatch) -> list[int]:
    """The sizes of the batches ``ingest.begin_check_rows`` begins, in order, as they begin."""
    sizes = []
    begin = ingest.begin_check_rows
    monkeypatch.setattr(
        ingest,
        "begin_check_rows",
        lambda rows, *args: sizes.append(len(rows)) or begin(rows, *args),
    )
    return sizes


def test_a_group_of_many_rows_is_checked_a_batch_at_a_time(data_dir, monkeypatch):
    sizes = begun_batch_sizes(monkeypatch)
    count = 2 * ingest.CHECK_BATCH + 1
    group = [row(data_dir, b"images/good.png;hello", number=n) for n in range(1, count + 1)]
    outcomes = list(ingest.check_groups([group], options()))
    assert sizes == [ingest.CHECK_BATCH, ingest.CHECK_BATCH, 1]
    assert [type(o).__name__ for o in outcomes] == ["Accepted"] + ["Quarantined"] * (count - 1)


def test_a_batch_decodes_on_the_decoder_thread_while_the_next_one_is_read(data_dir, monkeypatch):
    lines = [b"images/good.png;hello", b"images/truncated.png;hello", b"images/narrow.png;ok"]
    count = 2 * ingest.CHECK_BATCH + 1
    rows = [row(data_dir, lines[n % 3], number=n) for n in range(1, count + 1)]
    expected = ingest.check_rows(rows, options())
    begun, decoded_on = begun_batch_sizes(monkeypatch), set()
    decode = ingest.tensorflow_decode_problems
    monkeypatch.setattr(
        ingest,
        "tensorflow_decode_problems",
        lambda images: decoded_on.add(threading.current_thread().name) or decode(images),
    )
    with ThreadPoolExecutor(1, thread_name_prefix="decoder") as decoder:
        checked = ingest.check_batches(ingest.batches(rows, ingest.CHECK_BATCH), options(), decoder)
        first = next(checked)
        assert begun == [ingest.CHECK_BATCH, ingest.CHECK_BATCH]  # the second begun, not the third
        results = [first, *checked]
    assert begun == [ingest.CHECK_BATCH, ingest.CHECK_BATCH, 1]
    assert len(decoded_on) == 1 and decoded_on.pop().startswith("decoder")
    assert results == expected
    assert sum(isinstance(r, ingest.Quarantined) for r in results) == count // 3


def test_options_round_trip_through_json():
    opts = options("alphabet.characters=abc", "data.delimiter=,")
    assert IngestOptions.from_json(opts.to_json()) == opts
    assert opts.alphabet_units == ("a", "b", "c")
