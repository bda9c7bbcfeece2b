"""Generated post ids come from a row's content: replays store nothing twice, and different
posts never share an id, whatever the files are called and wherever a line sits."""

import io
import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from producer.options import MAX_PREFIX_CHARS
from producer.plan import ProduceOptions, plan_messages
from producer.sources import SourceError
from schemas.messages import MAX_ID_CHARS

ROWS: list[dict[str, object]] = [
    {"text": "i feel great today"},
    {"text": "so scared of the exam", "author": "ann"},
    {"text": "what a lovely surprise", "created_at": "2024-05-01T10:00:00Z"},
]


def jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def ids(source: Path | str, stdin: str | None = None, **options: object) -> list[str]:
    opts = ProduceOptions(source=str(source), **options)  # type: ignore[arg-type]
    stream = None if stdin is None else io.StringIO(stdin)
    return [m.id for m in plan_messages(opts, stdin=stream).messages]


def test_same_named_files_in_two_folders_get_disjoint_ids(tmp_path: Path) -> None:
    first = jsonl(tmp_path / "a" / "same.jsonl", ROWS[:2])
    second = jsonl(tmp_path / "b" / "same.jsonl", [{"text": "other post"}, {"text": "and more"}])
    assert set(ids(first)).isdisjoint(ids(second))


def test_a_copy_under_another_name_replays_onto_the_same_ids(tmp_path: Path) -> None:
    original = jsonl(tmp_path / "posts.jsonl", ROWS)
    copy = tmp_path / "elsewhere" / "posts-backup.jsonl"
    copy.parent.mkdir()
    shutil.copy(original, copy)
    assert ids(copy) == ids(original)
    assert len(set(ids(original))) == len(ROWS)


def test_inserting_a_line_changes_no_other_rows_id(tmp_path: Path) -> None:
    before = ids(jsonl(tmp_path / "before.jsonl", ROWS))
    after = ids(jsonl(tmp_path / "after.jsonl", [{"text": "a new first post"}, *ROWS]))
    assert after[1:] == before
    assert after[0] not in before


def test_identical_lines_are_two_posts_and_replay_onto_the_same_two(tmp_path: Path) -> None:
    path = tmp_path / "twice.txt"
    path.write_text("same words\nother words\nsame words\n", encoding="utf-8")
    first, other, second = ids(path)
    assert second == f"{first}-2"
    assert len({first, other, second}) == 3
    assert ids(path) == [first, other, second]


def test_source_name_time_warp_and_format_do_not_change_ids(tmp_path: Path) -> None:
    """The README's `produce test.jsonl --warp-days 7` after the demo's replay of the same file
    (another --source-name) stores nothing again; nor does the same text piped on stdin."""
    path = jsonl(tmp_path / "test.jsonl", [{"text": "one"}, {"text": "two"}])
    plain = ids(path)
    assert ids(path, source_name="demo-replay", warp_days=7.0) == plain
    assert ids("-", stdin="one\ntwo\n") == plain
    text_file = tmp_path / "posts.txt"
    text_file.write_text("one\ntwo\n", encoding="utf-8")
    assert ids(text_file) == plain


def test_every_field_of_a_row_counts(tmp_path: Path) -> None:
    base: dict[str, object] = {"text": "hi", "author": "ann", "lang": "en", "source": "reddit"}
    variants = [base, {**base, "author": "bob"}, {**base, "lang": "de"}, {**base, "label": "x"}]
    variants += [{**base, "source": "forum"}, {**base, "created_at": "2024-01-01T00:00:00Z"}]
    variants += [{**base, "meta": {"thread": 1}}]
    found = ids(jsonl(tmp_path / "v.jsonl", variants))
    assert len(set(found)) == len(variants)


def test_the_prefix_is_a_namespace_and_row_ids_are_kept(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [{"text": "a"}, {"text": "b", "id": 7}])
    generated, own = ids(path, id_prefix="mine/")
    assert generated.startswith("mine/") and generated.removeprefix("mine/") == ids(path)[0]
    assert own == "7"
    longest = ids(path, id_prefix="p" * MAX_PREFIX_CHARS)
    assert len(longest[0]) <= MAX_ID_CHARS


def test_a_mistyped_id_column_in_a_csv_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text("tweet_id,text\n1,hello\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"tweets\.csv:1: no 'tweetid' column.*--id-column"):
        ids(path, id_column="tweetid")
    assert ids(path, id_column="tweet_id") == ["1"]


def test_a_jsonl_row_without_the_named_id_column_is_refused(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "p.jsonl", [{"post_id": "a", "text": "x"}, {"text": "y"}])
    with pytest.raises(SourceError) as caught:
        ids(path, id_column="post_id")
    assert str(caught.value) == f"{path}:2: no 'post_id' field (named by --id-column)"


def test_an_empty_cell_of_a_named_id_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("uid,text\nu1,a\n,b\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"posts\.csv:3: no 'uid' field"):
        ids(path, id_column="uid")
