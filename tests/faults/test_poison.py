"""Scenario 7: poison mixed in at 5% is dead-lettered with reasons; at 100% the cap stops us."""

import json
import random

import pytest
from sqlalchemy import Engine

from tests.faults.checks import assert_exactly_once, dead_letters
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

TOTAL = 4000
EXIT_DLQ_CAP = 3  # worker.app


def _poison(n: int) -> bytes:
    """Five kinds in turn, each tagged with its number so the dead letters can be matched."""
    kinds = [
        b"{not json %d" % n,
        b"\xff\xfe invalid utf-8 %d" % n,
        json.dumps({"id": f"poison-{n}"}).encode(),  # no text
        json.dumps({"id": n, "text": f"poison {n}"}).encode(),  # id of the wrong type
        json.dumps({"id": f"poison-{n}", "text": " \t ", "n": n}).encode(),  # blank text
    ]
    return kinds[n % len(kinds)]


def test_five_percent_poison_each_dead_lettered_with_its_reason(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    stream = Stream.fresh(partitions=3, base=stack.kafka)
    rng = random.Random(TOTAL)
    poisoned = {n for n in range(TOTAL) if rng.random() < 0.05}
    values: list[bytes | dict[str, object]] = [
        _poison(n) if n in poisoned else stream.post(n) for n in range(TOTAL)
    ]
    stream.produce(values, [str(n) for n in range(TOTAL)])
    workers.start(stream)
    wait_for(lambda: stream.committed() == TOTAL, timeout=240, what="all offsets committed")
    valid = [f"{stream.source}-{n}" for n in range(TOTAL) if n not in poisoned]
    assert_exactly_once(engine, stream.source, valid)
    letters = dead_letters(stream, expected=len(poisoned) + 1, timeout_s=10)
    assert len(letters) == len(poisoned)
    assert sorted(x["value"] for x in letters) == sorted(_poison(n) for n in poisoned)
    assert all(x["headers"]["reason"] for x in letters)
    assert {x["key"] for x in letters} == {str(n).encode() for n in poisoned}
    assert {x["headers"]["source_topic"] for x in letters} == {stream.kafka.topic}


def test_all_poison_trips_the_dead_letter_cap_with_a_clear_error(
    stack: FaultStack, workers: Workers
) -> None:
    stream = Stream.fresh(partitions=3, base=stack.kafka)
    stream.produce([_poison(n) for n in range(1000)])
    worker = workers.start(stream, watched=False)
    wait_for(lambda: not worker.alive(), timeout=120, what="the worker to stop itself")
    assert worker.process.returncode == EXIT_DLQ_CAP
    log = worker.log_text()
    assert "dead-letter cap reached" in log and "MOODWATCH_WORKER_DLQ_MAX_RATIO" in log
    assert stream.committed() < 1000, "the cap let the whole topic drain into the DLQ"
