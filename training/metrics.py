"""Classification figures for six labels: accuracy, macro-F1, per-class P/R/F1, confusion."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from model.combine import Probs
from schemas.emotions import LABELS

IntArray = npt.NDArray[np.int64]


def confusion_matrix(
    truth: Sequence[int] | IntArray, predicted: Sequence[int] | IntArray
) -> IntArray:
    """`matrix[true_label, predicted_label]` counts."""
    matrix = np.zeros((len(LABELS), len(LABELS)), dtype=np.int64)
    np.add.at(matrix, (np.asarray(truth), np.asarray(predicted)), 1)
    return matrix


def _precision_recall_f1(
    matrix: IntArray,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per label, 0 where a ratio has nothing to divide."""
    hits = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    actual = matrix.sum(axis=1).astype(np.float64)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(hits), where=total > 0)
    return precision, recall, f1


def per_class(matrix: IntArray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 (rounded to 4 places) and support per label."""
    precision, recall, f1 = _precision_recall_f1(matrix)
    actual = matrix.sum(axis=1)
    return {
        label: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(actual[i]),
        }
        for i, label in enumerate(LABELS)
    }


def macro_f1(truth: Sequence[int] | IntArray, predicted: Sequence[int] | IntArray) -> float:
    """Unweighted mean F1 over the six labels (labels absent from both count as 0)."""
    return float(_precision_recall_f1(confusion_matrix(truth, predicted))[2].mean())


def classification_report(
    truth: Sequence[int] | IntArray, predicted: Sequence[int] | IntArray
) -> dict[str, Any]:
    """Everything a report shows for one split, JSON-ready."""
    matrix = confusion_matrix(truth, predicted)
    return {
        "rows": int(matrix.sum()),
        "accuracy": round(float(np.trace(matrix) / max(1, matrix.sum())), 4),
        "macro_f1": round(float(_precision_recall_f1(matrix)[2].mean()), 4),
        "per_class": per_class(matrix),
        "confusion": {"labels": list(LABELS), "matrix": matrix.tolist()},
    }


CALIBRATION_BINS = 15


def reliability(probs: Probs, labels: list[int]) -> list[dict[str, float]]:
    """Per equal-width confidence bin: share of rows, mean confidence, accuracy."""
    truth = np.asarray(labels)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == truth
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    return [
        {
            "low": b / CALIBRATION_BINS,
            "share": float((bins == b).mean()),
            "confidence": float(confidence[bins == b].mean()),
            "accuracy": float(correct[bins == b].mean()),
        }
        for b in range(CALIBRATION_BINS)
        if (bins == b).any()
    ]


def calibration(probs: Probs, labels: list[int]) -> dict[str, float]:
    """Negative log-likelihood and expected calibration error (equal-width confidence bins)."""
    picked = probs[np.arange(len(labels)), np.asarray(labels)]
    gap = sum(abs(b["accuracy"] - b["confidence"]) * b["share"] for b in reliability(probs, labels))
    return {"nll": round(float(-np.log(picked + 1e-12).mean()), 4), "ece": round(float(gap), 4)}
