"""Ingest rules: how a tf.crnn CSV row becomes an example or a quarantined row with its reason.

Pure Python (plus TensorFlow's file system, so gs:// works), shared by the Beam ExampleGen and its
tests. A row is ``path<delimiter>label``; the label is everything after the first delimiter.
With ``has_header`` the first row names the columns (``path``, ``label``, optional ``source``).
Every row ends up in exactly one of two places, an example or the quarantine, with the CSV file
and row number, so counts always add up.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field

import tensorflow as tf

from pipeline.config import AlphabetConfig, CrnnConfig, ModelConfig
from trainer_module import geometry, images
from trainer_module.alphabet import Alphabet, split_units

# The check shared with training and serving (the decode they use), under ingest's names.
DECODABLE_FORMATS = images.FORMATS
inspect_image = images.inspect
inspect_header = images.inspect_header
tensorflow_decode_problem = images.decode_problem
tensorflow_decode_problems = images.decode_problems
# Rows (in the ExampleGen: images) checked together, their images decoded side by side.
CHECK_BATCH = 64


class Reason:
    """Quarantine reasons (the ``reason`` field starts with one of these)."""

    WRONG_COLUMNS = "wrong column count"
    PATH_NOT_UTF8 = "path not UTF-8"
    LABEL_NOT_UTF8 = "label not UTF-8"
    EMPTY_LABEL = "empty label"
    OUTSIDE_ROOT = "path outside the data root"
    MISSING_FILE = "missing file"
    EMPTY_FILE = images.EMPTY_FILE
    UNDECODABLE = images.UNDECODABLE
    UNSUPPORTED_FORMAT = images.UNSUPPORTED_FORMAT
    TOO_MANY_PIXELS = images.TOO_MANY_PIXELS
    UNKNOWN_UNITS = "characters outside the alphabet"
    LABEL_TOO_LONG = "label too long for its image width"
    DUPLICATE = "duplicate row"


def reason_kind(reason: str) -> str:
    """The Reason a quarantine message starts with (its details stripped)."""
    kinds = [value for name, value in vars(Reason).items() if not name.startswith("_")]
    return max((kind for kind in kinds if reason.startswith(kind)), key=len, default=reason)


@dataclass(frozen=True)
class IngestOptions:
    """What ingest needs from the run configuration (and nothing else, so that changing, say,
    the learning rate does not invalidate the cached examples)."""

    delimiter: str = ";"
    has_header: bool = False
    data_root: str | None = None
    max_image_pixels: int = 8_000_000
    max_quarantine_fraction: float = 0.05
    gzip_level: int = 0  # of the TFRecords written (data.gzip_level)
    alphabet: dict = field(default_factory=lambda: AlphabetConfig().model_dump())
    alphabet_units: tuple[str, ...] | None = None  # a configured alphabet, resolved
    model: dict = field(default_factory=lambda: ModelConfig().model_dump())
    report_dir: str | None = None  # a copy of the ingest report that survives a failed run
    fingerprint: str = ""  # of the data and code, so that a change re-runs ingest

    @classmethod
    def from_config(
        cls, config: CrnnConfig, report_dir: str | None = None, fingerprint: str = ""
    ) -> IngestOptions:
        configured = config.alphabet.lookup_file or config.alphabet.characters
        units = Alphabet.from_config(config.alphabet).units if configured else None
        return cls(
            delimiter=config.data.delimiter,
            has_header=config.data.has_header,
            data_root=config.data.data_root,
            max_image_pixels=config.data.max_image_pixels,
            max_quarantine_fraction=config.data.max_quarantine_fraction,
            gzip_level=config.data.gzip_level,
            alphabet=config.alphabet.model_dump(mode="json"),
            alphabet_units=units,
            model=config.model.model_dump(mode="json"),
            report_dir=report_dir,
            fingerprint=fingerprint,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IngestOptions:
        raw = json.loads(text)
        if raw.get("alphabet_units") is not None:
            raw["alphabet_units"] = tuple(raw["alphabet_units"])
        return cls(**raw)

    # Cached per options object: check_row runs once per row, and validating the same dicts
    # with pydantic every time was a tenth of its cost.
    @functools.cached_property
    def alphabet_config(self) -> AlphabetConfig:
        return AlphabetConfig.model_validate(self.alphabet)

    @functools.cached_property
    def model_config(self) -> ModelConfig:
        return ModelConfig.model_validate(self.model)

    @functools.cached_property
    def configured_alphabet(self) -> Alphabet | None:
        """The configured alphabet (``alphabet_units``), or None to take the labels' own."""
        return None if self.alphabet_units is None else Alphabet(self.alphabet_units)


