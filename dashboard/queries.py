"""Read-only queries of the dashboard, all parameterised, all from the rollup."""

from datetime import datetime
from typing import Literal

import pandas as pd
from sqlalchemy import Engine, create_engine, text

from schemas.settings import DatabaseSettings

Grain = Literal["minute", "hour", "day"]


def readonly_engine(db: DatabaseSettings) -> Engine:
    return create_engine(db.url(readonly=True), pool_pre_ping=True, pool_size=2)


def emotion_counts(engine: Engine, since: datetime, until: datetime, grain: Grain) -> pd.DataFrame:
    """Posts per bucket and label in [since, until), summed from the per-minute rollup."""
    query = text(
        """
        SELECT date_trunc(:grain, bucket) AS bucket, label, sum(posts)::bigint AS posts
        FROM emotion_rollup
        WHERE bucket >= :since AND bucket < :until
        GROUP BY 1, 2
        ORDER BY 1, 2
        """
    )
    with engine.connect() as connection:
        frame = pd.read_sql(
            query, connection, params={"grain": grain, "since": since, "until": until}
        )
    return frame


def model_versions(engine: Engine) -> list[str]:
    query = text("SELECT DISTINCT model_version FROM posts ORDER BY 1 DESC LIMIT 5")
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(query)]
