"""Readers for the files `moodwatch produce` replays: JSONL, CSV/TSV, Kaggle `text;label`, stdin.

Each reader yields `RawPost`s: the fields of one input row with their types checked and the
physical line number they came from, so that every mistake names its file and line. Turning a
row into a `PostMessage` (ids, timestamps) is `worker.post_plan`'s job.
"""

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from schemas.emotions import Emotion

STDIN = "-"
STDIN_NAME = "<stdin>"
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CSV_DELIMITERS = {".csv": ",", ".tsv": "\t"}
KAGGLE_SUFFIXES = (".txt",)
SUPPORTED_SUFFIXES = (*JSONL_SUFFIXES, *CSV_DELIMITERS, *KAGGLE_SUFFIXES)
OPTIONAL_TEXT_FIELDS = ("author", "lang", "source", "created_at")


class ProduceError(ValueError):
    """A user mistake while producing (bad option, bad row, unreachable broker): its message
    is meant to be shown alone, without a traceback."""


class SourceError(ProduceError):
    """A bad input row; the message starts with `file:line:`."""

    def __init__(self, where: str, line: int, problem: str) -> None:
        super().__init__(f"{where}:{line}: {problem}")
        self.where = where
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Columns:
    """Which fields of a JSONL object or CSV row hold the text and the post id."""

    text: str = "text"
    id: str = "id"


@dataclass(frozen=True)
class RawPost:
    """One input row, its types checked; `post_id` is None when the row has none."""

    line: int
    text: str
    post_id: str | None = None
    label: str | None = None
    author: str | None = None
    lang: str | None = None
    source: str | None = None
    created_at: str | None = None
    meta: Mapping[str, Any] | None = None


def read_posts(
    source: str, columns: Columns = Columns(), stdin: TextIO | None = None
) -> Iterator[RawPost]:
    """Yield the rows of `source` (a file path, or `-` for `stdin`), skipping blank lines."""
    if source == STDIN:
        if stdin is None:
            raise ProduceError("reading from stdin (-) needs a stdin stream")
        yield from read_stdin(stdin, columns)
        return
    path = Path(source)
    suffix = source_suffix(path)
    if not path.is_file():
        raise ProduceError(f"{path}: no such file")
    with path.open("rb") as handle:
        lines = _utf8_lines(handle, str(path))
        if suffix in JSONL_SUFFIXES:
            yield from read_jsonl(lines, str(path), columns)
        elif suffix in KAGGLE_SUFFIXES:
            yield from read_kaggle(lines, str(path))
        else:
            yield from read_csv(lines, str(path), columns, CSV_DELIMITERS[suffix])


def source_suffix(path: Path) -> str:
    """The lower-cased suffix of a supported input file; a clear error for any other."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        raise ProduceError(f"{path}: unsupported file type {suffix or '(none)'!r}; use {supported}")
    return suffix


def _utf8_lines(handle: BinaryIO, where: str) -> Iterator[str]:
    """The lines of a file (only "\n" ends one, as in `wc -l`), decoded one by one so that
    bad UTF-8 is reported on its own line; a leading byte-order mark is dropped."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            problem = f"not valid UTF-8 ({error.reason} at byte {error.start + 1})"
            raise SourceError(where, number, problem) from None
        yield line.removeprefix("\ufeff") if number == 1 else line


