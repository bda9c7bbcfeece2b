"""Says when posts were skipped instead of stored, without a line per batch."""

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from worker import metrics

log = structlog.get_logger(__name__)
REPORT_EVERY_S = 60.0


@dataclass(frozen=True)
class SkipReason:
    counter: Counter
    message: str
    hint: str


ALREADY_STORED = SkipReason(
    metrics.POSTS_DUPLICATE,
    "posts skipped: already stored under the same id",
    "a replay or a re-delivery; moodwatch_posts_duplicate_total counts them",
)
PAST_RETENTION = SkipReason(
    metrics.POSTS_EXPIRED,
    "posts skipped: created before the retention horizon",
    "older than MOODWATCH_RETENTION_DAYS, so their day is (or is about to be) dropped; "
    "moodwatch_posts_expired_total counts them",
)


class SkipReport:
    """Counts posts skipped for one reason (a replayed file, posts older than the retention)
    and logs them at WARNING: the first at once, then at most one line a minute with the count
    since the last line, so a user replaying a file sees it and a long replay does not flood."""

    def __init__(self, reason: SkipReason, clock: Callable[[], float] = time.monotonic) -> None:
        self._reason = reason
        self._clock = clock
        self._unreported = 0
        self._last_report: float | None = None

    def skipped(self, posts: int) -> None:
        if posts <= 0:
            return
        self._reason.counter.inc(posts)
        self._unreported += posts
        now = self._clock()
        if self._last_report is None or now - self._last_report >= REPORT_EVERY_S:
            log.warning(self._reason.message, posts=self._unreported, hint=self._reason.hint)
            self._unreported, self._last_report = 0, now
