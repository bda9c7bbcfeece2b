"""ONNX Runtime members on the tiny bundle: the same answers as torch, the int8 gate's call,
and old bundles (no ONNX files) still running on torch."""

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from structlog.testing import capture_logs

from model.predictor import EnsemblePredictor
from schemas.bundle import BundleManifest
from schemas.exit_codes import ExitCode
from tests.tiny_bundle import build_tiny_bundle
from training.int8_gate import Score, SplitFigures
from training.onnx_bundle import export_bundle
from training.onnx_export import is_ffn_output

POSTS = [
    "I am SO happy today!!! https://t.co/x @bob",
    "sad",
    "why does this always happen to me, i'm furious and i can't take it any more",
    "wow 😮 did not see that coming",
]


def fake_score(int8_accuracy: float) -> Score:
    """The gate's evaluation seam: fp32 scores 0.90 everywhere, int8 `int8_accuracy`."""

    def score(precision: str) -> dict[str, SplitFigures]:
        accuracy = 0.90 if precision == "fp32" else int8_accuracy
        figures = {"accuracy": accuracy, "macro_f1": 0.85}
        return {name: {"carer-test": figures, "ood-dev": figures} for name in ("tiny0", "tiny1")}

    return score


def exported(tiny_bundle: Path, directory: Path, int8_accuracy: float) -> BundleManifest:
    bundle = directory / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    return export_bundle(bundle, directory / "no-data", score=fake_score(int8_accuracy))


@pytest.fixture(scope="module")
def int8_bundle(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("onnx")
    exported(tiny_bundle, directory, int8_accuracy=0.899)  # 0.1 points lost: within the gate
    return directory / "bundle"


def test_onnx_members_give_the_torch_answers(tiny_bundle: Path, int8_bundle: Path) -> None:
    torch_probs = EnsemblePredictor.load(tiny_bundle, "cpu", "torch").member_proba(POSTS)
    fp32 = EnsemblePredictor.load(int8_bundle, device="cpu", cpu="onnx-fp32")
    int8 = EnsemblePredictor.load(int8_bundle, device="cpu", cpu="onnx-int8")
    assert {m.runtime for m in fp32.members} == {"onnxruntime"}
    np.testing.assert_allclose(fp32.member_proba(POSTS), torch_probs, atol=1e-5)
    np.testing.assert_allclose(int8.member_proba(POSTS), torch_probs, atol=0.02)


def test_the_bundle_runs_int8_where_the_gate_kept_it(int8_bundle: Path) -> None:
    predictor = EnsemblePredictor.load(int8_bundle, device="cpu")
    assert [(m.runtime, m.precision) for m in predictor.members] == [("onnxruntime", "int8")] * 2
    spec = predictor.manifest.members[0]
    assert spec.cpu is not None and "0.10 points" in spec.cpu.reason
    gate = spec.metrics["int8_gate"]
    assert (
        gate["fp32"]["ood-dev"]["accuracy"] == 0.9 and gate["int8"]["ood-dev"]["accuracy"] == 0.899
    )
    assert len(predictor.predict(POSTS)) == len(POSTS)


def test_the_gate_keeps_fp32_when_int8_loses_accuracy(tiny_bundle: Path, tmp_path: Path) -> None:
    manifest = exported(tiny_bundle, tmp_path, int8_accuracy=0.896)  # 0.4 points: too many
    assert {spec.cpu.precision for spec in manifest.members if spec.cpu} == {"fp32"}
    assert "beyond the 0.3 allowed" in (
        manifest.members[0].cpu.reason if manifest.members[0].cpu else ""
    )
    predictor = EnsemblePredictor.load(tmp_path / "bundle", device="cpu")
    assert [m.precision for m in predictor.members] == ["fp32", "fp32"]
    assert BundleManifest.load(tmp_path / "bundle").version == manifest.version


def test_a_member_int8_fails_is_quantised_again_keeping_its_ffn_outputs_fp32(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """tiny0 loses 0.4 points with every MatMul in int8 and 0.2 with its FFN outputs in fp32;
    tiny1 loses 0.1 with the first recipe and is not quantised again."""
    calls: list[str] = []

    def score(precision: str) -> dict[str, SplitFigures]:
        calls.append(precision)
        attempt = calls.count("int8")
        loss = {"fp32": (0.0, 0.0), "int8": ((0.004, 0.001), (0.002, 0.001))[attempt - 1]}
        return {
            name: {
                split: {"accuracy": 0.90 - loss[precision][i], "macro_f1": 0.85}
                for split in ("carer-test", "ood-dev")
            }
            for i, name in enumerate(("tiny0", "tiny1"))
        }

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    manifest = export_bundle(bundle, tmp_path / "no-data", score=score)
    assert calls == ["fp32", "int8", "int8"]  # fp32 once; int8 again only for the failing one
    tiny0, tiny1 = manifest.members
    assert tiny0.cpu is not None and tiny1.cpu is not None
    assert (tiny0.cpu.precision, tiny1.cpu.precision) == ("int8", "int8")
    assert "(FFN outputs in fp32)" in tiny0.cpu.reason and "0.20 points" in tiny0.cpu.reason
    assert tiny0.metrics["int8_gate"]["recipe"] == "FFN outputs in fp32"
    assert tiny1.metrics["int8_gate"]["recipe"] == "all MatMuls"
    graphs = {
        spec.name: onnx.load(str(bundle / spec.path / spec.cpu.files["int8"])).graph
        for spec in manifest.members
        if spec.cpu is not None
    }
    float_ffn = {
        name: [n.name for n in g.node if n.op_type == "MatMul" and is_ffn_output(n.name)]
        for name, g in graphs.items()
    }
    assert float_ffn["tiny0"] and not float_ffn["tiny1"]  # only tiny0 kept fp32 FFN outputs
    predictor = EnsemblePredictor.load(bundle, device="cpu")
    assert len(predictor.predict(POSTS)) == len(POSTS)


def test_an_old_bundle_runs_on_torch_and_says_so(tmp_path: Path) -> None:
    old = build_tiny_bundle(tmp_path / "old")  # no ONNX files, as before `moodwatch export`
    with capture_logs() as logs:
        predictor = EnsemblePredictor.load(old, device="cpu")
    assert [(m.runtime, m.precision) for m in predictor.members] == [("torch", "fp32")] * 2
    (line,) = [entry for entry in logs if "without ONNX files" in entry["event"]]
    assert line["members"] == ["tiny0", "tiny1"] and "moodwatch export" in line["event"]


def test_export_without_the_gate_data_says_where_and_leaves_the_bundle(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    from tests.unit.test_cli_errors import assert_short_error, run_cli

    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_bundle, bundle)
    before = BundleManifest.load(bundle).version
    result = run_cli("export", "--bundle", str(bundle), MOODWATCH_TRAIN_DATA_DIR=str(tmp_path))
    (line,) = assert_short_error(result, ExitCode.BAD_INPUT)
    assert "MOODWATCH_TRAIN_DATA_DIR" in line and "no such file" in line
    assert BundleManifest.load(bundle).version == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no staging left behind
