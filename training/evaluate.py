"""Evaluating a saved bundle through the worker's own `EnsemblePredictor`.

The figures are those of what runs in production: same normalisation, tokenisation,
temperatures and combination rule. Run as `python -m training.evaluate BUNDLE_DIR`.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import numpy as np
import typer

from schemas.bundle import CombinationRule
from training.data import read_split
from training.metrics import classification_report
from worker.combine import Probs
from worker.predictor import EnsemblePredictor

REPORT_DIR = Path("benchmarks/results")
# split name -> the key it has in reports ("ensemble.test.accuracy", "ensemble.ood.macro_f1")
REPORT_SPLITS = {"carer-validation": "validation", "carer-test": "test", "ood-dev": "ood"}
RULES: tuple[CombinationRule, ...] = ("mean", "product", "max", "min")
CALIBRATION_BINS = 15
DEFAULT_REPORT = REPORT_DIR / "model_quality.json"


def calibration(probs: Probs, labels: list[int]) -> dict[str, float]:
    """Negative log-likelihood and expected calibration error (equal-width confidence bins)."""
    truth = np.asarray(labels)
    picked = probs[np.arange(len(truth)), truth]
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    gap = sum(
        abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
        for b in range(CALIBRATION_BINS)
        if (bins == b).any()
    )
    return {"nll": round(float(-np.log(picked + 1e-12).mean()), 4), "ece": round(float(gap), 4)}


def _split_report(probs: Probs, labels: list[int]) -> dict[str, Any]:
    return classification_report(labels, probs.argmax(axis=1)) | calibration(probs, labels)


def _headline(probs: Probs, labels: list[int]) -> dict[str, float]:
    report = classification_report(labels, probs.argmax(axis=1))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def evaluate_bundle(
    bundle_dir: Path,
    data_dir: Path,
    splits: tuple[str, ...] = ("carer-test", "ood-dev"),
    device: Literal["auto", "cpu", "cuda"] = "auto",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Ensemble, per-member and per-rule figures on each split, JSON-ready."""
    predictor = EnsemblePredictor.load(bundle_dir, device=device)
    names = [member.spec.name for member in predictor.members]
    report: dict[str, Any] = {
        "bundle": str(bundle_dir),
        "version": predictor.version,
        "rule": predictor.manifest.rule,
        "members": {name: {} for name in names},
        "ensemble": {},
        "rules": {rule: {} for rule in RULES},
    }
    for split in splits:
        key = REPORT_SPLITS.get(split, split)
        data = read_split(data_dir, split)
        member_probs = predictor.member_proba(data.texts, batch_size)
        report["ensemble"][key] = _split_report(predictor.combine(member_probs), data.labels)
        for index, name in enumerate(names):
            report["members"][name][key] = _split_report(member_probs[index], data.labels)
        for rule in RULES:
            report["rules"][rule][key] = _headline(
                predictor.combine(member_probs, rule), data.labels
            )
    return report


def report_path(name: str = "model_quality") -> Path:
    return REPORT_DIR / f"{name}.json"


def write_report(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per (ensemble or member, split): accuracy and macro-F1."""
    lines = []
    rows = {"ensemble": report["ensemble"], **report["members"]}
    for name, splits in rows.items():
        for split, figures in splits.items():
            lines.append(
                f"{name:14s} {split:10s} accuracy {figures['accuracy']:.4f} "
                f"macro-F1 {figures['macro_f1']:.4f}"
            )
    return lines


def main(
    bundle: Annotated[Path, typer.Argument(help="bundle directory")],
    data_dir: Annotated[Path, typer.Option(help="dataset root")] = Path("../shared/data"),
    output: Annotated[Path, typer.Option(help="report file")] = DEFAULT_REPORT,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Evaluate BUNDLE on the CARER test split and ood_dev; write the JSON report."""
    if device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("device must be auto, cpu or cuda")
    chosen = cast(Literal["auto", "cpu", "cuda"], device)
    report = evaluate_bundle(bundle, data_dir, device=chosen)
    write_report(report, output)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo(f"report written to {output}")


if __name__ == "__main__":
    typer.run(main)
