"""The dead-letter side path on in-memory fakes: bad input and refused rows, and the cap."""

import pytest
from prometheus_client import REGISTRY

from tests.unit.core_fakes import committed, post, rig
from worker.dead_letters import DeadLetterUnavailable, DlqLimitExceeded


def test_invalid_messages_are_dead_lettered_and_their_offsets_committed_with_the_batch() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), b"{not json", post("b"), None)
    r.stop_when_drained()
    before = REGISTRY.get_sample_value("moodwatch_dead_letters_total") or 0.0
    r.run()
    assert [(v, w.offset, reason[:12]) for v, w, reason in r.dlq.letters] == [
        (b"{not json", 1, "invalid JSON"),
        (None, 3, "empty value "),
    ]
    assert r.dlq.keys == [b"k0-1", b"k0-3"]  # the original key, for whoever replays them
    assert r.journal[-3:] == [("store", ["a", "b"]), ("dlq flush", 2), ("commit", {0: 4})]
    assert REGISTRY.get_sample_value("moodwatch_dead_letters_total") == before + 2


def test_a_batch_of_only_invalid_messages_commits_their_offsets_after_the_dead_letters() -> None:
    r = rig()
    r.consumer.produce(0, b"[]", b"{}")
    r.stop_when_drained()
    r.run()
    assert r.kinds() == ["dead letter", "dead letter", "dlq flush", "commit"]
    assert committed(r.consumer) == {0: 2} and r.sink.rows == {}


def test_a_row_the_database_rejects_alone_is_dead_lettered_not_raised() -> None:
    r = rig()
    r.consumer.produce(0, post("bad"))
    r.sink.refuse = {"bad"}
    r.stop_when_drained()
    r.run()
    [(value, where, reason)] = r.dlq.letters
    assert value == post("bad") and where.offset == 0 and r.dlq.keys == [b"k0-0"]
    assert reason == "database: DataError: value out of range"
    assert r.sink.writes == 1  # no second try of a row already refused
    assert r.kinds() == ["dead letter", "dlq flush", "commit"]
    assert committed(r.consumer) == {0: 1}


def test_a_rejected_row_among_others_is_dead_lettered_and_the_rest_stored() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), post("bad"), post("c"))
    r.sink.refuse = {"bad"}
    r.stop_when_drained()
    stored = REGISTRY.get_sample_value("moodwatch_posts_stored_total") or 0.0
    r.run()
    assert sorted(r.sink.rows) == ["a", "c"]
    assert REGISTRY.get_sample_value("moodwatch_posts_stored_total") == stored + 2
    assert [reason for _, _, reason in r.dlq.letters] == ["database: DataError: value out of range"]
    assert r.kinds()[-2:] == ["dlq flush", "commit"]
    assert committed(r.consumer) == {0: 3}


def test_a_batch_the_database_takes_is_written_in_one_go() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), post("b"))
    r.stop_when_drained()
    r.run()
    assert r.sink.writes == 1


def test_the_dead_letter_cap_stops_the_core_without_committing_the_bad_batch() -> None:
    r = rig(max_size=4, dlq_ratio=0.5, dlq_window=4)
    r.consumer.produce(0, *(post(f"ok{n}") for n in range(4)))
    r.consumer.produce(0, *(b"{bad" for _ in range(4)))
    with pytest.raises(DlqLimitExceeded, match="MOODWATCH_WORKER_DLQ_MAX_RATIO"):
        r.run()
    assert committed(r.consumer) == {0: 4}  # the good batch before it, not a record more
    r.consumer.close()  # kafka-python revokes on close: that must not commit the bad batch
    assert committed(r.consumer) == {0: 4}
    assert "dlq flush" not in [kind for kind, _ in r.journal[-3:]]


def test_refused_rows_count_against_the_dead_letter_cap() -> None:
    r = rig(max_size=2, dlq_ratio=0.3, dlq_window=2)
    r.consumer.produce(0, post("a"), post("bad"))
    r.sink.refuse = {"bad"}
    with pytest.raises(DlqLimitExceeded):
        r.run()
    assert committed(r.consumer) == {}


def test_undeliverable_dead_letters_stop_the_core_with_the_batch_uncommitted() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), b"{bad")
    r.dlq.unavailable = True
    r.stop_when_drained()
    with pytest.raises(DeadLetterUnavailable):
        r.run()
    assert committed(r.consumer) == {}
    r.consumer.close()
    assert committed(r.consumer) == {}
