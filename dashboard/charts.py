"""Altair charts of the page. Every chart gets its data as a frame; nothing here queries.

Emotions keep one colour everywhere, so a reader learns the legend once.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from dashboard.forecast import Forecast
from schemas.emotions import LABELS

COLOURS = {
    "sadness": "#4C78A8",
    "joy": "#F2B701",
    "love": "#E45E9D",
    "anger": "#D62728",
    "fear": "#7B4FB8",
    "surprise": "#17A2A0",
}
EMOTION_SCALE = alt.Scale(domain=list(LABELS), range=[COLOURS[label] for label in LABELS])
TIME_AXIS = alt.X("bucket:T", title="time (UTC)")
HEIGHT = 300


def _emotion(legend: bool = True) -> alt.Color:
    return alt.Color(
        "label:N",
        scale=EMOTION_SCALE,
        title="emotion",
        legend=alt.Legend(orient="top") if legend else None,
    )


def _tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("bucket:T", title="bucket (UTC)", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("label:N", title="emotion"),
        alt.Tooltip("share:Q", title="share", format=".1%"),
        alt.Tooltip("posts:Q", title="posts", format=","),
    ]


def share_area(trend: pd.DataFrame) -> alt.Chart:
    """Stacked area: each emotion's share of its bucket (sums to 100 %)."""
    return (
        alt.Chart(trend.dropna(subset=["share"]), height=HEIGHT)
        .mark_area(opacity=0.9, interpolate="monotone")
        .encode(
            x=TIME_AXIS,
            y=alt.Y(
                "share:Q", stack="normalize", title="share of posts", axis=alt.Axis(format="%")
            ),
            color=_emotion(),
            order=alt.Order("label_order:Q"),
            tooltip=_tooltip(),
        )
        .transform_calculate(label_order=f"indexof({list(LABELS)!r}, datum.label)")
    )


def share_lines(trend: pd.DataFrame, alerts: pd.DataFrame) -> alt.LayerChart:
    """One line per emotion's share, the sentinel's alerts ringed on their emotion's line."""
    lines = (
        alt.Chart(trend.dropna(subset=["share"]), height=HEIGHT)
        .mark_line(strokeWidth=2, interpolate="monotone")
        .encode(
            x=TIME_AXIS,
            y=alt.Y("share:Q", title="share of posts", axis=alt.Axis(format="%")),
            color=_emotion(),
            tooltip=_tooltip(),
        )
    )
    marks = (
        alt.Chart(alerts)
        .mark_point(shape="circle", size=220, filled=False, strokeWidth=3, color="#E0115F")
        .encode(
            x="bucket:T",
            y="share:Q",
            tooltip=[
                alt.Tooltip("label:N", title="alert on"),
                alt.Tooltip("direction:N", title="direction"),
                alt.Tooltip("observed_share:Q", title="share", format=".1%"),
                alt.Tooltip("baseline_share:Q", title="baseline", format=".1%"),
                alt.Tooltip("score:Q", title="score", format="+.1f"),
            ],
        )
    )
    return alt.layer(lines, marks)


def count_bars(trend: pd.DataFrame) -> alt.Chart:
    """Absolute posts per bucket, stacked by emotion."""
    return (
        alt.Chart(trend, height=HEIGHT)
        .mark_bar()
        .encode(
            x=TIME_AXIS,
            y=alt.Y("posts:Q", stack="zero", title="posts"),
            color=_emotion(),
            tooltip=_tooltip(),
        )
    )


def forecast_panels(history: pd.DataFrame, forecast: Forecast) -> alt.FacetChart:
    """Per emotion: the recent history, then the forecast (dashed) inside its interval band."""
    future = pd.concat(
        {
            "share": forecast.mean.stack(),
            "low": forecast.low.stack(),
            "high": forecast.high.stack(),
        },
        axis=1,
    )
    future = future.rename_axis(["bucket", "label"]).reset_index()
    past = history.dropna(subset=["share"])[["bucket", "label", "share"]]
    future = future[future["label"].isin(history["label"].unique())]
    base = alt.Chart().encode(x=alt.X("bucket:T", title=None))
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("low:Q", title="share", axis=alt.Axis(format="%")), y2="high:Q", color=_emotion()
    )
    ahead = base.mark_line(strokeDash=[5, 3], strokeWidth=2).encode(y="share:Q", color=_emotion())
    before = (
        alt.Chart()
        .mark_line(strokeWidth=1.5, color="#666")
        .encode(x="bucket:T", y=alt.Y("share:Q", title="share"))
    )
    data = pd.concat([past.assign(part="history"), future.assign(part="forecast")])
    layered = alt.layer(
        before.transform_filter("datum.part == 'history'"),
        band.transform_filter("datum.part == 'forecast'"),
        ahead.transform_filter("datum.part == 'forecast'"),
        data=data,
    ).properties(height=140, width=235)
    return layered.facet(
        facet=alt.Facet("label:N", title=None, sort=list(LABELS)), columns=3
    ).resolve_scale(y="independent")
