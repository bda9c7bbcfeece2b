"""Dataset loaders: JSONL, Kaggle `text;label`, CSV, mixtures; bad rows name file and line.

Files are read by the producer's reader (tests/unit/test_reader_shared.py compares the two), so
a row's problem reads as the producer words it; the label rule is training's own.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.bundle import Normalisation
from schemas.settings import TrainingSettings
from training.data import (
    SPLITS,
    DataFormatError,
    DataSourceError,
    LabelledTexts,
    mix,
    read_file,
    read_split,
)
from training.labels import parse_label
from training.pipeline import training_data
from training.profiles import QUICK


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl(rows: list[object]) -> list[str]:
    return [json.dumps(row) for row in rows]


def test_jsonl_reads_ids_and_names(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "a.jsonl",
        jsonl(
            [
                {"text": "i feel great", "label": 1, "label_name": "joy"},
                {"text": "so scared", "label": "fear"},
                {"text": "whatever", "label": "4"},
            ]
        ),
    )
    data = read_file(path)
    assert data.texts == ["i feel great", "so scared", "whatever"]
    assert data.labels == [1, 4, 4]
    assert data.name == "a"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"text": "hi", "label": 9}', "outside 0..5"),
        ('{"text": "hi", "label": "bored"}', "unknown emotion"),
        ('{"text": "", "label": 1}', "text is empty"),
        ('{"label": 1}', "'text' must be a string, is missing"),
        ('{"text": "hi"', "not valid JSON"),
        ('["hi", 1]', "expected a JSON object"),
        ('{"text": "hi", "label": 1, "label_name": "love"}', "disagree"),
        ('{"text": 3, "label": 1}', "must be a string"),
        ('{"text": "hi", "label_name": "joy"}', "no 'label' field"),
    ],
)
def test_jsonl_bad_row_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = write_lines(tmp_path / "bad.jsonl", ['{"text": "fine", "label": 0}', "", line])
    with pytest.raises(DataFormatError) as caught:
        read_file(path)
    assert caught.value.line == 3  # the blank line still counts
    assert str(caught.value).startswith(f"{path}:3: ")
    assert reason in str(caught.value)


def test_bad_rows_skipped_and_counted_when_asked(tmp_path: Path) -> None:
    lines = [
        '{"text": "ok", "label": 0}',
        "{broken",
        '{"text": "x", "label": 7}',
        '{"text": "y", "label": 5}',
    ]
    data = read_file(write_lines(tmp_path / "mixed.jsonl", lines), skip_bad=True)
    assert (data.texts, data.labels, data.skipped) == (["ok", "y"], [0, 5], 2)


def test_kaggle_txt_and_its_label_aliases(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "train.txt",
        ["i didnt feel humiliated;sadness", "i feel; oddly calm;happiness", "i worry;worry"],
    )
    data = read_file(path)
    assert data.texts == ["i didnt feel humiliated", "i feel; oddly calm", "i worry"]
    assert data.labels == [0, 1, 4]


def test_kaggle_txt_without_separator_fails_with_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "val.txt", ["fine;joy", "no label here"])
    with pytest.raises(DataFormatError, match=r"val\.txt:2: expected `text;label`"):
        read_file(path)


def test_csv_with_chosen_columns_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text('id,body,emotion\n1,"two\nlines",anger\n2,plain,5\n', encoding="utf-8")
    data = read_file(path, text_column="body", label_column="emotion")
    assert data.texts == ["two\nlines", "plain"]
    assert data.labels == [3, 5]


def test_csv_bad_row_and_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text('body,emotion\n"a\nb",anger\nc,meh\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"posts\.csv:4: unknown emotion"):
        read_file(path, text_column="body", label_column="emotion")
    with pytest.raises(DataFormatError, match=r"posts\.csv:1: no 'text' column"):
        read_file(path)


def test_read_file_dispatches_on_suffix(tmp_path: Path) -> None:
    assert read_file(write_lines(tmp_path / "x.txt", ["hey;love"])).labels == [2]
    csv_path = write_lines(tmp_path / "x.csv", ["t,l", "hey,joy"])
    assert read_file(csv_path, text_column="t", label_column="l").labels == [1]
    with pytest.raises(ValueError, match="unknown data format"):
        read_file(tmp_path / "x.parquet")


def test_parse_label_rejects_booleans_and_floats() -> None:
    for bad in (True, 1.0, None):
        with pytest.raises(ValueError):
            parse_label(bad)


def test_mix_is_deterministic_cuts_and_keeps_pairs() -> None:
    a = LabelledTexts("a", [f"a{i}" for i in range(10)], [0] * 10)
    b = LabelledTexts("b", [f"b{i}" for i in range(5)], [5] * 5, skipped=1)
    first = mix([a, b], seed=3, limits=[4, None])
    assert first.texts == mix([a, b], seed=3, limits=[4, None]).texts
    assert len(first) == 9 and first.name == "a+b" and first.skipped == 1
    assert all(
        label == (0 if text[0] == "a" else 5)
        for text, label in zip(first.texts, first.labels, strict=True)
    )
    assert mix([a, b], seed=4, limits=[4, None]).texts != first.texts


def test_training_data_mixes_sources_and_normalises(tmp_path: Path) -> None:
    (tmp_path / "emotion").mkdir()
    (tmp_path / "goemotions_train").mkdir()
    write_lines(
        tmp_path / SPLITS["carer-train"], jsonl([{"text": "i feel sooooo happy", "label": 1}])
    )
    write_lines(tmp_path / SPLITS["carer-validation"], jsonl([{"text": "i feel sad", "label": 0}]))
    reddit = "@Bob this is AMAZING!!! #blessed https://t.co/xyz 😂"
    write_lines(tmp_path / SPLITS["goemotions-train"], jsonl([{"text": reddit, "label": 1}]))
    settings = TrainingSettings(data_dir=tmp_path)
    train, calibration = training_data(settings, QUICK, Normalisation())
    assert sorted(train.texts) == ["@user this is AMAZING!!! blessed http 😂", "i feel soo happy"]
    assert calibration.validation.texts == ["i feel sad"]
    assert calibration.real_posts.texts == []  # a quarter of one row holds nothing out


def test_a_missing_data_directory_names_the_file_and_the_setting(tmp_path: Path) -> None:
    settings = TrainingSettings(data_dir=tmp_path / "nowhere")
    with pytest.raises(DataSourceError) as caught:
        training_data(settings, QUICK, Normalisation())
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'nowhere' / SPLITS['carer-train']}: no such file")
    assert "MOODWATCH_TRAIN_DATA_DIR" in message


def test_the_train_command_reports_missing_data_in_one_line(tmp_path: Path) -> None:
    """From a fresh clone without ../shared/data: no traceback, exit 1, what to set."""
    moodwatch = Path(sys.executable).parent / "moodwatch"
    env = os.environ | {"MOODWATCH_TRAIN_DATA_DIR": str(tmp_path / "nowhere")}
    result = subprocess.run(
        [str(moodwatch), "train", "--output", str(tmp_path / "bundle")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    missing = tmp_path / "nowhere" / SPLITS["carer-train"]
    assert f"Error: {missing}: no such file" in result.stderr
    assert "MOODWATCH_TRAIN_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bundle").exists()


@pytest.mark.skipif(not Path("../shared/data/emotion").is_dir(), reason="shared data not here")
def test_the_shared_splits_load_with_their_published_counts() -> None:
    data_dir = Path("../shared/data")
    assert len(read_split(data_dir, "carer-train")) == 16_000
    ood = read_split(data_dir, "ood-dev")
    assert ood.label_counts() == {
        "sadness": 318,
        "joy": 854,
        "love": 284,
        "anger": 371,
        "fear": 74,
        "surprise": 98,
    }
