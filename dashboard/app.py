"""The dashboard page: how the crowd feels, how that is changing, and what is unusual.

Streamlit runs this file as a script. The sidebar stays put; everything below the title is
one fragment that re-runs itself every `refresh_s` seconds (no full-page reload, no flicker).
It connects with the read-only role only, and every state (empty database, database down,
Redis down) ends in a message, never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st
from psycopg.errors import QueryCanceled
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from dashboard import data as loaders
from dashboard.db import STATEMENT_TIMEOUT_MS
from dashboard.model_versions import render_model_versions
from dashboard.posts_view import TABS, render_posts
from dashboard.sections import (
    bucket_table,
    render_alerts,
    render_forecast,
    render_kpis,
    render_trends,
)
from dashboard.sidebar import Choice, render_sidebar
from schemas.settings import DashboardSettings

SHOWN_ALERTS = 5  # the newest alerts shown with their example posts


def database_down(settings: DashboardSettings, error: SQLAlchemyError) -> None:
    db = settings.db
    if isinstance(getattr(error, "orig", None), QueryCanceled):
        st.error(
            f"A query ran longer than {STATEMENT_TIMEOUT_MS // 1000} s and was stopped; "
            "narrow the time range or the filters."
        )
        return
    st.error(
        f"The database at {db.host}:{db.port} (database {db.name}) is not answering "
        f"({type(error).__name__}). The page tries again every {settings.refresh_s} s."
    )


def live_view(settings: DashboardSettings, choice: Choice) -> None:
    now = datetime.now(UTC)
    filters = choice.filters(now)
    try:
        data = loaders.load_page(settings, filters, now)
        if data.empty_database:
            st.info(
                "No labelled posts yet. Start the worker and feed posts: `moodwatch produce FILE`."
            )
            return
        fallback = loaders.rollup_rate(settings.db, now) if data.live.problem else None
        lists = {order: loaders.posts_list(settings.db, filters, order) for order in TABS}
        alerts = loaders.alerts_list(settings.db, filters)
        examples = {
            int(row.alert_id): loaders.alert_examples(settings.db, tuple(row.example_post_ids))
            for row in alerts.head(SHOWN_ALERTS).itertuples()
        }
    except SQLAlchemyError as error:
        database_down(settings, error)
        return
    st.caption(
        f"Updated {now:%H:%M:%S} UTC, every {settings.refresh_s} s"
        if choice.live
        else f"Updated {now:%H:%M:%S} UTC; live refresh paused"
    )
    if data.live.problem and settings.redis.enabled:
        st.warning(f"{data.live.problem}: live counters are off; figures come from the database.")
    render_kpis(data, fallback)
    if data.counts.empty:
        st.info("No posts match these filters in this range.")
        return
    table = bucket_table(data)
    render_trends(data, choice, table, alerts)
    render_alerts(alerts, examples)
    render_forecast(data, table)
    render_model_versions(loaders.engine_for(settings.db), filters.since, filters.until)
    render_posts(lists)


def main() -> None:
    st.set_page_config(page_title="moodwatch", page_icon=":material/mood:", layout="wide")
    try:
        settings = DashboardSettings()
    except ValidationError as error:
        st.error(f"The dashboard settings are invalid: {error.errors()[0]['msg']}")
        return
    now = datetime.now(UTC)
    try:
        sources, langs = loaders.options(settings.db)
    except SQLAlchemyError:
        sources, langs = [], []  # the fragment says what is wrong
    choice = render_sidebar(sources, langs, now.date())
    st.title("moodwatch: how the crowd feels")
    run_every = settings.refresh_s if choice.live else None
    st.fragment(live_view, run_every=run_every)(settings, choice)


main()
