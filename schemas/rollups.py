"""The rollup aggregate in SQL, written once: posts counted per time bucket x label (x source),
and, with `expected`, each emotion's summed probability (its expected count, revision 0003).

`counts_sql` builds it over `posts` (one row per post: `count(*)`; with `expected`, one row per
post and emotion) or over rollup tiers (rows that hold counts: `sum(posts)`). The dashboard's
trend and total queries, the rebuild of both tiers from `posts` (seeding test and benchmark
data, or repair) and the trend benchmark all use it, so the rollup and every reading of it
group the same way. (The worker keeps the tiers
by upserting increments, worker/store.py; the migrations' share views are frozen history.)

The SQL text is assembled only from the fixed names below; values (ranges, sources) travel as
bind parameters in the callers' WHERE clauses.
"""

from collections.abc import Sequence

from schemas.emotions import LABELS

GRAINS = ("minute", "hour", "day")
ROLLUP_TIERS = (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour"))
TIER_OF_GRAIN = {grain: table for table, grain in ROLLUP_TIERS}
POSTS = "posts"

Part = tuple[str, str]  # (table, WHERE clause): `posts` or a rollup tier, and which rows
# each post as six rows (emotion.label, emotion.p): its probability of every emotion
EMOTIONS = (
    "CROSS JOIN LATERAL (VALUES "
    + ", ".join(f"('{label}', p_{label})" for label in LABELS)
    + ") AS emotion (label, p)"
)


def counts_sql(
    grain: str | None,
    parts: Sequence[Part],
    *,
    by_source: bool = False,
    ordered: bool = False,
    expected: bool = False,
) -> str:
    """SELECT [bucket,] [source,] label, posts [, probability_sum]: the posts of `parts`
    counted per `grain` bucket (None: one count over the whole range) and label (and source
    with `by_source`); with `expected`, each label's summed probability too, on a row of every
    label (posts 0 where it was never chosen). Without it, only labels with posts.

    Several parts must all be rollup tiers: their rows are added up (UNION ALL), e.g. whole
    hours from the hourly tier and the minutes at the edges from the minute tier.
    """
    if grain is not None and grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
    tables = [table for table, _ in parts]
    if not tables or not set(tables) <= {POSTS, *TIER_OF_GRAIN.values()}:
        raise ValueError(f"count from posts or the rollup tiers, not {tables}")
    keys = (["source"] if by_source else []) + ["label"]
    stored = "posts, probability_sum" if expected else "posts"
    if len(parts) == 1:
        rows = f"{parts[0][0]} WHERE {parts[0][1]}"
    elif POSTS in tables:
        raise ValueError("posts cannot be added to rollup counts")
    else:
        arms = [f"SELECT bucket, {', '.join(keys)}, {stored} FROM {t} WHERE {w}" for t, w in parts]
        rows = f"({' UNION ALL '.join(arms)}) AS tiers"
    time, sums, having = _aggregates(tables == [POSTS], expected)
    if tables == [POSTS] and expected:  # the label of each row is the emotion's, not the post's
        rows = rows.replace(" WHERE ", f" {EMOTIONS} WHERE ", 1)
        keys = [*keys[:-1], "emotion.label"]
    columns = ([f"date_trunc('{grain}', {time}) AS bucket"] if grain else []) + keys
    groups = ", ".join(str(number) for number in range(1, len(columns) + 1))
    order = f" ORDER BY {groups}" if ordered else ""
    select = ", ".join(columns + sums)
    return f"SELECT {select} FROM {rows} GROUP BY {groups}{having}{order}"


def _aggregates(from_posts: bool, expected: bool) -> tuple[str, list[str], str]:
    """(time column, aggregate columns, HAVING clause) of `counts_sql`."""
    if from_posts and expected:
        count = "count(*) FILTER (WHERE posts.label = emotion.label) AS posts"
        return "created_at", [count, "sum(emotion.p) AS probability_sum"], ""
    if from_posts:
        return "created_at", ["count(*) AS posts"], ""
    if expected:
        return (
            "bucket",
            ["sum(posts)::bigint AS posts", "sum(probability_sum) AS probability_sum"],
            "",
        )
    # rows that only hold a probability sum are not counts: left out, as from posts
    return "bucket", ["sum(posts)::bigint AS posts"], " HAVING sum(posts) > 0"


def rollups_from_posts(where: str = "TRUE") -> list[str]:
    """Statements to run in order, in one transaction, on empty rollup tables: one INSERT per
    tier; `where` picks the posts (the caller binds its values), e.g. `source = :source`."""
    # Buckets in UTC, as the worker keeps them and the dashboard reads them, whatever the
    # session's time zone: in a half-hour zone the hours would otherwise be shifted.
    utc = "SET LOCAL TimeZone = 'UTC'"
    return [utc] + [
        f"INSERT INTO {table} (bucket, source, label, posts, probability_sum) "
        + counts_sql(grain, [(POSTS, where)], by_source=True, expected=True)
        for table, grain in ROLLUP_TIERS
    ]
