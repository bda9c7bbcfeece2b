"""Redis, optional: a prediction cache keyed by normalised text, and live per-minute counters.

Every call swallows Redis errors (logged once per outage) and backs off for a few seconds, so a
dead Redis costs the worker nothing but the cache.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import redis
import structlog
from pydantic import ValidationError

from schemas.messages import Prediction
from schemas.redis_keys import live_key, prediction_key
from schemas.settings import RedisSettings

log = structlog.get_logger(__name__)
RETRY_AFTER_S = 5.0


class RedisSide:
    def __init__(self, settings: RedisSettings, model_version: str) -> None:
        self._settings = settings
        self._version = model_version
        self._client: redis.Redis[bytes] | None = None
        self._down_until = 0.0
        if settings.enabled:
            self._client = redis.Redis.from_url(
                settings.url, socket_timeout=0.5, socket_connect_timeout=0.5
            )

    def _usable(self) -> redis.Redis[bytes] | None:
        if self._client is None or time.monotonic() < self._down_until:
            return None
        return self._client

    def _failed(self, exc: Exception) -> None:
        if self._down_until == 0.0:
            log.warning("redis unavailable; going on without cache", error=str(exc))
        self._down_until = time.monotonic() + RETRY_AFTER_S

    def _recovered(self) -> None:
        if self._down_until:
            log.warning("redis back")
        self._down_until = 0.0

    def _key(self, normalised: str) -> str:
        return prediction_key(self._version, normalised)

    def cached(self, normalised: Sequence[str]) -> list[Prediction | None]:
        client = self._usable()
        if client is None or not normalised:
            return [None] * len(normalised)
        try:
            raw = client.mget([self._key(t) for t in normalised])
        except redis.RedisError as exc:
            self._failed(exc)
            return [None] * len(normalised)
        self._recovered()
        return [None if r is None else self._decoded(r) for r in raw]

    def _decoded(self, raw: bytes) -> Prediction | None:
        """A corrupt entry (another writer, a truncated value) is a miss, not a crash: the
        post is labelled again and the entry overwritten."""
        try:
            return Prediction.model_validate_json(raw)
        except ValidationError as exc:
            log.warning("corrupt prediction in the Redis cache; labelling again", error=str(exc))
            return None

    def remember(self, normalised: Sequence[str], predictions: Sequence[Prediction]) -> None:
        client = self._usable()
        if client is None or not normalised:
            return
        try:
            pipe = client.pipeline(transaction=False)
            for text, prediction in zip(normalised, predictions, strict=True):
                payload = json.dumps(prediction.model_dump(mode="json"))
                pipe.set(self._key(text), payload, ex=self._settings.cache_ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            self._failed(exc)

    def count_live(self, minutes_and_labels: Sequence[tuple[datetime, str]]) -> None:
        """Add stored posts to per-minute hashes (label -> count) the dashboard reads."""
        client = self._usable()
        if client is None or not minutes_and_labels:
            return
        try:
            pipe = client.pipeline(transaction=False)
            for (minute, label), count in Counter(minutes_and_labels).items():
                key = live_key(minute)
                pipe.hincrby(key, label, count)
                pipe.expire(key, self._settings.counter_ttl_s)
            pipe.execute()
        except redis.RedisError as exc:
            self._failed(exc)
