"""The posts section: newest and most uncertain posts, and one post in detail.

Post text is user content: it goes only into a dataframe cell or `st.text`, both of which
show it as text. The detail names the post's Kafka coordinates and the command that reads
that very record back from the topic.
"""

from __future__ import annotations

import shlex

import pandas as pd
import streamlit as st

from dashboard.post_queries import PostOrder
from schemas.emotions import LABELS
from schemas.settings import KafkaSettings
from schemas.tables import PROBABILITY_COLUMNS

TABS: dict[PostOrder, str] = {"recent": "Most recent", "uncertain": "Most uncertain"}


def table_frame(posts: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader scans, probabilities folded into one bar-chart cell."""
    return pd.DataFrame(
        {
            "created_at": posts["created_at"],
            "label": posts["label"],
            "text": posts["text"],
            "confidence": posts["confidence"],
            "uncertainty": posts["uncertainty"],
            "probabilities": posts[list(PROBABILITY_COLUMNS)].to_numpy().tolist(),
            "source": posts["source"],
            "author": posts["author"],
            "lang": posts["lang"],
            "kafka": posts["kafka_topic"]
            + "/"
            + posts["kafka_partition"].astype(str)
            + "@"
            + posts["kafka_offset"].astype(str),
        }
    )


COLUMNS = {
    "created_at": st.column_config.DatetimeColumn("created (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "label": st.column_config.TextColumn("emotion"),
    "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0),
    "uncertainty": st.column_config.NumberColumn("uncertainty", format="%.3f"),
    "probabilities": st.column_config.BarChartColumn(
        "p(" + ", ".join(LABELS) + ")", y_min=0.0, y_max=1.0
    ),
    "text": st.column_config.TextColumn("text", width="large"),
    "kafka": st.column_config.TextColumn("kafka topic/partition@offset"),
}


def consume_command(post: pd.Series, bootstrap: str) -> str:
    """The kafka-console-consumer line that prints exactly this record (quoted for a shell)."""
    parts = [
        "kafka-console-consumer.sh",
        "--bootstrap-server",
        bootstrap,
        "--topic",
        str(post["kafka_topic"]),
        "--partition",
        str(int(post["kafka_partition"])),
        "--offset",
        str(int(post["kafka_offset"])),
        "--max-messages",
        "1",
        "--property",
        "print.key=true",
    ]
    return shlex.join(parts)


def render_detail(post: pd.Series) -> None:
    st.markdown("**Selected post**")
    st.text(str(post["text"]))
    probabilities = ", ".join(
        f"{label} {float(post[column]):.2f}"
        for label, column in zip(LABELS, PROBABILITY_COLUMNS, strict=True)
    )
    st.text(
        f"{post['label']} (confidence {float(post['confidence']):.2f}, uncertainty "
        f"{float(post['uncertainty']):.3f}); {probabilities}\n"
        f"post {post['post_id']} by {post['author'] or '-'} on {post['source']}, "
        f"model {post['model_version']}"
    )
    st.caption("Read it back from Kafka:")
    st.code(consume_command(post, KafkaSettings().bootstrap_servers), language="bash")


def render_posts(lists: dict[PostOrder, pd.DataFrame]) -> None:
    st.subheader("Posts")
    for tab, (order, posts) in zip(st.tabs(list(TABS.values())), lists.items(), strict=True):
        with tab:
            if posts.empty:
                st.info("No posts match these filters in this range.")
                continue
            picked = st.dataframe(
                table_frame(posts),
                hide_index=True,
                column_config=COLUMNS,
                on_select="rerun",
                selection_mode="single-row",
                key=f"posts_{order}",
            )
            rows = picked.selection.rows if picked is not None else []
            render_detail(posts.iloc[rows[0] if rows else 0])
