"""Read-only trend queries: from the per-minute rollup when it can answer, else from `posts`.

The rollup holds bucket x source x label, so a range (and a source filter) is answered by
summing at most (minutes x sources x 6) small rows, however many posts there are. Author,
language, keyword and confidence filters need the posts themselves: those queries select by
`created_at` (btree index), author (btree) and keyword (pg_trgm GIN), every value bound.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from dashboard.filters import Filters, posts_where, rollup_where
from schemas.emotions import LABELS

TREND_COLUMNS = ["bucket", "label", "posts"]


def _frame(engine: Engine, sql: str, params: dict[str, object]) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=TREND_COLUMNS)
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame["posts"] = frame["posts"].astype("int64")
    return frame


def trend_counts(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Posts per bucket and label in [since, until): columns bucket (UTC), label, posts."""
    if filters.uses_posts_table:
        where, params = posts_where(filters)
        sql = f"""
            SELECT date_trunc(:grain, created_at) AS bucket, label, count(*) AS posts
            FROM posts WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2
        """
    else:
        sql, params = _rollup_trend_sql(filters)
    return _frame(engine, sql, {**params, "grain": filters.grain})


def _rollup_trend_sql(filters: Filters) -> tuple[str, dict[str, Any]]:
    """Whole hours from the hourly tier (60x fewer rows: 30 days at 10M posts in ~15 ms instead
    of ~500 ms, benchmarks/results/trend_query.json), the partial hours at the edges of the
    range from the minute rollup, so the sums stay exact."""
    where, params = rollup_where(filters)
    first_hour = _ceil_hour(filters.since)
    last_hour = filters.until.replace(minute=0, second=0, microsecond=0)
    if filters.grain == "minute" or first_hour >= last_hour:
        inner = f"SELECT bucket, label, posts FROM emotion_rollup WHERE {where}"
    else:
        hours, hour_params = rollup_where(filters, first_hour, last_hour, prefix="hour_")
        params = {**params, **hour_params}
        edges = f"{where} AND (bucket < :hour_since OR bucket >= :hour_until)"
        inner = (
            f"SELECT bucket, label, posts FROM emotion_rollup_hourly WHERE {hours} "
            f"UNION ALL SELECT bucket, label, posts FROM emotion_rollup WHERE {edges}"
        )
    sql = f"""
        SELECT date_trunc(:grain, bucket) AS bucket, label, sum(posts)::bigint AS posts
        FROM ({inner}) AS tiers GROUP BY 1, 2 ORDER BY 1, 2
    """
    return sql, params


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def label_totals(engine: Engine, filters: Filters) -> dict[str, int]:
    """Posts per label in the range (every label present, zeros included)."""
    if filters.uses_posts_table:
        where, params = posts_where(filters)
        sql = f"SELECT label, count(*) FROM posts WHERE {where} GROUP BY 1"
    else:
        where, params = rollup_where(filters)
        sql = f"SELECT label, sum(posts)::bigint FROM emotion_rollup WHERE {where} GROUP BY 1"
    with engine.connect() as connection:
        found = {str(label): int(n) for label, n in connection.execute(text(sql), params)}
    return {label: found.get(label, 0) for label in LABELS}


def latest_rollup_minute(engine: Engine) -> datetime | None:
    """The newest rollup bucket (None: the database holds no labelled post at all).

    `max(bucket)` reads one end of the primary-key index, whatever the table's size.
    """
    with engine.connect() as connection:
        latest = connection.execute(text("SELECT max(bucket) FROM emotion_rollup")).scalar()
    return latest if isinstance(latest, datetime) else None


def source_options(engine: Engine) -> list[str]:
    """Every source ever stored (the sidebar's choices).

    A loose index scan over posts (source, created_at): one index probe per distinct source,
    so it stays a few milliseconds where DISTINCT over the rollup would read every row.
    """
    sql = """
        WITH RECURSIVE seen AS (
            (SELECT source FROM posts ORDER BY source LIMIT 1)
            UNION ALL
            SELECT (SELECT p.source FROM posts AS p WHERE p.source > seen.source
                    ORDER BY p.source LIMIT 1)
            FROM seen WHERE seen.source IS NOT NULL
        )
        SELECT source FROM seen WHERE source IS NOT NULL
    """
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(text(sql))]


def lang_options(engine: Engine, sample: int = 5000) -> list[str]:
    """Languages of the newest posts: a scan of the whole table would not stay fast."""
    sql = """
        SELECT DISTINCT lang FROM (
            SELECT lang FROM posts ORDER BY created_at DESC LIMIT :sample
        ) AS newest WHERE lang IS NOT NULL ORDER BY 1
    """
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(text(sql), {"sample": sample})]


def posts_per_minute(engine: Engine, now: datetime, minutes: int = 5) -> float:
    """Posts per minute over the last `minutes` whole minutes, from the rollup."""
    sql = """
        SELECT coalesce(sum(posts), 0) FROM emotion_rollup
        WHERE bucket >= :since AND bucket < :until
    """
    until = now.replace(second=0, microsecond=0)
    params = {"since": until - timedelta(minutes=minutes), "until": until}
    with engine.connect() as connection:
        return float(connection.execute(text(sql), params).scalar_one()) / minutes
