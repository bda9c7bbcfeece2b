"""Early warning on the page: the sentinel's alerts, read from the `alerts` table.

The dashboard decides nothing about spikes: the sentinel (`moodwatch sentinel`) applies the one
rule (docs/alerts.md) and keeps one row per episode; this module reads the episodes that
overlap the page's range, and places their rings on the share chart.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, bindparam, text

from dashboard.filters import GRAIN_STEP, Filters

ALERT_COLUMNS = [
    "alert_id",
    "bucket",
    "emotion",
    "source",
    "direction",
    "state",
    "observed_share",
    "baseline_share",
    "score",
    "observed_posts",
    "window_posts",
    "first_seen",
    "last_seen",
    "explanation",
    "example_post_ids",
    "delivery_state",
    "delivered_at",
]
TIME_COLUMNS = ["bucket", "first_seen", "last_seen", "delivered_at"]
EXAMPLE_COLUMNS = ["post_id", "created_at", "source", "text"]


def alerts_in_range(engine: Engine, filters: Filters, limit: int = 200) -> pd.DataFrame:
    """Alert episodes that overlap [since, until), newest first; the page's emotions and
    sources only (an alert on all sources, `*`, always shows)."""
    where = ["last_seen >= :since", "first_seen < :until"]
    params: dict[str, Any] = {"since": filters.since, "until": filters.until, "limit": limit}
    if filters.labels:
        where.append("emotion IN :labels")
        params["labels"] = list(filters.labels)
    if filters.sources:
        where.append("(source = '*' OR source IN :sources)")
        params["sources"] = list(filters.sources)
    sql = text(
        f"SELECT {', '.join(ALERT_COLUMNS)} FROM alerts WHERE {' AND '.join(where)} "
        "ORDER BY bucket DESC, alert_id DESC LIMIT :limit"
    )
    for name in ("labels", "sources"):
        if name in params:
            sql = sql.bindparams(bindparam(name, expanding=True))
    with engine.connect() as connection:
        rows = connection.execute(sql, params).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=ALERT_COLUMNS)
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def example_posts(engine: Engine, post_ids: list[str]) -> pd.DataFrame:
    """The example posts an alert names, in its order (posts past retention are missing)."""
    sql = text(f"SELECT {', '.join(EXAMPLE_COLUMNS)} FROM posts WHERE post_id = ANY(:ids)")
    with engine.connect() as connection:
        rows = {row[0]: tuple(row) for row in connection.execute(sql, {"ids": post_ids})}
    return pd.DataFrame([rows[i] for i in post_ids if i in rows], columns=EXAMPLE_COLUMNS)


def rings(alerts: pd.DataFrame, trend: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Where each alert sits on the share chart: its detection bucket, at the grain shown, on
    its emotion's line (label, bucket, share, and the alert's figures for the tooltip)."""
    columns = ["bucket", "label", "share", "direction", "observed_share", "baseline_share", "score"]
    if alerts.empty or trend.empty:
        return pd.DataFrame(columns=columns)
    step = pd.Timedelta(GRAIN_STEP[filters.grain])
    placed = alerts.assign(label=alerts["emotion"], bucket=alerts["bucket"].dt.floor(step))
    merged = placed.merge(trend[["bucket", "label", "share"]], on=["bucket", "label"])
    return merged[columns]


def term_line(explanation: list[dict[str, Any]], top: int = 5) -> str:
    return ", ".join(str(term["term"]) for term in explanation[:top]) or "-"
