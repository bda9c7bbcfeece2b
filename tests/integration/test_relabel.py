"""`moodwatch relabel` moves rows and every rollup count to the new bundle, chunk by chunk, and
a run killed with SIGKILL resumes without counting a row twice. A database of its own."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from schemas.emotions import LABELS
from schemas.messages import Prediction
from schemas.rollups import POSTS, ROLLUP_TIERS, counts_sql
from schemas.settings import ServicesSettings
from tests.integration.scratch import scratch_database
from tests.integration.streaming import REPO, wait_for
from tests.integration.test_partitions import labelled
from tests.tiny_bundle import build_tiny_bundle
from worker.relabel import Range, pending, relabel
from worker.store import PostgresSink

pytestmark = pytest.mark.integration

START = datetime.now(UTC) - timedelta(days=2)
TOTAL = 600


class ByLength:
    """A stand-in bundle `v2`: the label follows the text's length."""

    version = "v2"

    def __init__(self, fail_after_chunks: int | None = None) -> None:
        self._chunks_left = fail_after_chunks

    def normalise(self, text: str) -> str:
        return text

    def predict(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> list[Prediction]:
        if self._chunks_left is not None:
            if self._chunks_left == 0:
                raise RuntimeError("killed mid-chunk")
            self._chunks_left -= 1
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> Prediction:
        label = len(text) % len(LABELS)
        probabilities = tuple(0.5 if i == label else 0.1 for i in range(len(LABELS)))
        return Prediction(
            label=LABELS[label],
            probability=0.5,
            probabilities=probabilities,
            uncertainty=0.3,
            model_version=self.version,
        )


@pytest.fixture
def engine(services: ServicesSettings) -> Iterator[Engine]:
    with scratch_database(services, "relabel") as (_, scratch_engine):
        moments = [START + timedelta(seconds=97 * n) for n in range(TOTAL)]
        posts = [labelled(f"r{n}-{'x' * (n % 7)}", m) for n, m in enumerate(moments)]
        PostgresSink(scratch_engine).write(posts)
        yield scratch_engine


def rollups_differ_from_rows(engine: Engine) -> list[tuple[object, ...]]:
    """Rows of (tier, bucket, source, label, rollup posts, counted posts) that disagree, and
    the version rollup's per-version totals against the rows'."""
    wrong: list[tuple[object, ...]] = []
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        for table, grain in ROLLUP_TIERS:
            rolled = connection.execute(text(counts_sql(grain, [(table, "TRUE")], by_source=True)))
            counted = connection.execute(text(counts_sql(grain, [(POSTS, "TRUE")], by_source=True)))
            have = {tuple(row[:3]): row[3] for row in rolled if row[3] != 0}
            want = {tuple(row[:3]): row[3] for row in counted}
            wrong += [
                (table, *k, have.get(k), want.get(k))
                for k in have.keys() | want.keys()
                if have.get(k) != want.get(k)
            ]
        versions = "SELECT model_version, sum(posts) FROM {} GROUP BY 1 HAVING sum(posts) <> 0"
        by_rollup = dict(connection.execute(text(versions.format("version_rollup"))).all())
        by_rows = dict(
            connection.execute(text("SELECT model_version, count(*) FROM posts GROUP BY 1")).all()
        )
        if by_rollup != by_rows:
            wrong.append(("version_rollup", by_rollup, by_rows))
    return wrong


def test_relabel_moves_every_row_and_rollup_count_to_the_new_version(engine: Engine) -> None:
    assert rollups_differ_from_rows(engine) == []
    assert relabel(engine, ByLength(), Range(), chunk_size=64) == TOTAL
    assert pending(engine, Range(), "v2") == 0
    with engine.connect() as connection:
        labels = connection.execute(text("SELECT text, label FROM posts")).all()
    assert all(label == LABELS[len(text_) % 6] for text_, label in labels)
    assert rollups_differ_from_rows(engine) == []


def test_a_range_relabels_only_its_rows(engine: Engine) -> None:
    span = Range(START + timedelta(hours=4), START + timedelta(hours=8))
    done = relabel(engine, ByLength(), span, chunk_size=50)
    assert 0 < done < TOTAL and pending(engine, Range(), "v2") == TOTAL - done
    assert rollups_differ_from_rows(engine) == []


def test_a_run_stopped_mid_chunk_resumes_without_counting_a_row_twice(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="killed mid-chunk"):
        relabel(engine, ByLength(fail_after_chunks=3), Range(), chunk_size=64)
    assert pending(engine, Range(), "v2") == TOTAL - 3 * 64
    assert rollups_differ_from_rows(engine) == []
    assert relabel(engine, ByLength(), Range(), chunk_size=64) == TOTAL - 3 * 64
    assert rollups_differ_from_rows(engine) == []


def test_the_command_killed_with_sigkill_resumes_and_reports_its_throughput(
    services: ServicesSettings, engine: Engine, tmp_path: Path
) -> None:
    bundle = build_tiny_bundle(tmp_path / "next", members=1)
    env = {
        **os.environ,
        "MOODWATCH_DB_NAME": engine.url.database or "",
        "MOODWATCH_WORKER_DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "cli", "relabel", "--bundle", str(bundle)]
    first = subprocess.Popen([*command, "--chunk-size", "8"], cwd=REPO, env=env)
    try:
        wait_for(
            lambda: pending(engine, Range(), _version(engine)) < TOTAL - 16,
            timeout=120,
            what="a few chunks relabelled",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    version = _version(engine)
    assert pending(engine, Range(), version) > 0, "killed before the end"
    assert rollups_differ_from_rows(engine) == []
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "posts/s" in done.stdout and f"model version {version}" in done.stdout
    assert pending(engine, Range(), version) == 0
    assert rollups_differ_from_rows(engine) == []


def _version(engine: Engine) -> str:
    """The version other than the fixture's `v1` found in the rows ('' before the first chunk)."""
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT model_version FROM posts WHERE model_version <> 'v1' LIMIT 1")
        ).scalar()
    return str(found or "")
