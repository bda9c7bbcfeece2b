"""The input formats of `moodwatch produce` and `moodwatch train`, each a reader from decoded
lines to `Row`s.

Formats: JSONL (one object a line), CSV and TSV (a header row), `text` (one post a line),
`kaggle` (`text;label` lines, the Kaggle copy of the emotion dataset) and, for stdin with
`--format auto`, a mix of JSON objects and plain lines. A reader yields a bad row's
`SourceError` and goes on, so that `--skip-bad-rows` can count it; a problem with the whole
input (no header, a mapped column missing) is raised.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

from producer.rows import (
    COLUMN_OPTIONS,
    Columns,
    RawPost,
    Row,
    SourceError,
    post_from_mapping,
    settings_error,
)
from schemas.emotions import LABELS

FORMATS = ("auto", "jsonl", "csv", "tsv", "text", "kaggle")
TEXT_OR_KAGGLE = "text-or-kaggle"  # a .txt: decided by `is_kaggle` on its first lines
MIXED = "mixed"  # stdin with --format auto: JSON objects where a line starts with `{`
SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": TEXT_OR_KAGGLE,
}
KAGGLE_SNIFF_LINES = 200
FORMAT_HINT = "pass --format jsonl, csv, tsv, text (one post per line) or kaggle (text;label)"

Reader = Callable[[Iterable[str], str, Columns], Iterator[Row]]


def format_of(path: Path, requested: str) -> str:
    """The format to read `path` as: `requested`, or for `auto` the one its suffix names."""
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        named = f"suffix {suffix!r}" if suffix else "no suffix"
        raise settings_error(f"{path}: cannot tell its format ({named})", FORMAT_HINT)
    return SUFFIX_FORMATS[suffix]


def is_kaggle(lines: Iterable[str]) -> bool:
    """Whether every non-blank line among the first 200 ends in `;<emotion name>`.

    Only then is a .txt read as `text;label`: in a plain text file a post may well contain a
    `;`, and cutting its text there would lose words silently.
    """
    seen = 0
    for line in lines:
        if not line.strip():
            continue
        _, sep, label = line.rstrip("\r\n").rpartition(";")
        if not sep or label.strip().lower() not in LABELS:
            return False
        seen += 1
        if seen == KAGGLE_SNIFF_LINES:
            break
    return seen > 0


def read_as(fmt: str, lines: Iterable[str], where: str, columns: Columns) -> Iterator[Row]:
    """The rows of `lines` read as `fmt` (one of FORMATS but auto, or MIXED)."""
    if fmt in ("text", "kaggle"):
        _refuse_columns(fmt, where, columns)
    readers: dict[str, Reader] = {
        "jsonl": read_jsonl,
        "csv": read_csv,
        "tsv": partial(read_csv, delimiter="\t"),
        "text": read_text,
        "kaggle": read_kaggle,
        MIXED: read_mixed,
    }
    return readers[fmt](lines, where, columns)


def _refuse_columns(fmt: str, where: str, columns: Columns) -> None:
    mapped = {f: c for f, c in columns.named().items() if (f, c) != ("text", "text")}
    if mapped:
        option = COLUMN_OPTIONS[next(iter(mapped))]
        raise settings_error(
            f"{option} names a field, but {where} is read as {fmt}, which has none"
        )


def utf8_problem(line: str) -> str | None:
    """Why a line decoded with `surrogateescape` is not UTF-8, or None when it is."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as error:
        byte = len(line[: error.start].encode("utf-8", "surrogateescape")) + 1
        return f"not valid UTF-8 (byte {byte} of the line)"
    return None


def _per_line(
    lines: Iterable[str], where: str, parse: Callable[[str, int], RawPost]
) -> Iterator[Row]:
    """`parse` each non-blank line (without its newline), numbered as in `wc -l`."""
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        problem = utf8_problem(line)
        try:
            if problem:
                raise SourceError(where, number, problem)
            row: Row = parse(line, number)
        except SourceError as error:
            row = error
        yield row


def read_jsonl(lines: Iterable[str], where: str, columns: Columns) -> Iterator[Row]:
    return _per_line(lines, where, partial(_json_row, where=where, columns=columns))


def _json_row(line: str, number: int, where: str, columns: Columns, problem: str = "") -> RawPost:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        detail = f"not valid JSON ({error.msg} at column {error.colno})"
        raise SourceError(where, number, problem + detail) from None
    if not isinstance(obj, dict):
        raise SourceError(where, number, f"expected a JSON object, got {type(obj).__name__}")
    return post_from_mapping(obj, number, where, columns)


def read_text(lines: Iterable[str], where: str, columns: Columns) -> Iterator[Row]:
    return _per_line(lines, where, lambda line, number: RawPost(line=number, text=line))


def read_kaggle(lines: Iterable[str], where: str, columns: Columns) -> Iterator[Row]:
    """`text;label` lines; the label is kept as written, whatever it is."""

    def parse(line: str, number: int) -> RawPost:
        text, sep, label = line.rpartition(";")
        if not sep:
            raise SourceError(where, number, "expected `text;label` (no `;` found)")
        label = label.strip()
        return RawPost(line=number, text=text, labels=(("label", label),) if label else ())

    return _per_line(lines, where, parse)


def read_mixed(lines: Iterable[str], where: str, columns: Columns) -> Iterator[Row]:
    """A JSON object where a line starts with `{`, else a plain-text post. A `{` line that does
    not parse is an error: posting a broken object's pieces as text helps nobody."""

    def parse(line: str, number: int) -> RawPost:
        if line.lstrip().startswith("{"):
            return _json_row(line, number, where, columns, "looks like JSON but is ")
        if columns.id is not None:
            problem = f"no {columns.id!r} field (named by --id-column) in a plain-text line"
            raise SourceError(where, number, problem)
        return RawPost(line=number, text=line)

    return _per_line(lines, where, parse)


def read_csv(
    lines: Iterable[str], where: str, columns: Columns, delimiter: str = ","
) -> Iterator[Row]:
    reader = csv.DictReader(lines, delimiter=delimiter, strict=True)
    _check_header(reader, where, columns)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # the reader counts the lines it has finished; the error is on the next one
            yield SourceError(where, reader.line_num + 1, f"unreadable CSV ({error})")
            continue
        cells = {key: value for key, value in row.items() if value not in (None, "")}
        try:
            if None in row:
                fields = len(reader.fieldnames or ()) + len(row[None])
                raise SourceError(where, reader.line_num, f"{fields} fields, header has fewer")
            problem = next(filter(None, map(utf8_problem, map(str, cells.values()))), None)
            if problem:
                raise SourceError(where, reader.line_num, problem)
            if not cells:
                continue
            parsed: Row = post_from_mapping(cells, reader.line_num, where, columns)
        except SourceError as error:
            parsed = error
        yield parsed


def _check_header(reader: "csv.DictReader[str]", where: str, columns: Columns) -> None:
    """Every column the user mapped must be in the header: a typo must not silently turn
    into posts without authors, or into generated ids that store every post twice."""
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise SourceError(where, 1, f"unreadable CSV header ({error})") from None
    if not header:
        raise SourceError(where, 1, "empty file: expected a header row")
    for field, column in columns.named().items():
        if column not in header:
            option = COLUMN_OPTIONS[field]
            problem = f"no {column!r} column in the header {header}; choose one with {option}"
            raise SourceError(where, 1, problem)
