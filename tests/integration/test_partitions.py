"""Day partitions, the id ledger and retention, on a database of their own.

The sink stores each post id once whichever day it claims, and refuses posts past the horizon;
`maintain` makes days ahead, moves rows that landed in the default partition into their day and
drops whole expired days, while the rollups keep every count.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from schemas.emotions import LABELS
from schemas.messages import PostMessage, Prediction
from schemas.settings import ServicesSettings
from tests.integration.scratch import scratch_database
from worker.decode import Coordinates, DecodedPost
from worker.horizon import Horizon
from worker.partitions import maintain, partition_name
from worker.store import LabelledPost, PostgresSink

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def labelled(post_id: str, created_at: datetime, version: str = "v1") -> LabelledPost:
    post = PostMessage(id=post_id, text=f"text of {post_id}", source="parts")
    decoded = DecodedPost(post, created_at, Coordinates("posts", 0, 0), None, b"")
    probabilities = (0.5, 0.1, 0.1, 0.1, 0.1, 0.1)
    prediction = Prediction(
        label=LABELS[0],
        probability=0.5,
        probabilities=probabilities,
        uncertainty=0.2,
        model_version=version,
    )
    return LabelledPost(decoded, prediction)


def scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def counts(engine: Engine) -> tuple[int, int, int, int]:
    """posts, ledger ids, minute rollup and version rollup sums."""
    return (
        scalar(engine, "SELECT count(*) FROM posts"),
        scalar(engine, "SELECT count(*) FROM post_ids"),
        scalar(engine, "SELECT sum(posts) FROM emotion_rollup"),
        scalar(engine, "SELECT sum(posts) FROM version_rollup"),
    )


@pytest.fixture
def engine(services: ServicesSettings) -> Iterator[Engine]:
    with scratch_database(services, "parts") as (_, scratch_engine):
        yield scratch_engine


def test_a_post_replayed_with_another_day_is_stored_and_counted_once(engine: Engine) -> None:
    sink = PostgresSink(engine)
    assert sink.write([labelled("a", NOW), labelled("a", NOW)]) == (1, 0)
    assert sink.write([labelled("a", NOW - timedelta(days=3)), labelled("b", NOW)]) == (1, 0)
    assert counts(engine) == (2, 2, 2, 2)


def test_a_post_older_than_the_retention_is_neither_stored_nor_counted(engine: Engine) -> None:
    sink = PostgresSink(engine, Horizon(retention_days=7, clock=lambda: NOW))
    old = labelled("old", NOW - timedelta(days=7, minutes=1))
    assert sink.write([old, labelled("new", NOW - timedelta(days=6))]) == (1, 1)
    assert counts(engine) == (1, 1, 1, 1)


def test_maintain_moves_strays_into_their_days_and_drops_expired_days_only(
    engine: Engine,
) -> None:
    sink = PostgresSink(engine)
    posts = [labelled(f"d{days}", NOW - timedelta(days=days)) for days in (10, 5, 0)]
    assert sink.write(posts).new == 3
    assert scalar(engine, "SELECT count(*) FROM posts_default") == 2  # no day made for them

    made = maintain(engine, Horizon(None, clock=lambda: NOW), ahead_days=5)
    assert made.moved_rows == 2
    assert partition_name((NOW - timedelta(days=10)).date()) in made.created
    assert partition_name((NOW + timedelta(days=5)).date()) in made.created
    assert scalar(engine, "SELECT count(*) FROM posts_default") == 0
    assert counts(engine) == (3, 3, 3, 3)

    week = Horizon(retention_days=7, clock=lambda: NOW)
    expired = maintain(engine, week, ahead_days=5)
    assert expired.dropped == [partition_name((NOW - timedelta(days=10)).date())]
    assert expired.ledger_pruned == 1
    assert counts(engine) == (2, 2, 3, 3), "raw posts expired; the rollups keep every count"
    assert PostgresSink(engine, week).write([posts[0]]) == (0, 1), "a replay past the horizon"
    assert counts(engine) == (2, 2, 3, 3)
