"""Reading what `moodwatch produce` replays: a file (by suffix or `--format`) or stdin.

`read_posts` yields a `Row` per non-blank input row: a `RawPost` with the physical line it
came from, or the `SourceError` that names what is wrong with it, so that every mistake names
its file and line. `read_file` is the same for one file, and is what `moodwatch train` reads
its files with too. The formats themselves are `producer.formats`; the row fields
`producer.rows`.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from producer.formats import FORMATS, MIXED, TEXT_OR_KAGGLE, format_of, is_kaggle, read_as
from producer.rows import (
    DEFAULT_COLUMNS,
    Columns,
    ProduceError,
    RawPost,
    Row,
    SourceError,
    settings_error,
)

__all__ = [
    "FORMATS",
    "STDIN",
    "STDIN_NAME",
    "Columns",
    "ProduceError",
    "RawPost",
    "Row",
    "SourceError",
    "check_format",
    "read_file",
    "read_posts",
]

STDIN = "-"
STDIN_NAME = "<stdin>"


def check_format(source: str, requested: str) -> None:
    """Fail early (before any reading) when the format is unknown or cannot be told."""
    if requested not in FORMATS:
        raise settings_error(f"--format must be one of {', '.join(FORMATS)}, not {requested!r}")
    if source != STDIN:
        format_of(Path(source), requested)


def read_posts(
    source: str, columns: Columns = DEFAULT_COLUMNS, stdin: TextIO | None = None, fmt: str = "auto"
) -> Iterator[Row]:
    """Yield the rows of `source` (a file path, or `-` for `stdin`), skipping blank lines."""
    if source == STDIN:
        yield from _read_stdin(stdin, columns, fmt)
    else:
        yield from read_file(Path(source), columns, fmt)


def read_file(path: Path, columns: Columns = DEFAULT_COLUMNS, fmt: str = "auto") -> Iterator[Row]:
    """Yield the rows of the file at `path`, read as `fmt` (auto: by its suffix)."""
    fmt = format_of(path, fmt)
    if not path.is_file():
        raise ProduceError(f"{path}: no such file")
    if fmt == TEXT_OR_KAGGLE:
        with path.open("rb") as handle:
            fmt = "kaggle" if is_kaggle(_utf8_lines(handle)) else "text"
    with path.open("rb") as handle:
        yield from read_as(fmt, _utf8_lines(handle), str(path), columns)


def _read_stdin(stdin: TextIO | None, columns: Columns, fmt: str) -> Iterator[Row]:
    if stdin is None:
        raise ProduceError("reading from stdin (-) needs a stdin stream")
    # The real stdin is read as bytes, like a file: a line of bad UTF-8 is then one bad row
    # instead of an exception that ends the reading.
    binary: BinaryIO | None = getattr(stdin, "buffer", None)
    lines = stdin if binary is None else _utf8_lines(binary)
    yield from read_as(MIXED if fmt == "auto" else fmt, lines, STDIN_NAME, columns)


def _utf8_lines(handle: BinaryIO) -> Iterator[str]:
    """The lines of a file (only "\n" ends one, as in `wc -l`), decoded one by one; a byte
    that is not UTF-8 survives as a surrogate, which the readers report on its own line. A
    leading byte-order mark is dropped."""
    for number, raw in enumerate(handle, start=1):
        line = raw.decode("utf-8", "surrogateescape")
        yield line.removeprefix("\ufeff") if number == 1 else line
