"""the rollup tiers keep each emotion's summed probability per bucket (expected shares)

Each rollup row (bucket, source, label) gains `probability_sum`: the sum, over every post of
that bucket and source, of the post's probability of `label` (`p_<label>`), i.e. the expected
number of posts with that emotion. Divided by the bucket's posts it is the expected share (mean
probability): how much of each emotion there is, each post's doubt kept, where the count of
labels (`posts`) rounds every post to its likeliest emotion. A row may now hold `posts = 0`: an
emotion never the label still has its expected mass.

The share views gain `expected_share` beside `share`. Existing rows are filled in from `posts`
(which at this revision holds every post the rollup counts), in one transaction.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")  # frozen at this revision
TIERS = (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour"))


def _share_view(name: str, grain: str, expected: bool) -> str:
    per_bucket = f"sum(sum(posts)) OVER (PARTITION BY date_trunc('{grain}', bucket))"
    expected_share = (
        f",\n sum(probability_sum) / {per_bucket} AS expected_share" if expected else ""
    )
    return f"""
        CREATE OR REPLACE VIEW {name} AS
        SELECT date_trunc('{grain}', bucket) AS bucket,
               label,
               sum(posts)::bigint AS posts,
               sum(posts)::double precision / {per_bucket} AS share{expected_share}
        FROM emotion_rollup_hourly
        GROUP BY 1, 2
    """


def _backfill(table: str, grain: str) -> str:
    """Every (bucket, source, label) of the posts with its probability sum; a row the tier
    already has keeps its count and gets its sum, a label never chosen gets a row of its own."""
    values = ", ".join(f"('{label}', p_{label})" for label in LABELS)
    return f"""
        INSERT INTO {table} (bucket, source, label, posts, probability_sum)
        SELECT date_trunc('{grain}', created_at), source, emotion.label,
               count(*) FILTER (WHERE posts.label = emotion.label), sum(emotion.p)
        FROM posts CROSS JOIN LATERAL (VALUES {values}) AS emotion (label, p)
        GROUP BY 1, 2, 3
        ON CONFLICT (bucket, source, label)
        DO UPDATE SET probability_sum = EXCLUDED.probability_sum
    """


def upgrade() -> None:
    op.execute("SET LOCAL TimeZone = 'UTC'")  # buckets in UTC, as the worker keeps them
    for table, grain in TIERS:
        op.add_column(
            table, sa.Column("probability_sum", sa.Float, nullable=False, server_default="0")
        )
        op.execute(_backfill(table, grain))
    for name, grain in (("emotion_share_hourly", "hour"), ("emotion_share_daily", "day")):
        op.execute(_share_view(name, grain, expected=True))


def downgrade() -> None:
    for name, grain in (("emotion_share_hourly", "hour"), ("emotion_share_daily", "day")):
        op.execute(f"DROP VIEW {name}")  # a view cannot drop a column by being replaced
        op.execute(_share_view(name, grain, expected=False))
    for table, _ in TIERS:
        op.execute(f"DELETE FROM {table} WHERE posts = 0")  # rows that only held a sum
        op.drop_column(table, "probability_sum")
