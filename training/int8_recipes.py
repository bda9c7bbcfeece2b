"""Dynamic-int8 recipes for one member's fp32 ONNX graph, side by side: how far each moves the
member from its own fp32 form, and how fast it runs.

Each recipe is a set of `onnxruntime.quantization.quantize_dynamic` arguments, applied to a copy
of the member's `model.fp32.onnx`. Per recipe and split: top-1 flips against fp32 (posts whose
argmax changes), accuracy and macro-F1 and their deltas against fp32 in points, the mean over
posts of the largest absolute logit difference, and int8 speed (posts/s over the ood-dev texts,
inference only on pre-tokenised batches, median of 3 passes).

Recipes are CHOSEN on selection data only: CARER validation and the real-post calibration slice
(the greedy recipes' MatMul ranking, and the suggested recipe). CARER test and ood-dev, the int8
gate's splits (`training.int8_gate`), are reported, never used to choose. Tokenisation is the
predictor's: the manifest's normalisation, the member's tokenizer and max_length, length-sorted
batches of 64, int64 inputs, only the graph's accepted inputs. Sessions are the worker's
(`model.ort_member.session_options`).

    .venv/bin/python -m training.int8_recipes --bundle /tmp/bundles/t1 \
        --member minilm-l6 --output .cache/results/int8_recipes_l6.json
"""

import argparse
import hashlib
import json
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import typer
from onnxruntime.quantization import QuantType
from transformers import AutoTokenizer

from model.normalize import normalise
from model.ort_member import session_options
from model.passes import INFERENCE_BATCH_SIZE
from schemas.bundle import BundleManifest, MemberSpec
from training.calibration_split import read_calibration_split
from training.data import LabelledTexts, read_split
from training.int8_gate import GATE_SPLITS, INT8_MAX_DROP
from training.metrics import classification_report
from training.onnx_export import is_ffn_output, quantize_quietly

SELECTION_SPLITS = ("carer-validation", "calibration")
SPEED_SPLIT = "ood-dev"
SPEED_PASSES = 3
GREEDY_KS = (2, 4)
Logits = npt.NDArray[np.float32]
Batch = tuple[list[int], dict[str, npt.NDArray[np.int64]]]  # row indices, feeds
Select = Callable[[str], bool]  # a quantisable MatMul's node name -> exclude it?

# `moodwatch export`'s first recipe ("all MatMuls", `training/onnx_export.py`); every recipe
# here starts from it.
BASE: dict[str, Any] = {
    "weight_type": QuantType.QInt8,
    "per_channel": True,
    "op_types_to_quantize": ["MatMul"],
}
_LAYER = re.compile(r"/layer\.(\d+)/")


def _attention_output(name: str) -> bool:
    return "/attention/output/dense/" in name


# name -> overrides of BASE; "exclude" is a predicate over node names (resolved against the
# graph into `nodes_to_exclude`), "edge_layers" excludes the first and last encoder layers.
RECIPES: dict[str, dict[str, Any]] = {
    "current": {},
    "reduce_range": {"reduce_range": True},
    "per_tensor": {"per_channel": False},
    "quint8_weights": {"weight_type": QuantType.QUInt8},
    "activation_symmetric": {"extra_options": {"ActivationSymmetric": True}},
    "skip_ffn_output": {"exclude": is_ffn_output},
    "skip_attention_output": {"exclude": _attention_output},
    "skip_edge_layers": {"edge_layers": True},
}


