"""What the core does when partitions move: store and commit what it can, rewind the rest.

kafka-python (>= 3) calls these on its network thread from inside `poll` (and from `close`):
they must not call a blocking consumer API (commit, position, poll), which would raise there,
and an exception they raise comes out of `poll` as a `KafkaError`.
"""

from collections.abc import Callable, Collection

import structlog
from kafka.structs import TopicPartition

from worker.batching import PendingBatch
from worker.core.consumer import Consumer
from worker.core.outage import Retrying
from worker.dead_letters import DeadLetterUnavailable, DlqLimitExceeded
from worker.store import StoreUnavailable

log = structlog.get_logger(__name__)


class Rebalance:
    """Revoked: the open batch goes down the revocation chain (`flush`: store, commit_async);
    when PostgreSQL or the dead-letter topic refuses, the revoked partitions are rewound and
    forgotten: the new owner re-reads them. While a write is being retried (`retrying`), the
    revoked or lost partitions are only rewound and handed to the retry to forget. A dead-letter
    cap reached here is kept in `failure` for the loop to raise once `poll` returns."""

    def __init__(
        self,
        consumer: Consumer,
        pending: PendingBatch,
        retrying: Retrying,
        flush: Callable[[], None],
    ) -> None:
        self._consumer = consumer
        self._pending = pending
        self._retrying = retrying
        self._flush = flush
        self.failure: DlqLimitExceeded | None = None
        self.halted = False

    def revoked(self, partitions: Collection[TopicPartition]) -> None:
        if self._retrying.active:
            self._rewind(partitions)
            self._retrying.moved_away(partitions)
            return
        if self.halted:  # the loop ended on an error: `close` commits nothing of the batch
            return
        try:
            self._flush()
        except (StoreUnavailable, DeadLetterUnavailable) as exc:
            log.warning("revoked before storing; the new owner re-reads", error=str(exc))
            self._give_back(partitions)
        except DlqLimitExceeded as exc:
            self._give_back(partitions)
            self.failure = exc

    def lost(self, partitions: Collection[TopicPartition]) -> None:
        """We were thrown out (e.g. a stall past the session timeout): a commit would be refused
        and the new owners re-read these partitions, so forget what came from them."""
        log.warning("partitions lost", partitions=_names(partitions))
        if self._retrying.active:
            self._rewind(partitions)
            self._retrying.moved_away(partitions)
        else:
            self._give_back(partitions)

    def assigned(self, partitions: Collection[TopicPartition]) -> None:
        if self._retrying.active and partitions:  # waiting out an outage: take nothing new
            self._consumer.pause(*partitions)
        log.info("partitions assigned", partitions=_names(partitions))

    def _give_back(self, partitions: Collection[TopicPartition]) -> None:
        self._rewind(partitions)
        self._pending.drop_partitions(partitions)

    def _rewind(self, partitions: Collection[TopicPartition]) -> None:
        """Seek back to the first post of the open batch from each partition, before the batch
        forgets them: kafka-python keeps the position of a partition that a rebalance hands
        straight back, and reading on from there would skip the forgotten posts."""
        owned = set(self._consumer.assignment())
        for tp in partitions:
            first = self._pending.first_offsets.get(tp)
            if first is not None and tp in owned:
                self._consumer.seek(tp, first)


def _names(partitions: Collection[TopicPartition]) -> list[str]:
    return [f"{tp.topic}-{tp.partition}" for tp in partitions]
