"""PNG plots of an evaluation report: confusion matrices and reliability diagrams."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from training.calibration_report import OLD  # noqa: E402

SPLIT_TITLES = {"validation": "CARER validation", "test": "CARER test", "ood": "ood_dev (Reddit)"}


def confusion_plot(report: dict[str, Any], path: Path) -> Path:
    """The ensemble's confusion matrix per split, rows normalised to recall, counts printed."""
    splits = list(report["ensemble"])
    figure, axes = plt.subplots(1, len(splits), figsize=(5.2 * len(splits), 4.6), squeeze=False)
    for axis, split in zip(axes[0], splits, strict=True):
        confusion = report["ensemble"][split]["confusion"]
        counts = np.asarray(confusion["matrix"], dtype=float)
        recall = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        axis.imshow(recall, cmap="Blues", vmin=0, vmax=1)
        labels = confusion["labels"]
        axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        axis.set_yticks(range(len(labels)), labels)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        for (row, column), count in np.ndenumerate(counts):
            colour = "white" if recall[row, column] > 0.6 else "black"
            axis.text(column, row, int(count), ha="center", va="center", color=colour, fontsize=8)
        figures = report["ensemble"][split]
        axis.set_title(
            f"{SPLIT_TITLES.get(split, split)}\n"
            f"accuracy {figures['accuracy']:.3f}, macro-F1 {figures['macro_f1']:.3f}"
        )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _carer_only(axis: Any, report: dict[str, Any], split: str) -> None:
    """The line of the temperatures CARER validation alone gives, where the report has it."""
    old = report.get("calibration_methods", {}).get(OLD, {}).get(split)
    if old is None:
        return
    bins = [b for b in old["reliability"] if b["share"] >= 0.002]
    axis.plot(
        [b["confidence"] for b in bins],
        [b["accuracy"] for b in bins],
        marker="s",
        color="tab:red",
        linestyle="--",
        label=f"fitted on CARER validation only (ECE {old['ece']:.3f})",
    )


def reliability_plot(report: dict[str, Any], path: Path) -> Path:
    """Accuracy against confidence per bin, before and after calibration, per split."""
    splits = list(report["reliability"])
    figure, axes = plt.subplots(1, len(splits), figsize=(4.6 * len(splits), 4.4), squeeze=False)
    for axis, split in zip(axes[0], splits, strict=True):
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
        ece = report["ensemble"][split]
        for state, colour, key in (
            ("uncalibrated", "tab:orange", "ece_uncalibrated"),
            ("calibrated", "tab:blue", "ece"),
        ):
            bins = [b for b in report["reliability"][split][state] if b["share"] >= 0.002]
            axis.plot(
                [b["confidence"] for b in bins],
                [b["accuracy"] for b in bins],
                marker="o",
                color=colour,
                label=f"{state} (ECE {ece[key]:.3f})",
            )
        _carer_only(axis, report, split)
        axis.set_xlim(0.15, 1.0)
        axis.set_ylim(0.0, 1.0)
        axis.set_xlabel("confidence")
        axis.set_ylabel("accuracy")
        axis.set_title(SPLIT_TITLES.get(split, split))
        axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
