"""The sentinel on the real PostgreSQL and a real local webhook: a spike in a populated rollup
becomes one explained alert row and one POST; a receiver that is down loses nothing.

Posts of a source of its own, in February 2024 (no other test writes there); removed after.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.exc import ProgrammingError

from benchmarks.alert_posts import delete_source, write_posts
from benchmarks.alert_replay import Injected, replay
from benchmarks.webhook_receiver import WebhookReceiver
from schemas.emotions import LABELS
from schemas.settings import DatabaseSettings, SentinelSettings
from schemas.tables import alerts
from sentinel.app import sentinel_engine
from sentinel.delivery import Rejected, WebhookSink
from sentinel.evaluate import Evaluator, Policy
from sentinel.outbox import Outbox
from sentinel.rule import SpikeRule

pytestmark = pytest.mark.integration

SOURCE = "sentinel-test"
START = datetime(2024, 2, 1, tzinfo=UTC)
HOURS = 10 * 24
SPIKE = Injected(start=200, hours=6, label="surprise", lift=0.2, topic="zelgora")
WORDS = "morning coffee weather work music friends dinner weekend city garden".split()


def texts() -> dict[str, list[str]]:
    return {
        label: [f"{label} thoughts about {a} and {b}" for a in WORDS for b in WORDS if a != b]
        for label in LABELS
    }


@pytest.fixture(scope="module")
def populated(database: Engine) -> Iterator[Engine]:
    delete_source(database, SOURCE)
    write_posts(database, replay(texts(), START, HOURS, 100, [SPIKE], seed=5), SOURCE)
    yield database
    delete_source(database, SOURCE)


@pytest.fixture()
def sentinel_db(populated: Engine) -> Iterator[Engine]:
    with populated.begin() as connection:
        connection.execute(text("DELETE FROM alerts"))
    engine = sentinel_engine(SentinelSettings())
    yield engine
    engine.dispose()


@pytest.fixture()
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.start()
    yield server
    server.stop()


def hour(n: int) -> datetime:
    return START + timedelta(hours=n)


def test_a_spike_becomes_one_explained_alert_posted_once(
    sentinel_db: Engine, receiver: WebhookReceiver
) -> None:
    evaluator = Evaluator(sentinel_db, SpikeRule(), Policy(deliver=True))
    evaluator.evaluate(hour(190), hour(HOURS - 1), now=hour(HOURS))
    sink = WebhookSink((receiver.url,), "X-Moodwatch-Secret", SecretStr("s3cret"))
    Outbox(sentinel_db, sink, lambda: hour(HOURS)).deliver()

    with sentinel_db.connect() as connection:
        rows = connection.execute(select(alerts)).mappings().all()
    assert [(r["emotion"], r["source"], r["direction"]) for r in rows] == [
        ("surprise", "*", "rise")
    ]
    alert = rows[0]
    assert hour(SPIKE.start) <= alert["bucket"] < hour(SPIKE.start + SPIKE.hours)
    assert alert["state"] == "closed" and alert["delivery_state"] == "delivered"
    assert alert["observed_share"] > alert["baseline_share"] + 0.1
    top = [term["term"] for term in alert["explanation"][:3]]
    assert any("zelgora" in term for term in top), top
    assert len(alert["example_post_ids"]) == 5
    assert all("-surprise-" in post_id for post_id in alert["example_post_ids"])

    assert receiver.keys() == [alert["episode_key"]]
    got = receiver.received[0]
    assert got.secret == "s3cret"
    assert got.body["idempotency_key"] == alert["episode_key"]
    assert got.body["text"].startswith("moodwatch: surprise rose to")
    assert got.body["alert"]["emotion"] == "surprise"


def test_a_restart_re_evaluating_the_same_hours_adds_and_sends_nothing(
    sentinel_db: Engine, receiver: WebhookReceiver
) -> None:
    sink = WebhookSink((receiver.url,), "X-Moodwatch-Secret", SecretStr(""))
    for _ in range(2):  # the second is a restarted sentinel: a new evaluator, same data
        Evaluator(sentinel_db, SpikeRule(), Policy()).evaluate(
            hour(190), hour(HOURS - 1), hour(HOURS)
        )
        Outbox(sentinel_db, sink, lambda: hour(HOURS)).deliver()
    with sentinel_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alerts")).scalar() == 1
    assert len(receiver.keys()) == 1


def _pending(engine: Engine, n: int, emotion: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(alerts),
            [
                {
                    "episode_key": f"{emotion}:*:rise:{i}",
                    "emotion": emotion,
                    "source": "*",
                    "direction": "rise",
                    "bucket": hour(i),
                    "first_seen": hour(i),
                    "last_seen": hour(i),
                    "observed_share": 0.3,
                    "observed_posts": 30,
                    "window_posts": 100,
                    "baseline_share": 0.1,
                    "score": 6.0,
                    "peak_score": 6.0,
                }
                for i in range(n)
            ],
        )


def test_a_receiver_down_two_minutes_then_back_gets_every_alert_once_in_order(
    sentinel_db: Engine, receiver: WebhookReceiver
) -> None:
    _pending(sentinel_db, 3, "anger")
    _pending(sentinel_db, 2, "joy")
    clock = [hour(300)]
    naps: list[float] = []
    sink = WebhookSink((receiver.url,), "X-Moodwatch-Secret", SecretStr(""), sleep=naps.append)
    outbox = Outbox(sentinel_db, sink, lambda: clock[0], max_backoff_s=60)
    receiver.stop()
    for _ in range(12):  # two minutes of passes every 10 s, the receiver down
        assert outbox.deliver() == 0
        clock[0] += timedelta(seconds=10)
    with sentinel_db.connect() as connection:
        tried = connection.execute(
            text(
                "SELECT episode_key, delivery_attempts FROM alerts"
                " WHERE delivery_state = 'pending' AND delivery_attempts > 0 ORDER BY 1"
            )
        ).all()
        left = connection.execute(text("SELECT count(*) FROM alerts")).scalar()
    # only the oldest of each (emotion, source) was tried, with backoff: 4 tries in 2 minutes
    assert [key for key, _ in tried] == ["anger:*:rise:0", "joy:*:rise:0"] and left == 5
    assert all(attempts <= 5 for _, attempts in tried)
    receiver.start()
    clock[0] += timedelta(seconds=60)  # the longest backoff
    assert outbox.deliver() == 5
    assert outbox.deliver() == 0
    keys = receiver.keys()
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 5
    assert [k for k in keys if k.startswith("anger")] == [f"anger:*:rise:{i}" for i in range(3)]
    assert [k for k in keys if k.startswith("joy")] == [f"joy:*:rise:{i}" for i in range(2)]


def test_the_sentinel_role_writes_alerts_only_and_the_readonly_role_reads_them(
    sentinel_db: Engine,
) -> None:
    with pytest.raises(ProgrammingError, match="permission denied"):
        with sentinel_db.begin() as connection:
            connection.execute(text("DELETE FROM posts WHERE source = :s"), {"s": SOURCE})
    readonly = create_engine(DatabaseSettings().url(readonly=True))
    try:
        with readonly.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
    finally:
        readonly.dispose()


def test_a_busy_receiver_is_retried_with_backoff_and_a_refusal_is_not(
    receiver: WebhookReceiver,
) -> None:
    naps: list[float] = []
    sink = WebhookSink((receiver.url,), "X-Moodwatch-Secret", SecretStr(""), sleep=naps.append)
    receiver.answers = [503, 429]
    sink.send("k1", {"text": "x"})
    assert receiver.keys() == ["k1"] and len(naps) == 2 and naps[1] >= naps[0]
    receiver.answers = [400]
    with pytest.raises(Rejected):
        sink.send("k2", {"text": "x"})
    assert receiver.keys() == ["k1"]
