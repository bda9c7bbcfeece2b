"""Which temperatures a post gets: its text form, read from its normalised text.

Probabilities are calibrated on two kinds of labelled text that want different temperatures
(issue 16): CARER's tweets, shipped preprocessed (lower-case letters, digits and spaces, nothing
else), and real posts as people type them (case, punctuation, emojis). 100 % of CARER and 1.5 %
of `goemotions_train` and `ood_dev` are "plain"; the form is judged after the bundle's own
normalisation, so training and the worker (whose cache is keyed by the normalised text) always
agree on it.
"""

import re
from collections.abc import Sequence

import numpy as np

from model.combine import Probs
from schemas.bundle import BundleManifest, TextForm

_PLAIN = re.compile(r"[a-z0-9 ]*")
TEXT_FORMS: tuple[TextForm, ...] = ("plain", "typed")


def text_form(normalised: str) -> TextForm:
    return "plain" if _PLAIN.fullmatch(normalised) else "typed"


def text_forms(normalised: Sequence[str]) -> list[TextForm]:
    return [text_form(text) for text in normalised]


def member_temperatures(manifest: BundleManifest, forms: Sequence[TextForm]) -> Probs:
    """`[members, posts]`: each post's form's temperatures, the members' own where the bundle
    has none for that form."""
    default = [member.temperature for member in manifest.members]
    by_form = manifest.form_temperatures or {}
    columns = [by_form[f].members if f in by_form else default for f in forms]
    return np.array(columns, dtype=np.float64).reshape(len(forms), len(default)).T


def ensemble_temperatures(manifest: BundleManifest, forms: Sequence[TextForm]) -> Probs:
    """`[posts]`: each post's form's ensemble temperature, the bundle's own where it has none."""
    by_form = manifest.form_temperatures or {}
    return np.array(
        [by_form[f].ensemble if f in by_form else manifest.temperature for f in forms],
        dtype=np.float64,
    )
