"""Day partitions of `posts`: made ahead, stray rows moved in, expired ones dropped.

`maintain` is what `moodwatch maintain` runs and what the worker runs at start-up and every
`MOODWATCH_WORKER_MAINTAIN_EVERY_S`; any number of them may run at once (an advisory lock lets
one through, the others skip). Each step is its own short transaction, with a lock timeout so
that a long dashboard query makes the step wait for the next run instead of queueing every
insert behind its lock.

The horizon rule (docs/storage.md): with `MOODWATCH_RETENTION_DAYS=R`, a partition goes once
its whole day is older than R days, and the worker refuses a post older than R days
(`worker.horizon`); the `post_ids` ledger keeps each id one day longer than its row can exist,
so every post that can still be accepted is checked against every post that was.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import structlog
from sqlalchemy import Connection, Engine, text

from worker.horizon import LEDGER_GRACE, Horizon

log = structlog.get_logger(__name__)

DEFAULT_PARTITION = "posts_default"
ADVISORY_KEY = 0x6D6F6F64  # "mood": one maintainer at a time, database-wide
LOCK_TIMEOUT = "5s"


def partition_name(day: date) -> str:
    return f"posts_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class MaintainReport:
    created: list[str] = field(default_factory=list)
    moved_rows: int = 0
    dropped: list[str] = field(default_factory=list)
    ledger_pruned: int = 0
    skipped: bool = False  # another maintainer held the lock


def existing_days(connection: Connection) -> set[date]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'posts'::regclass"
        )
    ).scalars()
    return {
        datetime.strptime(name.removeprefix("posts_p"), "%Y%m%d").date()
        for name in rows
        if name.startswith("posts_p")
    }


def _create_day(connection: Connection, day: date) -> int:
    """The day's partition, with the default partition's rows of that day moved into it (a
    day cannot be attached while the default holds rows of it). Returns the rows moved."""
    name, low = partition_name(day), day_start(day)
    high = low + timedelta(days=1)
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(
        text(f"CREATE TABLE {name} (LIKE posts INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    moved = connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE created_at >= :low "
            f"AND created_at < :high RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        {"low": low, "high": high},
    ).rowcount
    connection.execute(
        text(
            f"ALTER TABLE posts ATTACH PARTITION {name} "
            f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
        )
    )
    return max(moved, 0)


def _stray_days(connection: Connection) -> set[date]:
    """Days with rows in the default partition (posts older or newer than the made days)."""
    sql = f"SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM {DEFAULT_PARTITION}"
    return set(connection.execute(text(sql)).scalars())


def _expired_days(days: set[date], horizon: Horizon) -> list[date]:
    oldest = horizon.oldest_accepted()
    return sorted(day for day in days if day_start(day) + timedelta(days=1) <= oldest)


def maintain(engine: Engine, horizon: Horizon, ahead_days: int) -> MaintainReport:
    """Make today's and the next `ahead_days` partitions and those of stray rows; with a
    retention, drop the expired partitions and prune the ledger past the horizon."""
    report = MaintainReport()
    with engine.connect() as lock:
        if not lock.execute(text(f"SELECT pg_try_advisory_lock({ADVISORY_KEY})")).scalar():
            report.skipped = True
            return report
        try:
            _make_days(engine, horizon, ahead_days, report)
            if horizon.retention_days is not None:
                _expire(engine, horizon, report)
        finally:
            lock.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_KEY})"))
            lock.commit()
    log.info("partitions maintained", **vars(report))
    return report


def _make_days(engine: Engine, horizon: Horizon, ahead_days: int, report: MaintainReport) -> None:
    today = horizon.now().date()
    with engine.connect() as connection:
        have = existing_days(connection)
        stray = _stray_days(connection)
    wanted = {today + timedelta(days=n) for n in range(ahead_days + 1)} | stray
    for day in sorted(wanted - have - set(_expired_days(wanted, horizon))):
        with engine.begin() as connection:
            report.moved_rows += _create_day(connection, day)
        report.created.append(partition_name(day))


def _expire(engine: Engine, horizon: Horizon, report: MaintainReport) -> None:
    with engine.connect() as connection:
        days = existing_days(connection)
    for day in _expired_days(days, horizon):
        with engine.begin() as connection:
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            connection.execute(text(f"DROP TABLE {partition_name(day)}"))
        report.dropped.append(partition_name(day))
    oldest = horizon.oldest_accepted()
    with engine.begin() as connection:
        # rows the worker may have refused later than a partition's drop: none can be older
        connection.execute(
            text(f"DELETE FROM {DEFAULT_PARTITION} WHERE created_at < :oldest"),
            {"oldest": oldest},
        )
        report.ledger_pruned = connection.execute(
            text("DELETE FROM post_ids WHERE created_at < :cutoff"),
            {"cutoff": oldest - LEDGER_GRACE},
        ).rowcount
