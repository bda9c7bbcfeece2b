"""`make bench-shares`: how well the stream's shares tell how much of each emotion there is.

`ood_dev` (1,999 human-labelled Reddit posts, never trained on) is produced to a private topic
and labelled by a real `moodwatch worker` into the benchmark's own database
(`moodwatch_bench_shares`, so no dashboard sees it). From the hourly rollup it reads, per
emotion, the counted share (posts labelled with it / posts) and the expected share (its summed
probability / posts), and compares both with the true share of the human labels.

    .venv/bin/python -m benchmarks.bench_shares --bundle models/default
    .venv/bin/python -m benchmarks.bench_shares --bundle /tmp/bundles/b --output /tmp/shares.json
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from benchmarks import stream_e2e as e2e
from benchmarks.own_database import own_database
from benchmarks.stream_report import machine
from devstack.streams import Stream
from schemas.emotions import LABELS
from schemas.rollups import TIER_OF_GRAIN, counts_sql
from schemas.settings import DatabaseSettings

RESULTS = Path(__file__).resolve().parents[1] / ".cache" / "results"
OOD_DEV = "ood_dev/ood_dev.jsonl"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/default"))
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--database", default="moodwatch_bench_shares")
    parser.add_argument("--output", type=Path, default=RESULTS / "shares.json")
    return parser.parse_args(argv)


def read_ood_dev(data_dir: Path) -> tuple[list[str], list[int]]:
    rows = [json.loads(line) for line in (data_dir / OOD_DEV).read_text().splitlines() if line]
    return [row["text"] for row in rows], [int(row["label"]) for row in rows]


def stored_shares(engine: Engine, source: str) -> dict[str, tuple[int, float]]:
    """Per emotion: (posts labelled with it, its summed probability), from the hourly rollup."""
    sql = counts_sql(None, [(TIER_OF_GRAIN["hour"], "source = :source")], expected=True)
    with engine.connect() as connection:
        rows = connection.execute(text(sql), {"source": source}).all()
    return {str(label): (int(posts), float(mass)) for label, posts, mass in rows}


def share_errors(stored: dict[str, tuple[int, float]], labels: list[int]) -> dict[str, Any]:
    total = len(labels)
    figures: dict[str, Any] = {}
    for index, emotion in enumerate(LABELS):
        posts, mass = stored.get(emotion, (0, 0.0))
        true = labels.count(index) / total
        counted, expected = posts / total, mass / total
        figures[emotion] = {
            "true": round(true, 4),
            "counted": round(counted, 4),
            "expected": round(expected, 4),
            "counted_error": round(abs(counted - true), 4),
            "expected_error": round(abs(expected - true), 4),
        }
    per = [figures[emotion] for emotion in LABELS]
    figures["mean"] = {
        key: round(sum(f[key] for f in per) / len(per), 4)
        for key in ("counted_error", "expected_error")
    }
    return figures


def replay(db: DatabaseSettings, bundle: Path, texts: list[str]) -> tuple[Stream, float]:
    """Produce the texts, let a worker store them all; the stream and the seconds it took."""
    engine = create_engine(db.url())
    stream = Stream.fresh(partitions=2)
    os.environ["MOODWATCH_DB_NAME"] = db.name  # the worker writes into the benchmark's database
    began = time.monotonic()
    try:
        e2e.produce(stream, texts)
        log = Path(tempfile.mkdtemp(prefix="bench-shares-")) / "worker.log"
        with e2e.worker(stream, bundle, log, batch_max_size="64"):
            e2e.await_rows(engine, stream.source, len(texts), timeout_s=1200)
    finally:
        engine.dispose()
    return stream, time.monotonic() - began


def table(figures: dict[str, Any]) -> str:
    lines = ["emotion    true  counted expected |counted-true| |expected-true|"]
    for emotion in LABELS:
        f = figures[emotion]
        lines.append(
            f"{emotion:9s} {f['true']:.4f} {f['counted']:.4f}  {f['expected']:.4f}"
            f"   {f['counted_error']:.4f}         {f['expected_error']:.4f}"
        )
    mean = figures["mean"]
    lines.append(f"mean{'':31s}{mean['counted_error']:.4f}         {mean['expected_error']:.4f}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    args = parse(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    db = own_database(args.database)
    texts, labels = read_ood_dev(args.data_dir)
    stream, seconds = replay(db, args.bundle, texts)
    engine = create_engine(db.url())
    try:
        figures = share_errors(stored_shares(engine, stream.source), labels)
    finally:
        engine.dispose()
    result = {
        "command": "python -m benchmarks.bench_shares " + " ".join(argv),
        "bundle": str(args.bundle),
        "manifest_version": json.loads((args.bundle / "manifest.json").read_text())["version"],
        "posts": len(texts),
        "replay_seconds": round(seconds, 1),
        "machine": machine(),
        "shares": figures,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(figures))
    print(f"\nwritten to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
