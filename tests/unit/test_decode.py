"""What the worker accepts, and the reasons it gives for what it refuses."""

import json
from datetime import UTC, datetime

import pytest

from worker.decode import Coordinates, InvalidMessage, decode

WHERE = Coordinates("posts", 2, 41)
KAFKA_TS = 1_764_000_000_000  # 2025-11-24


def reason(value: bytes | None) -> str:
    with pytest.raises(InvalidMessage) as caught:
        decode(None, value, KAFKA_TS, WHERE)
    return caught.value.reason


def encode(payload: object) -> bytes:
    return json.dumps(payload).encode()


def test_a_valid_post_keeps_its_fields_and_ignores_unknown_ones() -> None:
    value = encode(
        {"id": "p1", "text": "Loving this 😍", "author": "ann", "source": "x", "extra": [1]}
    )
    decoded = decode(b"p1", value, KAFKA_TS, WHERE)
    assert decoded.post.text == "Loving this 😍"
    assert decoded.post.author == "ann"
    assert decoded.created_at == datetime.fromtimestamp(KAFKA_TS / 1000, tz=UTC)
    assert decoded.raw_value == value and decoded.coordinates == WHERE


def test_created_at_in_rfc3339_is_used_and_made_utc() -> None:
    value = encode({"id": "p", "text": "hi", "created_at": "2026-01-02T03:04:05+02:00"})
    assert decode(None, value, KAFKA_TS, WHERE).created_at == datetime(
        2026, 1, 2, 1, 4, 5, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"{not json", "invalid JSON"),
        (b"\xff\xfe", "invalid UTF-8"),
        (None, "empty value"),
        (encode([1, 2]), "not an object"),
        (encode({"id": "p"}), "text: Field required"),
        (encode({"text": "no id"}), "id: Field required"),
        (encode({"id": 7, "text": "x"}), "id: Input should be a valid string"),
        (encode({"id": "p", "text": 7}), "text: Input should be a valid string"),
        (encode({"id": "p", "text": " \n\t "}), "text is empty"),
        (encode({"id": "p", "text": "x" * 70_000}), "oversize"),
        (encode({"id": "p", "text": "x", "created_at": "yesterday"}), "created_at"),
        (encode({"id": "p", "text": "x", "created_at": "2026-01-01T00:00:00"}), "time zone"),
        (encode({"id": "p", "text": "x", "created_at": "3026-01-01T00:00:00Z"}), "future"),
        (encode({"id": "p", "text": "x", "created_at": "0001-01-01T00:00:00Z"}), "before 1970"),
        (encode({"id": "p", "text": "x", "meta": {"a": "b\u0000"}}), "NUL"),
        (b'{"id": "p", "text": "\\ud800"}', "surrogate"),
        (("[" * 100 + "]" * 100).encode(), "not an object"),
        (b'{"id": "p", "text": "x", "meta": ' + b"[" * 40 + b"]" * 40 + b"}", "nested"),
        (encode({"id": "p", "text": "x", "lang": 10**400}), "lang"),
        (b'{"id": "p", "text": "x", "meta": {"n": ' + b"9" * 5000 + b"}}", "5000 digits"),
        (b'{"id": "p", "text": "x", "meta": {"n": NaN}}', "NaN"),
        (b'{"id": "p", "text": "x", "meta": {"n": 1e400}}', "out of range"),
        (encode({"id": "p", "text": "\u0000\u0000"}), "empty once its NUL"),
        (encode({"id": "p", "text": "x", "author": "a\u0000b"}), "author holds a NUL"),
    ],
)
def test_poison_messages_get_a_reason(value: bytes | None, expected: str) -> None:
    assert expected in reason(value)


def test_a_literal_backslash_u0000_in_meta_is_kept() -> None:
    decoded = decode(
        None, encode({"id": "p", "text": "x", "meta": {"a": "\\u0000"}}), KAFKA_TS, WHERE
    )
    assert decoded.post.meta == {"a": "\\u0000"}


def test_nul_bytes_in_text_are_dropped_not_fatal() -> None:
    decoded = decode(None, encode({"id": "p", "text": "a\u0000b"}), KAFKA_TS, WHERE)
    assert decoded.post.text == "ab"


@pytest.mark.parametrize(
    "text",
    ["😂😂😂", "שלום עולם، مرحبا", "<script>alert(1)</script>", "'; DROP TABLE posts; --"],
)
def test_unusual_but_valid_texts_are_accepted_verbatim(text: str) -> None:
    assert decode(None, encode({"id": "p", "text": text}), KAFKA_TS, WHERE).post.text == text
