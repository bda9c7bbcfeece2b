"""A new worker joins its group and consumes at once, however short its polls.

Regression test: kafka-python 3.0 sometimes never applied the rejoin that follows a first join
made before the topic's metadata arrived; the worker then consumed nothing, silently. Measured
here before the fix: 1 fresh start in 13 hung with 100 ms polls.
"""

import time

import pytest
from kafka import ConsumerRebalanceListener, KafkaConsumer

from tests.integration.streaming import Stream
from worker.app import subscribe

pytestmark = pytest.mark.integration
STARTS = 30


class Quiet(ConsumerRebalanceListener):  # type: ignore[misc]
    """The worker always subscribes with a listener; this one does nothing."""

    def on_partitions_revoked(self, revoked: object) -> None:
        pass

    def on_partitions_assigned(self, assigned: object) -> None:
        pass


def test_fresh_consumers_get_their_partitions_and_records() -> None:
    slow = []
    for _ in range(STARTS):
        stream = Stream.fresh(partitions=3)
        stream.produce_posts(range(5))
        consumer = KafkaConsumer(
            bootstrap_servers=stream.kafka.bootstrap_servers,
            group_id=stream.kafka.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10_000,
        )
        try:
            subscribe(consumer, stream.kafka.topic, Quiet())
            started, received = time.monotonic(), 0
            while received < 5 and time.monotonic() - started < 15:
                received += sum(len(r) for r in consumer.poll(timeout_ms=100).values())
            if received < 5:
                slow.append((stream.kafka.topic, received, sorted(consumer.assignment())))
        finally:
            consumer.close(autocommit=False)
    assert not slow, f"consumers that got no records within 15 s: {slow}"
