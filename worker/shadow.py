"""A candidate bundle in shadow: it labels every post too, and its labels are kept apart.

The live labels go to `posts` as always; the candidate's go, for the rows stored in the same
transaction, into `shadow_rollup` (worker/model_rollups.py), where SQL and the dashboard compare
the two per emotion. Promoting the candidate = making it `MOODWATCH_WORKER_BUNDLE_PATH` and
running `moodwatch relabel` over the history.
"""

from collections.abc import Sequence
from dataclasses import replace

from worker.core.steps import Labels
from worker.decode import DecodedPost
from worker.labeller import Predicts
from worker.store import LabelledPost


class ShadowLabeller:
    """`Labels`: the live labeller's posts, each with the candidate's prediction beside it."""

    def __init__(self, live: Labels, candidate: Predicts, batch_size: int) -> None:
        self._live = live
        self._candidate = candidate
        self._batch_size = batch_size

    def label(self, batch: Sequence[DecodedPost]) -> list[LabelledPost]:
        labelled = self._live.label(batch)
        texts = [self._candidate.normalise(item.post.text) for item in batch]
        unique = sorted(set(texts))
        predicted = self._candidate.predict(unique, self._batch_size, normalised=True)
        by_text = dict(zip(unique, predicted, strict=True))
        return [replace(item, shadow=by_text[t]) for item, t in zip(labelled, texts, strict=True)]
