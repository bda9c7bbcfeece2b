"""Temperatures per text form: plain text (as CARER ships it) and typed text (as people write)
each get the temperatures fitted on calibration rows of their own form."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from model.predictor import EnsemblePredictor
from model.text_form import ensemble_temperatures, member_temperatures, text_form, text_forms
from schemas.bundle import BundleManifest, FormTemperatures
from training.form_calibration import MIN_FORM_ROWS, fit_form_temperatures


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("i feel like i am still looking at a blank canvas", "plain"),
        ("i waited 2 hours", "plain"),
        ("", "plain"),
        ("I feel fine", "typed"),
        ("i feel fine!", "typed"),
        ("i feel @user", "typed"),
        ("café tonight", "typed"),
        ("two  spaces\tand a tab", "typed"),
    ],
)
def test_a_text_is_plain_only_with_lower_case_letters_digits_and_spaces(
    text: str, form: str
) -> None:
    assert text_form(text) == form


def with_forms(bundle: Path, target: Path, **forms: FormTemperatures) -> Path:
    shutil.copytree(bundle, target)
    manifest = BundleManifest.load(target)
    manifest.model_copy(update={"form_temperatures": forms or None}).save(target)
    return target


def test_each_post_gets_its_forms_temperatures_and_a_form_without_any_the_pooled_ones(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    manifest = BundleManifest.load(
        with_forms(
            tiny_bundle,
            tmp_path / "b",
            plain=FormTemperatures(members=(2.0, 3.0), ensemble=4.0, rows=500),
        )
    )
    pooled = [m.temperature for m in manifest.members]
    forms = text_forms(["plain text", "Typed!", "more plain"])
    np.testing.assert_allclose(
        member_temperatures(manifest, forms), [[2.0, pooled[0], 2.0], [3.0, pooled[1], 3.0]]
    )
    np.testing.assert_allclose(
        ensemble_temperatures(manifest, forms), [4.0, manifest.temperature, 4.0]
    )


def test_the_predictor_scales_plain_and_typed_posts_apart(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    # a huge temperature flattens a distribution: only the plain post's
    flat = FormTemperatures(members=(1000.0, 1000.0), ensemble=1000.0, rows=500)
    predictor = EnsemblePredictor.load(with_forms(tiny_bundle, tmp_path / "b", plain=flat), "cpu")
    pooled = EnsemblePredictor.load(tiny_bundle, "cpu")
    posts = ["so happy today", "So happy today!"]
    plain, typed = predictor.predict(posts)
    assert max(plain.probabilities) == pytest.approx(1 / 6, abs=1e-3)
    assert typed.probabilities == pytest.approx(pooled.predict(posts)[1].probabilities)
    together = predictor.predict_proba(posts)
    np.testing.assert_allclose(together[0], plain.probabilities, atol=1e-6)
    np.testing.assert_allclose(together[1], typed.probabilities, atol=1e-6)


def test_a_bundle_without_form_temperatures_keeps_its_version(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    copy = with_forms(tiny_bundle, tmp_path / "b")
    assert BundleManifest.load(copy).version == BundleManifest.load(tiny_bundle).version
    with_both = with_forms(
        tiny_bundle,
        tmp_path / "c",
        typed=FormTemperatures(members=(1.5, 1.5), ensemble=1.0, rows=300),
    )
    assert BundleManifest.load(with_both).version != BundleManifest.load(tiny_bundle).version


def test_form_temperatures_need_one_per_member(tiny_bundle: Path) -> None:
    manifest = BundleManifest.load(tiny_bundle)
    wrong = FormTemperatures(members=(1.0,), ensemble=1.0, rows=300)
    with pytest.raises(ValueError, match="one per member"):
        BundleManifest.model_validate(
            manifest.model_dump() | {"form_temperatures": {"plain": wrong}}
        )
    with pytest.raises(ValueError, match="positive"):
        FormTemperatures(members=(1.0, 0.0), ensemble=1.0, rows=300)


def logits_with_confidence(
    rng: np.random.Generator, rows: int, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two members' logits whose labels follow softmax(logits / scale): the right temperature
    for them is `scale`."""
    logits = rng.normal(0, 3, (rows, 6))
    probs = np.exp(logits / scale)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(6, p=p) for p in probs])
    return np.stack([logits, logits * 1.0]), labels


def test_each_form_is_fitted_on_its_own_rows_and_a_small_form_is_left_out() -> None:
    rng = np.random.default_rng(7)
    sharp, sharp_labels = logits_with_confidence(rng, 1500, 0.5)  # over-cautious logits
    soft, soft_labels = logits_with_confidence(rng, 1500, 2.0)  # over-confident logits
    logits = np.concatenate([sharp, soft], axis=1)
    labels = torch.tensor(np.concatenate([sharp_labels, soft_labels]))
    fitted = fit_form_temperatures(logits, labels, ["plain"] * 1500 + ["typed"] * 1500, None)
    assert fitted["plain"].rows == 1500 and fitted["typed"].rows == 1500
    assert all(0.4 < t < 0.6 for t in fitted["plain"].members)
    assert all(1.7 < t < 2.3 for t in fitted["typed"].members)
    few = ["plain"] * (MIN_FORM_ROWS - 1) + ["typed"] * (3000 - MIN_FORM_ROWS + 1)
    assert set(fit_form_temperatures(logits, labels, few, None)) == {"typed"}
