"""Predictions for a batch: Redis cache first, the ensemble for the rest."""

from collections.abc import Sequence
from typing import Protocol

from schemas.messages import Prediction
from worker.decode import DecodedPost
from worker.metrics import CACHE_HITS
from worker.redis_side import RedisSide
from worker.store import LabelledPost


class Predicts(Protocol):
    @property
    def version(self) -> str: ...

    def normalise(self, text: str) -> str: ...

    def predict(
        self, texts: Sequence[str], batch_size: int = ..., normalised: bool = ...
    ) -> list[Prediction]: ...


class Labeller:
    def __init__(self, predictor: Predicts, redis_side: RedisSide, batch_size: int) -> None:
        self._predictor = predictor
        self._redis = redis_side
        self._batch_size = batch_size

    def label(self, batch: Sequence[DecodedPost]) -> list[LabelledPost]:
        normalised = [self._predictor.normalise(item.post.text) for item in batch]
        found = self._redis.cached(normalised)
        missing = sorted({t for t, hit in zip(normalised, found, strict=True) if hit is None})
        fresh = dict(
            zip(
                missing,
                self._predictor.predict(missing, self._batch_size, normalised=True),
                strict=True,
            )
        )
        self._redis.remember(missing, [fresh[t] for t in missing])
        CACHE_HITS.inc(len(batch) - sum(hit is None for hit in found))
        return [
            LabelledPost(decoded=item, prediction=hit or fresh[text])
            for item, text, hit in zip(batch, normalised, found, strict=True)
        ]
