"""Storage growth: bytes per stored post (partition + indexes, and its id in the ledger),
rollup rows per day, and the database after 30 days at 100 posts/s with 7-day retention,
extrapolated from a smaller run (docs/storage.md says how).

Writes `--days` simulated days of `--per-day` posts (real Reddit/CARER texts, 4 sources, 2
model versions) through the worker's own sink (ledger, rows, every rollup, one transaction per
batch of 256) into a database of its own (`moodwatch_bench_storage`, dropped and re-created),
measures, then runs `maintain` with the retention as of the last simulated day and measures
again. Figures go to .cache/results/storage.json, or --output.

    .venv/bin/python -m benchmarks.bench_storage                 # 10 days x 10,000 posts
    .venv/bin/python -m benchmarks.bench_storage --days 3 --per-day 2000   # a quick try

Creating the database needs the PostgreSQL superuser (`runuser -u postgres -- psql`), as root.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from benchmarks.bench_trend_query import create_database, superuser_sql
from benchmarks.stream_texts import load_texts
from schemas.emotions import LABELS
from schemas.messages import PostMessage, Prediction
from schemas.settings import DatabaseSettings
from worker.decode import Coordinates, DecodedPost
from worker.horizon import Horizon
from worker.partitions import maintain
from worker.store import LabelledPost, PostgresSink

SOURCES = ("twitter", "reddit", "mastodon", "news")
VERSIONS = ("bundle-a", "bundle-b")
BATCH = 256
TARGET_RATE = 100.0  # posts/s of the extrapolation
TARGET_DAYS, TARGET_RETENTION = 30, 7
ROLLUPS = ("emotion_rollup", "emotion_rollup_hourly", "version_rollup", "shadow_rollup")


def labelled(number: int, text: str, created_at: datetime, rng: random.Random) -> LabelledPost:
    post = PostMessage(
        id=f"bench-{number}", text=text, author=f"user{number % 5000}",
        source=rng.choice(SOURCES), lang="en",
    )  # fmt: skip
    decoded = DecodedPost(post, created_at, Coordinates("posts", number % 4, number), None, b"")
    weights = [rng.random() for _ in LABELS]
    probabilities = tuple(w / sum(weights) for w in weights)
    best = max(range(len(LABELS)), key=probabilities.__getitem__)
    prediction = Prediction(
        label=LABELS[best], probability=probabilities[best], probabilities=probabilities,
        uncertainty=rng.random() / 2, model_version=VERSIONS[number % 2],
    )  # fmt: skip
    return LabelledPost(decoded, prediction)


def load(engine: Engine, days: int, per_day: int, now: datetime) -> float:
    """Writes the posts oldest first into day partitions made ahead, as a worker running all
    along would have found them; returns the posts/s the sink took them at."""
    start = now - timedelta(days=days)
    maintain(engine, Horizon(None, clock=lambda: start), ahead_days=days + 1)
    texts = load_texts(min(per_day * days, 10_000))  # reused in turn past that
    rng = random.Random(11)
    sink, total = PostgresSink(engine), days * per_day
    started = time.monotonic()
    for first in range(0, total, BATCH):
        numbers = range(first, min(first + BATCH, total))
        at = (start + timedelta(days=days) * (n / total) for n in numbers)
        sink.write(
            [labelled(n, texts[n % len(texts)], t, rng) for n, t in zip(numbers, at, strict=True)]
        )
    return total / (time.monotonic() - started)


PARTS = """
    SELECT parent.relname, sum(pg_relation_size(child.oid))
    FROM pg_inherits i JOIN pg_class child ON child.oid = i.inhrelid
    JOIN pg_class parent ON parent.oid = i.inhparent
    WHERE parent.relname = 'posts' OR (parent.relkind = 'I' AND parent.relname LIKE 'posts%')
    GROUP BY 1
