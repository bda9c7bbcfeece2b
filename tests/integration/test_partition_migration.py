"""Revision 0005 moves a populated database to day partitions and back with nothing lost.

A database of its own (`<session db>_mig`) at revision 0004, filled with posts over several
days (and one far in the past) and rollups rebuilt from them; every row of every table is read
before the upgrade, after it, and after the downgrade.
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, insert, text

from schemas.emotions import LABELS
from schemas.migrate import alembic_config
from schemas.rollups import rollups_from_posts
from schemas.settings import DatabaseSettings, ServicesSettings
from schemas.tables import PROBABILITY_COLUMNS, posts
from tests.integration.scratch import scratch_database

pytestmark = pytest.mark.integration

START = datetime(2025, 6, 1, 22, 0, tzinfo=UTC)
TABLES = ("posts", "emotion_rollup", "emotion_rollup_hourly")


def _post(number: int, created_at: datetime, rng: random.Random) -> dict[str, object]:
    return {
        "post_id": f"mig-{number}",
        "text": f"post {number}",
        "author": rng.choice(["ann", "bob", None]),
        "source": rng.choice(["a", "b"]),
        "lang": "en",
        "meta": {"n": number},
        "created_at": created_at,
        "label": rng.choice(LABELS),
        "confidence": 0.5,
        **{column: rng.random() for column in PROBABILITY_COLUMNS},
        "uncertainty": rng.random(),
        "model_version": rng.choice(["v1", "v2"]),
        "kafka_topic": "posts",
        "kafka_partition": number % 4,
        "kafka_offset": number,
    }


def _every_row(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Each table's rows, whatever its columns (0003 may add some to the rollups), sorted."""
    with engine.connect() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))),
                key=repr,
            )
            for table in TABLES
        }


@pytest.fixture
def scratch(services: ServicesSettings) -> Iterator[tuple[DatabaseSettings, Engine]]:
    with scratch_database(services, "mig", migrate=False) as found:
        yield found


def test_upgrade_and_downgrade_keep_every_id_row_and_rollup_count(
    scratch: tuple[DatabaseSettings, Engine],
) -> None:
    db, engine = scratch
    config = alembic_config(db)
    command.upgrade(config, "0004")
    rng = random.Random(5)
    moments = [START + timedelta(seconds=rng.randrange(4 * 86400)) for _ in range(1500)]
    moments.append(datetime(2019, 2, 3, 4, 5, tzinfo=UTC))  # a day of its own, long ago
    with engine.begin() as connection:
        connection.execute(insert(posts), [_post(n, m, rng) for n, m in enumerate(moments)])
        for statement in rollups_from_posts():
            connection.execute(text(statement))
    before = _every_row(engine)

    command.upgrade(config, "0005")
    assert _every_row(engine) == before
    with engine.connect() as connection:
        ledger = connection.execute(text("SELECT count(*), count(DISTINCT post_id) FROM post_ids"))
        assert tuple(ledger.one()) == (len(moments), len(moments))
        in_default = connection.execute(text("SELECT count(*) FROM posts_default")).scalar()
        assert in_default == 0, "every day of the old table got a partition of its own"
        versions = connection.execute(text("SELECT sum(posts) FROM version_rollup")).scalar()
        assert versions == len(moments)

    command.downgrade(config, "0004")
    assert _every_row(engine) == before
