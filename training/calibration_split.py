"""The real-post calibration slice: a fixed, stratified, seeded part of `goemotions_train` that
training never sees and the temperatures are fitted on, beside CARER validation.

Temperatures fitted on CARER validation alone sharpened the ensemble for tweets and made it
over-confident on real posts (`ood_dev` ECE 0.025 -> 0.053). The slice is drawn the same way
for every bundle, whatever the training seed (its own seed below), so bundles are calibrated on
the same rows; the manifest records how it was drawn and a hash of its comment ids.
"""

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from model.text_form import text_forms
from schemas.bundle import CalibrationSplit, TextForm
from training.calibration import domain_weights
from training.data import SPLITS, LabelledTexts, read_split

SOURCE_SPLIT = "goemotions-train"
HELD_OUT_ROWS = 1500  # ~12% of the 12,540 rows; at most a quarter of a smaller file
SEED = 1616  # the slice's own: changing the training seed must not move rows into training


def stratified_rows(labels: list[int], size: int, seed: int) -> list[int]:
    """`size` row indices drawn per label in proportion to its frequency (largest remainders
    round the quotas), each label's rows chosen by a generator seeded with `seed`; sorted."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for row, label in enumerate(labels):
        by_label[label].append(row)
    exact = {label: size * len(rows) / len(labels) for label, rows in by_label.items()}
    quotas = {label: int(share) for label, share in exact.items()}
    by_remainder = sorted(exact, key=lambda label: (quotas[label] - exact[label], label))
    for label in by_remainder[: size - sum(quotas.values())]:
        quotas[label] += 1
    rng = random.Random(seed)
    chosen = [
        row for label in sorted(by_label) for row in rng.sample(by_label[label], quotas[label])
    ]
    return sorted(chosen)


def comment_ids(data_dir: Path, rows: int) -> list[str]:
    """GoEmotions comment ids from the meta file beside the split (one line per row); without
    it (a user's own copy, tests), the 1-based line numbers."""
    meta = (data_dir / SPLITS[SOURCE_SPLIT]).with_suffix(".meta.jsonl")
    if not meta.is_file():
        return [f"line {n}" for n in range(1, rows + 1)]
    lines = meta.read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["goemotions_id"]) for line in lines]


def ids_digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def split_off(
    data: LabelledTexts, ids: list[str], size: int = HELD_OUT_ROWS, seed: int = SEED
) -> tuple[LabelledTexts, LabelledTexts, CalibrationSplit]:
    """(rows left for training, the held-out slice, its record) of `data`."""
    if len(ids) != len(data):
        raise ValueError(f"{len(ids)} ids for {len(data)} rows of {data.name}")
    size = min(size, len(data) // 4)
    held = stratified_rows(data.labels, size, seed)
    kept = sorted(set(range(len(data))) - set(held))
    record = CalibrationSplit(
        source=SPLITS[SOURCE_SPLIT],
        rows=size,
        seed=seed,
        stratified_by="label",
        ids_sha256=ids_digest([ids[i] for i in held]),
    )
    return data.subset(kept), data.subset(held, name=f"{data.name}-calibration"), record


def read_calibration_split(data_dir: Path) -> tuple[LabelledTexts, LabelledTexts, CalibrationSplit]:
    """`goemotions_train` as (training rows, calibration slice, record)."""
    data = read_split(data_dir, SOURCE_SPLIT)
    return split_off(data, comment_ids(data_dir, len(data)))


@dataclass
class CalibrationSet:
    """What the temperatures are fitted on: CARER validation (also early stopping's split),
    then the real-post slice, each weighted equally in the NLL."""

    validation: LabelledTexts
    real_posts: LabelledTexts
    split: CalibrationSplit

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor(self.validation.labels + self.real_posts.labels)

    @property
    def forms(self) -> list[TextForm]:
        """Each row's text form: the rows are normalised as the bundle normalises."""
        return text_forms(self.validation.texts + self.real_posts.texts)

    @property
    def weights(self) -> torch.Tensor:
        return domain_weights([len(self.validation), len(self.real_posts)])
