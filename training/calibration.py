"""Temperature scaling (Guo et al., 2017): one scalar per member that makes its softmax honest.

Fitted on held-out validation logits by minimising the negative log-likelihood; it changes no
prediction, only confidence, which the ensemble's averaging and the uncertainty figure rely on.
"""

from collections.abc import Sequence

import torch

MIN_T, MAX_T = 0.05, 20.0


def _weighted_nll(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    losses = torch.nn.functional.cross_entropy(logits, labels.long(), reduction="none")
    return losses.mean() if weights is None else (losses * weights).sum() / weights.sum()


def nll(
    logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 1.0,
    weights: torch.Tensor | None = None,
) -> float:
    """Mean (or `weights`-weighted) negative log-likelihood under `softmax(logits / T)`."""
    return float(_weighted_nll(logits.double() / temperature, labels, weights))


def domain_weights(sizes: Sequence[int]) -> torch.Tensor:
    """Row weights that give each domain (consecutive blocks of `sizes` rows) an equal say,
    whatever its size: CARER validation and the real-post slice count alike."""
    return torch.cat([torch.full((n,), 1.0 / max(n, 1), dtype=torch.float64) for n in sizes])


def fit_temperature(
    logits: torch.Tensor,
    labels: torch.Tensor,
    max_iter: int = 100,
    weights: torch.Tensor | None = None,
) -> float:
    """The temperature minimising the (`weights`-weighted) NLL, by LBFGS on log T so that T
    stays positive."""
    logits = logits.detach().double()
    labels = labels.long()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = _weighted_nll(logits / log_t.exp(), labels, weights)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    fitted = float(log_t.detach().exp().clamp(MIN_T, MAX_T))
    # LBFGS can stall on degenerate inputs; never return a temperature worse than none at all.
    better = nll(logits, labels, fitted, weights) <= nll(logits, labels, weights=weights)
    return fitted if better else 1.0


def simplex_grid(members: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector with entries in multiples of `step` that sums to 1."""
    units = round(1 / step)

    def splits(parts: int, total: int) -> list[tuple[int, ...]]:
        if parts == 1:
            return [(total,)]
        return [(k, *rest) for k in range(total + 1) for rest in splits(parts - 1, total - k)]

    return [tuple(k / units for k in split) for split in splits(members, units)]


def fit_weights(
    member_probs: torch.Tensor, labels: torch.Tensor, step: float = 0.05
) -> tuple[float, ...]:
    """Weights of the "mean" rule minimising validation NLL (grid search; ties keep it equal).

    `member_probs` is `[members, rows, labels]`, already temperature-scaled. NLL is smoother
    than accuracy on a 2,000-row split, so the choice is less at the mercy of a few rows.
    """
    members = member_probs.shape[0]
    probs = member_probs.double()
    rows = torch.arange(labels.shape[0])

    def loss(weights: tuple[float, ...]) -> float:
        mixed = torch.tensordot(torch.tensor(weights, dtype=torch.float64), probs, dims=1)
        return float(-(mixed[rows, labels] + 1e-12).log().mean())

    equal = tuple([1.0 / members] * members)
    best = min(simplex_grid(members, step), key=loss)
    return best if loss(best) < loss(equal) - 1e-4 else equal
