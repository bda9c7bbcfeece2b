"""The rollup aggregate in SQL, written once: posts counted per time bucket x label (x source).

`counts_sql` builds it over `posts` (one row per post: `count(*)`) or over rollup tiers (rows
that hold counts: `sum(posts)`). The dashboard's trend and total queries, the rebuild of both
tiers from `posts` (seeding test and benchmark data, or repair) and the trend benchmark all
use it, so the rollup and every reading of it group the same way. (The worker keeps the tiers
by upserting increments, worker/store.py; the migrations' share views are frozen history.)

The SQL text is assembled only from the fixed names below; values (ranges, sources) travel as
bind parameters in the callers' WHERE clauses.
"""

from collections.abc import Sequence

GRAINS = ("minute", "hour", "day")
ROLLUP_TIERS = (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour"))
TIER_OF_GRAIN = {grain: table for table, grain in ROLLUP_TIERS}
POSTS = "posts"

Part = tuple[str, str]  # (table, WHERE clause): `posts` or a rollup tier, and which rows


def counts_sql(
    grain: str | None, parts: Sequence[Part], *, by_source: bool = False, ordered: bool = False
) -> str:
    """SELECT [bucket,] [source,] label, posts: the posts of `parts` counted per `grain`
    bucket (None: one count over the whole range) and label (and source with `by_source`).

    Several parts must all be rollup tiers: their rows are added up (UNION ALL), e.g. whole
    hours from the hourly tier and the minutes at the edges from the minute tier.
    """
    if grain is not None and grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
    tables = [table for table, _ in parts]
    if not tables or not set(tables) <= {POSTS, *TIER_OF_GRAIN.values()}:
        raise ValueError(f"count from posts or the rollup tiers, not {tables}")
    keys = (["source"] if by_source else []) + ["label"]
    if len(parts) == 1:
        rows = f"{parts[0][0]} WHERE {parts[0][1]}"
    elif POSTS in tables:
        raise ValueError("posts cannot be added to rollup counts")
    else:
        arms = [f"SELECT bucket, {', '.join(keys)}, posts FROM {t} WHERE {w}" for t, w in parts]
        rows = f"({' UNION ALL '.join(arms)}) AS tiers"
    time, count = (
        ("created_at", "count(*)") if tables == [POSTS] else ("bucket", "sum(posts)::bigint")
    )
    columns = ([f"date_trunc('{grain}', {time}) AS bucket"] if grain else []) + keys
    groups = ", ".join(str(number) for number in range(1, len(columns) + 1))
    order = f" ORDER BY {groups}" if ordered else ""
    return f"SELECT {', '.join(columns)}, {count} AS posts FROM {rows} GROUP BY {groups}{order}"


def rollups_from_posts(where: str = "TRUE") -> list[str]:
    """Statements to run in order, in one transaction, on empty rollup tables: one INSERT per
    tier; `where` picks the posts (the caller binds its values), e.g. `source = :source`."""
    # Buckets in UTC, as the worker keeps them and the dashboard reads them, whatever the
    # session's time zone: in a half-hour zone the hours would otherwise be shifted.
    utc = "SET LOCAL TimeZone = 'UTC'"
    return [utc] + [
        f"INSERT INTO {table} (bucket, source, label, posts) "
        + counts_sql(grain, [(POSTS, where)], by_source=True)
        for table, grain in ROLLUP_TIERS
    ]
