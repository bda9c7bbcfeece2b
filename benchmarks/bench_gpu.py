"""The GPU benchmark behind `benchmarks/gpu.sh`: the quick and the full bundle in fp16 on CUDA;
bare posts/s by batch size, end-to-end posts/s through Kafka and PostgreSQL, and p99 latency at
half that rate. One JSON file. Without CUDA it writes a file that says so and measures nothing.

    .venv/bin/python -m benchmarks.bench_gpu --bundles models/default models/full \
        --output .cache/results/gpu.json
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.own_database import use_own_database

RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "results"
BATCH_SIZES = (1, 8, 32, 64, 128, 256)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", type=Path, nargs="+", default=[Path("models/default")])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--output", type=Path, default=RESULTS / "gpu.json")
    return parser.parse_args(argv)


def cuda_device() -> str | None:
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def measure_bundle(bundle: Path, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks import stream_inference as inference
    from benchmarks.stream_run import measure_latency, measure_worker, precision
    from model.predictor import EnsemblePredictor

    if not bundle.is_dir():
        return {"missing": True}
    predictor = EnsemblePredictor.load(bundle, "cuda")
    bare = {
        str(size): round(inference.bare(predictor, texts, size).per_s, 1) for size in BATCH_SIZES
    }
    worker = argparse.Namespace(
        bundle=bundle,
        device="cuda",
        cpu_runtime="bundle",
        batch_wait_ms=5,
        batch_size=256,
        profile=None,
        latency_seconds=args.latency_seconds,
    )
    log = args.output.with_suffix(".worker.log")
    e2e = measure_worker(worker, texts, 256, log).per_s
    latency = measure_latency(worker, texts, e2e / 2, log)
    return {
        "runs_as": precision(predictor),
        "bare_posts_per_s_by_batch": bare,
        "e2e_posts_per_s": round(e2e, 1),
        "latency_s": {k: round(float(v), 3) for k, v in latency.items()},
    }


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from benchmarks.stream_report import machine, write

    started = time.monotonic()
    device = cuda_device()
    figures: dict[str, Any] = {"command": " ".join(["benchmarks/gpu.sh", *argv]), "cuda": device}
    if device is None:
        figures["measured"] = False
        figures["note"] = "no CUDA device visible: GPU figures unmeasured"
    else:
        from benchmarks.stream_texts import load_texts

        use_own_database("moodwatch_bench_gpu")  # its workers' rows stay out of the user's
        texts = load_texts(args.posts)
        figures["machine"] = machine()
        figures["bundles"] = {str(b): measure_bundle(b, texts, args) for b in args.bundles}
        figures["measured"] = True
    figures["seconds"] = round(time.monotonic() - started, 1)
    write(figures, args.output)
    print(f"written to {args.output}: {figures.get('note', 'measured')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
