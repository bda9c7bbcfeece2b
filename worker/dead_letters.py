"""The dead-letter topic and the cap on its rate that stops a misconfigured worker."""

from collections import deque
from typing import Any

import structlog

from worker.decode import Coordinates

log = structlog.get_logger(__name__)

# The broker refuses records over ~1 MB; a larger original is kept truncated and marked.
MAX_DLQ_VALUE_BYTES = 512 * 1024


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


class DeadLetterQueue:
    """Produces the original bytes, key and reason to the dead-letter topic.

    `send` is asynchronous; `flush` blocks until every sent message is acknowledged and must
    be called before the offsets of dead-lettered messages are committed.
    """

    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer
        self._topic = topic
        self.sent = 0

    def send(self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str) -> None:
        headers = [
            ("reason", reason.encode("utf-8")),
            ("source_topic", where.topic.encode()),
            ("source_partition", str(where.partition).encode()),
            ("source_offset", str(where.offset).encode()),
        ]
        value = value or b""
        if len(value) > MAX_DLQ_VALUE_BYTES:
            headers.append(("truncated_from", str(len(value)).encode()))
            value = value[:MAX_DLQ_VALUE_BYTES]
        self._producer.send(self._topic, key=key, value=value, headers=headers)
        self.sent += 1
        log.warning(
            "dead-lettered",
            reason=reason[:200],
            topic=where.topic,
            partition=where.partition,
            offset=where.offset,
        )

    def flush(self) -> None:
        self._producer.flush()
