"""The consume loop: poll into the open batch, flush it when due, and once more at the end."""

import threading
from collections.abc import Callable

from worker.batching import PendingBatch
from worker.core.consumer import Consumer
from worker.core.finish import Watch
from worker.core.intake import Intake
from worker.core.rebalance import Rebalance

IDLE_POLL_MS = 500


class Loop:
    """Runs on the one thread that owns the consumer; `run` returns once `stop` is set and the
    open batch is flushed. Raises what ends the worker: `DlqLimitExceeded`, `GaveUpStoring`,
    `DeadLetterUnavailable`, `ConsumerStalled`; after any of them a revocation (the consumer's
    `close`) commits nothing more."""

    def __init__(
        self,
        consumer: Consumer,
        pending: PendingBatch,
        intake: Intake,
        flush: Callable[[], None],
        rebalance: Rebalance,
        watch: Watch,
        stop: threading.Event,
    ) -> None:
        self._consumer = consumer
        self._pending = pending
        self._intake = intake
        self._flush = flush
        self._rebalance = rebalance
        self._watch = watch
        self._stop = stop

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._poll_once():
                    self._watch.progressed()
                if self._pending.is_due():
                    self._flush()
                self._watch.check()
            self._flush()
        except BaseException:
            self._rebalance.halted = True
            raise

    def _poll_once(self) -> bool:
        """Take one poll's records into the batch; say whether any came."""
        room = max(1, self._pending.max_size - len(self._pending.posts))
        polled = self._consumer.poll(timeout_ms=self._timeout_ms(), max_records=room)
        if self._rebalance.failure is not None:
            raise self._rebalance.failure
        records = [record for batch in polled.values() for record in batch]
        for record in records:
            self._intake.submit(record)
        return bool(records)

    def _timeout_ms(self) -> int:
        if self._pending.is_empty():  # poll returns on the first records, so waiting costs nothing
            return IDLE_POLL_MS  # and a group (re)join gets time to finish inside it
        return max(1, min(int(self._pending.seconds_left() * 1000), IDLE_POLL_MS))
