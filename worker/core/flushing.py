"""A batch on its way down the flush chain, the interface of a step, and the chain's entry."""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from kafka.structs import TopicPartition

from worker.batching import PendingBatch, partition_of
from worker.store import LabelledPost


@dataclass
class Flushing:
    """The open batch and what each step has added to it; `done_at` holds the clock at the
    end of each named step, for the batch's timings."""

    pending: PendingBatch
    clock: Callable[[], float]
    started: float
    labelled: list[LabelledPost] = field(default_factory=list)
    stored: int = 0
    done_at: dict[str, float] = field(default_factory=dict)

    def mark(self, step: str) -> None:
        self.done_at[step] = self.clock()

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Partitions that moved to another owner mid-flush: neither stored nor committed."""
        if not partitions:
            return
        self.pending.drop_partitions(partitions)
        self.labelled = [p for p in self.labelled if partition_of(p.decoded) not in partitions]


class Step(Protocol):
    """One link of the flush chain: does its one job, then hands the batch to its next step.

    An exception stops the chain where it is raised: nothing after it runs, so nothing is
    committed for a batch that was not stored and its dead letters acknowledged.
    """

    def submit(self, batch: Flushing) -> None: ...


class Flush:
    """Sends the open batch down the chain from `first`; a no-op when nothing was consumed."""

    def __init__(self, pending: PendingBatch, first: Step, clock: Callable[[], float]) -> None:
        self._pending = pending
        self._first = first
        self._clock = clock

    def __call__(self) -> None:
        if self._pending.is_empty():
            return
        self._first.submit(Flushing(self._pending, self._clock, started=self._clock()))
