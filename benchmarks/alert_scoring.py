"""Scoring the sentinel's alerts against the injected episodes of a replay."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from benchmarks.alert_replay import Injected

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Alert:
    emotion: str
    direction: str
    bucket: datetime
    terms: list[str]


@dataclass
class Score:
    episodes: int = 0
    found: int = 0
    alerts: int = 0
    matched_alerts: int = 0
    compensating: int = 0  # other emotions moving the opposite way during an episode
    delays: list[int] = field(default_factory=list)
    topic_top3: int = 0
    topic_found: int = 0

    def add(self, other: Score) -> None:
        for name in ("episodes", "found", "alerts", "matched_alerts", "compensating"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.topic_top3 += other.topic_top3
        self.topic_found += other.topic_found
        self.delays += other.delays

    def figures(self) -> dict[str, Any]:
        delays = sorted(self.delays)
        false = self.alerts - self.matched_alerts
        return {
            "episodes": self.episodes,
            "alerts": self.alerts,
            "recall": self.found / self.episodes if self.episodes else None,
            "precision": self.matched_alerts / self.alerts if self.alerts else None,
            "precision_without_compensating": (
                self.matched_alerts / (self.alerts - self.compensating)
                if self.alerts > self.compensating
                else None
            ),
            "false_alerts": false,
            "compensating_alerts": self.compensating,
            "delay_buckets_median": delays[len(delays) // 2] if delays else None,
            "delay_buckets_max": delays[-1] if delays else None,
        }


def _rise_or_drop(episode: Injected) -> str:
    return "rise" if episode.lift > 0 else "drop"


def score(alerts: list[Alert], episodes: list[Injected], start: datetime, tail_hours: int) -> Score:
    """An alert matches an episode of its emotion and direction that it falls in (or in the
    `tail_hours` after it: the long windows still see it); the first match gives the delay."""
    result = Score(episodes=len(episodes), alerts=len(alerts))
    spans = [
        (e, start + e.start * HOUR, start + (e.start + e.hours + tail_hours) * HOUR)
        for e in episodes
    ]
    found: dict[int, Alert] = {}
    for alert in sorted(alerts, key=lambda a: a.bucket):
        match = [
            i
            for i, (e, begin, end) in enumerate(spans)
            if e.label == alert.emotion
            and _rise_or_drop(e) == alert.direction
            and begin <= alert.bucket < end
        ]
        if match:
            result.matched_alerts += 1
            found.setdefault(match[0], alert)
        elif any(begin <= alert.bucket < end for _, begin, end in spans):
            result.compensating += 1
    result.found = len(found)
    for i, alert in found.items():
        episode, begin, _ = spans[i]
        result.delays.append(int((alert.bucket - begin) / HOUR))
        if episode.topic:
            result.topic_found += 1
            result.topic_top3 += any(episode.topic in term for term in alert.terms[:3])
    return result
