"""The dashboard page (a first version: emotion shares over time from the rollup).

Streamlit runs this file as a script; it connects with the read-only role only.
"""

from datetime import UTC, datetime, timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard.queries import emotion_counts, readonly_engine
from schemas.settings import DashboardSettings

st.set_page_config(page_title="moodwatch", layout="wide")
st.title("moodwatch: how the crowd feels")

settings = DashboardSettings()
engine = st.cache_resource(readonly_engine)(settings.db)
days = st.sidebar.slider("days back", min_value=1, max_value=30, value=7)
grain = st.sidebar.selectbox("bucket", ["hour", "day", "minute"])
until = datetime.now(UTC) + timedelta(minutes=1)

try:
    counts = emotion_counts(engine, until - timedelta(days=days), until, grain)
except SQLAlchemyError:
    st.error("The database is not reachable right now; the page retries on refresh.")
    st.stop()

if counts.empty:
    st.info("No labelled posts yet. Feed some with `moodwatch produce FILE`.")
    st.stop()

table = counts.pivot_table(index="bucket", columns="label", values="posts", fill_value=0)
shares = table.div(table.sum(axis=1), axis=0)
st.metric("posts in range", int(table.to_numpy().sum()))
st.subheader("share of each emotion")
st.area_chart(shares)
st.subheader("posts per bucket")
st.line_chart(table)
