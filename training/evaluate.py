"""Evaluating a saved bundle through the worker's own `EnsemblePredictor`.

The figures are those of what runs in production: same normalisation, tokenisation,
temperatures and combination rule. Run as `python -m training.evaluate BUNDLE_DIR`; it writes
JSON, Markdown and PNG plots (`training.report`) to `--output`, by default into .cache/results
(untracked). The committed reports in benchmarks/results are rewritten only when asked:
`--output benchmarks/results/model_quality.json` (`make bench-quality REFRESH=1`).
"""

import time
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from model.combine import Probs, combine
from model.predictor import EnsemblePredictor
from schemas.bundle import BundleManifest, CombinationRule, TextForm
from training.calibration_report import averaging_sections
from training.data import LabelledTexts, read_split
from training.int8_gate import gate_rows
from training.metrics import calibration, classification_report, reliability
from training.report import write_report

# Where an evaluation's report goes unless a path is asked for: untracked, so that evaluating
# never rewrites the committed figures in benchmarks/results.
RESULTS_DIR = Path(".cache/results")
# split name -> the key it has in reports ("ensemble.test.accuracy", "ensemble.ood.macro_f1")
REPORT_SPLITS = {"carer-validation": "validation", "carer-test": "test", "ood-dev": "ood"}
ALL_SPLITS = tuple(REPORT_SPLITS)
RULES: tuple[CombinationRule, ...] = ("mean", "product", "max", "min")
DEFAULT_REPORT = RESULTS_DIR / "model_quality.json"
Device = Literal["auto", "cpu", "cuda"]
# split key -> (member logits, posts/s); logits do not depend on the manifest's weights or
# temperatures, so a bundle that only changed those is rescored without running its members
# split -> the members' logits and posts/s (None: logits training already had, not timed here)
MemberRuns = dict[str, tuple[Probs, float | None]]


def split_report(probs: Probs, uncalibrated: Probs, labels: list[int]) -> dict[str, Any]:
    """Everything for one split: classification figures, calibration before and after."""
    before = calibration(uncalibrated, labels)
    return (
        classification_report(labels, probs.argmax(axis=1))
        | calibration(probs, labels)
        | {"ece_uncalibrated": before["ece"], "nll_uncalibrated": before["nll"]}
    )


def headline(probs: Probs, labels: list[int]) -> dict[str, float]:
    report = classification_report(labels, probs.argmax(axis=1))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}


def _timed_logits(
    predictor: EnsemblePredictor, data: LabelledTexts, batch_size: int
) -> tuple[Probs, float]:
    predictor.member_logits(data.texts[:batch_size], batch_size)  # warm-up: lazy init, caches
    started = time.perf_counter()
    logits = predictor.member_logits(data.texts, batch_size)
    return logits, len(data.texts) / (time.perf_counter() - started)


def _member_runs(
    predictor: EnsemblePredictor,
    data: dict[str, LabelledTexts],
    batch_size: int,
    cache: MemberRuns | None,
) -> MemberRuns:
    """Member logits and posts/s on each split; a split `cache` has is not run again (and one
    it lacks is added to it)."""
    cache = {} if cache is None else cache
    for key, rows in data.items():
        if key not in cache:
            cache[key] = _timed_logits(predictor, rows, batch_size)
    return {key: cache[key] for key in data}


