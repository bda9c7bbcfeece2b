"""The runtime benchmark's measurements; `bench_runtimes` is its command line.

Every variant loads once; each round then runs every variant, bare and end to end, in an order
rotated from round to round, so a drift in the machine's speed (other jobs on shared cores)
falls on all variants alike. Each figure is the median of its rounds, with its spread.
"""

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from benchmarks import stream_inference as inference
from benchmarks.stream_run import measure_worker, precision
from model.predictor import CpuChoice, EnsemblePredictor

DEFAULT: CpuChoice = "bundle"  # what the worker runs unless told otherwise


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "rounds": [round(v, 1) for v in values],
    }


def load_average() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _worker_args(args: argparse.Namespace, variant: str) -> argparse.Namespace:
    """What `stream_run.measure_worker` reads: the worker's settings for this variant."""
    return argparse.Namespace(
        bundle=args.bundle,
        device="cpu",
        cpu_runtime=variant,
        batch_wait_ms=args.batch_wait_ms,
        profile=None,
    )


def e2e_rate(args: argparse.Namespace, texts: list[str], variant: str, batch: int) -> float:
    log = args.output.with_suffix(".worker.log")
    return measure_worker(_worker_args(args, variant), texts, batch, log).per_s


def measure(args: argparse.Namespace, texts: list[str]) -> dict[str, Any]:
    predictors = {v: EnsemblePredictor.load(args.bundle, "cpu", v) for v in args.variants}
    for predictor in predictors.values():
        predictor.predict(texts[: args.batch_size])  # warm-up: sessions and caches
    bare: dict[str, list[float]] = {v: [] for v in args.variants}
    e2e: dict[str, list[float]] = {v: [] for v in args.variants}
    loads = [load_average()]
    for round_index in range(args.rounds):
        shift = round_index % len(args.variants)
        for variant in [*args.variants[shift:], *args.variants[:shift]]:
            rate = inference.bare_micro_batches(predictors[variant], texts, args.batch_size)
            bare[variant].append(rate.per_s)
            if not args.bare_only:
                e2e[variant].append(e2e_rate(args, texts, variant, args.batch_size))
        loads.append(load_average())
    figures: dict[str, Any] = {
        "variants": {
            v: {"runs_as": precision(predictors[v]), "bare": spread(bare[v])}
            | ({"e2e": spread(e2e[v])} if e2e[v] else {})
            for v in args.variants
        },
        "load_average_1_5_15_min": {"before": loads[0], "after_each_round": loads[1:]},
    }
    if not args.bare_only and DEFAULT in args.variants:
        single = e2e_rate(args, texts[: args.single_posts], DEFAULT, 1)
        figures["default_e2e_one_at_a_time"] = round(single, 1)
    return figures | ratios(figures)


def ratios(figures: dict[str, Any]) -> dict[str, float]:
    """The issue's targets, from the medians; a ratio whose variants did not run is left out."""
    found = figures["variants"]

    def median(variant: str, kind: str) -> float | None:
        value = found.get(variant, {}).get(kind, {}).get("median")
        return None if value is None else float(value)

    pairs = {
        "int8_bare_vs_torch_bare": (median("onnx-int8", "bare"), median("torch", "bare")),
        "fp32_bare_vs_torch_bare": (median("onnx-fp32", "bare"), median("torch", "bare")),
        "default_e2e_vs_torch_e2e": (median(DEFAULT, "e2e"), median("torch", "e2e")),
        "default_e2e_vs_bare": (median(DEFAULT, "e2e"), median(DEFAULT, "bare")),
        "default_microbatch_speedup": (
            median(DEFAULT, "e2e"),
            figures.get("default_e2e_one_at_a_time"),
        ),
    }
    return {k: round(a / b, 2) for k, (a, b) in pairs.items() if a and b}


def header(args: argparse.Namespace, argv: list[str], texts: int) -> dict[str, Any]:
    from benchmarks.stream_report import machine

    return {
        "command": " ".join(["python -m benchmarks.bench_runtimes", *argv]),
        "machine": machine() | {"cores_given": len(os.sched_getaffinity(0))},
        "bundle": str(Path(args.bundle)),
        "posts": texts,
        "batch_size": args.batch_size,
        "batch_max_wait_ms": args.batch_wait_ms,
        "rounds": args.rounds,
    }
