"""The dead-letter topic and the cap on its rate that stops a misconfigured worker."""

from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog

from worker.decode import Coordinates

# A dead letter's headers: written here, read back by `moodwatch dlq` (worker/dlq_reader.py).
REASON_HEADER = "reason"
TOPIC_HEADER = "source_topic"
PARTITION_HEADER = "source_partition"
OFFSET_HEADER = "source_offset"

log = structlog.get_logger(__name__)

# The broker refuses records over ~1 MB; a larger original is kept truncated and marked.
MAX_DLQ_VALUE_BYTES = 512 * 1024
# Each round waits up to the producer's delivery timeout (2 minutes): a long broker outage.
RESEND_ROUNDS = 5


class DlqLimitExceeded(RuntimeError):
    """Too many messages are invalid: the worker stops instead of draining the topic."""


class DlqLimit:
    """Over the last `window` messages, at most `max_ratio` may be dead-lettered."""

    def __init__(self, max_ratio: float, window: int) -> None:
        self.max_ratio = max_ratio
        self.window = window
        self._recent: deque[bool] = deque(maxlen=window)

    def record(self, invalid: bool) -> None:
        self._recent.append(invalid)
        if len(self._recent) < self.window:
            return
        ratio = sum(self._recent) / len(self._recent)
        if ratio > self.max_ratio:
            raise DlqLimitExceeded(
                f"{ratio:.0%} of the last {self.window} messages were invalid "
                f"(cap {self.max_ratio:.0%}, MOODWATCH_WORKER_DLQ_MAX_RATIO): is the producer "
                "writing the post format (see README, 'Feeding posts')?"
            )


class DeadLetterUnavailable(RuntimeError):
    """Dead letters could not be delivered: the offsets that carry them must not be committed."""


@dataclass(frozen=True)
class _Letter:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


class DeadLetterQueue:
    """Produces the original bytes, key and reason to the dead-letter topic.

    `send` is asynchronous; `flush` blocks until every sent message is acknowledged and must
    be called before the offsets of dead-lettered messages are committed. A send the broker
    did not acknowledge (say, it restarted past the producer's delivery timeout) is sent
    again; one that cannot succeed raises `DeadLetterUnavailable`.
    """

    def __init__(self, producer: Any, topic: str, resend_rounds: int = RESEND_ROUNDS) -> None:
        self._producer = producer
        self._topic = topic
        self._resend_rounds = resend_rounds
        self._in_flight: list[tuple[Any, _Letter]] = []
        self.sent = 0

    def send(self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str) -> None:
        headers = [
            (REASON_HEADER, reason.encode("utf-8")),
            (TOPIC_HEADER, where.topic.encode()),
            (PARTITION_HEADER, str(where.partition).encode()),
            (OFFSET_HEADER, str(where.offset).encode()),
        ]
        value = value or b""
        if len(value) > MAX_DLQ_VALUE_BYTES:
            headers.append(("truncated_from", str(len(value)).encode()))
            value = value[:MAX_DLQ_VALUE_BYTES]
        self._produce(_Letter(key, value, headers))
        self.sent += 1
        log.warning(
            "dead-lettered",
            reason=reason[:200],
            topic=where.topic,
            partition=where.partition,
            offset=where.offset,
        )

    def _produce(self, letter: _Letter) -> None:
        future = self._producer.send(
            self._topic, key=letter.key, value=letter.value, headers=letter.headers
        )
        self._in_flight.append((future, letter))

    def flush(self) -> None:
        if not self._in_flight:  # the usual case: no round trip through the producer's thread
            return
        for _ in range(self._resend_rounds):
            self._producer.flush()
            failed = [(f, letter) for f, letter in self._in_flight if f.failed()]
            self._in_flight = []
            if not failed:
                return
            error = failed[0][0].exception
            if not getattr(error, "retriable", False):
                raise DeadLetterUnavailable(f"dead-letter topic {self._topic}: {error}")
            log.warning(
                "dead letters not acknowledged; resending", count=len(failed), error=str(error)
            )
            for _, letter in failed:
                self._produce(letter)
        raise DeadLetterUnavailable(f"dead-letter topic {self._topic}: not acknowledged")