def _numbered_lines(handle: Iterable[str], where: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) for the non-blank lines; bad UTF-8 named."""
    number = 0
    iterator = iter(handle)
    while True:
        number += 1
        try:
            line = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            raise SourceError(where, number, f"not valid UTF-8 ({error.reason})") from None
        line = line.rstrip("\r\n")
        if line.strip():
            yield number, line


def read_jsonl(handle: Iterable[str], where: str, columns: Columns) -> Iterator[RawPost]:
    for number, line in _numbered_lines(handle, where):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at column {error.colno})"
            raise SourceError(where, number, problem) from None
        if not isinstance(obj, dict):
            raise SourceError(where, number, f"expected a JSON object, got {type(obj).__name__}")
        yield post_from_mapping(obj, number, where, columns)


def read_kaggle(handle: Iterable[str], where: str) -> Iterator[RawPost]:
    """The Kaggle form of the emotion dataset: one `text;label_name` per line."""
    for number, line in _numbered_lines(handle, where):
        text, sep, label = line.rpartition(";")
        if not sep:
            raise SourceError(where, number, "expected `text;label_name` (no `;` found)")
        yield RawPost(line=number, text=text, label=_label_name(label, where, number))


def read_stdin(handle: Iterable[str], columns: Columns) -> Iterator[RawPost]:
    """JSONL lines where a line parses as a JSON object, else one plain-text post per line."""
    for number, line in _numbered_lines(handle, STDIN_NAME):
        obj = _json_object_or_none(line)
        if obj is None:
            yield RawPost(line=number, text=line)
        else:
            yield post_from_mapping(obj, number, STDIN_NAME, columns)


def _json_object_or_none(line: str) -> dict[str, Any] | None:
    if not line.lstrip().startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def read_csv(
    lines: Iterable[str], where: str, columns: Columns, delimiter: str = ","
) -> Iterator[RawPost]:
    reader = csv.DictReader(lines, delimiter=delimiter, strict=True)
    _check_header(reader, where, columns)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise SourceError(where, reader.line_num + 1, f"unreadable CSV ({error})") from None
        number = reader.line_num
        if None in row:
            problem = f"{len(reader.fieldnames or ()) + len(row[None])} fields, header has fewer"
            raise SourceError(where, number, problem)
        cells = {key: value for key, value in row.items() if value not in (None, "")}
        if cells:
            yield post_from_mapping(cells, number, where, columns)


def _check_header(reader: "csv.DictReader[str]", where: str, columns: Columns) -> None:
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise SourceError(where, 1, f"unreadable CSV header ({error})") from None
    if not header:
        raise SourceError(where, 1, "empty file: expected a header row")
    if columns.text not in header:
        problem = (
            f"no {columns.text!r} column in the header {header}; choose one with --text-column"
        )
        raise SourceError(where, 1, problem)


def post_from_mapping(obj: Mapping[str, Any], line: int, where: str, columns: Columns) -> RawPost:
    """Check the fields of a JSON object or CSV row and keep the ones a post message carries."""
    text = obj.get(columns.text)
    if not isinstance(text, str):
        shown = "missing" if text is None else f"a {type(text).__name__}"
        raise SourceError(where, line, f"field {columns.text!r} must be a string, is {shown}")
    optional = {name: _optional_str(obj, name, where, line) for name in OPTIONAL_TEXT_FIELDS}
    return RawPost(
        line=line,
        text=text,
        post_id=_post_id(obj.get(columns.id), columns.id, where, line),
        label=_label(obj, where, line),
        meta=_meta(obj.get("meta"), where, line),
        **optional,
    )


def _optional_str(obj: Mapping[str, Any], name: str, where: str, line: int) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise SourceError(where, line, f"field {name!r} must be a string")
    return value


def _post_id(value: object, field: str, where: str, line: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise SourceError(where, line, f"field {field!r} must be a string or an integer")


def _meta(value: object, where: str, line: int) -> Mapping[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise SourceError(where, line, "field 'meta' must be a JSON object")


def _label(obj: Mapping[str, Any], where: str, line: int) -> str | None:
    """The emotion a row is labelled with (`label` id or name, `label_name`); they must agree."""
    by_id = _label_value(obj.get("label"), where, line)
    name = obj.get("label_name")
    by_name = None if name is None else _label_name(name, where, line)
    if by_id is not None and by_name is not None and by_id != by_name:
        raise SourceError(where, line, f"label {by_id!r} and label_name {by_name!r} disagree")
    return by_id or by_name


def _label_value(value: object, where: str, line: int) -> str | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if value is None or isinstance(value, str):
        return None if value is None else _label_name(value, where, line)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return Emotion(value).label
        except ValueError:
            pass
    ids = ", ".join(f"{e.value}={e.label}" for e in Emotion)
    raise SourceError(where, line, f"label {value!r} is not an emotion id ({ids})")


def _label_name(value: object, where: str, line: int) -> str:
    if not isinstance(value, str):
        raise SourceError(where, line, "label_name must be a string")
    try:
        return Emotion.from_label(value).label
    except ValueError as error:
        raise SourceError(where, line, str(error)) from None
