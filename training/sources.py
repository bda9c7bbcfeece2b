"""A user's own training data, named on the command line: `moodwatch train --source PATH`."""

from dataclasses import dataclass
from pathlib import Path

from training.data import DataSourceError, LabelledTexts, read_file, read_hf_dataset


@dataclass(frozen=True)
class DataSource:
    """One file (`.jsonl`, `.csv`, Kaggle `.txt`) or a Hugging Face dataset directory.

    The columns apply where the format has named fields (JSONL, CSV, datasets); `split` picks
    a split of a `DatasetDict`.
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
