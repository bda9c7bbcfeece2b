"""A member run by PyTorch: fp16 autocast on CUDA, fp32 on a CPU when a bundle has no ONNX files."""

import inspect
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

from schemas.emotions import LABELS

Logits = np.ndarray[Any, np.dtype[np.float64]]


def pick_device(requested: Literal["auto", "cpu", "cuda"]) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("MOODWATCH_WORKER_DEVICE=cuda but no CUDA device is visible")
    return torch.device(requested)


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 matmuls run natively (CPU: AVX512-BF16 or AMX; emulated is slower).
    Training's autocast asks; inference on a CPU runs ONNX Runtime instead."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check()) if check is not None else False


class TorchMember:
    runtime = "torch"

    def __init__(self, model: Any, device: torch.device) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.precision = "fp16" if device.type == "cuda" else "fp32"
        # mpnet takes no `token_type_ids`; a batch tokenised for its family may carry them
        self.accepted_inputs = frozenset(inspect.signature(model.forward).parameters)

    def logits(self, encoded: dict[str, np.ndarray[Any, Any]]) -> Logits:
        inputs = {
            k: torch.from_numpy(v).to(self.device)
            for k, v in encoded.items()
            if k in self.accepted_inputs
        }
        with (
            torch.inference_mode(),
            torch.autocast(
                self.device.type, dtype=torch.float16, enabled=self.device.type == "cuda"
            ),
        ):
            out = self.model(**inputs).logits.float()
        return np.asarray(out.cpu().numpy(), dtype=np.float64)


def load_torch_member(directory: Path, name: str, device: torch.device) -> TorchMember:
    model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
    if model.config.num_labels != len(LABELS):
        raise ValueError(f"member {name} has {model.config.num_labels} labels, not 6")
    return TorchMember(model, device)
