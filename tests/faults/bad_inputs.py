"""Scenario 8's catalogue: bad or odd inputs, each with the outcome the contract promises."""

import json
from dataclasses import dataclass
from typing import Any

TEN_MB = 10 * 1024 * 1024
CREATED_AT = "2026-11-20T10:00:00Z"


@dataclass(frozen=True)
class Case:
    """`stored`: the post's row holds `detail` as its text; else dead-lettered, `detail` in the
    reason. `post_id` is the id a stored case is found by."""

    name: str
    value: bytes | None
    stored: bool
    detail: str
    post_id: str = ""


def _nested(depth: int) -> list[Any]:
    node: list[Any] = []
    for _ in range(depth):
        node = [node]
    return node


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class Catalogue:
    def __init__(self, source: str) -> None:
        self.source = source

    def post(self, name: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("text", f"an ordinary text for {name}")
        base = {"id": f"{self.source}-{name}", "source": self.source, "created_at": CREATED_AT}
        return base | fields

    def dead(self, name: str, reason: str, **fields: Any) -> Case:
        return Case(name, _json(self.post(name, **fields)), False, reason)

    def kept(self, name: str, text: str, **fields: Any) -> Case:
        payload = self.post(name, text=text, **fields)
        return Case(name, _json(payload), True, text, payload["id"])

    def raw(self, name: str, value: bytes | None, reason: str) -> Case:
        return Case(name, value, False, reason)

    def cases(self) -> list[Case]:
        return self.malformed() + self.invalid_fields() + self.odd_but_valid()

    def malformed(self) -> list[Case]:
        ok = self.post("x")
        huge_int = b'{"id": "x", "text": "t", "n": ' + b"9" * 5000 + b"}"
        huge_float = b'{"id": "x", "text": "t", "meta": {"n": 1e400}}'
        deep = b'{"id": "d", "text": "t", "meta": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
        return [
            self.raw("invalid-json", b'{"id": "x", "text": ', "invalid JSON"),
            self.raw("invalid-utf8", b'{"id": "x", "text": "caf\xe9"}', "invalid UTF-8"),
            self.raw("tombstone", None, "tombstone"),
            self.raw("json-array", b"[1, 2, 3]", "not an object"),
            self.raw("json-null", b"null", "not an object"),
            self.raw("utf8-bom", b"\xef\xbb\xbf" + _json(ok), "invalid JSON"),
            self.raw("ten-megabytes", _json(self.post("big", text="x" * TEN_MB)), "oversize"),
            self.raw("deep-json-recursion", deep, "invalid JSON"),
            self.raw("huge-integer", huge_int, "out of range"),
            self.raw("huge-float", huge_float, "out of range"),
            self.raw("nan", b'{"id": "x", "text": "t", "meta": {"n": NaN}}', "NaN"),
            self.raw("lone-surrogate", b'{"id": "x", "text": "\\ud83d oops"}', "surrogate"),
        ]

    def invalid_fields(self) -> list[Case]:
        missing_id = self.post("missing-id")
        del missing_id["id"]
        return [
            self.raw("missing-id", _json(missing_id), "id: Field required"),
            self.raw("missing-text", _json({"id": f"{self.source}-mt"}), "text: Field required"),
            self.dead("empty-text", "text is empty", text=""),
            self.dead("whitespace-text", "text is empty", text=" \n\t\u00a0 "),
            self.dead("nul-only-text", "NUL", text="\x00\x00"),
            self.dead("id-wrong-type", "id: Input should be a valid string", id=12345),
            self.dead("text-wrong-type", "text: Input should be a valid string", text=["a"]),
            self.dead("meta-wrong-type", "meta", meta="not an object"),
            self.dead("nul-in-id", "NUL", id=f"{self.source}-nul\x00id"),
            self.dead("nul-in-author", "author holds a NUL", author="a\x00b"),
            self.dead("nul-in-meta", "meta holds a NUL", meta={"k": "v\x00"}),
            self.dead("text-over-limit", "at most 10000", text="y" * 10_001),
            self.dead("deeply-nested", "nested deeper", meta={"a": _nested(40)}),
            self.dead("long-id", "id", id="i" * 257),
            self.dead("long-source", "source", source="s" * 65),
            self.dead("future-timestamp", "future", created_at="3026-01-01T00:00:00Z"),
            self.dead("ancient-timestamp", "before 1970", created_at="1900-01-01T00:00:00Z"),
            self.dead("year-one", "before 1970", created_at="0001-01-01T00:00:00Z"),
            self.dead("naive-timestamp", "time zone", created_at="2026-01-01T00:00:00"),
            self.dead("garbage-timestamp", "created_at", created_at="yesterday"),
            self.dead("numeric-timestamp", "created_at", created_at=1_700_000_000),
        ]

    def odd_but_valid(self) -> list[Case]:
        return [
            self._nul_in_text(),
            self.kept("emoji-only", "😂🔥💯🙏🏽"),
            self.kept("right-to-left", "שלום עולם، مرحبا بالعالم"),
            self.kept("html-script", "<script>alert('x')</script><b>bold</b> &amp;"),
            self.kept("sql-looking", "'; DROP TABLE posts; -- \" OR 1=1"),
            self.kept("control-and-zero-width", "\u200b\x07 hi \u202e"),
            self.kept("combining-marks", "Z̷̢͓a̶l̸g̵o̴ text"),
            self.kept("newlines-tabs", "line one\nline two\ttabbed\r\n"),
            self.kept("unicode-id", "fine", id=f"{self.source}-ид 😀"),
            self.kept("unknown-fields", "extra fields are ignored", extra={"a": [1, 2]}),
            self.kept("big-but-finite-number", "numbers", meta={"n": 10**300, "f": 1.5e300}),
            self.kept("literal-backslash-u0000", "fine", meta={"k": "\\u0000"}),
            self.kept("max-length-text", "z" * 10_000),
        ]

    def _nul_in_text(self) -> Case:
        payload = self.post("nul-in-text", text="a\x00b")
        return Case("nul-in-text", _json(payload), True, "ab", payload["id"])

    def duplicates(self) -> list[Case]:
        """The same id twice with different texts: the first stored wins, once."""
        first = self.kept("duplicate-id", "the first version")
        second = self.kept("duplicate-id", "the second version")
        again = Case("duplicate-id-again", second.value, True, first.detail, first.post_id)
        return [first, again]
