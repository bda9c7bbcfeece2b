"""A candidate in shadow, without services: each post gets the candidate's prediction beside the
live one; the horizon says which posts may still be stored; the dashboard's comparison gives
both shares and the agreement per emotion."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from dashboard.model_versions import comparison
from schemas.emotions import LABELS
from schemas.messages import PostMessage, Prediction
from tests.unit.core_fakes import Clock, FakeLabeller
from worker.decode import Coordinates, DecodedPost
from worker.horizon import Horizon
from worker.shadow import ShadowLabeller

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


class Candidate:
    """Says 'fear' for every text, and counts the texts it was asked about."""

    version = "candidate"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def normalise(self, text: str) -> str:
        return text.lower()

    def predict(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> list[Prediction]:
        self.asked += texts
        probabilities = tuple(0.5 if label == "fear" else 0.1 for label in LABELS)
        fear = Prediction(
            label="fear", probability=0.5, probabilities=probabilities, uncertainty=0.0,
            model_version=self.version,
        )  # fmt: skip
        return [fear for _ in texts]


def decoded(post_id: str, text: str) -> DecodedPost:
    post = PostMessage(id=post_id, text=text)
    return DecodedPost(post, NOW, Coordinates("posts", 0, 0), None, b"")


def test_every_post_carries_the_live_and_the_candidate_prediction() -> None:
    candidate = Candidate()
    shadow = ShadowLabeller(FakeLabeller(Clock()), candidate, batch_size=8)
    batch = [decoded("a", "Hi"), decoded("b", "hi"), decoded("c", "longer text")]
    labelled = shadow.label(batch)
    assert [item.decoded.post.id for item in labelled] == ["a", "b", "c"]
    assert all(item.shadow is not None and item.shadow.label == "fear" for item in labelled)
    assert all(item.prediction.model_version != "candidate" for item in labelled)
    assert sorted(candidate.asked) == ["hi", "longer text"]  # one inference per distinct text


def test_the_horizon_accepts_posts_within_the_retention_only() -> None:
    week = Horizon(retention_days=7, clock=lambda: NOW)
    assert week.accepts(NOW - timedelta(days=7))
    assert not week.accepts(NOW - timedelta(days=7, seconds=1))
    assert Horizon(retention_days=None).accepts(datetime(1970, 1, 1, tzinfo=UTC))


def test_the_comparison_gives_both_shares_and_the_agreement_per_emotion() -> None:
    pairs = pd.DataFrame(
        [("cand", "joy", "joy", 30), ("cand", "joy", "love", 10), ("cand", "fear", "fear", 60)],
        columns=["model_version", "live_label", "label", "posts"],
    )
    table = comparison(pairs).set_index("emotion")
    assert list(table.index) == list(LABELS)
    assert table.loc["joy", "live share"] == 0.4
    assert table.loc["joy", "candidate share"] == 0.3
    assert table.loc["joy", "agreement"] == 0.75
    assert table.loc["love", "candidate share"] == 0.1
    assert pd.isna(table.loc["love", "agreement"])  # the live bundle never said love
