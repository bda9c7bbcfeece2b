"""Pending alerts leave through the outbox: oldest first, in order per (emotion, source).

Each pass takes the pending alerts in id order. An alert waits (exponential backoff between
passes, capped) while its receiver is down, and the later alerts of its (emotion, source) wait
behind it, so a receiver that comes back gets them in order, each once, at most `batch` per
pass: a returning receiver is not flooded, and nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, select, update

from schemas.tables import alerts
from sentinel.delivery import Rejected, Retryable, Sink, payload

log = structlog.get_logger(__name__)

FIRST_BACKOFF_S = 15.0
SENT_COLUMNS = [
    c
    for c in alerts.c
    if c.name
    not in (
        "delivery_state",
        "delivery_attempts",
        "next_attempt_at",
        "delivered_at",
        "delivery_error",
    )
]


@dataclass(frozen=True)
class Pending:
    alert_id: int
    key: tuple[str, str]
    episode_key: str
    attempts: int
    next_attempt_at: datetime | None
    alert: dict[str, Any]


def backoff(attempts: int, cap_s: float) -> timedelta:
    """The wait after the `attempts`-th failed pass: 15 s, 30 s, 60 s ... up to `cap_s`."""
    return timedelta(seconds=min(cap_s, FIRST_BACKOFF_S * 2 ** max(attempts - 1, 0)))


class Outbox:
    def __init__(
        self,
        engine: Engine,
        sink: Sink,
        clock: Callable[[], datetime],
        *,
        max_backoff_s: float = 300.0,
        batch: int = 20,
    ) -> None:
        self._engine = engine
        self._sink = sink
        self._clock = clock
        self._max_backoff_s = max_backoff_s
        self._batch = batch

    def pending(self) -> list[Pending]:
        query = (
            select(*SENT_COLUMNS, alerts.c.delivery_attempts, alerts.c.next_attempt_at)
            .where(alerts.c.delivery_state == "pending")
            .order_by(alerts.c.alert_id)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            Pending(
                alert_id=row["alert_id"],
                key=(row["emotion"], row["source"]),
                episode_key=row["episode_key"],
                attempts=row["delivery_attempts"],
                next_attempt_at=row["next_attempt_at"],
                alert={c.name: row[c.name] for c in SENT_COLUMNS},
            )
            for row in rows
        ]

    def deliver(self) -> int:
        """One pass; returns how many alerts left the outbox (delivered or rejected)."""
        blocked: set[tuple[str, str]] = set()
        delivered = 0
        for item in self.pending():
            if delivered >= self._batch:
                break
            if item.key in blocked:
                continue
            now = self._clock()
            if item.next_attempt_at is not None and item.next_attempt_at > now:
                blocked.add(item.key)  # the ones behind it keep their order
                continue
            if self._send(item, now):
                delivered += 1
            else:
                blocked.add(item.key)
        return delivered

    def _send(self, item: Pending, now: datetime) -> bool:
        try:
            self._sink.send(item.episode_key, payload(item.episode_key, item.alert))
        except Retryable as exc:
            attempts = item.attempts + 1
            self._mark(
                item,
                delivery_attempts=attempts,
                next_attempt_at=now + backoff(attempts, self._max_backoff_s),
                delivery_error=str(exc)[:500],
            )
            log.warning("alert delivery failed; will retry", alert=item.episode_key, error=str(exc))
            return False
        except Rejected as exc:
            self._mark(item, delivery_state="rejected", delivery_error=str(exc)[:500])
            log.error("alert rejected by the receiver", alert=item.episode_key, error=str(exc))
            return True  # not blocking: the receiver will never take it
        self._mark(
            item,
            delivery_state="delivered",
            delivery_attempts=item.attempts + 1,
            delivered_at=self._clock(),
            delivery_error=None,
        )
        log.info("alert delivered", alert=item.episode_key)
        return True

    def _mark(self, item: Pending, **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(alerts).where(alerts.c.alert_id == item.alert_id).values(**values)
            )
