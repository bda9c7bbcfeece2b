"""The page's sections: KPIs, trends, early warning, forecast.

Post content and other stored strings are only ever handed to widgets that show text as
text (dataframes, metrics, `st.text`, `st.code`); no HTML is rendered from data, and no
Markdown either, since Markdown turns `[x](javascript:...)` and images into live elements.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard.data import PageData
from dashboard.forecast import forecast_shares
from dashboard.sidebar import Choice
from dashboard.trends import (
    bucket_step,
    count_table,
    dominant_emotion,
    long_form,
    season_and_horizon,
)

SOURCE_NOTE = {
    False: "Trends come from the per-minute rollup (bucket x source x emotion), not from "
    "scanning posts.",
    True: "Author, language, keyword and confidence filters need the posts themselves: trends "
    "come from the posts table (indexed, parameterised queries).",
}


def render_kpis(data: PageData, rate_fallback: float | None) -> None:
    total = sum(data.totals.values())
    rate = data.live.per_minute_now(data.now)
    dominant = dominant_emotion(data.totals, data.totals_before)
    top, bottom = st.columns(3), st.columns(3)
    columns = [*top, *bottom]
    columns[0].metric("Posts in range", f"{total:,}", border=True)
    rate_help = "Mean of the last 5 whole minutes, from the worker's live Redis counters."
    if rate is None:
        rate, rate_help = rate_fallback, "From the rollup: live counters are unavailable."
    columns[1].metric(
        "Posts/min now", "-" if rate is None else f"{rate:,.1f}", help=rate_help, border=True
    )
    if dominant is None:
        columns[2].metric("Dominant emotion", "-", border=True)
    else:
        change = None if dominant.change_pp is None else f"{dominant.change_pp:+.1f} pp"
        columns[2].metric(
            "Dominant emotion",
            f"{dominant.label} {dominant.share:.0%}",
            delta=change,
            delta_color="off",
            help="Its share of posts, and the change against the previous period of equal length.",
            border=True,
        )
    uncertainty = data.mean_uncertainty
    columns[3].metric(
        "Mean uncertainty",
        "-" if uncertainty is None else f"{uncertainty:.3f}",
        help="Disagreement of the ensemble members (0 = all agree), newest 10,000 posts in range.",
        border=True,
    )
    worker = data.worker
    columns[4].metric(
        "Worker",
        worker.status,
        delta=worker.detail or None,
        delta_color="off",
        delta_arrow="off",
        help="From the worker's /metrics: records behind the log end, and posts skipped "
        "because their id was already stored (a replayed file, a re-delivery).",
        border=True,
    )
    columns[5].metric(
        "Model version", data.model_version or "-", help="Of the newest post.", border=True
    )


def render_trends(
    data: PageData, choice: Choice, table: pd.DataFrame, alerts: pd.DataFrame
) -> None:
    st.subheader("Emotion trends")
    notes = [SOURCE_NOTE[data.filters.uses_posts_table]]
    if data.live_minutes:
        notes.append(
            f"The last {data.live_minutes} minute(s) come from the worker's live Redis counters "
            "(newer than the rollup's last bucket)."
        )
    if data.filters.grain != choice.grain:
        notes.append(f"Bucket size raised to {data.filters.grain}: too many {choice.grain}s.")
    st.caption(" ".join(notes))
    trend = long_form(table, data.filters.labels)
    left, right = st.columns(2)
    with left:
        st.markdown("**Share of each emotion**")
        st.altair_chart(charts.share_area(trend), key="trend_area")
    with right:
        st.markdown("**Share over time, spikes ringed**")
        st.altair_chart(charts.share_lines(trend, alerts), key="trend_lines")
    if choice.show_counts:
        st.markdown("**Posts per bucket**")
        st.altair_chart(charts.count_bars(trend), key="trend_counts")


def render_alerts(alerts: pd.DataFrame, threshold: float) -> None:
    st.subheader("Early warning")
    st.caption(
        f"A spike: an emotion's share at least {threshold:g} robust standard deviations above "
        "its baseline (same time of day or week in recent seasons, plus the recent level)."
    )
    if alerts.empty:
        st.success("No spikes in this range.")
        return
    shown = alerts.rename(columns={"label": "emotion", "posts": "posts of it"})
    st.dataframe(
        shown.drop(columns=["bucket_posts"]),
        hide_index=True,
        key="alerts_table",
        column_config={
            "bucket": st.column_config.DatetimeColumn("bucket (UTC)", format="YYYY-MM-DD HH:mm"),
            "share": st.column_config.NumberColumn(format="percent"),
            "baseline": st.column_config.NumberColumn(format="percent"),
            "z": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def render_forecast(data: PageData, table: pd.DataFrame) -> None:
    st.subheader("Forecast")
    season, horizon = season_and_horizon(data.filters.grain)
    # The bucket still filling up is left out: a few posts in it would swing the level.
    table = table[table.index + bucket_step(data.filters.grain) <= pd.Timestamp(data.now)]
    shares = table.div(table.sum(axis=1).where(lambda totals: totals > 0), axis=0)
    forecast = forecast_shares(shares, season, horizon)
    if forecast is None:
        st.info(
            f"A forecast needs at least {2 * season + horizon} {data.filters.grain}s of history "
            "with posts; widen the time range."
        )
        return
    st.caption(
        f"Next {horizon} {data.filters.grain}s: seasonal profile ({season} {data.filters.grain}s) "
        "plus a smoothed level, with a 90% interval from backtest errors."
    )
    history = long_form(table.iloc[-3 * season :], data.filters.labels)
    shown = [label for label in table.columns if label in history["label"].unique()]
    model, naive = forecast.model_mae[shown].mean(), forecast.naive_mae[shown].mean()
    left, right = st.columns(2)
    left.metric("Backtest error (MAE)", f"{model * 100:.2f} pp", border=True)
    right.metric(
        "Seasonal-naive error",
        f"{naive * 100:.2f} pp",
        delta=f"{(model - naive) / naive:+.0%} for the forecast" if naive > 0 else None,
        delta_color="inverse",
        help=f"Mean absolute error of share forecasts over {forecast.origins} backtest origins.",
        border=True,
    )
    st.altair_chart(charts.forecast_panels(history, forecast), key="forecast_chart")


def bucket_table(data: PageData) -> pd.DataFrame:
    return count_table(data.counts, data.filters)
