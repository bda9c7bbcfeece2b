"""The first step: a consumed record joins the open batch, as a post or as an offset only."""

from worker import metrics
from worker.batching import PendingBatch
from worker.core.consumer import Record
from worker.core.dead_letter_path import DeadLetterPath
from worker.decode import Coordinates, InvalidMessage, decode


class Intake:
    """Decodes each polled record. Its offset always joins the batch, so that the batch's
    commit covers it; a valid post joins the batch, an invalid one goes down the dead-letter
    path with its reason. Called by the loop; raises `DlqLimitExceeded` from the cap."""

    def __init__(self, pending: PendingBatch, dead_letters: DeadLetterPath) -> None:
        self._pending = pending
        self._dead_letters = dead_letters

    def submit(self, record: Record) -> None:
        metrics.POSTS_CONSUMED.inc()
        where = Coordinates(record.topic, record.partition, record.offset)
        self._pending.consumed(record.topic, record.partition, record.offset)
        try:
            post = decode(record.key, record.value, record.timestamp, where)
        except InvalidMessage as bad:
            self._dead_letters.send(record.key, record.value, where, bad.reason)
            return
        self._pending.add(post)
        self._dead_letters.passed()
