"""Trend-query latency of the dashboard over 10 million posts (not part of CI).

Seeds a separate database (default `moodwatch_bench`) with SQL only: `generate_series` writes
the posts spread over the last N days, and both rollup tiers are summed from them by
`schemas.rollups` exactly as the worker would have kept them. Then it times the dashboard's own
query functions, connected as the read-only role, and prints a table; the figures go to
.cache/results/trend_query.json, or --output (`make bench-dashboard REFRESH=1` refreshes the
committed benchmarks/results/trend_query.json). Every count it asks for is built by
`schemas.rollups.counts_sql`, the SQL the dashboard runs.

    .venv/bin/python benchmarks/bench_trend_query.py            # seed once (~15 min), then time
    .venv/bin/python benchmarks/bench_trend_query.py --reseed   # rebuild the data
    .venv/bin/python benchmarks/bench_trend_query.py --database moodwatch_bench_small \
        --posts 20000 --days 2 --runs 5 --output /tmp/trend_query.json   # a quick try

Creating the database needs the PostgreSQL superuser (`runuser -u postgres -- psql`), as root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, TextClause, create_engine, text
from sqlalchemy.exc import OperationalError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dashboard.db import readonly_engine  # noqa: E402
from dashboard.filters import Filters, rollup_where  # noqa: E402
from dashboard.queries import label_totals, trend_counts  # noqa: E402
from schemas.migrate import upgrade_to_head, wait_for_database  # noqa: E402
from schemas.rollups import TIER_OF_GRAIN, counts_sql, rollups_from_posts  # noqa: E402
from schemas.settings import DatabaseSettings  # noqa: E402

SOURCES = ("twitter", "reddit", "mastodon", "news")
WORDS = (
    "happy sad angry scared surprised lovely awful great terrible amazing weird calm storm "
    "concert traffic coffee rain sunshine election match exam holiday flight train volcano "
    "kitten budget deadline party music movie news weekend morning night city beach"
).split()


def superuser_sql(sql: str, database: str = "postgres", port: int = 15432) -> None:
    command = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    command += ["-p", str(port), "-d", database]
    subprocess.run(command, input=sql, text=True, check=True, capture_output=True)


def create_database(db: DatabaseSettings, *, drop: bool) -> None:
    """A database owned by the app role, open to the read-only and sentinel roles, migrated to
    head."""
    if drop:
        superuser_sql(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)', port=db.port)
    superuser_sql(
        f'SELECT \'CREATE DATABASE "{db.name}" OWNER "{db.user}"\' WHERE NOT EXISTS '
        f"(SELECT FROM pg_database WHERE datname = '{db.name}')\\gexec\n"
        f'GRANT CONNECT ON DATABASE "{db.name}" TO "{db.readonly_user}";\n'
        f'GRANT CONNECT ON DATABASE "{db.name}" TO "{db.sentinel_user}";\n',
        port=db.port,
    )
    superuser_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm;", database=db.name, port=db.port)
    upgrade_to_head(db)


def seeded_posts(engine: Engine) -> int:
    """Posts counted by the rollup, which is built last: a half-done load does not count."""
    sql = counts_sql(None, [(TIER_OF_GRAIN["minute"], "TRUE")])
    with engine.connect() as connection:
        return sum(int(n) for _, n in connection.execute(text(sql)))


# Revision 0001's secondary indexes on posts: dropped while loading, built again afterwards.
POST_INDEXES = (
    "CREATE INDEX IF NOT EXISTS posts_created_at ON posts (created_at)",
    "CREATE INDEX IF NOT EXISTS posts_source_created_at ON posts (source, created_at)",
    "CREATE INDEX IF NOT EXISTS posts_author ON posts (author)",
    "CREATE INDEX IF NOT EXISTS posts_uncertainty ON posts (uncertainty)",
    "CREATE INDEX IF NOT EXISTS posts_text_trgm ON posts USING gin (text gin_trgm_ops)",
)
CHUNK = 1_000_000  # posts per transaction: a server restart costs one chunk, not the load


def insert_sql() -> str:
    """Posts first..last of `total`, spread evenly over the last `days` days."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    sources = "ARRAY[" + ",".join(f"'{s}'" for s in SOURCES) + "]"
    labels = "ARRAY['sadness','joy','love','anger','fear','surprise']"
    # A daily cycle in the label mix (sadness at night, surprise by day), plus noise.
    return f"""
        INSERT INTO posts (post_id, text, author, source, lang, created_at, processed_at,
          label, confidence, p_sadness, p_joy, p_love, p_anger, p_fear, p_surprise,
          uncertainty, model_version, kafka_topic, kafka_partition, kafka_offset)
        SELECT 'bench-' || i,
          w[1 + i % 37] || ' ' || w[1 + (i / 37) % 37] || ' ' || w[1 + (i / 1369) % 37]
            || ' ' || i % 1000,
          'user' || i % 50000, s[1 + i % 4], (ARRAY['en','en','en','de','fr'])[1 + i % 5],
          ts, ts + interval '2 seconds', lab[k], conf,
          CASE k WHEN 1 THEN conf ELSE (1 - conf) / 5 END,
          CASE k WHEN 2 THEN conf ELSE (1 - conf) / 5 END,
          CASE k WHEN 3 THEN conf ELSE (1 - conf) / 5 END,
          CASE k WHEN 4 THEN conf ELSE (1 - conf) / 5 END,
          CASE k WHEN 5 THEN conf ELSE (1 - conf) / 5 END,
          CASE k WHEN 6 THEN conf ELSE (1 - conf) / 5 END,
          (1 - conf) / 2, 'bench', 'posts', i % 4, i / 4
        FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i,
          LATERAL (SELECT :anchor - make_interval(days => :days) * (i / CAST(:total AS float8))
                   AS ts, {words} AS w, {sources} AS s, {labels} AS lab) AS fixed,
          LATERAL (SELECT 0.4 + random() * 0.6 AS conf,
            1 + floor(6 * power(random(),
              1.2 + sin(extract(hour FROM ts) / 24 * 2 * pi())))::int % 6 AS k) AS drawn
    """


