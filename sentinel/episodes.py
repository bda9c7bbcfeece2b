"""One alert per episode: what a new verdict does to the (emotion, source)'s alert.

Pure decisions, no database: `step` is called once per evaluated bucket, oldest first. Re-
evaluating a bucket already seen (a restart, late posts) changes nothing, so the sentinel may
look back a few buckets on every pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sentinel.rule import Verdict

BUCKET = timedelta(hours=1)


@dataclass(frozen=True)
class Episode:
    """The open alert of one (emotion, source), as the decisions need it."""

    alert_id: int
    direction: str
    last_seen: datetime
    peak_score: float


@dataclass(frozen=True)
class Step:
    close: Episode | None = None  # close this open episode
    extend: Episode | None = None  # the spike goes on: update this one
    open: str | None = None  # open a new episode in this direction

    @property
    def idle(self) -> bool:
        return self.close is None and self.extend is None and self.open is None


def step(
    current: Episode | None,
    seen_until: datetime | None,
    verdict: Verdict | None,
    bucket: datetime,
    close_after: int,
    hold: float = 3.0,
) -> Step:
    """`current`: the open episode; `seen_until`: the last bucket any alert of this key
    covered; `close_after`: quiet buckets that end an episode; `hold`: the score at which an
    open episode goes on though nothing fires (hysteresis: a spike hovering around the
    threshold stays one episode)."""
    if current is not None and bucket <= current.last_seen:
        return Step()  # evaluated before
    if current is not None and verdict is not None and _holds(current, verdict, hold):
        return Step(extend=current)
    if verdict is None or not verdict.fired:
        if current is not None and bucket - current.last_seen >= close_after * BUCKET:
            return Step(close=current)
        return Step()
    if current is not None and current.direction == verdict.direction:
        return Step(extend=current)
    evidence_from = bucket - (verdict.window - 1) * BUCKET
    if current is None and seen_until is not None and evidence_from <= seen_until:
        return Step()  # a closed episode already covered this bucket, or its evidence
    return Step(close=current, open=verdict.direction)


def _holds(current: Episode, verdict: Verdict, hold: float) -> bool:
    same_way = (verdict.score > 0) == (current.direction == "rise")
    return same_way and abs(verdict.score) >= hold


def episode_key(emotion: str, source: str, direction: str, bucket: datetime) -> str:
    """The idempotency key: the same episode found twice (a restart) gets the same key."""
    return f"{emotion}:{source}:{direction}:{bucket:%Y-%m-%dT%H:%MZ}"
