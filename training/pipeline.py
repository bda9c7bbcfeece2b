"""From datasets to a published model bundle: `train_bundle(settings, profile, output)`.

Each member is fine-tuned, temperature-scaled on CARER validation plus a held-out slice of
real posts (`training.calibration_split`) and saved into a staging
directory beside `output`; the manifest is written, the staged bundle is evaluated through the
worker's predictor, and only then is it renamed into place. A crash at any point leaves the
previous bundle (or none) at `output`, never a half-written one.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from model.combine import Probs, softmax
from model.normalize import normalise
from model.torch_member import pick_device
from schemas.bundle import BundleManifest, MemberSpec, Normalisation
from schemas.settings import TrainingSettings
from training.batching import tokenise
from training.calibration import fit_temperature, fit_weights, nll
from training.calibration_split import CalibrationSet, read_calibration_split
from training.data import DataSourceError, LabelledTexts, mix, read_split
from training.encoders import PreparedEncoder, ensure_encoder
from training.evaluate import RESULTS_DIR, MemberRuns, evaluate_bundle, summary_lines
from training.finetune import FinetuneConfig, FinetuneResult, finetune
from training.form_calibration import ensemble_temperature, fit_form_temperatures
from training.int8_gate import SplitFigures, gate_rows
from training.loop import predict_logits
from training.onnx_bundle import export_bundle, score_on_cpu
from training.profiles import MemberPlan, Profile, get_profile
from training.report import write_report
from training.sources import DataSource


def train_bundle(
    settings: TrainingSettings,
    profile: str = "quick",
    output: Path | None = None,
    members: Sequence[str] | None = None,
    sources: Sequence[DataSource] = (),
    default_sources: bool = True,
    own_encoders: Sequence[str] = (),
) -> Path:
    """Train the members of `profile` (all, or those named), write the bundle to `output`, and
    return its path. Checkpoints are the profile's own, so a subset reuses finished members.

    `sources` are trained on besides CARER train + goemotions_train, or instead of them when
    `default_sources` is off; a bad source fails here, before any training. `own_encoders`
    (local `transformers` directories or hub ids) join the profile as members of their own."""
    chosen = get_profile(profile).with_encoders(own_encoders).subset(members)
    output = Path(output or settings.output_dir)
    started = time.monotonic()
    # every encoder before any training: a bad path or a failed download costs no training time
    encoders = {
        plan.name: ensure_encoder(plan.encoder, settings.encoders_dir, seed=settings.seed)
        for plan in chosen.members
    }
    train, calibration = training_data(
        settings, chosen, Normalisation(), sources, defaults=default_sources
    )
    for stale in output.parent.glob(f".{output.name}.partial-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = output.parent / f".{output.name}.partial-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        manifest, report = _build_in(staging, settings, chosen, encoders, train, calibration)
        # ONNX for CPUs, int8 where gated, against the fp32 figures just measured
        score = score_on_cpu(staging, settings.data_dir, known=cpu_fp32_figures(report))
        manifest = export_bundle(staging, settings.data_dir, score)
        report["cpu_runtime"] = gate_rows(manifest)
        report["training"] = {
            "profile": chosen.name,
            "seconds": round(time.monotonic() - started, 1),
            "resumed": any(spec.metrics["resumed_at_step"] for spec in manifest.members),
            "train_rows": len(train),
            "train_sources": train.name,
            "train_rows_skipped": train.skipped,
            "train_label_counts": train.label_counts(),
        }
        _record_metrics(staging, manifest, report)
        publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only left behind by a failure
    report["bundle"], report["version"] = str(output), manifest.version  # as exported
    default = output.resolve() == Path(settings.output_dir).resolve()
    name = "model_quality" if default else f"model_quality_{output.name}"
    write_report(report, RESULTS_DIR / f"{name}.json")
    for line in summary_lines(report):
        tqdm.write(line)
    return output


def _build_in(
    staging: Path,
    settings: TrainingSettings,
    profile: Profile,
    encoders: dict[str, PreparedEncoder],
    train: LabelledTexts,
    calibration: CalibrationSet,
) -> tuple[BundleManifest, dict[str, Any]]:
    """Members and manifest into `staging`; return the saved manifest and the evaluation of
    the staged bundle."""
    trained = [
        train_member(settings, profile, plan, encoders[plan.name], train, calibration, staging)
        for plan in profile.members
    ]
    specs = tuple(spec for spec, _ in trained)
    member_logits = torch.stack([logits for _, logits in trained]).numpy()
    member_probs = softmax(member_logits, np.array([spec.temperature for spec in specs]))
    weights = fit_weights(torch.from_numpy(member_probs), calibration.labels)
    learned = None if len(set(weights)) == 1 else weights
    saved = _save_manifest(staging, specs, member_logits, calibration, learned)
    # the members' outputs serve both evaluations; on a CPU, CARER validation's are those
    # early stopping computed for the kept weights (fp32, the same rows in the same order)
    runs: dict[str, MemberRuns] = {}
    if pick_device("auto").type == "cpu":  # where evaluate_bundle(device="auto") runs
        runs["fp32"] = {"validation": (member_logits[:, : len(calibration.validation)], None)}
    report = evaluate_bundle(staging, settings.data_dir, device="auto", reuse=runs)  # as in prod
    if learned is not None and not weights_beat_mean(report):
        tqdm.write("learned weights do not beat the equal-weight mean on test: dropped")
        saved = _save_manifest(staging, specs, member_logits, calibration, None)
        report = evaluate_bundle(staging, settings.data_dir, device="auto", reuse=runs)
        report["dropped_weights"] = list(learned)
    return saved, report


def cpu_fp32_figures(report: dict[str, Any]) -> dict[str, dict[str, SplitFigures]] | None:
    """The members' fp32 accuracy and macro-F1 on the gate's splits, from the evaluation of the
    staged bundle (torch fp32 on a CPU), for the int8 gate to compare against instead of
    running every member over the same posts again (~25 s of the quick profile's ten minutes).
    None where the evaluation ran on a GPU (fp16)."""
    if report["device"] != "cpu":
        return None
    keys = {"carer-test": "test", "ood-dev": "ood"}
    figures: dict[str, SplitFigures] = {
        name: {split: headline_of(splits[key]) for split, key in keys.items()}
        for name, splits in report["members"].items()
    }
    return {"fp32": figures}


def headline_of(figures: dict[str, Any]) -> dict[str, float]:
    return {"accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}


def _save_manifest(
    staging: Path,
    specs: tuple[MemberSpec, ...],
    member_logits: Probs,
    calibration: CalibrationSet,
    weights: tuple[float, ...] | None,
) -> BundleManifest:
    """The bundle's manifest with these weights, the ensemble temperature fitted for them on
    all calibration rows, the members' and ensemble temperatures per text form (what the
    predictor uses for a form that has them) and, for the report's comparison, the ensemble
    temperature CARER validation alone gives, after members scaled on it alone."""
    carer, labels = len(calibration.validation), calibration.labels
    new = [spec.temperature for spec in specs]
    old = [spec.metrics["temperature_carer_validation"] for spec in specs]
    temperature = ensemble_temperature(
        member_logits, new, weights, labels, row_weights=calibration.weights
    )
    carer_only = ensemble_temperature(member_logits[:, :carer], old, weights, labels[:carer])
    by_form = fit_form_temperatures(member_logits, labels, calibration.forms, weights)
    manifest = BundleManifest(
        members=specs,
        normalisation=Normalisation(),
        rule="mean",
        weights=weights,
        temperature=round(temperature, 4),
        calibration=calibration.split,
        form_temperatures=by_form or None,
        metrics={"temperature_carer_validation": round(carer_only, 4)},
    )
    return manifest.save(staging)


def weights_beat_mean(report: dict[str, Any]) -> bool:
    """Issue 4's rule: learned weights are kept only when they beat the plain mean on CARER test,
    in accuracy and in macro-F1. They are fitted on the calibration rows; test only decides
    whether to keep them, and the report says so."""
    learned = report["ensemble"]["test"]
    equal = report["rules"]["mean, equal weights"]["test"]
    return bool(learned["accuracy"] > equal["accuracy"] and learned["macro_f1"] > equal["macro_f1"])


def training_data(
    settings: TrainingSettings,
    profile: Profile,
    steps: Normalisation,
    sources: Sequence[DataSource] = (),
    defaults: bool = True,
) -> tuple[LabelledTexts, CalibrationSet]:
    """CARER train + goemotions_train less its calibration slice (cut per profile) unless
    `defaults` is off, the whole of each of `sources`; and the calibration set, CARER
    validation + the slice; normalised."""
    parts = [source.read() for source in sources]  # the user's files first: fail before ours
    limits: list[int | None] = [None] * len(parts)
    carer = read_split(settings.data_dir, "carer-train") if defaults else None
    # the slice calibrates every bundle; it is held out of training when goemotions is in it
    reddit, real_posts, split = read_calibration_split(settings.data_dir)
    if carer is not None:
        parts = [carer, reddit, *parts]
        limits = [profile.carer_rows, profile.goemotions_rows, *limits]
    if not parts:
        raise DataSourceError("no training data: name a source, or keep the default sources")
    train = mix(parts, seed=settings.seed, limits=limits)
    validation = read_split(settings.data_dir, "carer-validation")
    for data in (train, validation, real_posts):
        data.texts = [normalise(text, steps) for text in data.texts]
    return train, CalibrationSet(validation, real_posts, split)


def train_member(
    settings: TrainingSettings,
    profile: Profile,
    plan: MemberPlan,
    encoder: PreparedEncoder,
    train: LabelledTexts,
    calibration: CalibrationSet,
    staging: Path,
) -> tuple[MemberSpec, torch.Tensor]:
    """Fine-tune, fit the temperature, save to `staging/<name>/`.

    Returns the manifest entry and the member's logits on the calibration set.
    """
    validation = calibration.validation
    config = dataclasses.replace(plan.finetune, seed=settings.seed + plan.seed_offset)
    identity = plan.encoder if encoder.digest is None else f"{plan.encoder}@{encoder.digest}"
    fingerprint = _fingerprint(identity, config, train)
    run_dir = settings.checkpoints_dir / f"{profile.name}-{plan.name}-{fingerprint}"
    result = finetune(encoder.path, train, validation, config, run_dir, plan.name)
    labels = torch.tensor(validation.labels)
    logits = torch.cat([result.validation_logits, real_post_logits(result, calibration, config)])
    temperature = fit_temperature(logits, calibration.labels, weights=calibration.weights)
    carer_only = fit_temperature(result.validation_logits, labels)
    result.model.save_pretrained(staging / plan.name)
    result.tokenizer.save_pretrained(staging / plan.name)
    finetune_record = config.as_dict() | {
        "train_rows": len(train),
        "train_sources": train.name,
        "steps": result.state.step,
        "best_step": result.state.best_step,
    }
    spec = MemberSpec(
        name=plan.name,
        path=plan.name,
        base_model=encoder.base_model,
        package=encoder.package,
        tokenizer_family=encoder.tokenizer_family,
        max_length=config.max_length,
        temperature=round(temperature, 4),
        finetune=finetune_record,
        # wall time and history vary run to run, so they stay out of the hashed `finetune`
        metrics={
            "train_seconds": round(result.state.seconds, 1),
            "history": result.state.history,
            "validation_macro_f1": round(result.state.best_score, 4),
            "validation_nll": round(nll(result.validation_logits, labels), 4),
            "validation_nll_scaled": round(nll(result.validation_logits, labels, temperature), 4),
            "temperature_carer_validation": round(carer_only, 4),
            "resumed_at_step": result.resumed_at_step,
        },
    )
    return spec, logits


def real_post_logits(
    result: FinetuneResult, calibration: CalibrationSet, config: FinetuneConfig
) -> torch.Tensor:
    """The member's float32 logits on the real-post slice, as those on validation are."""
    rows = calibration.real_posts
    tokens = tokenise(result.tokenizer, rows.texts, rows.labels, config.max_length)
    return predict_logits(result.model, tokens)


