"""Scenario: a rolling upgrade. While posts flow, the workers of a group are restarted one by
one onto a new bundle: nothing is lost or doubled, every row names one of the two bundles, and
the version rollup counts each row under the version it names."""

import json
import threading
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import Engine, text

from producer.send import RateSchedule
from schemas.bundle import BundleManifest
from tests.faults.checks import assert_exactly_once, row_count
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for
from tests.tiny_bundle import build_tiny_bundle

pytestmark = pytest.mark.faults

RATE = 100.0  # posts/s, for as long as the upgrade takes (loading a bundle takes seconds)
BATCH = {"batch_max_size": "64", "batch_max_wait_ms": "50"}


class Flow(threading.Thread):
    """Posts 0, 1, 2, ... of the stream at `RATE` until `stop()`; `produced` says how many."""

    def __init__(self, stream: Stream) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._stopping = threading.Event()
        self.produced = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self._stream.kafka.bootstrap_servers)
        schedule = RateSchedule(RATE)
        try:
            while not self._stopping.is_set():
                schedule.wait()
                post = self._stream.post(self.produced)
                value = json.dumps(post).encode()
                producer.send(self._stream.kafka.topic, key=post["id"].encode(), value=value)
                self.produced += 1
            producer.flush()
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc
        finally:
            producer.close()

    def stop(self) -> int:
        self._stopping.set()
        self.join()
        if self.error is not None:
            raise self.error
        return self.produced


def rows_by_version(engine: Engine, source: str) -> dict[str, int]:
    with engine.connect() as connection:
        query = text("SELECT model_version, count(*) FROM posts WHERE source = :s GROUP BY 1")
        return {str(v): int(n) for v, n in connection.execute(query, {"s": source})}


def version_rollup_total(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        query = text("SELECT model_version, sum(posts) FROM version_rollup GROUP BY 1")
        return {str(v): int(n) for v, n in connection.execute(query)}


def test_workers_restarted_one_by_one_onto_a_new_bundle_lose_and_double_nothing(
    stack: FaultStack, engine: Engine, workers: Workers, tiny_bundle: Path, tmp_path: Path
) -> None:
    new_bundle = build_tiny_bundle(tmp_path / "new", members=1)
    old, new = (BundleManifest.load(b).version for b in (tiny_bundle, new_bundle))
    assert old != new
    upgraded = {"MOODWATCH_WORKER_BUNDLE_PATH": str(new_bundle)}
    stream = Stream.fresh(partitions=4, base=stack.kafka)
    rollup_before = version_rollup_total(engine)
    running = [workers.start(stream, settings=BATCH) for _ in range(2)]
    flow = Flow(stream)
    flow.start()
    for index in range(len(running)):
        rows_now = row_count(engine, stream.source)
        wait_for(
            lambda now=rows_now: row_count(engine, stream.source) > now + 300,
            timeout=180,
            what="the group storing posts before the next restart",
        )
        assert running[index].stop() == 0
        running[index] = workers.start(stream, settings=BATCH, env=upgraded)
        new_now = rows_by_version(engine, stream.source).get(new, 0)
        wait_for(
            lambda now=new_now: rows_by_version(engine, stream.source).get(new, 0) > now,
            timeout=180,
            what="the upgraded worker storing posts",
        )
    total = flow.stop()
    wait_for(lambda: stream.committed() == total, timeout=300, what="every post committed")
    assert_exactly_once(engine, stream.source, [f"{stream.source}-{n}" for n in range(total)])
    versions = rows_by_version(engine, stream.source)
    assert set(versions) == {old, new}, versions
    grown = version_rollup_total(engine)
    assert {v: grown.get(v, 0) - rollup_before.get(v, 0) for v in (old, new)} == versions
