"""Expected shares: every rollup row also sums its emotion's probability over the bucket's posts.

The worker adds the sums in the transaction that stores the rows (and takes them out again with
a negative sign, for a relabel); revision 0003 fills them in for rows stored before it; the
share views divide them into `expected_share`.
"""

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, insert, text

from schemas.emotions import LABELS
from schemas.messages import PostMessage, Prediction
from schemas.migrate import alembic_config
from schemas.settings import DatabaseSettings, ServicesSettings
from schemas.tables import PROBABILITY_COLUMNS, posts
from tests.faults.checks import ROLLUPS
from tests.integration.scratch import scratch_database
from worker.decode import Coordinates, DecodedPost
from worker.store import LabelledPost, PostgresSink, rollup_increments

pytestmark = pytest.mark.integration

START = datetime(2025, 3, 1, 22, 50, tzinfo=UTC)
Key = tuple[datetime, str]  # (bucket, label)


def probabilities(rng: random.Random) -> tuple[float, ...]:
    weights = [rng.random() ** 3 for _ in LABELS]
    return tuple(w / sum(weights) for w in weights)


def made_posts(source: str, count: int, seed: int) -> list[tuple[str, datetime, tuple[float, ...]]]:
    """(id, created_at, probabilities) over ~3 hours; the label is the likeliest emotion, so
    fear, made unlikely, is rarely or never a label but always has probability mass."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        p = list(probabilities(rng))
        p[LABELS.index("fear")] *= 0.01
        made.append((f"{source}-{n}", START + timedelta(seconds=rng.randrange(3 * 3600)), tuple(p)))
    return made


def truth(
    made: list[tuple[str, datetime, tuple[float, ...]]], grain: str
) -> dict[Key, tuple[int, float]]:
    """(posts labelled, probability sum) per bucket and emotion, every emotion of a bucket."""
    counts: dict[Key, int] = defaultdict(int)
    sums: dict[Key, float] = defaultdict(float)
    for _, at, p in made:
        bucket = at.replace(second=0, microsecond=0)
        bucket = bucket.replace(minute=0) if grain == "hour" else bucket
        counts[bucket, LABELS[p.index(max(p))]] += 1
        for label, probability in zip(LABELS, p, strict=True):
            sums[bucket, label] += probability
    return {key: (counts[key], total) for key, total in sums.items()}


def stored(engine: Engine, table: str, source: str) -> dict[Key, tuple[int, float]]:
    query = text(f"SELECT bucket, label, posts, probability_sum FROM {table} WHERE source = :s")
    with engine.connect() as connection:
        rows = connection.execute(query, {"s": source}).all()
    return {(bucket, label): (n, p) for bucket, label, n, p in rows}


def assert_same(
    found: dict[Key, tuple[int, float]], expected: dict[Key, tuple[int, float]]
) -> None:
    assert set(found) == set(expected)
    for key, (n, p) in expected.items():
        assert found[key][0] == n and found[key][1] == pytest.approx(p, abs=1e-9), key


def labelled(
    source: str, made: list[tuple[str, datetime, tuple[float, ...]]]
) -> list[LabelledPost]:
    batch = []
    for offset, (post_id, at, p) in enumerate(made):
        post = PostMessage(id=post_id, text=f"post {offset}", source=source)
        label = LABELS[p.index(max(p))]
        prediction = Prediction(
            label=label, probability=max(p), probabilities=p, uncertainty=0.1, model_version="t"
        )
        where = Coordinates(topic="posts", partition=0, offset=offset)
        decoded = DecodedPost(post, at, where, post_id.encode(), b"{}")
        batch.append(LabelledPost(decoded, prediction))
    return batch


def test_the_worker_sums_every_emotion_with_the_rows_and_a_replay_adds_nothing(
    database: Engine,
) -> None:
    source = "rollup-sums-worker"
    made = made_posts(source, 600, seed=3)
    sink = PostgresSink(database)
    for start in range(0, len(made), 64):  # batches, as the worker writes them
        sink.write(labelled(source, made[start : start + 64]))
    assert sink.write(labelled(source, made[:100])).new == 0  # replayed ids: nothing new
    for table, grain in (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour")):
        assert_same(stored(database, table, source), truth(made, grain))
    with database.connect() as connection:  # the fault scenarios' invariant agrees
        connection.execute(text("SET TIME ZONE 'UTC'"))
        for query in ROLLUPS.values():
            assert connection.execute(query, {"s": source}).all() == []
    hourly = truth(made, "hour")
    never_chosen = [key for key, (n, p) in hourly.items() if n == 0]
    assert never_chosen and all(hourly[key][1] > 0 for key in never_chosen)


def test_a_negative_increment_takes_posts_and_sums_out_again(database: Engine) -> None:
    source = "rollup-sums-signed"
    made = made_posts(source, 200, seed=4)
    PostgresSink(database).write(labelled(source, made))
    rows = [(at, source, LABELS[p.index(max(p))], *p) for _, at, p in made[:50]]
    with database.begin() as connection:
        for increment in rollup_increments(rows, sign=-1):
            connection.execute(increment)
    assert_same(stored(database, "emotion_rollup_hourly", source), truth(made[50:], "hour"))


@pytest.fixture
def scratch(services: ServicesSettings) -> Iterator[tuple[DatabaseSettings, Engine]]:
    with scratch_database(services, "sums", migrate=False) as made:
        yield made


# the tiers as revision 0002 kept them: counts of labels only
COUNTS_AT_0002 = [
    f"INSERT INTO {table} (bucket, source, label, posts) "
    f"SELECT date_trunc('{grain}', created_at), source, label, count(*) FROM posts GROUP BY 1, 2, 3"
    for table, grain in (("emotion_rollup", "minute"), ("emotion_rollup_hourly", "hour"))
]


def _post_row(post_id: str, at: datetime, p: tuple[float, ...], source: str) -> dict[str, object]:
    return {
        "post_id": post_id,
        "text": "t",
        "source": source,
        "created_at": at,
        "label": LABELS[p.index(max(p))],
        "confidence": max(p),
        **dict(zip(PROBABILITY_COLUMNS, p, strict=True)),
        "uncertainty": 0.1,
        "model_version": "v",
        "kafka_topic": "posts",
        "kafka_partition": 0,
        "kafka_offset": 0,
    }


def test_revision_0003_fills_in_the_sums_of_stored_posts_and_the_views_share_them(
    scratch: tuple[DatabaseSettings, Engine],
) -> None:
    db, engine = scratch
    config = alembic_config(db)
    command.upgrade(config, "0002")
    made = made_posts("a", 700, seed=5) + made_posts("b", 300, seed=6)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL TimeZone = 'UTC'"))
        rows = [_post_row(i, at, p, i.split("-")[0]) for i, at, p in made]
        connection.execute(insert(posts), rows)
        for statement in COUNTS_AT_0002:
            connection.execute(text(statement))
        before = connection.execute(text("SELECT * FROM emotion_share_daily ORDER BY 1, 2")).all()

    command.upgrade(config, "0003")
    for source in ("a", "b"):
        mine = [post for post in made if post[0].startswith(source)]
        assert_same(stored(engine, "emotion_rollup", source), truth(mine, "minute"))
        assert_same(stored(engine, "emotion_rollup_hourly", source), truth(mine, "hour"))
    with engine.connect() as connection:
        view = connection.execute(text("SELECT * FROM emotion_share_daily ORDER BY 1, 2")).all()
    day = START.replace(hour=0, minute=0)
    first_day = [p for _, at, p in made if at < day + timedelta(days=1)]
    mean = {label: sum(p[i] for p in first_day) / len(first_day) for i, label in enumerate(LABELS)}
    by_label = {row.label: row for row in view if row.bucket == day}
    for label in LABELS:
        assert by_label[label].expected_share == pytest.approx(mean[label], abs=1e-9)
    # counted shares as before; labels never chosen now listed with share 0
    assert [tuple(row)[:4] for row in view if row.posts] == [tuple(row) for row in before]

    command.downgrade(config, "0002")
    with engine.connect() as connection:
        after = connection.execute(text("SELECT * FROM emotion_share_daily ORDER BY 1, 2")).all()
    assert after == before
