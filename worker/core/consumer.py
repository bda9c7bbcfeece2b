"""The narrow consumer interface of the core, and the adapter kafka-python calls on rebalances.

`KafkaConsumer` satisfies `Consumer` as it is; unit tests use an in-memory fake.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from kafka import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata, TopicPartition

Offsets = Mapping[TopicPartition, OffsetAndMetadata]


class Record(Protocol):
    """What the core reads of a consumed record (kafka-python's `ConsumerRecord`)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Consumer(Protocol):
    """What the core calls on its consumer, from the one thread that polls it.

    `poll` may run the rebalance handler inside itself; the handler then calls only the
    methods that do not block: pause, resume, paused, assignment, seek, highwater and
    commit_async (kafka-python raises on commit, position or poll there).
    """

    def poll(
        self, timeout_ms: int = ..., max_records: int | None = ...
    ) -> Mapping[TopicPartition, Sequence[Record]]: ...
    def commit(self, offsets: Offsets) -> Any: ...
    def commit_async(
        self, offsets: Offsets, callback: Callable[[Offsets, object], None]
    ) -> Any: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    def paused(self) -> Collection[TopicPartition]: ...
    def assignment(self) -> Collection[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def position(self, partition: TopicPartition) -> int: ...


def to_commit(next_offsets: Mapping[TopicPartition, int]) -> dict[TopicPartition, Any]:
    """The offsets argument of `commit` and `commit_async`."""
    return {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}


class RebalanceHandler(Protocol):
    def revoked(self, partitions: Collection[TopicPartition]) -> None: ...
    def lost(self, partitions: Collection[TopicPartition]) -> None: ...
    def assigned(self, partitions: Collection[TopicPartition]) -> None: ...


class KafkaListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """What `KafkaConsumer.subscribe` takes (it insists on this base class)."""

    def __init__(self, handler: RebalanceHandler) -> None:
        self.handler = handler

    def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        self.handler.revoked(revoked)

    def on_partitions_lost(self, lost: Collection[TopicPartition]) -> None:
        self.handler.lost(lost)

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self.handler.assigned(assigned)
