"""An alert's explanation: the terms that rose in that emotion's posts of the spike window
against the days before it, and the five most confident example posts.

Both samples are bounded (the newest posts of each window), so explaining costs the same on a
table of any size; the posts are read by `created_at` (indexed) and label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from schemas.emotions import LABELS
from schemas.tables import ALL_SOURCES
from sentinel.terms import Term, rising_terms, terms_of

SPIKE_SAMPLE = 3000
BASELINE_SAMPLE = 6000
TOP_TERMS = 10
EXAMPLES = 5


@dataclass(frozen=True)
class Explanation:
    terms: list[Term]
    example_post_ids: list[str]

    def as_json(self) -> list[dict[str, Any]]:
        return [
            {
                "term": t.term,
                "score": round(t.score, 2),
                "spike_posts": t.spike_posts,
                "baseline_posts": t.baseline_posts,
            }
            for t in self.terms
        ]


def _posts(
    connection: Connection,
    emotion: str,
    source: str,
    window: tuple[datetime, datetime],
    limit: int,
) -> list[tuple[str, str, float]]:
    """(post_id, text, probability of the emotion) of the newest posts labelled `emotion`."""
    if emotion not in LABELS:
        raise ValueError(f"unknown emotion {emotion!r}")
    by_source = "" if source == ALL_SOURCES else " AND source = :source"
    sql = f"""
        SELECT post_id, text, p_{emotion} FROM posts
        WHERE label = :emotion AND created_at >= :since AND created_at < :until{by_source}
        ORDER BY created_at DESC LIMIT :limit
    """
    params = {"emotion": emotion, "since": window[0], "until": window[1], "limit": limit}
    if source != ALL_SOURCES:
        params["source"] = source
    return [(str(i), str(t), float(p)) for i, t, p in connection.execute(text(sql), params)]


def examples(posts: list[tuple[str, str, float]], terms: list[Term]) -> list[str]:
    """The most confident posts, those that use one of the top three terms first."""
    top = {term.term for term in terms[:3]}
    ranked = sorted(posts, key=lambda post: (not (terms_of(post[1]) & top), -post[2], post[0]))
    return [post_id for post_id, _, _ in ranked[:EXAMPLES]]


def explain(
    connection: Connection,
    emotion: str,
    source: str,
    spike: tuple[datetime, datetime],
    baseline_days: int,
) -> Explanation:
    """Explain the spike window [since, until) against the `baseline_days` before it."""
    spike_posts = _posts(connection, emotion, source, spike, SPIKE_SAMPLE)
    before = (spike[0] - timedelta(days=baseline_days), spike[0])
    baseline_posts = _posts(connection, emotion, source, before, BASELINE_SAMPLE)
    terms = rising_terms(
        (post[1] for post in spike_posts), (post[1] for post in baseline_posts), TOP_TERMS
    )
    return Explanation(terms, examples(spike_posts, terms))
