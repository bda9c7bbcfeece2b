"""The ensemble predictor on a tiny bundle: shapes, order, rules, caching-friendly normalisation."""

from pathlib import Path

import numpy as np
import pytest

from model.predictor import EnsemblePredictor
from schemas.emotions import LABELS

POSTS = [
    "I am SO happy today!!! https://t.co/x @bob",
    "sad",
    "why does this always happen to me, i'm furious",
    "wow 😮 did not see that coming",
]


@pytest.fixture(scope="module")
def predictor(tiny_bundle: Path) -> EnsemblePredictor:
    return EnsemblePredictor.load(tiny_bundle, device="cpu")


def test_one_prediction_per_post_with_a_distribution(predictor: EnsemblePredictor) -> None:
    predictions = predictor.predict(POSTS)
    assert len(predictions) == len(POSTS)
    for prediction in predictions:
        assert prediction.label in LABELS
        assert sum(prediction.probabilities) == pytest.approx(1.0)
        assert prediction.probability == max(prediction.probabilities)
        assert 0.0 <= prediction.uncertainty <= 1.0
        assert prediction.model_version == predictor.version


def test_results_do_not_depend_on_batch_order_or_size(predictor: EnsemblePredictor) -> None:
    together = predictor.predict_proba(POSTS, batch_size=64)
    one_by_one = np.vstack([predictor.predict_proba([p], batch_size=1) for p in POSTS])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    reversed_order = predictor.predict_proba(POSTS[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(together, reversed_order, atol=1e-5)


def test_member_probabilities_have_one_slice_per_member(predictor: EnsemblePredictor) -> None:
    members = predictor.member_proba(POSTS)
    assert members.shape == (len(predictor.members), len(POSTS), len(LABELS))
    for rule in ("mean", "product", "max", "min"):
        combined = predictor.predict_proba(POSTS, rule=rule)  # type: ignore[arg-type]
        np.testing.assert_allclose(combined.sum(axis=1), 1.0)


def test_prenormalised_texts_give_the_same_answer(predictor: EnsemblePredictor) -> None:
    normalised = [predictor.normalise(p) for p in POSTS]
    direct = predictor.predict(POSTS)
    again = predictor.predict(normalised, normalised=True)
    np.testing.assert_allclose(
        [p.probabilities for p in direct], [p.probabilities for p in again], atol=1e-6
    )


def test_a_missing_bundle_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no model bundle"):
        EnsemblePredictor.load(tmp_path / "nope", device="cpu")
