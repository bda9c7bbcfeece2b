"""The end of the flush chain: count the batch, empty it, then the tail of its caller."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog
from kafka.errors import KafkaError

from worker import metrics
from worker.core.consumer import Consumer
from worker.core.flushing import Flushing, Step
from worker.store import minute_bucket

log = structlog.get_logger(__name__)


class LiveCounts(Protocol):
    """`RedisSide`: per-minute counters the dashboard shows before the rollup catches up."""

    def count_live(self, minutes_and_labels: Sequence[tuple[datetime, str]]) -> None: ...


class Watch(Protocol):
    """`StallWatch`: told of progress; `check` raises `ConsumerStalled`."""

    def progressed(self) -> None: ...
    def check(self) -> None: ...


class Finish:
    """Logs where the batch's time went (DEBUG: what tuning the batch wait needs to see),
    counts it (metrics, live counters) and empties the open batch."""

    def __init__(self, live: LiveCounts, next_step: Step) -> None:
        self._live = live
        self._next = next_step

    def submit(self, batch: Flushing) -> None:
        done, opened = batch.done_at, batch.pending.opened_at or batch.started
        log.debug(
            "batch done",
            posts=len(batch.labelled),
            waited_ms=_ms(batch.started - opened),
            label_ms=_ms(done["label"] - batch.started),
            store_ms=_ms(done["store"] - done["label"]),
            commit_ms=_ms(done["commit"] - done["store"]),
        )
        now = minute_bucket(datetime.now(UTC))
        self._live.count_live([(now, item.prediction.label) for item in batch.labelled])
        metrics.POSTS_STORED.inc(batch.stored)
        metrics.BATCH_SIZE.observe(len(batch.labelled))
        metrics.BATCH_SECONDS.observe(batch.clock() - batch.started)
        batch.pending.reset()
        self._next.submit(batch)


def _ms(seconds: float) -> int:
    return round(1000 * seconds)


class ReportProgress:
    """The loop's tail: the lag metric, and progress for the stall watch (an outage waited out
    inside the flush is not a stall). Calls `position`, so never inside a rebalance callback."""

    def __init__(self, consumer: Consumer, watch: Watch) -> None:
        self._consumer = consumer
        self._watch = watch

    def submit(self, batch: Flushing) -> None:
        self._update_lag()
        self._watch.progressed()

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


class NoteRevocation:
    """The revocation's tail: say that the batch was stored before the partitions moved on."""

    def submit(self, batch: Flushing) -> None:
        log.info("stored at revocation", posts=len(batch.labelled), new_rows=batch.stored)
