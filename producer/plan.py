"""What `moodwatch produce` sends, decided without Kafka: messages, timestamps, encoding.

`plan_messages` reads the whole input once to validate every row (a bad row fails before a
single post is sent, or with --skip-bad-rows is counted, and the count sizes the progress bar
and the time-warp), then reads it again lazily to build the `PostMessage`s; stdin, which cannot
be read twice, is kept from the first reading.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat
from typing import Any, TextIO

from pydantic import ValidationError

from producer.ids import IdMaker
from producer.options import MAX_PREFIX_CHARS, ProduceOptions
from producer.rows import DEFAULT_COLUMNS
from producer.sources import STDIN, Columns, RawPost, Row, SourceError, read_posts
from schemas.messages import PostMessage

__all__ = [
    "MAX_PREFIX_CHARS",
    "MessagePlan",
    "ProduceOptions",
    "build_messages",
    "describe",
    "encode_message",
    "plan_messages",
    "to_message",
    "warped_times",
]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MessagePlan:
    """`total` messages to send; `skipped` the bad rows left out (only with --skip-bad-rows)."""

    total: int
    messages: Iterator[PostMessage]
    skipped: tuple[SourceError, ...] = ()


def plan_messages(
    options: ProduceOptions, *, clock: Clock = utc_now, stdin: TextIO | None = None
) -> MessagePlan:
    """Validate every row, count the good ones (at most `limit`), and return the messages."""
    rows = _replayable_rows(options, stdin)
    now = clock()
    skipped: list[SourceError] = []
    on_bad = skipped.append if options.skip_bad_rows else None
    checking = build_messages(
        rows(), options, repeat(now) if options.warp_days else None, lambda: now, on_bad
    )
    total = sum(1 for _ in islice(checking, options.limit or None))
    times = warped_times(total, options.warp_days, now) if options.warp_days else None
    ignore = _ignore if options.skip_bad_rows else None  # counted in the first reading
    messages = islice(build_messages(rows(), options, times, clock, ignore), total)
    return MessagePlan(total, messages, tuple(skipped))


def _ignore(_error: SourceError) -> None:
    return None


def _replayable_rows(options: ProduceOptions, stdin: TextIO | None) -> Callable[[], Iterable[Row]]:
    """A way to read the input twice. Stdin can be read once: the first reading keeps what it
    read and the second replays that; the first stops at --limit, so an endless pipe works."""
    if options.source != STDIN:
        return lambda: read_posts(options.source, options.columns, fmt=options.format)
    kept: list[Row] = []
    first = read_posts(STDIN, options.columns, stdin, options.format)
    readings = iter([_keeping(first, kept)])
    return lambda: next(readings, kept)


def _keeping(rows: Iterable[Row], kept: list[Row]) -> Iterator[Row]:
    for row in rows:
        kept.append(row)
        yield row


def build_messages(
    rows: Iterable[Row],
    options: ProduceOptions,
    times: Iterator[datetime] | None = None,
    clock: Clock = utc_now,
    on_bad: Callable[[SourceError], None] | None = None,
) -> Iterator[PostMessage]:
    """One message per good row, in input order; a bad row raises its `SourceError`, or when
    `on_bad` is given (--skip-bad-rows) goes there and is left out.

    `times` (the time-warp) replaces the rows' own `created_at`, which is then not checked;
    without it a row keeps its `created_at`, and a row without one is stamped `clock()`.
    """
    ids = IdMaker(options.id_prefix)
    for row in rows:
        try:
            if isinstance(row, SourceError):
                raise row
            stamp = clock() if times is not None else row.created_at or clock()
            message = to_message(row, options, stamp, ids(row))
        except SourceError as error:
            if on_bad is None:
                raise
            on_bad(error)
            continue
        if times is not None:  # taken only by good rows: a skipped row leaves no gap
            message = message.model_copy(update={"created_at": next(times)})
        yield message


def to_message(
    raw: RawPost, options: ProduceOptions, created_at: datetime | str, post_id: str
) -> PostMessage:
    """The post message for one row; a row that breaks the contract names its file and line."""
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
        raise SourceError(options.where, raw.line, describe(error, options.columns)) from None


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


def describe(error: ValidationError, columns: Columns = DEFAULT_COLUMNS) -> str:
    """A pydantic error as one line: `field: problem; field: problem`; a field read from a
    column of another name says which (`created_at (column 'when')`)."""
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "post"
        mapped = columns.named().get(where)
        if mapped and mapped != where:
            where = f"{where} (column {mapped!r})"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)
