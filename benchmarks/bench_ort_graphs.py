"""One member's ONNX graphs side by side, each in ONNX Runtime sessions with 1 intra-op thread
and with every core the process may use: the graphs `moodwatch export` writes (fp32, int8) and
the same graph fused offline by ONNX Runtime's transformer optimiser (`benchmarks/ort_fused.py`),
in fp32 and two int8 forms. Same texts, tokenised once in the worker's length-sorted
micro-batches; rounds interleave in a rotated order; median and spread, and the load average.
Sessions are as the worker's (`model.ort_member`): ORT_ENABLE_ALL, sequential execution (a
BERT layer is one chain of ops: nothing for ORT_PARALLEL to run side by side), no spinning.

    .venv/bin/python -m benchmarks.bench_ort_graphs --bundle /tmp/bundles/quick-onnx
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from benchmarks.ort_fused import fused_graphs
from benchmarks.runtimes_run import load_average, spread
from benchmarks.stream_report import write
from benchmarks.stream_texts import load_texts
from model.ort_member import OrtMember, cpu_cores
from schemas.bundle import BundleManifest, MemberSpec

RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--member", help="name in the manifest; the first member by default")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS / "ort_graphs.json")
    return parser.parse_args(argv)


def encoded_batches(member_dir: Path, texts: list[str], size: int, max_length: int) -> list[Any]:
    """Length-sorted batches of `size`, tokenised as the predictor does (padded per batch)."""
    tokenizer = AutoTokenizer.from_pretrained(member_dir)
    ordered = sorted(texts, key=len)
    return [
        dict(
            tokenizer(
                ordered[i : i + size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="np",
            )
        )
        for i in range(0, len(ordered), size)
    ]


def graphs(bundle: Path, spec: MemberSpec, directory: Path) -> dict[str, Path]:
    assert spec.cpu is not None, f"{spec.name} has no ONNX files: run moodwatch export first"
    exported = {f"exported {p}": bundle / spec.path / f for p, f in spec.cpu.files.items()}
    member_dir = bundle / spec.path
    return exported | fused_graphs(exported["exported fp32"], member_dir, directory)


def interleaved(sessions: dict[str, OrtMember], batches: list[Any], rounds: int) -> Any:
    """variant -> posts/s of every round; and the load average before and after each round."""
    posts = sum(len(batch["input_ids"]) for batch in batches)
    rates: dict[str, list[float]] = {name: [] for name in sessions}
    names, loads = list(sessions), [load_average()]
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in [*names[shift:], *names[:shift]]:
            started = time.perf_counter()
            for batch in batches:
                sessions[name].logits(batch)
            rates[name].append(posts / (time.perf_counter() - started))
        loads.append(load_average())
    return rates, loads


def main(argv: list[str]) -> int:
    args = parse(argv)
    manifest = BundleManifest.load(args.bundle)
    spec = next(m for m in manifest.members if args.member in (None, m.name))
    texts = load_texts(args.posts)
    batches = encoded_batches(args.bundle / spec.path, texts, args.batch_size, spec.max_length)
    with tempfile.TemporaryDirectory() as directory:
        paths = graphs(args.bundle, spec, Path(directory))
        sessions = {
            f"{name}, {threads} thread(s)": OrtMember(path, name, threads)
            for name, path in paths.items()
            for threads in sorted({1, cpu_cores()})
        }
    for session in sessions.values():
        session.logits(batches[0])  # warm-up
    rates, loads = interleaved(sessions, batches, args.rounds)
    posts_per_s = {name: spread(values) for name, values in rates.items()}
    figures = {
        "bundle": str(args.bundle),
        "member": spec.name,
        "posts_per_s": posts_per_s,
        "load_average_1_5_15_min": {"before": loads[0], "after_each_round": loads[1:]},
    }
    for name, found in posts_per_s.items():
        print(f"{name}: {found['median']:.1f} ({found['min']:.1f}–{found['max']:.1f}) posts/s")
    print(f"load average before {loads[0]}, after each round {loads[1:]}")
    write(figures, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
