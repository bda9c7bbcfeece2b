"""Early warning: an emotion whose share jumps well above its recent, seasonal baseline.

The rule, per emotion and bucket t (a robust z-score against a seasonal baseline):

    expected = median share at the same phase of the previous `seasons` seasons (a day of
               hours, a week of days), so a daily rhythm is not news; without that much
               history, 0
    residual = share - expected
    baseline = expected_t + median residual over the `window` buckets before t
    spread   = max(IQR of those residuals / 1.349,  sqrt(b (1 - b) / n_t))
    z        = (share_t - baseline) / spread

An alert fires when z >= `threshold`, the share rose by at least `min_lift`, and the bucket
holds at least `min_posts` posts. Medians and the IQR ignore earlier spikes; the binomial term
keeps a few posts in a quiet bucket from looking like a surge. The default threshold is
measured in tests/unit/test_dashboard_alerts.py (precision and recall on injected spikes).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.trends import share_table

ALERT_COLUMNS = ["bucket", "label", "share", "baseline", "z", "posts", "bucket_posts"]


@dataclass(frozen=True)
class SpikeRule:
    window: int = 24  # buckets of baseline (a day of hours)
    season: int | None = 24  # buckets per season; None: no seasonal term
    seasons: int = 4  # past seasons whose median gives the expected share
    threshold: float = 4.0  # robust z-score
    min_lift: float = 0.03  # absolute share increase: smaller moves are not news
    min_posts: int = 30  # posts in the bucket

    def __post_init__(self) -> None:
        if self.window < 4:
            raise ValueError("window must span at least 4 buckets")
        if self.threshold <= 0:
            raise ValueError("threshold must be positive")


def seasonal_expectation(shares: pd.DataFrame, rule: SpikeRule) -> pd.DataFrame:
    """Median share at the same phase of past seasons; NaN where fewer than two are known."""
    if rule.season is None:
        return shares * np.nan
    past = np.stack(
        [shares.shift(rule.season * back).to_numpy() for back in range(1, rule.seasons + 1)]
    )
    known = np.sum(~np.isnan(past), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: handled just below
        expected = np.nanmedian(past, axis=0)
    expected = np.where(known >= 2, expected, np.nan)
    return pd.DataFrame(expected, index=shares.index, columns=shares.columns)


def _z_against(
    shares: pd.DataFrame, expected: pd.DataFrame, totals: pd.Series, rule: SpikeRule
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(z, baseline) of the shares around `expected` plus the recent median residual."""
    past = (shares - expected).shift(1).rolling(rule.window, min_periods=rule.window // 2)
    baseline = expected + past.median()
    iqr = past.quantile(0.75) - past.quantile(0.25)
    p = baseline.clip(lower=0.01, upper=0.99)
    binomial = np.sqrt(p * (1 - p)).div(np.sqrt(totals.replace(0, np.nan)), axis=0)
    spread = np.maximum(iqr / 1.349, binomial)
    return (shares - baseline) / spread, baseline


def robust_z(table: pd.DataFrame, rule: SpikeRule) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(z, baseline) per bucket x label: seasonal where enough history, else plain."""
    shares = share_table(table)
    totals = table.sum(axis=1)
    seasonal_z, seasonal_base = _z_against(shares, seasonal_expectation(shares, rule), totals, rule)
    plain_z, plain_base = _z_against(shares, shares * 0.0, totals, rule)
    use_seasonal = seasonal_z.notna()
    return seasonal_z.where(use_seasonal, plain_z), seasonal_base.where(use_seasonal, plain_base)


def detect_spikes(table: pd.DataFrame, rule: SpikeRule | None = None) -> pd.DataFrame:
    """Alerts, newest first: bucket, label, share, baseline, z, posts, bucket_posts."""
    rule = rule or SpikeRule()
    if table.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    z, baseline = robust_z(table, rule)
    shares = share_table(table)
    totals = table.sum(axis=1)
    fired = (z >= rule.threshold) & (shares - baseline >= rule.min_lift)
    fired = fired & (totals >= rule.min_posts).to_numpy()[:, None]
    rows = [
        (
            table.index[i],
            table.columns[j],
            float(shares.iat[i, j]),
            float(baseline.iat[i, j]),
            float(z.iat[i, j]),
            int(table.iat[i, j]),
            int(totals.iat[i]),
        )
        for i, j in np.argwhere(fired.fillna(False).to_numpy(dtype=bool))
    ]
    alerts = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    return alerts.sort_values(["bucket", "z"], ascending=[False, False], ignore_index=True)
