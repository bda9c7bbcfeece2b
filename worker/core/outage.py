"""What a flush does while PostgreSQL is down: wait it out (the loop) or give up (revocation)."""

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

import structlog
from kafka.structs import TopicPartition

from worker import metrics
from worker.core.consumer import Consumer
from worker.core.flushing import Flushing
from worker.store import LabelledPost, StoreUnavailable

log = structlog.get_logger(__name__)
MAX_BACKOFF_S = 5.0
Write = Callable[[Sequence[LabelledPost]], int]


class GaveUpStoring(RuntimeError):
    """Asked to stop while PostgreSQL stayed down: nothing was committed for the open batch."""


class OutagePolicy(Protocol):
    def store(self, batch: Flushing, write: Write) -> int: ...


class GiveUp:
    """One attempt; `StoreUnavailable` propagates and the caller rewinds what it cannot store."""

    def store(self, batch: Flushing, write: Write) -> int:
        return write(batch.labelled)


class Retrying:
    """Shared by `WaitOut` and the rebalance handler: whether a write is being retried inside
    a paused poll, and which partitions moved away during one."""

    def __init__(self) -> None:
        self.active = False
        self._moved: set[TopicPartition] = set()

    def moved_away(self, partitions: Collection[TopicPartition]) -> None:
        self._moved |= set(partitions)

    def take_moved(self) -> set[TopicPartition]:
        moved, self._moved = self._moved, set()
        return moved


class WaitOut:
    """Retries with backoff, polling meanwhile with every partition paused, so that the group
    keeps us (heartbeats, `max_poll_interval_ms`) and rebalances apply; nothing is committed
    until the write succeeds. Raises `GaveUpStoring` once `stop` has been set for longer than
    `give_up_after_s`. Blocks for as long as the outage lasts."""

    def __init__(
        self,
        consumer: Consumer,
        retrying: Retrying,
        stop: threading.Event,
        give_up_after_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._consumer = consumer
        self._retrying = retrying
        self._stop = stop
        self._give_up_after_s = give_up_after_s
        self._clock = clock

    def store(self, batch: Flushing, write: Write) -> int:
        attempt, stop_seen_at = 0, None
        while True:
            batch.forget(self._retrying.take_moved())
            try:
                stored = write(batch.labelled)
            except StoreUnavailable as exc:
                attempt += 1
                metrics.STORE_RETRIES.inc()
                log.warning("postgres unavailable; retrying", attempt=attempt, error=str(exc))
                stop_seen_at = self._give_up_if_stopping(stop_seen_at, exc)
                self._wait_paused(min(MAX_BACKOFF_S, 0.2 * 2**attempt))
                continue
            self._resume()
            return stored

    def _give_up_if_stopping(self, stop_seen_at: float | None, exc: Exception) -> float | None:
        if not self._stop.is_set():
            return None
        now = self._clock()
        seen_at = now if stop_seen_at is None else stop_seen_at
        if now - seen_at > self._give_up_after_s:
            raise GaveUpStoring("stopping with PostgreSQL down") from exc
        return seen_at

    def _wait_paused(self, seconds: float) -> None:
        self._retrying.active = True
        try:
            self._consumer.pause(*self._consumer.assignment())
            let_through = self._consumer.poll(timeout_ms=int(seconds * 1000))
        finally:
            self._retrying.active = False
        # Partitions assigned during that poll are paused by the rebalance handler; should
        # records still come back, they are not in the batch, so rewind rather than skip them.
        for tp, records in let_through.items():
            if records:
                self._consumer.seek(tp, records[0].offset)

    def _resume(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)
