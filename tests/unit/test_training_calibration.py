"""Temperature scaling and the classification figures it is judged with."""

import numpy as np
import torch

from training.calibration import fit_temperature, fit_weights, nll, simplex_grid
from training.class_scaling import apply_linear, fit_dirichlet, fit_vector_scaling
from training.metrics import classification_report, confusion_matrix, macro_f1


def noisy_logits(scale: float, rows: int = 600, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits about 70% right; `scale` > 1 makes them over-confident, < 1 under-confident."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 6, (rows,), generator=generator)
    logits = torch.randn(rows, 6, generator=generator)
    logits[torch.arange(rows), labels] += 1.5
    return logits * scale, labels


def test_temperature_cools_an_over_confident_model() -> None:
    logits, labels = noisy_logits(scale=6.0)
    temperature = fit_temperature(logits, labels)
    assert temperature > 2.0
    assert nll(logits, labels, temperature) < nll(logits, labels) - 0.5


def test_temperature_warms_an_under_confident_model() -> None:
    logits, labels = noisy_logits(scale=0.2)
    temperature = fit_temperature(logits, labels)
    assert temperature < 0.5
    assert nll(logits, labels, temperature) < nll(logits, labels)


def test_temperature_never_makes_nll_worse() -> None:
    logits, labels = noisy_logits(scale=1.0)
    temperature = fit_temperature(logits, labels)
    assert nll(logits, labels, temperature) <= nll(logits, labels) + 1e-9
    # argmax, so every prediction, is unchanged by any positive temperature
    assert torch.equal((logits / temperature).argmax(1), logits.argmax(1))


def test_report_figures_on_a_hand_checked_case() -> None:
    truth = [0, 0, 1, 1, 2, 5]
    predicted = [0, 1, 1, 1, 2, 0]
    matrix = confusion_matrix(truth, predicted)
    assert matrix[0, 1] == 1 and matrix[5, 0] == 1 and int(matrix.sum()) == 6
    report = classification_report(truth, predicted)
    assert report["accuracy"] == round(4 / 6, 4)
    assert report["per_class"]["joy"] == {
        "precision": round(2 / 3, 4),
        "recall": 1.0,
        "f1": 0.8,
        "support": 2,
    }
    assert report["per_class"]["fear"]["f1"] == 0.0  # absent everywhere: counts as 0
    assert macro_f1(truth, predicted) == np.mean([0.5, 0.8, 1.0, 0, 0, 0])


def test_simplex_grid_sums_to_one() -> None:
    grid = simplex_grid(3, 0.25)
    assert len(grid) == 15 and (1.0, 0.0, 0.0) in grid
    assert all(abs(sum(w) - 1) < 1e-9 for w in grid)


def test_weights_favour_the_better_member_and_stay_equal_for_twins() -> None:
    good, labels = noisy_logits(scale=3.0, seed=1)
    noise = torch.randn(good.shape, generator=torch.Generator().manual_seed(2))
    probs = torch.stack([good.softmax(-1), noise.softmax(-1)])
    weights = fit_weights(probs, labels)
    assert weights[0] > 0.7 and abs(sum(weights) - 1) < 1e-9
    twins = torch.stack([good.softmax(-1), good.softmax(-1)])
    assert fit_weights(twins, labels) == (0.5, 0.5)


def prior_shifted(rows: int = 1200, seed: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Over-confident probabilities of a model that also under-predicts the last emotion: what
    one temperature cannot fix and a per-emotion scale and bias can."""
    logits, labels = noisy_logits(scale=4.0, rows=rows, seed=seed)
    logits[:, 5] -= 6.0
    return logits.softmax(-1), labels


def test_vector_scaling_fixes_what_one_temperature_cannot() -> None:
    probs, labels = prior_shifted()
    log_p = probs.log()
    temperature = fit_temperature(log_p, labels)
    scales, biases = fit_vector_scaling(probs.numpy().astype(np.float64), labels)
    scaled = apply_linear(probs.numpy().astype(np.float64), np.diag(scales), np.array(biases))
    vector_nll = float(-np.log(scaled[np.arange(len(labels)), labels.numpy()]).mean())
    assert vector_nll < nll(log_p, labels, temperature) - 0.05
    assert biases[5] > biases[0] + 1.0  # the under-predicted emotion is raised


def test_dirichlet_calibration_reduces_nll_and_identity_changes_nothing() -> None:
    probs, labels = prior_shifted(seed=4)
    p = probs.numpy().astype(np.float64)
    matrix, biases = fit_dirichlet(p, labels, l2=1e-3)
    fitted = apply_linear(p, np.array(matrix), np.array(biases))
    picked = np.arange(len(labels)), labels.numpy()
    assert -np.log(fitted[picked]).mean() < -np.log(p[picked]).mean() - 0.1
    assert np.allclose(apply_linear(p, np.eye(6), np.zeros(6)), p, atol=1e-9)
