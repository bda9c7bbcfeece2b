"""Labelled texts for training: files read by the producer's reader, training's label rule, mixes.

Files (JSONL, CSV, TSV, Kaggle `text;label`) are read by `producer.sources.read_file`, the
reader `moodwatch produce` uses, so both read the same rows from the same file, with the same
line numbers and errors. The label is the one thing training decides on its own: a row must
carry an emotion (`training.labels`). A bad row raises `DataFormatError` naming the file and line,
unless the caller asks to skip bad rows; then they are counted in `LabelledTexts.skipped` and
logged once per file.
"""

import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from producer.formats import SUFFIX_FORMATS, TEXT_OR_KAGGLE
from producer.rows import DEFAULT_COLUMNS, Columns, ProduceError, Row, SourceError
from producer.sources import read_file as read_rows
from schemas.emotions import LABELS
from training.labels import emotion_of

log = logging.getLogger(__name__)

# The named splits under `TrainingSettings.data_dir`.
SPLITS = {
    "carer-train": "emotion/train.jsonl",
    "carer-validation": "emotion/validation.jsonl",
    "carer-test": "emotion/test.jsonl",
    "goemotions-train": "goemotions_train/train.jsonl",
    "ood-dev": "ood_dev/ood_dev.jsonl",
}

# The producer's formats by suffix, but a .txt is always Kaggle here: a file without labels
# cannot train, and its labels may be aliases that the producer's sniffing does not know.
FILE_FORMATS = {
    suffix: "kaggle" if fmt == TEXT_OR_KAGGLE else fmt for suffix, fmt in SUFFIX_FORMATS.items()
}
NAMED_FIELDS = ("jsonl", "csv", "tsv")  # the formats where the text and label columns apply


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


def checked_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"text is {type(value).__name__}, not a string")
    if not value.strip():
        raise ValueError("text is empty")
    return value


T = TypeVar("T")


def collect(
    where: Path,
    rows: Iterable[tuple[int, T]],
    parse: Callable[[T], tuple[str, int]],
    skip_bad: bool,
    unit: str = "line",
) -> LabelledTexts:
    """(text, label id) of each numbered row; a bad one raises, or with `skip_bad` is counted."""
    data = LabelledTexts(name=where.stem)
    for line, row in rows:
        try:
            text, label = parse(row)
        except (ValueError, TypeError) as error:
            if not skip_bad:
                raise DataFormatError(where, line, _reason(error), unit) from error
            data.skipped += 1
            continue
        data.texts.append(text)
        data.labels.append(label)
    if data.skipped:
        log.warning("%s: skipped %d bad rows", where, data.skipped)
    return data


def _reason(error: Exception) -> str:
    # The reader's own error already starts with `file:line:`; DataFormatError adds it again.
    return error.problem if isinstance(error, SourceError) else str(error)


def _text_and_emotion(row: Row) -> tuple[str, int]:
    if isinstance(row, SourceError):
        raise row
    return checked_text(row.text), emotion_of(row)


def read_file(
    path: Path, skip_bad: bool = False, text_column: str = "text", label_column: str = "label"
) -> LabelledTexts:
    """A file by its suffix: `.jsonl`/`.ndjson`, `.csv` and `.tsv` (their text and label fields
    are named by the columns), `.txt` (Kaggle)."""
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataSourceError(
            f"{path}: unknown data format {path.suffix!r} "
            "(.jsonl, .ndjson, .csv, .tsv, Kaggle .txt, or a Hugging Face dataset directory)"
        )
    named = fmt in NAMED_FIELDS
    columns = Columns(text=text_column, label=label_column) if named else DEFAULT_COLUMNS
    return collect(path, _numbered(path, columns, fmt), _text_and_emotion, skip_bad)


def _numbered(path: Path, columns: Columns, fmt: str) -> Iterable[tuple[int, Row]]:
    """The reader's rows with their lines; its errors about the whole file as training's."""
    try:
        for row in read_rows(path, columns, fmt):
            yield row.line, row
    except SourceError as error:  # the whole file, e.g. a column missing from its header
        raise DataFormatError(path, error.line, error.problem) from None
    except ProduceError as error:
        raise DataSourceError(str(error)) from None


def read_split(data_dir: Path, split: str) -> LabelledTexts:
    """One of `SPLITS` ("carer-train", "goemotions-train", "ood-dev", ...) under `data_dir`."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {sorted(SPLITS)}")
    path = data_dir / SPLITS[split]
    if not path.is_file():  # e.g. a clone without ../shared/data beside it
        folders = sorted({Path(relative).parts[0] + "/" for relative in SPLITS.values()})
        raise DataSourceError(
            f"{path}: no such file (split {split}); set MOODWATCH_TRAIN_DATA_DIR to the "
            f"directory that holds {', '.join(folders)}"
        )
    data = read_file(path)
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
