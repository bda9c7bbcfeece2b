"""The calibrations `training.calibration_study` compares, each fitted on calibration rows only.

A variant maps the members' logits `[members, rows, labels]` to ensemble probabilities. All are
fitted on CARER validation and the real-post slice (or one of them), never on CARER test or
`ood_dev`: member temperatures, then an ensemble temperature on the mean of the members'
probabilities (the predictor's recipe), optionally followed by vector scaling or Dirichlet
calibration (`training.class_scaling`) of the ensemble's log-probabilities.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from model.combine import Probs, apply_temperature, combine, softmax
from training.calibration import domain_weights, fit_temperature
from training.class_scaling import apply_linear, fit_dirichlet, fit_vector_scaling

Calibrated = Callable[[Probs], Probs]


@dataclass(frozen=True)
class FitSet:
    """Calibration logits and labels: CARER validation rows first, then the slice's."""

    logits: Probs
    labels: torch.Tensor
    carer: int

    def rows(self, domain: str) -> "FitSet":
        """ "both", "carer" or "real posts" alone."""
        if domain == "carer":
            return FitSet(self.logits[:, : self.carer], self.labels[: self.carer], self.carer)
        if domain == "real posts":
            return FitSet(self.logits[:, self.carer :], self.labels[self.carer :], 0)
        return self

    def weights(self, real_share: float | None) -> torch.Tensor | None:
        """Row weights giving the slice `real_share` of the say (None: row by row)."""
        if real_share is None or self.carer in (0, len(self.labels)):
            return None
        equal = domain_weights([self.carer, len(self.labels) - self.carer])
        equal[self.carer :] *= real_share / (1 - real_share)
        return equal


@dataclass(frozen=True)
class Variant:
    domain: str = "both"  # which calibration rows
    real_share: float | None = 0.5  # the slice's say when both; None: pooled row by row
    members: bool = True  # member temperatures before averaging (False: raw softmax)
    after: str = "none"  # "none", "vector" or "dirichlet", on the ensemble's log-probabilities
    l2: float = 0.0


def fit(variant: Variant, data: FitSet) -> Calibrated:
    data = data.rows(variant.domain)
    weights = data.weights(variant.real_share)
    members = [
        fit_temperature(torch.from_numpy(m), data.labels, weights=weights) if variant.members else 1
        for m in data.logits
    ]

    def averaged(logits: Probs) -> Probs:
        return combine(softmax(logits, np.array(members, dtype=np.float64)), "mean")

    log_p = torch.from_numpy(np.log(averaged(data.logits) + 1e-12))
    ensemble = fit_temperature(log_p, data.labels, weights=weights)

    def scaled(logits: Probs) -> Probs:
        return apply_temperature(averaged(logits), ensemble)

    if variant.after == "none":
        return scaled
    if variant.after == "vector":
        scales, biases = fit_vector_scaling(scaled(data.logits), data.labels, weights, variant.l2)
        matrix, bias = np.diag(scales), np.array(biases)
    else:
        full, offsets = fit_dirichlet(scaled(data.logits), data.labels, weights, variant.l2)
        matrix, bias = np.array(full), np.array(offsets)
    return lambda logits: apply_linear(scaled(logits), matrix, bias)


def uncalibrated(logits: Probs) -> Probs:
    return combine(softmax(logits, np.ones(logits.shape[0])), "mean")


VARIANTS = {
    "temperatures, CARER validation only (before)": Variant(domain="carer"),
    "temperatures, pooled row by row": Variant(real_share=None),
    "temperatures, each domain weighted equally (kept)": Variant(),
    "temperatures, slice weighted 0.3": Variant(real_share=0.3),
    "temperatures, slice weighted 0.6": Variant(real_share=0.6),
    "temperatures, slice weighted 0.7": Variant(real_share=0.7),
    "temperatures, the slice only": Variant(domain="real posts"),
    "ensemble temperature only, raw members": Variant(members=False),
    "+ vector scaling": Variant(after="vector"),
    "+ vector scaling, L2 0.001": Variant(after="vector", l2=1e-3),
    "+ vector scaling, L2 0.01": Variant(after="vector", l2=1e-2),
    "raw members + ens. T + vector scaling": Variant(members=False, after="vector"),
    "+ vector scaling, slice weighted 0.7": Variant(real_share=0.7, after="vector"),
    "+ Dirichlet, L2 0.001": Variant(after="dirichlet", l2=1e-3),
    "+ Dirichlet, L2 0.01": Variant(after="dirichlet", l2=1e-2),
    # per domain, to see what each domain alone allows (the predictor knows no domain)
    "CARER validation only + vector scaling": Variant(domain="carer", after="vector"),
    "the slice only + vector scaling": Variant(domain="real posts", after="vector"),
}
