"""The spike rule on hourly label counts: rises and drops found, a handful of posts never
fires, a daily rhythm is not news."""

from datetime import UTC, datetime

import numpy as np
import pytest

from sentinel.episodes import Episode, episode_key, step
from sentinel.rule import Series, SpikeRule, Verdict, assess

MIX = np.array([0.28, 0.34, 0.09, 0.13, 0.11, 0.05])
RULE = SpikeRule()
DAYS = 10
FEAR, JOY, SURPRISE = 4, 1, 5


def stream(per_hour: float, seed: int, shift: dict[int, float] | None = None) -> np.ndarray:
    """[DAYS * 24, 6] counts; `shift` moves label k's share by that many points in the last 6
    hours (the others make room in proportion)."""
    rng = np.random.default_rng(seed)
    hours = DAYS * 24
    rows = []
    for t in range(hours):
        mix = MIX.copy()
        for k, lift in (shift or {}).items():
            if t >= hours - 6:
                mix = mix * (1 - (mix[k] + lift)) / (1 - mix[k])
                mix[k] = MIX[k] + lift
        rows.append(rng.multinomial(rng.poisson(per_hour), mix / mix.sum()))
    return np.array(rows)


def last(counts: np.ndarray) -> list[Verdict | None]:
    return assess(Series(counts), len(counts) - 1, RULE)


@pytest.mark.parametrize("seed", [101, 102, 103])
def test_a_rise_of_fifteen_points_at_a_hundred_posts_an_hour_fires(seed: int) -> None:
    verdict = last(stream(100, seed, {FEAR: 0.15}))[FEAR]
    assert verdict is not None and verdict.direction == "rise"
    assert verdict.share - verdict.baseline > 0.05  # the strongest window may be diluted


@pytest.mark.parametrize("seed", [111, 112, 113])
def test_a_drop_of_fifteen_points_fires_as_a_drop(seed: int) -> None:
    verdict = last(stream(100, seed, {JOY: -0.15}))[JOY]
    assert verdict is not None and verdict.direction == "drop"


def test_a_quiet_stream_fires_nothing_in_its_last_two_days() -> None:
    counts = stream(200, 121)
    series = Series(counts)
    fired = [
        v
        for t in range(len(counts) - 48, len(counts))
        for v in assess(series, t, RULE)
        if v and v.fired
    ]
    assert fired == []


def test_a_handful_of_posts_never_fires_however_large_its_share() -> None:
    counts = np.zeros((DAYS * 24, 6), np.int64)
    counts[:, JOY] = 2  # a trickle of joy, no surprise at all
    counts[-1] = [0, 2, 0, 0, 0, 14]  # then 14 of 16 posts in one hour are surprise
    verdict = last(counts)[SURPRISE]
    assert verdict is not None and verdict.score > RULE.threshold  # far off its baseline, yet
    assert not verdict.fired


def test_without_history_there_is_no_verdict() -> None:
    assert last(stream(100, 131)[:1]) == [None] * 6


BUCKET = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR = np.timedelta64(1, "h").astype("timedelta64[s]").item()


def verdict(direction: str | None, window: int = 1) -> Verdict:
    score = {"rise": 6.0, "drop": -6.0, None: 0.5}[direction]
    return Verdict(direction, score, 0.3, 0.1, 30, 100, window)


def test_a_spike_opens_one_episode_and_an_ongoing_one_is_extended() -> None:
    assert step(None, None, verdict("rise"), BUCKET, 3).open == "rise"
    open_one = Episode(1, "rise", BUCKET, 6.0)
    assert step(open_one, None, verdict("rise"), BUCKET + HOUR, 3).extend == open_one


def test_an_episode_closes_after_quiet_hours_and_a_re_evaluation_changes_nothing() -> None:
    open_one = Episode(1, "rise", BUCKET, 6.0)
    assert step(open_one, None, verdict(None), BUCKET + 2 * HOUR, 3).idle
    assert step(open_one, None, verdict(None), BUCKET + 3 * HOUR, 3).close == open_one
    assert step(open_one, BUCKET, verdict("rise"), BUCKET, 3).idle


def test_a_closed_episodes_evidence_does_not_open_a_second_one() -> None:
    long_window = verdict("rise", window=12)
    assert step(None, BUCKET, long_window, BUCKET + 5 * HOUR, 3).idle
    assert step(None, BUCKET, verdict("rise"), BUCKET + 5 * HOUR, 3).open == "rise"


def test_an_episode_hovering_under_the_threshold_goes_on() -> None:
    open_one = Episode(1, "rise", BUCKET, 6.0)
    hovering = Verdict(None, 3.5, 0.3, 0.2, 30, 100, 3)
    assert step(open_one, BUCKET, hovering, BUCKET + 4 * HOUR, 3).extend == open_one


def test_a_reversal_closes_the_rise_and_opens_a_drop() -> None:
    open_one = Episode(1, "rise", BUCKET, 6.0)
    turned = step(open_one, BUCKET, verdict("drop"), BUCKET + HOUR, 3)
    assert turned.close == open_one and turned.open == "drop"


def test_the_idempotency_key_is_the_same_for_the_same_episode() -> None:
    assert episode_key("fear", "*", "rise", BUCKET) == "fear:*:rise:2026-03-01T12:00Z"


@pytest.mark.parametrize("seed", [141, 142])
def test_the_others_making_room_for_a_surge_do_not_fire(seed: int) -> None:
    verdicts = last(stream(150, seed, {FEAR: 0.25}))
    assert verdicts[FEAR] is not None and verdicts[FEAR].direction == "rise"
    assert [v.direction for k, v in enumerate(verdicts) if k != FEAR and v] == [None] * 5


def test_spikes_on_earlier_days_at_this_hour_do_not_make_today_look_like_one() -> None:
    rng = np.random.default_rng(151)
    hours = DAYS * 24
    dropped = {hours - 1 - 24 * d - h for d in (1, 3, 5) for h in range(6)}
    rows = []
    for t in range(hours):
        mix = MIX.copy()
        if t in dropped:  # joy fell 15 points at these hours on three of the last seven days
            mix = mix * (1 - (mix[JOY] - 0.15)) / (1 - mix[JOY])
            mix[JOY] = MIX[JOY] - 0.15
        rows.append(rng.multinomial(120, mix / mix.sum()))
    verdict = last(np.array(rows))[JOY]
    assert verdict is not None and not verdict.fired
    assert abs(verdict.baseline - MIX[JOY]) < 0.03
