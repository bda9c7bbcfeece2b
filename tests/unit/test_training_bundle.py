"""Bundles: the tiny builder, the manifest round trip, evaluation through the worker's predictor,
and the whole pipeline on tiny encoders (no downloads)."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.predictor import EnsemblePredictor
from schemas.bundle import BundleManifest, content_hash
from schemas.settings import TrainingSettings
from tests.tiny_bundle import build_tiny_bundle, write_tiny_member
from training import pipeline
from training.data import SPLITS, read_split
from training.encoders import ENCODERS, PreparedEncoder
from training.evaluate import evaluate_bundle
from training.finetune import FinetuneConfig
from training.metrics import calibration
from training.profiles import MemberPlan, Profile, get_profile
from training.report import target_rows, write_report

POSTS = {
    0: ["i feel so sad", "lonely and down", "@amy this is awful :("],
    1: ["i feel great!!", "soooo happy #blessed", "thanks, made my day 😂"],
    2: ["i love you", "love this https://t.co/x", "you're so sweet"],
    3: ["this makes me angry", "WHY THE F", "i am furious"],
    4: ["i am scared", "afraid of the dark", "so nervous rn"],
    5: ["wow amazed", "omg really?!", "i am surprised"],
}


def write_tiny_data(data_dir: Path) -> Path:
    rows = [{"text": t, "label": label} for label, texts in POSTS.items() for t in texts]
    for split in ("carer-train", "carer-validation", "carer-test", "goemotions-train", "ood-dev"):
        path = data_dir / SPLITS[split]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return data_dir


def test_tiny_bundle_round_trips_and_loads(tmp_path: Path) -> None:
    bundle = build_tiny_bundle(tmp_path / "a", members=3)
    manifest = BundleManifest.load(bundle)
    assert [m.name for m in manifest.members] == ["tiny0", "tiny1", "tiny2"]
    assert manifest.version == content_hash(bundle, manifest)
    assert BundleManifest.model_validate_json(manifest.model_dump_json()) == manifest
    assert BundleManifest.load(build_tiny_bundle(tmp_path / "b", 3)).version == manifest.version
    probs = EnsemblePredictor.load(bundle, device="cpu").predict_proba(["i feel sooo happy 😂"])
    assert probs.shape == (1, 6) and np.isclose(probs.sum(), 1.0)


def test_evaluation_goes_through_the_predictor(tiny_bundle: Path, tmp_path: Path) -> None:
    report = evaluate_bundle(tiny_bundle, write_tiny_data(tmp_path / "data"), device="cpu")
    assert set(report["ensemble"]) == {"validation", "test", "ood"}
    test = report["ensemble"]["test"]
    assert 0 <= test["accuracy"] <= 1 and 0 <= test["macro_f1"] <= 1
    assert test["rows"] == 18 and sum(map(sum, test["confusion"]["matrix"])) == 18
    assert {"ece", "ece_uncalibrated", "nll", "nll_uncalibrated"} <= set(test)
    assert set(report["members"]) == {"tiny0", "tiny1"}
    assert set(report["rules"]) == {"mean", "product", "max", "min"}
    runtimes = report["cpu_runtime"]  # the tiny bundle is exported: ONNX Runtime, fp32
    assert {(m["runtime"], m["precision"]) for m in runtimes.values()} == {("onnxruntime", "fp32")}


def test_report_files_say_which_targets_are_met(tiny_bundle: Path, tmp_path: Path) -> None:
    report = evaluate_bundle(tiny_bundle, write_tiny_data(tmp_path / "data"), device="cpu")
    report["training"] = {"profile": "quick", "seconds": 599.0}
    written = write_report(report, tmp_path / "out" / "quality.json")
    assert [p.name for p in written] == [
        "quality.json",
        "quality.md",
        "quality_confusion.png",
        "quality_reliability.png",
    ]
    assert all(p.stat().st_size > 0 for p in written)
    assert written[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    verdicts = {row[0]: row[2] for row in target_rows(report)}
    assert verdicts["quick profile ≤ 600 s"] == "met"
    assert verdicts["CARER test accuracy ≥ 0.94"] == "**not reached**"  # random tiny members
    markdown = written[1].read_text()
    assert "ECE before → after" in markdown and "accuracy fp32 / int8" in markdown
    assert report["version"] == BundleManifest.load(tiny_bundle).version


@pytest.fixture
def tiny_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrainingSettings:
    """Settings over tiny data; encoders are tiny random members; reports land in tmp_path."""
    encoders = tmp_path / "encoders"
    real_ensure_encoder = pipeline.ensure_encoder

    def tiny_encoder(key: str, encoders_dir: Path, seed: int = 0) -> PreparedEncoder:
        if key not in ENCODERS:  # a user's own encoder takes the real path
            return real_ensure_encoder(key, encoders_dir, seed)
        path = encoders / key
        if not path.is_dir():
            write_tiny_member(path, seed=len(key))
        return PreparedEncoder(key, path, f"tiny/{key}", "tiny-wheel==0", "bert-uncased")

    config = FinetuneConfig(epochs=2, batch_size=6, learning_rate=1e-3, max_length=32)
    profile = Profile(
        name="tiny",
        members=(
            MemberPlan("first", "minilm-l6", config),
            MemberPlan("second", "minilm-l3", config, seed_offset=1),
        ),
    )
    monkeypatch.setattr(pipeline, "ensure_encoder", tiny_encoder)
    monkeypatch.setattr(pipeline, "get_profile", lambda name: profile)
    monkeypatch.chdir(tmp_path)
    return TrainingSettings(
        data_dir=write_tiny_data(tmp_path / "data"),
        encoders_dir=encoders,
        output_dir=tmp_path / "models" / "default",
        checkpoints_dir=tmp_path / "checkpoints",
    )


def test_train_bundle_writes_a_complete_bundle_and_report(tiny_training: TrainingSettings) -> None:
    stale = tiny_training.output_dir.parent / ".default.partial-999999"  # a killed run's staging
    stale.mkdir(parents=True)
    bundle = pipeline.train_bundle(tiny_training, profile="tiny", output=tiny_training.output_dir)
    manifest = BundleManifest.load(bundle)
    assert manifest.version == content_hash(bundle, manifest)
    first = manifest.members[0]
    assert first.temperature > 0 and first.finetune["learning_rate"] == 1e-3
    assert first.finetune["seed"] == tiny_training.seed and first.max_length == 32
    assert manifest.members[1].finetune["seed"] == tiny_training.seed + 1  # its own shuffle
    assert "validation_macro_f1" in first.metrics and "test" in first.metrics
    assert {"validation", "test", "ood"} <= set(manifest.metrics)
    assert manifest.temperature > 0
    assert first.cpu is not None and (bundle / first.path / first.cpu.files["int8"]).is_file()
    assert first.cpu.precision == first.metrics["int8_gate"]["chosen"]  # the gate's call
    report = json.loads(Path(".cache/results/model_quality.json").read_text())
    assert report["ensemble"]["test"]["accuracy"] == manifest.metrics["test"]["accuracy"]
    assert report["version"] == manifest.version  # the exported bundle's, not the staged one's
    # 18 CARER + 18 Reddit rows, less a quarter of Reddit held out to calibrate on
    assert report["training"]["train_rows"] == 32
    assert manifest.calibration is not None and manifest.calibration.rows == 4
    assert set(report["cpu_runtime"]) == {"first", "second"}
    # CARER validation's figures come from early stopping's logits: the same as running the
    # published weights on torch fp32 through the worker's predictor
    torch_fp32 = EnsemblePredictor.load(bundle, device="cpu", cpu="torch")
    validation = read_split(tiny_training.data_dir, "carer-validation")
    fresh = torch_fp32.to_proba(torch_fp32.member_logits(validation.texts))
    for index, name in enumerate(report["members"]):
        again = calibration(fresh[index], validation.labels)
        assert report["members"][name]["validation"]["nll"] == pytest.approx(again["nll"], abs=2e-4)
    # the gate compares int8 with the fp32 figures training just measured, not a second run
    gate_fp32 = first.metrics["int8_gate"]["fp32"]
    for split, key in (("carer-test", "test"), ("ood-dev", "ood")):
        for metric in ("accuracy", "macro_f1"):
            measured = report["members"]["first"][key][metric]
            assert gate_fp32[split][metric] == pytest.approx(measured, abs=1e-4)
    assert "accuracy fp32 / int8" in Path(".cache/results/model_quality.md").read_text()
    assert sorted(p.name for p in bundle.parent.iterdir()) == ["default"]  # nothing left over


def test_a_failed_run_leaves_the_previous_bundle(
    tiny_training: TrainingSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tiny_training.output_dir
    previous = BundleManifest.load(build_tiny_bundle(output, members=1)).version

    def crash(*args: object, **kwargs: object) -> dict[str, object]:
        raise RuntimeError("evaluation crashed")

    monkeypatch.setattr(pipeline, "evaluate_bundle", crash)
    with pytest.raises(RuntimeError, match="evaluation crashed"):
        pipeline.train_bundle(tiny_training, profile="tiny", output=output)
    assert BundleManifest.load(output).version == previous
    assert sorted(p.name for p in output.parent.iterdir()) == ["default"]


def test_the_registry_names_real_pinned_packages() -> None:
    assert set(ENCODERS) == {"minilm-l6", "minilm-l3", "mpnet"}
    assert ENCODERS["minilm-l3"].tokenizer_from == "minilm-l6"
    assert ENCODERS["minilm-l6"].tokenizer_family == ENCODERS["minilm-l3"].tokenizer_family
    assert all(pin.version for source in ENCODERS.values() for c in source.choices for pin in c)


def test_a_profile_subset_keeps_order_and_refuses_unknown_members() -> None:
    full = get_profile("full")
    assert [m.name for m in full.subset(["mpnet", "minilm-l6"]).members] == ["minilm-l6", "mpnet"]
    assert full.subset(None) is full
    assert full.subset(["minilm-l3"]).name == "full"  # same checkpoints as the whole profile
    with pytest.raises(ValueError, match=r"no member \['bert'\]"):
        full.subset(["bert"])


def _report(learned: tuple[float, float], equal: tuple[float, float]) -> dict[str, Any]:
    def scores(pair: tuple[float, float]) -> dict[str, float]:
        return {"accuracy": pair[0], "macro_f1": pair[1]}

    return {
        "ensemble": {"test": scores(learned)},
        "rules": {"mean, equal weights": {"test": scores(equal)}},
    }


def test_learned_weights_stay_only_when_they_beat_the_mean_on_test() -> None:
    def kept(learned: tuple[float, float], equal: tuple[float, float]) -> bool:
        return pipeline.weights_beat_mean(_report(learned, equal))

    assert kept((0.9200, 0.870), (0.9185, 0.864))  # the quick bundle
    assert not kept((0.9265, 0.883), (0.9310, 0.892))  # the full MiniLM pair
    assert not kept((0.9300, 0.880), (0.9290, 0.885))  # better in one figure only
    assert not kept((0.9200, 0.870), (0.9200, 0.870))  # a tie keeps it simple


def test_a_rebuild_from_finished_checkpoints_has_the_same_version(
    tiny_training: TrainingSettings, tmp_path: Path
) -> None:
    fresh = pipeline.train_bundle(tiny_training, profile="tiny", output=tmp_path / "fresh")
    rebuilt = pipeline.train_bundle(tiny_training, profile="tiny", output=tmp_path / "rebuilt")
    versions = [BundleManifest.load(bundle).version for bundle in (fresh, rebuilt)]
    assert versions[0] == versions[1]  # the version names the content, not how it was reached


def test_an_own_encoder_directory_becomes_a_member_of_its_own(
    tiny_training: TrainingSettings, tmp_path: Path
) -> None:
    own = write_tiny_member(tmp_path / "My_Tiny-BERT", seed=7)
    bundle = pipeline.train_bundle(
        tiny_training, profile="tiny", output=tmp_path / "own", own_encoders=[str(own)]
    )
    manifest = BundleManifest.load(bundle)
    assert [m.name for m in manifest.members] == ["first", "second", "my-tiny-bert"]
    mine = manifest.members[2]
    assert mine.base_model == str(own) and mine.package == f"local directory {own.resolve()}"
    assert mine.tokenizer_family.startswith("own-")
    assert mine.finetune["learning_rate"] == 5e-5  # the profile's recipe for own encoders
    assert (bundle / "my-tiny-bert" / "config.json").is_file()  # the bundle carries it
