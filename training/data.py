"""Loading labelled texts: the JSONL splits, Kaggle `text;label` files, CSV, and mixtures.

A bad row raises `DataFormatError` naming the file and line (the row, for a dataset directory),
unless the caller asks to skip bad rows; then they are counted in `LabelledTexts.skipped` and
logged once per file.
"""

import csv
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.emotions import LABELS, Emotion

log = logging.getLogger(__name__)

# Other names the same six labels go by in circulating copies of CARER.
LABEL_ALIASES = {"happiness": "joy", "happy": "joy", "worry": "fear", "sad": "sadness"}

# The named splits under `TrainingSettings.data_dir`.
SPLITS = {
    "carer-train": "emotion/train.jsonl",
    "carer-validation": "emotion/validation.jsonl",
    "carer-test": "emotion/test.jsonl",
    "goemotions-train": "goemotions_train/train.jsonl",
    "ood-dev": "ood_dev/ood_dev.jsonl",
}


class DataSourceError(ValueError):
    """Training data that cannot be read; the message says which and why."""


class DataFormatError(DataSourceError):
    """A row that cannot be read as (text, label); the message names the file and line.

    For a dataset directory `line` is the 1-based row number and the message says "row".
    """

    def __init__(self, path: Path, line: int, reason: str, unit: str = "line") -> None:
        where = f"{path}:{line}" if unit == "line" else f"{path}: {unit} {line}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass
class LabelledTexts:
    """Texts and their label ids (`schemas.emotions` order), in file order unless mixed."""

    name: str
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {label: counts.get(i, 0) for i, label in enumerate(LABELS)}

    def subset(self, indices: Sequence[int], name: str | None = None) -> "LabelledTexts":
        return LabelledTexts(
            name=name or self.name,
            texts=[self.texts[i] for i in indices],
            labels=[self.labels[i] for i in indices],
        )


def parse_label(value: Any) -> int:
    """A label id 0-5 (int or digit string) or a label name (case-insensitive, aliases allowed)."""
    if isinstance(value, bool):
        raise ValueError(f"label {value!r} is a boolean, not a label")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        number = int(value)
        if not 0 <= number < len(LABELS):
            raise ValueError(f"label id {number} is outside 0..{len(LABELS) - 1}")
        return number
    if isinstance(value, str):
        name = value.strip().lower()
        return int(Emotion.from_label(LABEL_ALIASES.get(name, name)))
    raise ValueError(f"label {value!r} is neither an id nor a name")


def _checked_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"text is {type(value).__name__}, not a string")
    if not value.strip():
        raise ValueError("text is empty")
    return value


def _read_rows(
    path: Path,
    rows: Iterator[tuple[int, Any]],
    parse: Callable[[Any], tuple[str, int]],
    skip_bad: bool,
    unit: str = "line",
) -> LabelledTexts:
    data = LabelledTexts(name=path.stem)
    for line, row in rows:
        try:
            text, label = parse(row)
        except (ValueError, KeyError, TypeError) as error:
            if not skip_bad:
                raise DataFormatError(path, line, _reason(error), unit) from error
            data.skipped += 1
            continue
        data.texts.append(text)
        data.labels.append(label)
    if data.skipped:
        log.warning("%s: skipped %d bad rows", path, data.skipped)
    return data


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error)


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():  # blank lines (e.g. the one leading CARER's val.txt) carry no row
                yield number, line.rstrip("\n")


def read_jsonl(
    path: Path, text_field: str = "text", label_field: str = "label", skip_bad: bool = False
) -> LabelledTexts:
    """One JSON object per line; `label_name`, when present, must agree with the label."""

    def parse(line: str) -> tuple[str, int]:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise ValueError("the line is not a JSON object")
        label = parse_label(row[label_field])
        if (
            "label_name" in row
            and label_field != "label_name"
            and row["label_name"] != LABELS[label]
        ):
            raise ValueError(f"label {label} and label_name {row['label_name']!r} disagree")
        return _checked_text(row[text_field]), label

    return _read_rows(path, _numbered_lines(path), parse, skip_bad)


def read_kaggle_txt(path: Path, skip_bad: bool = False) -> LabelledTexts:
    """The Kaggle form of CARER: `text;label_name` per line (the label after the last `;`)."""

    def parse(line: str) -> tuple[str, int]:
        text, separator, label = line.rpartition(";")
        if not separator:
            raise ValueError("no ';' separating text and label")
        return _checked_text(text), parse_label(label)

    return _read_rows(path, _numbered_lines(path), parse, skip_bad)


