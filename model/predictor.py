"""The ensemble predictor: the one implementation of "how the ensemble predicts".

The worker calls it on every batch and training's evaluation calls it on a saved bundle, so
reported figures are the figures of what runs in production.
"""

import inspect
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from model.combine import Probs, apply_temperature, combine, disagreement, softmax
from model.normalize import normalise
from schemas.bundle import BundleManifest, CombinationRule, MemberSpec
from schemas.emotions import LABELS
from schemas.messages import Prediction


@dataclass
class LoadedMember:
    spec: MemberSpec
    model: Any
    tokenizer: Any
    precision: str = "fp32"  # fp32, bf16 or int8 on a CPU; fp16 on CUDA

    @cached_property
    def accepted_inputs(self) -> frozenset[str]:
        """mpnet takes no `token_type_ids`; a shared tokenised batch may carry them."""
        return frozenset(inspect.signature(self.model.forward).parameters)


def native_bf16(device: torch.device) -> bool:
    """True where bfloat16 matmuls run natively (CPU: AVX512-BF16 or AMX; emulated is slower)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    check = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(check()) if check is not None else False


def pick_device(requested: Literal["auto", "cpu", "cuda"]) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("MOODWATCH_WORKER_DEVICE=cuda but no CUDA device is visible")
    return torch.device(requested)


def _load_member(
    bundle_dir: Path, spec: MemberSpec, device: torch.device, int8: bool, bf16: bool
) -> tuple[Any, str]:
    """The member's model on `device`, and the precision it runs in."""
    model = AutoModelForSequenceClassification.from_pretrained(
        bundle_dir / spec.path, local_files_only=True
    )
    model.eval()
    if model.config.num_labels != len(LABELS):
        raise ValueError(f"member {spec.name} has {model.config.num_labels} labels, not 6")
    if device.type == "cuda":
        return model.to(device), "fp16"  # autocast in `_run`
    if int8 and spec.int8_ok:
        return quantise_int8(model), "int8"
    if bf16 and native_bf16(device):
        return model.to(torch.bfloat16), "bf16"
    return model, "fp32"


def quantise_int8(model: Any) -> Any:
    """int8 dynamic quantisation of the linear layers (CPU only), as the worker runs it.

    Per-channel weight scales: per-tensor ones cost MiniLM-L6 0.6-0.9 points of validation
    accuracy here, per-channel 0.2-0.6 (activation scales follow each batch), at the same speed.
    """
    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    return torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
        model, {torch.nn.Linear: qconfig}
    )


class EnsemblePredictor:
    """Loads a bundle once; `predict_proba` and `predict` are safe to call from one thread."""

    def __init__(
        self, manifest: BundleManifest, members: list[LoadedMember], device: torch.device
    ) -> None:
        self.manifest = manifest
        self.members = members
        self.device = device
        self._families: dict[str, list[LoadedMember]] = {}
        for member in members:
            self._families.setdefault(member.spec.tokenizer_family, []).append(member)

    @classmethod
    def load(
        cls,
        bundle_dir: Path,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        int8: bool = False,
        bf16: bool = False,
    ) -> "EnsemblePredictor":
        """`int8`: members marked `int8_ok` run quantised on a CPU; `bf16`: the others run in
        bfloat16 where the CPU has it natively (the CPU fast path takes both)."""
        manifest = BundleManifest.load(bundle_dir)
        hf_logging.disable_progress_bar()
        torch_device = pick_device(device)
        members = []
        for spec in manifest.members:
            model, precision = _load_member(bundle_dir, spec, torch_device, int8, bf16)
            tokenizer = AutoTokenizer.from_pretrained(bundle_dir / spec.path)
            members.append(LoadedMember(spec, model, tokenizer, precision))
        return cls(manifest, members, torch_device)

    @property
    def version(self) -> str:
        return self.manifest.version

    def normalise(self, text: str) -> str:
        return normalise(text, self.manifest.normalisation)

    def member_logits(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> Probs:
        """Raw logits `[members, posts, labels]`, in the order of `texts`."""
        cleaned = list(texts) if normalised else [self.normalise(t) for t in texts]
        order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
        out = np.zeros((len(self.members), len(cleaned), len(LABELS)), dtype=np.float64)
        index = {id(m): k for k, m in enumerate(self.members)}
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            chunk = [cleaned[i] for i in rows]
            for family in self._families.values():
                encoded = self._tokenise(family, chunk)
                for member in family:
                    out[index[id(member)], rows] = self._run(member, encoded)
        return out

    def member_proba(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> Probs:
        """Calibrated probabilities `[members, posts, labels]`, in the order of `texts`."""
        return self.to_proba(self.member_logits(texts, batch_size, normalised))

    def to_proba(self, member_logits: Probs, calibrated: bool = True) -> Probs:
        """Member probabilities from logits, each divided by its temperature if `calibrated`."""
        temperatures = [m.spec.temperature if calibrated else 1.0 for m in self.members]
        return softmax(member_logits, np.array(temperatures, dtype=np.float64))

    def predict_proba(
        self, texts: Sequence[str], rule: CombinationRule | None = None, batch_size: int = 64
    ) -> Probs:
        return self.combine(self.member_proba(texts, batch_size), rule)

    def combine(
        self, member_probs: Probs, rule: CombinationRule | None = None, calibrated: bool = True
    ) -> Probs:
        """The bundle's rule and weights (or `rule`), then its temperature if `calibrated`."""
        weights = None if self.manifest.weights is None else np.array(self.manifest.weights)
        combined = combine(member_probs, rule or self.manifest.rule, weights)
        return apply_temperature(combined, self.manifest.temperature) if calibrated else combined

    def predict(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> list[Prediction]:
        """One prediction per text; `normalised=True` when the caller already normalised."""
        if not texts:
            return []
        member_probs = self.member_proba(texts, batch_size, normalised)
        combined = self.combine(member_probs)
        spread = disagreement(member_probs, combined)
        return [
            Prediction(
                label=LABELS[int(row.argmax())],
                probability=float(row.max()),
                probabilities=tuple(float(p) for p in row),
                uncertainty=float(spread[i]),
                model_version=self.version,
            )
            for i, row in enumerate(combined)
        ]

    def _tokenise(self, family: list[LoadedMember], texts: list[str]) -> dict[str, torch.Tensor]:
        max_length = max(m.spec.max_length for m in family)
        encoded = family[0].tokenizer(
            texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in encoded.items()}

    def _run(self, member: LoadedMember, encoded: dict[str, torch.Tensor]) -> Probs:
        inputs = {k: v for k, v in encoded.items() if k in member.accepted_inputs}
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if self.device.type == "cuda"
            else nullcontext()
        )
        with torch.inference_mode(), autocast:
            logits = member.model(**inputs).logits.float()
        return np.asarray(logits.cpu().numpy(), dtype=np.float64)
