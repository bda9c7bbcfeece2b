"""From datasets to a published model bundle: `train_bundle(settings, profile, output)`.

Each member is fine-tuned, temperature-scaled on CARER validation and saved into a staging
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

from model.combine import combine
from model.normalize import normalise
from schemas.bundle import BundleManifest, MemberSpec, Normalisation
from schemas.settings import TrainingSettings
from training.calibration import fit_temperature, fit_weights, nll
from training.data import DataSourceError, LabelledTexts, mix, read_split
from training.encoders import PreparedEncoder, ensure_encoder
from training.evaluate import RESULTS_DIR, MemberRuns, evaluate_bundle, summary_lines
from training.finetune import FinetuneConfig, finetune
from training.profiles import MemberPlan, Profile, get_profile
from training.quantisation import check_int8
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
    train, validation = training_data(
        settings, chosen, Normalisation(), sources, defaults=default_sources
    )
    for stale in output.parent.glob(f".{output.name}.partial-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    staging = output.parent / f".{output.name}.partial-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        manifest, report = _build_in(staging, settings, chosen, encoders, train, validation)
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
    report["bundle"] = str(output)
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
    validation: LabelledTexts,
) -> tuple[BundleManifest, dict[str, Any]]:
    """Members and manifest into `staging`; return the saved manifest and the evaluation of
    the staged bundle."""
    trained = [
        train_member(settings, profile, plan, encoders[plan.name], train, validation, staging)
        for plan in profile.members
    ]
    specs = tuple(spec for spec, _ in trained)
    member_probs = torch.stack([p for _, p in trained])
    labels = torch.tensor(validation.labels)
    weights = fit_weights(member_probs, labels)
    learned = None if len(set(weights)) == 1 else weights
    saved = _save_manifest(staging, specs, member_probs, labels, learned)
    runs: dict[str, MemberRuns] = {}  # the members' outputs serve both evaluations
    report = evaluate_bundle(staging, settings.data_dir, device="auto", reuse=runs)  # as in prod
    if learned is not None and not weights_beat_mean(report):
        tqdm.write("learned weights do not beat the equal-weight mean on test: dropped")
        saved = _save_manifest(staging, specs, member_probs, labels, None)
        report = evaluate_bundle(staging, settings.data_dir, device="auto", reuse=runs)
        report["dropped_weights"] = list(learned)
    return saved, report


def _save_manifest(
    staging: Path,
    specs: tuple[MemberSpec, ...],
    member_probs: torch.Tensor,
    labels: torch.Tensor,
    weights: tuple[float, ...] | None,
) -> BundleManifest:
    """The bundle's manifest with these weights and the ensemble temperature fitted for them."""
    combined = combine(member_probs.numpy(), "mean", None if weights is None else np.array(weights))
    # log-probabilities as logits: softmax(log p / T) is p ** (1/T), renormalised
    temperature = fit_temperature(torch.from_numpy(np.log(combined + 1e-12)), labels)
    manifest = BundleManifest(
        members=specs,
        normalisation=Normalisation(),
        rule="mean",
        weights=weights,
        temperature=round(temperature, 4),
    )
    return manifest.save(staging)


def weights_beat_mean(report: dict[str, Any]) -> bool:
    """Issue 4's rule: learned weights are kept only when they beat the plain mean on CARER test,
    in accuracy and in macro-F1. They are fitted on validation; test only decides whether to
    keep them, and the report says so."""
    learned = report["ensemble"]["test"]
    equal = report["rules"]["mean, equal weights"]["test"]
    return bool(learned["accuracy"] > equal["accuracy"] and learned["macro_f1"] > equal["macro_f1"])


def training_data(
    settings: TrainingSettings,
    profile: Profile,
    steps: Normalisation,
    sources: Sequence[DataSource] = (),
    defaults: bool = True,
) -> tuple[LabelledTexts, LabelledTexts]:
    """CARER train + goemotions_train (cut per profile) unless `defaults` is off, the whole of
    each of `sources`, and CARER validation; normalised."""
    parts = [source.read() for source in sources]  # the user's files first: fail before ours
    limits: list[int | None] = [None] * len(parts)
    if defaults:
        carer = read_split(settings.data_dir, "carer-train")
        reddit = read_split(settings.data_dir, "goemotions-train")
        parts = [carer, reddit, *parts]
        limits = [profile.carer_rows, profile.goemotions_rows, *limits]
    if not parts:
        raise DataSourceError("no training data: name a source, or keep the default sources")
    train = mix(parts, seed=settings.seed, limits=limits)
    validation = read_split(settings.data_dir, "carer-validation")
    for data in (train, validation):
        data.texts = [normalise(text, steps) for text in data.texts]
    return train, validation


def train_member(
    settings: TrainingSettings,
    profile: Profile,
    plan: MemberPlan,
    encoder: PreparedEncoder,
    train: LabelledTexts,
    validation: LabelledTexts,
    staging: Path,
) -> tuple[MemberSpec, torch.Tensor]:
    """Fine-tune, fit the temperature, save to `staging/<name>/`.

    Returns the manifest entry and the member's calibrated validation probabilities.
    """
    config = dataclasses.replace(plan.finetune, seed=settings.seed + plan.seed_offset)
    identity = plan.encoder if encoder.digest is None else f"{plan.encoder}@{encoder.digest}"
    fingerprint = _fingerprint(identity, config, train)
    run_dir = settings.checkpoints_dir / f"{profile.name}-{plan.name}-{fingerprint}"
    result = finetune(encoder.path, train, validation, config, run_dir, plan.name)
    labels = torch.tensor(validation.labels)
    temperature = fit_temperature(result.validation_logits, labels)
    int8 = check_int8(
        result.model, result.tokenizer, validation, config.max_length, result.validation_logits
    )
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
        int8_ok=int8.keeps_accuracy,
        finetune=finetune_record,
        # wall time and history vary run to run, so they stay out of the hashed `finetune`
        metrics={
            "train_seconds": round(result.state.seconds, 1),
            "history": result.state.history,
            "validation_macro_f1": round(result.state.best_score, 4),
            "validation_nll": round(nll(result.validation_logits, labels), 4),
            "validation_nll_scaled": round(nll(result.validation_logits, labels, temperature), 4),
            "resumed_at_step": result.resumed_at_step,
        }
        | int8.as_dict(),
    )
    return spec, torch.softmax(result.validation_logits.double() / temperature, dim=-1)


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
        update={"members": members, "metrics": summary | {"training": report["training"]}}
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
