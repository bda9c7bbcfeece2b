"""The middle of the flush chain: label, store (under an outage policy), deliver dead letters."""

from collections.abc import Sequence
from typing import Protocol

from worker.core.dead_letter_path import DeadLetterPath
from worker.core.flushing import Flushing, Step
from worker.core.outage import OutagePolicy
from worker.core.writer import RowWriter
from worker.decode import DecodedPost
from worker.store import LabelledPost


class Labels(Protocol):
    """`Labeller`: one prediction per post, in order."""

    def label(self, batch: Sequence[DecodedPost]) -> list[LabelledPost]: ...


class Label:
    """Predicts the batch's posts (Redis cache first, then the ensemble). Blocks for inference."""

    def __init__(self, labeller: Labels, next_step: Step) -> None:
        self._labeller = labeller
        self._next = next_step

    def submit(self, batch: Flushing) -> None:
        batch.labelled = self._labeller.label(batch.pending.posts)
        batch.mark("label")
        self._next.submit(batch)


class Store:
    """Writes the labelled posts; what a PostgreSQL outage does is the policy's to say."""

    def __init__(self, writer: RowWriter, outage: OutagePolicy, next_step: Step) -> None:
        self._writer = writer
        self._outage = outage
        self._next = next_step

    def submit(self, batch: Flushing) -> None:
        batch.stored = self._outage.store(batch, self._writer.write)
        self._next.submit(batch)


class DeliverDeadLetters:
    """Blocks until the batch's dead letters are acknowledged: their offsets ride in the
    batch's commit. Raises `DeadLetterUnavailable`, and then nothing is committed."""

    def __init__(self, dead_letters: DeadLetterPath, next_step: Step) -> None:
        self._dead_letters = dead_letters
        self._next = next_step

    def submit(self, batch: Flushing) -> None:
        self._dead_letters.flush()
        batch.mark("store")
        self._next.submit(batch)
