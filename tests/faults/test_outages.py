"""Scenarios 2-4: PostgreSQL, Redis and the Kafka broker go away mid-stream and come back.

The PostgreSQL outage has a quick variant (`faults_quick`, part of `make test`): 8 s down."""

import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
import redis
from sqlalchemy import Engine

from tests.faults.checks import PacedProducer, assert_exactly_once, dead_letters, row_count
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

KAFKA_DOWN_S = 5.0


def _ids(stream: Stream, numbers: Iterable[int]) -> list[str]:
    return [f"{stream.source}-{n}" for n in numbers]


@pytest.mark.parametrize(
    "outage_s",
    [pytest.param(30.0, id="full"), pytest.param(8.0, id="quick", marks=pytest.mark.faults_quick)],
)
def test_postgres_stopped_mid_stream_commits_nothing_and_loses_nothing(
    stack: FaultStack, engine: Engine, workers: Workers, outage_s: float
) -> None:
    from devstack.manager import start_postgres, stop_postgres

    stream = Stream.fresh(partitions=4, base=stack.kafka)
    stream.produce_posts(range(3000))
    worker = workers.start(stream)
    wait_for(lambda: row_count(engine, stream.source) >= 500, timeout=120, what="500 rows")
    stop_postgres(stack.services)
    try:
        wait_for(lambda: "postgres unavailable" in worker.log_text(), what="a failed write")
        committed = stream.committed()
        stream.produce_posts(range(3000, 4000))
        time.sleep(outage_s)  # the outage itself
        assert stream.committed() == committed, "offsets moved while PostgreSQL was down"
        assert worker.alive()
    finally:
        start_postgres(stack.services)
    wait_for(lambda: stream.committed() == 4000, timeout=180, what="catch-up after the outage")
    assert_exactly_once(engine, stream.source, _ids(stream, range(4000)))


def test_redis_stopped_mid_stream_the_worker_goes_on_without_cache(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    from devstack.manager import start_redis, stop_redis

    stream = Stream.fresh(partitions=4, base=stack.kafka)
    stream.produce_posts(range(2000))
    worker = workers.start(stream)
    wait_for(lambda: row_count(engine, stream.source) >= 300, timeout=120, what="300 rows")
    stop_redis(stack.services)
    try:
        rows_at_stop = row_count(engine, stream.source)
        stream.produce_posts(range(2000, 3000))
        wait_for(
            lambda: row_count(engine, stream.source) >= rows_at_stop + 1000,
            timeout=120,
            what="1000 rows stored without Redis",
        )
        assert "redis unavailable" in worker.log_text()
    finally:
        start_redis(stack.services)
    # After a failure the worker leaves Redis alone for a few seconds (RETRY_AFTER_S), so the
    # posts after the restart come at a pace that outlasts that pause.
    PacedProducer(stream, range(3000, 3600), rate=60).run()
    wait_for(lambda: stream.committed() == 3600, timeout=120, what="all committed")
    client = redis.Redis.from_url(stack.services.redis.url)
    try:  # Redis restarts empty: cached predictions prove the worker reconnected
        wait_for(lambda: client.keys("moodwatch:pred:*"), timeout=60, what="cache in use again")
    finally:
        client.close()
    assert "redis back" in worker.log_text()
    assert_exactly_once(engine, stream.source, _ids(stream, range(3600)))


def _posts_with_poison(stream: Stream, numbers: range, every: int) -> list[bytes | dict[str, Any]]:
    return [
        b"{poison %d" % n if n % every == 0 else json.dumps(stream.post(n)).encode()
        for n in numbers
    ]


@pytest.mark.parametrize("kill", [False, True], ids=["graceful", "kill-9"])
def test_kafka_broker_restarted_mid_stream(
    stack: FaultStack, engine: Engine, workers: Workers, kill: bool
) -> None:
    """Dead letters are in flight too (1 in 50), so both clients live through the restart."""
    from devstack.manager import start_kafka, stop_kafka

    stream = Stream.fresh(partitions=4, base=stack.kafka)
    first, second = range(3000), range(3000, 4000)
    stream.produce(_posts_with_poison(stream, first, 50), [str(n) for n in first])
    worker = workers.start(stream)
    wait_for(lambda: row_count(engine, stream.source) >= 500, timeout=120, what="500 rows")
    stop_kafka(stack.services, kill=kill)
    try:
        time.sleep(KAFKA_DOWN_S)  # the outage itself
        assert worker.alive()
    finally:
        start_kafka(stack.services)
    stream.produce(_posts_with_poison(stream, second, 50), [str(n) for n in second])
    wait_for(lambda: stream.committed() == 4000, timeout=240, what="all committed")
    valid = [n for n in range(4000) if n % 50]
    assert_exactly_once(engine, stream.source, _ids(stream, valid))
    letters = dead_letters(stream, expected=4000 - len(valid))
    assert len(letters) >= 4000 - len(valid)
    assert {int(x["value"].split()[1]) for x in letters} == set(range(0, 4000, 50))
