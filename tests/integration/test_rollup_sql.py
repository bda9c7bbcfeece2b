"""One SQL for the rollup aggregate: the tiers rebuilt by `schemas.rollups` and the dashboard's
trend queries over them (and over `posts`) count the same posts as Python does, at every grain.

Posts of one source of its own in the session's database; removed afterwards.
"""

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, Table, delete, insert, select, text

from dashboard.db import readonly_engine
from dashboard.expected import probability_sums
from dashboard.filters import Filters
from dashboard.queries import label_totals, posts_per_minute, trend_counts
from schemas.emotions import LABELS
from schemas.rollups import counts_sql, rollups_from_posts
from schemas.settings import DatabaseSettings
from schemas.tables import PROBABILITY_COLUMNS, emotion_rollup, emotion_rollup_hourly, posts

pytestmark = pytest.mark.integration

SOURCE = "rollup-sql-test"
START = datetime(2024, 3, 9, 21, 0, tzinfo=UTC)  # posts over ~2 days from here
Post = tuple[datetime, str]


def truncated(moment: datetime, grain: str) -> datetime:
    moment = moment.replace(second=0, microsecond=0)
    if grain in ("hour", "day"):
        moment = moment.replace(minute=0)
    return moment.replace(hour=0) if grain == "day" else moment


def made_posts(count: int = 1500) -> list[Post]:
    rng = random.Random(7)
    return [
        (START + timedelta(seconds=rng.randrange(2 * 24 * 3600)), rng.choice(LABELS))
        for _ in range(count)
    ]


def row(number: int, created_at: datetime, label: str) -> dict[str, object]:
    return {
        "post_id": f"{SOURCE}-{number}",
        "text": f"post {number}",
        "source": SOURCE,
        "created_at": created_at,
        "label": label,
        "confidence": 0.9,
        **{column: 0.02 for column in PROBABILITY_COLUMNS},
        "uncertainty": 0.1,
        "model_version": "rollup-sql",
        "kafka_topic": "posts",
        "kafka_partition": 0,
        "kafka_offset": number,
    }


def remove(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (posts, emotion_rollup, emotion_rollup_hourly):
            connection.execute(delete(table).where(table.c.source == SOURCE))


@pytest.fixture(scope="module")
def seeded(database: Engine) -> Iterator[list[Post]]:
    """The posts, and both tiers rebuilt from them by `rollups_from_posts`."""
    made = made_posts()
    remove(database)
    with database.begin() as connection:
        connection.execute(insert(posts), [row(i, *post) for i, post in enumerate(made)])
        for statement in rollups_from_posts("source = :source"):
            connection.execute(text(statement), {"source": SOURCE})
    yield made
    remove(database)


@pytest.fixture(scope="module")
def ro_engine(seeded: list[Post]) -> Iterator[Engine]:
    engine = readonly_engine(DatabaseSettings())  # as the dashboard connects
    yield engine
    engine.dispose()


def expected(made: list[Post], grain: str, since: datetime, until: datetime) -> Counter[Post]:
    return Counter((truncated(at, grain), label) for at, label in made if since <= at < until)


@pytest.mark.parametrize(
    ("table", "grain"), [(emotion_rollup, "minute"), (emotion_rollup_hourly, "hour")]
)
def test_each_rebuilt_tier_holds_the_posts_counted_in_python(
    database: Engine, seeded: list[Post], table: Table, grain: str
) -> None:
    columns = (table.c.bucket, table.c.label, table.c.posts, table.c.probability_sum)
    query = select(*columns).where(table.c.source == SOURCE)
    with database.connect() as connection:
        rows = connection.execute(query).all()
    everything = expected(seeded, grain, START, START + timedelta(days=3))
    assert {(bucket, label): n for bucket, label, n, _ in rows if n} == dict(everything)
    # every emotion of a bucket has a row, its sum that of all the bucket's posts (p = 0.02)
    per_bucket = Counter(truncated(at, grain) for at, _ in seeded)
    sums = {(bucket, label): p for bucket, label, _, p in rows}
    assert set(sums) == {(bucket, label) for bucket in per_bucket for label in LABELS}
    for (bucket, _), p in sums.items():
        assert p == pytest.approx(0.02 * per_bucket[bucket])


# Ragged edges: partial hours at both ends, so the hourly tier and the minute edges both count.
SINCE = START + timedelta(hours=5, minutes=17)
UNTIL = START + timedelta(hours=41, minutes=43)


@pytest.mark.parametrize("grain", ["minute", "hour", "day"])
@pytest.mark.parametrize("table", ["rollup", "posts"])
def test_the_dashboard_counts_what_python_counts(
    ro_engine: Engine, seeded: list[Post], grain: str, table: str
) -> None:
    # a confidence floor every post passes sends the same question to the posts table
    floor = 0.01 if table == "posts" else 0.0
    filters = Filters.model_validate(
        {
            "since": SINCE,
            "until": UNTIL,
            "grain": grain,
            "sources": (SOURCE,),
            "min_confidence": floor,
        }
    )
    assert filters.uses_posts_table == (table == "posts")
    counts = trend_counts(ro_engine, filters)
    found = {(b.to_pydatetime(), lab): n for b, lab, n in counts.itertuples(index=False)}
    assert found == dict(expected(seeded, grain, SINCE, UNTIL))
    assert list(counts.itertuples(index=False)) == sorted(counts.itertuples(index=False))
    totals = Counter(label for _, label in expected(seeded, grain, SINCE, UNTIL).elements())
    assert label_totals(ro_engine, filters) == {label: totals[label] for label in LABELS}


@pytest.mark.parametrize("table", ["rollup", "posts"])
def test_the_dashboards_probability_sums_are_those_of_the_posts(
    ro_engine: Engine, seeded: list[Post], table: str
) -> None:
    """Every emotion of every bucket, its probability summed over all the bucket's posts
    (each post's p is 0.02 here), from the tiers or from the posts alike."""
    floor = 0.01 if table == "posts" else 0.0
    filters = Filters.model_validate(
        {"since": SINCE, "until": UNTIL, "grain": "hour", "sources": (SOURCE,),
         "min_confidence": floor}
    )  # fmt: skip
    sums = probability_sums(ro_engine, filters)
    per_bucket = Counter(truncated(at, "hour") for at, _ in seeded if SINCE <= at < UNTIL)
    assert len(sums) == len(per_bucket) * len(LABELS)
    for bucket, _, _, p in sums.itertuples(index=False):
        assert p == pytest.approx(0.02 * per_bucket[bucket.to_pydatetime()])
    counted = {(b.to_pydatetime(), lab): n for b, lab, n, _ in sums.itertuples(index=False) if n}
    assert counted == dict(expected(seeded, "hour", SINCE, UNTIL))


def test_the_rate_sums_the_minute_tier(ro_engine: Engine, seeded: list[Post]) -> None:
    now = START + timedelta(hours=30, seconds=12)
    last_five = expected(seeded, "minute", now.replace(second=0) - timedelta(minutes=5), now)
    assert posts_per_minute(ro_engine, now) == sum(last_five.values()) / 5


def test_the_builder_refuses_names_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="grain"):
        counts_sql("week", [("posts", "TRUE")])
    with pytest.raises(ValueError, match="posts or the rollup tiers"):
        counts_sql("hour", [("pg_user", "TRUE")])
    with pytest.raises(ValueError, match="cannot be added"):
        counts_sql("hour", [("posts", "TRUE"), ("emotion_rollup", "TRUE")])
