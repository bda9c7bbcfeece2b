"""Which data to fit the temperatures on: the figures behind the choice (issue 16).

Runs a bundle's members once on CARER validation, the held-out real-post slice
(`training.calibration_split`), CARER test and `ood_dev`, then fits the member and ensemble
temperatures four ways and scores each on every split: CARER validation alone (the recipe before
issue 16), validation and slice pooled row by row, the two weighted equally (the recipe since),
and the slice alone. The bundle's own temperatures are not used, so any bundle trained with the
slice held out can be studied; one trained on it (before issue 16) flatters the slice.

    .venv/bin/python -m training.calibration_study /tmp/bundles/quick --output study.json
"""

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer

from model.combine import Probs
from model.predictor import EnsemblePredictor
from training.calibration import domain_weights, fit_temperature
from training.calibration_report import ensemble_probs
from training.calibration_split import read_calibration_split
from training.data import read_split
from training.metrics import calibration
from training.pipeline import ensemble_temperature

SCORED = {"carer-validation": "validation", "carer-test": "test", "ood-dev": "ood"}


def _fit(
    logits: Probs, labels: torch.Tensor, weights: torch.Tensor | None, manifest: Any
) -> tuple[list[float], float]:
    members = [
        fit_temperature(torch.from_numpy(member), labels, weights=weights) for member in logits
    ]
    chosen = None if manifest.weights is None else tuple(manifest.weights)
    return members, ensemble_temperature(logits, members, chosen, labels, row_weights=weights)


def study(bundle: Path, data_dir: Path) -> dict[str, Any]:
    predictor = EnsemblePredictor.load(bundle, device="cpu")
    manifest = predictor.manifest
    _, real_posts, split = read_calibration_split(data_dir)
    data = {key: read_split(data_dir, name) for name, key in SCORED.items()}
    data["real posts"] = real_posts
    logits = {key: predictor.member_logits(rows.texts, 64) for key, rows in data.items()}
    labels = {key: rows.labels for key, rows in data.items()}
    carer, real = len(labels["validation"]), len(labels["real posts"])
    both_logits = np.concatenate([logits["validation"], logits["real posts"]], axis=1)
    both = torch.tensor(labels["validation"] + labels["real posts"])
    fits = {
        "CARER validation only": _fit(
            logits["validation"], torch.tensor(labels["validation"]), None, manifest
        ),
        "pooled": _fit(both_logits, both, None, manifest),
        "each domain weighted equally": _fit(
            both_logits, both, domain_weights([carer, real]), manifest
        ),
        "real posts only": _fit(
            logits["real posts"], torch.tensor(labels["real posts"]), None, manifest
        ),
    }
    figures: dict[str, Any] = {"bundle": str(bundle), "split": split.model_dump(), "methods": {}}
    for method, (members, ensemble) in fits.items():
        entry: dict[str, Any] = {"members": [round(t, 4) for t in members], "ensemble": ensemble}
        for key in logits:
            probs = ensemble_probs(manifest, logits[key], members, ensemble)
            entry[key] = calibration(probs, labels[key])
        figures["methods"][method] = entry
    return figures


def main(
    bundle: Annotated[Path, typer.Argument(help="bundle directory")],
    data_dir: Annotated[Path, typer.Option(help="dataset root")] = Path("../shared/data"),
    output: Annotated[Path, typer.Option(help="JSON figures")] = Path(
        ".cache/results/calibration_study.json"
    ),
) -> None:
    """Fit the temperatures four ways on BUNDLE's members; ECE / NLL of each on every split."""
    figures = study(bundle, data_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n")
    splits = ["validation", "real posts", "test", "ood"]
    typer.echo(f"{'fitted on':30s} " + " ".join(f"{s:>16s}" for s in splits) + "   (ECE / NLL)")
    for method, entry in figures["methods"].items():
        cells = " ".join(f"{entry[s]['ece']:.4f} / {entry[s]['nll']:.3f}" for s in splits)
        typer.echo(f"{method:30s} {cells}")
    typer.echo(f"written to {output}")


if __name__ == "__main__":
    typer.run(main)
