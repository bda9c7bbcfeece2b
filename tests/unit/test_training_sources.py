"""A user's own training data: Hugging Face dataset directories, chosen columns, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from schemas.bundle import Normalisation
from schemas.settings import TrainingSettings
from training.data import SPLITS, DataFormatError, DataSourceError
from training.pipeline import training_data
from training.profiles import QUICK
from training.sources import DataSource, read_hf_dataset

# dair-ai/emotion's order is ours; this one is not, so names must decide.
SHUFFLED_NAMES = ["joy", "anger", "sadness", "love", "surprise", "fear"]


def saved_dataset(path: Path, texts: list[str], labels: list[int]) -> Path:
    features = Features({"text": Value("string"), "label": ClassLabel(names=SHUFFLED_NAMES)})
    Dataset.from_dict({"text": texts, "label": labels}, features=features).save_to_disk(path)
    return path


def test_a_dataset_directory_is_read_by_label_names(tmp_path: Path) -> None:
    path = saved_dataset(tmp_path / "posts", ["what a day!", "I'm terrified"], [0, 5])
    data = read_hf_dataset(path)
    assert data.texts == ["what a day!", "I'm terrified"]
    assert data.labels == [1, 4]  # joy, fear in our order
    assert data.name == "posts"


def test_a_dataset_dict_gives_train_unless_another_split_is_named(tmp_path: Path) -> None:
    path = tmp_path / "splits"
    DatasetDict(
        {
            "train": Dataset.from_dict({"text": ["so happy"], "label": ["joy"]}),
            "test": Dataset.from_dict({"text": ["so angry"], "label": ["anger"]}),
        }
    ).save_to_disk(path)
    assert read_hf_dataset(path).labels == [1]
    assert read_hf_dataset(path).name == "splits/train"  # as the manifest records the source
    assert read_hf_dataset(path, split="test").labels == [3]
    with pytest.raises(DataSourceError, match=r"no split 'dev'; it has \['test', 'train'\]"):
        read_hf_dataset(path, split="dev")


def test_a_bad_dataset_row_is_named_or_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "rows"
    texts = ["fine", "", "also fine"]
    Dataset.from_dict({"text": texts, "label": ["sadness", "joy", "bored"]}).save_to_disk(path)
    with pytest.raises(DataFormatError) as caught:
        read_hf_dataset(path)
    assert str(caught.value) == f"{path}: row 2: text is empty"
    data = read_hf_dataset(path, skip_bad=True)
    assert (data.texts, data.skipped) == (["fine"], 2)


def test_missing_columns_and_non_datasets_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "columns"
    Dataset.from_dict({"body": ["hi"], "label": [1]}).save_to_disk(path)
    with pytest.raises(DataSourceError, match=r"no column 'text'; it has \['body', 'label'\]"):
        read_hf_dataset(path)
    assert read_hf_dataset(path, text_column="body").texts == ["hi"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="not a Hugging Face dataset directory"):
        DataSource(tmp_path / "empty").read()


def test_a_source_reads_each_format_with_its_columns(tmp_path: Path) -> None:
    csv_path = tmp_path / "posts.csv"
    csv_path.write_text('id,body,mood\n1,"so scared, honestly",fear\n', encoding="utf-8")
    assert DataSource(csv_path, "body", "mood").read().labels == [4]
    jsonl_path = tmp_path / "posts.jsonl"
    jsonl_path.write_text(json.dumps({"body": "love this", "mood": 2}) + "\n", encoding="utf-8")
    assert DataSource(jsonl_path, "body", "mood").read().texts == ["love this"]
    kaggle_path = tmp_path / "posts.txt"
    kaggle_path.write_text("i feel low;sadness\n", encoding="utf-8")
    assert DataSource(kaggle_path).read().labels == [0]
    with pytest.raises(DataSourceError, match="no such file or dataset directory"):
        DataSource(tmp_path / "missing.jsonl").read()
    with pytest.raises(DataSourceError, match=r"unknown data format '\.xlsx'"):
        (tmp_path / "posts.xlsx").touch()
        DataSource(tmp_path / "posts.xlsx").read()


def shared_layout(root: Path) -> TrainingSettings:
    """The default sources in miniature: one CARER train row, one Reddit row, one validation."""
    for split, text, label in [
        ("carer-train", "i feel glad", 1),
        ("goemotions-train", "Ugh, this again?!", 3),
        ("carer-validation", "i feel sad", 0),
    ]:
        (root / SPLITS[split]).parent.mkdir(parents=True, exist_ok=True)
        (root / SPLITS[split]).write_text(json.dumps({"text": text, "label": label}) + "\n")
    return TrainingSettings(data_dir=root)


def test_own_sources_join_the_defaults_or_replace_them(tmp_path: Path) -> None:
    settings = shared_layout(tmp_path / "shared")
    own = DataSource(saved_dataset(tmp_path / "own", ["Best news EVER"], [0]))
    train, _ = training_data(settings, QUICK, Normalisation(), [own])
    assert sorted(train.texts) == ["Best news EVER", "Ugh, this again?!", "i feel glad"]
    assert train.name == "carer-train+goemotions-train+own"
    train, calibration = training_data(settings, QUICK, Normalisation(), [own], defaults=False)
    assert (train.texts, calibration.validation.texts) == (["Best news EVER"], ["i feel sad"])
    with pytest.raises(DataSourceError, match="no training data"):
        training_data(settings, QUICK, Normalisation(), [], defaults=False)


def test_the_train_command_names_a_bad_row_and_trains_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "mine.jsonl"
    bad.write_text('{"text": "fine", "label": 0}\n{"text": "hm", "label": 9}\n')
    output = tmp_path / "bundle"
    moodwatch = Path(sys.executable).parent / "moodwatch"
    command = [str(moodwatch), "train", "--source", str(bad), "--no-default-data"]
    result = subprocess.run(
        [*command, "--output", str(output)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert f"Error: {bad}:2: label id 9 is outside 0..5" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()
