"""What `moodwatch produce` sends, decided without Kafka: options, ids, timestamps, encoding.

`plan_messages` reads the whole input once to validate every row (a bad row fails before a
single post is sent, and the count sizes the progress bar and the time-warp), then reads it
again lazily to build the `PostMessage`s; stdin, which cannot be read twice, is buffered.
"""

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from schemas.messages import PostMessage
from worker.post_sources import (
    STDIN,
    STDIN_NAME,
    Columns,
    ProduceError,
    RawPost,
    SourceError,
    read_posts,
    source_suffix,
)

COMPRESSIONS = ("gzip", "snappy", "lz4", "zstd")
MAX_WARP_DAYS = 36_500.0
MAX_PREFIX_CHARS = 128
MAX_STEM_CHARS = 100  # prefix + stem + line + stdin hash stay within MAX_ID_CHARS
MAX_SOURCE_NAME_CHARS = 64  # PostMessage.source

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class ProduceOptions:
    """What to replay and how; invalid values raise `ProduceError` naming the CLI option."""

    source: str
    rate: float = 0.0
    limit: int = 0
    text_column: str = "text"
    id_column: str = "id"
    source_name: str = "replay"
    warp_days: float = 0.0
    id_prefix: str = ""
    compression: str | None = None

    def __post_init__(self) -> None:
        if not self.source:
            raise ProduceError("SOURCE must be a file path, or - for stdin")
        if self.source != STDIN:
            source_suffix(Path(self.source))
        _check(math.isfinite(self.rate) and self.rate >= 0, "--rate must be a number >= 0")
        _check(self.limit >= 0, "--limit must be >= 0 (0 = all)")
        _check(bool(self.text_column.strip()), "--text-column must not be empty")
        _check(bool(self.id_column.strip()), "--id-column must not be empty")
        name_ok = bool(self.source_name.strip()) and len(self.source_name) <= MAX_SOURCE_NAME_CHARS
        _check(name_ok, f"--source-name must be 1 to {MAX_SOURCE_NAME_CHARS} characters")
        warp_ok = math.isfinite(self.warp_days) and 0 <= self.warp_days <= MAX_WARP_DAYS
        _check(warp_ok, f"--warp-days must be between 0 and {MAX_WARP_DAYS:g}")
        prefix_ok = len(self.id_prefix) <= MAX_PREFIX_CHARS and "\x00" not in self.id_prefix
        _check(prefix_ok, f"--id-prefix must be at most {MAX_PREFIX_CHARS} characters, no NUL")
        compression_ok = self.compression is None or self.compression in COMPRESSIONS
        _check(compression_ok, f"compression must be one of {', '.join(COMPRESSIONS)}")

    @property
    def columns(self) -> Columns:
        return Columns(text=self.text_column, id=self.id_column)

    @property
    def where(self) -> str:
        """How errors name the input."""
        return STDIN_NAME if self.source == STDIN else self.source

    @property
    def stem(self) -> str:
        """The file stem in generated ids (`stdin` for stdin)."""
        return "stdin" if self.source == STDIN else Path(self.source).stem


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise ProduceError(problem)


@dataclass(frozen=True)
class MessagePlan:
    total: int
    messages: Iterator[PostMessage]


def plan_messages(
    options: ProduceOptions, *, clock: Clock = utc_now, stdin: TextIO | None = None
) -> MessagePlan:
    """Validate every row, count them (at most `limit`), and return the messages to send."""
    rows = _replayable_rows(options, stdin)
    now = clock()
    checking_times = repeat(now) if options.warp_days else None
    total = sum(1 for _ in build_messages(rows(), options, checking_times, lambda: now))
    times = warped_times(total, options.warp_days, now) if options.warp_days else None
    return MessagePlan(total, build_messages(rows(), options, times, clock))


def _replayable_rows(
    options: ProduceOptions, stdin: TextIO | None
) -> Callable[[], Iterable[RawPost]]:
    limit = options.limit or None
    if options.source == STDIN:
        buffered = list(islice(read_posts(STDIN, options.columns, stdin), limit))
        return lambda: buffered
    return lambda: islice(read_posts(options.source, options.columns), limit)


def build_messages(
    rows: Iterable[RawPost],
    options: ProduceOptions,
    times: Iterator[datetime] | None = None,
    clock: Clock = utc_now,
) -> Iterator[PostMessage]:
    """One message per row; `times` (the time-warp) overrides a row's own `created_at`.

    Without `times`, a row keeps its `created_at` and a row without one is stamped `clock()`.
    """
    for raw in rows:
        created_at = next(times) if times is not None else raw.created_at or clock()
        yield to_message(raw, options, created_at)


def to_message(raw: RawPost, options: ProduceOptions, created_at: datetime | str) -> PostMessage:
    """The post message for one row; a row that breaks the contract names its file and line."""
    post_id = raw.post_id
    if post_id is None:
        post_id = generated_id(options.id_prefix, options.stem, raw.line, raw.text, options.source)
    meta: dict[str, Any] | None = None if raw.meta is None else dict(raw.meta)
    if raw.label is not None:
        meta = {**(meta or {}), "label": raw.label}
    try:
        return PostMessage.model_validate(
            {
                "id": post_id,
                "text": raw.text,
                "created_at": created_at,
                "author": raw.author,
                "source": raw.source or options.source_name,
                "lang": raw.lang,
                "meta": meta,
            }
        )
    except ValidationError as error:
        raise SourceError(options.where, raw.line, describe(error)) from None


def generated_id(prefix: str, stem: str, line: int, text: str, source: str = "") -> str:
    """`{prefix}{stem}-{line}`: the same file replayed gives the same ids (nothing doubled).

    Stdin has no name, so its ids also carry a hash of the text: feeding two different
    inputs through stdin must not make the second one's posts look like replays of the first.
    """
    post_id = f"{prefix}{stem[:MAX_STEM_CHARS]}-{line}"
    if source == STDIN:
        post_id += "-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return post_id


def warped_times(total: int, warp_days: float, now: datetime) -> Iterator[datetime]:
    """`total` timestamps spread evenly over [now - warp_days, now], oldest first."""
    span = timedelta(days=warp_days)
    if total == 1:
        yield now
        return
    for index in range(total):
        yield now - span + span * (index / (total - 1))


def encode_message(message: PostMessage) -> tuple[bytes, bytes]:
    """(key, value) for Kafka: the post id in UTF-8, and the message as compact JSON."""
    value = message.model_dump_json(exclude_none=True)
    return message.id.encode("utf-8"), value.encode("utf-8")


def describe(error: ValidationError) -> str:
    """A pydantic error as one line: `field: problem; field: problem`."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "post"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
