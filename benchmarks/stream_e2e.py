"""End to end through a real `moodwatch worker`: Kafka -> worker -> PostgreSQL.

Throughput is read from the rows themselves: `processed_at` is the start of each batch's
transaction, so (rows after the first batch) / (last start - first start) excludes the start-up
of the worker and its group join. Redis is off: the texts are distinct, and a cache warmed by a
previous run would flatter the figures.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer
from sqlalchemy import Engine, text

from devstack.streams import Stream
from producer.send import RateSchedule

REPO = Path(__file__).resolve().parents[1]

POLL_S = 0.5


@dataclass(frozen=True)
class WorkerRun:
    posts: int
    seconds: float  # from the first batch's transaction to the last one's
    first_batch: int

    @property
    def per_s(self) -> float:
        return (self.posts - self.first_batch) / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def worker(
    stream: Stream, bundle: Path, log: Path, prefix: Sequence[str] = (), **settings: str
) -> Iterator[None]:
    """A worker process on the stream's topic (under `prefix`, e.g. a profiler); SIGTERM at the
    end, to the worker itself when a prefix launched it."""
    env = {
        **os.environ,
        **stream.env(),
        "MOODWATCH_WORKER_BUNDLE_PATH": str(bundle),
        "MOODWATCH_WORKER_METRICS_PORT": "0",
        "MOODWATCH_REDIS_ENABLED": "false",
        **{f"MOODWATCH_WORKER_{k.upper()}": v for k, v in settings.items()},
    }
    command = [*prefix, sys.executable, "-m", "cli", "worker"]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=sink)
    try:
        yield
    finally:
        os.kill(_child(process.pid) if prefix else process.pid, signal.SIGTERM)
        process.wait(timeout=120)


def _child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def produce(stream: Stream, texts: Sequence[str], rate: float = 0.0) -> None:
    """One post per text; `created_at` is the send time (rate 0: as fast as possible)."""
    producer = KafkaProducer(bootstrap_servers=stream.kafka.bootstrap_servers, linger_ms=0)
    schedule = RateSchedule(rate)
    try:
        for n, body in enumerate(texts):
            schedule.wait()
            post = {
                "id": f"{stream.source}-{n}",
                "text": body,
                "source": stream.source,
                "created_at": datetime.now(UTC).isoformat(),
            }
            producer.send(
                stream.kafka.topic, key=post["id"].encode(), value=json.dumps(post).encode()
            )
        producer.flush()
    finally:
        producer.close()


def await_rows(engine: Engine, source: str, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while count_rows(engine, source) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(
                f"only {count_rows(engine, source)}/{expected} rows after {timeout_s}s"
            )
        time.sleep(POLL_S)  # a cheap poll, so the benchmark takes no CPU from the worker


def count_rows(engine: Engine, source: str) -> int:
    with engine.connect() as connection:
        query = text("SELECT count(*) FROM posts WHERE source = :s")
        return int(connection.execute(query, {"s": source}).scalar_one())


def throughput(engine: Engine, source: str) -> WorkerRun:
    query = text(
        "SELECT count(*), extract(epoch FROM max(processed_at) - min(processed_at)),"
        " count(*) FILTER (WHERE processed_at = (SELECT min(processed_at) FROM posts"
        " WHERE source = :s)) FROM posts WHERE source = :s"
    )
    with engine.connect() as connection:
        rows, seconds, first = connection.execute(query, {"s": source}).one()
    return WorkerRun(int(rows), float(seconds or 0.0), int(first))


def latencies(engine: Engine, source: str) -> list[float]:
    """Seconds from the send (created_at) to the row's transaction (processed_at)."""
    query = text(
        "SELECT extract(epoch FROM processed_at - created_at) FROM posts WHERE source = :s"
    )
    with engine.connect() as connection:
        return [float(v) for v in connection.execute(query, {"s": source}).scalars()]


def forget(engine: Engine, stream: Stream) -> None:
    """Remove the benchmark's rows and rollup counts, so dashboards never see them."""
    with engine.begin() as connection:
        for table in ("posts", "emotion_rollup"):
            connection.execute(text(f"DELETE FROM {table} WHERE source = :s"), {"s": stream.source})
