"""Scenarios 5 and 6: rebalances (a worker killed, one added) and slow or frozen batches.

The first has a quick variant (`faults_quick`, part of `make test`): two workers, 5,000 posts."""

import time
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from tests.faults.checks import PacedProducer, assert_exactly_once, row_count
from tests.faults.stack import FaultStack
from tests.faults.workers import WorkerProcess, Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

ASSIGNED = "partitions assigned"
# What kafka-python (>= 3, kafka/coordinator/consumer.py) logs at ERROR, and the KafkaError it
# raises from poll(), when one of our rebalance callbacks raised: "User provided rebalance
# listener <...> for group <...> failed on partition assignment", "User rebalance callback
# throws an error". The worker logs kafka-python's errors (worker.logs).
LISTENER_FAILED = ("rebalance listener", "rebalance callback")
SESSION_TIMEOUT_S = 10  # worker.app.make_consumer
PACE = 100.0  # posts/s: below what three workers can take, so batches stay partial
# Batches that stay open a while, so that a rebalance finds one half full: with the default
# 5 ms wait a batch is open so briefly that the revocation path would rarely run.
OPEN_BATCHES = {"batch_max_wait_ms": "500"}
TOTAL = 8000


@dataclass(frozen=True)
class Churn:
    """`workers` start on a backlog of `backlog` posts; the rest of `total` come at PACE. One
    worker is killed at `kill_at` rows, one is added at `add_at` rows."""

    workers: int
    backlog: int
    total: int
    kill_at: int
    add_at: int


FULL = Churn(workers=3, backlog=2000, total=TOTAL, kill_at=2500, add_at=3500)
QUICK = Churn(workers=2, backlog=600, total=5000, kill_at=900, add_at=1400)


def _ids(stream: Stream, numbers: range) -> list[str]:
    return [f"{stream.source}-{n}" for n in numbers]


def _assignments(worker: WorkerProcess) -> int:
    return worker.log_text().count(ASSIGNED)


def _listener_failures(worker: WorkerProcess) -> list[str]:
    return [
        line for line in worker.log_text().splitlines() if any(s in line for s in LISTENER_FAILED)
    ]


@pytest.mark.parametrize(
    "churn",
    [
        pytest.param(FULL, id="full"),
        pytest.param(QUICK, id="quick", marks=pytest.mark.faults_quick),
    ],
)
def test_three_workers_one_killed_and_one_added_mid_stream(
    stack: FaultStack, engine: Engine, workers: Workers, churn: Churn
) -> None:
    """A backlog first, then posts at a modest rate, so that the rebalances find batches
    half full (a rebalance listener that commits must work from kafka-python's thread)."""
    stream = Stream.fresh(partitions=6, base=stack.kafka)
    stream.produce_posts(range(churn.backlog))
    group = [
        workers.start(stream, log_level="INFO", settings=OPEN_BATCHES) for _ in range(churn.workers)
    ]
    wait_for(lambda: all(_assignments(w) for w in group), timeout=120, what="all members")
    with PacedProducer(stream, range(churn.backlog, churn.total), rate=PACE):
        wait_for(
            lambda: row_count(engine, stream.source) >= churn.kill_at,
            timeout=120,
            what=f"{churn.kill_at} rows",
        )
        victim = group.pop()
        assigned = [_assignments(w) for w in group]
        victim.kill9()
        wait_for(
            lambda: row_count(engine, stream.source) >= churn.add_at,
            timeout=120,
            what=f"{churn.add_at} rows",
        )
        newcomer = workers.start(stream, log_level="INFO", settings=OPEN_BATCHES)
        wait_for(lambda: _assignments(newcomer), timeout=120, what="the newcomer assigned")
        assert row_count(engine, stream.source) < churn.total, (
            "the stream ended before the newcomer"
        )
    wait_for(lambda: stream.committed() == churn.total, timeout=300, what="all committed")
    assert_exactly_once(engine, stream.source, _ids(stream, range(churn.total)))
    for worker in (*group, newcomer):
        assert worker.alive(), worker.log_text()[-2000:]
        assert not _listener_failures(worker), _listener_failures(worker)
    # The survivors' listeners ran in the rebalances after the kill (so the check above had
    # callbacks to check) ...
    assert all(_assignments(w) > n for w, n in zip(group, assigned, strict=True)), assigned
    # ... and the point of the pace: some rebalance found a batch half full, stored and
    # committed it.
    assert "stored at revocation" in workers.logs()


