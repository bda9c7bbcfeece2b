"""The last step that talks to Kafka: commit what every earlier step has passed."""

from collections.abc import Callable

import structlog
from kafka.errors import CommitFailedError, KafkaError

from worker.core.consumer import Consumer, Offsets, to_commit
from worker.core.flushing import Flushing, Step

log = structlog.get_logger(__name__)
CommitMode = Callable[[Consumer, Offsets], None]


def commit_sync(consumer: Consumer, offsets: Offsets) -> None:
    """Commit and wait; a failure moves on, because the rows are already stored.

    The next commit of the same partitions covers these offsets; a crash before it only
    re-delivers posts that the idempotent insert skips.
    """
    try:
        consumer.commit(offsets)
    except CommitFailedError as exc:
        # We left the group: the rows are stored, the new owner re-reads them harmlessly.
        log.warning("commit refused after a rebalance; rows are stored", error=str(exc))
    except KafkaError as exc:  # e.g. the broker is restarting: KafkaTimeoutError
        log.warning("commit failed; rows are stored, the next commit covers them", error=str(exc))


def commit_async(consumer: Consumer, offsets: Offsets) -> None:
    """Enqueue the commit: inside kafka-python's rebalance callback a blocking commit raises."""
    consumer.commit_async(offsets, callback=_commit_done)


def _commit_done(offsets: Offsets, result: object) -> None:
    if isinstance(result, Exception):
        log.warning("commit at revocation failed; the new owner re-reads", error=str(result))


class Commit:
    """Commits the batch's next offsets (dead-lettered records included) with `mode`."""

    def __init__(self, consumer: Consumer, mode: CommitMode, next_step: Step) -> None:
        self._consumer = consumer
        self._mode = mode
        self._next = next_step

    def submit(self, batch: Flushing) -> None:
        if batch.pending.next_offsets:
            self._mode(self._consumer, to_commit(batch.pending.next_offsets))
        batch.mark("commit")
        self._next.submit(batch)
