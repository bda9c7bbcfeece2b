"""Calibration maps on the ensemble's log-probabilities, one step past a single temperature.

Vector scaling (Guo et al., 2017): `softmax(a * log p + b)` with one scale and one bias per
emotion (12 numbers). A bias can move a prediction, so accuracy is reported beside ECE.
Dirichlet calibration (Kull et al., 2019): `softmax(W log p + b)` with a full 6 x 6 matrix, its
off-diagonal entries and the biases held small by an L2 penalty (42 numbers). Both are fitted
by LBFGS on the (row-weighted) negative log-likelihood, as the temperatures are.

Measured in `training.calibration_study` (issue 16); the predictor does not apply either.
"""

from collections.abc import Callable

import numpy as np
import torch

from model.combine import Probs

_EPS = 1e-12


def _loss(scores: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    losses = torch.nn.functional.cross_entropy(scores, labels, reduction="none")
    return losses.mean() if weights is None else (losses * weights).sum() / weights.sum()


def fit_vector_scaling(
    probs: Probs, labels: torch.Tensor, weights: torch.Tensor | None = None, l2: float = 0.0
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-emotion scales and biases minimising the NLL of `softmax(a * log probs + b)`, plus
    `l2` times the squared distance of (a, b) from the identity (1, 0)."""
    log_p = torch.from_numpy(np.log(probs + _EPS))
    classes = log_p.shape[1]
    scales = torch.ones(classes, dtype=torch.float64, requires_grad=True)
    biases = torch.zeros(classes, dtype=torch.float64, requires_grad=True)

    def objective() -> torch.Tensor:
        penalty = ((scales - 1) ** 2).sum() + (biases**2).sum()
        return _loss(log_p * scales + biases, labels.long(), weights) + l2 * penalty

    _minimise([scales, biases], objective)
    return _rounded(scales), _rounded(biases)


def fit_dirichlet(
    probs: Probs, labels: torch.Tensor, weights: torch.Tensor | None = None, l2: float = 1e-3
) -> tuple[list[list[float]], list[float]]:
    """A full matrix and biases for `softmax(W log probs + b)`; `l2` penalises the off-diagonal
    entries and the biases (ODIR), so it reduces to vector scaling as `l2` grows."""
    log_p = torch.from_numpy(np.log(probs + _EPS))
    classes = log_p.shape[1]
    matrix = torch.eye(classes, dtype=torch.float64, requires_grad=True)
    biases = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    off = 1 - torch.eye(classes, dtype=torch.float64)

    def objective() -> torch.Tensor:
        penalty = ((matrix * off) ** 2).sum() + (biases**2).sum()
        return _loss(log_p @ matrix.T + biases, labels.long(), weights) + l2 * penalty

    _minimise([matrix, biases], objective)
    return matrix.detach().tolist(), biases.detach().tolist()


def apply_linear(probs: Probs, matrix: Probs, biases: Probs) -> Probs:
    """`softmax(log probs @ matrix.T + biases)`; vector scaling is a diagonal `matrix`."""
    scores = np.log(probs + _EPS) @ np.asarray(matrix).T + np.asarray(biases)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def _minimise(params: list[torch.Tensor], objective: Callable[[], torch.Tensor]) -> None:
    optimiser = torch.optim.LBFGS(params, lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = objective()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]


def _rounded(values: torch.Tensor) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in values.detach())
