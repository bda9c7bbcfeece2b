"""The side path: what cannot be stored goes to the dead-letter topic, under a cap on the rate."""

from typing import Protocol

from worker import metrics
from worker.dead_letters import DlqLimit
from worker.decode import Coordinates


class DeadLetterSink(Protocol):
    """`DeadLetterQueue`: `send` may return before delivery; `flush` blocks until every sent
    letter is acknowledged, or raises `DeadLetterUnavailable`."""

    def send(
        self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str
    ) -> None: ...

    def flush(self) -> None: ...


class DeadLetterPath:
    """Counts every record against the cap: `passed` for a good one, `send` for a bad one.

    Both raise `DlqLimitExceeded` once too many of the recent records were bad; the caller lets
    it end the worker, with nothing of the open batch committed.
    """

    def __init__(self, sink: DeadLetterSink, limit: DlqLimit) -> None:
        self._sink = sink
        self._limit = limit

    def passed(self) -> None:
        self._limit.record(invalid=False)

    def send(self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str) -> None:
        self._sink.send(key, value, where, reason)
        metrics.DEAD_LETTERS.inc()
        self._limit.record(invalid=True)

    def flush(self) -> None:
        """Block until the letters are acknowledged: before the offsets that carry them are
        committed."""
        self._sink.flush()
