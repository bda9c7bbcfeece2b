"""The PostgreSQL sink: rows and rollup in one transaction, idempotent on the post id."""

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError, SQLAlchemyError

from schemas.emotions import LABELS
from schemas.messages import Prediction
from schemas.tables import (
    PROBABILITY_COLUMNS,
    emotion_rollup,
    emotion_rollup_hourly,
    post_ids,
    posts,
)
from worker.decode import DecodedPost
from worker.horizon import Horizon
from worker.model_rollups import Counted, model_rollup_increments


class StoreUnavailable(Exception):
    """The database cannot take rows now (connection, shutdown, schema not migrated): retry,
    commit nothing."""


class StoreRejected(Exception):
    """The database refused the data itself: retrying the same rows cannot succeed."""


@dataclass(frozen=True)
class LabelledPost:
    decoded: DecodedPost
    prediction: Prediction
    shadow: Prediction | None = None  # the candidate bundle's, when one runs in shadow


def _row(item: LabelledPost) -> dict[str, object]:
    post, where, prediction = item.decoded.post, item.decoded.coordinates, item.prediction
    return {
        "post_id": post.id,
        "text": post.text,
        "author": post.author,
        "source": post.source or "unknown",
        "lang": post.lang,
        "meta": post.meta,
        "created_at": item.decoded.created_at,
        "label": prediction.label,
        "confidence": prediction.probability,
        **dict(zip(PROBABILITY_COLUMNS, prediction.probabilities, strict=True)),
        "uncertainty": prediction.uncertainty,
        "model_version": prediction.model_version,
        "kafka_topic": where.topic,
        "kafka_partition": where.partition,
        "kafka_offset": where.offset,
    }


def _counted(item: LabelledPost) -> Counted:
    prediction = item.prediction
    source = item.decoded.post.source or "unknown"
    created_at, version = item.decoded.created_at, prediction.model_version
    return Counted(created_at, source, prediction.label, version, item.shadow)


# One statement for every batch, executed with the batch's rows as parameters: SQLAlchemy
# caches its compiled form and sends the rows as one multi-row INSERT ("insertmanyvalues").
# Building `.values(rows)` anew compiled ~1,300 bind parameters per batch of 64 (25 ms here).
# The id ledger decides which posts are new, whichever day partition holds them (revision 0005):
# only the posts whose ids it accepted are inserted, so an id already stored never reaches
# `posts` (a row there that still conflicts is an inconsistency, refused loudly).
NEW_IDS = (
    insert(post_ids)
    .on_conflict_do_nothing(index_elements=["post_id"])
    .returning(post_ids.c.post_id)
)
NEW_POSTS = insert(posts).returning(
    posts.c.created_at,
    posts.c.source,
    posts.c.label,
    *(posts.c[column] for column in PROBABILITY_COLUMNS),
)


class Written(NamedTuple):
    """What one write did: rows new to the table, and posts skipped as past the horizon (the
    rest of the batch was already stored)."""

    new: int
    expired: int = 0


class PostgresSink:
    """`write` stores a batch atomically and says how many rows were new (`Written`).

    Replayed posts (same id) are skipped by the `post_ids` ledger's `ON CONFLICT DO NOTHING`,
    posts older than the horizon are skipped too and counted apart (`worker.horizon`: the
    caller reports them), and the rollups (per
    minute and per hour, per model version, the shadow's) are incremented only by the rows this
    transaction actually inserted.
    """

    def __init__(self, engine: Engine, horizon: Horizon | None = None) -> None:
        self._engine = engine
        self._horizon = horizon or Horizon(retention_days=None)

    def write(self, batch: Sequence[LabelledPost]) -> Written:
        current = [item for item in batch if self._horizon.accepts(item.decoded.created_at)]
        expired = len(batch) - len(current)
        if not current:
            return Written(0, expired)
        try:
            with self._engine.begin() as connection:
                accepted = self._new_posts(connection, current)
                rows = [_row(item) for item in accepted]
                inserted = connection.execute(NEW_POSTS, rows).all() if rows else []
                for increment in rollup_increments(inserted) if inserted else []:
                    connection.execute(increment)
                for increment in model_rollup_increments([_counted(item) for item in accepted]):
                    connection.execute(increment)
        except (DataError, IntegrityError) as exc:
            raise StoreRejected(f"{type(exc.orig).__name__}: {exc.orig}") from exc
        except ProgrammingError as exc:
            # A missing table or privilege is the deployment's fault, not the posts': waited
            # out like an outage, rather than every post dead-lettered (migrate, then it goes on).
            raise StoreUnavailable(f"{type(exc.orig).__name__}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            raise StoreUnavailable(f"{type(orig).__name__}: {orig}") from exc
        return Written(len(inserted), expired)

    def _new_posts(
        self, connection: Connection, batch: Sequence[LabelledPost]
    ) -> list[LabelledPost]:
        """The posts whose ids the ledger took (the first of a repeated id)."""
        first: dict[str, LabelledPost] = {}
        for item in batch:
            first.setdefault(item.decoded.post.id, item)
        # In id order: two workers replaying the same ids (a rebalance) lock them in one order.
        ledger = [{"post_id": i, "created_at": first[i].decoded.created_at} for i in sorted(first)]
        taken = set(connection.execute(NEW_IDS, ledger).scalars())
        return [item for post_id, item in first.items() if post_id in taken]


def minute_bucket(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def hour_bucket(moment: datetime) -> datetime:
    # In UTC: a zone with a half-hour offset would otherwise shift the hours.
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_increments(rows: Sequence[Any], sign: int = 1) -> list[Insert]:
    """The per-minute rollup and its hourly tier, both moved by `rows`: (created_at, source,
    label, p_sadness, ..., p_surprise) as `NEW_POSTS` returns them. `sign` -1 takes the rows
    out again (a post relabelled: out with its old label and probabilities, in with the new)."""
    tiers: list[tuple[Table, Callable[[datetime], datetime]]] = [
        (emotion_rollup, minute_bucket),
        (emotion_rollup_hourly, hour_bucket),
    ]
    return [_increment(table, bucket, rows, sign) for table, bucket in tiers]


def _increment(
    table: Table, bucket: Callable[[datetime], datetime], rows: Sequence[Any], sign: int
) -> Insert:
    """One upsert: per (bucket, source, emotion), the posts labelled with it and the sum of its
    probability over all of them, so every emotion of a bucket gets a row (posts 0 allowed)."""
    counts: Counter[tuple[datetime, str, str]] = Counter()
    sums: defaultdict[tuple[datetime, str, str], float] = defaultdict(float)
    for created_at, source, label, *probabilities in rows:
        at = bucket(created_at)
        counts[at, source, label] += sign
        for emotion, probability in zip(LABELS, probabilities, strict=True):
            sums[at, source, emotion] += sign * probability
    # Sorted keys give every worker the same lock order, so concurrent upserts cannot deadlock.
    values = [
        {"bucket": b, "source": s, "label": lab, "posts": counts[b, s, lab], "probability_sum": p}
        for (b, s, lab), p in sorted(sums.items())
    ]
    statement = insert(table).values(values)
    return statement.on_conflict_do_update(
        index_elements=["bucket", "source", "label"],
        set_={
            "posts": table.c.posts + statement.excluded.posts,
            "probability_sum": table.c.probability_sum + statement.excluded.probability_sum,
        },
    )
