"""Does int8 dynamic quantisation keep a member's accuracy? Measured, not assumed.

The worker's CPU fast path (MOODWATCH_WORKER_INT8) quantises only members marked `int8_ok`;
training marks those whose validation accuracy drops by at most half a point.
"""

import copy
from dataclasses import dataclass
from typing import Any

import torch

from model.passes import INFERENCE_BATCH_SIZE
from model.predictor import quantise_int8
from training.batching import tokenise
from training.data import LabelledTexts
from training.loop import predict_logits

INT8_MAX_ACCURACY_DROP = 0.005


@dataclass(frozen=True)
class Int8Check:
    accuracy: float  # validation accuracy of the kept weights, unquantised
    int8_accuracy: float

    @property
    def drop(self) -> float:
        return self.accuracy - self.int8_accuracy

    @property
    def keeps_accuracy(self) -> bool:
        return self.drop <= INT8_MAX_ACCURACY_DROP

    def as_dict(self) -> dict[str, float | bool]:
        return {
            "validation_accuracy": round(self.accuracy, 4),
            "int8_validation_accuracy": round(self.int8_accuracy, 4),
            "int8_ok": self.keeps_accuracy,
        }


def _accuracy(logits: torch.Tensor, labels: list[int]) -> float:
    return float((logits.argmax(dim=1) == torch.tensor(labels)).double().mean())


def check_int8(
    model: Any,
    tokenizer: Any,
    validation: LabelledTexts,
    max_length: int,
    validation_logits: torch.Tensor,
) -> Int8Check:
    """Quantise a copy of `model` (on the CPU) and compare validation accuracy with its logits."""
    quantised = quantise_int8(copy.deepcopy(model).cpu())
    data = tokenise(tokenizer, validation.texts, validation.labels, max_length)
    # activation scales are set per forward pass, so batch as the worker does
    int8_logits = predict_logits(quantised, data, batch_size=INFERENCE_BATCH_SIZE)
    return Int8Check(
        accuracy=_accuracy(validation_logits, validation.labels),
        int8_accuracy=_accuracy(int8_logits, validation.labels),
    )
