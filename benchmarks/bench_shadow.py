"""The cost of a candidate bundle in shadow: the worker's labelling step with and without it.

Labels `--posts` distinct real texts (no cache hit can flatter either side; the Redis cache is
off) in batches of 256, as the worker's Label step does, once with the live bundle alone and
once with `worker.shadow.ShadowLabeller` adding the candidate, alternating `--rounds` times;
both bundles are loaded as the worker loads them (`worker.app.load_bundle`, this machine's
MOODWATCH_WORKER_* settings). Storing is left out: its extra upsert is measured by the stream
tests, and inference is what doubles. Figures go to .cache/results/shadow.json, or --output.

    .venv/bin/python -m benchmarks.bench_shadow --bundle models/default --candidate DIR
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.stream_texts import load_texts
from model.passes import INFERENCE_BATCH_SIZE
from schemas.messages import PostMessage
from schemas.settings import RedisSettings, WorkerSettings
from worker.core.steps import Labels
from worker.decode import Coordinates, DecodedPost
from worker.labeller import Labeller
from worker.redis_side import RedisSide
from worker.shadow import ShadowLabeller

BATCH = 256


def decoded(texts: Sequence[str]) -> list[DecodedPost]:
    now = datetime.now(UTC)
    return [
        DecodedPost(PostMessage(id=str(n), text=t), now, Coordinates("posts", 0, n), None, b"")
        for n, t in enumerate(texts)
    ]


def posts_per_s(labeller: Labels, posts: Sequence[DecodedPost]) -> float:
    started = time.perf_counter()
    for first in range(0, len(posts), BATCH):
        labeller.label(posts[first : first + BATCH])
    return len(posts) / (time.perf_counter() - started)


def main() -> None:
    from worker.app import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--candidate", type=Path, required=True)
    parser.add_argument("--posts", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path(".cache/results/shadow.json"))
    args = parser.parse_args()
    settings = WorkerSettings()
    live, candidate = load_bundle(settings, args.bundle), load_bundle(settings, args.candidate)
    no_cache = RedisSide(RedisSettings(enabled=False), live.version)
    alone = Labeller(live, no_cache, INFERENCE_BATCH_SIZE)
    shadowed = ShadowLabeller(alone, candidate, INFERENCE_BATCH_SIZE)
    posts = decoded(load_texts(args.posts))
    posts_per_s(alone, posts[:BATCH])  # warm-up: first-call allocations on both sides
    posts_per_s(shadowed, posts[:BATCH])
    rates: dict[str, list[float]] = {"live": [], "live+shadow": []}
    for _ in range(args.rounds):
        rates["live"].append(posts_per_s(alone, posts))
        rates["live+shadow"].append(posts_per_s(shadowed, posts))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    # Each round's pair ran back to back: its ratio is the least disturbed by other load.
    paired = [s / a for a, s in zip(rates["live"], rates["live+shadow"], strict=True)]
    result = {
        "command": f"python -m benchmarks.bench_shadow --bundle {args.bundle} "
        f"--candidate {args.candidate} --posts {args.posts} --rounds {args.rounds}",
        "machine": f"{platform.machine()}, {platform.processor() or '?'}",
        "live_version": live.version,
        "candidate_version": candidate.version,
        "posts_per_s": rates,
        "median_posts_per_s": medians,
        "paired_ratios": paired,
        "shadow_throughput_ratio": statistics.median(paired),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