@dataclass
class Split:
    data: LabelledTexts
    batches: list[Batch]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--member", required=True, help="name in the manifest")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work-dir", type=Path, default=Path(".cache/int8_recipes"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-greedy", action="store_true", help="skip the sensitivity scan")
    parser.add_argument("--output", type=Path, required=True)
    return parser.parse_args(argv)


def load_splits(data_dir: Path) -> dict[str, LabelledTexts]:
    """Selection splits first, then the gate's (report-only) splits."""
    _, calibration, _ = read_calibration_split(data_dir)
    splits = {"carer-validation": read_split(data_dir, "carer-validation")}
    splits["calibration"] = calibration
    return splits | {name: read_split(data_dir, name) for name in GATE_SPLITS}


def tokenised(
    spec: MemberSpec, member_dir: Path, manifest: BundleManifest, texts: list[str], inputs: set[str]
) -> list[Batch]:
    """The predictor's micro-batches (`EnsemblePredictor.member_logits`), tokenised once."""
    tokenizer = AutoTokenizer.from_pretrained(member_dir)
    cleaned = [normalise(t, manifest.normalisation) for t in texts]
    order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
    batches: list[Batch] = []
    for start in range(0, len(order), INFERENCE_BATCH_SIZE):
        rows = order[start : start + INFERENCE_BATCH_SIZE]
        encoded = tokenizer(
            [cleaned[i] for i in rows],
            padding=True,
            truncation=True,
            max_length=spec.max_length,
            return_tensors="np",
        )
        batches.append((rows, {k: v.astype(np.int64) for k, v in encoded.items() if k in inputs}))
    return batches


def session(path: Path, threads: int) -> ort.InferenceSession:
    return ort.InferenceSession(
        str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def run_logits(sess: ort.InferenceSession, split: Split) -> tuple[Logits, float]:
    """Logits in the split's row order, and posts/s of the pass (inference only)."""
    out = np.zeros((len(split.data), 6), dtype=np.float32)
    started = time.perf_counter()
    for rows, feeds in split.batches:
        out[rows] = sess.run(["logits"], feeds)[0]
    return out, len(split.data) / (time.perf_counter() - started)


def quantisable(fp32: Path) -> list[str]:
    """MatMul nodes with a constant B: the ones `quantize_dynamic` turns into int8."""
    graph = onnx.load(str(fp32), load_external_data=False).graph
    constants = {i.name for i in graph.initializer}
    return [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in constants]


def resolve(recipe: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """BASE with the recipe's overrides; node selectors become `nodes_to_exclude`."""
    kwargs = BASE | {k: v for k, v in recipe.items() if k not in ("exclude", "edge_layers")}
    excluded = [n for n in names if recipe.get("exclude", lambda _: False)(n)]
    if recipe.get("edge_layers"):
        layers = {int(m.group(1)) for n in names if (m := _LAYER.search(n))}
        edges = {min(layers), max(layers)}
        excluded += [n for n in names if (m := _LAYER.search(n)) and int(m.group(1)) in edges]
    if excluded:
        kwargs["nodes_to_exclude"] = sorted(set(excluded) | set(kwargs.get("nodes_to_exclude", [])))
    return kwargs


def quantise(fp32: Path, out: Path, kwargs: dict[str, Any]) -> str:
    """Write the int8 graph; return a digest of it (recipes with equal digests are one graph)."""
    extra = dict(kwargs.get("extra_options", {}))  # quantize_dynamic adds to the dict it gets
    quantize_quietly(fp32, out, **(kwargs | {"extra_options": extra}))
    return hashlib.sha256(out.read_bytes()).hexdigest()[:16]


def split_figures(logits: Logits, reference: Logits, labels: list[int]) -> dict[str, float]:
    """Flips and logit drift against fp32, and the headline figures."""
    predicted = logits.argmax(axis=1)
    report = classification_report(labels, predicted)
    return {
        "flips": int((predicted != reference.argmax(axis=1)).sum()),
        "agreement": float((predicted == reference.argmax(axis=1)).mean()),
        "accuracy": float(report["accuracy"]),
        "macro_f1": float(report["macro_f1"]),
        "max_abs_logit_diff_mean": float(np.abs(logits - reference).max(axis=1).mean()),
    }


def with_deltas(figures: dict[str, float], fp32: dict[str, float]) -> dict[str, float]:
    return figures | {
        f"{m}_delta_points": round(100 * (figures[m] - fp32[m]), 2)
        for m in ("accuracy", "macro_f1")
    }


def score(
    path: Path, splits: dict[str, Split], threads: int, only: tuple[str, ...]
) -> tuple[dict[str, Logits], float | None]:
    """Logits on `only`; posts/s (median of SPEED_PASSES over SPEED_SPLIT) when it is among them."""
    sess = session(path, threads)
    run_logits(sess, Split(splits[only[0]].data, splits[only[0]].batches[:1]))  # warm-up
    logits: dict[str, Logits] = {}
    speeds: list[float] = []
    for name in only:
        logits[name], speed = run_logits(sess, splits[name])
        if name == SPEED_SPLIT:
            speeds = [speed] + [run_logits(sess, splits[name])[1] for _ in range(SPEED_PASSES - 1)]
    return logits, (statistics.median(speeds) if speeds else None)


def selection_flips(logits: dict[str, Logits], reference: dict[str, Logits]) -> int:
    return sum(
        int((logits[s].argmax(axis=1) != reference[s].argmax(axis=1)).sum())
        for s in SELECTION_SPLITS
    )


def selection_drift(logits: dict[str, Logits], reference: dict[str, Logits]) -> float:
    return sum(float(np.abs(logits[s] - reference[s]).max(axis=1).mean()) for s in SELECTION_SPLITS)


def sensitivity(
    fp32: Path,
    work: Path,
    names: list[str],
    splits: dict[str, Split],
    reference: dict[str, Logits],
    full: dict[str, Logits],
    threads: int,
) -> list[dict[str, Any]]:
    """Leave-one-out from `current`: each MatMul alone kept fp32, the rest int8, on selection
    data. Sound for a greedy exclusion (it measures exactly the step it ranks, interactions
    included) and cheaper than its mirror (the graphs it runs are almost all int8). `full` is
    the `current` recipe's logits."""
    base_flips, base_drift = selection_flips(full, reference), selection_drift(full, reference)
    rows = []
    for name in names:
        path = _quantised(fp32, work, "loo", resolve({"exclude": name.__eq__}, names))
        logits, _ = score(path, splits, threads, SELECTION_SPLITS)
        rows.append(
            {
                "node": name,
                "flips_saved": base_flips - selection_flips(logits, reference),
                "drift_saved": round(base_drift - selection_drift(logits, reference), 5),
            }
        )
        typer.echo(f"  {rows[-1]}")
    return sorted(rows, key=lambda r: (-r["flips_saved"], -r["drift_saved"]))


def _quantised(fp32: Path, work: Path, name: str, kwargs: dict[str, Any]) -> Path:
    out = work / f"{name}.int8.onnx"
    quantise(fp32, out, kwargs)
    return out


def main(argv: list[str]) -> int:
    args = parse(argv)
    manifest = BundleManifest.load(args.bundle)
    spec = next(m for m in manifest.members if m.name == args.member)
    assert spec.cpu is not None, f"{spec.name} has no ONNX files: `moodwatch export` first"
    member_dir = args.bundle / spec.path
    work = args.work_dir / spec.name
    work.mkdir(parents=True, exist_ok=True)
    fp32 = work / "model.fp32.onnx"  # a copy: the bundle is never written
    shutil.copyfile(member_dir / spec.cpu.files["fp32"], fp32)

    inputs = {i.name for i in session(fp32, args.threads).get_inputs()}
    splits = {
        name: Split(data, tokenised(spec, member_dir, manifest, data.texts, inputs))
        for name, data in load_splits(args.data_dir).items()
    }
    names = quantisable(fp32)
    typer.echo(
        f"{spec.name}: {len(names)} quantisable MatMuls; splits "
        + ", ".join(f"{k}={len(v.data)}" for k, v in splits.items())
    )

    every = tuple(splits)
    reference, fp32_speed = score(fp32, splits, args.threads, every)
    fp32_figures = {
        s: split_figures(reference[s], reference[s], splits[s].data.labels) for s in every
    }
    recipes = {name: resolve(r, names) for name, r in RECIPES.items()}
    results: dict[str, Any] = {}
    digests: dict[str, str] = {}
    current: dict[str, Logits] = {}
    for name, kwargs in recipes.items():
        logits = evaluate(
            name, kwargs, fp32, work, splits, reference, fp32_speed, results, digests, args.threads
        )
        current = current or logits
    ranking: list[dict[str, Any]] = []
    if not args.no_greedy:
        typer.echo("sensitivity (leave one MatMul fp32, selection data):")
        ranking = sensitivity(fp32, work, names, splits, reference, current, args.threads)
        for k in GREEDY_KS:
            worst = [r["node"] for r in ranking[:k]]
            kwargs = resolve({"exclude": worst.__contains__}, names)
            evaluate(
                f"greedy_k{k}",
                kwargs,
                fp32,
                work,
                splits,
                reference,
                fp32_speed,
                results,
                digests,
                args.threads,
            )

    report = {
        "bundle": str(args.bundle),
        "member": spec.name,
        "threads": args.threads,
        "selection_splits": list(SELECTION_SPLITS),
        "report_splits": list(GATE_SPLITS),
        "fp32": {"posts_per_s": round(fp32_speed or 0.0, 1), "splits": fp32_figures},
        "recipes": results,
        "sensitivity": ranking,
        "suggested": suggest(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


def evaluate(
    name: str,
    kwargs: dict[str, Any],
    fp32: Path,
    work: Path,
    splits: dict[str, Split],
    reference: dict[str, Logits],
    fp32_speed: float | None,
    results: dict[str, Any],
    digests: dict[str, str],
    threads: int,
) -> dict[str, Logits]:
    """Quantise with `kwargs`, score on every split, add the figures to `results`; the logits,
    empty where the graph equals an earlier recipe's (its figures are then copied)."""
    out = work / f"{name}.int8.onnx"
    digest = quantise(fp32, out, kwargs)
    if digest in digests:  # e.g. an option dynamic quantisation ignores: the same graph
        results[name] = results[digests[digest]] | {
            "same_graph_as": digests[digest],
            "kwargs": _shown(kwargs),
        }
        typer.echo(f"{name}: same graph as {digests[digest]}")
        out.unlink()
        return {}
    digests[digest] = name
    logits, speed = score(out, splits, threads, tuple(splits))
    out.unlink()
    results[name] = {
        "kwargs": _shown(kwargs),
        "excluded": len(kwargs.get("nodes_to_exclude", [])),
        "posts_per_s": round(speed or 0.0, 1),
        "speed_vs_fp32": round((speed or 0.0) / (fp32_speed or 1.0), 2),
        "selection_flips": selection_flips(logits, reference),
        "splits": {
            s: with_deltas(
                split_figures(logits[s], reference[s], splits[s].data.labels),
                split_figures(reference[s], reference[s], splits[s].data.labels),
            )
            for s in splits
        },
    }
    typer.echo(f"{name}: {results[name]['selection_flips']} selection flips, {speed:.0f} posts/s")
    return logits


def suggest(results: dict[str, Any]) -> dict[str, Any]:
    """Fewest selection-data flips, the faster on a tie; then whether it would pass the gate
    on the report-only splits (reported, not used to choose)."""
    name = min(results, key=lambda n: (results[n]["selection_flips"], -results[n]["posts_per_s"]))
    splits = results[name]["splits"]
    worst = max(
        -splits[s][f"{m}_delta_points"] for s in GATE_SPLITS for m in ("accuracy", "macro_f1")
    )
    return {
        "recipe": name,
        "worst_gate_drop_points": worst,
        "passes_gate": worst <= 100 * INT8_MAX_DROP + 1e-9,
    }


def _shown(kwargs: dict[str, Any]) -> dict[str, Any]:
    """JSON-able kwargs: QuantType by name."""
    return {k: (v.name if isinstance(v, QuantType) else v) for k, v in kwargs.items()}


def _cell(figures: dict[str, float]) -> str:
    """flips / accuracy delta / macro-F1 delta (points) / mean max |logit delta|."""
    return (
        f"{figures['flips']:>4} {figures['accuracy_delta_points']:+6.2f}"
        f" {figures['macro_f1_delta_points']:+6.2f} {figures['max_abs_logit_diff_mean']:6.3f}"
    )


def print_table(report: dict[str, Any]) -> None:
    splits = list(report["fp32"]["splits"])
    typer.echo(f"\n{report['member']}: per split flips / d.acc / d.F1 (points) / mean max|d.logit|")
    typer.echo(
        f"{'recipe':22} {'excl':>4} {'p/s':>5} {'sel':>4} " + " ".join(f"{s:>26}" for s in splits)
    )
    fp32 = report["fp32"]
    cells = [
        f"acc {fp32['splits'][s]['accuracy']:.4f} F1 {fp32['splits'][s]['macro_f1']:.4f}"
        for s in splits
    ]
    typer.echo(
        f"{'fp32':22} {'':>4} {fp32['posts_per_s']:>5.0f} {'':>4} "
        + " ".join(f"{c:>26}" for c in cells)
    )
    for name, r in report["recipes"].items():
        cells = [_cell(r["splits"][s]) for s in splits]
        row = f"{name:22} {r['excluded']:>4} {r['posts_per_s']:>5.0f} {r['selection_flips']:>4} "
        typer.echo(row + " ".join(f"{c:>26}" for c in cells))
    typer.echo(f"suggested (fewest selection-data flips): {report['suggested']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