@dataclass(frozen=True)
class CsvRow:
    """One non-empty data row of a CSV file, as bytes (decoding is a check of its own)."""

    csv: str
    number: int  # 1-based line number in the file
    fields: tuple[bytes, ...]
    header: tuple[str, ...] | None = None
    image_path: str | None = None  # resolved, once ``image_key`` has (the ExampleGen groups by it)

    @property
    def where(self) -> str:
        return f"{self.csv}:{self.number}"


@dataclass(frozen=True)
class Quarantined:
    csv: str
    row: int
    path: str
    label: str
    reason: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class Accepted:
    """A row that passed every check: what goes into the tf.Example."""

    csv: str
    row: int
    path: str
    label: str
    image: bytes
    width: int
    height: int
    source: str
    squeezed: bool

    def to_example(self) -> tf.train.Example:
        # Filled in place: building Feature messages and copying them into the map took three
        # times as long, and ingest builds one example per row.
        example = tf.train.Example()
        feature = example.features.feature
        feature["image"].bytes_list.value.append(self.image)
        feature["label"].bytes_list.value.append(self.label.encode("utf-8"))
        feature["path"].bytes_list.value.append(self.path.encode("utf-8"))
        feature["width"].int64_list.value.append(self.width)
        feature["height"].int64_list.value.append(self.height)
        feature["source"].bytes_list.value.append(self.source.encode("utf-8"))
        return example


