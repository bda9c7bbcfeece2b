"""The `alerts` table as the sentinel reads and writes it (the sentinel role: this table only).

Every write goes through SQLAlchemy Core with bound values; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from schemas.tables import alerts
from sentinel.episodes import Episode
from sentinel.rule import Verdict

Key = tuple[str, str]  # (emotion, source)


def open_episodes(connection: Connection) -> dict[Key, Episode]:
    rows = connection.execute(
        select(
            alerts.c.emotion,
            alerts.c.source,
            alerts.c.alert_id,
            alerts.c.direction,
            alerts.c.last_seen,
            alerts.c.peak_score,
        ).where(alerts.c.state == "open")
    ).all()
    return {
        (r.emotion, r.source): Episode(r.alert_id, r.direction, r.last_seen, r.peak_score)
        for r in rows
    }


def seen_until(connection: Connection) -> dict[Key, datetime]:
    """The last bucket any alert of each (emotion, source) covered."""
    rows = connection.execute(
        select(alerts.c.emotion, alerts.c.source, func.max(alerts.c.last_seen)).group_by(
            alerts.c.emotion, alerts.c.source
        )
    ).all()
    return {(emotion, source): last for emotion, source, last in rows}


def _figures(verdict: Verdict) -> dict[str, Any]:
    return {
        "observed_share": verdict.share,
        "observed_posts": verdict.posts,
        "window_posts": verdict.window_posts,
        "baseline_share": verdict.baseline,
        "score": verdict.score,
    }


def recently_sent(connection: Connection, key: Key, bucket: datetime, cooldown: timedelta) -> bool:
    """Whether an alert of `key` detected within `cooldown` before `bucket` is (to be) sent."""
    emotion, source = key
    found = connection.execute(
        select(alerts.c.alert_id)
        .where(
            and_(
                alerts.c.emotion == emotion,
                alerts.c.source == source,
                alerts.c.bucket > bucket - cooldown,
                alerts.c.bucket <= bucket,
                alerts.c.delivery_state.in_(("pending", "delivered")),
            )
        )
        .limit(1)
    ).first()
    return found is not None


def insert_alert(
    connection: Connection,
    *,
    key: Key,
    episode_key: str,
    verdict: Verdict,
    bucket: datetime,
    delivery_state: str,
    now: datetime,
) -> int | None:
    """The new episode's id; None when its key exists (found before a restart)."""
    emotion, source = key
    statement = (
        pg_insert(alerts)
        .values(
            episode_key=episode_key,
            emotion=emotion,
            source=source,
            direction=verdict.direction,
            bucket=bucket,
            first_seen=bucket - timedelta(hours=verdict.window - 1),
            last_seen=bucket,
            peak_score=verdict.score,
            opened_at=now,
            updated_at=now,
            delivery_state=delivery_state,
            **_figures(verdict),
        )
        .on_conflict_do_nothing(index_elements=["episode_key"])
        .returning(alerts.c.alert_id)
    )
    found = connection.execute(statement).scalar()
    return None if found is None else int(found)


def extend_alert(
    connection: Connection, episode: Episode, verdict: Verdict, bucket: datetime, now: datetime
) -> None:
    """The spike goes on until `bucket`; the figures stay those of the episode's peak."""
    values: dict[str, Any] = {"last_seen": bucket, "updated_at": now}
    if abs(verdict.score) > abs(episode.peak_score):
        values.update(peak_score=verdict.score, **_figures(verdict))
    connection.execute(update(alerts).where(alerts.c.alert_id == episode.alert_id).values(**values))


def close_alert(connection: Connection, alert_id: int, now: datetime) -> None:
    connection.execute(
        update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(state="closed", closed_at=now, updated_at=now)
    )


def save_explanation(
    connection: Connection, alert_id: int, terms: list[dict[str, Any]], examples: Sequence[str]
) -> None:
    connection.execute(
        update(alerts)
        .where(alerts.c.alert_id == alert_id)
        .values(explanation=terms, example_post_ids=list(examples))
    )
