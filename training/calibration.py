"""Temperature scaling (Guo et al., 2017): one scalar per member that makes its softmax honest.

Fitted on held-out validation logits by minimising the negative log-likelihood; it changes no
prediction, only confidence, which the ensemble's averaging and the uncertainty figure rely on.
"""

import torch

MIN_T, MAX_T = 0.05, 20.0


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of `labels` under `softmax(logits / temperature)`."""
    return float(torch.nn.functional.cross_entropy(logits.double() / temperature, labels))


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, max_iter: int = 100) -> float:
    """The temperature minimising validation NLL (LBFGS on log T so T stays positive)."""
    logits = logits.detach().double()
    labels = labels.long()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    fitted = float(log_t.detach().exp().clamp(MIN_T, MAX_T))
    # LBFGS can stall on degenerate inputs; never return a temperature worse than none at all.
    return fitted if nll(logits, labels, fitted) <= nll(logits, labels) else 1.0
