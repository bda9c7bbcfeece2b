"""The inputs people have: plain text, Kaggle text;label, free-form labels, their own column
names, a few bad rows among many, JSON piped on stdin."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from producer.plan import MessagePlan, ProduceOptions, plan_messages
from producer.send import report_skipped
from producer.sources import ProduceError, SourceError
from schemas.exit_codes import ExitCode
from schemas.messages import PostMessage

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def planned(source: Path | str, stdin: str | None = None, **options: object) -> MessagePlan:
    opts = ProduceOptions(source=str(source), **options)  # type: ignore[arg-type]
    stream = None if stdin is None else io.StringIO(stdin)
    return plan_messages(opts, clock=lambda: NOW, stdin=stream)


def messages(source: Path | str, stdin: str | None = None, **options: object) -> list[PostMessage]:
    return list(planned(source, stdin, **options).messages)


# --- text files ------------------------------------------------------------------------------


def test_a_plain_txt_is_one_post_per_line_even_with_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "first post; with a semicolon\n\nsecond;joy-ish\n")
    posts = messages(path)
    assert [p.text for p in posts] == ["first post; with a semicolon", "second;joy-ish"]
    assert all(p.meta is None for p in posts)


def test_a_kaggle_txt_keeps_its_labels_and_maps_onto_the_jsonl_copy(tmp_path: Path) -> None:
    kaggle = write(tmp_path, "test.txt", "i feel odd;surprise\ni am sad;sadness\n")
    rows = [{"text": "i feel odd", "label": 5, "label_name": "surprise"}]
    rows.append({"text": "i am sad", "label": 0, "label_name": "sadness"})
    copy = write(tmp_path, "test.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    posts = messages(kaggle)
    assert [(p.text, p.meta) for p in posts] == [
        ("i feel odd", {"label": "surprise"}),
        ("i am sad", {"label": "sadness"}),
    ]
    assert [p.id for p in posts] == [p.id for p in messages(copy)]  # the same two posts


def test_format_option_reads_files_of_any_name(tmp_path: Path) -> None:
    path = write(tmp_path, "export", "hello;happy\nbye;sad\n")
    with pytest.raises(ProduceError, match="no suffix") as caught:
        messages(path)
    assert "--format" in caught.value.hint
    assert caught.value.exit_code == ExitCode.BAD_SETTINGS
    assert [p.meta for p in messages(path, format="kaggle")] == [
        {"label": "happy"},
        {"label": "sad"},
    ]
    assert [p.text for p in messages(path, format="text")] == ["hello;happy", "bye;sad"]


def test_column_options_do_not_apply_to_text_files(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "hello\n")
    with pytest.raises(ProduceError, match="--id-column names a field"):
        messages(path, id_column="id")


# --- labels ------------------------------------------------------------------------------------


def test_a_sentiment_csv_produces_with_its_labels_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "reviews.csv", "text,label\ngreat phone,positive\nbroke,negative\n")
    assert [p.meta for p in messages(path)] == [{"label": "positive"}, {"label": "negative"}]


def test_any_label_value_is_kept_as_a_string(tmp_path: Path) -> None:
    rows = [{"text": "a", "label": 7}, {"text": "b", "label": 0.5}, {"text": "c", "label": "x"}]
    path = write(tmp_path, "l.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert [p.meta for p in messages(path)] == [{"label": "7"}, {"label": "0.5"}, {"label": "x"}]


# --- field mapping -----------------------------------------------------------------------------


def test_csv_columns_map_onto_author_time_source_and_lang(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "export.csv",
        "body,user,posted,site,language\nhello,ann,2024-05-01T10:00:00+02:00,forum,en\n",
    )
    (post,) = messages(
        path,
        text_column="body",
        author_column="user",
        time_column="posted",
        source_column="site",
        lang_column="language",
    )
    assert (post.text, post.author, post.source, post.lang) == ("hello", "ann", "forum", "en")
    assert post.created_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_jsonl_fields_map_too_and_a_bad_time_names_file_line_and_column(tmp_path: Path) -> None:
    rows = [{"msg": "hi", "who": "bo", "when": "2024-05-01T10:00:00Z"}, {"msg": "x", "when": "now"}]
    path = write(tmp_path, "p.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    options = {"text_column": "msg", "author_column": "who", "time_column": "when"}
    with pytest.raises(SourceError, match=r"p\.jsonl:2: created_at \(column 'when'\)"):
        messages(path, **options)
    (post,) = messages(path, limit=1, **options)
    assert (post.author, post.created_at) == ("bo", datetime(2024, 5, 1, 10, 0, tzinfo=UTC))


def test_a_mapped_column_missing_from_the_header_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "text,user\nhello,ann\n")
    with pytest.raises(SourceError, match=r"p\.csv:1: no 'author_name' column.*--author-column"):
        messages(path, author_column="author_name")


# --- bad rows ----------------------------------------------------------------------------------


def test_skip_bad_rows_counts_them_and_sends_the_rest(tmp_path: Path) -> None:
    lines = ['{"text": "a"}', "{broken", '{"text": ""}', '{"text": "b"}', '{"text": 3}']
    path = write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")
    with pytest.raises(SourceError, match=":2:"):
        planned(path)  # without the flag the first bad row stops the run
    plan = planned(path, skip_bad_rows=True, warp_days=1.0)
    assert [e.line for e in plan.skipped] == [2, 3, 5]
    posts = list(plan.messages)
    assert [p.text for p in posts] == ["a", "b"]
    assert [p.created_at for p in posts] == [NOW - timedelta(days=1), NOW]


def test_skip_bad_rows_with_a_limit_counts_posts(tmp_path: Path) -> None:
    path = write(tmp_path, "m.jsonl", '{"text": "a"}\n{oops\n{"text": "b"}\n{"text": "c"}\n')
    plan = planned(path, skip_bad_rows=True, limit=2)
    assert (plan.total, len(plan.skipped)) == (2, 1)
    assert [p.text for p in plan.messages] == ["a", "b"]


def test_skip_bad_rows_reads_past_bad_utf8_and_bad_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b'text,label\nok,1\n\xff bad,2\n"a"b,3\nfine,4\n')
    plan = planned(path, skip_bad_rows=True)
    assert [p.text for p in plan.messages] == ["ok", "fine"]
    assert [(e.line, e.problem.split(" (")[0]) for e in plan.skipped] == [
        (3, "not valid UTF-8"),
        (4, "unreadable CSV"),
    ]


def test_skipped_rows_are_reported_once_each_up_to_twenty() -> None:
    errors = [SourceError("f.jsonl", n, "bad") for n in range(1, 26)]
    shown: list[str] = []
    report_skipped(errors, shown.append)
    assert shown[:2] == ["f.jsonl:1: bad", "f.jsonl:2: bad"]
    assert len(shown) == 21 and shown[-1] == "... and 5 more"


# --- stdin -------------------------------------------------------------------------------------


def test_stdin_line_that_looks_like_broken_json_is_refused() -> None:
    stdin = '{"text": "first",\n"author": "ann"}\nplain words\n'
    with pytest.raises(SourceError) as caught:
        messages("-", stdin=stdin)
    assert str(caught.value).startswith("<stdin>:1: looks like JSON but is not valid JSON (")
    plan = planned("-", stdin=stdin, skip_bad_rows=True)
    assert [p.text for p in plan.messages] == ['"author": "ann"}', "plain words"]
    assert [e.line for e in plan.skipped] == [1]


def test_stdin_can_be_read_in_any_format() -> None:
    posts = messages("-", stdin="text,user\nhi,ann\n", format="csv", author_column="user")
    assert [(p.text, p.author) for p in posts] == [("hi", "ann")]
    assert [p.text for p in messages("-", stdin="{not json\n", format="text")] == ["{not json"]


def test_stdin_with_a_limit_stops_reading_there() -> None:
    stdin = io.StringIO("a\nb\nc\n")
    plan = plan_messages(ProduceOptions(source="-", limit=2), clock=lambda: NOW, stdin=stdin)
    assert [p.text for p in plan.messages] == ["a", "b"]
    assert stdin.readline() == "c\n"  # an endless pipe would not be read to its end