def _fingerprint(encoder: str, config: FinetuneConfig, train: LabelledTexts) -> str:
    """Checkpoints resume only a run of the same encoder, settings and training rows.

    How often state is saved does not change what is trained, so it is left out.
    """
    settings = config.as_dict() | {"encoder": encoder}
    settings.pop("checkpoint_every")
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for text, label in zip(train.texts, train.labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:12]


def _record_metrics(staging: Path, manifest: BundleManifest, report: dict[str, Any]) -> None:
    """Store the figures in the saved `manifest` (metrics are outside the version hash)."""
    members = tuple(
        spec.model_copy(update={"metrics": spec.metrics | report["members"][spec.name]})
        for spec in manifest.members
    )
    summary = {
        split: {"accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"]}
        for split, figures in report["ensemble"].items()
    }
    updated = manifest.model_copy(
        update={
            "members": members,
            "metrics": manifest.metrics | summary | {"training": report["training"]},
        }
    )
    saved = updated.save(staging)
    if saved.version != manifest.version:
        raise RuntimeError("recording metrics changed the bundle version; refusing to publish")


def publish(staging: Path, output: Path) -> None:
    """Swap the staged bundle into `output`; an existing bundle is moved aside, then removed."""
    retired = output.parent / f".{output.name}.retired-{os.getpid()}"
    if output.exists():
        output.rename(retired)
    staging.rename(output)
    shutil.rmtree(retired, ignore_errors=True)