def retried(db: DatabaseSettings, step: Callable[[], None], attempts: int = 5) -> None:
    """Other test suites restart the shared server now and then: wait for it and redo the step."""
    for attempt in range(attempts):
        try:
            step()
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            print("  the server went away; waiting for it and retrying", flush=True)
            wait_for_database(db)


def seed(db: DatabaseSettings, engine: Engine, posts: int, days: int) -> None:
    """Insert `posts` rows in chunks (secondary indexes dropped meanwhile), then the rollup."""
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE posts, emotion_rollup, emotion_rollup_hourly"))
        for name in ("created_at", "source_created_at", "author", "uncertainty", "text_trgm"):
            connection.execute(text(f"DROP INDEX IF EXISTS posts_{name}"))
    anchor = datetime.now(UTC)
    for first in range(1, posts + 1, CHUNK):
        params = {"first": first, "last": min(posts, first + CHUNK - 1), "total": posts}

        def chunk(params: dict[str, int] = params) -> None:
            with engine.begin() as connection:
                connection.execute(text(insert_sql()), {**params, "days": days, "anchor": anchor})

        retried(db, chunk)
        print(f"  {params['last']:,} posts", flush=True)

    def indexes_and_rollup() -> None:
        with engine.begin() as connection:
            connection.execute(text("SET maintenance_work_mem = '512MB'"))
            for definition in POST_INDEXES:
                connection.execute(text(definition))
            connection.execute(text("TRUNCATE emotion_rollup, emotion_rollup_hourly"))
            for statement in rollups_from_posts():
                connection.execute(text(statement))

    retried(db, indexes_and_rollup)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE posts"))
        connection.execute(text("VACUUM ANALYZE emotion_rollup"))
        connection.execute(text("VACUUM ANALYZE emotion_rollup_hourly"))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_query(run: Callable[[], object], runs: int) -> dict[str, float]:
    for _ in range(3):  # warm the cache and the connection pool
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
    }


