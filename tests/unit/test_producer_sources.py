"""The producer's readers, ids, time-warp, encoding and pacing; no Kafka needed."""

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producer.plan import (
    ProduceOptions,
    build_messages,
    encode_message,
    plan_messages,
    warped_times,
)
from producer.send import RateSchedule
from producer.sources import Columns, ProduceError, SourceError, read_posts
from schemas.messages import PostMessage

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HEX20 = re.compile(r"[0-9a-f]{20}")
EMOTION_TEST = Path(__file__).resolve().parents[3] / "shared" / "data" / "emotion" / "test.jsonl"


def fixed_clock() -> datetime:
    return NOW


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def plan(source: Path | str, stdin: str | None = None, **options: object) -> list[PostMessage]:
    opts = ProduceOptions(source=str(source), **options)  # type: ignore[arg-type]
    stream = None if stdin is None else io.StringIO(stdin)
    result = plan_messages(opts, clock=fixed_clock, stdin=stream)
    messages = list(result.messages)
    assert result.total == len(messages)
    return messages


# --- readers ---------------------------------------------------------------------------------


def test_jsonl_rows_keep_label_as_meta_and_get_content_ids(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tweets.jsonl",
        '{"text": "i feel great", "label": 1, "label_name": "joy"}\n'
        "\n"
        '{"text": "so scared", "label_name": "fear", "author": "ann"}\n',
    )
    first, second = plan(path)
    assert (first.text, first.meta) == ("i feel great", {"label": "joy"})
    assert (second.author, second.meta) == ("ann", {"label": "fear"})
    assert all(HEX20.fullmatch(m.id) for m in (first, second))  # no file name, no line
    assert first.source == "replay"
    assert first.created_at == NOW


def test_jsonl_with_ids_text_column_meta_and_own_timestamp(tmp_path: Path) -> None:
    row = {
        "post_id": 42,
        "body": "hello",
        "created_at": "2024-05-01T10:00:00+02:00",
        "meta": {"thread": "t1"},
        "label": "surprise",
        "source": "reddit",
        "lang": "en",
        "unknown": [1, 2],
    }
    path = write(tmp_path, "p.jsonl", json.dumps(row) + "\n")
    (message,) = plan(path, text_column="body", id_column="post_id", id_prefix="x-")
    assert message.id == "42"  # an id from the row gets no prefix
    assert message.text == "hello"
    assert message.created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert message.meta == {"thread": "t1", "label": "surprise"}
    assert (message.source, message.lang) == ("reddit", "en")


def test_csv_with_chosen_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "posts.csv",
        'id,content,label\nu1,"hello, world",3\n,"multi\nline",\n',
    )
    first, second = plan(path, text_column="content", source_name="csv")
    assert (first.id, first.text, first.meta, first.source) == (
        "u1",
        "hello, world",
        {"label": "3"},  # kept as written: a label is not checked against the emotions
        "csv",
    )
    # An empty cell of the default `id` column gets a generated id.
    assert HEX20.fullmatch(second.id)
    assert (second.text, second.meta) == ("multi\nline", None)


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", "text\tlabel_name\nhi there\tlove\n")
    (message,) = plan(path)
    assert (message.text, message.meta) == ("hi there", {"label": "love"})


def test_kaggle_txt_format(tmp_path: Path) -> None:
    path = write(tmp_path, "val.txt", "i feel odd;surprise\n\ni am sad;sadness\n")
    first, second = plan(path, id_prefix="k:")
    assert (first.text, first.meta) == ("i feel odd", {"label": "surprise"})
    assert second.meta == {"label": "sadness"}
    assert first.id.startswith("k:") and HEX20.fullmatch(first.id.removeprefix("k:"))


def test_stdin_mixes_json_objects_and_plain_lines() -> None:
    stdin = '{"id": "a1", "text": "from json"}\njust words\n[1, 2]\n'
    messages = plan("-", stdin=stdin)
    assert [m.text for m in messages] == ["from json", "just words", "[1, 2]"]
    assert messages[0].id == "a1"
    assert HEX20.fullmatch(messages[1].id)


def test_real_emotion_test_split_reads_completely() -> None:
    if not EMOTION_TEST.is_file():
        pytest.skip(f"{EMOTION_TEST} not present")
    messages = plan(EMOTION_TEST)
    assert len(messages) == 2000
    assert len({m.id for m in messages}) == 2000
    assert all(m.meta is not None and "label" in m.meta for m in messages)


