"""The options of `moodwatch produce`, checked as a whole when they are made."""

import math
from dataclasses import dataclass

from producer.rows import settings_error
from producer.sources import STDIN, STDIN_NAME, Columns, check_format

COMPRESSIONS = ("gzip", "snappy", "lz4", "zstd")
MAX_WARP_DAYS = 36_500.0
MAX_PREFIX_CHARS = 128  # + a 20-character digest and a repeat count stay within MAX_ID_CHARS
MAX_SOURCE_NAME_CHARS = 64  # PostMessage.source


@dataclass(frozen=True, kw_only=True)
class ProduceOptions:
    """What to replay and how; invalid values raise `ProduceError` naming the CLI option.

    A column left None means the post field's own name (`id`, `author`, `created_at`, ...),
    used when a row has it; a column given must be there.
    """

    source: str
    rate: float = 0.0
    limit: int = 0
    format: str = "auto"
    text_column: str = "text"
    id_column: str | None = None
    author_column: str | None = None
    time_column: str | None = None
    source_column: str | None = None
    lang_column: str | None = None
    source_name: str = "replay"
    warp_days: float = 0.0
    id_prefix: str = ""
    skip_bad_rows: bool = False
    compression: str | None = None

    def __post_init__(self) -> None:
        if not self.source:
            raise settings_error("SOURCE must be a file path, or - for stdin")
        check_format(self.source, self.format)
        _check(math.isfinite(self.rate) and self.rate >= 0, "--rate must be a number >= 0")
        _check(self.limit >= 0, "--limit must be >= 0 (0 = all)")
        for option, column in self._column_options().items():
            _check(column is None or bool(column.strip()), f"{option} must not be empty")
        name_ok = bool(self.source_name.strip()) and len(self.source_name) <= MAX_SOURCE_NAME_CHARS
        _check(name_ok, f"--source-name must be 1 to {MAX_SOURCE_NAME_CHARS} characters")
        warp_ok = math.isfinite(self.warp_days) and 0 <= self.warp_days <= MAX_WARP_DAYS
        _check(warp_ok, f"--warp-days must be between 0 and {MAX_WARP_DAYS:g}")
        prefix_ok = len(self.id_prefix) <= MAX_PREFIX_CHARS and "\x00" not in self.id_prefix
        _check(prefix_ok, f"--id-prefix must be at most {MAX_PREFIX_CHARS} characters, no NUL")
        compression_ok = self.compression is None or self.compression in COMPRESSIONS
        _check(compression_ok, f"compression must be one of {', '.join(COMPRESSIONS)}")

    def _column_options(self) -> dict[str, str | None]:
        return {
            "--text-column": self.text_column,
            "--id-column": self.id_column,
            "--author-column": self.author_column,
            "--time-column": self.time_column,
            "--source-column": self.source_column,
            "--lang-column": self.lang_column,
        }

    @property
    def columns(self) -> Columns:
        return Columns(
            text=self.text_column,
            id=self.id_column,
            author=self.author_column,
            created_at=self.time_column,
            source=self.source_column,
            lang=self.lang_column,
        )

    @property
    def where(self) -> str:
        """How errors name the input."""
        return STDIN_NAME if self.source == STDIN else self.source


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise settings_error(problem)
