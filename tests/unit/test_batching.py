"""Micro-batch flushing rules and the dead-letter cap."""

import time

import pytest
from kafka.structs import TopicPartition

from worker.batching import PendingBatch
from worker.dead_letters import DlqLimit, DlqLimitExceeded
from worker.decode import Coordinates, decode


def post(partition: int, offset: int) -> tuple[int, int, object]:
    value = b'{"id": "p%d-%d", "text": "hello"}' % (partition, offset)
    return (
        partition,
        offset,
        decode(None, value, 0 + 1_700_000_000_000, Coordinates("t", partition, offset)),
    )


def fill(batch: PendingBatch, items: list[tuple[int, int]]) -> None:
    for partition, offset in items:
        batch.consumed("t", partition, offset)
        batch.add(post(partition, offset)[2])  # type: ignore[arg-type]


def test_due_when_full() -> None:
    batch = PendingBatch(max_size=3, max_wait_s=60)
    fill(batch, [(0, 0), (0, 1)])
    assert not batch.is_due()
    fill(batch, [(1, 0)])
    assert batch.is_due()


def test_due_when_old_enough() -> None:
    batch = PendingBatch(max_size=100, max_wait_s=0.01)
    assert not batch.is_due()  # an empty batch is never due
    fill(batch, [(0, 0)])
    time.sleep(0.02)  # the clock itself is under test here
    assert batch.is_due()


def test_next_offsets_are_last_plus_one_per_partition() -> None:
    batch = PendingBatch(max_size=100, max_wait_s=1)
    fill(batch, [(0, 5), (0, 6), (2, 9)])
    batch.consumed("t", 2, 10)  # a dead-lettered record still moves the offset
    assert batch.next_offsets == {TopicPartition("t", 0): 7, TopicPartition("t", 2): 11}


def test_revoked_partitions_are_forgotten() -> None:
    batch = PendingBatch(max_size=100, max_wait_s=1)
    fill(batch, [(0, 1), (1, 1)])
    batch.drop_partitions({TopicPartition("t", 0)})
    assert [p.coordinates.partition for p in batch.posts] == [1]
    assert list(batch.next_offsets) == [TopicPartition("t", 1)]


def test_dlq_cap_trips_only_over_the_ratio() -> None:
    limit = DlqLimit(max_ratio=0.5, window=10)
    for i in range(30):
        limit.record(invalid=i % 2 == 0)  # exactly half: allowed
    with pytest.raises(DlqLimitExceeded, match="invalid"):
        for _ in range(10):
            limit.record(invalid=True)
