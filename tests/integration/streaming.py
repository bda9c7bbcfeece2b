"""Helpers for streaming tests: unique topics, producing posts, awaiting conditions, SQL checks."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError
from kafka.structs import TopicPartition
from sqlalchemy import Engine, text

from schemas.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[2]


WATCHED: list[tuple[subprocess.Popen[bytes], Path]] = []  # workers whose death fails a wait
CREATED: list[tuple[str, str]] = []  # (bootstrap servers, topic): deleted after the session


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline,
    or at once when a watched worker process died unexpectedly."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        result = condition()
        if result:
            return result
        for process, log in WATCHED:
            if process.poll() not in (None, 0):
                tail = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"worker exited {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)  # polling interval of an awaited condition, not synchronisation
        delay = min(delay * 1.5, 0.5)


@dataclass
class Stream:
    """One test's private topic, dead-letter topic, consumer group and `source` tag."""

    kafka: KafkaSettings
    source: str

    @classmethod
    def fresh(
        cls,
        partitions: int = 3,
        base: KafkaSettings | None = None,
        topic_configs: dict[str, str] | None = None,
    ) -> "Stream":
        """New topics on `base`'s brokers (default: the environment's); `topic_configs` are
        broker settings of the posts topic, e.g. a larger `max.message.bytes`."""
        tag = uuid.uuid4().hex[:10]
        base = base or KafkaSettings()
        kafka = base.model_copy(
            update={
                "topic": f"t-{tag}",
                "dlq_topic": f"t-{tag}.dlq",
                "group_id": f"g-{tag}",
                "partitions": partitions,
            }
        )
        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        try:
            admin.create_topics(
                [
                    NewTopic(kafka.topic, partitions, 1, topic_configs=topic_configs or {}),
                    NewTopic(kafka.dlq_topic, 1, 1),
                ]
            )
        finally:
            admin.close()
        CREATED.extend((kafka.bootstrap_servers, t) for t in (kafka.topic, kafka.dlq_topic))
        return cls(kafka=kafka, source=f"test-{tag}")

    def env(self) -> dict[str, str]:
        return {
            "MOODWATCH_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "MOODWATCH_KAFKA_TOPIC": self.kafka.topic,
            "MOODWATCH_KAFKA_DLQ_TOPIC": self.kafka.dlq_topic,
            "MOODWATCH_KAFKA_GROUP_ID": self.kafka.group_id,
        }

    def post(self, n: int, text: str | None = None) -> dict[str, Any]:
        return {
            "id": f"{self.source}-{n}",
            "text": text or f"post number {n}: i feel so happy and loved today",
            "source": self.source,
            "created_at": f"2026-11-20T10:{n % 60:02d}:00Z",
        }

    def produce(self, values: list[bytes | dict[str, Any]], keys: list[str] | None = None) -> None:
        producer = KafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers, acks="all")
        try:
            for i, value in enumerate(values):
                raw = value if isinstance(value, bytes) else json.dumps(value).encode()
                key = (keys[i] if keys else str(i)).encode()
                producer.send(self.kafka.topic, key=key, value=raw)
            producer.flush()
        finally:
            producer.close()

    def produce_posts(self, numbers: range) -> None:
        self.produce([self.post(n) for n in numbers], [f"{self.source}-{n}" for n in numbers])

    def committed(self) -> int:
        """Sum of the group's committed offsets over the topic's partitions."""
        admin = KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers)
        try:
            offsets = admin.list_group_offsets(self.kafka.group_id).get(self.kafka.group_id, {})
        except KafkaError:  # the group's coordinator is still being elected: nothing yet
            return -1
        finally:
            admin.close()
        return sum(
            meta.offset
            for tp, meta in offsets.items()
            if isinstance(tp, TopicPartition) and tp.topic == self.kafka.topic
        )


def stored(engine: Engine, source: str) -> tuple[int, int, int]:
    """(rows, distinct ids, rollup total) for one test's source tag."""
    with engine.connect() as connection:
        rows, ids = connection.execute(
            text("SELECT count(*), count(DISTINCT post_id) FROM posts WHERE source = :s"),
            {"s": source},
        ).one()
        rollup = connection.execute(
            text("SELECT coalesce(sum(posts), 0) FROM emotion_rollup WHERE source = :s"),
            {"s": source},
        ).scalar_one()
    return int(rows), int(ids), int(rollup)


@contextmanager
def worker_process(
    stream: Stream, bundle: Path, log: Path, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `moodwatch worker` as a real process on the test's topic; SIGTERM it at the end.

    Its structured log goes to `log` (a pipe could fill up and block the worker).
    """
    env = {
        **os.environ,
        **stream.env(),
        "MOODWATCH_WORKER_BUNDLE_PATH": str(bundle),
        "MOODWATCH_WORKER_METRICS_PORT": "0",
        "MOODWATCH_WORKER_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        **{f"MOODWATCH_WORKER_{k.upper()}": v for k, v in settings.items()},
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker"], cwd=REPO, env=env, stderr=sink
        )
    WATCHED.append((process, log))
    try:
        yield process
    finally:
        WATCHED.remove((process, log))
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
