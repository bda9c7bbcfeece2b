"""Scenario 8: bad input of every class is stored safely or dead-lettered with a reason; the
worker never dies. Ten-megabyte values need a topic that accepts them (see the last test)."""

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError
from sqlalchemy import Engine, text

from tests.faults.bad_inputs import TEN_MB, Case, Catalogue
from tests.faults.checks import assert_exactly_once, dead_letters, post_json, produce_records
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

MAX_MESSAGE = 12 * 1024 * 1024  # the test topic's max.message.bytes, above the 1 MB default


def _records(
    stream: Stream, cases: list[Case]
) -> tuple[list[tuple[bytes | None, bytes | None]], dict[int, Case], list[str]]:
    """Each case between two valid posts, one partition: offset n is record n."""
    records: list[tuple[bytes | None, bytes | None]] = []
    at_offset: dict[int, Case] = {}
    valid_ids: list[str] = []
    for n, case in enumerate(cases):
        for k in (2 * n, 2 * n + 1):
            if k % 2:
                at_offset[len(records)] = case
                records.append((case.name.encode(), case.value))
            else:
                records.append((None, post_json(stream, k)))
                valid_ids.append(f"{stream.source}-{k}")
    return records, at_offset, valid_ids


def _stored_texts(engine: Engine, ids: list[str]) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT post_id, text FROM posts WHERE post_id = ANY(:ids)"), {"ids": ids}
        ).all()
    return {post_id: body for post_id, body in rows}


def test_every_class_of_bad_input_is_stored_safely_or_dead_lettered(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    topic_configs = {"max.message.bytes": str(MAX_MESSAGE)}
    stream = Stream.fresh(partitions=1, base=stack.kafka, topic_configs=topic_configs)
    catalogue = Catalogue(stream.source)
    cases = catalogue.cases() + catalogue.duplicates()
    records, at_offset, valid_ids = _records(stream, cases)
    produce_records(stream, records, max_request_size=MAX_MESSAGE)
    worker = workers.start(stream, settings={"batch_max_size": "16"})
    wait_for(lambda: stream.committed() == len(records), timeout=180, what="all committed")

    dead = {offset: case for offset, case in at_offset.items() if not case.stored}
    letters = dead_letters(stream, expected=len(dead) + 1, timeout_s=10)
    reasons = {int(x["headers"]["source_offset"]): x["headers"]["reason"] for x in letters}
    assert sorted(reasons) == sorted(dead), "dead letters differ from the refused cases"
    for offset, case in dead.items():
        assert case.detail in reasons[offset], f"{case.name}: reason {reasons[offset]!r}"
    big = next(x for x in letters if "truncated_from" in x["headers"])
    assert int(big["headers"]["truncated_from"]) > TEN_MB

    kept = [case for case in at_offset.values() if case.stored]
    texts = _stored_texts(engine, [case.post_id for case in kept])
    for case in kept:
        assert texts.get(case.post_id) == case.detail, case.name
    assert_exactly_once(engine, stream.source, valid_ids + list({c.post_id for c in kept}))
    assert worker.alive()
    assert worker.stop() == 0


def test_ten_megabytes_on_a_default_topic_is_refused_with_a_clear_error(
    stack: FaultStack,
) -> None:
    """Without a larger max.message.bytes the producer (then the broker) refuses: nothing to
    dead-letter, because such a record never reaches the topic."""
    stream = Stream.fresh(partitions=1, base=stack.kafka)
    value = b"x" * TEN_MB
    producer = KafkaProducer(bootstrap_servers=stream.kafka.bootstrap_servers)
    try:
        with pytest.raises(MessageSizeTooLargeError, match="max_request_size"):
            producer.send(stream.kafka.topic, value=value).get(timeout=30)
    finally:
        producer.close()
    producer = KafkaProducer(
        bootstrap_servers=stream.kafka.bootstrap_servers,
        max_request_size=MAX_MESSAGE,
    )
    try:
        with pytest.raises(KafkaError):
            producer.send(stream.kafka.topic, value=value).get(timeout=30)
    finally:
        producer.close()
