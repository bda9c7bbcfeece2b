"""How member probabilities become one distribution, and how much the members disagree."""

import numpy as np
import numpy.typing as npt

from schemas.bundle import CombinationRule

Probs = npt.NDArray[np.float64]
_EPS = 1e-12


def combine(member_probs: Probs, rule: CombinationRule, weights: Probs | None = None) -> Probs:
    """Combine `[members, posts, labels]` into `[posts, labels]`; each row sums to 1."""
    if member_probs.ndim != 3:
        raise ValueError("expected member probabilities shaped [members, posts, labels]")
    w = _weights(member_probs.shape[0], weights)
    if rule == "mean":
        combined = np.tensordot(w, member_probs, axes=1)
    elif rule == "product":
        combined = np.exp(np.tensordot(w, np.log(member_probs + _EPS), axes=1))
    elif rule == "max":
        combined = member_probs.max(axis=0)
    elif rule == "min":
        combined = member_probs.min(axis=0) + _EPS
    else:
        raise ValueError(f"unknown combination rule {rule!r}")
    return np.asarray(combined / combined.sum(axis=1, keepdims=True), dtype=np.float64)


def apply_temperature(probs: Probs, temperature: float | Probs) -> Probs:
    """Rescale the confidence of combined distributions: `p ** (1 / T)`, renormalised; `T` one
    number, or one per row.

    Averaging calibrated members leaves the ensemble under-confident; one temperature fitted on
    validation after combination corrects that without changing any prediction.
    """
    rows = np.asarray(temperature, dtype=np.float64)
    if rows.ndim == 0 and float(rows) == 1.0:
        return probs
    scaled = np.log(probs + _EPS) / (rows[:, None] if rows.ndim == 1 else rows)
    weights = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def softmax(logits: Probs, temperatures: Probs) -> Probs:
    """Softmax over the last axis of `[members, posts, labels]`, member `m` divided by `T[m]`
    (temperatures `[members]`) or post `p` of member `m` by `T[m, p]` (`[members, posts]`)."""
    per_post = temperatures if temperatures.ndim == 2 else temperatures[:, None]
    scaled = logits / per_post[:, :, None]
    weights = np.exp(scaled - scaled.max(axis=2, keepdims=True))
    return np.asarray(weights / weights.sum(axis=2, keepdims=True), dtype=np.float64)


def disagreement(member_probs: Probs, combined: Probs) -> npt.NDArray[np.float64]:
    """Mean total-variation distance of each member from the ensemble: 0 when all agree, <= 1."""
    distance = 0.5 * np.abs(member_probs - combined[None, :, :]).sum(axis=2)
    return np.asarray(distance.mean(axis=0), dtype=np.float64)


def _weights(members: int, weights: Probs | None) -> Probs:
    if weights is None:
        return np.full(members, 1.0 / members)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (members,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be one non-negative number per member, not all zero")
    return np.asarray(w / w.sum(), dtype=np.float64)
