"""The four combination rules and the disagreement figure."""

import numpy as np
import pytest

from model.combine import apply_temperature, combine, disagreement, softmax

# two members, two posts, three labels (the rules do not care how many)
MEMBERS = np.array(
    [
        [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]],
        [[0.5, 0.4, 0.1], [0.1, 0.8, 0.1]],
    ]
)


@pytest.mark.parametrize("rule", ["mean", "product", "max", "min"])
def test_every_rule_returns_distributions(rule: str) -> None:
    combined = combine(MEMBERS, rule)  # type: ignore[arg-type]
    assert combined.shape == (2, 3)
    np.testing.assert_allclose(combined.sum(axis=1), 1.0)


def test_mean_is_the_average() -> None:
    np.testing.assert_allclose(combine(MEMBERS, "mean")[0], [0.6, 0.3, 0.1])


def test_product_is_the_normalised_geometric_mean() -> None:
    geo = np.sqrt(MEMBERS[0, 0] * MEMBERS[1, 0])
    np.testing.assert_allclose(combine(MEMBERS, "product")[0], geo / geo.sum(), rtol=1e-6)


def test_max_and_min_can_disagree_on_the_winner() -> None:
    assert combine(MEMBERS, "max")[1].argmax() in (1, 2)
    np.testing.assert_allclose(combine(MEMBERS, "min")[1], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)


def test_weights_shift_the_mean() -> None:
    weighted = combine(MEMBERS, "mean", np.array([3.0, 1.0]))
    np.testing.assert_allclose(weighted[0], 0.75 * MEMBERS[0, 0] + 0.25 * MEMBERS[1, 0])
    with pytest.raises(ValueError, match="one non-negative number per member"):
        combine(MEMBERS, "mean", np.array([1.0]))


def test_disagreement_is_zero_when_members_agree_and_grows_when_they_do_not() -> None:
    agreeing = np.stack([MEMBERS[0], MEMBERS[0]])
    assert disagreement(agreeing, combine(agreeing, "mean")).max() == pytest.approx(0)
    spread = disagreement(MEMBERS, combine(MEMBERS, "mean"))
    assert 0 < spread[0] < spread[1] <= 1


def test_ensemble_temperature_softens_or_sharpens_without_changing_the_winner() -> None:
    combined = combine(MEMBERS, "mean")
    softer = apply_temperature(combined, 2.0)
    sharper = apply_temperature(combined, 0.5)
    for probs in (softer, sharper):
        np.testing.assert_allclose(probs.sum(axis=1), 1.0)
        assert (probs.argmax(axis=1) == combined.argmax(axis=1)).all()
    assert (softer.max(axis=1) < combined.max(axis=1)).all()
    assert (sharper.max(axis=1) > combined.max(axis=1)).all()
    assert apply_temperature(combined, 1.0) is combined


def test_softmax_divides_each_member_by_its_own_temperature() -> None:
    logits = np.log(MEMBERS)
    np.testing.assert_allclose(softmax(logits, np.array([1.0, 1.0])), MEMBERS)
    warmed = softmax(logits, np.array([1.0, 3.0]))
    np.testing.assert_allclose(warmed[0], MEMBERS[0])
    assert (warmed[1].max(axis=1) < MEMBERS[1].max(axis=1)).all()
