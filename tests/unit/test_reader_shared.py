"""One reader for `moodwatch produce` and `moodwatch train`: same rows, lines and errors from
the same file; only the label rule differs (the producer keeps any label, training wants an
emotion)."""

import json
from pathlib import Path

import pytest

from producer.plan import ProduceOptions, plan_messages
from producer.sources import RawPost, SourceError, read_posts
from training.data import DataFormatError, read_file
from training.labels import parse_label
from training.sources import DataSource

KAGGLE = ["i feel odd;surprise", "", "i am sad; really;sadness", "so glad;joy"]
COPY = [
    {"text": "i feel odd", "label": 5, "label_name": "surprise"},
    {},  # a blank line: the line numbers stay those of the Kaggle file
    {"text": "i am sad; really", "label": 0, "label_name": "sadness"},
    {"text": "so glad", "label": 1, "label_name": "joy"},
]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def producer_rows(path: Path, fmt: str = "auto") -> list[RawPost]:
    rows = list(read_posts(str(path), fmt=fmt))
    assert not [row for row in rows if isinstance(row, SourceError)]
    return [row for row in rows if isinstance(row, RawPost)]


def test_a_kaggle_file_and_its_jsonl_copy_give_both_callers_the_same_rows(tmp_path: Path) -> None:
    kaggle = write(tmp_path / "val.txt", KAGGLE)
    copy = write(tmp_path / "val.jsonl", [json.dumps(row) if row else "" for row in COPY])
    for path in (kaggle, copy):
        rows = producer_rows(path)
        data = read_file(path)
        assert [row.line for row in rows] == [1, 3, 4]
        texts = ["i feel odd", "i am sad; really", "so glad"]
        assert [row.text for row in rows] == data.texts == texts
        assert [row.label for row in rows] == ["surprise", "sadness", "joy"]
        assert [parse_label(row.label) for row in rows] == data.labels == [5, 0, 1]


def test_training_refuses_a_label_that_is_no_emotion_and_the_producer_keeps_it(
    tmp_path: Path,
) -> None:
    lines = [json.dumps({"text": "great film", "label": "neutral"})]
    lines.append(json.dumps({"text": "awful film", "label": "negative"}))
    path = write(tmp_path / "reviews.jsonl", lines)
    with pytest.raises(DataFormatError) as caught:
        read_file(path)
    assert str(caught.value).startswith(f"{path}:1: unknown emotion 'neutral'")
    assert read_file(path, skip_bad=True).skipped == 2
    plan = plan_messages(ProduceOptions(source=str(path)))
    assert [message.meta for message in plan.messages] == [
        {"label": "neutral"},
        {"label": "negative"},
    ]


def test_a_kaggle_label_that_is_no_emotion_is_named_by_line(tmp_path: Path) -> None:
    path = write(tmp_path / "scores.txt", ["fine;joy", "meh;3.5"])
    with pytest.raises(DataFormatError, match=r"scores\.txt:2: unknown emotion '3\.5'"):
        read_file(path)
    # The producer reads a .txt whose labels are not all emotions as plain text, unless told
    assert [row.label for row in producer_rows(path)] == [None, None]
    assert [row.label for row in producer_rows(path, "kaggle")] == ["joy", "3.5"]


def test_bad_utf8_and_broken_rows_are_the_same_lines_for_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "ok", "label": 1}\n{"text": "caf\xe9", "label": 1}\n{broken\n')
    errors = [row for row in read_posts(str(path)) if isinstance(row, SourceError)]
    assert [(error.line, error.problem[:20]) for error in errors] == [
        (2, "not valid UTF-8 (byt"),
        (3, "not valid JSON (Expe"),
    ]
    with pytest.raises(DataFormatError, match=r"mixed\.jsonl:2: not valid UTF-8"):
        read_file(path)
    data = read_file(path, skip_bad=True)
    assert (data.texts, data.labels, data.skipped) == (["ok"], [1], 2)


def test_training_reads_tsv_with_its_columns_like_the_producer(tmp_path: Path) -> None:
    path = write(tmp_path / "posts.tsv", ["body\tmood", "so scared, honestly\tfear", "hm\t"])
    with pytest.raises(DataFormatError, match=r"posts\.tsv:3: no 'mood' field"):
        DataSource(path, "body", "mood").read()
    data = DataSource(path, "body", "mood", skip_bad=True).read()
    assert (data.texts, data.labels, data.skipped) == (["so scared, honestly"], [4], 1)
    options = ProduceOptions(source=str(path), text_column="body")
    assert [m.text for m in plan_messages(options).messages] == ["so scared, honestly", "hm"]
