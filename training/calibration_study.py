"""Which calibration to fit, and on which rows: the figures behind the choice (issue 16).

Runs a bundle's members once on CARER validation, the held-out real-post slice
(`training.calibration_split`), CARER test and `ood_dev`, then fits every calibration of
`training.calibration_variants` on the calibration rows alone (CARER validation and the slice)
and scores each on every split: ECE (with its bootstrap spread) and NLL, and accuracy and
macro-F1, since vector scaling and Dirichlet calibration can move predictions. The bundle's own
temperatures are not used, so any bundle trained with the slice held out can be studied; one
trained on it flatters the slice.
`worst calibration ECE`, the larger of the two calibration sets' ECE, is the one figure a choice
can be made on without looking at CARER test or `ood_dev`.

    .venv/bin/python -m training.calibration_study /tmp/bundles/quick --output study.json \
        --logits .cache/results/study_logits.npz   # second runs skip the members
"""

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer

from model.combine import Probs
from model.predictor import EnsemblePredictor
from training.calibration_split import read_calibration_split
from training.calibration_variants import VARIANTS, FitSet, fit, uncalibrated
from training.data import read_split
from training.metrics import calibration, macro_f1

SCORED = {"carer-validation": "validation", "carer-test": "test", "ood-dev": "ood"}
SPLITS = ("validation", "real posts", "test", "ood")


def member_outputs(
    bundle: Path, data_dir: Path, cache: Path | None
) -> tuple[dict[str, Probs], dict[str, list[int]]]:
    """Logits and labels per split, from `cache` when it exists (and into it when it does not)."""
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        return (
            {key: stored[f"{key}/logits"] for key in SPLITS},
            {key: stored[f"{key}/labels"].tolist() for key in SPLITS},
        )
    predictor = EnsemblePredictor.load(bundle, device="cpu")
    data = {key: read_split(data_dir, name) for name, key in SCORED.items()}
    data["real posts"] = read_calibration_split(data_dir)[1]
    logits = {key: predictor.member_logits(data[key].texts, 64) for key in SPLITS}
    labels = {key: list(data[key].labels) for key in SPLITS}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"{k}/logits": logits[k] for k in SPLITS} | {
            f"{k}/labels": np.array(labels[k]) for k in SPLITS
        }
        np.savez(cache, **arrays)  # type: ignore[arg-type]
    return logits, labels


def scores(probs: Probs, labels: list[int], draws: int = 100) -> dict[str, float]:
    """ECE and NLL, accuracy and macro-F1, and the ECE's bootstrap standard deviation: how far
    apart two methods' ECE must be on ~2,000 rows before the difference means anything."""
    predicted = probs.argmax(axis=1)
    truth = np.asarray(labels)
    resamples = np.random.default_rng(0).integers(0, len(truth), (draws, len(truth)))
    spread = np.std([calibration(probs[rows], truth[rows].tolist())["ece"] for rows in resamples])
    return calibration(probs, labels) | {
        "ece_sd": round(float(spread), 4),
        "accuracy": round(float((predicted == truth).mean()), 4),
        "macro_f1": round(macro_f1(labels, predicted), 4),
    }


def study(bundle: Path, data_dir: Path, cache: Path | None = None) -> dict[str, Any]:
    logits, labels = member_outputs(bundle, data_dir, cache)
    fit_set = FitSet(
        np.concatenate([logits["validation"], logits["real posts"]], axis=1),
        torch.tensor(labels["validation"] + labels["real posts"]),
        len(labels["validation"]),
    )
    calibrated = {"uncalibrated": uncalibrated} | {
        name: fit(variant, fit_set) for name, variant in VARIANTS.items()
    }
    split = read_calibration_split(data_dir)[2].model_dump()
    figures: dict[str, Any] = {"bundle": str(bundle), "split": split, "methods": {}}
    for method, calibrate in calibrated.items():
        entry: dict[str, Any] = {key: scores(calibrate(logits[key]), labels[key]) for key in SPLITS}
        entry["worst calibration ECE"] = max(entry["validation"]["ece"], entry["real posts"]["ece"])
        figures["methods"][method] = entry
    return figures


def main(
    bundle: Annotated[Path, typer.Argument(help="bundle directory")],
    data_dir: Annotated[Path, typer.Option(help="dataset root")] = Path("../shared/data"),
    output: Annotated[Path, typer.Option(help="JSON figures")] = Path(
        ".cache/results/calibration_study.json"
    ),
    logits: Annotated[
        Path | None, typer.Option(help="member logits cache (.npz): read if there, else written")
    ] = None,
) -> None:
    """Fit each calibration on BUNDLE's members; ECE, accuracy, macro-F1 of each on every split."""
    figures = study(bundle, data_dir, logits)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(figures, indent=2) + "\n")
    typer.echo(f"{'method':50s} {'worst cal.':>10s} " + " ".join(f"{s:>22s}" for s in SPLITS))
    typer.echo(f"{'':50s} {'ECE':>10s} " + " ".join(f"{'ECE / acc. / F1':>22s}" for _ in SPLITS))
    for method, entry in figures["methods"].items():
        cells = " ".join(
            f"{entry[s]['ece']:.4f} / {entry[s]['accuracy']:.4f} / {entry[s]['macro_f1']:.3f}"
            for s in SPLITS
        )
        typer.echo(f"{method:50s} {entry['worst calibration ECE']:10.4f} {cells}")
    typer.echo(f"written to {output}")


if __name__ == "__main__":
    typer.run(main)
