"""The one rule for "is this bucket a spike": count-aware, rises and drops, seasonal baseline.

For an emotion, a bucket t and each window of the last L buckets (L in `windows`):

    observed  k / n      posts of the emotion / all posts in the window
    baseline  p0         the same L hours of each of the previous `seasons` days, pooled
                         (hour of day is the season), a day that was itself a spike left
                         out; with fewer than `min_seasons` such days, the `rolling` buckets
                         before the window; (k0 + 0.5) / (n0 + 1)
    score     z = 2 (asin sqrt(k/n) - asin sqrt(p0)) / sqrt(phi (1/n + 1/n0))
                         two binomial samples on the variance-stabilising arcsine scale,
                         widened by phi >= 1, the day-to-day over-dispersion seen in the
                         baseline days (a robust, median-based estimate)

A window fires when |z| >= threshold, |k/n - p0| >= min_lift, n >= min_posts and the excess
|k - n p0| >= min_excess posts: the last three are the minimum evidence that keeps a handful
of posts from ever firing, however large their share. A move that only makes room for a
stronger opposite one (shares add up to one) does not fire (`_compensating`). Short windows
catch sharp spikes early, long ones accumulate the evidence of a moderate shift at low volume.
The bucket's verdict per emotion is its strongest firing window (else its strongest window,
for the record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOURS_PER_DAY = 24
PRIOR_DF = 8.0  # pseudo degrees of freedom that pull the dispersion estimate towards 1
OUTLIER_CHI = 9.0  # a baseline day this far (3 standard errors) from the median is left out
MEDIAN_CHI2_1 = 0.455  # the median of a chi-square with one degree of freedom


@dataclass(frozen=True)
class SpikeRule:
    threshold: float = 4.5
    min_lift: float = 0.04
    min_posts: int = 60
    min_excess: int = 10
    seasons: int = 7
    min_seasons: int = 3
    rolling: int = 24
    windows: tuple[int, ...] = (1, 3, 6, 12)

    def __post_init__(self) -> None:
        if not self.windows or min(self.windows) < 1:
            raise ValueError("windows must be positive bucket counts")
        if self.min_seasons > self.seasons:
            raise ValueError("min_seasons cannot exceed seasons")

    @property
    def history(self) -> int:
        """Buckets before the evaluated one that a verdict may read."""
        return self.seasons * HOURS_PER_DAY + max(self.windows) + self.rolling


@dataclass(frozen=True)
class Verdict:
    """One emotion at one bucket: `direction` is None when nothing fired."""

    direction: str | None
    score: float
    share: float
    baseline: float
    posts: int  # of the emotion, in the window
    window_posts: int  # all posts in the window
    window: int  # buckets

    @property
    def fired(self) -> bool:
        return self.direction is not None


class Series:
    """Per-bucket label counts of one key (a source, or all), summed over any range in O(1)."""

    def __init__(self, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.int64)  # [buckets, labels]
        self.buckets, self.labels = counts.shape
        self._cum = np.vstack([np.zeros((1, self.labels), np.int64), np.cumsum(counts, axis=0)])

    def sums(self, start: int, stop: int) -> np.ndarray:
        """Per-label posts in buckets [start, stop) (clipped to the series)."""
        start, stop = max(start, 0), min(max(stop, 0), self.buckets)
        if stop <= start:
            return np.zeros(self.labels, np.int64)
        return np.asarray(self._cum[stop] - self._cum[start])


def _baseline(series: Series, start: int, width: int, rule: SpikeRule) -> np.ndarray | None:
    """[days or 1, labels] counts of the baseline of the window [start, start + width)."""
    days = [
        series.sums(start - HOURS_PER_DAY * d, start - HOURS_PER_DAY * d + width)
        for d in range(1, rule.seasons + 1)
        if start - HOURS_PER_DAY * d >= 0
    ]
    seen = [day for day in days if day.sum() > 0]
    if len(seen) >= rule.min_seasons:
        return np.array(seen)
    rolling = series.sums(start - rule.rolling, start)
    return rolling[None, :] if rolling.sum() > 0 else None


def _baseline_share(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p0, phi, posts) per label from the baseline days, days that were themselves spikes left
    out: an episode yesterday at this hour must neither shift the baseline nor widen it.

    The days are measured from their median share (robust while up to half of them are
    spikes); a day more than OUTLIER_CHI (3 standard errors) from it is left out for that
    label, then the kept days are pooled. phi is the median of the kept days' chi-squares over
    its expectation under a binomial (0.455), shrunk towards 1 by PRIOR_DF, never below 1.
    """
    n = days.sum(axis=1, keepdims=True)
    if len(days) < 3:  # the rolling baseline, or too few days to tell a spike day
        pooled = int(n.sum())
        p0 = (days.sum(axis=0) + 0.5) / (pooled + 1)
        return p0, np.ones_like(p0), np.full(p0.shape, pooled)
    center = np.median(days / np.maximum(n, 1), axis=0)
    typical = float(np.median(n))
    center = (center * typical + 0.5) / (typical + 1)  # never exactly 0 or 1
    chi = (days - n * center) ** 2 / (n * center * (1 - center))
    keep = chi <= OUTLIER_CHI
    keep[:, keep.sum(axis=0) < 2] = True  # no two days agree: keep them all
    kept_n = (n * keep).sum(axis=0)
    center = ((days * keep).sum(axis=0) + 0.5) / (kept_n + 1)
    ratio = np.nanmedian(np.where(keep, chi, np.nan), axis=0) / MEDIAN_CHI2_1
    phi = np.maximum(1.0, (ratio * len(days) + PRIOR_DF) / (len(days) + PRIOR_DF))
    return center, phi, kept_n


