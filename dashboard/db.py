"""The dashboard's one database engine: the read-only role, UTC, bounded waits."""

from sqlalchemy import Engine, create_engine

from schemas.settings import DatabaseSettings

CONNECT_TIMEOUT_S = 3  # a down database should show its message fast, not hang the page
STATEMENT_TIMEOUT_MS = 15_000  # no query of the page may hold a connection longer

# Server settings for every session: date_trunc buckets in UTC (the page labels times as UTC);
# read-only transactions on top of the role's grants (belt and braces); and room to hash-
# aggregate a week of minute rollup rows in memory: the planner overestimates the groups of
# date_trunc(...) and, at the 4 MB default, sorts them on disk instead (3x slower at 10M posts).
SESSION_OPTIONS = (
    "-c timezone=UTC"
    f" -c statement_timeout={STATEMENT_TIMEOUT_MS}"
    " -c default_transaction_read_only=on"
    " -c work_mem=32MB"
)


def readonly_engine(db: DatabaseSettings) -> Engine:
    """An engine that connects as the read-only role only; the app role is never used here."""
    return create_engine(
        db.url(readonly=True),
        pool_pre_ping=True,  # the server may restart between refreshes
        pool_size=4,
        max_overflow=2,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": SESSION_OPTIONS,
            "application_name": "moodwatch-dashboard",
        },
    )
