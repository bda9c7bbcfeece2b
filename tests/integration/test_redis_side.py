"""The Redis prediction cache and live counters, against the real Redis; and without it."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
import redis
import structlog

from schemas.emotions import LABELS
from schemas.messages import Prediction
from schemas.redis_keys import live_key, prediction_key
from schemas.settings import RedisSettings, ServicesSettings
from worker.decode import Coordinates, DecodedPost, decode
from worker.labeller import Labeller
from worker.redis_side import RedisSide

pytestmark = pytest.mark.integration


class CountingPredictor:
    """A stand-in for the ensemble that counts the texts it was asked about."""

    def __init__(self) -> None:
        self.version = f"v-{uuid.uuid4().hex[:8]}"
        self.asked: list[str] = []

    def normalise(self, text: str) -> str:
        return " ".join(text.lower().split())

    def predict(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> list[Prediction]:
        self.asked += texts
        probabilities = (0.1, 0.5, 0.1, 0.1, 0.1, 0.1)
        return [
            Prediction(
                label="joy",
                probability=0.5,
                probabilities=probabilities,
                uncertainty=0.0,
                model_version=self.version,
            )
            for _ in texts
        ]


def posts(*texts: str) -> list[DecodedPost]:
    return [
        decode(
            None,
            f'{{"id": "{i}", "text": "{t}"}}'.encode(),
            1_700_000_000_000,
            Coordinates("t", 0, i),
        )
        for i, t in enumerate(texts)
    ]


def test_repeated_texts_skip_inference(services: ServicesSettings) -> None:
    predictor = CountingPredictor()
    labeller = Labeller(predictor, RedisSide(RedisSettings(), predictor.version), batch_size=8)
    first = labeller.label(posts("Same  text", "other"))
    second = labeller.label(posts("same text", "SAME TEXT", "other"))  # retweets, copy-paste
    assert sorted(predictor.asked) == ["other", "same text"]  # asked once per distinct text
    assert [item.prediction.label for item in first + second] == ["joy"] * 5


def test_without_redis_the_labeller_still_labels() -> None:
    predictor = CountingPredictor()
    dead = RedisSettings(url="redis://127.0.0.1:1/0")  # nothing listens there
    labeller = Labeller(predictor, RedisSide(dead, predictor.version), batch_size=8)
    assert len(labeller.label(posts("a", "b"))) == 2
    assert len(labeller.label(posts("a", "b"))) == 2  # no cache: asked again, no error
    assert predictor.asked == ["a", "b", "a", "b"]


def test_live_counters_count_per_minute_and_label(services: ServicesSettings) -> None:
    side = RedisSide(RedisSettings(), "v")
    minute = datetime(2001, 1, 1, 0, int(uuid.uuid4().int % 60), tzinfo=UTC)
    client = redis.Redis.from_url(RedisSettings().url)
    client.delete(live_key(minute))
    side.count_live([(minute, "joy"), (minute, "joy"), (minute, "fear")])
    counts = {k.decode(): int(v) for k, v in client.hgetall(live_key(minute)).items()}
    assert counts == {"joy": 2, "fear": 1}
    assert set(counts) <= set(LABELS)
    assert 0 < client.ttl(live_key(minute)) <= RedisSettings().counter_ttl_s


@pytest.mark.parametrize("corrupt", [b"not json", b'{"label": "joy"}', b"\xff\xfe"])
def test_a_corrupt_cache_entry_is_labelled_again_and_overwritten(
    services: ServicesSettings, corrupt: bytes
) -> None:
    """Once a ValidationError outside the Redis guard: the worker crashed on every re-delivery."""
    predictor = CountingPredictor()
    labeller = Labeller(predictor, RedisSide(RedisSettings(), predictor.version), batch_size=8)
    client = redis.Redis.from_url(RedisSettings().url)
    key = prediction_key(predictor.version, "broken entry")
    client.set(key, corrupt, ex=60)
    with structlog.testing.capture_logs() as logs:
        labelled = labeller.label(posts("broken entry"))
    assert [item.prediction.label for item in labelled] == ["joy"]
    assert predictor.asked == ["broken entry"]
    assert any("corrupt prediction" in entry["event"] for entry in logs)
    assert Prediction.model_validate_json(client.get(key) or b"").label == "joy"  # overwritten
