"""The sidebar: what the reader chose, turned into `Filters` for "now" on every refresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import streamlit as st

from dashboard.filters import GRAINS, MIN_KEYWORD, Filters, Grain
from schemas.emotions import LABELS

RANGES: dict[str, timedelta | None] = {
    "last hour": timedelta(hours=1),
    "last 6 hours": timedelta(hours=6),
    "last 24 hours": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "last 30 days": timedelta(days=30),
    "last 90 days": timedelta(days=90),
    "custom dates": None,
}
DEFAULT_RANGE = "last 7 days"
ANY_LANGUAGE = "any"


@dataclass(frozen=True)
class Choice:
    """The sidebar's state; `filters(now)` moves a relative range along with the clock."""

    range_name: str
    custom: tuple[date, date] | None
    grain: Grain
    sources: tuple[str, ...]
    labels: tuple[str, ...]
    author: str
    lang: str
    keyword: str
    min_confidence: float
    show_counts: bool
    live: bool

    def filters(self, now: datetime) -> Filters:
        span = RANGES.get(self.range_name)
        if span is None and self.custom is not None:
            since = datetime.combine(self.custom[0], time(), tzinfo=UTC)
            until = datetime.combine(self.custom[1], time(), tzinfo=UTC) + timedelta(days=1)
        else:
            # The current minute is included: its posts show up as they arrive.
            until = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            since = until - (span or RANGES[DEFAULT_RANGE] or timedelta(days=7))
        return Filters(
            since=since,
            until=until,
            grain=self.grain,
            sources=self.sources,
            labels=self.labels,
            author=self.author,
            lang="" if self.lang == ANY_LANGUAGE else self.lang,
            keyword=self.keyword,
            min_confidence=self.min_confidence,
        ).coarsened()


def _time_range(today: date) -> tuple[str, tuple[date, date] | None]:
    names = list(RANGES)
    name = st.selectbox("Time range", names, index=names.index(DEFAULT_RANGE), key="range")
    if RANGES[name] is not None:
        return name, None
    picked = st.date_input(
        "From - to (UTC)", value=(today - timedelta(days=7), today), key="dates", max_value=today
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        return name, (picked[0], picked[1])
    return name, None  # a half-picked range: keep the default until the second date


def render_sidebar(sources: list[str], langs: list[str], today: date) -> Choice:
    """Draw the controls; `sources`/`langs` are the choices the database offers."""
    with st.sidebar:
        st.header("What to show")
        range_name, custom = _time_range(today)
        grain = st.segmented_control(
            "Bucket size", GRAINS, default="hour", key="grain", required=True
        )
        show_counts = st.toggle("Absolute counts", value=False, key="counts")
        st.header("Filters")
        chosen_sources = st.multiselect("Source", sources, key="sources")
        labels = st.multiselect("Emotion", LABELS, key="labels")
        author = st.text_input("Author (exact)", key="author", max_chars=256)
        lang = st.selectbox("Language", [ANY_LANGUAGE, *langs], key="lang")
        keyword = st.text_input(
            "Keyword in text",
            key="keyword",
            max_chars=200,
            help=f"Case-insensitive substring, at least {MIN_KEYWORD} characters "
            "(served by a trigram index).",
        )
        min_confidence = st.slider("Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="confidence")
        live = st.toggle("Live refresh", value=True, key="live")
    return Choice(
        range_name=range_name,
        custom=custom,
        grain=grain or "hour",
        sources=tuple(chosen_sources),
        labels=tuple(labels),
        author=author,
        lang=lang or ANY_LANGUAGE,
        keyword=keyword,
        min_confidence=float(min_confidence),
        show_counts=bool(show_counts),
        live=bool(live),
    )
