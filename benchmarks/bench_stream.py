"""`make bench-stream`: bare inference vs. pipeline, end to end vs. bare, micro-batching vs. one
at a time, and post-to-row latency at half capacity; a table, and figures in JSON.

The figures go to `--output` (default .cache/results/stream.json, untracked, with the worker's
log beside it); the committed ones in benchmarks/results are written only when that is the
path asked for (`make bench-stream REFRESH=1`).

    .venv/bin/python -m benchmarks.bench_stream --bundle models/default
    .venv/bin/python -m benchmarks.bench_stream --cpu-runtime torch --batch-wait-ms 5 \
        --output .cache/results/stream-torch.json        # torch fp32, as before ONNX Runtime
    .venv/bin/python -m benchmarks.bench_stream --bundle /tmp/tiny --posts 256 --quick
    .venv/bin/python -m benchmarks.bench_stream --batch-wait-ms 100 \
        --latency-at 130 --output /tmp/latency.json    # latency alone, at a chosen rate
"""

import argparse
import os
import sys
from pathlib import Path

from benchmarks.own_database import use_own_database

# Untracked: a plain run never rewrites the committed figures in benchmarks/results.
RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--posts", type=int, default=2000, help="texts for bare and end to end")
    parser.add_argument("--pipeline-posts", type=int, default=500, help="texts for pipelines")
    parser.add_argument("--single-posts", type=int, default=300, help="one-at-a-time run")
    parser.add_argument(
        "--batch-size", type=int, default=256, help="the worker's MOODWATCH_WORKER_BATCH_MAX_SIZE"
    )
    parser.add_argument("--batch-wait-ms", type=int, help="MOODWATCH_WORKER_BATCH_MAX_WAIT_MS")
    parser.add_argument(
        "--cpu-runtime",
        default="bundle",
        choices=["bundle", "torch", "onnx-fp32", "onnx-int8"],
        help="MOODWATCH_WORKER_CPU_RUNTIME (bundle: as its manifest says)",
    )
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument(
        "--latency-at", type=float, metavar="POSTS_PER_S", help="only the latency, at this rate"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS / "stream.json",
        help="JSON figures (default: .cache/results/stream.json; benchmarks/results/... "
        "refreshes the committed ones)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the end-to-end worker into DIR")
    parser.add_argument("--quick", action="store_true", help="skip the pipelines")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds of pipeline vs. bare (median)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    # Before torch loads (so imports come after): the worker sets the same (worker.app), and
    # bare and end-to-end figures must run under the same OpenMP policy.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.stream_report import table, write
    from benchmarks.stream_run import run

    use_own_database("moodwatch_bench_stream")  # its workers' rows stay out of the user's tables

    figures = run(args, argv)
    write(figures, args.output)
    print(table(figures))
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
