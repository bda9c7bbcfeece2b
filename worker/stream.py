"""The consume loop: poll -> decode (or dead-letter) -> micro-batch -> label -> store -> commit.

Offsets are committed only after the batch's rows are durably in PostgreSQL and its dead
letters are acknowledged; everything else (crash, revocation, outage) leaves them unmoved, and
the idempotent insert makes the re-delivery harmless.
"""

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from kafka import ConsumerRebalanceListener
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata, TopicPartition

from worker import metrics
from worker.batching import PendingBatch
from worker.dead_letters import DeadLetterQueue, DlqLimit
from worker.decode import Coordinates, InvalidMessage, decode
from worker.labeller import Labeller
from worker.redis_side import RedisSide
from worker.store import LabelledPost, PostgresSink, StoreRejected, StoreUnavailable, minute_bucket

log = structlog.get_logger(__name__)
MAX_BACKOFF_S = 5.0


class GaveUpStoring(RuntimeError):
    """Asked to stop while PostgreSQL stayed down: nothing was committed for the open batch."""


class StreamProcessor(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs on one thread with one KafkaConsumer; `run` returns when `stop` is set."""

    def __init__(
        self,
        consumer: Any,
        labeller: Labeller,
        sink: PostgresSink,
        dead_letters: DeadLetterQueue,
        dlq_limit: DlqLimit,
        redis_side: RedisSide,
        batch: PendingBatch,
        give_up_after_stop_s: float,
    ) -> None:
        self._consumer = consumer
        self._labeller = labeller
        self._sink = sink
        self._dlq = dead_letters
        self._dlq_limit = dlq_limit
        self._redis = redis_side
        self._batch = batch
        self._give_up_after_stop_s = give_up_after_stop_s
        self._retrying = False
        self._revoked: set[TopicPartition] = set()
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        while not stop.is_set():
            self._poll_once()
            if self._batch.is_due():
                self.flush()
        self.flush()

    def _poll_once(self) -> None:
        room = max(1, self._batch.max_size - len(self._batch.posts))
        timeout_ms = max(1, int(self._batch.seconds_left() * 1000))
        polled = self._consumer.poll(timeout_ms=min(timeout_ms, 500), max_records=room)
        for records in polled.values():
            for record in records:
                self._take(record)

    def _take(self, record: Any) -> None:
        metrics.POSTS_CONSUMED.inc()
        where = Coordinates(record.topic, record.partition, record.offset)
        self._batch.consumed(record.topic, record.partition, record.offset)
        try:
            self._batch.add(decode(record.key, record.value, record.timestamp, where))
            self._dlq_limit.record(invalid=False)
        except InvalidMessage as bad:
            self._dead_letter(record.key, record.value, where, bad.reason)

    def _dead_letter(
        self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str
    ) -> None:
        self._dlq.send(key, value, where, reason)
        metrics.DEAD_LETTERS.inc()
        self._dlq_limit.record(invalid=True)

    def flush(self, retry: bool = True) -> None:
        """Label, store and commit the open batch; a no-op when nothing was consumed.

        With `retry`, a PostgreSQL outage is waited out (paused, polling); without it (inside a
        rebalance callback) `StoreUnavailable` propagates and nothing is committed.
        """
        if self._batch.is_empty():
            return
        started = time.monotonic()
        labelled = self._labeller.label(self._batch.posts)
        stored = self._store_until_done(labelled) if retry else self._write(labelled)
        self._dlq.flush()
        self._commit(self._batch.next_offsets)
        now = minute_bucket(datetime.now(UTC))
        self._redis.count_live([(now, item.prediction.label) for item in labelled])
        metrics.POSTS_STORED.inc(stored)
        metrics.BATCH_SIZE.observe(len(labelled))
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        self._update_lag()
        self._batch.reset()

    def _store_until_done(self, labelled: list[LabelledPost]) -> int:
        attempt, stop_seen_at = 0, None
        while True:
            labelled = self._still_owned(labelled)
            try:
                stored = self._write(labelled)
                self._resume()
                return stored
            except StoreUnavailable as exc:
                attempt += 1
                metrics.STORE_RETRIES.inc()
                log.warning("postgres unavailable; retrying", attempt=attempt, error=str(exc))
                if self._stop.is_set():
                    stop_seen_at = stop_seen_at or time.monotonic()
                    if time.monotonic() - stop_seen_at > self._give_up_after_stop_s:
                        raise GaveUpStoring("stopping with PostgreSQL down") from exc
                self._wait_paused(min(MAX_BACKOFF_S, 0.2 * 2**attempt))

    def _write(self, labelled: Sequence[LabelledPost]) -> int:
        try:
            return self._sink.write(labelled)
        except StoreRejected:
            if len(labelled) == 1:
                raise
        stored = 0
        for item in labelled:  # find the rows the database refuses; keep the rest
            try:
                stored += self._sink.write([item])
            except StoreRejected as exc:
                decoded = item.decoded
                self._dead_letter(
                    decoded.raw_key, decoded.raw_value, decoded.coordinates, f"database: {exc}"
                )
        return stored

    def _wait_paused(self, seconds: float) -> None:
        """Back off while still polling (paused), so the group keeps us and rebalances apply."""
        self._retrying = True
        try:
            self._consumer.pause(*self._consumer.assignment())
            self._consumer.poll(timeout_ms=int(seconds * 1000))
        finally:
            self._retrying = False

    def _resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)

    def _still_owned(self, labelled: list[LabelledPost]) -> list[LabelledPost]:
        if not self._revoked:
            return labelled
        self._batch.drop_partitions(self._revoked)
        self._revoked = set()
        kept = {id(p) for p in self._batch.posts}
        return [item for item in labelled if id(item.decoded) in kept]

    def _commit(self, next_offsets: dict[TopicPartition, int]) -> None:
        if not next_offsets:
            return
        try:
            self._consumer.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}
            )
        except CommitFailedError as exc:
            # We left the group: the rows are stored, the new owner re-reads them harmlessly.
            log.warning("commit refused after a rebalance; rows are stored", error=str(exc))

    def _update_lag(self) -> None:
        lag = 0
        for tp in self._consumer.assignment():
            end = self._consumer.highwater(tp)
            if end is not None:
                lag += max(0, end - self._consumer.position(tp))
        metrics.CONSUMER_LAG.set(lag)

    # ConsumerRebalanceListener: called from inside poll().
    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        if self._retrying:
            self._revoked |= set(revoked)
            return
        try:
            self.flush(retry=False)
        except (StoreUnavailable, StoreRejected):
            self._batch.drop_partitions(set(revoked))

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info(
            "partitions assigned", partitions=[f"{tp.topic}-{tp.partition}" for tp in assigned]
        )
