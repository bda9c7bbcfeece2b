"""`moodwatch relabel` throughput: stored posts labelled again by a bundle, rollups moved.

Stores `--posts` real texts through the worker's sink (labelled by a stand-in version) in a
database of its own (`moodwatch_bench_relabel`, dropped and re-created), then times
`worker.relabel.relabel` with `--bundle` loaded as the worker loads it, in chunks of
`--chunk-size`. Figures go to .cache/results/relabel.json, or --output.

    .venv/bin/python -m benchmarks.bench_relabel --bundle models/default --posts 2000
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine

from benchmarks.bench_storage import load
from benchmarks.bench_trend_query import create_database, superuser_sql
from schemas.settings import DatabaseSettings, WorkerSettings
from worker.relabel import Range, pending, relabel


def main() -> None:
    from worker.app import load_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=512)
    parser.add_argument("--database", default="moodwatch_bench_relabel")
    parser.add_argument("--output", type=Path, default=Path(".cache/results/relabel.json"))
    args = parser.parse_args()
    predictor = load_bundle(WorkerSettings(), args.bundle)
    db = DatabaseSettings(name=args.database)
    create_database(db, drop=True)
    engine = create_engine(db.url())
    try:
        load(engine, days=1, per_day=args.posts, now=datetime.now(UTC))
        started = time.monotonic()
        done = relabel(engine, predictor, Range(), args.chunk_size)
        seconds = time.monotonic() - started
        left = pending(engine, Range(), predictor.version)
    finally:
        engine.dispose()
        superuser_sql(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)', port=db.port)
    result = {
        "command": f"python -m benchmarks.bench_relabel --bundle {args.bundle} "
        f"--posts {args.posts} --chunk-size {args.chunk_size}",
        "machine": f"{platform.machine()}, {platform.processor() or '?'}",
        "bundle_version": predictor.version,
        "relabelled": done,
        "left": left,
        "seconds": seconds,
        "posts_per_s": done / seconds,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