def read_csv(
    path: Path,
    text_column: str = "text",
    label_column: str = "label",
    skip_bad: bool = False,
    delimiter: str = ",",
) -> LabelledTexts:
    """A CSV with a header row; the chosen columns hold the text and the label (id or name)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = reader.fieldnames or []
        for column in (text_column, label_column):
            if column not in header:
                raise DataFormatError(path, 1, f"no column {column!r} in header {header}")

        def parse(row: dict[str, Any]) -> tuple[str, int]:
            return _checked_text(row[text_column]), parse_label(row[label_column])

        # reader.line_num is the physical line the row ended on (quoted newlines count).
        rows = ((reader.line_num, row) for row in reader)
        return _read_rows(path, rows, parse, skip_bad)


def read_hf_dataset(
    path: Path,
    split: str | None = None,
    text_column: str = "text",
    label_column: str = "label",
    skip_bad: bool = False,
) -> LabelledTexts:
    """A local Hugging Face dataset directory (`save_to_disk`), a `Dataset` or one split of a
    `DatasetDict` (`split`; default the only split, else "train"). A `ClassLabel` column is
    read by its names, so its own label order need not be ours."""
    from datasets import ClassLabel, DatasetDict, load_from_disk

    try:
        loaded = load_from_disk(str(path))
    except FileNotFoundError as error:
        raise DataSourceError(
            f"{path}: not a Hugging Face dataset directory (save_to_disk): {error}"
        ) from None
    if isinstance(loaded, DatasetDict):
        splits = sorted(loaded)
        split = split or (splits[0] if len(splits) == 1 else "train")
        if split not in loaded:
            raise DataSourceError(f"{path}: no split {split!r}; it has {splits}")
        dataset, where = loaded[split], path / split
    elif split is not None:
        raise DataSourceError(f"{path}: a single dataset without splits; drop the split")
    else:
        dataset, where = loaded, path
    for column in (text_column, label_column):
        if column not in dataset.column_names:
            raise DataSourceError(f"{where}: no column {column!r}; it has {dataset.column_names}")
    feature = dataset.features[label_column]
    names = feature.names if isinstance(feature, ClassLabel) else None

    def parse(row: tuple[Any, Any]) -> tuple[str, int]:
        text, label = row
        if names is not None and isinstance(label, int) and 0 <= label < len(names):
            label = names[label]
        return _checked_text(text), parse_label(label)

    rows = enumerate(zip(dataset[text_column], dataset[label_column], strict=True), start=1)
    data = _read_rows(where, rows, parse, skip_bad, unit="row")
    data.name = path.name if where == path else f"{path.name}/{split}"
    return data


def read_file(
    path: Path, skip_bad: bool = False, text_column: str = "text", label_column: str = "label"
) -> LabelledTexts:
    """Pick the reader by suffix: `.jsonl` and `.csv` (their text and label fields are named),
    `.txt` (Kaggle)."""
    if path.suffix == ".jsonl":
        return read_jsonl(path, text_column, label_column, skip_bad)
    if path.suffix == ".csv":
        return read_csv(path, text_column, label_column, skip_bad)
    if path.suffix == ".txt":
        return read_kaggle_txt(path, skip_bad)
    raise DataSourceError(
        f"{path}: unknown data format {path.suffix!r} "
        "(.jsonl, .csv, Kaggle .txt, or a Hugging Face dataset directory)"
    )


def read_split(data_dir: Path, split: str) -> LabelledTexts:
    """One of `SPLITS` ("carer-train", "goemotions-train", "ood-dev", ...) under `data_dir`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {sorted(SPLITS)}")
    data = read_jsonl(data_dir / SPLITS[split])
    data.name = split
    return data


def mix(
    sources: Sequence[LabelledTexts], seed: int, limits: Sequence[int | None] | None = None
) -> LabelledTexts:
    """Concatenate sources, each cut to a random `limits[i]` rows if given, then shuffle."""
    limits = limits or [None] * len(sources)
    if len(limits) != len(sources):
        raise ValueError("give one limit (or None) per source")
    rng = random.Random(seed)
    mixed = LabelledTexts(name="+".join(s.name for s in sources))
    for source, limit in zip(sources, limits, strict=True):
        indices = list(range(len(source)))
        if limit is not None and limit < len(source):
            indices = sorted(rng.sample(indices, limit))
        mixed.texts += [source.texts[i] for i in indices]
        mixed.labels += [source.labels[i] for i in indices]
        mixed.skipped += source.skipped
    shuffled = mixed.subset(rng.sample(range(len(mixed)), len(mixed)))
    shuffled.skipped = mixed.skipped
    return shuffled
