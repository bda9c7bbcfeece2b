"""Says when stored posts were skipped as already there, without a line per batch."""

import time
from collections.abc import Callable

import structlog

from worker import metrics

log = structlog.get_logger(__name__)
REPORT_EVERY_S = 60.0


class DuplicateReport:
    """Counts posts whose id was already stored (a replayed file, a re-delivery after a crash)
    and logs them at WARNING: the first at once, then at most one line a minute with the count
    since the last line, so a user replaying a file sees it and a long replay does not flood."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._unreported = 0
        self._last_report: float | None = None

    def skipped(self, posts: int) -> None:
        if posts <= 0:
            return
        metrics.POSTS_DUPLICATE.inc(posts)
        self._unreported += posts
        now = self._clock()
        if self._last_report is None or now - self._last_report >= REPORT_EVERY_S:
            log.warning(
                "posts skipped: already stored under the same id",
                posts=self._unreported,
                hint="a replay or a re-delivery; moodwatch_posts_duplicate_total counts them",
            )
            self._unreported, self._last_report = 0, now
