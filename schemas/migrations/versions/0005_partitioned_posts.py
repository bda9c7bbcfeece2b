"""posts partitioned by time, with an id ledger that keeps idempotency across partitions

`posts` becomes a table partitioned by RANGE (created_at): one partition per UTC day
(`posts_pYYYYMMDD`) and a DEFAULT partition (`posts_default`) that takes any row whose day has
no partition yet, so no insert ever fails for want of one (`moodwatch maintain` moves such rows
into their day's partition). A primary key of a partitioned table must hold the partition key,
so `post_id` alone can no longer be unique in `posts`: the unpartitioned `post_ids` ledger
(one small row per id) carries that rule, and the worker inserts a post only when its id was
new to the ledger, in the same transaction (worker/store.py).

Two rollups join the existing tiers: `version_rollup` (posts per hour and model version: which
bundle labelled how much of a range) and `shadow_rollup` (per hour, source, candidate version:
the live label x the candidate's label, the confusion counts of a bundle in shadow).

Every row, id and rollup count is carried over; the downgrade folds the partitions back into
one table. Both run in the migration's transaction (minutes per ten million rows).

Revision ID: 0005
Revises: 0004
"""

from datetime import UTC, date, datetime, timedelta

from alembic import op
from sqlalchemy import text

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (name, definition) of the posts indexes at 0004, frozen here
INDEXES = (
    ("posts_created_at", "(created_at)"),
    ("posts_source_created_at", "(source, created_at)"),
    ("posts_author", "(author)"),
    ("posts_uncertainty", "(uncertainty)"),
    ("posts_text_trgm", "USING gin (text gin_trgm_ops)"),
)
DAYS_AHEAD = 3  # partitions made for today and the next days; maintain keeps that up


def _days_present(table: str) -> list[date]:
    sql = f"SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM {table} ORDER BY 1"
    return [row[0] for row in op.get_bind().execute(text(sql))]


def _create_day_partition(day: date) -> None:
    low = datetime(day.year, day.month, day.day, tzinfo=UTC)
    high = low + timedelta(days=1)
    op.execute(
        f"CREATE TABLE IF NOT EXISTS posts_p{day:%Y%m%d} PARTITION OF posts "
        f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
    )


def _rename_indexes(old_prefix: str, new_prefix: str) -> None:
    for name in ("pkey", *(index.removeprefix("posts_") for index, _ in INDEXES)):
        op.execute(f"ALTER INDEX {old_prefix}_{name} RENAME TO {new_prefix}_{name}")


def _create_indexes(table: str) -> None:
    for name, definition in INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} {definition}")


def upgrade() -> None:
    op.execute("SET LOCAL TimeZone = 'UTC'")
    op.execute("ALTER TABLE posts RENAME TO posts_unpartitioned")
    _rename_indexes("posts", "posts_unpartitioned")
    # LIKE copies the columns as they are at 0004 (types, NOT NULL, defaults, the label check)
    op.execute(
        "CREATE TABLE posts (LIKE posts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
        " PRIMARY KEY (post_id, created_at)) PARTITION BY RANGE (created_at)"
    )
    _create_indexes("posts")
    op.execute("CREATE TABLE posts_default PARTITION OF posts DEFAULT")
    today = datetime.now(UTC).date()
    ahead = [today + timedelta(days=n) for n in range(DAYS_AHEAD + 1)]
    for day in sorted({*_days_present("posts_unpartitioned"), *ahead}):
        _create_day_partition(day)
    op.execute("INSERT INTO posts SELECT * FROM posts_unpartitioned")
    op.execute(
        """
        CREATE TABLE post_ids (
            post_id varchar(256) PRIMARY KEY,
            created_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX post_ids_created_at ON post_ids (created_at)")
    op.execute("INSERT INTO post_ids SELECT post_id, created_at FROM posts_unpartitioned")
    op.execute("DROP TABLE posts_unpartitioned")
    _create_version_rollups()


def _create_version_rollups() -> None:
    op.execute(
        """
        CREATE TABLE version_rollup (
            bucket timestamptz NOT NULL,
            model_version varchar(64) NOT NULL,
            posts bigint NOT NULL,
            PRIMARY KEY (bucket, model_version)
        )
        """
    )
    op.execute(
        "INSERT INTO version_rollup (bucket, model_version, posts) "
        "SELECT date_trunc('hour', created_at), model_version, count(*) FROM posts GROUP BY 1, 2"
    )
    op.execute(
        """
        CREATE TABLE shadow_rollup (
            bucket timestamptz NOT NULL,
            source varchar(64) NOT NULL,
            model_version varchar(64) NOT NULL,
            live_label varchar(16) NOT NULL,
            label varchar(16) NOT NULL,
            posts bigint NOT NULL,
            PRIMARY KEY (bucket, source, model_version, live_label, label)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE shadow_rollup")
    op.execute("DROP TABLE version_rollup")
    op.execute("ALTER TABLE posts RENAME TO posts_partitioned")
    _rename_indexes("posts", "posts_partitioned")
    op.execute(
        "CREATE TABLE posts (LIKE posts_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
        " PRIMARY KEY (post_id))"
    )
    op.execute("INSERT INTO posts SELECT * FROM posts_partitioned")
    _create_indexes("posts")
    op.execute("DROP TABLE posts_partitioned")  # and its partitions
    op.execute("DROP TABLE post_ids")