"""


def posts_bytes_by_part(engine: Engine) -> dict[str, int]:
    """Bytes of the partitions' heaps (`posts`) and of each index over all partitions; the
    rest of the total is TOAST (long texts) and free-space maps."""
    with engine.connect() as connection:
        return {str(name): int(size) for name, size in connection.execute(text(PARTS))}


def measured(engine: Engine) -> dict[str, float]:
    sizes = """
        SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0), count(*)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'posts'::regclass
    """
    with engine.connect() as connection:
        posts_bytes, partitions = connection.execute(text(sizes)).one()
        figures: dict[str, float] = {
            "posts": connection.execute(text("SELECT count(*) FROM posts")).scalar_one(),
            "posts_bytes": int(posts_bytes),
            "partitions": int(partitions),
            "ledger_ids": connection.execute(text("SELECT count(*) FROM post_ids")).scalar_one(),
            "ledger_bytes": connection.execute(
                text("SELECT pg_total_relation_size('post_ids')")
            ).scalar_one(),
            "database_bytes": connection.execute(
                text("SELECT pg_database_size(current_database())")
            ).scalar_one(),
        }
        for table in ROLLUPS:
            figures[f"{table}_rows"] = connection.execute(
                text(f"SELECT count(*) FROM {table}")
            ).scalar_one()
            figures[f"{table}_bytes"] = connection.execute(
                text(f"SELECT pg_total_relation_size('{table}')")
            ).scalar_one()
    return figures


def saturated_rows_per_day(sources: int, versions: int) -> dict[str, int]:
    """Rollup rows a day at 100 posts/s, where every minute of every source has posts: each
    (bucket, source) gets a row per emotion (its probability sum, revision 0003)."""
    labels = len(LABELS)
    return {
        "emotion_rollup": 1440 * sources * labels,
        "emotion_rollup_hourly": 24 * sources * labels,
        "version_rollup": 24 * versions,
        "shadow_rollup": 24 * sources * labels * labels,  # while a candidate runs in shadow
    }


def extrapolated(before: dict[str, float], days: int) -> dict[str, object]:
    """30 days at 100 posts/s with 7-day retention, from the per-post and per-row figures."""
    per_day = TARGET_RATE * 86400
    post_bytes = before["posts_bytes"] / before["posts"]
    id_bytes = before["ledger_bytes"] / before["ledger_ids"]
    saturated = saturated_rows_per_day(len(SOURCES), 1)
    row_bytes = {t: before[f"{t}_bytes"] / before[f"{t}_rows"] for t in ROLLUPS[:3]}
    row_bytes["shadow_rollup"] = row_bytes["emotion_rollup_hourly"]  # same shape, not measured
    rollup_bytes_per_day = sum(saturated[t] * row_bytes[t] for t in ROLLUPS[:3])
    # Upper bounds: a partition goes once its whole day is 7 days old, so up to 8 days of rows
    # are kept; an id goes once it is 7 + 1 days old (LEDGER_GRACE): 8 days of ids.
    rows_kept = (TARGET_RETENTION + 1) * per_day
    ids_kept = (TARGET_RETENTION + 1) * per_day
    total = rows_kept * post_bytes + ids_kept * id_bytes + TARGET_DAYS * rollup_bytes_per_day
    return {
        "bytes_per_post": post_bytes,
        "bytes_per_ledger_id": id_bytes,
        "bytes_per_post_with_ledger": post_bytes + id_bytes,
        "rollup_rows_per_day_measured": {t: before[f"{t}_rows"] / days for t in ROLLUPS},
        "rollup_rows_per_day_at_100_per_s": saturated,
        "bytes_per_rollup_row": row_bytes,
        "rollup_bytes_per_day": rollup_bytes_per_day,
        "shadow_bytes_per_day_while_shadowing": saturated["shadow_rollup"]
        * row_bytes["shadow_rollup"],
        "target_posts_kept": rows_kept,
        "target_ledger_ids_kept": ids_kept,
        "target_posts_gb": rows_kept * post_bytes / 1e9,
        "target_ledger_gb": ids_kept * id_bytes / 1e9,
        "target_rollups_gb": TARGET_DAYS * rollup_bytes_per_day / 1e9,
        "target_database_gb": total / 1e9,
        "without_retention_gb": (
            TARGET_DAYS * per_day * (post_bytes + id_bytes) + TARGET_DAYS * rollup_bytes_per_day
        ) / 1e9,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="moodwatch_bench_storage")
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--per-day", type=int, default=10_000)
    parser.add_argument("--retention-days", type=int, default=TARGET_RETENTION)
    parser.add_argument("--output", type=Path, default=Path(".cache/results/storage.json"))
    args = parser.parse_args()
    db = DatabaseSettings(name=args.database)
    create_database(db, drop=True)
    engine = create_engine(db.url())
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        rate = load(engine, args.days, args.per_day, now)
        before = measured(engine)
        parts = posts_bytes_by_part(engine)
        horizon = Horizon(args.retention_days, clock=lambda: now)
        report = maintain(engine, horizon, ahead_days=3)
        after = measured(engine)
    finally:
        engine.dispose()
        superuser_sql(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)', port=db.port)
    result = {
        "command": f"python -m benchmarks.bench_storage --days {args.days} "
        f"--per-day {args.per_day} --retention-days {args.retention_days}",
        "machine": f"{platform.machine()}, {platform.processor() or '?'}",
        "sink_posts_per_s": rate,
        "loaded": before,
        "posts_bytes_by_part": parts,
        "after_maintain": {**after, "dropped": report.dropped, "pruned": report.ledger_pruned},
        "extrapolated": extrapolated(before, args.days),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result["extrapolated"], indent=2))
    print(f"kept after maintain: {after['posts']} of {before['posts']} posts, "
          f"{after['partitions']} partitions; written to {args.output}")  # fmt: skip


if __name__ == "__main__":
    main()
