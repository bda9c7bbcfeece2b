"""The stall watchdog: posts waiting on our partitions and none arriving ends the worker."""

from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.structs import MemberState, TopicPartition

from worker.stall_watch import ConsumerStalled, StallWatch

P0, P1 = TopicPartition("posts", 0), TopicPartition("posts", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeCoordinator:
    def __init__(self) -> None:
        self.state = MemberState.STABLE
        self.known = True

    def coordinator_unknown(self) -> bool:
        return not self.known


class FakeConsumer:
    def __init__(self, ends: dict[Any, int], positions: dict[Any, int]) -> None:
        self.ends, self.positions = ends, positions
        self.paused_partitions: set[Any] = set()
        self.broker_down = False
        self._coordinator = FakeCoordinator()

    def assignment(self) -> set[Any]:
        return set(self.ends)

    def paused(self) -> set[Any]:
        return self.paused_partitions

    def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        if self.broker_down:
            raise KafkaTimeoutError("no broker")
        return {tp: self.ends[tp] for tp in partitions}

    def position(self, tp: Any) -> int:
        return self.positions[tp]


def watch_over(consumer: FakeConsumer) -> tuple[StallWatch, Clock]:
    clock = Clock()
    return StallWatch(consumer, stall_after_s=60, check_every_s=10, clock=clock), clock


def test_posts_waiting_unread_past_the_timeout_is_a_stall() -> None:
    watch, clock = watch_over(FakeConsumer({P0: 100, P1: 50}, {P0: 40, P1: 50}))
    clock.now += 59
    watch.check()  # not yet
    clock.now += 11  # the next check, ten seconds on
    with pytest.raises(ConsumerStalled, match="no records for 70 s .*posts-0: 60"):
        watch.check()


def test_records_arriving_keep_it_alive() -> None:
    watch, clock = watch_over(FakeConsumer({P0: 100}, {P0: 40}))
    for _ in range(20):
        clock.now += 30
        watch.progressed()
        watch.check()


def test_a_caught_up_or_paused_consumer_is_idle_not_stalled() -> None:
    consumer = FakeConsumer({P0: 100, P1: 70}, {P0: 100, P1: 10})
    consumer.paused_partitions = {P1}  # waiting out a PostgreSQL outage
    watch, clock = watch_over(consumer)
    clock.now += 3600
    watch.check()
    consumer.paused_partitions = set()
    clock.now += 30
    watch.check()  # idle time before the resume does not count against it
    clock.now += 31
    with pytest.raises(ConsumerStalled):
        watch.check()


def test_an_unreachable_broker_is_not_called_a_stall() -> None:
    consumer = FakeConsumer({P0: 100}, {P0: 0})
    consumer.broker_down = True
    watch, clock = watch_over(consumer)
    clock.now += 3600
    watch.check()


def test_a_join_that_never_completes_is_a_stall() -> None:
    consumer = FakeConsumer({}, {})  # nothing assigned: the join never finished
    consumer._coordinator.state = MemberState.REBALANCING
    watch, clock = watch_over(consumer)
    clock.now += 50
    watch.check()
    clock.now += 20
    with pytest.raises(ConsumerStalled, match="group join never completed"):
        watch.check()


def test_an_idle_member_without_partitions_is_not_stalled() -> None:
    watch, clock = watch_over(FakeConsumer({}, {}))  # more workers than partitions
    clock.now += 3600
    watch.check()


def test_no_coordinator_is_a_broker_outage_not_a_stall() -> None:
    consumer = FakeConsumer({}, {})
    consumer._coordinator.state = MemberState.UNJOINED
    consumer._coordinator.known = False
    watch, clock = watch_over(consumer)
    clock.now += 3600
    watch.check()