def read_csv_rows(csv_path: str, options: IngestOptions) -> Iterator[CsvRow]:
    """Every non-empty row of one CSV file (the header row excluded), with its line number."""
    with tf.io.gfile.GFile(csv_path, "rb") as handle:
        content = handle.read()
    delimiter = options.delimiter.encode("utf-8")
    header = None
    for number, line in enumerate(content.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        if options.has_header and header is None:
            header = tuple(name.strip() for name in line.decode("utf-8").split(options.delimiter))
            _check_header(csv_path, header)
            continue
        if header is not None and header[-1] == "label":
            fields = tuple(line.split(delimiter, len(header) - 1))  # the label may hold delimiters
        elif header is not None:
            fields = tuple(line.split(delimiter))
        else:
            fields = tuple(line.split(delimiter, 1))
        yield CsvRow(csv_path, number, fields, header)


def count_rows(csv_path: str, options: IngestOptions) -> int:
    return sum(1 for _ in read_csv_rows(csv_path, options))


def _check_header(csv_path: str, header: tuple[str, ...]) -> None:
    missing = {"path", "label"} - set(header)
    if missing:
        raise ValueError(
            f"{csv_path}:1: the header must name the columns path and label "
            f"(got {', '.join(header)}); or set data.has_header to false"
        )


def check_row(row: CsvRow, options: IngestOptions) -> Accepted | Quarantined:
    """Every check of the issue list except duplicates (which need all rows; see ``dedupe``)."""
    return check_rows([row], options)[0]


def check_rows(rows: list[CsvRow], options: IngestOptions) -> list[Accepted | Quarantined]:
    """``check_row`` on each row, in order, with TensorFlow's decode of their images done as one
    batch (``tensorflow_decode_problems``: the images decoded side by side on the cores)."""
    return begin_check_rows(rows, options)()


# What ``begin_check_rows`` returns: wait for the decode, then the results in order.
Checks = Callable[[], list[Accepted | Quarantined]]


def begin_check_rows(
    rows: list[CsvRow], options: IngestOptions, decoder: Executor | None = None
) -> Checks:
    """``check_rows`` begun: the rows read and their images' headers checked now, TensorFlow's
    decode of the images handed to ``decoder`` (a one-thread executor) or, without one, done
    now. Returns the function that waits for the decode and gives ``check_rows``'s results.

    TensorFlow's decode lets go of Python's lock, so on a decoder thread it runs beside the
    Python work that follows (the next batch's reads, writing the last batch's examples):
    ``check_batches``."""
    read = [_read_row(row, options) for row in rows]
    encoded = [r.image for r in read if isinstance(r, _Read)]
    if decoder is None:
        decoded = tensorflow_decode_problems(encoded)
        wait = lambda: decoded  # noqa: E731
    else:
        wait = decoder.submit(tensorflow_decode_problems, encoded).result

    def results() -> list[Accepted | Quarantined]:
        problems = iter(wait())
        return [
            result
            if isinstance(result, Quarantined)
            else _label_checks(result, next(problems), options)
            for result in read
        ]

    return results


def check_batches(
    row_batches: Iterable[list[CsvRow]],
    options: IngestOptions,
    decoder: Executor | None = None,
    begun: Checks | None = None,
) -> Iterator[Accepted | Quarantined]:
    """``check_rows`` on batch after batch, results in order, each batch begun
    (``begin_check_rows``) before the one before it is waited for: with a ``decoder`` a batch's
    images decode on its thread while the next batch's rows are read. ``begun``: a first batch
    begun already. At most two batches are held at once."""
    row_batches = iter(row_batches)
    if begun is None:
        begun = _begin_next(row_batches, options, decoder)
    while begun is not None:
        following = _begin_next(row_batches, options, decoder)
        yield from begun()
        begun = following


def _begin_next(
    row_batches: Iterator[list[CsvRow]], options: IngestOptions, decoder: Executor | None
) -> Checks | None:
    """The next batch begun (``begin_check_rows``), or None when there is none."""
    rows = next(row_batches, None)
    return None if rows is None else begin_check_rows(rows, options, decoder)


@dataclass(frozen=True)
class _Read:
    """A row whose image was read and whose header passed: TensorFlow's decode of the image and
    the label checks are left."""

    row: CsvRow
    path: str  # resolved
    label: str
    source: str
    image: bytes
    width: int
    height: int

    def quarantine(self, reason: str) -> Quarantined:
        return Quarantined(self.row.csv, self.row.number, self.path, self.label, reason)


def _read_row(row: CsvRow, options: IngestOptions) -> _Read | Quarantined:
    """The checks up to the image's header: columns, UTF-8, data root, file read, pixel limit,
    format."""
    named = _named_fields(row)
    if named is None:
        expected = len(row.header) if row.header else 2
        first = row.fields[0].decode("utf-8", errors="replace")
        return Quarantined(
            row.csv,
            row.number,
            first,
            "",
            f"{Reason.WRONG_COLUMNS}: {len(row.fields)} column(s), expected {expected}"
            + ("" if row.header else f" (path{options.delimiter}label)"),
        )
    raw_path, raw_label = named["path"], named["label"]
    path_text = raw_path.decode("utf-8", errors="replace")
    label_text = raw_label.decode("utf-8", errors="replace")

    def quarantine(reason: str, path: str = path_text) -> Quarantined:
        return Quarantined(row.csv, row.number, path, label_text, reason)

    try:
        path_text = raw_path.decode("utf-8").strip()
    except UnicodeDecodeError:
        return quarantine(Reason.PATH_NOT_UTF8)
    try:
        label = raw_label.decode("utf-8")
    except UnicodeDecodeError:
        return quarantine(Reason.LABEL_NOT_UTF8)
    if not label.strip():
        return quarantine(Reason.EMPTY_LABEL)
    source = named.get("source", b"").decode("utf-8", errors="replace").strip()

    resolved = row.image_path or resolve_image_path(row.csv, path_text, options.data_root)
    if resolved is None:
        root = options.data_root or posixpath.dirname(row.csv)
        return quarantine(f"{Reason.OUTSIDE_ROOT} {root}")
    image_problem, image, size = _read_image(resolved, options)
    if image_problem:
        return quarantine(image_problem, resolved)
    return _Read(row, resolved, label, source, image, *size)


def _label_checks(read: _Read, decode_problem: str | None, options: IngestOptions):
    """The image's decode result, then the label's checks: alphabet, fits its image width."""
    if decode_problem:
        return read.quarantine(decode_problem)
    label, alphabet_config = read.label, options.alphabet_config
    units = split_units(label, alphabet_config)
    if options.alphabet_units is not None:
        alphabet = options.configured_alphabet
        unknown = sorted(set(alphabet.unknown_units(label, alphabet_config)))
        if unknown and alphabet_config.unknown == "error":
            return read.quarantine(f"{Reason.UNKNOWN_UNITS}: {''.join(unknown)!r}")
        units = [alphabet.units[i] for i in alphabet.encode(label, alphabet_config)]
        if not units:
            return read.quarantine(f"{Reason.EMPTY_LABEL} once unknown units are dropped")
    problem = geometry.label_fit_problem(read.height, read.width, units, options.model_config)
    if problem:
        detail = problem.removeprefix("label too long for its image")
        return read.quarantine(Reason.LABEL_TOO_LONG + detail)
    _, squeezed = geometry.resized_width(read.height, read.width, options.model_config)
    row = read.row
    return Accepted(
        row.csv,
        row.number,
        read.path,
        label,
        read.image,
        read.width,
        read.height,
        read.source,
        squeezed,
    )


def image_key(row: CsvRow, options: IngestOptions) -> str | None:
    """The image a row names, resolved as ``check_row`` resolves it (so rows of one image share
    it), or None when the row names none: wrong columns, path not UTF-8, outside the data root."""
    named = _named_fields(row)
    if named is None:
        return None
    try:
        path = named["path"].decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return resolve_image_path(row.csv, path, options.data_root)


def check_groups(
    groups: Iterable[Iterable[CsvRow]], options: IngestOptions
) -> Iterator[Accepted | Quarantined]:
    """``check_rows`` on groups of rows, each group the rows of one image (``image_key``) in
    file order, with the duplicate rule of ``dedupe``: a group's first accepted row is kept and
    its later accepted rows are quarantined as that row's duplicates. What the Beam ExampleGen
    runs on a batch of groups (``begin_check_groups``, to overlap one batch's decode with the
    next one's reads)."""
    return begin_check_groups(groups, options)()


def begin_check_groups(
    groups: Iterable[Iterable[CsvRow]], options: IngestOptions, decoder: Executor | None = None
) -> Callable[[], Iterator[Accepted | Quarantined]]:
    """``check_groups`` begun: the first ``CHECK_BATCH`` rows read now and their decode handed
    to ``decoder`` (``begin_check_rows``); the function returned gives the results, checking
    the rest of the rows batch by batch as it goes (``check_batches``)."""
    ordered = [sorted(rows, key=lambda r: (r.csv, r.number)) for rows in groups]
    # Checked CHECK_BATCH rows at a time, so that a group of many rows (one image listed
    # thousands of times) holds no more images in memory than a batch of one-row groups.
    row_batches = batches((row for rows in ordered for row in rows), CHECK_BATCH)
    begun = _begin_next(row_batches, options, decoder)

    def results() -> Iterator[Accepted | Quarantined]:
        checked = check_batches(row_batches, options, decoder, begun)
        return _first_of_each_image(ordered, checked)

    return results


def _first_of_each_image(
    ordered: list[list[CsvRow]], results: Iterator[Accepted | Quarantined]
) -> Iterator[Accepted | Quarantined]:
    """The results of the groups' rows in order, a group's later accepted rows quarantined as
    duplicates of its first."""
    for rows in ordered:
        first = None
        for result in itertools.islice(results, len(rows)):
            if not isinstance(result, Accepted):
                yield result
            elif first is None:
                first = result
                yield result
            else:
                yield duplicate_of(first, result)


def batches(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` items in order (the last one shorter)."""
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def _named_fields(row: CsvRow) -> dict[str, bytes] | None:
    """Fields by column name, or None when the row has the wrong number of columns."""
    if row.header is None:
        return {"path": row.fields[0], "label": row.fields[1]} if len(row.fields) == 2 else None
    if len(row.fields) != len(row.header):
        return None
    return dict(zip(row.header, row.fields, strict=True))


def resolve_image_path(csv_path: str, path: str, data_root: str | None) -> str | None:
    """The image's full path, or None when it lies outside the data root.

    Relative paths are relative to the CSV's directory. The data root (default: the CSV's
    directory) bounds both relative and absolute paths, after resolving ``..`` and, on local
    disks, symbolic links.
    """
    remote = "://" in csv_path or "://" in path
    base = posixpath.dirname(csv_path)
    joined = path if path.startswith("/") or "://" in path else posixpath.join(base, path)
    root = data_root or base
    if remote:
        normalized, root = _normalize_url(joined), _normalize_url(root)
    else:
        normalized, root = _realpath(joined), _real_directory(root)
    inside = normalized == root or normalized.startswith(root.rstrip("/") + "/")
    return normalized if inside else None


# Directories (the data root, the image folders) are shared by many rows: their links are
# resolved once per process (``os.path.realpath`` costs a system call per path component).
_cached_realpath = functools.lru_cache(maxsize=4096)(os.path.realpath)


def _real_directory(directory: str) -> str:
    """``os.path.realpath``, cached for absolute paths (a relative one depends on the cwd)."""
    return _cached_realpath(directory) if os.path.isabs(directory) else os.path.realpath(directory)


def _realpath(path: str) -> str:
    """``os.path.realpath(path)``, with the directory part resolved through the cache."""
    directory, name = os.path.split(path)
    if name in ("", ".", "..") or not os.path.isabs(directory):
        return os.path.realpath(path)
    resolved = os.path.join(_real_directory(directory), name)
    return os.path.realpath(resolved) if os.path.islink(resolved) else resolved


def _normalize_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{posixpath.normpath(rest)}" if sep else posixpath.normpath(url)


def _read_image(path: str, options: IngestOptions) -> tuple[str | None, bytes, tuple[int, int]]:
    """(problem or None, encoded bytes, (width, height)), the image read and its header checked
    (``inspect_header``; TensorFlow's decode is left to the caller)."""
    try:
        if "://" in path:
            with tf.io.gfile.GFile(path, "rb") as handle:
                encoded = handle.read()
        else:  # a local file: Python's own read is several times faster than GFile's
            with open(path, "rb") as handle:
                encoded = handle.read()
    except (tf.errors.NotFoundError, FileNotFoundError, NotADirectoryError):
        return Reason.MISSING_FILE, b"", (0, 0)
    except tf.errors.OpError as err:
        return f"{Reason.MISSING_FILE}: {err.message}", b"", (0, 0)
    except OSError as err:
        return f"{Reason.MISSING_FILE}: {err.strerror or err}", b"", (0, 0)
    problem, size = inspect_header(encoded, options.max_image_pixels)
    return problem, (b"" if problem else encoded), size


def dedupe(path: str, rows: list[Accepted]) -> Iterator[Accepted | Quarantined]:
    """The first row (by CSV file and row number) of an image is kept; later rows of the same
    image are quarantined as duplicates, naming the row they repeat."""
    first, *others = sorted(rows, key=lambda row: (row.csv, row.row))
    yield first
    for row in others:
        yield duplicate_of(first, row, path)


def duplicate_of(first: Accepted, row: Accepted, path: str | None = None) -> Quarantined:
    """``row`` quarantined as a duplicate of ``first`` (the same image, read earlier)."""
    what = "same image" if row.label == first.label else f"same image, label {first.label!r}"
    return Quarantined(
        row.csv,
        row.row,
        path or row.path,
        row.label,
        f"{Reason.DUPLICATE} of {first.csv}:{first.row} ({what})",
    )
