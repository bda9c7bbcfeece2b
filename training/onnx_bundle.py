"""`moodwatch export`, and the last step of `moodwatch train`: ONNX files for every member of a
bundle, the int8 gate run on them, and the manifest saying which runtime and precision each
member uses on a CPU, and why.
"""

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from model.passes import INFERENCE_BATCH_SIZE
from model.predictor import CpuChoice, EnsemblePredictor
from schemas.bundle import BundleManifest, CpuRuntime, MemberSpec
from training.data import read_split
from training.evaluate import headline
from training.int8_gate import GATE_SPLITS, GateVerdict, Score, SplitFigures, run_gate
from training.onnx_export import INT8_RECIPES, export_member, quantise


def score_on_cpu(
    bundle_dir: Path, data_dir: Path, known: Mapping[str, Mapping[str, SplitFigures]] | None = None
) -> Score:
    """Every member's accuracy and macro-F1 on the gate's splits, through the predictor with all
    members forced to one ONNX precision; a precision in `known` (training's own fp32
    evaluation of the same weights on a CPU) is not run again."""
    data = {split: read_split(data_dir, split) for split in GATE_SPLITS}

    def score(precision: str) -> Mapping[str, SplitFigures]:
        if known is not None and precision in known:
            return known[precision]
        cpu: CpuChoice = "onnx-int8" if precision == "int8" else "onnx-fp32"
        predictor = EnsemblePredictor.load(bundle_dir, device="cpu", cpu=cpu)
        found: dict[str, dict[str, dict[str, float]]] = {m.spec.name: {} for m in predictor.members}
        for split, rows in data.items():
            probs = predictor.member_proba(rows.texts, INFERENCE_BATCH_SIZE)
            for index, name in enumerate(found):
                found[name][split] = headline(probs[index], rows.labels)
        return found

    return score


def export_bundle(bundle_dir: Path, data_dir: Path, score: Score | None = None) -> BundleManifest:
    """Export every member in place, run the gate (`score`, by default on `data_dir`), save and
    return the manifest. Not atomic: for a live bundle, `export_published`."""
    manifest = BundleManifest.load(bundle_dir)
    score = score or score_on_cpu(bundle_dir, data_dir)  # reads the splits: fails before export
    exported = tuple(
        spec.model_copy(update={"cpu": CpuRuntime(files=export_member(bundle_dir / spec.path))})
        for spec in manifest.members
    )
    staged = manifest.model_copy(update={"members": exported}).save(bundle_dir)
    verdicts = gate_with_recipes(bundle_dir, exported, score)
    members = tuple(_gated(spec, verdicts[spec.name]) for spec in exported)
    return staged.model_copy(update={"members": members}).save(bundle_dir)


def gate_with_recipes(
    bundle_dir: Path, members: tuple[MemberSpec, ...], score: Score
) -> dict[str, GateVerdict]:
    """Each member's verdict under the first int8 recipe (`INT8_RECIPES`) the gate accepts, or
    under the last one tried (the member then runs in fp32); the member's int8 file holds that
    recipe's graph. fp32 is scored once; int8 again only while some member fails."""
    fp32 = score("fp32")
    verdicts: dict[str, GateVerdict] = {}
    failing = [spec.name for spec in members]
    for attempt, recipe in enumerate(INT8_RECIPES):
        if attempt:  # members the last recipe failed get the next one
            for spec in members:
                if spec.name in failing:
                    quantise(bundle_dir / spec.path, recipe)
        int8 = score("int8")
        for verdict in run_gate(failing, fp32, int8, recipe):
            verdicts[verdict.member] = verdict
        failing = [name for name in failing if verdicts[name].precision == "fp32"]
        if not failing:
            break
    return verdicts


def _gated(spec: MemberSpec, verdict: GateVerdict) -> MemberSpec:
    assert spec.cpu is not None  # exported just before
    cpu = spec.cpu.model_copy(update={"precision": verdict.precision, "reason": verdict.reason})
    metrics = spec.metrics | {"int8_gate": verdict.figures()}
    return spec.model_copy(update={"cpu": cpu, "metrics": metrics})


def export_published(bundle_dir: Path, data_dir: Path) -> BundleManifest:
    """Export a copy of the bundle, then swap it into place: a worker reading the bundle never
    sees it half exported."""
    from training.pipeline import publish

    staging = bundle_dir.parent / f".{bundle_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(bundle_dir, staging)
    try:
        manifest = export_bundle(staging, data_dir)
        publish(staging, bundle_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest
