"""The real-post calibration slice: fixed, stratified, disjoint from training; and the
domain-weighted temperature fitted on it beside CARER validation."""

import json
from collections import Counter
from pathlib import Path

import torch

from schemas.bundle import BundleManifest, Normalisation
from schemas.settings import TrainingSettings
from tests.tiny_bundle import build_tiny_bundle
from tests.unit.test_training_calibration import noisy_logits
from training.calibration import domain_weights, fit_temperature, nll
from training.calibration_split import HELD_OUT_ROWS, SEED, ids_digest, read_calibration_split
from training.data import SPLITS
from training.pipeline import training_data
from training.profiles import QUICK


def write_goemotions(data_dir: Path, labels: list[int]) -> None:
    """A goemotions_train with a meta file of comment ids, and the CARER splits beside it."""
    path = data_dir / SPLITS["goemotions-train"]
    path.parent.mkdir(parents=True)
    rows = [{"text": f"post {i}", "label": label} for i, label in enumerate(labels)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    meta = [{"goemotions_id": f"c{i}"} for i in range(len(labels))]
    path.with_suffix(".meta.jsonl").write_text("".join(json.dumps(m) + "\n" for m in meta))
    for split in ("carer-train", "carer-validation"):
        carer = data_dir / SPLITS[split]
        carer.parent.mkdir(exist_ok=True)
        carer.write_text(json.dumps({"text": "i feel sad", "label": 0}) + "\n")


# the real file's label mix (sadness .. surprise), scaled to 10,000 rows
LABELS = [0] * 1591 + [1] * 4268 + [2] * 1421 + [3] * 1857 + [4] * 370 + [5] * 493


def test_the_slice_is_fixed_stratified_and_recorded(tmp_path: Path) -> None:
    write_goemotions(tmp_path, LABELS)
    train, held, record = read_calibration_split(tmp_path)
    again = read_calibration_split(tmp_path)[1]
    assert held.texts == again.texts  # the same rows on every run
    assert len(held) == HELD_OUT_ROWS and len(train) == len(LABELS) - HELD_OUT_ROWS
    counts = Counter(held.labels)
    for label, total in Counter(LABELS).items():  # each label in proportion, within a row
        assert abs(counts[label] - HELD_OUT_ROWS * total / len(LABELS)) < 1
    held_ids = [f"c{text.removeprefix('post ')}" for text in held.texts]
    assert record.rows == HELD_OUT_ROWS and record.seed == SEED
    assert record.source == SPLITS["goemotions-train"] and record.stratified_by == "label"
    assert record.ids_sha256 == ids_digest(held_ids)


def test_training_never_sees_the_slice(tmp_path: Path) -> None:
    write_goemotions(tmp_path, LABELS)
    train, calibration = training_data(TrainingSettings(data_dir=tmp_path), QUICK, Normalisation())
    assert len(calibration.real_posts) == HELD_OUT_ROWS
    assert not set(calibration.real_posts.texts) & set(train.texts)
    assert len(train) == 1 + len(LABELS) - HELD_OUT_ROWS  # CARER's row and the rest of Reddit


def test_a_manifest_without_the_record_still_loads_with_its_version(tmp_path: Path) -> None:
    bundle = build_tiny_bundle(tmp_path / "old", members=1)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest.pop("calibration", None)  # as written before the field existed
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    loaded = BundleManifest.load(bundle)
    assert loaded.calibration is None
    assert loaded.save(bundle).version == manifest["version"]


def test_each_domain_weighs_the_same_whatever_its_size() -> None:
    weights = domain_weights([2000, 500])
    assert torch.isclose(weights[:2000].sum(), weights[2000:].sum())


def test_the_weighted_temperature_lies_between_the_domains_own() -> None:
    """Tweets that want sharpening, posts that want cooling: the fit serves both, and a small
    real-post slice is not outvoted by a large CARER validation."""
    tweets, tweet_labels = noisy_logits(scale=0.5, rows=2000, seed=1)
    posts, post_labels = noisy_logits(scale=3.0, rows=500, seed=2)
    alone = [fit_temperature(tweets, tweet_labels), fit_temperature(posts, post_labels)]
    logits, labels = torch.cat([tweets, posts]), torch.cat([tweet_labels, post_labels])
    weights = domain_weights([2000, 500])
    balanced = fit_temperature(logits, labels, weights=weights)
    pooled = fit_temperature(logits, labels)
    assert alone[0] < pooled < balanced < alone[1]
    # the balanced fit is what the weighted NLL prefers, by construction and in fact
    assert nll(logits, labels, balanced, weights) < nll(logits, labels, pooled, weights)
