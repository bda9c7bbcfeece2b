"""The report's averaging sections: calibration methods compared on the same member outputs, and
counted against expected shares."""

from pathlib import Path

import numpy as np
import pytest

from schemas.bundle import BundleManifest, CalibrationSplit, FormTemperatures
from tests.tiny_bundle import build_tiny_bundle
from tests.unit.test_training_bundle import write_tiny_data
from training.calibration_report import FORMS, NEW, OLD, RAW, share_errors
from training.calibration_study import study
from training.evaluate import evaluate_bundle
from training.report import target_rows, write_report


def recalibrated(bundle: Path) -> Path:
    """The tiny bundle as training now writes it: its own temperatures fitted with the real
    posts, the CARER-only ones recorded beside them."""
    manifest = BundleManifest.load(bundle)
    members = tuple(
        spec.model_copy(
            update={"temperature": 0.5 + i, "metrics": {"temperature_carer_validation": 0.3}}
        )
        for i, spec in enumerate(manifest.members)
    )
    split = CalibrationSplit(source="x", rows=4, seed=1, stratified_by="label", ids_sha256="0")
    manifest.model_copy(
        update={
            "members": members,
            "temperature": 1.7,
            "calibration": split,
            "metrics": {"temperature_carer_validation": 0.6},
        }
    ).save(bundle)
    return bundle


def test_the_report_compares_the_calibrations_on_the_same_outputs(tmp_path: Path) -> None:
    bundle = recalibrated(build_tiny_bundle(tmp_path / "b"))
    report = evaluate_bundle(bundle, write_tiny_data(tmp_path / "data"), device="cpu")
    methods = report["calibration_methods"]
    assert set(methods) == {RAW, OLD, NEW}
    assert methods[OLD]["temperatures"] == {"members": [0.3, 0.3], "ensemble": 0.6}
    for split, figures in report["ensemble"].items():
        # the bundle's own temperatures, recomputed here, give what the worker's predictor gives
        assert methods[NEW][split]["ece"] == figures["ece"]
        assert methods[RAW][split]["ece"] == figures["ece_uncalibrated"]
        assert methods[OLD][split]["ece"] != figures["ece"]
        counted = np.asarray(figures["confusion"]["matrix"]).sum(axis=0) / figures["rows"]
        shares = report["shares"][split]
        assert [shares[label]["counted"] for label in figures["confusion"]["labels"]] == [
            pytest.approx(c, abs=1e-4) for c in counted
        ]
    markdown = write_report(report, tmp_path / "r.json")[1].read_text()
    assert "## Calibration: fitted on what" in markdown and "|expected − true|" in markdown
    assert any(row[0].startswith("ood_dev ECE ≤ 0.03") for row in target_rows(report))


def test_a_bundle_without_the_record_reports_its_own_calibration_only(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    report = evaluate_bundle(tiny_bundle, write_tiny_data(tmp_path / "data"), device="cpu")
    assert set(report["calibration_methods"]) == {RAW, "bundle"}


def test_expected_shares_are_mean_probabilities_and_counted_ones_argmax() -> None:
    probs = np.array([[0.6, 0.4, 0, 0, 0, 0], [0.6, 0.4, 0, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0]])
    shares = share_errors(probs, [0, 1, 1])  # truth: 1/3 sadness, 2/3 joy
    assert shares["sadness"]["counted"] == pytest.approx(2 / 3, abs=1e-4)
    assert shares["sadness"]["expected"] == pytest.approx(1.4 / 3, abs=1e-4)
    assert shares["sadness"]["counted_error"] == pytest.approx(1 / 3, abs=1e-4)
    assert shares["sadness"]["expected_error"] == pytest.approx(0.4 / 3, abs=1e-4)
    assert shares["mean"]["expected_error"] < shares["mean"]["counted_error"]


def test_the_study_scores_every_calibration_on_every_split_and_caches_logits(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    data = write_tiny_data(tmp_path / "data")
    cache = tmp_path / "logits.npz"
    figures = study(tiny_bundle, data, cache)
    methods = figures["methods"]
    assert list(methods)[:2] == ["uncalibrated", "temperatures, CARER validation only (before)"]
    assert {"+ vector scaling", "+ Dirichlet, L2 0.001"} <= set(methods)
    for entry in methods.values():
        for split in ("validation", "real posts", "test", "ood"):
            assert {"ece", "nll", "accuracy", "macro_f1"} <= set(entry[split])
        assert entry["worst calibration ECE"] == max(
            entry["validation"]["ece"], entry["real posts"]["ece"]
        )
    assert study(tmp_path / "no bundle here", data, cache)["methods"] == methods  # from cache
    assert figures["split"]["rows"] == 4  # a quarter of the 18 tiny Reddit rows


def test_a_bundle_with_form_temperatures_reports_them_as_its_own(tmp_path: Path) -> None:
    bundle = recalibrated(build_tiny_bundle(tmp_path / "b"))
    plain = FormTemperatures(members=(3.0, 4.0), ensemble=5.0, rows=500)
    BundleManifest.load(bundle).model_copy(update={"form_temperatures": {"plain": plain}}).save(
        bundle
    )
    report = evaluate_bundle(bundle, write_tiny_data(tmp_path / "data"), device="cpu")
    methods = report["calibration_methods"]
    assert set(methods) == {RAW, OLD, NEW, FORMS}
    assert methods[FORMS]["temperatures"]["forms"]["plain"]["members"] == [3.0, 4.0]
    for split, figures in report["ensemble"].items():
        assert methods[FORMS][split]["ece"] == figures["ece"]  # what the predictor gives
    markdown = write_report(report, tmp_path / "r.json")[1].read_text()
    assert "plain: 3.000, 4.000; 5.000" in markdown
