"""Expected shares: each emotion's mean probability per bucket, beside the share of labels.

The rollup tiers keep, per bucket, source and emotion, the sum of that emotion's probability
over all the bucket's posts (revision 0003); divided by the bucket's posts it is the expected
share: how much of each emotion there is, each post's doubt kept, where counting labels rounds
every post to its likeliest emotion. Read with the counts' own SQL
(`schemas.rollups.counts_sql`), from the rollup or from `posts` as the filters require.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from dashboard.filters import Filters
from dashboard.queries import counted_parts
from dashboard.trends import bucket_index
from schemas.emotions import LABELS
from schemas.rollups import counts_sql

COUNTED, EXPECTED = "labels counted", "expected (mean probability)"
SHARE_MEASURES = (COUNTED, EXPECTED)
SUM_COLUMNS = ["bucket", "label", "posts", "probability_sum"]


def probability_sums(engine: Engine, filters: Filters) -> pd.DataFrame:
    """Per bucket and emotion in [since, until): posts labelled with it and its probability
    summed over all the bucket's posts (columns `SUM_COLUMNS`)."""
    parts, params = counted_parts(filters, filters.grain)
    sql = counts_sql(filters.grain, parts, ordered=True, expected=True)
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    frame = pd.DataFrame([tuple(row) for row in rows], columns=SUM_COLUMNS)
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    return frame.astype({"posts": "int64", "probability_sum": "float64"})


def expected_share_table(sums: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """bucket x emotion expected shares over the whole range; NaN where a bucket holds no post
    (the newest minutes from the live counters, which carry no probabilities, included)."""
    index = bucket_index(filters)
    mass = sums.pivot_table(
        index="bucket", columns="label", values="probability_sum", aggfunc="sum", fill_value=0.0
    ).reindex(index=index, columns=list(LABELS), fill_value=0.0)
    posts = sums.groupby("bucket")["posts"].sum().reindex(index, fill_value=0)
    return mass.div(posts.replace(0, np.nan), axis=0)