def _arcsine_z(share: np.ndarray, p0: np.ndarray, spread: np.ndarray) -> np.ndarray:
    return np.asarray(2 * (np.arcsin(np.sqrt(share)) - np.arcsin(np.sqrt(p0))) / spread)


@dataclass(frozen=True)
class _Window:
    observed: np.ndarray  # posts per label in the window
    p0: np.ndarray  # baseline shares
    phi: np.ndarray
    n0: np.ndarray  # baseline posts per label (spike days left out)


def _compensating(window: _Window, fires: np.ndarray, rule: SpikeRule) -> np.ndarray:
    """Labels whose move is only the others making room: shares add up to one, so a surge of
    fear lowers every other share. A firing label is compensating when a label moved more
    share points the other way and, with that label's posts taken out of both the window and
    the baseline, its own score falls under the threshold."""
    explained = np.zeros_like(fires)
    n = window.observed.sum()
    lift = window.observed / n - window.p0
    for k in np.flatnonzero(fires):
        opposite = np.flatnonzero(np.sign(lift) == -np.sign(lift[k]))
        if len(opposite) == 0:
            continue
        j = opposite[np.argmax(np.abs(lift[opposite]))]
        if abs(lift[j]) <= abs(lift[k]):
            continue  # k moved most: it is the news, not the room made for it
        rest_n = max(n - window.observed[j], 1)
        rest_p0 = window.p0[k] / (1 - window.p0[j])
        rest_n0 = max(window.n0[k] * (1 - window.p0[j]), 1)
        spread = np.sqrt(window.phi[k] * (1 / rest_n + 1 / rest_n0))
        rest = _arcsine_z(window.observed[k] / rest_n, rest_p0, spread)
        explained[k] = abs(rest) < rule.threshold
    return explained


def window_verdicts(series: Series, t: int, width: int, rule: SpikeRule) -> list[Verdict] | None:
    """One verdict per label for the window of `width` buckets ending at bucket t."""
    start = t - width + 1
    if start < 0:
        return None
    observed = series.sums(start, t + 1)
    days = _baseline(series, start, width, rule)
    n = int(observed.sum())
    if days is None or n == 0:
        return None
    p0, phi, n0 = _baseline_share(days)
    share = observed / n
    # The arcsine scale keeps the tails honest where few posts are expected (a rare emotion in
    # a short window): a normal approximation on shares makes 17 of 133 against 4 % look like
    # z = 5, while the binomial tail is hundreds of times likelier than that.
    z = _arcsine_z(share, p0, np.sqrt(phi * (1 / n + 1 / n0)))
    fires = (
        (np.abs(z) >= rule.threshold)
        & (np.abs(share - p0) >= rule.min_lift)
        & (np.abs(observed - n * p0) >= rule.min_excess)
        & (n >= rule.min_posts)
        & (n0 >= rule.min_posts)
    )
    fires &= ~_compensating(_Window(observed, p0, phi, n0), fires, rule)
    return [
        Verdict(
            direction=("rise" if z[k] > 0 else "drop") if fires[k] else None,
            score=float(z[k]),
            share=float(share[k]),
            baseline=float(p0[k]),
            posts=int(observed[k]),
            window_posts=n,
            window=width,
        )
        for k in range(series.labels)
    ]


def assess(series: Series, t: int, rule: SpikeRule) -> list[Verdict | None]:
    """Per label: the strongest firing window's verdict, else the strongest window's; None
    when no window has a baseline yet."""
    best: list[Verdict | None] = [None] * series.labels
    for width in rule.windows:
        for k, verdict in enumerate(window_verdicts(series, t, width, rule) or []):
            current = best[k]
            if current is None or _rank(verdict) > _rank(current):
                best[k] = verdict
    return best


def _rank(verdict: Verdict) -> tuple[bool, float]:
    return verdict.fired, abs(verdict.score)
