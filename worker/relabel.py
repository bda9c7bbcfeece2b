"""`moodwatch relabel`: stored posts labelled again by another bundle, rollups moved with them.

Posts are read in chunks in (created_at, post_id) order (keyset, never OFFSET). Each chunk is
one transaction: its rows are locked, labelled, updated (label, confidence, probabilities,
uncertainty, model version), and the rollup tiers and the version rollup lose the rows' old
counts and gain the new ones, so every rollup equals its rows at every commit. Only rows not
yet at the bundle's version are chosen: a run killed at any moment (its open chunk rolled back)
resumes where it stopped when started again, and no row is ever counted twice.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, bindparam, func, select, tuple_, update
from sqlalchemy.exc import OperationalError
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

from schemas.tables import PROBABILITY_COLUMNS, posts, version_rollup
from worker.labeller import Predicts
from worker.model_rollups import Counted, upsert_counts, version_deltas
from worker.store import NEW_POSTS, rollup_increments

# What the rollup functions take of a row: exactly what the sink's insert returns to them.
COUNTED = tuple(NEW_POSTS.exported_columns)


@dataclass(frozen=True)
class Range:
    since: datetime | None = None
    until: datetime | None = None

    def where(self, version: str) -> Any:
        """Rows of the range not yet labelled by `version`."""
        conditions = [posts.c.model_version != version]
        if self.since is not None:
            conditions.append(posts.c.created_at >= self.since)
        if self.until is not None:
            conditions.append(posts.c.created_at < self.until)
        return and_(*conditions)


def pending(engine: Engine, span: Range, version: str) -> int:
    """How many rows of the range the bundle has still to label."""
    with engine.connect() as connection:
        query = select(func.count()).select_from(posts).where(span.where(version))
        return int(connection.execute(query).scalar_one())


def _chunk(
    connection: Connection, span: Range, version: str, after: Any, size: int
) -> list[Row[Any]]:
    key = tuple_(posts.c.created_at, posts.c.post_id)
    query = select(posts.c.post_id, posts.c.text, posts.c.model_version, *COUNTED).where(
        span.where(version)
    )
    if after is not None:
        query = query.where(key > tuple_(*after))
    query = query.order_by(posts.c.created_at, posts.c.post_id).limit(size)
    return list(connection.execute(query.with_for_update()).all())


UPDATE = (
    update(posts)
    .where(posts.c.post_id == bindparam("b_post_id"))
    .where(posts.c.created_at == bindparam("b_created_at"))
    .values(
        label=bindparam("label"),
        confidence=bindparam("confidence"),
        uncertainty=bindparam("uncertainty"),
        model_version=bindparam("model_version"),
        **{column: bindparam(column) for column in PROBABILITY_COLUMNS},
    )
)


def _relabel_chunk(connection: Connection, rows: Sequence[Row[Any]], predictor: Predicts) -> None:
    predictions = predictor.predict([row.text for row in rows])
    paired = list(zip(rows, predictions, strict=True))
    connection.execute(
        UPDATE,
        [
            {
                "b_post_id": row.post_id,
                "b_created_at": row.created_at,
                "label": p.label,
                "confidence": p.probability,
                "uncertainty": p.uncertainty,
                "model_version": p.model_version,
                **dict(zip(PROBABILITY_COLUMNS, p.probabilities, strict=True)),
            }
            for row, p in paired
        ],
    )
    old = [tuple(row)[3:] for row in rows]
    new = [(row.created_at, row.source, p.label, *p.probabilities) for row, p in paired]
    for statement in rollup_increments(old, sign=-1) + rollup_increments(new):
        connection.execute(statement)
    before = [Counted(r.created_at, r.source, r.label, r.model_version) for r in rows]
    after = [Counted(r.created_at, r.source, p.label, p.model_version) for r, p in paired]
    moved = version_deltas(before, sign=-1)
    moved.update(version_deltas(after))  # adds: a bucket's net move between the versions
    connection.execute(upsert_counts(version_rollup, ("bucket", "model_version"), moved))


@retry(
    retry=retry_if_exception_type(OperationalError),  # a deadlock with a worker's upsert
    wait=wait_exponential(max=5),
    stop=stop_after_attempt(5),
    reraise=True,
)
def _one_chunk(
    engine: Engine, span: Range, predictor: Predicts, after: Any, size: int
) -> list[Row[Any]]:
    with engine.begin() as connection:
        rows = _chunk(connection, span, predictor.version, after, size)
        if rows:
            _relabel_chunk(connection, rows, predictor)
    return rows


def relabel(
    engine: Engine,
    predictor: Predicts,
    span: Range,
    chunk_size: int,
    progress: Callable[[int], object] = lambda _: None,
) -> int:
    """Relabels every row of `span` not at `predictor.version`; returns how many it did."""
    after, done = None, 0
    while rows := _one_chunk(engine, span, predictor, after, chunk_size):
        after = (rows[-1].created_at, rows[-1].post_id)
        done += len(rows)
        progress(len(rows))
    return done
