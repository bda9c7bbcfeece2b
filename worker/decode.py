"""Turn a Kafka record into a validated post, or say exactly why not."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.messages import PostMessage

MAX_VALUE_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
EARLIEST_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(days=1)


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


def _parse_json(value: bytes | None) -> dict[str, Any]:
    if value is None:
        raise InvalidMessage("empty value (tombstone)")
    if len(value) > MAX_VALUE_BYTES:
        raise InvalidMessage(f"oversize value: {len(value)} bytes > {MAX_VALUE_BYTES}")
    try:
        payload = json.loads(value.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"invalid UTF-8 at byte {exc.start}") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidMessage(f"invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidMessage(f"JSON value is a {type(payload).__name__}, not an object")
    if _depth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidMessage(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        # PostgreSQL stores neither lone surrogates nor NUL inside JSONB strings.
        canonical = json.dumps(payload.get("meta"), ensure_ascii=False).encode("utf-8")
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidMessage("string holds a lone UTF-16 surrogate") from None
    if b"\\u0000" in canonical or b"\x00" in canonical:
        raise InvalidMessage("meta holds a NUL character")
    return payload


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
    created_at = post.created_at or datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    try:
        created_at = created_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidMessage("created_at out of range") from None
    if not EARLIEST_CREATED_AT <= created_at <= datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise InvalidMessage(f"created_at {created_at.isoformat()} is before 1970 or in the future")
    assert value is not None  # _parse_json refused a missing value
    return DecodedPost(post, created_at, coordinates, raw_key=key, raw_value=value)
