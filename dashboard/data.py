"""Everything one refresh of the page reads, cached briefly, gathered into `PageData`.

Caches are keyed on the database settings and the frozen `Filters`, so many viewers of the
same range share one query per QUERY_TTL_S. Spinners are off: a live page that flashes a
spinner on every refresh flickers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ParamSpec, TypeVar, cast

import pandas as pd
import redis
import streamlit as st
from sqlalchemy import Engine

from dashboard import alerts, expected, post_queries, queries
from dashboard.db import readonly_engine
from dashboard.filters import Filters
from dashboard.live import LiveCounts, WorkerHealth, read_live_counts, scrape_worker
from dashboard.trends import with_live_minutes
from schemas.emotions import LABELS
from schemas.settings import DashboardSettings, DatabaseSettings, RedisSettings

QUERY_TTL_S = 5  # brief: the page refreshes every few seconds and should show new posts
OPTIONS_TTL_S = 300  # sources and languages change rarely


P = ParamSpec("P")
R = TypeVar("R")


def cached(ttl_s: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """`st.cache_data` with its types kept (Streamlit ships no annotations mypy follows)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        return cast(Callable[P, R], st.cache_data(ttl=ttl_s, show_spinner=False)(function))

    return decorate


def shared(function: Callable[P, R]) -> Callable[P, R]:
    """`st.cache_resource`: one object per process and argument (engines, clients)."""
    return cast(Callable[P, R], st.cache_resource(show_spinner=False)(function))


@shared
def engine_for(db: DatabaseSettings) -> Engine:
    return readonly_engine(db)


@shared
def redis_for(settings: RedisSettings) -> redis.Redis[bytes] | None:
    if not settings.enabled:
        return None
    return redis.Redis.from_url(settings.url, socket_timeout=0.5, socket_connect_timeout=0.5)


@cached(QUERY_TTL_S)
def trend_counts(db: DatabaseSettings, filters: Filters) -> pd.DataFrame:
    return queries.trend_counts(engine_for(db), filters)


@cached(QUERY_TTL_S)
def probability_sums(db: DatabaseSettings, filters: Filters) -> pd.DataFrame:
    return expected.probability_sums(engine_for(db), filters)


@cached(QUERY_TTL_S)
def label_totals(db: DatabaseSettings, filters: Filters) -> dict[str, int]:
    return queries.label_totals(engine_for(db), filters)


@cached(QUERY_TTL_S)
def latest_rollup_minute(db: DatabaseSettings) -> datetime | None:
    return queries.latest_rollup_minute(engine_for(db))


@cached(QUERY_TTL_S)
def posts_list(
    db: DatabaseSettings, filters: Filters, order: post_queries.PostOrder
) -> pd.DataFrame:
    return post_queries.posts_list(engine_for(db), filters, order)


@cached(QUERY_TTL_S)
def per_post_figures(db: DatabaseSettings, filters: Filters) -> tuple[float | None, str | None]:
    engine = engine_for(db)
    return post_queries.mean_uncertainty(engine, filters), post_queries.newest_model_version(engine)


@cached(QUERY_TTL_S)
def rollup_rate(db: DatabaseSettings, now: datetime) -> float:
    """Posts/min from the rollup, for when Redis cannot say."""
    return queries.posts_per_minute(engine_for(db), now.replace(second=0, microsecond=0))


@cached(QUERY_TTL_S)
def alerts_list(db: DatabaseSettings, filters: Filters) -> pd.DataFrame:
    """The sentinel's alert episodes in the range (alerts table)."""
    return alerts.alerts_in_range(engine_for(db), filters)


@cached(QUERY_TTL_S)
def alert_examples(db: DatabaseSettings, post_ids: tuple[str, ...]) -> pd.DataFrame:
    return alerts.example_posts(engine_for(db), list(post_ids))


@cached(OPTIONS_TTL_S)
def options(db: DatabaseSettings) -> tuple[list[str], list[str]]:
    """(sources, languages) to offer in the sidebar."""
    engine = engine_for(db)
    return queries.source_options(engine), queries.lang_options(engine)


@cached(QUERY_TTL_S)
def worker_health(url: str) -> WorkerHealth:
    return scrape_worker(url)


@dataclass(frozen=True)
class PageData:
    filters: Filters
    now: datetime
    latest_rollup: datetime | None  # None: the database holds no labelled post yet
    counts: pd.DataFrame  # bucket, label, posts (live minutes included)
    live_minutes: int  # trailing minutes that came from Redis, not the rollup
    totals: dict[str, int]
    totals_before: dict[str, int]
    mean_uncertainty: float | None
    model_version: str | None
    live: LiveCounts
    worker: WorkerHealth
    probability_sums: pd.DataFrame | None = None  # bucket, label, posts, probability_sum

    @property
    def empty_database(self) -> bool:
        return self.latest_rollup is None


def load_page(settings: DashboardSettings, filters: Filters, now: datetime) -> PageData:
    """Read one refresh's worth; raises SQLAlchemyError when the database cannot answer."""
    db = settings.db
    latest = latest_rollup_minute(db)
    live = read_live_counts(redis_for(settings.redis), now)
    counts, live_minutes = with_live_minutes(
        trend_counts(db, filters), live.frame, latest, filters, now
    )
    uncertainty, version = per_post_figures(db, filters)
    return PageData(
        filters=filters,
        now=now,
        latest_rollup=latest,
        counts=counts,
        live_minutes=live_minutes,
        totals=_per_label(counts),
        totals_before=label_totals(db, filters.previous()),
        mean_uncertainty=uncertainty,
        model_version=version,
        live=live,
        worker=worker_health(settings.metrics_url),
        probability_sums=probability_sums(db, filters),
    )


def _per_label(counts: pd.DataFrame) -> dict[str, int]:
    summed = counts.groupby("label")["posts"].sum()
    return {label: int(summed.get(label, 0)) for label in LABELS}
