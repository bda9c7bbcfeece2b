"""The dashboard's queries over a seeded PostgreSQL, connected as the read-only role.

This module also provides the seeded databases the other dashboard tests use: a dedicated
database (created as the PostgreSQL superuser, migrated by Alembic, dropped afterwards), so
that other suites sharing the server neither see these posts nor disturb them.
"""

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from dashboard.db import readonly_engine
from dashboard.filters import Filters, posts_where
from dashboard.post_queries import mean_uncertainty, posts_list
from dashboard.queries import (
    label_totals,
    lang_options,
    latest_rollup_minute,
    source_options,
    trend_counts,
)
from schemas.migrate import upgrade_to_head, wait_for_database
from schemas.rollups import rollups_from_posts
from schemas.settings import DatabaseSettings, ServicesSettings

pytestmark = pytest.mark.integration

# One name per test process: two runs on one server (developers share it) never collide.
SEED_DB = f"moodwatch_dashtest_{os.getpid()}"
EMPTY_DB = f"moodwatch_dashempty_{os.getpid()}"
SOURCES = ("dash-a", "dash-b")
SLOTS = 432  # a post every 10 minutes for three days, per source
XSS_TEXT = (
    "<script>window.__moodwatch_xss = 1</script>"
    '<img src=x onerror="window.__moodwatch_xss = 2"> **not bold** [click](javascript:alert(1))'
)
LABEL_SQL = "ARRAY['sadness','joy','love','anger','fear','surprise']"


def superuser_psql(sql: str, db: DatabaseSettings, database: str = "postgres") -> None:
    command = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    command += ["-p", str(db.port), "-d", database]
    subprocess.run(command, input=sql, text=True, check=True, capture_output=True)


def fresh_database(name: str) -> DatabaseSettings:
    """Drop and create `name` (owner: the app role; read-only role may connect), migrate."""
    db = DatabaseSettings(name=name)
    wait_for_database(DatabaseSettings())  # the suite restarts the server in one test
    drop_database(db)
    superuser_psql(
        f'CREATE DATABASE "{name}" OWNER "{db.user}";\n'
        f'GRANT CONNECT ON DATABASE "{name}" TO "{db.readonly_user}";\n',
        db,
    )
    superuser_psql("CREATE EXTENSION IF NOT EXISTS pg_trgm;", db, database=name)
    upgrade_to_head(db)
    return db


def drop_database(db: DatabaseSettings) -> None:
    superuser_psql(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE);', db)


def seed_posts(db: DatabaseSettings, anchor: datetime) -> None:
    """Two sources, a post every 10 minutes for 3 days before `anchor`, one hostile post,
    and the rollup summed from them, as the worker keeps it."""
    probabilities = ", ".join(
        f"CASE WHEN lab = '{label}' THEN conf ELSE (1 - conf) / 5 END"
        for label in ("sadness", "joy", "love", "anger", "fear", "surprise")
    )
    engine = create_engine(db.url(), pool_pre_ping=True)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"""
                INSERT INTO posts (post_id, text, author, source, lang, created_at, label,
                  confidence, p_sadness, p_joy, p_love, p_anger, p_fear, p_surprise,
                  uncertainty, model_version, kafka_topic, kafka_partition, kafka_offset)
                SELECT src || '-' || i,
                  'post ' || i || CASE WHEN i % 9 = 0 THEN ' about volcano ash'
                                       ELSE ' about the weather' END,
                  CASE WHEN i % 3 = 0 THEN 'ann' ELSE 'bob' END, src,
                  CASE WHEN i % 2 = 0 THEN 'en' ELSE 'de' END,
                  :anchor - make_interval(mins => 10 * i + 1), lab, conf, {probabilities},
                  (i % 7) / 20.0, 'dash-model-1', 'posts', i % 3, i
                FROM generate_series(0, {SLOTS - 1}) AS i,
                  (VALUES ('dash-a', 0), ('dash-b', 3)) AS s(src, shift),
                  LATERAL (SELECT CASE WHEN i % 4 = 0 THEN 'joy'
                                       ELSE ({LABEL_SQL})[1 + (i + shift) % 6] END AS lab,
                                  0.5 + (i % 5) / 10.0 AS conf) AS drawn
                """
            ),
            {"anchor": anchor},
        )
        connection.execute(
            text(
                """
                INSERT INTO posts (post_id, text, author, source, lang, created_at, label,
                  confidence, p_sadness, p_joy, p_love, p_anger, p_fear, p_surprise,
                  uncertainty, model_version, kafka_topic, kafka_partition, kafka_offset)
                VALUES ('dash-hostile', :text, 'mallory', 'dash-a', 'en',
                  :anchor - interval '20 seconds', 'fear', 0.4, 0.1, 0.1, 0.1, 0.1, 0.4, 0.2,
                  0.99, 'dash-model-2', 'posts', 2, 4242)
                """
            ),
            {"text": XSS_TEXT, "anchor": anchor},
        )
        for statement in rollups_from_posts():
            connection.execute(text(statement))
    engine.dispose()


def seeded(anchor: datetime) -> DatabaseSettings:
    db = fresh_database(SEED_DB)
    seed_posts(db, anchor)
    return db


