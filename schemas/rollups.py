"""Both rollup tiers rebuilt from `posts` in SQL: seeding test and benchmark data, or repair."""

ROLLUP_TIERS = (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour"))


def rollups_from_posts() -> list[str]:
    """INSERT statements, one per tier; run them on empty rollup tables, in one transaction."""
    return [
        f"INSERT INTO {table} (bucket, source, label, posts) "
        f"SELECT date_trunc('{grain}', created_at), source, label, count(*) "
        "FROM posts GROUP BY 1, 2, 3"
        for table, grain in ROLLUP_TIERS
    ]
