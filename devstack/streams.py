"""Private streams for tests and benchmarks: a topic, a dead-letter topic and a consumer group
of their own on the local broker, so that nothing they produce reaches the user's `posts`."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from schemas.settings import KafkaSettings

CREATED: list[tuple[str, str]] = []  # (bootstrap servers, topic): for whoever cleans up


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
