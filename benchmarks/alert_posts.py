"""Labelled posts written straight into `posts` and the rollup tiers, as the worker would keep
them, for the alert benchmark and the sentinel's integration tests.

The label is given (the benchmark measures the rule, not the model): its probability vector is
smoothed one-hot (0.9 on the label), so `p_<label>` ranks example posts as the model's would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from schemas.emotions import LABELS
from schemas.rollups import rollups_from_posts
from schemas.tables import PROBABILITY_COLUMNS

ON_LABEL = 0.9
OFF_LABEL = (1 - ON_LABEL) / (len(LABELS) - 1)
CHUNK = 5000  # rows per COPY write
COLUMNS = (
    "post_id",
    "text",
    "source",
    "created_at",
    "label",
    "confidence",
    *PROBABILITY_COLUMNS,
    "uncertainty",
    "model_version",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
)


@dataclass(frozen=True)
class Post:
    post_id: str
    text: str
    created_at: datetime
    label: str


def _field(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text_ = str(value)
    return (
        text_.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _line(post: Post, source: str, offset: int) -> str:
    """One row of COPY's text format (faster than psycopg's row by row)."""
    probabilities = [ON_LABEL if label == post.label else OFF_LABEL for label in LABELS]
    values = (
        post.post_id,
        post.text,
        source,
        post.created_at,
        post.label,
        ON_LABEL,
        *probabilities,
        0.0,
        "replay-gold",
        "replay",
        0,
        offset,
    )
    return "\t".join(_field(value) for value in values) + "\n"


def write_posts(engine: Engine, posts: Iterable[Post], source: str) -> int:
    """COPY the posts of `source` into `posts`, then sum both rollup tiers from them (the
    tiers must hold no rows of `source` yet); returns how many posts were written."""
    written = 0
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        with cursor.copy(f"COPY posts ({', '.join(COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            lines: list[str] = []
            for offset, post in enumerate(posts):
                lines.append(_line(post, source, offset))
                if len(lines) == CHUNK:
                    copy.write("".join(lines))
                    lines.clear()
                written += 1
            copy.write("".join(lines))
        connection.commit()
    finally:
        connection.close()
    with engine.begin() as db:
        for statement in rollups_from_posts("source = :source"):
            db.execute(text(statement), {"source": source} if "INSERT" in statement else {})
    return written


def delete_source(engine: Engine, source: str) -> None:
    """Remove the posts, rollup rows and alerts a run wrote for `source`."""
    with engine.begin() as db:
        for table in ("posts", "emotion_rollup", "emotion_rollup_hourly"):
            db.execute(text(f"DELETE FROM {table} WHERE source = :source"), {"source": source})
        db.execute(text("DELETE FROM alerts"))
