"""Scenario 1: kill -9 of the worker at random moments, >= 10 times over a 20k-post stream.

The quick variant (`faults_quick`, part of `make test`) kills three times over 6,000 posts."""

import os
import random
import signal
import time
from dataclasses import dataclass
from functools import partial

import pytest
from sqlalchemy import Engine

from tests.faults.checks import assert_exactly_once, row_count
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

# Larger batches keep a 20k stream at minutes with the tiny bundle; kills land in every step.
BATCH = {"batch_max_size": "256", "batch_max_wait_ms": "100"}


@dataclass(frozen=True)
class Kills:
    """`kills` kills, each once the table passed a random threshold between 500 rows and
    `last` of `total`: the margin above keeps the last kill before the end of the stream."""

    total: int
    kills: int
    last: float


FULL = Kills(total=20_000, kills=12, last=0.85)
QUICK = Kills(total=6_000, kills=3, last=0.4)


def _seed() -> int:
    """MOODWATCH_FAULT_SEED replays a failure; otherwise a fresh seed, printed."""
    seed = int(os.environ.get("MOODWATCH_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"kill -9 scenario: MOODWATCH_FAULT_SEED={seed}")
    return seed


def _progressed(engine: Engine, source: str, threshold: int, rows_at_start: int) -> bool:
    """Past the threshold, and this incarnation stored a batch: the kill lands mid-stream."""
    rows = row_count(engine, source)
    return rows >= threshold and rows > rows_at_start


@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(FULL, id="full"),
        pytest.param(QUICK, id="quick", marks=pytest.mark.faults_quick),
    ],
)
def test_kill_9_at_random_moments_loses_and_doubles_nothing(
    stack: FaultStack, engine: Engine, workers: Workers, plan: Kills
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    stream = Stream.fresh(partitions=4, base=stack.kafka)
    stream.produce_posts(range(plan.total))
    # Each kill waits for this many rows, then for a random fraction of a batch's time.
    thresholds = sorted(rng.sample(range(500, int(plan.total * plan.last)), plan.kills))
    exits = []
    for threshold in thresholds:
        worker = workers.start(stream, settings=BATCH)
        rows_at_start = row_count(engine, stream.source)
        wait_for(
            partial(_progressed, engine, stream.source, threshold, rows_at_start),
            timeout=180,
            what=f"rows past {threshold} (seed {seed})",
        )
        time.sleep(rng.uniform(0.0, 0.4))  # a random moment of the batch cycle
        worker.kill9()
        exits.append(worker.process.returncode)
    # Each worker was still running when the SIGKILL came: one that had exited by itself (a
    # crash, a stop) would report its own exit code here, and the kill would have tested nothing.
    assert exits == [-signal.SIGKILL] * plan.kills, f"exit codes {exits} (seed {seed})"
    assert row_count(engine, stream.source) < plan.total, (
        f"stream ended before the last kill ({seed})"
    )
    workers.start(stream, settings=BATCH)
    wait_for(lambda: stream.committed() == plan.total, timeout=300, what=f"all committed ({seed})")
    assert_exactly_once(engine, stream.source, [f"{stream.source}-{n}" for n in range(plan.total)])
