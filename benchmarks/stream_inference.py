"""Bare ensemble inference vs. the same members through `transformers.pipeline`."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.passes import INFERENCE_BATCH_SIZE
from model.predictor import EnsemblePredictor


@dataclass(frozen=True)
class Rate:
    posts: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else float("inf")


def timed(run: Callable[[], object], posts: int) -> Rate:
    started = time.perf_counter()
    run()
    return Rate(posts, time.perf_counter() - started)


def bare(predictor: EnsemblePredictor, texts: Sequence[str], batch_size: int) -> Rate:
    """All texts to the predictor at once: it length-sorts them into batches."""
    predictor.predict(texts[:batch_size], batch_size)  # warm-up
    return timed(lambda: predictor.predict(texts, batch_size), len(texts))


def bare_micro_batches(predictor: EnsemblePredictor, texts: Sequence[str], size: int) -> Rate:
    """What the worker can do: texts in arrival order, `size` at a time, each micro-batch
    length-sorted and cut into forward passes as the worker's labeller does."""
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    passes = INFERENCE_BATCH_SIZE
    return timed(lambda: [predictor.predict(chunk, passes) for chunk in chunks], len(texts))


def pipelines(bundle: Path, predictor: EnsemblePredictor, device: str) -> list[Any]:
    from transformers import pipeline

    return [
        pipeline(
            "text-classification",
            model=str(bundle / member.spec.path),
            tokenizer=str(bundle / member.spec.path),
            device=device,
            top_k=None,
        )
        for member in predictor.members
    ]


def pipeline_ensemble(
    classifiers: list[Any], texts: Sequence[str], batch_size: int | None
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The ensemble as a user would write it: each member's pipeline, probabilities averaged."""
    options: dict[str, Any] = {"truncation": True}
    if batch_size is not None:
        options["batch_size"] = batch_size
    per_member = []
    for classify in classifiers:
        outputs = classify(list(texts), **options)
        per_member.append([{d["label"]: d["score"] for d in row} for row in outputs])
    labels = sorted(per_member[0][0])
    probs = np.array([[[row[lab] for lab in labels] for row in m] for m in per_member])
    return np.asarray(probs.mean(axis=0), dtype=np.float64)


def through_pipeline(classifiers: list[Any], texts: Sequence[str], batch_size: int | None) -> Rate:
    pipeline_ensemble(classifiers, texts[:8], batch_size)  # warm-up
    return timed(lambda: pipeline_ensemble(classifiers, texts, batch_size), len(texts))
