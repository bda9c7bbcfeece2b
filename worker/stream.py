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
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from worker import metrics
from worker.batching import PendingBatch
from worker.dead_letters import DeadLetterQueue, DeadLetterUnavailable, DlqLimit
from worker.decode import Coordinates, InvalidMessage, decode
from worker.duplicate_report import DuplicateReport
from worker.labeller import Labeller
from worker.redis_side import RedisSide
from worker.stall_watch import StallWatch
from worker.store import LabelledPost, PostgresSink, StoreRejected, StoreUnavailable, minute_bucket

log = structlog.get_logger(__name__)
MAX_BACKOFF_S = 5.0
IDLE_POLL_MS = 500


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
        stall_watch: StallWatch,
    ) -> None:
        self._consumer = consumer
        self._labeller = labeller
        self._sink = sink
        self._dlq = dead_letters
        self._dlq_limit = dlq_limit
        self._redis = redis_side
        self._batch = batch
        self._give_up_after_stop_s = give_up_after_stop_s
        self._watch = stall_watch
        self._duplicates = DuplicateReport()
        self._retrying = False
        self._revoked: set[TopicPartition] = set()
        self._stop = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
        while not stop.is_set():
            if self._poll_once():
                self._watch.progressed()
            if self._batch.is_due():
                self.flush()
            self._watch.check()
        self.flush()

    def _poll_once(self) -> int:
        """Take one poll's records into the batch; return how many came."""
        room = max(1, self._batch.max_size - len(self._batch.posts))
        if self._batch.is_empty():  # poll returns on the first records, so waiting costs nothing
            timeout_ms = IDLE_POLL_MS  # and a group (re)join gets time to finish inside it
        else:
            timeout_ms = max(1, min(int(self._batch.seconds_left() * 1000), IDLE_POLL_MS))
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=room)
        taken = 0
        for records in polled.values():
            for record in records:
                self._take(record)
                taken += 1
        return taken

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

        With `retry`, a PostgreSQL outage is waited out (paused, polling); without it
        `StoreUnavailable` propagates and nothing is committed.
        """
        if self._batch.is_empty():
            return
        started = time.monotonic()
        labelled = self._labeller.label(self._batch.posts)
        inferred = time.monotonic()
        stored = self._store_until_done(labelled) if retry else self._write(labelled)
        self._dlq.flush()
        written = time.monotonic()
        self._commit(self._batch.next_offsets)
        self._log_timings(len(labelled), started, inferred, written)
        self._finished(labelled, stored, started)
        self._update_lag()
        self._watch.progressed()  # an outage waited out inside this flush is not a stall

    def _log_timings(self, posts: int, started: float, inferred: float, written: float) -> None:
        """Where a batch's time went (DEBUG): what tuning the batch wait needs to see."""
        opened = self._batch.opened_at or started
        log.debug(
            "batch done",
            posts=posts,
            waited_ms=round(1000 * (started - opened)),
            label_ms=round(1000 * (inferred - started)),
            store_ms=round(1000 * (written - inferred)),
            commit_ms=round(1000 * (time.monotonic() - written)),
        )

    def _finished(self, labelled: list[LabelledPost], stored: int, started: float) -> None:
        now = minute_bucket(datetime.now(UTC))
        self._redis.count_live([(now, item.prediction.label) for item in labelled])
        metrics.POSTS_STORED.inc(stored)
        metrics.BATCH_SIZE.observe(len(labelled))
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
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
        """Store the batch; return the new rows and report the ones already stored."""
        try:
            stored = self._sink.write(labelled)
            self._duplicates.skipped(len(labelled) - stored)
            return stored
        except StoreRejected:
            if len(labelled) == 1:
                raise
        stored = 0
        for item in labelled:  # find the rows the database refuses; keep the rest
            try:
                new = self._sink.write([item])
                stored += new
                self._duplicates.skipped(1 - new)
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
            let_through = self._consumer.poll(timeout_ms=int(seconds * 1000))
        finally:
            self._retrying = False
        # Partitions assigned during that poll are paused by the listener; should records
        # still come back, they are not in the batch, so rewind rather than skip them.
        for tp, records in let_through.items():
            if records:
                self._consumer.seek(tp, records[0].offset)

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
        """Commit synchronously; a failure moves on, because the rows are already stored.

        The next commit of the same partitions covers these offsets; a crash before it only
        re-delivers posts that the idempotent insert skips.
        """
        if not next_offsets:
            return
        try:
            self._consumer.commit(_offsets(next_offsets))
        except CommitFailedError as exc:
            # We left the group: the rows are stored, the new owner re-reads them harmlessly.
            log.warning("commit refused after a rebalance; rows are stored", error=str(exc))
        except KafkaError as exc:  # e.g. the broker is restarting: KafkaTimeoutError
            log.warning(
                "commit failed; rows are stored, the next commit covers them", error=str(exc)
            )

    def _update_lag(self) -> None:
        lag = 0
        try:
            for tp in self._consumer.assignment():
                end = self._consumer.highwater(tp)
                if end is not None:
                    lag += max(0, end - self._consumer.position(tp))
        except KafkaError:  # only a metric: never worth failing a batch over
            return
        metrics.CONSUMER_LAG.set(lag)

    # ConsumerRebalanceListener. kafka-python (>= 3) calls these on its network thread from
    # inside poll(): they must not call a blocking consumer API (commit, position, poll), which
    # would raise there; pause, seek and commit_async only change state or enqueue.
    def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        """Store what was consumed from the revoked partitions and commit it before the new
        owner starts; when PostgreSQL refuses, drop it: the new owner re-reads it."""
        if self._retrying:
            self._rewind(revoked)
            self._revoked |= set(revoked)
            return
        if self._batch.is_empty():
            return
        started = time.monotonic()
        try:
            labelled = self._labeller.label(self._batch.posts)
            stored = self._write(labelled)
            self._dlq.flush()
        except (StoreUnavailable, StoreRejected, DeadLetterUnavailable) as exc:
            log.warning("revoked before storing; the new owner re-reads", error=str(exc))
            self._rewind(revoked)
            self._batch.drop_partitions(set(revoked))
            return
        self._consumer.commit_async(_offsets(self._batch.next_offsets), callback=_commit_done)
        log.info("stored at revocation", posts=len(labelled), new_rows=stored)
        self._finished(labelled, stored, started)

    def on_partitions_lost(self, lost: Sequence[TopicPartition]) -> None:
        """We were thrown out (e.g. a stall past the session timeout): a commit would be refused
        and the new owners re-read these partitions, so forget what came from them."""
        log.warning("partitions lost", partitions=[f"{tp.topic}-{tp.partition}" for tp in lost])
        self._rewind(lost)
        if self._retrying:
            self._revoked |= set(lost)
        else:
            self._batch.drop_partitions(set(lost))

    def _rewind(self, partitions: Sequence[TopicPartition]) -> None:
        """Seek back to the first post of the open batch from each partition, before the batch
        forgets them: kafka-python keeps the position of a partition that a rebalance hands
        straight back, and reading on from there would skip the forgotten posts."""
        owned = set(self._consumer.assignment())
        for tp in partitions:
            first = self._batch.first_offsets.get(tp)
            if first is not None and tp in owned:
                self._consumer.seek(tp, first)

    def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        if self._retrying and assigned:  # waiting out an outage: take nothing new meanwhile
            self._consumer.pause(*assigned)
        log.info(
            "partitions assigned", partitions=[f"{tp.topic}-{tp.partition}" for tp in assigned]
        )


def _offsets(next_offsets: dict[TopicPartition, int]) -> dict[TopicPartition, OffsetAndMetadata]:
    return {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}


def _commit_done(offsets: dict[TopicPartition, OffsetAndMetadata], result: object) -> None:
    if isinstance(result, Exception):
        log.warning("commit at revocation failed; the new owner re-reads", error=str(result))