def posts_count(engine: Engine, where: str = "TRUE", **params: object) -> int:
    """Ground truth, straight from the posts table."""
    with engine.connect() as connection:
        return int(
            connection.execute(text(f"SELECT count(*) FROM posts WHERE {where}"), params).scalar()
        )


@pytest.fixture(scope="module")
def anchor() -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def ro_engine(services: ServicesSettings, anchor: datetime) -> Iterator[Engine]:
    db = seeded(anchor)
    engine = readonly_engine(db)
    yield engine
    engine.dispose()
    drop_database(db)


def day(anchor: datetime, **changes: object) -> Filters:
    base = Filters(since=anchor - timedelta(days=1), until=anchor + timedelta(minutes=1))
    return base.model_copy(update=changes)


def test_the_dashboard_connects_as_the_read_only_role(ro_engine: Engine) -> None:
    with ro_engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar() == "moodwatch_ro"
        assert connection.execute(text("SHOW TimeZone")).scalar() == "UTC"
        with pytest.raises(DBAPIError):
            connection.execute(text("DELETE FROM posts"))


def test_rollup_trends_equal_the_posts_they_summarise(ro_engine: Engine, anchor: datetime) -> None:
    counts = trend_counts(ro_engine, day(anchor, grain="hour"))
    since = anchor - timedelta(days=1)
    assert counts["posts"].sum() == posts_count(ro_engine, "created_at >= :since", since=since)
    assert counts["bucket"].dt.minute.eq(0).all() and counts["bucket"].dt.tz is not None
    from_posts = trend_counts(ro_engine, day(anchor, grain="hour", min_confidence=0.01))
    merged = counts.merge(from_posts, on=["bucket", "label"], suffixes=("_rollup", "_posts"))
    assert len(merged) == len(counts) and (merged["posts_rollup"] == merged["posts_posts"]).all()


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"sources": ("dash-b",)}, "source = 'dash-b'"),
        ({"author": "ann"}, "author = 'ann'"),
        ({"lang": "de"}, "lang = 'de'"),
        ({"keyword": "VOLCANO"}, "text ILIKE '%volcano%'"),
        ({"min_confidence": 0.8}, "confidence >= 0.8"),
        ({"author": "ann", "keyword": "volcano"}, "author = 'ann' AND text LIKE '%volcano%'"),
    ],
)
def test_each_filter_changes_the_trend_to_the_matching_posts(
    ro_engine: Engine, anchor: datetime, changes: dict[str, object], where: str
) -> None:
    since = anchor - timedelta(days=1)
    expected = posts_count(ro_engine, f"created_at >= :since AND {where}", since=since)
    assert 0 < expected < posts_count(ro_engine, "created_at >= :since", since=since)
    filters = day(anchor, **changes)
    assert trend_counts(ro_engine, filters)["posts"].sum() == expected
    assert sum(label_totals(ro_engine, filters).values()) == expected


def test_keyword_wildcards_are_literal(ro_engine: Engine, anchor: datetime) -> None:
    assert trend_counts(ro_engine, day(anchor, keyword="%%%")).empty
    assert trend_counts(ro_engine, day(anchor, keyword="___")).empty


def test_keyword_and_author_filters_can_use_their_indexes(
    ro_engine: Engine, anchor: datetime
) -> None:
    """With sequential scans priced out, the predicates pick the trigram and author indexes
    (on a day-partitioned `posts`, each partition's own copy of the index)."""
    _, params = posts_where(day(anchor, keyword="volcano", author="ann"))
    copies = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = CAST(:index AS regclass)"
    )
    with ro_engine.connect() as connection:
        connection.execute(text("SET enable_seqscan = off"))
        for predicate, index in (
            ("text ILIKE :pattern", "posts_text_trgm"),
            ("author = :author", "posts_author"),
        ):
            sql = f"EXPLAIN SELECT count(*) FROM posts WHERE {predicate}"
            plan = "\n".join(row[0] for row in connection.execute(text(sql), params))
            names = {index, *connection.execute(copies, {"index": index}).scalars()}
            used = re.findall(r"(?:Index Scan on|using) (\w+)", plan)
            assert "Seq Scan" not in plan and used and set(used) <= names, plan


def test_post_lists_order_by_recency_and_uncertainty(ro_engine: Engine, anchor: datetime) -> None:
    recent = posts_list(ro_engine, day(anchor), "recent", limit=5)
    assert (
        recent["created_at"].is_monotonic_decreasing and recent.iloc[0]["post_id"] == "dash-hostile"
    )
    uncertain = posts_list(ro_engine, day(anchor), "uncertain", limit=5)
    assert uncertain["uncertainty"].is_monotonic_decreasing
    assert uncertain.iloc[0]["text"] == XSS_TEXT  # stored and read back byte for byte
    joy = posts_list(ro_engine, day(anchor, labels=("joy",)), "recent", limit=50)
    assert set(joy["label"]) == {"joy"}


def test_kpi_queries(ro_engine: Engine, anchor: datetime) -> None:
    latest = latest_rollup_minute(ro_engine)
    assert latest is not None and latest == anchor - timedelta(minutes=1)
    value = mean_uncertainty(ro_engine, day(anchor))
    assert value is not None and 0.0 < value < 1.0


def test_sidebar_choices_come_from_the_data(ro_engine: Engine) -> None:
    assert source_options(ro_engine) == list(SOURCES)
    assert lang_options(ro_engine) == ["de", "en"]
