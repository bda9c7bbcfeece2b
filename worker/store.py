"""The PostgreSQL sink: rows and rollup in one transaction, idempotent on the post id."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError, SQLAlchemyError

from schemas.messages import Prediction
from schemas.tables import PROBABILITY_COLUMNS, emotion_rollup, posts
from worker.decode import DecodedPost


class StoreUnavailable(Exception):
    """A transient database failure (connection, server shutdown): retry, commit nothing."""


class StoreRejected(Exception):
    """The database refused the data itself: retrying the same rows cannot succeed."""


@dataclass(frozen=True)
class LabelledPost:
    decoded: DecodedPost
    prediction: Prediction


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


class PostgresSink:
    """`write` stores a batch atomically and returns how many rows were new.

    Replayed posts (same id) are skipped by `ON CONFLICT DO NOTHING`, and the rollup is
    incremented from `RETURNING`, i.e. only by the rows this statement actually inserted.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, batch: Sequence[LabelledPost]) -> int:
        if not batch:
            return 0
        new_posts = (
            insert(posts)
            .values([_row(item) for item in batch])
            .on_conflict_do_nothing(index_elements=["post_id"])
            .returning(posts.c.created_at, posts.c.source, posts.c.label)
        )
        try:
            with self._engine.begin() as connection:
                inserted = connection.execute(new_posts).all()
                if inserted:
                    connection.execute(_rollup_increment(inserted))
        except (DataError, IntegrityError, ProgrammingError) as exc:
            raise StoreRejected(f"{type(exc.orig).__name__}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            raise StoreUnavailable(f"{type(orig).__name__}: {orig}") from exc
        return len(inserted)


def minute_bucket(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _rollup_increment(inserted: Sequence[Any]) -> Insert:
    counts = Counter((minute_bucket(row[0]), row[1], row[2]) for row in inserted)
    # Sorted keys give every worker the same lock order, so concurrent upserts cannot deadlock.
    values = [
        {"bucket": b, "source": s, "label": lab, "posts": n}
        for (b, s, lab), n in sorted(counts.items())
    ]
    statement = insert(emotion_rollup).values(values)
    return statement.on_conflict_do_update(
        index_elements=["bucket", "source", "label"],
        set_={"posts": emotion_rollup.c.posts + statement.excluded.posts},
    )
