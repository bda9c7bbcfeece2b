"""Scenario 7: poison mixed in at 5% is dead-lettered with reasons; at 100% the cap stops us.

The 5% case has a quick variant (`faults_quick`, part of `make test`): 1,000 posts."""

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


# What the reason header of each kind of `_poison` says (worker.decode).
REASONS = [
    "invalid JSON",
    "invalid UTF-8",
    "text: Field required",
    "id: Input should be a valid string",
    "text is empty",
]


@pytest.mark.parametrize(
    "total",
    [
        pytest.param(TOTAL, id="full"),
        pytest.param(1000, id="quick", marks=pytest.mark.faults_quick),
    ],
)
def test_five_percent_poison_each_dead_lettered_with_its_reason(
    stack: FaultStack, engine: Engine, workers: Workers, total: int
) -> None:
    stream = Stream.fresh(partitions=3, base=stack.kafka)
    rng = random.Random(total)
    poisoned = {n for n in range(total) if rng.random() < 0.05}
    values: list[bytes | dict[str, object]] = [
        _poison(n) if n in poisoned else stream.post(n) for n in range(total)
    ]
    stream.produce(values, [str(n) for n in range(total)])
    workers.start(stream)
    wait_for(lambda: stream.committed() == total, timeout=240, what="all offsets committed")
    valid = [f"{stream.source}-{n}" for n in range(total) if n not in poisoned]
    assert_exactly_once(engine, stream.source, valid)
    # One more than sent: the read ends only after a quiet spell, so extra letters would show.
    letters = dead_letters(stream, expected=len(poisoned) + 1, timeout_s=5)
    assert len(letters) == len(poisoned)
    assert sorted(x["value"] for x in letters) == sorted(_poison(n) for n in poisoned)
    assert {x["key"] for x in letters} == {str(n).encode() for n in poisoned}
    wrong = {
        n: reason
        for n, reason in ((int(x["key"]), x["headers"]["reason"]) for x in letters)
        if REASONS[n % len(REASONS)] not in reason
    }
    assert not wrong, f"reasons that do not name the fault (key: reason): {wrong}"
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