def evaluate_bundle(
    bundle_dir: Path,
    data_dir: Path,
    splits: tuple[str, ...] = ALL_SPLITS,
    device: Device = "auto",
    batch_size: int = 64,
    reuse: dict[str, MemberRuns] | None = None,
) -> dict[str, Any]:
    """Ensemble, per-member and per-rule figures on each split, JSON-ready, with each member's
    CPU runtime and the int8 gate's figures where the bundle was exported. `reuse` keeps the
    members' runs between calls on one set of members whose manifest changed only in weights or
    temperature.
    """
    manifest = BundleManifest.load(bundle_dir)
    # the runtime the worker would use; a bundle not yet exported (in training) on torch, quietly
    exported = all(spec.cpu is not None for spec in manifest.members)
    predictor = EnsemblePredictor.load(bundle_dir, device, "bundle" if exported else "torch")
    names = [member.spec.name for member in predictor.members]
    report: dict[str, Any] = {
        "bundle": str(bundle_dir),
        "version": predictor.version,
        "device": str(predictor.device),
        "rule": manifest.rule,
        "weights": manifest.weights,
        "temperature": manifest.temperature,
        "members": {name: {} for name in names},
        "ensemble": {},
        "rules": {rule: {} for rule in RULES},
        "reliability": {},
    }
    if manifest.weights is not None:
        report["rules"]["mean, equal weights"] = {}
    if "training" in manifest.metrics:  # how the bundle was made: profile, time, resumed
        report["training"] = manifest.metrics["training"]
    data = {REPORT_SPLITS.get(split, split): read_split(data_dir, split) for split in splits}
    cache = None if reuse is None else reuse.setdefault("fp32", {})
    runs = _member_runs(predictor, data, batch_size, cache)
    forms = {key: predictor.text_forms(rows.texts) for key, rows in data.items()}
    for key, rows in data.items():
        _score_split(report, predictor, key, runs[key][0], rows.labels, forms[key])
    member_logits = {key: logits for key, (logits, _) in runs.items()}
    labels = {key: rows.labels for key, rows in data.items()}
    report |= averaging_sections(manifest, member_logits, labels, forms)  # methods, shares
    report["cpu_runtime"] = gate_rows(manifest)
    report["posts_per_s"] = {
        key: round(per_s, 1) for key, (_, per_s) in runs.items() if per_s is not None
    }
    return report


def _score_split(
    report: dict[str, Any],
    predictor: EnsemblePredictor,
    key: str,
    logits: Probs,
    labels: list[int],
    forms: list[TextForm],
) -> None:
    member_probs = predictor.to_proba(logits, forms=forms)
    raw_members = predictor.to_proba(logits, calibrated=False)
    combined = predictor.combine(member_probs, forms=forms)
    raw_combined = predictor.combine(raw_members, calibrated=False)
    report["ensemble"][key] = split_report(combined, raw_combined, labels)
    report["reliability"][key] = {
        "calibrated": reliability(combined, labels),
        "uncalibrated": reliability(raw_combined, labels),
    }
    for index, name in enumerate(report["members"]):
        report["members"][name][key] = split_report(member_probs[index], raw_members[index], labels)
    for rule in RULES:
        report["rules"][rule][key] = headline(
            predictor.combine(member_probs, rule, forms=forms), labels
        )
    if "mean, equal weights" in report["rules"]:
        equal = combine(member_probs, "mean")  # the rule itself, without the bundle's weights
        report["rules"]["mean, equal weights"][key] = headline(equal, labels)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line per (ensemble or member, split): accuracy and macro-F1."""
    lines = []
    rows = {"ensemble": report["ensemble"], **report["members"]}
    for name, splits in rows.items():
        for split, figures in splits.items():
            lines.append(
                f"{name:14s} {split:10s} accuracy {figures['accuracy']:.4f} "
                f"macro-F1 {figures['macro_f1']:.4f}"
            )
    return lines


def main(
    bundle: Annotated[Path, typer.Argument(help="bundle directory")],
    data_dir: Annotated[Path, typer.Option(help="dataset root")] = Path("../shared/data"),
    output: Annotated[
        Path,
        typer.Option(
            help="JSON report, .md and .png files beside it (benchmarks/results/... refreshes "
            "the committed ones)"
        ),
    ] = DEFAULT_REPORT,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
) -> None:
    """Evaluate BUNDLE on CARER validation and test and on ood_dev; write the report."""
    if device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("device must be auto, cpu or cuda")
    chosen = cast(Device, device)
    report = evaluate_bundle(bundle, data_dir, device=chosen)
    written = write_report(report, output)
    for line in summary_lines(report):
        typer.echo(line)
    typer.echo("report written to " + ", ".join(str(path) for path in written))


if __name__ == "__main__":
    typer.run(main)
