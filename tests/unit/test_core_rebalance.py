"""Rebalances on in-memory fakes: the revocation runs the same chain as a normal flush, from
inside poll, without a blocking call; what it cannot store it rewinds."""

import pytest
import structlog
from kafka.errors import CommitFailedError

from tests.unit.core_fakes import committed, post, rig
from worker.dead_letters import DlqLimitExceeded


def test_a_revoked_partitions_open_batch_is_stored_and_committed_before_it_moves() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"), post("b"))
    r.consumer.produce(1, post("c"))
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([0, 1], [0]))
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()  # the fake refuses commit, position and poll inside the callback, as kafka does
    assert r.journal == [
        ("store", ["a", "b", "c"]),
        ("dlq flush", 0),
        ("commit_async", {0: 2, 1: 1}),
    ]
    [note] = [e for e in logs if e["event"] == "stored at revocation"]
    assert (note["posts"], note["new_rows"]) == (3, 3)
    assigned = [e["partitions"] for e in logs if e["event"] == "partitions assigned"]
    assert assigned == [["posts-0"]]


def test_a_revocation_with_nothing_open_commits_nothing() -> None:
    r = rig()
    r.consumer.produce(0, post("a"))
    r.when(lambda: bool(r.sink.rows), lambda: r.consumer.rebalance([0], [0]))
    r.stop_when_drained()
    r.run()
    assert r.kinds() == ["store", "dlq flush", "commit"]


def test_the_store_down_at_revocation_rewinds_the_partitions_and_commits_nothing() -> None:
    r = rig(partitions=3)
    r.consumer.produce(0, post("a"), post("b"))
    r.consumer.produce(1, post("c"))
    r.sink.down = True
    during: list[dict[int, int]] = []
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([0, 1, 2], [0]))
    r.when(lambda: r.sink.failures == 1, lambda: during.append(committed(r.consumer)))
    r.when(lambda: r.sink.failures == 1, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert during == [{}]
    # partition 2 had nothing in the batch: its position stays where it is
    assert sorted(o for kind, o in r.journal if kind == "seek") == [(0, 0), (1, 0)]
    [gave_up] = [e for e in logs if e["event"] == "revoked before storing; the new owner re-reads"]
    assert gave_up["error"] == "OperationalError: connection refused"
    assert sorted(r.sink.rows) == ["a", "b"]  # partition 0 read again; 1 is another's now
    assert committed(r.consumer) == {0: 2}


def test_undeliverable_dead_letters_at_revocation_rewind_and_commit_nothing() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), b"{bad")
    r.dlq.unavailable = True
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([0], [0]))
    r.when(lambda: ("seek", (0, 0)) in r.journal, lambda: setattr(r.dlq, "unavailable", False))
    r.stop_when_drained()
    r.run()
    assert committed(r.consumer) == {0: 2}
    assert r.kinds().count("commit_async") == 0
    assert len(r.dlq.letters) == 2  # sent again after the rewind: at least once


def test_only_the_revoked_partitions_are_forgotten_and_the_rest_still_flushes_on_time() -> None:
    r = rig(partitions=2, max_wait_s=10.0)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"))
    r.sink.down = True
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([1], []))
    r.when(lambda: len(r.consumer.timeouts) == 4, lambda: setattr(r.sink, "down", False))
    r.when(lambda: r.clock.now >= 130, r.stop.set)
    r.run()
    assert sorted(r.sink.rows) == ["a"]
    assert committed(r.consumer) == {0: 1}
    assert r.consumer.commit_times == [110.0]  # opened at 100, due at 110


def test_successive_revocations_that_cannot_store_each_rewind_to_the_first_open_offset() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"))
    r.sink.down = True
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([1], []))
    r.when(lambda: len(r.consumer.timeouts) == 5, lambda: r.consumer.rebalance([0], [0]))
    r.when(lambda: len(r.consumer.timeouts) == 7, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert [o for kind, o in r.journal if kind == "seek"] == [(1, 0), (0, 0)]
    assert r.labeller.batches[-1] == ["a"]  # read again after the rewind
    assert committed(r.consumer) == {0: 1}


def test_lost_partitions_are_rewound_and_forgotten_without_a_commit() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"), post("c"))
    r.when(
        lambda: len(r.consumer.timeouts) == 3,
        lambda: r.consumer.rebalance([0, 1], [1], lost=True),
    )
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert "commit_async" not in r.kinds()
    assert ("seek", (0, 0)) in r.journal and ("seek", (1, 0)) in r.journal
    assert sorted(r.sink.rows) == ["b", "c"]  # partition 1 came back and was read again
    assert committed(r.consumer) == {1: 2}
    [lost] = [e for e in logs if e["event"] == "partitions lost"]
    assert sorted(lost["partitions"]) == ["posts-0", "posts-1"]


def test_the_dead_letter_cap_reached_at_revocation_stops_the_core_once_poll_returns() -> None:
    r = rig(dlq_ratio=0.4, dlq_window=2)
    r.consumer.produce(0, post("a"), post("bad"))
    r.sink.refuse = {"bad"}
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([0], []))
    r.stop_when_drained()
    with pytest.raises(DlqLimitExceeded):  # not a KafkaError out of kafka-python's callback
        r.run()
    assert committed(r.consumer) == {}
    assert ("seek", (0, 0)) in r.journal  # rewound: the next owner re-reads from the start
    r.consumer.close()
    assert committed(r.consumer) == {}


def test_a_commit_at_revocation_that_fails_is_logged_and_the_new_owner_re_reads() -> None:
    r = rig()
    r.consumer.produce(0, post("a"))
    r.consumer.async_commit_error = CommitFailedError("generation")
    r.when(lambda: len(r.consumer.timeouts) == 3, lambda: r.consumer.rebalance([0], []))
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert committed(r.consumer) == {} and list(r.sink.rows) == ["a"]
    [failed] = [e for e in logs if e["event"].startswith("commit at revocation failed")]
    assert failed == {
        "event": "commit at revocation failed; the new owner re-reads",
        "log_level": "warning",
        "error": "CommitFailedError: generation",
    }


def test_a_clean_stop_leaves_nothing_for_the_revocation_at_close() -> None:
    r = rig()
    r.consumer.produce(0, post("a"))
    r.stop_when_drained()
    r.run()
    r.consumer.close()
    assert r.kinds() == ["store", "dlq flush", "commit"]
