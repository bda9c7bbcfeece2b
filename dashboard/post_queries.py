"""Read-only queries for single posts and per-post figures (the lists, uncertainty, version).

Each one is bounded: it walks an index (created_at, uncertainty) and stops at a LIMIT, so its
cost does not grow with the table.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from sqlalchemy import Engine, text

from dashboard.filters import Filters, posts_where
from schemas.tables import PROBABILITY_COLUMNS

PostOrder = Literal["recent", "uncertain"]
ORDER_BY: dict[PostOrder, str] = {
    "recent": "created_at DESC",
    "uncertain": "uncertainty DESC, created_at DESC",
}
POST_COLUMNS = [
    "created_at",
    "label",
    "confidence",
    "uncertainty",
    "text",
    "source",
    "author",
    "lang",
    *PROBABILITY_COLUMNS,
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "post_id",
    "model_version",
]


def posts_list(engine: Engine, filters: Filters, order: PostOrder, limit: int = 50) -> pd.DataFrame:
    """The newest or the most uncertain posts matching every filter, emotions included."""
    where, params = posts_where(filters, with_labels=True)
    sql = f"""
        SELECT {", ".join(POST_COLUMNS)} FROM posts
        WHERE {where} ORDER BY {ORDER_BY[order]} LIMIT :limit
    """
    with engine.connect() as connection:
        rows = connection.execute(text(sql), {**params, "limit": limit}).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=POST_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def mean_uncertainty(engine: Engine, filters: Filters, sample: int = 10_000) -> float | None:
    """Mean member disagreement over the newest `sample` posts in range (None: no posts)."""
    where, params = posts_where(filters, with_labels=True)
    sql = f"""
        SELECT avg(uncertainty) FROM (
            SELECT uncertainty FROM posts WHERE {where} ORDER BY created_at DESC LIMIT :sample
        ) AS newest
    """
    with engine.connect() as connection:
        value = connection.execute(text(sql), {**params, "sample": sample}).scalar()
    return None if value is None else float(value)


def newest_model_version(engine: Engine) -> str | None:
    sql = "SELECT model_version FROM posts ORDER BY created_at DESC LIMIT 1"
    with engine.connect() as connection:
        value = connection.execute(text(sql)).scalar()
    return None if value is None else str(value)
