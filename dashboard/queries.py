"""Read-only trend queries: from the rollup tiers when they can answer, else from `posts`.

The rollup holds bucket x source x label, so a range (and a source filter) is answered by
summing at most (hours + edge minutes) x sources x 6 small rows, however many posts there are;
the SQL that counts is `schemas.rollups.counts_sql`, the one the rollup is rebuilt with. Author,
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
from schemas.rollups import POSTS, TIER_OF_GRAIN, Part, counts_sql

TREND_COLUMNS = ["bucket", "label", "posts"]
MINUTES, HOURS = TIER_OF_GRAIN["minute"], TIER_OF_GRAIN["hour"]


def trend_counts(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Posts per bucket and label in [since, until): columns bucket (UTC), label, posts."""
    parts, params = counted_parts(filters, filters.grain)
    sql = counts_sql(filters.grain, parts, ordered=True)
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=TREND_COLUMNS)
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame["posts"] = frame["posts"].astype("int64")
    return frame


def label_totals(engine: Engine, filters: Filters) -> dict[str, int]:
    """Posts per label in the range (every label present, zeros included)."""
    parts, params = counted_parts(filters, None)
    with engine.connect() as connection:
        rows = connection.execute(text(counts_sql(None, parts)), params)
        found = {str(label): int(n) for label, n in rows}
    return {label: found.get(label, 0) for label in LABELS}


def counted_parts(filters: Filters, grain: str | None) -> tuple[list[Part], dict[str, Any]]:
    """Where the counts of `filters` come from, for `counts_sql` at `grain` (None: totals).

    `posts` when a filter needs the posts themselves. Else the rollup: whole hours from the
    hourly tier (60x fewer rows: 30 days at 10M posts in ~15 ms instead of ~500 ms,
    benchmarks/results/trend_query.json) and the partial hours at the edges of the range from
    the minute tier, so the sums stay exact; minute buckets only from the minute tier.
    """
    if filters.uses_posts_table:
        where, params = posts_where(filters)
        return [(POSTS, where)], params
    where, params = rollup_where(filters)
    first_hour = _ceil_hour(filters.since)
    last_hour = filters.until.replace(minute=0, second=0, microsecond=0)
    if grain == "minute" or first_hour >= last_hour:
        return [(MINUTES, where)], params
    hours, hour_params = rollup_where(filters, first_hour, last_hour, prefix="hour_")
    edges = f"{where} AND (bucket < :hour_since OR bucket >= :hour_until)"
    return [(HOURS, hours), (MINUTES, edges)], {**params, **hour_params}


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def latest_rollup_minute(engine: Engine) -> datetime | None:
    """The newest rollup bucket (None: the database holds no labelled post at all).

    `max(bucket)` reads one end of the primary-key index, whatever the table's size.
    """
    with engine.connect() as connection:
        latest = connection.execute(text(f"SELECT max(bucket) FROM {MINUTES}")).scalar()
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
    sql = counts_sql(None, [(MINUTES, "bucket >= :since AND bucket < :until")])
    until = now.replace(second=0, microsecond=0)
    params = {"since": until - timedelta(minutes=minutes), "until": until}
    with engine.connect() as connection:
        per_label = connection.execute(text(sql), params).all()
    return sum(int(n) for _, n in per_label) / minutes
