"""Filters become parameterised SQL; trend tables are shaped right; nothing renders HTML."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from dashboard.filters import Filters, escape_like, posts_where, rollup_where
from dashboard.live import LiveCounts
from dashboard.trends import count_table, dominant_emotion, long_form, with_live_minutes

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
UNTIL = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WEEK = Filters(since=UNTIL - timedelta(days=7), until=UNTIL)


def test_only_rollup_dimensions_keep_trends_on_the_rollup() -> None:
    assert not WEEK.model_copy(update={"sources": ("a",), "labels": ("joy",)}).uses_posts_table
    for change in ({"author": "ann"}, {"lang": "de"}, {"keyword": "rain"}, {"min_confidence": 0.5}):
        assert WEEK.model_copy(update=change).uses_posts_table, change
    assert not WEEK.model_copy(update={"keyword": "ra"}).uses_posts_table  # too short to index


def test_hostile_values_travel_as_parameters_never_as_sql() -> None:
    hostile = "x'); DROP TABLE posts; --"
    filters = WEEK.model_copy(
        update={"author": hostile, "lang": hostile, "keyword": hostile, "sources": (hostile,)}
    )
    sql, params = posts_where(filters, with_labels=True)
    assert hostile not in sql and "DROP" not in sql
    assert params["author"] == hostile and params["sources"] == [hostile]
    assert params["pattern"] == f"%{hostile}%"
    rollup_sql, rollup_params = rollup_where(filters)
    assert hostile not in rollup_sql and rollup_params["sources"] == [hostile]


def test_like_wildcards_in_a_keyword_match_literally() -> None:
    assert escape_like(r"50%_off\now") == r"50\%\_off\\now"


def test_the_previous_period_is_as_long_and_ends_where_this_one_starts() -> None:
    before = WEEK.previous()
    assert before.until == WEEK.since and before.span == WEEK.span


def test_too_many_buckets_coarsen_the_grain() -> None:
    assert WEEK.model_copy(update={"grain": "minute"}).coarsened().grain == "hour"
    assert WEEK.model_copy(update={"grain": "day"}).coarsened().grain == "day"


def test_count_table_spans_the_range_with_zeros_and_every_emotion() -> None:
    filters = Filters(since=UNTIL - timedelta(hours=3), until=UNTIL, grain="hour")
    counts = pd.DataFrame(
        {"bucket": [pd.Timestamp(UNTIL - timedelta(hours=2))], "label": ["joy"], "posts": [4]}
    )
    table = count_table(counts, filters)
    assert len(table) == 3 and list(table.columns)[:2] == ["sadness", "joy"]
    assert table["joy"].tolist() == [0, 4, 0]
    shown = long_form(table, ("joy",))
    assert set(shown["label"]) == {"joy"} and shown["share"].dropna().tolist() == [1.0]


def test_live_counters_fill_only_minutes_after_the_rollup_and_only_unfiltered() -> None:
    filters = Filters(since=UNTIL - timedelta(hours=1), until=UNTIL, grain="minute")
    rollup = pd.DataFrame(
        {"bucket": [pd.Timestamp(UNTIL - timedelta(minutes=10))], "label": ["joy"], "posts": [5]}
    )
    minutes = [pd.Timestamp(UNTIL - timedelta(minutes=m)) for m in (10, 2, 1)]
    live = LiveCounts(pd.DataFrame({"bucket": minutes, "label": "fear", "posts": [9, 3, 4]})).frame
    latest = UNTIL - timedelta(minutes=10)
    filled, used = with_live_minutes(rollup, live, latest, filters, UNTIL)
    assert used == 2 and filled["posts"].sum() == 5 + 3 + 4  # the rollup's minute is not doubled
    with_source = filters.model_copy(update={"sources": ("a",)})
    assert with_live_minutes(rollup, live, latest, with_source, UNTIL)[1] == 0
    stale = UNTIL - timedelta(hours=5)
    assert with_live_minutes(rollup, live, stale, filters, UNTIL)[1] == 0


def test_dominant_emotion_and_its_change_in_points() -> None:
    now = {"joy": 60, "fear": 40}
    dominant = dominant_emotion(now, {"joy": 50, "fear": 50})
    assert dominant is not None and dominant.label == "joy"
    assert dominant.change_pp == pytest.approx(10.0)
    assert dominant_emotion({}, {}) is None
    without_history = dominant_emotion(now, {})
    assert without_history is not None and without_history.change_pp is None


def test_the_dashboard_never_renders_html() -> None:
    """No `unsafe_allow_html`, no `st.html`, no components: post text cannot become markup."""
    for path in DASHBOARD.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword):
                assert node.arg != "unsafe_allow_html", path
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"html", "components"}, f"{path}: st.{node.attr}"
