"""Turn a Kafka record into a validated post, or say exactly why not."""

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.messages import PostMessage

MAX_VALUE_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
EARLIEST_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)
MAX_INT_DIGITS = 1000
# The fields that reach PostgreSQL; unknown fields are ignored, so their content does not matter.
STORED_FIELDS = ("id", "text", "author", "source", "lang", "meta")


class InvalidMessage(Exception):
    """A poison message: it goes to the dead-letter topic with `reason`, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Coordinates:
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class DecodedPost:
    post: PostMessage
    created_at: datetime
    coordinates: Coordinates
    raw_key: bytes | None
    raw_value: bytes


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _reject_constant(name: str) -> Any:
    raise InvalidMessage(f"invalid JSON: {name} is not a JSON number")


def _finite_float(literal: str) -> float:
    # json.loads turns 1e400 into inf, which neither JSON nor PostgreSQL's JSONB can hold.
    number = float(literal)
    if not math.isfinite(number):
        raise InvalidMessage(f"number out of range: {literal[:40]}")
    return number


def _bounded_int(literal: str) -> int:
    # Python refuses to parse integers past 4300 digits with a plain ValueError.
    if len(literal) > MAX_INT_DIGITS:
        raise InvalidMessage(f"number out of range: an integer of {len(literal)} digits")
    return int(literal)


def _parse_json(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise InvalidMessage("empty value (tombstone)")
    if len(value) > MAX_VALUE_BYTES:
        raise InvalidMessage(f"oversize value: {len(value)} bytes > {MAX_VALUE_BYTES}")
    try:
        payload = json.loads(
            value.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"invalid UTF-8 at byte {exc.start}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidMessage(f"invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidMessage(f"JSON value is a {type(payload).__name__}, not an object")
    if _depth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidMessage(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    _check_stored_strings(payload)
    return payload


def _strings(node: Any) -> Iterator[str]:
    """Every string in a JSON value, object keys included (the depth is already bounded)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _check_stored_strings(payload: dict[str, Any]) -> None:
    """PostgreSQL stores neither lone surrogates nor NUL characters (text drops its NULs)."""
    for field in STORED_FIELDS:
        for string in _strings(payload.get(field)):
            try:
                string.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidMessage(f"{field} holds a lone UTF-16 surrogate") from None
            if "\x00" in string and field != "text":
                raise InvalidMessage(f"{field} holds a NUL character")


def _explain(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "value"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def decode(
    key: bytes | None, value: bytes | None, timestamp_ms: int, coordinates: Coordinates
) -> DecodedPost:
    """Validate one record's value; raise `InvalidMessage` with a reason a person can act on."""
    payload = _parse_json(value)
    try:
        post = PostMessage.model_validate(payload)
    except ValidationError as exc:
        raise InvalidMessage(f"schema: {_explain(exc)}") from None
    if not post.text.strip():  # the schema drops NULs after its own blank check
        raise InvalidMessage("schema: text: empty once its NUL characters are dropped")
    created_at = post.created_at or datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    try:
        created_at = created_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidMessage("created_at out of range") from None
    if not EARLIEST_CREATED_AT <= created_at <= datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise InvalidMessage(f"created_at {created_at.isoformat()} is before 1970 or in the future")
    assert value is not None  # _parse_json refused a missing value
    return DecodedPost(post, created_at, coordinates, raw_key=key, raw_value=value)
