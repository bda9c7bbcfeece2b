"""The streaming guarantees, end to end on real Kafka, PostgreSQL and Redis."""

import json
import signal
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from sqlalchemy import Engine, text

from schemas.emotions import LABELS
from schemas.settings import ServicesSettings
from tests.integration.streaming import Stream, stored, wait_for, worker_process

pytestmark = pytest.mark.integration


def test_thousand_posts_become_thousand_labelled_rows(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    stream = Stream.fresh()
    stream.produce_posts(range(1000))
    with worker_process(stream, tiny_bundle, tmp_path / "worker.log"):
        wait_for(lambda: stored(database, stream.source)[0] == 1000, what="1000 rows")
        wait_for(lambda: stream.committed() == 1000, what="offsets committed to the end")
    assert stored(database, stream.source) == (1000, 1000, 1000)
    with database.connect() as connection:
        worst_sum, labels = connection.execute(
            text(
                "SELECT max(abs(p_sadness + p_joy + p_love + p_anger + p_fear + p_surprise - 1)),"
                " array_agg(DISTINCT label) FROM posts WHERE source = :s"
            ),
            {"s": stream.source},
        ).one()
    assert worst_sum < 1e-6
    assert set(labels) <= set(LABELS)


def test_replay_from_offset_zero_doubles_nothing(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    stream = Stream.fresh()
    stream.produce_posts(range(300))
    with worker_process(stream, tiny_bundle, tmp_path / "first.log"):
        wait_for(lambda: stream.committed() == 300, what="first pass committed")
    stream.produce_posts(range(300))  # the same posts again
    replay = Stream(
        kafka=stream.kafka.model_copy(update={"group_id": stream.kafka.group_id + "-replay"}),
        source=stream.source,
    )  # a new group starts from offset 0: all 600 records are read again
    with worker_process(replay, tiny_bundle, tmp_path / "replay.log"):
        wait_for(lambda: replay.committed() == 600, what="replay committed")
    assert stored(database, stream.source) == (300, 300, 300)


def _dead_letters(stream: Stream, expected: int) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = KafkaConsumer(
        stream.kafka.dlq_topic,
        bootstrap_servers=stream.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=20_000,
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    found = []
    try:
        for record in consumer:
            found.append((record.value, dict(record.headers)))
            if len(found) >= expected:
                break
    finally:
        consumer.close()
    return found


def test_invalid_messages_go_to_the_dead_letter_topic_with_reasons(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    stream = Stream.fresh(partitions=1)
    bad: list[bytes | dict[str, object]] = [
        b"{not json",
        {"id": "x1"},  # missing text
        {"id": 42, "text": "numbers are not ids"},  # wrong type
        {"id": "x3", "text": "   "},  # blank
        {"id": "x4", "text": "a" * 100_000},  # oversize
        b"\xff\xfe not utf-8",
    ]
    values: list[bytes | dict[str, object]] = []
    for n, poison in enumerate(bad):
        values += [stream.post(2 * n), poison, stream.post(2 * n + 1)]
    stream.produce(values)
    with worker_process(stream, tiny_bundle, tmp_path / "worker.log"):
        wait_for(lambda: stream.committed() == len(values), what="all offsets committed")
    assert stored(database, stream.source) == (12, 12, 12)
    letters = _dead_letters(stream, len(bad))
    assert len(letters) == len(bad)
    reasons = [headers["reason"].decode() for _, headers in letters]
    assert "invalid JSON" in reasons[0]
    assert "text" in reasons[1] and "id" in reasons[2] and "empty" in reasons[3]
    assert "oversize" in reasons[4] and "UTF-8" in reasons[5]
    assert letters[0][0] == b"{not json"  # the original bytes are kept
    assert json.loads(letters[1][0]) == {"id": "x1"}
    assert {h["source_topic"].decode() for _, h in letters} == {stream.kafka.topic}


def test_postgres_outage_moves_no_offset_and_loses_nothing(
    database: Engine, services: ServicesSettings, tiny_bundle: Path, tmp_path: Path
) -> None:
    from devstack.manager import start_postgres, stop_postgres

    stream = Stream.fresh()
    stream.produce_posts(range(200))
    with worker_process(stream, tiny_bundle, tmp_path / "worker.log"):
        wait_for(lambda: stream.committed() == 200, what="first posts committed")
        stop_postgres(services)
        try:
            stream.produce_posts(range(200, 400))
            log = tmp_path / "worker.log"
            wait_for(lambda: "postgres unavailable" in log.read_text(), what="a failed write")
            assert stream.committed() == 200
        finally:
            start_postgres(services)
        wait_for(lambda: stream.committed() == 400, timeout=90, what="catch-up after outage")
    assert stored(database, stream.source) == (400, 400, 400)


def test_sigterm_mid_stream_exits_cleanly_and_a_restart_stores_the_rest_once(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    stream = Stream.fresh()
    total = 3000
    stream.produce_posts(range(total))
    settings = {"batch_max_size": "32"}
    with worker_process(stream, tiny_bundle, tmp_path / "a.log", **settings) as worker:
        wait_for(lambda: stored(database, stream.source)[0] >= 100, what="some rows")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    rows, _, _ = stored(database, stream.source)
    assert 0 < rows < total, "the worker was meant to stop mid-stream"
    assert stream.committed() == rows  # every stored row committed, nothing beyond
    with worker_process(stream, tiny_bundle, tmp_path / "b.log", **settings):
        # generous: a join can take up to the rebalance timeout on a loaded machine
        wait_for(lambda: stream.committed() == total, timeout=150, what="the rest stored")
    assert stored(database, stream.source) == (total, total, total)