def test_a_slow_batch_does_not_get_the_worker_thrown_out(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    """PostgreSQL blocked for 2.5 session timeouts: heartbeats go on, no rebalance happens."""
    stream = Stream.fresh(partitions=4, base=stack.kafka)
    pair = [workers.start(stream, log_level="INFO") for _ in range(2)]
    wait_for(lambda: all(_assignments(w) for w in pair), timeout=120, what="both assigned")
    stream.produce_posts(range(500))
    wait_for(lambda: stream.committed() == 500, timeout=120, what="first 500 committed")
    before = [_assignments(w) for w in pair]
    with engine.connect() as blocker:
        blocker.execute(text("LOCK TABLE posts IN SHARE ROW EXCLUSIVE MODE"))
        stream.produce_posts(range(500, 1000))
        time.sleep(2.5 * SESSION_TIMEOUT_S)  # the injected delay: every write waits this long
        assert stream.committed() == 500
        blocker.rollback()
    wait_for(lambda: stream.committed() == 1000, timeout=120, what="the rest committed")
    assert [_assignments(w) for w in pair] == before, "a slow batch caused a rebalance"
    assert_exactly_once(engine, stream.source, _ids(stream, range(1000)))


def test_a_frozen_worker_thrown_out_of_its_group_doubles_nothing(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    """SIGSTOP (a stall past the session timeout): the other worker takes over; on SIGCONT the
    stalled one finishes its batch, its commit is refused, and it rejoins."""
    stream = Stream.fresh(partitions=4, base=stack.kafka)
    stream.produce_posts(range(3000))
    frozen, other = (workers.start(stream, log_level="INFO") for _ in range(2))
    wait_for(lambda: _assignments(frozen) and _assignments(other), timeout=120, what="two members")
    wait_for(lambda: row_count(engine, stream.source) >= 500, timeout=120, what="500 rows")
    frozen.freeze()
    assigned = _assignments(other)
    try:
        wait_for(lambda: _assignments(other) > assigned, timeout=120, what="the other takes over")
        wait_for(lambda: row_count(engine, stream.source) == 3000, timeout=180, what="all rows")
    finally:
        frozen.thaw()
    stream.produce_posts(range(3000, 3500))
    wait_for(lambda: stream.committed() == 3500, timeout=180, what="all committed")
    assert frozen.alive() and other.alive()
    assert_exactly_once(engine, stream.source, _ids(stream, range(3500)))


def test_a_rebalance_while_postgres_is_down_loses_nothing(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    """The survivor waits out the outage polling with its partitions paused; the partitions a
    rebalance hands it meanwhile must not be read past while its batch cannot be stored."""
    from devstack.manager import start_postgres, stop_postgres

    stream = Stream.fresh(partitions=4, base=stack.kafka)
    survivor, victim = (workers.start(stream, log_level="INFO") for _ in range(2))
    wait_for(lambda: _assignments(survivor) and _assignments(victim), what="both assigned")
    stream.produce_posts(range(1000))
    wait_for(lambda: stream.committed() == 1000, timeout=120, what="first 1000 committed")
    stop_postgres(stack.services)
    try:
        stream.produce_posts(range(1000, 2000))
        wait_for(lambda: "postgres unavailable" in survivor.log_text(), what="a failed write")
        assigned = _assignments(survivor)
        victim.kill9()
        wait_for(lambda: _assignments(survivor) > assigned, timeout=60, what="the takeover")
    finally:
        start_postgres(stack.services)
    wait_for(lambda: stream.committed() == 2000, timeout=180, what="all committed")
    assert_exactly_once(engine, stream.source, _ids(stream, range(2000)))
