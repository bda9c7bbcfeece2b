"""`moodwatch dlq`: the dead letters, one line each, read without joining a consumer group.

The worker stores a dead letter's reason and original coordinates in its headers
(worker/dead_letters.py) and the original bytes as its value. Partitions are assigned, not
subscribed, so reading commits nothing and disturbs no group.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from schemas.settings import KafkaSettings
from worker.dead_letters import OFFSET_HEADER, PARTITION_HEADER, REASON_HEADER, TOPIC_HEADER
from worker.startup import kafka_logs_quiet, kafka_unreachable

BOOTSTRAP_TIMEOUT_MS = 10_000
POLL_MS = 500
STALL_S = 30.0  # no record for this long though the end offsets say more exist: give up
VALUE_CHARS = 80
REASON_CHARS = 160


@dataclass(frozen=True)
class DeadLetter:
    timestamp_ms: int
    origin: str  # topic/partition@offset of the original message
    reason: str
    value: bytes

    @classmethod
    def from_record(cls, record: Any) -> "DeadLetter":
        headers = {key: raw.decode("utf-8", "replace") for key, raw in record.headers or []}
        origin = "{}/{}@{}".format(
            headers.get(TOPIC_HEADER, "?"),
            headers.get(PARTITION_HEADER, "?"),
            headers.get(OFFSET_HEADER, "?"),
        )
        reason = headers.get(REASON_HEADER, "(no reason header)")
        return cls(record.timestamp, origin, reason, record.value or b"")

    def line(self) -> str:
        when = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)
        reason = " ".join(self.reason.split())[:REASON_CHARS]  # one line per dead letter
        preview = self.value.decode("utf-8", "replace")[:VALUE_CHARS]
        return f"{when:%Y-%m-%dT%H:%M:%SZ}  {self.origin}  {reason}  {preview!r}"


def open_consumer(kafka: KafkaSettings) -> Any:
    try:
        with kafka_logs_quiet():
            return KafkaConsumer(
                bootstrap_servers=kafka.bootstrap_servers,
                group_id=None,
                client_id="moodwatch-dlq-reader",
                enable_auto_commit=False,
                allow_auto_create_topics=False,  # reading must not create the topic
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
            )
    except KafkaError as exc:
        raise kafka_unreachable(kafka.bootstrap_servers, exc) from exc


def read_last(consumer: Any, topic: str, limit: int) -> list[DeadLetter]:
    """The newest `limit` dead letters over all partitions (0 = all), oldest first.

    Leaves the consumer assigned at the end of each partition (for following).
    """
    partitions = consumer.partitions_for_topic(topic) or set()
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    if not assigned:  # no such topic: nothing was ever dead-lettered
        return []
    consumer.assign(assigned)
    ends = consumer.end_offsets(assigned)
    starts = consumer.beginning_offsets(assigned)
    for tp in assigned:  # the newest N of each partition hold the newest N of all
        consumer.seek(tp, max(starts[tp], ends[tp] - limit) if limit else starts[tp])
    letters: list[DeadLetter] = []
    pending = {tp for tp in assigned if consumer.position(tp) < ends[tp]}
    last_progress = time.monotonic()
    while pending and time.monotonic() - last_progress < STALL_S:
        for records in consumer.poll(timeout_ms=POLL_MS).values():
            letters += [DeadLetter.from_record(record) for record in records]
            last_progress = time.monotonic()
        pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
    letters.sort(key=lambda letter: letter.timestamp_ms)
    return letters[-limit:] if limit else letters


def follow_new(consumer: Any, echo: Callable[[str], None]) -> None:
    """Print dead letters as they arrive, until Ctrl-C."""
    try:
        while True:
            for records in consumer.poll(timeout_ms=POLL_MS).values():
                for record in records:
                    echo(DeadLetter.from_record(record).line())
    except KeyboardInterrupt:
        return


def show_dead_letters(
    kafka: KafkaSettings, limit: int, follow: bool, echo: Callable[[str], None]
) -> None:
    consumer = open_consumer(kafka)
    try:
        letters = read_last(consumer, kafka.dlq_topic, max(0, limit))
        for letter in letters:
            echo(letter.line())
        if not letters:
            echo(f"no dead letters in {kafka.dlq_topic}")
        if follow and consumer.assignment():
            follow_new(consumer, echo)
    finally:
        consumer.close()
