"""The ensemble predictor: the one implementation of "how the ensemble predicts".

The worker calls it on every batch and training's evaluation calls it on a saved bundle, so
reported figures are the figures of what runs in production. Each member runs where it is
fastest: ONNX Runtime on a CPU (`model/ort_member.py`), torch fp16 on CUDA
(`model/torch_member.py`); tokenisation, length sorting and combination are the same for both.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import structlog
import torch
from transformers import AutoTokenizer
from transformers.utils import logging as hf_logging

from model.combine import Probs, apply_temperature, combine, disagreement, softmax
from model.normalize import normalise
from model.text_form import ensemble_temperatures, member_temperatures, text_forms
from model.torch_member import load_torch_member, pick_device
from schemas.bundle import BundleManifest, CombinationRule, MemberSpec, TextForm
from schemas.emotions import LABELS
from schemas.messages import Prediction

log = structlog.get_logger(__name__)

# On a CPU: "bundle" runs each member as its manifest says (ONNX Runtime, int8 where the gate
# kept it); the others force one runtime and precision for every member (benchmarks, the gate).
CpuChoice = Literal["bundle", "torch", "onnx-fp32", "onnx-int8"]
Encoded = dict[str, np.ndarray[Any, Any]]  # a tokenised batch: input_ids, attention_mask, ...


class MemberRunner(Protocol):
    runtime: str
    precision: str
    accepted_inputs: frozenset[str]

    def logits(self, encoded: Encoded) -> Probs: ...


@dataclass
class LoadedMember:
    spec: MemberSpec
    runner: MemberRunner
    tokenizer: Any

    @property
    def precision(self) -> str:
        """fp32 or int8 on a CPU, fp16 on CUDA."""
        return self.runner.precision

    @property
    def runtime(self) -> str:
        return self.runner.runtime


def _onnx_precision(spec: MemberSpec, cpu: CpuChoice) -> str | None:
    """The ONNX file's precision this member runs in on a CPU, or None for torch."""
    if cpu == "torch" or spec.cpu is None:
        return None
    wanted = {"bundle": spec.cpu.precision, "onnx-fp32": "fp32", "onnx-int8": "int8"}[cpu]
    return wanted if wanted in spec.cpu.files else "fp32"


def _load_runner(
    bundle_dir: Path, spec: MemberSpec, device: torch.device, cpu: CpuChoice
) -> MemberRunner:
    precision = _onnx_precision(spec, cpu) if device.type == "cpu" else None
    if precision is None or spec.cpu is None:
        return load_torch_member(bundle_dir / spec.path, spec.name, device)
    from model.ort_member import OrtMember  # onnxruntime: only where a member uses it

    return OrtMember(bundle_dir / spec.path / spec.cpu.files[precision], precision)


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
        cpu: CpuChoice = "bundle",
    ) -> "EnsemblePredictor":
        """Members on CUDA run in torch fp16; on a CPU as `cpu` says (see `CpuChoice`)."""
        manifest = BundleManifest.load(bundle_dir)
        hf_logging.disable_progress_bar()
        torch_device = pick_device(device)
        members = [
            LoadedMember(
                spec,
                _load_runner(bundle_dir, spec, torch_device, cpu),
                AutoTokenizer.from_pretrained(bundle_dir / spec.path),
            )
            for spec in manifest.members
        ]
        unexported = [m.spec.name for m in members if m.spec.cpu is None]
        if torch_device.type == "cpu" and cpu != "torch" and unexported:
            log.warning(
                "members without ONNX files run on torch fp32; `moodwatch export --bundle "
                "DIR` adds them",
                members=unexported,
                bundle=str(bundle_dir),
            )
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
        cleaned = self._cleaned(texts, normalised)
        order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
        out = np.zeros((len(self.members), len(cleaned), len(LABELS)), dtype=np.float64)
        index = {id(m): k for k, m in enumerate(self.members)}
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            chunk = [cleaned[i] for i in rows]
            for family in self._families.values():
                encoded = self._tokenise(family, chunk)
                for member in family:
                    out[index[id(member)], rows] = member.runner.logits(encoded)
        return out

    def text_forms(self, texts: Sequence[str], normalised: bool = False) -> list[TextForm]:
        """Each text's form (`model/text_form.py`): which of the bundle's temperatures it gets."""
        return text_forms(self._cleaned(texts, normalised))

    def member_proba(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> Probs:
        """Calibrated probabilities `[members, posts, labels]`, in the order of `texts`."""
        cleaned = self._cleaned(texts, normalised)
        return self._member_proba(cleaned, text_forms(cleaned), batch_size)

    def _member_proba(self, cleaned: list[str], forms: list[TextForm], batch_size: int) -> Probs:
        logits = self.member_logits(cleaned, batch_size, normalised=True)
        return self.to_proba(logits, forms=forms)

    def to_proba(
        self,
        member_logits: Probs,
        calibrated: bool = True,
        forms: Sequence[TextForm] | None = None,
    ) -> Probs:
        """Member probabilities from logits, each divided by its temperature if `calibrated`:
        the one for each post's form (`text_forms`), or the members' own where `forms` is None."""
        if not calibrated:
            return softmax(member_logits, np.ones(len(self.members)))
        if forms is None:
            return softmax(member_logits, np.array([m.spec.temperature for m in self.members]))
        return softmax(member_logits, member_temperatures(self.manifest, forms))

    def predict_proba(
        self, texts: Sequence[str], rule: CombinationRule | None = None, batch_size: int = 64
    ) -> Probs:
        cleaned = self._cleaned(texts, normalised=False)
        forms = text_forms(cleaned)
        return self.combine(self._member_proba(cleaned, forms, batch_size), rule, forms=forms)

    def combine(
        self,
        member_probs: Probs,
        rule: CombinationRule | None = None,
        calibrated: bool = True,
        forms: Sequence[TextForm] | None = None,
    ) -> Probs:
        """The bundle's rule and weights (or `rule`), then, if `calibrated`, its temperature for
        each post's form (the bundle's own where `forms` is None)."""
        weights = None if self.manifest.weights is None else np.array(self.manifest.weights)
        combined = combine(member_probs, rule or self.manifest.rule, weights)
        if not calibrated:
            return combined
        if forms is None:
            return apply_temperature(combined, self.manifest.temperature)
        return apply_temperature(combined, ensemble_temperatures(self.manifest, forms))

    def predict(
        self, texts: Sequence[str], batch_size: int = 64, normalised: bool = False
    ) -> list[Prediction]:
        """One prediction per text; `normalised=True` when the caller already normalised."""
        if not texts:
            return []
        cleaned = self._cleaned(texts, normalised)
        forms = text_forms(cleaned)
        member_probs = self._member_proba(cleaned, forms, batch_size)
        combined = self.combine(member_probs, forms=forms)
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

    def _cleaned(self, texts: Sequence[str], normalised: bool) -> list[str]:
        return list(texts) if normalised else [self.normalise(t) for t in texts]

    def _tokenise(self, family: list[LoadedMember], texts: list[str]) -> Encoded:
        """Once per family and pass, as numpy: ONNX Runtime reads it as is, torch without a copy."""
        max_length = max(m.spec.max_length for m in family)
        encoded = family[0].tokenizer(
            texts, padding=True, truncation=True, max_length=max_length, return_tensors="np"
        )
        return dict(encoded)
