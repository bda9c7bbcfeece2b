"""A user's own training data, named on the command line: `moodwatch train --source PATH`.

Files go through `training.data.read_file` (the producer's reader, training's label rule);
a Hugging Face dataset directory, which only training reads, is read here.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.data import DataSourceError, LabelledTexts, checked_text, collect, read_file
from training.labels import parse_label


@dataclass(frozen=True)
class DataSource:
    """One file (`.jsonl`, `.csv`, `.tsv`, Kaggle `.txt`) or a Hugging Face dataset directory.

    The columns apply where the format has named fields (JSONL, CSV, TSV, datasets); `split`
    picks a split of a `DatasetDict`.
    """

    path: Path
    text_column: str = "text"
    label_column: str = "label"
    split: str | None = None
    skip_bad: bool = False

    def read(self) -> LabelledTexts:
        path = self.path
        if path.is_dir():
            return read_hf_dataset(
                path, self.split, self.text_column, self.label_column, self.skip_bad
            )
        if not path.is_file():
            raise DataSourceError(f"{path}: no such file or dataset directory")
        return read_file(path, self.skip_bad, self.text_column, self.label_column)


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
        return checked_text(text), parse_label(label)

    rows = enumerate(zip(dataset[text_column], dataset[label_column], strict=True), start=1)
    data = collect(where, rows, parse, skip_bad, unit="row")
    data.name = path.name if where == path else f"{path.name}/{split}"
    return data
