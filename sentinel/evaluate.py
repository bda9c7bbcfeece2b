"""One evaluation pass: every complete hour not yet evaluated, oldest first, through the rule
and the episode decisions into the `alerts` table, each bucket in one transaction.

Re-evaluating a bucket changes nothing (see `episodes`), so each pass also looks back
`lookback` hours: posts that arrived late count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, Engine

from schemas.emotions import LABELS
from sentinel import store
from sentinel.counts import HOUR, hourly_counts, keyed_series
from sentinel.episodes import Episode, Step, episode_key, step
from sentinel.explain import explain
from sentinel.rule import Series, SpikeRule, Verdict, assess

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Policy:
    """What happens around the rule: closing, cool-down, delivery, explaining."""

    close_after: int = 3
    hold: float = 3.0  # an open episode goes on while its score stays this far out
    cooldown: timedelta = timedelta(hours=1)
    deliver: bool = True  # False: no webhook configured, new alerts are marked `off`
    lookback: int = 3


@dataclass
class Episodes:
    """The alerts' state the decisions read, loaded once per pass and kept in step with every
    write (the sentinel is the table's only writer)."""

    current: dict[store.Key, Episode] = field(default_factory=dict)  # open episodes
    seen: dict[store.Key, datetime] = field(default_factory=dict)  # last bucket covered


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class Evaluator:
    def __init__(self, engine: Engine, rule: SpikeRule, policy: Policy) -> None:
        self._engine = engine
        self.rule = rule
        self.policy = policy
        self.evaluated_until: datetime | None = None  # the newest bucket evaluated

    def run(self, now: datetime) -> int:
        """Evaluate the complete hours up to `now`; returns how many alerts were opened."""
        last = floor_hour(now) - HOUR
        first = last - (self.policy.lookback - 1) * HOUR
        if self.evaluated_until is not None:
            first = min(first, self.evaluated_until + HOUR)
        return self.evaluate(first, last, now)

    def evaluate(self, first: datetime, last: datetime, now: datetime) -> int:
        """Evaluate the buckets first..last (inclusive), oldest first."""
        since = first - self.rule.history * HOUR
        with self._engine.connect() as connection:
            series = keyed_series(hourly_counts(connection, since, last + HOUR))
            state = Episodes(store.open_episodes(connection), store.seen_until(connection))
        opened = 0
        bucket = first
        while bucket <= last:
            t = int((bucket - since) / HOUR)
            decisions = self._decide(state, series, t, bucket)
            if decisions:  # most hours change nothing: no transaction for them
                with self._engine.begin() as connection:
                    opened += self._apply(connection, state, decisions, bucket, now)
            bucket += HOUR
        self.evaluated_until = last
        return opened

    def _decide(
        self, state: Episodes, series: dict[str, Series], t: int, bucket: datetime
    ) -> list[tuple[store.Key, Step, Verdict | None]]:
        decisions = []
        for source, one in series.items():
            for emotion, verdict in zip(LABELS, assess(one, t, self.rule), strict=True):
                key = (emotion, source)
                decision = step(
                    state.current.get(key),
                    state.seen.get(key),
                    verdict,
                    bucket,
                    self.policy.close_after,
                    self.policy.hold,
                )
                if not decision.idle:
                    decisions.append((key, decision, verdict))
        return decisions

    def _apply(
        self,
        connection: Connection,
        state: Episodes,
        decisions: list[tuple[store.Key, Step, Verdict | None]],
        bucket: datetime,
        now: datetime,
    ) -> int:
        opened = 0
        for key, decision, verdict in decisions:
            if decision.close is not None:
                self._close(connection, key, decision.close, now)
                del state.current[key]
            if decision.extend is not None and verdict is not None:
                store.extend_alert(connection, decision.extend, verdict, bucket, now)
                peak = max(decision.extend.peak_score, verdict.score, key=abs)
                state.current[key] = replace(decision.extend, last_seen=bucket, peak_score=peak)
                state.seen[key] = bucket
            if decision.open is not None and verdict is not None:
                alert_id = self._open(connection, key, verdict, bucket, now)
                if alert_id is not None:
                    opened += 1
                    state.current[key] = Episode(alert_id, decision.open, bucket, verdict.score)
                    state.seen[key] = bucket
        return opened

    def _open(
        self,
        connection: Connection,
        key: store.Key,
        verdict: Verdict,
        bucket: datetime,
        now: datetime,
    ) -> int | None:
        """The new alert's id (None: this episode was stored before a restart)."""
        assert verdict.direction is not None
        state = "off"
        if self.policy.deliver:
            cooling = store.recently_sent(connection, key, bucket, self.policy.cooldown)
            state = "cooldown" if cooling else "pending"
        name = episode_key(key[0], key[1], verdict.direction, bucket)
        alert_id = store.insert_alert(
            connection,
            key=key,
            episode_key=name,
            verdict=verdict,
            bucket=bucket,
            delivery_state=state,
            now=now,
        )
        if alert_id is None:
            return None
        window = (bucket - (verdict.window - 1) * HOUR, bucket + HOUR)
        self._explain(connection, alert_id, key, window)
        log.warning("alert opened", alert=name, score=round(verdict.score, 1), delivery=state)
        return alert_id

    def _close(
        self, connection: Connection, key: store.Key, episode: Episode, now: datetime
    ) -> None:
        store.close_alert(connection, episode.alert_id, now)
        log.info("alert closed", alert_id=episode.alert_id, emotion=key[0], source=key[1])

    def _explain(
        self,
        connection: Connection,
        alert_id: int,
        key: store.Key,
        window: tuple[datetime, datetime],
    ) -> None:
        found = explain(connection, key[0], key[1], window, self.rule.seasons)
        store.save_explanation(connection, alert_id, found.as_json(), found.example_post_ids)
