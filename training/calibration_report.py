"""Two sections of the evaluation report that say whether probabilities can be averaged.

`calibration_methods`: ECE, NLL and reliability on each split for the bundle's members scored
in each way training recorded: uncalibrated, with the temperatures CARER validation alone gives
(the recipe before issue 16, recorded in the manifest's metrics), with those fitted on CARER
validation + the real-post slice pooled, and with the bundle's own per text form
(`model/text_form.py`). Computed from the members' logits, without running them again.

`share_errors`: per emotion, the true share of a split's labels against the share of predicted
labels (what counting the `label` column gives) and the expected share (the mean probability,
what the rollup's probability sums give), with the absolute error of each.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from model.combine import Probs, apply_temperature, combine, softmax
from model.text_form import ensemble_temperatures, member_temperatures
from schemas.bundle import BundleManifest, TextForm
from schemas.emotions import LABELS
from training.metrics import calibration, reliability

OLD, NEW, RAW = "CARER validation only", "CARER validation + real posts", "uncalibrated"
FORMS = "per text form"


def ensemble_probs(manifest: BundleManifest, logits: Probs, forms: Sequence[TextForm]) -> Probs:
    """What the predictor gives with this manifest's temperatures for posts of these forms."""
    weights = None if manifest.weights is None else np.array(manifest.weights)
    member_probs = softmax(logits, member_temperatures(manifest, forms))
    combined = combine(member_probs, manifest.rule, weights)
    return apply_temperature(combined, ensemble_temperatures(manifest, forms))


def _scaled(manifest: BundleManifest, members: Sequence[float], ensemble: float) -> BundleManifest:
    """The manifest with these temperatures for every post, whatever its form."""
    specs = tuple(
        spec.model_copy(update={"temperature": t})
        for spec, t in zip(manifest.members, members, strict=True)
    )
    return manifest.model_copy(
        update={"members": specs, "temperature": ensemble, "form_temperatures": None}
    )


def temperature_sets(manifest: BundleManifest) -> dict[str, BundleManifest]:
    """Method -> the manifest scaled that way: none, the bundle's own (per text form where it
    has them, and the pooled fit beside them), and the CARER-only fit where training recorded
    it."""
    own = [m.temperature for m in manifest.members]
    sets = {
        RAW: _scaled(manifest, [1.0] * len(own), 1.0),
        NEW if manifest.calibration else "bundle": _scaled(manifest, own, manifest.temperature),
    }
    if manifest.form_temperatures:
        sets[FORMS] = manifest
    old = [m.metrics.get("temperature_carer_validation") for m in manifest.members]
    old_ensemble = manifest.metrics.get("temperature_carer_validation")
    if manifest.calibration and old_ensemble is not None and None not in old:
        sets[OLD] = _scaled(manifest, [float(t) for t in old if t is not None], old_ensemble)
    return sets


def _temperatures(manifest: BundleManifest) -> dict[str, Any]:
    found: dict[str, Any] = {
        "members": [m.temperature for m in manifest.members],
        "ensemble": manifest.temperature,
    }
    if manifest.form_temperatures:
        found["forms"] = {
            form: {"members": list(t.members), "ensemble": t.ensemble, "rows": t.rows}
            for form, t in manifest.form_temperatures.items()
        }
    return found


def calibration_methods(
    manifest: BundleManifest,
    logits: dict[str, Probs],
    labels: dict[str, list[int]],
    forms: dict[str, list[TextForm]],
) -> dict[str, Any]:
    """{method: {"temperatures": ..., split: {"ece", "nll", "reliability"}}}."""
    section: dict[str, Any] = {}
    for method, scaled in temperature_sets(manifest).items():
        entry: dict[str, Any] = {"temperatures": _temperatures(scaled)}
        for split, split_logits in logits.items():
            probs = ensemble_probs(scaled, split_logits, forms[split])
            entry[split] = calibration(probs, labels[split]) | {
                "reliability": reliability(probs, labels[split])
            }
        section[method] = entry
    return section


def share_errors(probs: Probs, labels: list[int]) -> dict[str, dict[str, float]]:
    """Per emotion: true, counted and expected share, and the absolute errors; plus the mean
    absolute error of each over the emotions ("mean")."""
    truth = np.bincount(np.asarray(labels), minlength=len(LABELS)) / len(labels)
    counted = np.bincount(probs.argmax(axis=1), minlength=len(LABELS)) / len(labels)
    expected = probs.mean(axis=0)
    rows = {
        label: {
            "true": round(float(truth[i]), 4),
            "counted": round(float(counted[i]), 4),
            "expected": round(float(expected[i]), 4),
            "counted_error": round(float(abs(counted[i] - truth[i])), 4),
            "expected_error": round(float(abs(expected[i] - truth[i])), 4),
        }
        for i, label in enumerate(LABELS)
    }
    rows["mean"] = {
        "counted_error": round(float(np.abs(counted - truth).mean()), 4),
        "expected_error": round(float(np.abs(expected - truth).mean()), 4),
    }
    return rows


def averaging_sections(
    manifest: BundleManifest,
    logits: dict[str, Probs],
    labels: dict[str, list[int]],
    forms: dict[str, list[TextForm]],
) -> dict[str, Any]:
    """The report's "calibration_methods" and "shares" (with the bundle's own temperatures)."""
    return {
        "calibration_methods": calibration_methods(manifest, logits, labels, forms),
        "shares": {
            split: share_errors(ensemble_probs(manifest, split_logits, forms[split]), labels[split])
            for split, split_logits in logits.items()
        },
    }
