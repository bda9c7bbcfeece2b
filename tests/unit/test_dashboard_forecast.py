"""Forecast of emotion shares: beats seasonal-naive in backtests, honest intervals."""

import numpy as np
import pandas as pd

from dashboard.forecast import forecast_shares, predict, seasonal_naive
from dashboard.trends import share_table
from tests.unit.synthetic_streams import synthetic_stream


def shares(seed: int, days: int, mean_posts: int = 500) -> pd.DataFrame:
    table, _ = synthetic_stream(seed, spikes=0, lift=0.0, days=days, mean_posts=mean_posts)
    return share_table(table)


def test_backtest_error_is_below_the_seasonal_naive_baseline() -> None:
    model, naive = [], []
    for seed in range(400, 405):
        forecast = forecast_shares(shares(seed, days=14), season=24, horizon=24)
        assert forecast is not None
        model.append(forecast.model_mae.mean())
        naive.append(forecast.naive_mae.mean())
    ratio = np.mean(model) / np.mean(naive)
    print(
        f"\nbacktest MAE {np.mean(model):.4f} vs seasonal-naive {np.mean(naive):.4f} ({ratio:.2f})"
    )
    assert ratio < 0.9


def test_the_interval_covers_about_ninety_percent_of_what_came_next() -> None:
    covered = []
    for seed in range(500, 510):
        history = shares(seed, days=15)
        forecast = forecast_shares(history.iloc[:-24], season=24, horizon=24)
        assert forecast is not None
        actual = history.iloc[-24:].to_numpy()
        inside = (actual >= forecast.low.to_numpy()) & (actual <= forecast.high.to_numpy())
        covered.append(inside.mean())
    print(f"\n90% interval coverage on held-out days: {np.mean(covered):.3f}")
    assert 0.8 <= np.mean(covered) <= 0.98


def test_the_forecast_follows_the_history_in_time_and_sums_to_one() -> None:
    history = shares(600, days=7)
    forecast = forecast_shares(history, season=24, horizon=24)
    assert forecast is not None
    assert forecast.mean.index[0] == history.index[-1] + pd.Timedelta(hours=1)
    assert len(forecast.mean) == 24
    np.testing.assert_allclose(forecast.mean.sum(axis=1), 1.0)
    assert (forecast.low.to_numpy() <= forecast.mean.to_numpy()).all()
    assert (forecast.mean.to_numpy() <= forecast.high.to_numpy()).all()


def test_a_daily_rhythm_is_carried_into_the_future() -> None:
    hours = np.arange(24 * 6)
    joy = 0.4 + 0.2 * np.sin(2 * np.pi * hours / 24)
    history = np.column_stack([joy, 1 - joy])
    future = predict(history, season=24, horizon=24)
    expected = 0.4 + 0.2 * np.sin(2 * np.pi * np.arange(24 * 6, 24 * 7) / 24)
    np.testing.assert_allclose(future[:, 0], expected, atol=1e-6)
    np.testing.assert_allclose(seasonal_naive(history, 24, 24)[:, 0], expected, atol=1e-9)


def test_too_little_history_gives_no_forecast() -> None:
    assert forecast_shares(shares(700, days=2), season=24, horizon=24) is None
