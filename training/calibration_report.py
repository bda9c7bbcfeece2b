"""Two sections of the evaluation report that say whether probabilities can be averaged.

`calibration_methods`: ECE, NLL and reliability on each split for the bundle's members scored
three ways: uncalibrated, with the temperatures CARER validation alone gives (the recipe before
issue 16, recorded in the manifest's metrics by training) and with the bundle's own (CARER
validation + the real-post slice). Computed from the members' logits, without running them again.

`share_errors`: per emotion, the true share of a split's labels against the share of predicted
labels (what counting the `label` column gives) and the expected share (the mean probability,
what the rollup's probability sums give), with the absolute error of each.
"""

from typing import Any

import numpy as np

from model.combine import Probs, apply_temperature, combine, softmax
from schemas.bundle import BundleManifest
from schemas.emotions import LABELS
from training.metrics import calibration, reliability

OLD, NEW, RAW = "CARER validation only", "CARER validation + real posts", "uncalibrated"


def ensemble_probs(
    manifest: BundleManifest, logits: Probs, members: list[float], ensemble: float
) -> Probs:
    weights = None if manifest.weights is None else np.array(manifest.weights)
    member_probs = softmax(logits, np.array(members, dtype=np.float64))
    return apply_temperature(combine(member_probs, manifest.rule, weights), ensemble)


def temperature_sets(manifest: BundleManifest) -> dict[str, tuple[list[float], float]]:
    """Method -> (member temperatures, ensemble temperature); the CARER-only one only where
    training recorded it."""
    sets = {
        RAW: ([1.0] * len(manifest.members), 1.0),
        NEW if manifest.calibration else "bundle": (
            [m.temperature for m in manifest.members],
            manifest.temperature,
        ),
    }
    old = [m.metrics.get("temperature_carer_validation") for m in manifest.members]
    old_ensemble = manifest.metrics.get("temperature_carer_validation")
    if manifest.calibration and old_ensemble is not None and None not in old:
        sets[OLD] = ([float(t) for t in old if t is not None], float(old_ensemble))
    return sets


def calibration_methods(
    manifest: BundleManifest, logits: dict[str, Probs], labels: dict[str, list[int]]
) -> dict[str, Any]:
    """{method: {"temperatures": ..., split: {"ece", "nll", "reliability"}}}."""
    section: dict[str, Any] = {}
    for method, (members, ensemble) in temperature_sets(manifest).items():
        entry: dict[str, Any] = {"temperatures": {"members": members, "ensemble": ensemble}}
        for split, split_logits in logits.items():
            probs = ensemble_probs(manifest, split_logits, members, ensemble)
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
    manifest: BundleManifest, logits: dict[str, Probs], labels: dict[str, list[int]]
) -> dict[str, Any]:
    """The report's "calibration_methods" and "shares" (with the bundle's own temperatures)."""
    members = [m.temperature for m in manifest.members]
    return {
        "calibration_methods": calibration_methods(manifest, logits, labels),
        "shares": {
            split: share_errors(
                ensemble_probs(manifest, split_logits, members, manifest.temperature), labels[split]
            )
            for split, split_logits in logits.items()
        },
    }
