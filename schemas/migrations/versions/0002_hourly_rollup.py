"""an hourly rollup tier beside the per-minute one, and share views that read it

A 30-day trend from the minute rollup reads ~1M rows at 10M posts (p95 ~500 ms, see
benchmarks/results/trend_query.json); the hourly tier reads 60x fewer. The worker keeps both
tiers in the same transaction as the rows.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _share_view(name: str, grain: str) -> str:
    return f"""
        CREATE OR REPLACE VIEW {name} AS
        SELECT date_trunc('{grain}', bucket) AS bucket,
               label,
               sum(posts)::bigint AS posts,
               sum(posts)::double precision
                 / sum(sum(posts)) OVER (PARTITION BY date_trunc('{grain}', bucket)) AS share
        FROM emotion_rollup_hourly
        GROUP BY 1, 2
    """


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE emotion_rollup_hourly (
            bucket timestamptz NOT NULL,
            source varchar(64) NOT NULL,
            label varchar(16) NOT NULL,
            posts bigint NOT NULL,
            PRIMARY KEY (bucket, source, label)
        )
        """
    )
    op.execute(
        """
        INSERT INTO emotion_rollup_hourly (bucket, source, label, posts)
        SELECT date_trunc('hour', bucket), source, label, sum(posts)
        FROM emotion_rollup GROUP BY 1, 2, 3
        """
    )
    op.execute(_share_view("emotion_share_hourly", "hour"))
    op.execute(_share_view("emotion_share_daily", "day"))
    # The read-only role reads new tables through 0001's default privileges.


def downgrade() -> None:
    for name, grain in (("emotion_share_hourly", "hour"), ("emotion_share_daily", "day")):
        op.execute(_share_view(name, grain).replace("emotion_rollup_hourly", "emotion_rollup"))
    op.execute("DROP TABLE emotion_rollup_hourly")
