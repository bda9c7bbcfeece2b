"""Live signals: the worker's per-minute Redis counters and its Prometheus metrics.

Both are optional. Each reader returns what it found plus a short, printable reason when it
found nothing, so the page can say "Redis unreachable" instead of failing.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
import redis
from prometheus_client.parser import text_string_to_metric_families

from schemas.emotions import LABELS
from schemas.redis_keys import live_key

LIVE_MINUTES = 30  # counters read per refresh; the worker keeps them for hours
METRICS_TIMEOUT_S = 0.5
LAG_WARNING = 1_000  # records behind the log end before the worker counts as lagging


@dataclass(frozen=True)
class LiveCounts:
    """Posts labelled per minute (the minute they were processed), from Redis."""

    frame: pd.DataFrame  # columns: bucket (UTC minute), label, posts
    problem: str | None = None  # why there are no counts, when Redis could not be read

    def per_minute_now(self, now: datetime, minutes: int = 5) -> float | None:
        """Mean posts/min over the last `minutes` complete minutes (None: no counters)."""
        if self.problem is not None:
            return None
        end = pd.Timestamp(now).floor("min")
        recent = self.frame[(self.frame["bucket"] >= end - timedelta(minutes=minutes))]
        recent = recent[recent["bucket"] < end]
        return float(recent["posts"].sum()) / minutes


def read_live_counts(client: redis.Redis[bytes] | None, now: datetime) -> LiveCounts:
    """The counters of the last LIVE_MINUTES minutes, one pipelined round trip."""
    empty = pd.DataFrame({"bucket": pd.to_datetime([], utc=True), "label": [], "posts": []})
    if client is None:
        return LiveCounts(empty, problem="Redis is disabled (MOODWATCH_REDIS_ENABLED=false)")
    end = pd.Timestamp(now).floor("min")
    minutes = [end - timedelta(minutes=back) for back in range(LIVE_MINUTES)]
    try:
        pipe = client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(live_key(minute.to_pydatetime()))
        hashes = pipe.execute()
    except redis.RedisError as exc:
        return LiveCounts(empty, problem=f"Redis unreachable ({type(exc).__name__})")
    rows = [
        (minute, label, int(counts.get(label.encode(), 0)))
        for minute, counts in zip(minutes, hashes, strict=True)
        for label in LABELS
        if counts
    ]
    frame = pd.DataFrame(rows, columns=["bucket", "label", "posts"]) if rows else empty
    return LiveCounts(frame.astype({"posts": "int64"}))


@dataclass(frozen=True)
class WorkerHealth:
    lag: float | None  # records behind the log end over the worker's partitions
    stored_total: float | None
    problem: str | None = None  # why the metrics could not be read
    duplicates_total: float | None = None  # posts skipped as already stored (replays)

    @property
    def detail(self) -> str:
        """One line under the status: why it is unknown, or the lag and the skipped posts."""
        if self.problem is not None:
            return self.problem
        parts = [] if self.lag is None else [f"lag {self.lag:,.0f} records"]
        if self.duplicates_total:
            parts.append(f"{self.duplicates_total:,.0f} already stored, skipped")
        return " · ".join(parts)

    @property
    def status(self) -> str:
        if self.problem is not None:
            return "unknown"
        if self.lag is not None and self.lag > LAG_WARNING:
            return "lagging"
        return "healthy"


def scrape_worker(url: str) -> WorkerHealth:
    """Read the worker's /metrics page: consumer lag, posts stored and posts skipped."""
    try:
        with urllib.request.urlopen(url, timeout=METRICS_TIMEOUT_S) as response:  # noqa: S310
            body = response.read().decode("utf-8", errors="replace")
    except (OSError, ValueError) as exc:  # URLError, timeouts, a malformed URL
        return WorkerHealth(
            None, None, problem=f"worker metrics unreachable ({type(exc).__name__})"
        )
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
    return WorkerHealth(
        lag=values.get("moodwatch_consumer_lag"),
        stored_total=values.get("moodwatch_posts_stored_total"),
        duplicates_total=values.get("moodwatch_posts_duplicate_total"),
    )
