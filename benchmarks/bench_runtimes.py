"""`make bench-runtimes`: the CPU runtimes side by side in one run, on the same texts and
members: torch fp32, ONNX Runtime fp32, ONNX Runtime int8 and the worker's default (each member
as its bundle says), bare and end to end through Kafka and PostgreSQL. Variants interleave,
rounds repeat; each figure is the median of its rounds with its spread, and the machine's load
average is recorded before and after each round (other jobs on shared cores move the figures).

    .venv/bin/python -m benchmarks.bench_runtimes --bundle models/default
    .venv/bin/python -m benchmarks.bench_runtimes --bundle /tmp/tiny --posts 256 --bare-only
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.own_database import use_own_database

RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "results"
VARIANTS = ["torch", "onnx-fp32", "onnx-int8", "bundle"]
TARGETS = {
    "int8_bare_vs_torch_bare": 3.0,
    "default_e2e_vs_torch_e2e": 2.5,
    "default_e2e_vs_bare": 0.90,
    "default_microbatch_speedup": 8.0,
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--posts", type=int, default=1000, help="texts per bare and e2e run")
    parser.add_argument("--single-posts", type=int, default=200, help="one-at-a-time e2e run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256, help="worker micro-batch")
    parser.add_argument("--batch-wait-ms", type=int, default=5)
    parser.add_argument(
        "--variants", type=lambda s: s.split(","), default=VARIANTS, help="comma-separated"
    )
    parser.add_argument("--bare-only", action="store_true", help="no Kafka/PostgreSQL runs")
    parser.add_argument("--output", type=Path, default=RESULTS / "runtimes.json")
    return parser.parse_args(argv)


def table(figures: dict[str, Any]) -> str:
    lines = [
        "| variant | members run as | bare posts/s, median (min–max) "
        "| e2e posts/s, median (min–max) |",
        "| --- | --- | ---: | ---: |",
    ]
    for name, found in figures["variants"].items():
        cells = [_cell(found.get(kind)) for kind in ("bare", "e2e")]
        lines.append(f"| {name} | {found['runs_as']} | {cells[0]} | {cells[1]} |")
    lines += ["", "| ratio (medians) | measured | target | met |", "| --- | ---: | ---: | :-: |"]
    for key, target in TARGETS.items():
        if key in figures:
            met = "yes" if figures[key] >= target else "NO"
            lines.append(f"| {key} | {figures[key]:.2f} | ≥ {target} | {met} |")
    if "fp32_bare_vs_torch_bare" in figures:
        lines.append(
            f"| fp32_bare_vs_torch_bare | {figures['fp32_bare_vs_torch_bare']:.2f} | – | |"
        )
    load = figures["load_average_1_5_15_min"]
    lines += ["", f"load average (1, 5, 15 min): before {load['before']}, after each round "]
    lines[-1] += ", ".join(str(v) for v in load["after_each_round"])
    return "\n".join(lines)


def _cell(found: dict[str, Any] | None) -> str:
    if not found:
        return "–"
    return f"{found['median']:,.1f} ({found['min']:,.1f}–{found['max']:,.1f})"


def main(argv: list[str]) -> int:
    args = parse(argv)
    # Before torch loads: the worker sets the same (worker.app), so bare and e2e runs compare.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.runtimes_run import header, measure
    from benchmarks.stream_report import write
    from benchmarks.stream_texts import load_texts

    use_own_database("moodwatch_bench_runtimes")  # its workers' rows stay out of the user's tables

    texts = load_texts(args.posts)
    figures = header(args, argv, len(texts)) | measure(args, texts)
    write(figures, args.output)
    print(table(figures))
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
