"""The hourly rollup read into per-key series: every source alone, and all sources together."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, text

from schemas.emotions import LABELS
from schemas.rollups import TIER_OF_GRAIN, counts_sql
from schemas.tables import ALL_SOURCES
from sentinel.rule import Series

HOUR = timedelta(hours=1)
LABEL_INDEX = {label: k for k, label in enumerate(LABELS)}


def hourly_counts(
    connection: Connection, since: datetime, until: datetime
) -> dict[str, np.ndarray]:
    """source -> [hours in [since, until), labels] posts; ALL_SOURCES sums every source."""
    where = "bucket >= :since AND bucket < :until"
    sql = counts_sql("hour", [(TIER_OF_GRAIN["hour"], where)], by_source=True)
    rows = connection.execute(text(sql), {"since": since, "until": until}).all()
    hours = int((until - since) / HOUR)
    found: dict[str, np.ndarray] = {ALL_SOURCES: np.zeros((hours, len(LABELS)), np.int64)}
    for bucket, source, label, posts in rows:
        t = int((bucket - since) / HOUR)
        if label not in LABEL_INDEX or not 0 <= t < hours:
            continue
        table = found.setdefault(str(source), np.zeros((hours, len(LABELS)), np.int64))
        table[t, LABEL_INDEX[label]] += int(posts)
        found[ALL_SOURCES][t, LABEL_INDEX[label]] += int(posts)
    return found


def keyed_series(counts: dict[str, np.ndarray]) -> dict[str, Series]:
    """The series to evaluate: all sources, and each source alone when there are several (one
    source alone would repeat the alerts of all)."""
    sources = [source for source in counts if source != ALL_SOURCES]
    keys = [ALL_SOURCES] + (sources if len(sources) > 1 else [])
    return {key: Series(counts[key]) for key in keys}
