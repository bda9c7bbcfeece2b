"""What the reader asked for: a time range, a bucket size, and filters; and their SQL.

Every user-supplied value travels as a bind parameter. The SQL text is assembled only from
the fixed fragments below, so no filter value can change the statement's shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Grain = Literal["minute", "hour", "day"]
GRAINS: tuple[Grain, ...] = ("minute", "hour", "day")
GRAIN_STEP: dict[Grain, timedelta] = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
MAX_BUCKETS = 3000  # more points than this make a chart slow and unreadable
MIN_KEYWORD = 3  # pg_trgm finds nothing to index in shorter patterns


class Filters(BaseModel):
    """A frozen, hashable query: Streamlit's cache keys on it."""

    model_config = ConfigDict(frozen=True)

    since: datetime
    until: datetime
    grain: Grain = "hour"
    sources: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()  # which emotions to show; shares stay shares of all posts
    author: str = ""
    lang: str = ""
    keyword: str = ""
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("author", "lang", "keyword")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def uses_posts_table(self) -> bool:
        """The rollup holds only bucket x source x label; any other filter needs `posts`."""
        return bool(self.author or self.lang or self.effective_keyword or self.min_confidence > 0)

    @property
    def effective_keyword(self) -> str:
        return self.keyword if len(self.keyword) >= MIN_KEYWORD else ""

    @property
    def span(self) -> timedelta:
        return self.until - self.since

    def previous(self) -> Filters:
        """The same filters over the equally long period just before this one."""
        return self.model_copy(update={"since": self.since - self.span, "until": self.since})

    def coarsened(self) -> Filters:
        """The finest grain (at least the chosen one) that keeps the bucket count readable."""
        for grain in GRAINS[GRAINS.index(self.grain) :]:
            if self.span / GRAIN_STEP[grain] <= MAX_BUCKETS:
                return self.model_copy(update={"grain": grain})
        return self.model_copy(update={"grain": "day"})


def escape_like(value: str) -> str:
    """Make `%`, `_` and the escape character itself match literally in (I)LIKE."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rollup_where(
    filters: Filters,
    since: datetime | None = None,
    until: datetime | None = None,
    prefix: str = "",
) -> tuple[str, dict[str, Any]]:
    """WHERE clause over a rollup tier; `since`/`until` narrow the filters' range, and `prefix`
    names the parameters apart when two such clauses share one statement."""
    clauses = [f"bucket >= :{prefix}since", f"bucket < :{prefix}until"]
    params: dict[str, Any] = {
        f"{prefix}since": since or filters.since,
        f"{prefix}until": until or filters.until,
    }
    if filters.sources:
        clauses.append(f"source = ANY(:{prefix}sources)")
        params[f"{prefix}sources"] = list(filters.sources)
    return " AND ".join(clauses), params


def posts_where(filters: Filters, *, with_labels: bool = False) -> tuple[str, dict[str, Any]]:
    """WHERE clause over `posts`; each condition can use an index of revision 0001."""
    clauses = ["created_at >= :since", "created_at < :until"]
    params: dict[str, Any] = {"since": filters.since, "until": filters.until}
    if filters.sources:
        clauses.append("source = ANY(:sources)")
        params["sources"] = list(filters.sources)
    if filters.author:
        clauses.append("author = :author")
        params["author"] = filters.author
    if filters.lang:
        clauses.append("lang = :lang")
        params["lang"] = filters.lang
    if filters.effective_keyword:
        clauses.append("text ILIKE :pattern")  # served by the pg_trgm GIN index posts_text_trgm
        params["pattern"] = f"%{escape_like(filters.effective_keyword)}%"
    if filters.min_confidence > 0:
        clauses.append("confidence >= :min_confidence")
        params["min_confidence"] = filters.min_confidence
    if with_labels and filters.labels:
        clauses.append("label = ANY(:labels)")
        params["labels"] = list(filters.labels)
    return " AND ".join(clauses), params
