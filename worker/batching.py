"""Micro-batches: flush on size or on age, and always on shutdown or revocation."""

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from kafka.structs import TopicPartition

from worker.decode import DecodedPost


def partition_of(post: DecodedPost) -> TopicPartition:
    return TopicPartition(post.coordinates.topic, post.coordinates.partition)


@dataclass
class PendingBatch:
    """Posts awaiting inference and every consumed offset awaiting commit (valid or not).

    Offsets of dead-lettered messages ride along, so one commit covers all that was consumed
    once the batch is stored and the dead letters are flushed.
    """

    max_size: int
    max_wait_s: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    posts: list[DecodedPost] = field(default_factory=list)
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)
    opened_at: float | None = None

    def consumed(self, topic: str, partition: int, offset: int) -> None:
        tp = TopicPartition(topic, partition)
        self.next_offsets[tp] = max(self.next_offsets.get(tp, 0), offset + 1)
        self.first_offsets[tp] = min(self.first_offsets.get(tp, offset), offset)
        if self.opened_at is None:
            self.opened_at = self.clock()

    def add(self, post: DecodedPost) -> None:
        self.posts.append(post)

    def is_empty(self) -> bool:
        return not self.next_offsets

    def is_due(self) -> bool:
        if self.opened_at is None:
            return False
        full = len(self.posts) >= self.max_size
        return full or self.clock() - self.opened_at >= self.max_wait_s

    def seconds_left(self) -> float:
        if self.opened_at is None:
            return self.max_wait_s
        return max(0.0, self.max_wait_s - (self.clock() - self.opened_at))

    def drop_partitions(self, revoked: Collection[TopicPartition]) -> None:
        """Forget what came from these partitions. Whoever owns them next must read them again
        from `first_offsets`; when that is this consumer, the caller rewinds it there."""
        self.posts = [p for p in self.posts if partition_of(p) not in revoked]
        self.next_offsets = {tp: o for tp, o in self.next_offsets.items() if tp not in revoked}
        self.first_offsets = {tp: o for tp, o in self.first_offsets.items() if tp not in revoked}
        if not self.next_offsets:
            self.opened_at = None

    def reset(self) -> None:
        self.posts = []
        self.next_offsets = {}
        self.first_offsets = {}
        self.opened_at = None
