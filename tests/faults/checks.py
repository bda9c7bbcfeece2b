"""The end of every scenario: each id exactly once, and the rollup equal to the rows."""

import json
import threading
from collections.abc import Collection
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import Engine, TextClause, text

from producer.send import RateSchedule
from schemas.emotions import LABELS
from tests.integration.streaming import Stream

# each post once per emotion, with its probability of it (written out here, not taken from
# schemas.rollups: the check must not share the SQL it checks)
_EMOTIONS = ", ".join(f"('{label}', p_{label})" for label in LABELS)


def _rollup_mismatch(table: str, grain: str) -> TextClause:
    """Rows of `table` whose count differs from the posts counted per bucket and label, or
    whose probability sum differs from the sum of the posts' p_<label> (by more than rounding)."""
    return text(
        f"""
        WITH counted AS (
            SELECT date_trunc('{grain}', created_at) AS bucket, e.label,
                   count(*) FILTER (WHERE posts.label = e.label) AS n, sum(e.p) AS p
            FROM posts CROSS JOIN LATERAL (VALUES {_EMOTIONS}) AS e (label, p)
            WHERE source = :s GROUP BY 1, 2
        ), rolled AS (
            SELECT bucket, label, sum(posts) AS n, sum(probability_sum) AS p
            FROM {table} WHERE source = :s GROUP BY 1, 2
        )
        SELECT coalesce(c.bucket, r.bucket), coalesce(c.label, r.label), c.n, r.n, c.p, r.p
        FROM counted c FULL JOIN rolled r ON c.bucket = r.bucket AND c.label = r.label
        WHERE c.n IS DISTINCT FROM r.n OR NOT abs(c.p - r.p) <= 1e-9 * (1 + c.n + r.n)
        """
    )


ROLLUPS = {
    "emotion_rollup": _rollup_mismatch("emotion_rollup", "minute"),
    "emotion_rollup_hourly": _rollup_mismatch("emotion_rollup_hourly", "hour"),
}


def stored_ids(engine: Engine, source: str) -> list[str]:
    with engine.connect() as connection:
        query = text("SELECT post_id FROM posts WHERE source = :s")
        return list(connection.execute(query, {"s": source}).scalars())


def row_count(engine: Engine, source: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM posts WHERE source = :s")
        return int(connection.execute(query, {"s": source}).scalar_one())


def assert_exactly_once(engine: Engine, source: str, expected_ids: Collection[str]) -> None:
    """In SQL: every expected id stored once, nothing else, and each rollup tier (minute, hour)
    equal to the rows counted per bucket and label, its probability sums to theirs."""
    ids = stored_ids(engine, source)
    expected = set(expected_ids)
    missing, unexpected = expected - set(ids), set(ids) - expected
    assert not missing, f"{len(missing)} posts lost, e.g. {sorted(missing)[:5]}"
    assert not unexpected, f"{len(unexpected)} unexpected rows, e.g. {sorted(unexpected)[:5]}"
    assert len(ids) == len(expected), f"{len(ids) - len(expected)} rows doubled"
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        for table, query in ROLLUPS.items():
            wrong = connection.execute(query, {"s": source}).all()
            assert not wrong, (
                f"{table} differs from the rows (bucket, label, rows, rollup, p rows, p rollup):"
                f" {wrong[:5]}"
            )


def produce_records(
    stream: Stream, records: list[tuple[bytes | None, bytes | None]], max_request_size: int
) -> None:
    """Produce raw (key, value) pairs in order, allowing values up to `max_request_size`."""
    producer = KafkaProducer(
        bootstrap_servers=stream.kafka.bootstrap_servers,
        acks="all",
        max_request_size=max_request_size,
    )
    try:
        for key, value in records:
            producer.send(stream.kafka.topic, key=key, value=value).get(timeout=60)
    finally:
        producer.close()


def dead_letters(stream: Stream, expected: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Read the dead-letter topic until `expected` distinct records (key and value) came:
    key, value, headers of each. Dead letters are at least once: a broker restart can repeat
    one, so a count of records alone could stop before the last distinct one."""
    consumer = KafkaConsumer(
        stream.kafka.dlq_topic,
        bootstrap_servers=stream.kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(timeout_s * 1000),
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    found: list[dict[str, Any]] = []
    distinct: set[tuple[bytes | None, bytes | None]] = set()
    try:
        for record in consumer:
            headers = {name: value.decode() for name, value in record.headers}
            found.append({"key": record.key, "value": record.value, "headers": headers})
            distinct.add((record.key, record.value))
            if len(distinct) >= expected:
                break
    finally:
        consumer.close()
    return found


class PacedProducer:
    """Produces the stream's posts `numbers` at `rate` per second on a thread, so batches are
    only partly full when something happens (a backlog would fill every poll)."""

    def __init__(self, stream: Stream, numbers: range, rate: float) -> None:
        self._stream = stream
        self._numbers = numbers
        self._rate = rate
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> "PacedProducer":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.join()
        if self.error is not None:
            raise self.error

    def run(self) -> None:
        """Produce in this thread, returning when all are acknowledged."""
        self._run()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self._stream.kafka.bootstrap_servers)
        schedule = RateSchedule(self._rate)
        try:
            for n in self._numbers:
                schedule.wait()
                post = self._stream.post(n)
                producer.send(
                    self._stream.kafka.topic,
                    key=post["id"].encode(),
                    value=json.dumps(post).encode(),
                )
            producer.flush()
        except BaseException as exc:  # re-raised in the test's thread
            self.error = exc
        finally:
            producer.close()


def post_json(stream: Stream, n: int, **fields: Any) -> bytes:
    return json.dumps({**stream.post(n), **fields}).encode()
