"""`moodwatch sentinel`: evaluate, then deliver, every `interval_s` until SIGTERM/SIGINT.

A database that does not answer is waited out: the pass is logged and tried again at the next
interval; nothing is lost, since every pass looks back at the hours it could not evaluate.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import structlog
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError

from schemas.exit_codes import ExitCode
from schemas.logs import configure_logging
from schemas.settings import SentinelSettings
from sentinel.delivery import WebhookSink
from sentinel.evaluate import Evaluator, Policy
from sentinel.outbox import Outbox
from sentinel.rule import SpikeRule

log = structlog.get_logger(__name__)
# Touched after every pass that reached the database: compose's health check reads its age.
HEARTBEAT = Path(tempfile.gettempdir()) / "moodwatch-sentinel.heartbeat"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rule_of(settings: SentinelSettings) -> SpikeRule:
    return SpikeRule(
        threshold=settings.threshold,
        min_lift=settings.min_lift,
        min_posts=settings.min_posts,
        min_excess=settings.min_excess,
        seasons=settings.seasons_days,
        min_seasons=min(3, settings.seasons_days),
    )


def sentinel_engine(settings: SentinelSettings) -> Engine:
    """The sentinel role only: it reads every table and can write `alerts`, nothing else."""
    return create_engine(
        settings.db.sentinel_url(),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": 5,
            "options": "-c timezone=UTC",
            "application_name": "moodwatch-sentinel",
        },
    )


class Sentinel:
    """The evaluator and the outbox on one engine; `tick` is one pass of both."""

    def __init__(self, settings: SentinelSettings, engine: Engine, clock: Clock = utc_now) -> None:
        policy = Policy(
            close_after=settings.close_after,
            cooldown=timedelta(seconds=settings.cooldown_s),
            deliver=bool(settings.webhooks),
        )
        self.evaluator = Evaluator(engine, rule_of(settings), policy)
        sink = WebhookSink(
            settings.webhooks,
            settings.webhook_secret_header,
            settings.webhook_secret,
            attempts=settings.retry_attempts,
            timeout_s=settings.request_timeout_s,
        )
        self.outbox = Outbox(engine, sink, clock, max_backoff_s=settings.retry_max_backoff_s)
        self._clock = clock
        self._deliver = policy.deliver

    def tick(self) -> tuple[int, int]:
        """(alerts opened, alerts delivered) in one pass."""
        opened = self.evaluator.run(self._clock())
        delivered = self.outbox.deliver() if self._deliver else 0
        return opened, delivered


def run_sentinel(settings: SentinelSettings) -> int:
    """Run until a signal; return the process exit code."""
    configure_logging(settings.runtime)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    engine = sentinel_engine(settings)
    sentinel = Sentinel(settings, engine)
    log.warning(
        "sentinel started",
        interval_s=settings.interval_s,
        webhooks=len(settings.webhooks),
        role=settings.db.sentinel_user,
    )
    while not stop.is_set():
        try:
            sentinel.tick()
            HEARTBEAT.touch()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            log.warning("sentinel pass failed; trying again next interval", error=reason)
        stop.wait(settings.interval_s)
    engine.dispose()
    log.warning("sentinel stopped cleanly")
    return ExitCode.OK
