"""Temperatures per text form (`model/text_form.py`), fitted on the calibration rows of each form.

One set of temperatures fitted on CARER validation and the real-post slice together trades one
domain against the other: CARER's preprocessed tweets want the ensemble sharpened, posts as
people type them want it cooled (docs/model-quality.md). The two are told apart by their form
alone, so each form gets the fit of its own rows: plain text, CARER validation's 2,000 rows
(and the slice's few plain ones); typed text, the rest of the slice.
"""

from collections.abc import Sequence

import numpy as np
import torch

from model.combine import Probs, combine, softmax
from model.text_form import TEXT_FORMS
from schemas.bundle import FormTemperatures, TextForm
from training.calibration import fit_temperature

# Below this many rows a form's temperatures are too loosely fitted to beat the pooled ones
# (a temperature's NLL minimum is flat); such a form keeps the bundle's pooled temperatures.
MIN_FORM_ROWS = 200


def ensemble_temperature(
    member_logits: Probs,
    temperatures: Sequence[float],
    weights: tuple[float, ...] | None,
    labels: torch.Tensor,
    row_weights: torch.Tensor | None = None,
) -> float:
    """The temperature of the members' combined distribution (scaled by `temperatures`)."""
    member_probs = softmax(member_logits, np.array(temperatures))
    combined = combine(member_probs, "mean", None if weights is None else np.array(weights))
    # log-probabilities as logits: softmax(log p / T) is p ** (1/T), renormalised
    log_p = torch.from_numpy(np.log(combined + 1e-12))
    return fit_temperature(log_p, labels, weights=row_weights)


def fit_form_temperatures(
    member_logits: Probs,
    labels: torch.Tensor,
    forms: Sequence[TextForm],
    weights: tuple[float, ...] | None,
) -> dict[TextForm, FormTemperatures]:
    """Members' and ensemble temperatures per form, on `[members, rows]` logits; a form with
    fewer than `MIN_FORM_ROWS` rows is left out (it keeps the pooled temperatures)."""
    fitted: dict[TextForm, FormTemperatures] = {}
    for form in TEXT_FORMS:
        rows = [i for i, found in enumerate(forms) if found == form]
        if len(rows) < MIN_FORM_ROWS:
            continue
        logits, truth = member_logits[:, rows], labels[rows]
        members = [fit_temperature(torch.from_numpy(m), truth) for m in logits]
        ensemble = ensemble_temperature(logits, members, weights, truth)
        fitted[form] = FormTemperatures(
            members=tuple(round(t, 4) for t in members), ensemble=round(ensemble, 4), rows=len(rows)
        )
    return fitted
