"""The horizon: how old a post may be and still be stored (docs/storage.md).

With `MOODWATCH_RETENTION_DAYS=R`, a post created more than R days ago is not stored (its day's
partition is dropped, or about to be), and not counted in the rollups: a replay of a post older
than that adds nothing. The `post_ids` ledger keeps every id `LEDGER_GRACE` longer than the
horizon, so each post the worker can still accept is checked against every id ever accepted.
Without a retention, every post is accepted and the ledger is kept whole.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LEDGER_GRACE = timedelta(days=1)  # also covers a maintainer's clock a day ahead of a worker's
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Horizon:
    retention_days: int | None
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    def oldest_accepted(self) -> datetime:
        if self.retention_days is None:
            return EPOCH
        return self.now() - timedelta(days=self.retention_days)

    def accepts(self, created_at: datetime) -> bool:
        return created_at >= self.oldest_accepted()
