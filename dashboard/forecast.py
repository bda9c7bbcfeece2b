"""Forecast each emotion's share for the next buckets, with an interval and a backtest.

A small, documented method rather than a time-series library: the series are short (a few
hundred buckets), six of them are refit on every refresh, and a library (statsmodels ETS,
Prophet) would add hundreds of megabytes for little accuracy on data this noisy.

Method ("seasonal profile + smoothed level", additive Holt-Winters without trend, with the
seasonal indices taken as plain means rather than smoothed):

    offsets[phase] = mean share at that phase over the last K whole seasons, minus their mean
    level          = exponentially weighted mean (alpha) of share - offsets[phase(t)]
    forecast[T+j]  = level + offsets[phase(T+j)], clipped to [0, 1], renormalised to sum 1

With fewer than two whole seasons of history the offsets are zero (a smoothed level only).
The interval is the forecast +- the `coverage` quantile of the absolute errors the method made
for that emotion in a rolling-origin backtest (an empirical, split-conformal style interval).
The backtest also scores the seasonal-naive forecast (the value one season earlier), the
baseline the method has to beat to earn its place on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ALPHA = 0.2
SEASONS_AVERAGED = 4
BACKTEST_ORIGINS = 12


@dataclass(frozen=True)
class Forecast:
    mean: pd.DataFrame  # future bucket x label shares
    low: pd.DataFrame
    high: pd.DataFrame
    model_mae: pd.Series  # backtest mean absolute error per label (share points, 0..1)
    naive_mae: pd.Series  # the same for the seasonal-naive forecast
    origins: int  # backtest forecasts made per label


def _ewma_last(values: np.ndarray, alpha: float) -> np.ndarray:
    level: np.ndarray = values[0].copy()
    for row in values[1:]:
        level = alpha * row + (1 - alpha) * level
    return level


def predict(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """Shares (horizon x labels) after `history` (time x labels, no NaN)."""
    whole = min(SEASONS_AVERAGED, len(history) // season)
    offsets = np.zeros((season, history.shape[1]))
    if whole >= 2:
        block = history[len(history) - whole * season :].reshape(whole, season, -1)
        offsets = block.mean(axis=0) - block.mean(axis=(0, 1))
    phases = (np.arange(len(history)) - len(history)) % season  # phase 0 = first future step
    level = _ewma_last(history - offsets[phases], ALPHA)
    future = np.clip(level + offsets[np.arange(horizon) % season], 0.0, 1.0)
    totals = future.sum(axis=1, keepdims=True)
    shares: np.ndarray = np.divide(
        future, totals, out=np.full_like(future, np.nan), where=totals > 0
    )
    return shares


def seasonal_naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    steps = np.arange(horizon)
    naive: np.ndarray = history[len(history) - season + steps % season]
    return naive


def backtest(values: np.ndarray, season: int, horizon: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Absolute errors (origins x horizon x labels) of the method and of seasonal-naive."""
    first = 2 * season  # both forecasts need a little history
    origins = [o for o in range(len(values) - horizon, first - 1, -max(1, horizon // 2))]
    origins = origins[:BACKTEST_ORIGINS]
    model, naive = [], []
    for origin in origins:
        actual = values[origin : origin + horizon]
        model.append(np.abs(predict(values[:origin], season, horizon) - actual))
        naive.append(np.abs(seasonal_naive(values[:origin], season, horizon) - actual))
    return np.array(model), np.array(naive), len(origins)


def forecast_shares(
    shares: pd.DataFrame, season: int, horizon: int, coverage: float = 0.9
) -> Forecast | None:
    """Forecast from a bucket x label share table (NaN = a bucket without posts).

    None when there is too little history for a backtest (2 seasons + the horizon).
    """
    known = shares.dropna(how="all")
    if len(known) < 2 * season + horizon or len(shares.index) < 2:
        return None
    values = shares.interpolate(limit_direction="both").to_numpy()
    model_err, naive_err, origins = backtest(values, season, horizon)
    if origins == 0:
        return None
    step = shares.index[-1] - shares.index[-2]
    future = pd.date_range(shares.index[-1] + step, periods=horizon, freq=step, name="bucket")
    mean = predict(values, season, horizon)
    half_width = np.quantile(model_err, coverage, axis=(0, 1))  # per label, over steps

    def frame(array: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(array, index=future, columns=shares.columns)

    return Forecast(
        mean=frame(mean),
        low=frame(np.clip(mean - half_width, 0.0, 1.0)),
        high=frame(np.clip(mean + half_width, 0.0, 1.0)),
        model_mae=pd.Series(model_err.mean(axis=(0, 1)), index=shares.columns),
        naive_mae=pd.Series(naive_err.mean(axis=(0, 1)), index=shares.columns),
        origins=origins,
    )
