"""Shaping query results into what the page draws: bucket x emotion tables, shares, KPIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.filters import GRAIN_STEP, Filters, Grain
from dashboard.live import LIVE_MINUTES
from schemas.emotions import LABELS

PANDAS_FREQ: dict[Grain, str] = {"minute": "min", "hour": "h", "day": "D"}


def bucket_index(filters: Filters) -> pd.DatetimeIndex:
    """Every bucket that starts before `until`, from the one holding `since` (UTC)."""
    freq = PANDAS_FREQ[filters.grain]
    start = pd.Timestamp(filters.since).tz_convert("UTC").floor(freq)
    last = pd.Timestamp(filters.until).tz_convert("UTC") - timedelta(microseconds=1)
    return pd.date_range(start, last.floor(freq), freq=freq, name="bucket")


def count_table(counts: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """bucket x label post counts over the whole range; buckets without posts hold zeros."""
    table = counts.pivot_table(
        index="bucket", columns="label", values="posts", aggfunc="sum", fill_value=0
    )
    return table.reindex(index=bucket_index(filters), columns=list(LABELS), fill_value=0).astype(
        "int64"
    )


def share_table(table: pd.DataFrame) -> pd.DataFrame:
    """Each label's share of its bucket; NaN where a bucket holds no post."""
    totals = table.sum(axis=1).replace(0, np.nan)
    return table.div(totals, axis=0)


def long_form(
    table: pd.DataFrame, labels: tuple[str, ...] = LABELS, shares: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per bucket and shown label: bucket, label, posts, share (for the charts); the
    share of labels, or those of `shares` (bucket x label, e.g. expected shares)."""
    shares = share_table(table) if shares is None else shares.reindex_like(table)
    shown = [label for label in LABELS if label in labels] or list(LABELS)
    frame = pd.DataFrame(
        {
            "bucket": np.repeat(table.index.to_numpy(), len(shown)),
            "label": np.tile(shown, len(table)),
            "posts": table[shown].to_numpy().ravel(),
            "share": shares[shown].to_numpy().ravel(),
        }
    )
    return frame


def with_live_minutes(
    counts: pd.DataFrame,
    live: pd.DataFrame,
    latest_rollup: datetime | None,
    filters: Filters,
    now: datetime,
) -> tuple[pd.DataFrame, int]:
    """Add the Redis minutes newer than the rollup's newest bucket; returns (counts, minutes).

    Counters carry no source, author or text, so they fill only unfiltered rollup trends.
    They count the minute a post was processed, which for a live stream is its creation
    minute; so they are used only while the rollup's newest bucket is itself recent.
    """
    if filters.uses_posts_table or filters.sources or live.empty or latest_rollup is None:
        return counts, 0
    if pd.Timestamp(latest_rollup) < pd.Timestamp(now) - timedelta(minutes=LIVE_MINUTES):
        return counts, 0
    fresh = live[
        (live["bucket"] > pd.Timestamp(latest_rollup))
        & (live["bucket"] >= pd.Timestamp(filters.since))
        & (live["bucket"] < pd.Timestamp(filters.until))
    ]
    if fresh.empty:
        return counts, 0
    minutes = fresh["bucket"].nunique()
    fresh = fresh.assign(bucket=fresh["bucket"].dt.floor(PANDAS_FREQ[filters.grain]))
    merged = pd.concat([counts, fresh], ignore_index=True)
    summed = merged.groupby(["bucket", "label"], as_index=False)["posts"].sum()
    return summed, minutes


@dataclass(frozen=True)
class Dominant:
    label: str
    share: float
    change_pp: float | None  # percentage points against the previous period; None: no posts then


def dominant_emotion(now: dict[str, int], before: dict[str, int]) -> Dominant | None:
    """The most frequent emotion in range and how its share moved since the previous period."""
    total = sum(now.values())
    if total == 0:
        return None
    label = max(LABELS, key=lambda name: now.get(name, 0))
    share = now[label] / total
    total_before = sum(before.values())
    change = None if total_before == 0 else 100 * (share - before.get(label, 0) / total_before)
    return Dominant(label, share, change)


def season_and_horizon(grain: Grain) -> tuple[int, int]:
    """Buckets per season (a day of hours, a week of days, an hour of minutes) and horizon."""
    season = {"minute": 60, "hour": 24, "day": 7}[grain]
    return season, season


def bucket_step(grain: Grain) -> timedelta:
    return GRAIN_STEP[grain]
