"""Synthetic hourly streams of label counts with a daily rhythm, for the forecast's tests.

Three weeks of hourly buckets (~500 posts each) whose emotion mix follows a daily rhythm (joy
by day, sadness by night); optional spikes raise one emotion's share in one bucket.
"""

import numpy as np
import pandas as pd

from schemas.emotions import LABELS

BASE_MIX = np.array([0.28, 0.34, 0.09, 0.13, 0.11, 0.05])


def synthetic_stream(
    seed: int, spikes: int, lift: float = 0.12, days: int = 21, mean_posts: int = 500
) -> tuple[pd.DataFrame, set[tuple[pd.Timestamp, str]]]:
    """(bucket x label counts, the injected (bucket, label) spikes)."""
    rng = np.random.default_rng(seed)
    buckets = 24 * days
    cycle = np.sin(2 * np.pi * (np.arange(buckets) % 24) / 24)
    mix = np.tile(BASE_MIX, (buckets, 1))
    mix[:, 1] *= 1 + 0.35 * cycle
    mix[:, 0] *= 1 - 0.25 * cycle
    mix /= mix.sum(axis=1, keepdims=True)
    at = rng.choice(np.arange(48, buckets), spikes, replace=False)
    which = rng.integers(0, len(LABELS), spikes)
    for t, k in zip(at, which, strict=True):
        share = mix[t, k]
        mix[t] *= (1 - share - lift) / (1 - share)  # the others make room proportionally
        mix[t, k] = share + lift
    posts = rng.poisson(mean_posts, buckets)
    counts = np.array([rng.multinomial(posts[t], mix[t]) for t in range(buckets)])
    index = pd.date_range("2026-01-01", periods=buckets, freq="h", tz="UTC", name="bucket")
    truth = {(index[t], LABELS[k]) for t, k in zip(at, which, strict=True)}
    return pd.DataFrame(counts, index=index, columns=list(LABELS)), truth
