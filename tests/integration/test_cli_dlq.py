"""`moodwatch dlq` on a private dead-letter topic: what, why and from where, one line each."""

import pytest
from kafka import KafkaProducer

from schemas.exit_codes import ExitCode
from schemas.settings import ServicesSettings
from tests.integration.streaming import Stream
from tests.unit.test_cli_errors import assert_short_error, run_cli
from worker.dead_letters import DeadLetterQueue
from worker.decode import Coordinates

pytestmark = pytest.mark.integration


def _dead_letter(stream: Stream, letters: list[tuple[bytes, int, str]]) -> None:
    """Written as the worker writes them (worker.dead_letters)."""
    producer = KafkaProducer(bootstrap_servers=stream.kafka.bootstrap_servers, acks="all")
    try:
        queue = DeadLetterQueue(producer, stream.kafka.dlq_topic)
        for value, offset, reason in letters:
            queue.send(b"k", value, Coordinates(stream.kafka.topic, 2, offset), reason)
        queue.flush()
    finally:
        producer.close()


def test_both_dead_letters_with_their_reasons_and_origins(services: ServicesSettings) -> None:
    stream = Stream.fresh()
    _dead_letter(
        stream,
        [
            (b"not json at all " * 20, 17, "not valid JSON: Expecting value"),
            (b'{"id": "a1"}', 18, "field text: Field required"),
        ],
    )
    result = run_cli("dlq", **stream.env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2, result.stdout
    assert f"{stream.kafka.topic}/2@17" in lines[0] and "not valid JSON" in lines[0]
    assert f"{stream.kafka.topic}/2@18" in lines[1] and "field text: Field required" in lines[1]
    assert "'not json at all " in lines[0] and len(lines[0]) < 400  # the value, cut short

    newest = run_cli("dlq", "--limit", "1", **stream.env())
    assert newest.stdout.strip().splitlines() == lines[1:]


def test_none_is_said_and_exit_0(services: ServicesSettings) -> None:
    stream = Stream.fresh()
    result = run_cli("dlq", **stream.env())
    assert result.returncode == 0
    assert result.stdout.strip() == f"no dead letters in {stream.kafka.dlq_topic}"


def test_unreachable_kafka_is_exit_7() -> None:
    result = run_cli("dlq", MOODWATCH_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    lines = assert_short_error(result, ExitCode.SERVICE_UNREACHABLE)
    assert "127.0.0.1:1" in lines[0] and "services up" in lines[1]
