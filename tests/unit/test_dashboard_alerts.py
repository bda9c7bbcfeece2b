"""Early warning on synthetic streams: precision and recall on injected spikes.

Each stream is three weeks of hourly buckets (~500 posts each) whose emotion mix follows a
daily rhythm (joy by day, sadness by night). Spikes raise one emotion's share by 12 points in
one bucket. The seeds differ from those the default rule was tuned on.
"""

import numpy as np
import pandas as pd
import pytest

from dashboard.alerts import SpikeRule, detect_spikes
from schemas.emotions import LABELS

BASE_MIX = np.array([0.28, 0.34, 0.09, 0.13, 0.11, 0.05])
HOURLY = SpikeRule(window=48, season=24)  # the page's rule for hour buckets


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


def score(rule: SpikeRule, seeds: range, spikes: int, lift: float) -> tuple[float, float, int]:
    """(precision, recall, false alarms) over several streams."""
    hits = false_alarms = missed = 0
    for seed in seeds:
        table, truth = synthetic_stream(seed, spikes, lift)
        alerts = detect_spikes(table, rule)
        found = set(zip(alerts["bucket"], alerts["label"], strict=True))
        hits += len(found & truth)
        false_alarms += len(found - truth)
        missed += len(truth - found)
    return hits / max(1, hits + false_alarms), hits / max(1, hits + missed), false_alarms


def test_injected_spikes_are_found_with_high_precision_and_recall() -> None:
    precision, recall, _ = score(HOURLY, range(100, 112), spikes=20, lift=0.12)
    print(
        f"\nspikes +12 pp, z >= {HOURLY.threshold}: precision {precision:.3f} recall {recall:.3f}"
    )
    assert precision >= 0.9
    assert recall >= 0.85


def test_a_quiet_stream_with_a_daily_rhythm_raises_almost_no_alarm() -> None:
    _, _, false_alarms = score(HOURLY, range(200, 210), spikes=0, lift=0.0)
    # 10 streams x 504 buckets x 6 emotions = 30,240 chances to cry wolf.
    print(f"\nfalse alarms in 10 quiet three-week streams: {false_alarms}")
    assert false_alarms <= 10  # at most one in 3,000


def test_the_seasonal_baseline_beats_a_plain_window_on_rhythmic_data() -> None:
    plain = SpikeRule(window=48, season=None)
    _, seasonal_recall, _ = score(HOURLY, range(300, 306), spikes=20, lift=0.12)
    _, plain_recall, _ = score(plain, range(300, 306), spikes=20, lift=0.12)
    assert seasonal_recall > plain_recall


def test_an_alert_names_bucket_emotion_share_and_baseline() -> None:
    table, truth = synthetic_stream(7, spikes=1, lift=0.25)
    alerts = detect_spikes(table, HOURLY)
    (bucket, label) = next(iter(truth))
    row = alerts[(alerts["bucket"] == bucket) & (alerts["label"] == label)].iloc[0]
    assert row["share"] - row["baseline"] >= 0.2
    assert row["z"] >= HOURLY.threshold
    assert row["bucket_posts"] == table.loc[bucket].sum()


def test_thin_buckets_and_empty_tables_raise_nothing() -> None:
    table, _ = synthetic_stream(8, spikes=10, lift=0.3, mean_posts=10)
    assert detect_spikes(table, SpikeRule(window=48, season=24, min_posts=30)).empty
    assert detect_spikes(table.iloc[:0]).empty


def test_a_rule_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="window"):
        SpikeRule(window=2)
