"""A PostgreSQL outage on in-memory fakes: waited out paused, nothing committed meanwhile."""

import pytest
import structlog
from prometheus_client import REGISTRY

from tests.unit.core_fakes import committed, post, rig, tp
from worker.core.outage import GaveUpStoring
from worker.store import StoreUnavailable


def test_nothing_is_committed_while_the_store_is_down_and_the_partitions_stay_paused() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"), post("b"))
    r.consumer.produce(1, post("c"))
    r.sink.down = True
    during: list[tuple[dict[int, int], set[int]]] = []

    def recover() -> None:
        during.append((committed(r.consumer), {p.partition for p in r.consumer.paused()}))
        r.sink.down = False

    r.when(lambda: r.sink.failures == 3, recover)
    r.stop_when_drained()
    retries = REGISTRY.get_sample_value("moodwatch_store_retries_total") or 0.0
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert during == [({}, {0, 1})]
    assert committed(r.consumer) == {0: 2, 1: 1}
    assert sorted(r.sink.rows) == ["a", "b", "c"] and r.consumer.paused() == set()
    retried = [e for e in logs if e["event"] == "postgres unavailable; retrying"]
    assert [e["attempt"] for e in retried] == [1, 2, 3]
    assert retried[0]["error"] == "OperationalError: connection refused"
    assert REGISTRY.get_sample_value("moodwatch_store_retries_total") == retries + 3
    assert r.watch.progress == 1 + 1  # the records, then the batch: the outage is not a stall


def test_the_retries_back_off_to_a_ceiling_while_polling() -> None:
    r = rig(max_wait_s=0)
    r.consumer.produce(0, post("a"))
    r.sink.down = True
    r.when(lambda: r.sink.failures == 7, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert r.consumer.timeouts[1:8] == [400, 800, 1600, 3200, 5000, 5000, 5000]
    assert committed(r.consumer) == {0: 1}


def test_a_stop_during_an_outage_gives_up_after_the_grace_time_with_nothing_committed() -> None:
    r = rig(max_wait_s=0, give_up_after_s=10.0)
    r.consumer.produce(0, post("a"))
    r.sink.down = True
    stopped_at: list[float] = []
    r.when(lambda: r.sink.failures == 2, lambda: stopped_at.append(r.clock.now))
    r.when(lambda: r.sink.failures == 2, r.stop.set)
    with pytest.raises(GaveUpStoring, match="^stopping with PostgreSQL down$") as raised:
        r.run()
    assert isinstance(raised.value.__cause__, StoreUnavailable)
    assert 10.0 < r.clock.now - stopped_at[0] <= 10.0 + 2 * 5.0  # two backoffs at most
    r.consumer.close()  # kafka-python revokes on close: no second try, no commit
    assert committed(r.consumer) == {} and r.sink.rows == {}


def test_a_stop_during_an_outage_that_ends_in_time_stores_and_commits() -> None:
    r = rig(give_up_after_s=10.0)
    r.consumer.produce(0, post("a"))
    r.sink.down = True
    r.when(lambda: r.sink.failures == 2, r.stop.set)
    r.when(lambda: r.sink.failures == 4, lambda: setattr(r.sink, "down", False))
    r.run()
    assert committed(r.consumer) == {0: 1}


def test_records_let_through_by_a_paused_poll_are_rewound_not_skipped() -> None:
    r = rig(partitions=2)
    r.consumer.owned = {tp(0)}
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"), post("c"))
    r.consumer.leak_assigned = True  # kafka-python may return records fetched before a pause
    r.sink.down = True
    r.when(lambda: r.sink.failures == 1, lambda: r.consumer.rebalance(revoke=[], assign=[1]))
    r.when(lambda: r.sink.failures == 2, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert ("seek", (1, 0)) in r.journal
    assert sorted(r.sink.rows) == ["a", "b", "c"]
    assert committed(r.consumer) == {0: 1, 1: 2}


def test_partitions_assigned_while_waiting_out_an_outage_are_paused_until_it_ends() -> None:
    r = rig(partitions=2)
    r.consumer.owned = {tp(0)}
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"))
    r.sink.down = True
    paused: list[set[int]] = []
    r.when(lambda: r.sink.failures == 1, lambda: r.consumer.rebalance(revoke=[], assign=[1]))
    r.when(
        lambda: r.sink.failures == 2,
        lambda: paused.append({p.partition for p in r.consumer.paused()}),
    )
    r.when(lambda: r.sink.failures == 3, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert paused == [{0, 1}]
    assert r.labeller.batches == [["a"], ["b"]]  # b waited for the outage to end
    assert committed(r.consumer) == {0: 1, 1: 1}


def test_partitions_revoked_while_waiting_are_rewound_and_left_uncommitted() -> None:
    r = rig(partitions=3)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"), post("c"))
    r.consumer.produce(2, post("d"))
    r.sink.down = True

    def two_rebalances_in_one_poll() -> None:
        r.consumer.rebalance(revoke=[1], assign=[])
        r.consumer.rebalance(revoke=[2], assign=[])

    r.when(lambda: r.sink.failures == 1, two_rebalances_in_one_poll)
    r.when(lambda: r.sink.failures == 2, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert ("seek", (1, 0)) in r.journal and ("seek", (2, 0)) in r.journal
    assert sorted(r.sink.rows) == ["a"]
    assert committed(r.consumer) == {0: 1}


def test_after_an_outage_a_revocation_stores_and_commits_the_open_batch_again() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"))
    r.sink.down = True
    r.when(lambda: r.sink.failures == 2, lambda: setattr(r.sink, "down", False))
    r.when(lambda: bool(r.sink.rows), lambda: r.consumer.produce(1, post("b")))
    r.when(
        lambda: r.consumer.positions[tp(1)] == 1,  # b is in the open batch
        lambda: r.consumer.rebalance(revoke=[0, 1], assign=[0, 1]),
    )
    r.stop_when_drained()
    r.run()
    assert r.journal[-1] == ("commit_async", {1: 1})
    assert committed(r.consumer) == {0: 1, 1: 1}


def test_a_partition_lost_while_waiting_is_rewound_and_left_uncommitted() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"))
    r.sink.down = True
    r.when(
        lambda: r.sink.failures == 1,
        lambda: r.consumer.rebalance(revoke=[1], assign=[], lost=True),
    )
    r.when(lambda: r.sink.failures == 2, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert ("seek", (1, 0)) in r.journal
    assert sorted(r.sink.rows) == ["a"]
    assert committed(r.consumer) == {0: 1}


def test_a_partition_revoked_and_handed_back_while_waiting_is_read_again_and_stored_once() -> None:
    r = rig(partitions=2)
    r.consumer.produce(0, post("a"))
    r.consumer.produce(1, post("b"), post("c"))
    r.sink.down = True
    r.when(lambda: r.sink.failures == 1, lambda: r.consumer.rebalance(revoke=[0, 1], assign=[0, 1]))
    r.when(lambda: r.sink.failures == 2, lambda: setattr(r.sink, "down", False))
    r.stop_when_drained()
    r.run()
    assert sorted(r.sink.rows) == ["a", "b", "c"]
    assert committed(r.consumer) == {0: 1, 1: 2}
    assert r.labeller.batches[-1] == ["a", "b", "c"]  # read again after the rewind
