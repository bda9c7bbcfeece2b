"""The rollups by model version, kept in the same transaction as the rows they count.

`version_rollup`: posts per hour and model version (which bundle labelled how much of a range;
`moodwatch relabel` moves counts between versions). `shadow_rollup`: per hour, source and
candidate version, the live label x the candidate's label.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert

from schemas.messages import Prediction
from schemas.tables import shadow_rollup, version_rollup


class Counted(NamedTuple):
    """What the model rollups need of one stored post."""

    created_at: datetime
    source: str
    label: str
    model_version: str
    shadow: Prediction | None = None


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def upsert_counts(table: Table, keys: Sequence[str], counts: Mapping[Any, int]) -> Insert:
    """Adds each count (negative ones subtract) to its row of `table`, keyed by `keys`."""
    # Sorted keys give every writer the same lock order, so concurrent upserts cannot deadlock.
    values = [
        {**dict(zip(keys, key, strict=True)), "posts": n} for key, n in sorted(counts.items())
    ]
    statement = insert(table).values(values)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={"posts": table.c.posts + statement.excluded.posts}
    )


def version_deltas(rows: Sequence[Counted], sign: int = 1) -> Counter[Any]:
    return Counter(
        {
            k: sign * n
            for k, n in Counter((hour_of(r.created_at), r.model_version) for r in rows).items()
        }
    )


def model_rollup_increments(rows: Sequence[Counted]) -> list[Insert]:
    """The version rollup's increments, and the shadow's for the rows that carry one."""
    if not rows:
        return []
    statements = [upsert_counts(version_rollup, ("bucket", "model_version"), version_deltas(rows))]
    shadowed = Counter(
        (hour_of(r.created_at), r.source, r.shadow.model_version, r.label, r.shadow.label)
        for r in rows
        if r.shadow is not None
    )
    if shadowed:
        keys = ("bucket", "source", "model_version", "live_label", "label")
        statements.append(upsert_counts(shadow_rollup, keys, shadowed))
    return statements