# --- bad rows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "line", "needle"),
    [
        ("a.jsonl", '{"text": "ok"}\n{"text": "broken"\n', 2, "not valid JSON"),
        ("a.jsonl", '["not", "an", "object"]\n', 1, "expected a JSON object"),
        ("a.jsonl", '{"body": "x"}\n', 1, "'text' must be a string, is missing"),
        ("a.jsonl", '{"text": 5}\n', 1, "is a int"),
        ("a.jsonl", '{"text": "   "}\n', 1, "text is empty after trimming"),
        ("a.jsonl", '{"text": "x", "created_at": "2024-01-01T00:00:00"}\n', 1, "time zone"),
        ("a.jsonl", '{"text": "x", "created_at": "yesterday"}\n', 1, "created_at"),
        ("a.jsonl", '{"text": "x", "id": true}\n', 1, "string or an integer"),
        ("a.jsonl", '{"text": "x", "meta": "m"}\n', 1, "'meta' must be a JSON object"),
        ("a.jsonl", '{"text": "x", "author": 3}\n', 1, "'author' must be a string"),
        ("a.jsonl", '{"text": "' + "x" * 10_001 + '"}\n', 1, "text:"),
        ("a.txt", "x\n\n" + "y" * 10_001 + "\n", 3, "text:"),
        ("a.csv", "id,body\n1,x\n", 1, "no 'text' column"),
        ("a.csv", "text\nx,y\n", 2, "header has fewer"),
        ("a.csv", "", 1, "empty file"),
    ],
)
def test_bad_rows_name_file_and_line(
    tmp_path: Path, name: str, content: str, line: int, needle: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(SourceError) as caught:
        plan(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert needle in str(caught.value)


def test_bad_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "\xff"}\n')
    with pytest.raises(SourceError, match=r"b\.jsonl:2: not valid UTF-8"):
        plan(path)


def test_bad_row_fails_before_anything_is_planned(tmp_path: Path) -> None:
    path = write(tmp_path, "late.jsonl", '{"text": "a"}\n' * 50 + "oops\n")
    with pytest.raises(SourceError, match=":51:"):
        plan_messages(ProduceOptions(source=str(path)), clock=fixed_clock)


def test_limit_stops_before_a_bad_row(tmp_path: Path) -> None:
    path = write(tmp_path, "late.jsonl", '{"text": "a"}\n{"text": "b"}\noops\n')
    assert [m.text for m in plan(path, limit=2)] == ["a", "b"]


def test_errors_are_value_errors_with_a_one_line_message(tmp_path: Path) -> None:
    with pytest.raises(ProduceError) as caught:
        plan(tmp_path / "missing.jsonl")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == f"{tmp_path / 'missing.jsonl'}: no such file"


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"source": "posts.parquet"}, "cannot tell its format"),
        ({"source": "-", "format": "xml"}, "--format"),
        ({"source": "-", "id_column": ""}, "--id-column"),
        ({"source": ""}, "SOURCE"),
        ({"source": "-", "rate": -1.0}, "--rate"),
        ({"source": "-", "rate": float("nan")}, "--rate"),
        ({"source": "-", "limit": -5}, "--limit"),
        ({"source": "-", "warp_days": -1.0}, "--warp-days"),
        ({"source": "-", "text_column": " "}, "--text-column"),
        ({"source": "-", "source_name": "x" * 65}, "--source-name"),
        ({"source": "-", "id_prefix": "a\x00"}, "--id-prefix"),
        ({"source": "-", "compression": "brotli"}, "compression"),
    ],
)
def test_options_validate_themselves(options: dict[str, object], needle: str) -> None:
    with pytest.raises(ProduceError, match=needle):
        ProduceOptions(**options)  # type: ignore[arg-type]


# --- time-warp ---------------------------------------------------------------------------------


def test_warped_times_spread_evenly_oldest_first() -> None:
    times = list(warped_times(5, 2.0, NOW))
    assert times[0] == NOW - timedelta(days=2)
    assert times[-1] == NOW
    gaps = {b - a for a, b in zip(times, times[1:], strict=False)}
    assert gaps == {timedelta(hours=12)}
    assert list(warped_times(1, 2.0, NOW)) == [NOW]
    assert list(warped_times(0, 2.0, NOW)) == []


def test_warp_overrides_row_timestamps_in_input_order(tmp_path: Path) -> None:
    rows = [{"text": str(i), "created_at": "2020-01-01T00:00:00Z"} for i in range(3)]
    path = write(tmp_path, "w.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    messages = plan(path, warp_days=1.0)
    assert [m.created_at for m in messages] == [
        NOW - timedelta(days=1),
        NOW - timedelta(hours=12),
        NOW,
    ]


def test_warp_covers_only_the_limited_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "w.jsonl", '{"text": "x"}\n' * 10)
    messages = plan(path, warp_days=3.0, limit=4)
    assert [m.created_at for m in messages] == [NOW - timedelta(days=3 - d) for d in range(4)]


def test_without_warp_posts_are_stamped_when_built() -> None:
    ticks: Iterator[datetime] = iter([NOW + timedelta(seconds=s) for s in range(3)])
    opts = ProduceOptions(source="-")
    rows = list(read_posts("-", Columns(), io.StringIO("a\nb\n")))
    messages = list(build_messages(rows, opts, clock=lambda: next(ticks)))
    assert [m.created_at for m in messages] == [NOW, NOW + timedelta(seconds=1)]


# --- encoding and pacing -------------------------------------------------------------------------


def test_encoding_key_is_the_id_and_value_the_contract_json() -> None:
    message = PostMessage(
        id="ünï-1", text="héllo", created_at=NOW, source="replay", meta={"label": "joy"}
    )
    key, value = encode_message(message)
    assert key == "ünï-1".encode()
    decoded = json.loads(value)
    assert decoded == {
        "id": "ünï-1",
        "text": "héllo",
        "created_at": "2025-03-01T12:00:00Z",
        "source": "replay",
        "meta": {"label": "joy"},
    }
    assert PostMessage.model_validate_json(value) == message
    assert datetime.fromisoformat(decoded["created_at"]).utcoffset() == timedelta(0)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_schedule_follows_the_clock_without_drift() -> None:
    fake = FakeTime()
    schedule = RateSchedule(10.0, clock=fake.clock, sleep=fake.sleep)
    schedule.wait()  # the first message goes at once
    fake.now += 0.25  # a slow send: the next two are already late
    schedule.wait()
    schedule.wait()
    schedule.wait()  # due at start + 0.3
    assert fake.sleeps == [pytest.approx(0.05)]
    schedule.wait()
    assert fake.now == pytest.approx(100.4)


def test_rate_zero_never_sleeps() -> None:
    fake = FakeTime()
    schedule = RateSchedule(0.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(100):
        schedule.wait()
    assert fake.sleeps == []
