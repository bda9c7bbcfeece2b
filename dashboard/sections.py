"""The page's sections: KPIs, trends, early warning, forecast.

Post content and other stored strings are only ever handed to widgets that show text as
text (dataframes, metrics, `st.text`, `st.code`); no HTML is rendered from data, and no
Markdown either, since Markdown turns `[x](javascript:...)` and images into live elements.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts
from dashboard.alerts import rings, term_line
from dashboard.data import PageData
from dashboard.expected import EXPECTED, SHARE_MEASURES, expected_share_table
from dashboard.forecast import forecast_shares
from dashboard.sidebar import Choice
from dashboard.trends import (
    bucket_step,
    count_table,
    dominant_emotion,
    long_form,
    season_and_horizon,
)

ALERT_TABLE = [
    "bucket",
    "emotion",
    "direction",
    "source",
    "observed_share",
    "baseline_share",
    "score",
    "observed_posts",
    "state",
    "last_seen",
    "terms",
    "delivery_state",
]
SHARE_HELP = (
    "Labels counted: the share of posts whose likeliest emotion it is (how many posts show it"
    " most). Expected: the emotion's mean probability over all posts, i.e. how much of it there"
    " is, each post's doubt kept (docs/model-quality.md compares both with the truth). The"
    " newest live minutes have no expected share."
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
    measure = st.radio(
        "Share", SHARE_MEASURES, horizontal=True, key="share_measure", help=SHARE_HELP
    )
    trend = long_form(table, data.filters.labels, _expected(data) if measure == EXPECTED else None)
    left, right = st.columns(2)
    with left:
        st.markdown("**Share of each emotion**")
        st.altair_chart(charts.share_area(trend), key="trend_area")
    with right:
        st.markdown("**Share over time, alerts ringed**")
        ringed = rings(alerts, trend, data.filters)
        st.altair_chart(charts.share_lines(trend, ringed), key="trend_lines")
    if choice.show_counts:
        st.markdown("**Posts per bucket**")
        st.altair_chart(charts.count_bars(trend), key="trend_counts")


def _expected(data: PageData) -> pd.DataFrame | None:
    sums = data.probability_sums
    return None if sums is None else expected_share_table(sums, data.filters)


def render_alerts(alerts: pd.DataFrame, examples: dict[int, pd.DataFrame]) -> None:
    st.subheader("Early warning")
    st.caption(
        "Alerts of the sentinel (`moodwatch sentinel`, docs/alerts.md): an emotion's share of "
        "posts rose or fell against the same hours of the past week, with enough posts to be "
        "sure. One row per episode; the terms are those whose use rose in that emotion's posts."
    )
    if alerts.empty:
        st.success("No alerts in this range.")
        return
    shown = alerts.assign(terms=alerts["explanation"].map(term_line))
    st.dataframe(
        shown[ALERT_TABLE],
        hide_index=True,
        key="alerts_table",
        column_config={
            "bucket": st.column_config.DatetimeColumn("detected (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_seen": st.column_config.DatetimeColumn("last seen", format="YYYY-MM-DD HH:mm"),
            "observed_share": st.column_config.NumberColumn("share", format="percent"),
            "baseline_share": st.column_config.NumberColumn("baseline", format="percent"),
            "score": st.column_config.NumberColumn(format="%+.1f"),
            "delivery_state": st.column_config.TextColumn("delivery"),
        },
    )
    for row in alerts.head(len(examples)).itertuples():
        title = f"{row.emotion} {row.direction} on {row.source}, {row.bucket:%Y-%m-%d %H:%M} UTC"
        with st.expander(title):
            st.text(f"Rising terms: {term_line(list(row.explanation), top=10)}")
            st.dataframe(examples.get(int(row.alert_id)), hide_index=True)


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
