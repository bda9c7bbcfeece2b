"""A candidate bundle in shadow: the worker labels every post with both, stores the live labels
in `posts` as always and the candidate's beside them in `shadow_rollup`, once per stored post;
the dashboard's comparison reads it per emotion."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dashboard.model_versions import comparison, shadow_pairs, version_counts
from schemas.emotions import LABELS
from tests.integration.streaming import Stream, stored, wait_for, worker_process
from tests.tiny_bundle import build_tiny_bundle

pytestmark = pytest.mark.integration
HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)  # the hour of every post of a `Stream`


def shadow_total(engine: Engine, source: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT coalesce(sum(posts), 0) FROM shadow_rollup WHERE source = :s")
        return int(connection.execute(query, {"s": source}).scalar_one())


def test_the_candidate_labels_every_stored_post_once_beside_the_live_bundle(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    candidate = build_tiny_bundle(tmp_path / "candidate", members=1)
    stream = Stream.fresh()
    stream.produce_posts(range(400))
    stream.produce_posts(range(100))  # re-delivered posts: stored once, compared once
    log = tmp_path / "worker.log"
    with worker_process(stream, tiny_bundle, log, shadow_bundle_path=str(candidate)):
        wait_for(lambda: stream.committed() == 500, what="offsets committed to the end")
    assert stored(database, stream.source) == (400, 400, 400)
    assert shadow_total(database, stream.source) == 400
    with database.connect() as connection:
        live_versions = connection.execute(
            text("SELECT DISTINCT model_version FROM posts WHERE source = :s"),
            {"s": stream.source},
        ).scalars()
        live = set(live_versions)
        shadowed = set(
            connection.execute(
                text("SELECT DISTINCT model_version FROM shadow_rollup WHERE source = :s"),
                {"s": stream.source},
            ).scalars()
        )
    assert len(live) == 1 and len(shadowed) == 1 and live != shadowed
    # what the dashboard shows for the posts' hour: the live version, the candidate beside it
    hour = (HOUR, HOUR + timedelta(hours=1))
    versions = version_counts(database, *hour)
    assert int(versions.set_index("model_version").loc[live.pop(), "posts"]) >= 400
    compared = comparison(shadow_pairs(database, *hour))
    mine = compared[compared["candidate"] == shadowed.pop()]
    assert len(mine) == len(LABELS)
    assert abs(mine["candidate share"].sum() - 1) < 1e-9
