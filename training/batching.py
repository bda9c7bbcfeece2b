"""Tokenising once, and length-bucketed batches whose order is a pure function of the seed.

Sorting each bucket of a few hundred rows by length keeps padding (and so CPU time) low while
batches still mix sources and labels. Because the plan depends only on (rows, seed, epoch), a
resumed run can skip exactly the batches it already trained on.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

BUCKET_BATCHES = 50  # batches per bucket: sorting range vs. randomness of the order


@dataclass(frozen=True)
class Tokenised:
    """Token ids per row (no padding yet) and each row's label id."""

    ids: list[list[int]]
    labels: list[int]
    pad_id: int


def tokenise(
    tokenizer: Any, texts: Sequence[str], labels: Sequence[int], max_length: int
) -> Tokenised:
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Tokenised(ids=list(encoded["input_ids"]), labels=list(labels), pad_id=int(pad_id))


def epoch_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Row indices per batch for one epoch: shuffle, sort within buckets, shuffle the batches."""
    rng = random.Random(f"{seed}/{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    bucket = batch_size * BUCKET_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), bucket):
        chunk = sorted(order[start : start + bucket], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """How many batches `epoch_batches` makes of `rows` rows (buckets end in short batches)."""
    bucket = batch_size * BUCKET_BATCHES
    full, rest = divmod(rows, bucket)
    return full * BUCKET_BATCHES + -(-rest // batch_size)


def training_plan(
    lengths: Sequence[int], batch_size: int, seed: int, epochs: int, max_steps: int | None = None
) -> list[list[int]]:
    """All batches of the run, epoch after epoch, cut at `max_steps` when given."""
    plan: list[list[int]] = []
    for epoch in range(epochs):
        plan += epoch_batches(lengths, batch_size, seed, epoch)
    return plan if max_steps is None else plan[:max_steps]


def inference_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of similar length in length order, for evaluation (order does not matter)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(data: Tokenised, rows: Sequence[int]) -> dict[str, torch.Tensor]:
    """Pad the rows to the longest among them; attention mask marks the real tokens."""
    width = max(len(data.ids[i]) for i in rows)
    input_ids = torch.full((len(rows), width), data.pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for slot, row in enumerate(rows):
        tokens = data.ids[row]
        input_ids[slot, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        attention_mask[slot, : len(tokens)] = 1
    labels = torch.tensor([data.labels[i] for i in rows], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