def cases(now: datetime) -> dict[str, Filters]:
    until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)

    def last(span: timedelta, grain: str, **kw: object) -> Filters:
        return Filters.model_validate({"since": until - span, "until": until, "grain": grain, **kw})

    return {
        "rollup: 24 h by minute": last(timedelta(hours=24), "minute"),
        "rollup: 7 d by hour (default view)": last(timedelta(days=7), "hour"),
        "rollup: 7 d by hour, one source": last(timedelta(days=7), "hour", sources=("reddit",)),
        "rollup: 30 d by day": last(timedelta(days=30), "day"),
        "rollup: 30 d by hour": last(timedelta(days=30), "hour"),
        "posts: 24 h by hour, keyword 'volcano'": last(
            timedelta(hours=24), "hour", keyword="volcano"
        ),
        "posts: 7 d by hour, one author": last(timedelta(days=7), "hour", author="user42"),
        "posts: 24 h by hour, confidence >= 0.9": last(
            timedelta(hours=24), "hour", min_confidence=0.9
        ),
    }


def minute_tier_only(engine: Engine, newest: datetime, runs: int) -> list[dict[str, object]]:
    """The 30-day rollup cases answered from the minute tier alone, as the dashboard did before
    the hourly tier (revision 0002): what that tier saves. The same SQL, one tier."""
    rows = []
    for name, filters in cases(newest).items():
        if not name.startswith("rollup: 30 d"):
            continue
        where, params = rollup_where(filters)
        sql = text(counts_sql(filters.grain, [(TIER_OF_GRAIN["minute"], where)], ordered=True))

        def run(sql: TextClause = sql, params: dict[str, object] = params) -> None:
            with engine.connect() as connection:
                connection.execute(sql, params).all()

        rows.append({"case": name.replace("rollup:", "minute tier only:"), **time_query(run, runs)})
    return rows


def print_table(report: dict[str, object], rows: list[dict[str, object]]) -> None:
    print(
        f"\n{report['posts']:,} posts, {report['rollup_rows']:,} rollup rows, "
        f"{report['runs']} runs per case, load average {report['load_average_1m']}"
    )
    print(f"{'case':48s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  within 200 ms")
    for row in rows:
        within = "yes" if float(str(row["p95_ms"])) <= 200 else "NO"
        print(
            f"{row['case']!s:48s} {row['p50_ms']!s:>8s} {row['p95_ms']!s:>8s} "
            f"{row['max_ms']!s:>8s}  {within}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="moodwatch_bench")
    parser.add_argument("--posts", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the data")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument(
        "--compare-minute-tier",
        action="store_true",
        help="also time the 30-day cases from the minute tier alone (no hourly tier)",
    )
    parser.add_argument("--output", type=Path, default=REPO / ".cache/results/trend_query.json")
    args = parser.parse_args()

    db = DatabaseSettings(name=args.database)
    create_database(db, drop=args.reseed)
    app_engine = create_engine(db.url(), pool_pre_ping=True)
    if args.reseed or seeded_posts(app_engine) != args.posts:
        started = time.perf_counter()
        print(f"seeding {args.posts:,} posts over {args.days} days into {db.name} ...", flush=True)
        seed(db, app_engine, args.posts, args.days)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    if args.seed_only:
        return
    with app_engine.connect() as connection:
        rollup_rows = int(
            connection.execute(text("SELECT count(*) FROM emotion_rollup")).scalar_one()
        )
        newest = connection.execute(text("SELECT max(created_at) FROM posts")).scalar_one()
    load_before = os.getloadavg()[0]
    engine = readonly_engine(db)  # the dashboard's own engine: read-only role, its settings
    rows: list[dict[str, object]] = []
    for name, filters in cases(newest).items():
        figures = time_query(partial(trend_counts, engine, filters), args.runs)
        totals = time_query(
            partial(label_totals, engine, filters.previous()), max(1, args.runs // 4)
        )
        rows.append({"case": name, **figures, "previous_period_totals_p95_ms": totals["p95_ms"]})
    if args.compare_minute_tier:
        rows += minute_tier_only(engine, newest, args.runs)
    report = {
        "posts": args.posts,
        "rollup_rows": rollup_rows,
        "days": args.days,
        "runs": args.runs,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "load_average_1m": round(max(load_before, os.getloadavg()[0]), 1),
        "budget_p95_ms": 200,
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report, rows)
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
