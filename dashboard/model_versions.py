"""Which bundle labelled how much of the shown range, and a candidate in shadow beside the live
one: per emotion, each one's share and how often the candidate agrees.

Both read hourly rollups (`version_rollup`, `shadow_rollup`, revision 0005), so the range is
taken in whole hours and the queries stay small whatever the number of posts.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from schemas.emotions import LABELS

VERSIONS_SQL = """
    SELECT model_version, sum(posts)::bigint AS posts FROM version_rollup
    WHERE bucket >= date_trunc('hour', CAST(:since AS timestamptz)) AND bucket < :until
    GROUP BY 1 HAVING sum(posts) > 0 ORDER BY 2 DESC
"""
SHADOW_SQL = """
    SELECT model_version, live_label, label, sum(posts)::bigint AS posts FROM shadow_rollup
    WHERE bucket >= date_trunc('hour', CAST(:since AS timestamptz)) AND bucket < :until
    GROUP BY 1, 2, 3
"""


def version_counts(engine: Engine, since: datetime, until: datetime) -> pd.DataFrame:
    """model_version, posts, share: the bundles that labelled the range's posts."""
    with engine.connect() as connection:
        rows = connection.execute(text(VERSIONS_SQL), {"since": since, "until": until}).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["model_version", "posts"])
    frame["share"] = frame["posts"] / max(int(frame["posts"].sum()), 1)
    return frame


def shadow_pairs(engine: Engine, since: datetime, until: datetime) -> pd.DataFrame:
    with engine.connect() as connection:
        rows = connection.execute(text(SHADOW_SQL), {"since": since, "until": until}).all()
    return pd.DataFrame(
        [tuple(r) for r in rows], columns=["model_version", "live_label", "label", "posts"]
    )


def comparison(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per candidate version and emotion: the live share, the candidate's share, and agreement
    (of the posts the live bundle gave this emotion, the fraction the candidate gave it too)."""
    rows = []
    for version, group in pairs.groupby("model_version"):
        total = max(int(group["posts"].sum()), 1)
        for emotion in LABELS:
            live = int(group.loc[group["live_label"] == emotion, "posts"].sum())
            candidate = int(group.loc[group["label"] == emotion, "posts"].sum())
            both = group.loc[(group["live_label"] == emotion) & (group["label"] == emotion)]
            agreed = int(both["posts"].sum())
            rows.append(
                (version, emotion, live / total, candidate / total, agreed / live if live else None)
            )
    columns = ["candidate", "emotion", "live share", "candidate share", "agreement"]
    return pd.DataFrame(rows, columns=columns)


def render_model_versions(engine: Engine, since: datetime, until: datetime) -> None:
    try:
        versions = version_counts(engine, since, until)
        pairs = shadow_pairs(engine, since, until)
    except SQLAlchemyError:
        return  # the page's own queries have said what is wrong with the database
    if len(versions) > 0:
        said = ", ".join(
            f"{row.model_version[:12]} {row.posts:,} posts ({row.share:.0%})"
            for row in versions.itertuples()
        )
        st.caption(f"Labelled by model version (whole hours of the range): {said}")
    if len(pairs) > 0:
        st.subheader("Candidate bundle in shadow")
        st.dataframe(comparison(pairs), hide_index=True)
