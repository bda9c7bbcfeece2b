"""Alert benchmark: the sentinel's rule, explanation and delivery on replayed real posts.

Real texts (CARER train + goemotions_train) replayed over 30 days with a daily rhythm and
injected episodes, written into a PostgreSQL database of its own (default
`moodwatch_bench_alerts`, created and migrated here; needs the superuser as root, like
bench_trend_query.py). Posts carry their dataset's gold label (smoothed one-hot
probabilities): the benchmark measures the rule, not the model. The sentinel's own evaluator
reads the rollup as the sentinel role and writes `alerts`; its outbox delivers to a real local
HTTP receiver under a simulated clock.

    .venv/bin/python -m benchmarks.bench_alerts                 # -> .cache/results/alerts.json
    .venv/bin/python -m benchmarks.bench_alerts --seeds 900 901 # the seeds the rule was tuned on
    (7001 7002: the first unseen run, looked into afterwards; the default 7101 7102 are unseen)

Measured: precision, recall and delay (buckets) of +8 / +15 point rises and drops at >= 100
posts an hour; false alerts per emotion per week on quiet replays; low volume (<= 20 posts a
bucket): false alerts and the smallest episode found; topic episodes: the subject's word in
the top 3 terms; delivery with the receiver down 2 minutes: all delivered, none twice, order.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from benchmarks.alert_posts import write_posts
from benchmarks.alert_replay import Injected, hourly_mix, load_texts, replay
from benchmarks.alert_scoring import Alert, Score, score
from benchmarks.bench_trend_query import create_database
from benchmarks.webhook_receiver import WebhookReceiver
from schemas.emotions import LABELS
from schemas.logs import configure_logging
from schemas.settings import DatabaseSettings, RuntimeSettings, SentinelSettings
from sentinel.app import rule_of, sentinel_engine
from sentinel.delivery import WebhookSink
from sentinel.evaluate import Evaluator, Policy
from sentinel.outbox import Outbox

START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday; replays are 30 days from here
DAYS = 30
WARM_UP_DAYS = 7  # a full week of seasons before the first evaluated bucket
SUBJECTS = ("zelgora", "quintrell", "obravia", "kestrine", "tavolyn", "marzeth", "ulvira")
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Replay:
    name: str
    per_hour: float
    episodes: list[Injected]
    seed: int


def empty_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        names = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        tables = [name for name in names if name != "alembic_version"]
        connection.execute(text(f"TRUNCATE {', '.join(tables)}"))


def schedule(rng: np.random.Generator, count: int, hours: int, lift: float) -> list[Injected]:
    """`count` episodes spread over the evaluated days, on emotions with room to move."""
    lowest = hourly_mix(24).min(axis=0)
    labels = [name for k, name in enumerate(LABELS) if lift > 0 or lowest[k] >= -lift + 0.04]
    first, span = WARM_UP_DAYS * 24 + 12, (DAYS - WARM_UP_DAYS - 1) * 24
    gap = span // count
    return [
        Injected(
            first + i * gap + int(rng.integers(0, gap - hours - 24)),
            hours,
            str(rng.choice(labels)),
            lift,
        )
        for i in range(count)
    ]


class Bench:
    def __init__(self, db: DatabaseSettings, texts: dict[str, list[str]]) -> None:
        self.app = create_engine(db.url(), pool_pre_ping=True)
        self.settings = SentinelSettings(db=db)
        self.sentinel = sentinel_engine(self.settings)
        self.texts = texts
        self.rule = rule_of(self.settings)

    def run(self, replay_: Replay, after: Callable[[], None] | None = None) -> list[Alert]:
        """Replay, evaluate, read the alerts back; again from the start if the server restarted
        meanwhile (other test suites on this machine restart the shared PostgreSQL)."""
        retrying = Retrying(
            retry=retry_if_exception_type(OperationalError),
            stop=stop_after_attempt(5),
            wait=wait_fixed(5),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                alerts = self._run(replay_, after)
        return alerts

    def _run(self, replay_: Replay, after: Callable[[], None] | None) -> list[Alert]:
        empty_tables(self.app)
        hours = DAYS * 24
        posts = replay(self.texts, START, hours, replay_.per_hour, replay_.episodes, replay_.seed)
        write_posts(self.app, posts, replay_.name)
        evaluator = Evaluator(self.sentinel, self.rule, Policy(deliver=True))
        first, last = START + WARM_UP_DAYS * 24 * HOUR, START + (hours - 1) * HOUR
        evaluator.evaluate(first, last, now=last + HOUR)
        if after is not None:
            after()
        with self.sentinel.connect() as connection:
            rows = connection.execute(
                text("SELECT emotion, direction, bucket, explanation FROM alerts ORDER BY bucket")
            ).all()
        return [Alert(e, d, b, [t["term"] for t in x]) for e, d, b, x in rows]

    def weeks(self) -> float:
        return (DAYS - WARM_UP_DAYS) / 7


def episodes_figures(bench: Bench, seeds: list[int]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for lift in (0.08, 0.15):
        for sign, direction in ((1, "rise"), (-1, "drop")):
            total = Score()
            for seed in seeds:
                rng = np.random.default_rng(seed)
                episodes = schedule(rng, 8, 12, sign * lift)
                replay_ = Replay(f"{direction}-{lift}", 120, episodes, seed)
                total.add(score(bench.run(replay_), episodes, START, 12))
            figures[f"{direction}_{round(lift * 100)}pp"] = total.figures()
            print(f"{direction} +{lift:.0%}: {figures[f'{direction}_{round(lift * 100)}pp']}")
    return figures


def quiet_figures(bench: Bench, seeds: list[int], per_hour: float) -> dict[str, Any]:
    alerts = [len(bench.run(Replay(f"quiet-{per_hour}", per_hour, [], seed))) for seed in seeds]
    per_week = sum(alerts) / len(seeds) / len(LABELS) / bench.weeks()
    return {"posts_per_hour": per_hour, "alerts": alerts, "per_emotion_per_week": per_week}


def low_volume_figures(bench: Bench, seeds: list[int]) -> dict[str, Any]:
    found = {"quiet": quiet_figures(bench, seeds, 15)}
    for lift in (0.15, 0.25, 0.35):
        total = Score()
        for seed in seeds:
            episodes = schedule(np.random.default_rng(seed), 6, 12, lift)
            total.add(
                score(bench.run(Replay(f"low-{lift}", 15, episodes, seed)), episodes, START, 12)
            )
        found[f"rise_{round(lift * 100)}pp"] = total.figures()
    detectable = [lift for lift in (15, 25, 35) if (found[f"rise_{lift}pp"]["recall"] or 0) >= 0.9]
    found["smallest_detected_at_recall_0.9_pp"] = min(detectable) if detectable else None
    print(f"low volume: {found}")
    return found


def topic_figures(bench: Bench, seeds: list[int]) -> dict[str, Any]:
    total = Score()
    for seed in seeds:
        rng = np.random.default_rng(seed + 50)
        plain = schedule(rng, len(SUBJECTS), 6, 0.15)
        episodes = [
            Injected(e.start, e.hours, e.label, e.lift, SUBJECTS[i]) for i, e in enumerate(plain)
        ]
        total.add(score(bench.run(Replay("topic", 120, episodes, seed)), episodes, START, 12))
    figures = {
        **total.figures(),
        "topic_in_top3": total.topic_top3,
        "topic_detected": total.topic_found,
        "top3_share": total.topic_top3 / total.topic_found if total.topic_found else None,
    }
    print(f"topics: {figures}")
    return figures


def delivery_figures(bench: Bench, seed: int) -> dict[str, Any]:
    """Alerts of a +15-point replay, delivered while the receiver is down 2 minutes, then up."""
    receiver, result = WebhookReceiver(), {}
    receiver.start()

    def outage() -> None:
        receiver.received.clear()  # a replay that is run again starts from nothing
        clock = [datetime(2026, 1, 1, tzinfo=UTC)]
        sink = WebhookSink(
            (receiver.url,),
            "X-Moodwatch-Secret",
            bench.settings.webhook_secret,
            sleep=lambda _: None,
        )
        outbox = Outbox(bench.sentinel, sink, lambda: clock[0], max_backoff_s=60)
        with bench.sentinel.connect() as connection:
            expected = connection.execute(
                text(
                    "SELECT emotion, source, episode_key FROM alerts"
                    " WHERE delivery_state = 'pending' ORDER BY alert_id"
                )
            ).all()
        receiver.stop()
        per_pass = []
        for _ in range(12):  # a pass every 10 s for 2 minutes, receiver down
            per_pass.append(outbox.deliver())
            clock[0] += timedelta(seconds=10)
        receiver.start()
        passes = 0
        while len(receiver.keys()) < len(expected) and passes < 100:
            per_pass.append(outbox.deliver())
            clock[0] += timedelta(seconds=10)
            passes += 1
        keys = receiver.keys()
        in_order = all(
            [k for k in keys if k.startswith(f"{e}:{s}:")]
            == [x for ee, ss, x in expected if (ee, ss) == (e, s)]
            for e, s, _ in expected
        )
        result.update(
            alerts=len(expected),
            delivered=len(set(keys) & {x for _, _, x in expected}),
            duplicates=len(keys) - len(set(keys)),
            order_kept_per_key=in_order,
            most_in_one_pass=max(per_pass),
            simulated_s_to_drain_after_return=passes * 10,
        )

    episodes = schedule(np.random.default_rng(seed), 8, 12, 0.15)
    bench.run(Replay("delivery", 120, episodes, seed), after=outage)
    receiver.stop()
    print(f"delivery: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="moodwatch_bench_alerts")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[7101, 7102])
    parser.add_argument("--output", type=Path, default=Path(".cache/results/alerts.json"))
    args = parser.parse_args()
    configure_logging(RuntimeSettings(log_level="ERROR"))  # an alert a replay opens is no news
    began = time.monotonic()
    db = DatabaseSettings(name=args.database)
    create_database(db, drop=True)
    bench = Bench(db, load_texts(args.data_dir))
    figures = {
        "command": "make bench-alerts",
        "seeds": args.seeds,
        "machine": f"{os.cpu_count()} CPU cores ({platform.machine()}), no GPU used",
        "rule": {k: v for k, v in bench.rule.__dict__.items()},
        "episodes_120_posts_per_hour": episodes_figures(bench, args.seeds),
        "quiet_30_days_120_posts_per_hour": quiet_figures(bench, args.seeds, 120),
        "low_volume_15_posts_per_hour": low_volume_figures(bench, args.seeds),
        "topic_episodes": topic_figures(bench, args.seeds),
        "delivery_receiver_down_2_min": delivery_figures(bench, args.seeds[0]),
    }
    figures["wall_s"] = round(time.monotonic() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"wrote {args.output} in {figures['wall_s']} s")


if __name__ == "__main__":
    main()
