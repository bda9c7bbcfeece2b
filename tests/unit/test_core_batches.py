"""The core's normal path on in-memory fakes: what is committed, and when."""

from datetime import UTC, datetime, timedelta

import pytest
import structlog
from kafka.errors import CommitFailedError, KafkaTimeoutError
from prometheus_client import REGISTRY

from tests.unit.core_fakes import committed, post, rig, tp
from worker.core.loop import IDLE_POLL_MS
from worker.stall_watch import ConsumerStalled


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_batch_is_committed_only_after_its_rows_are_stored() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), post("b"), post("c"))
    r.stop_when_drained()
    r.run()
    assert r.journal == [("store", ["a", "b", "c"]), ("dlq flush", 0), ("commit", {0: 3})]
    assert sorted(r.sink.rows) == ["a", "b", "c"]


def test_a_full_batch_is_flushed_without_waiting_for_its_age() -> None:
    r = rig(max_size=2)
    r.consumer.produce(0, *(post(f"p{n}") for n in range(5)))
    r.stop_when_drained()
    r.run()
    assert [o for kind, o in r.journal if kind == "commit"] == [{0: 2}, {0: 4}, {0: 5}]
    assert r.labeller.batches == [["p0", "p1"], ["p2", "p3"], ["p4"]]


def test_an_old_batch_is_flushed_on_time_before_the_next_post_arrives() -> None:
    r = rig(max_wait_s=1.0)
    r.consumer.produce(0, post("early"))
    r.when(lambda: r.clock.now >= 105, lambda: r.consumer.produce(0, post("late")))
    r.when(lambda: r.clock.now >= 110, r.stop.set)
    r.run()
    assert [o for kind, o in r.journal if kind == "commit"] == [{0: 1}, {0: 2}]
    assert r.labeller.batches == [["early"], ["late"]]


def test_shutdown_flushes_and_commits_the_open_batch() -> None:
    r = rig(max_size=100, max_wait_s=3600)
    r.consumer.produce(0, post("a"), post("b"))
    r.stop_when_drained()
    r.run()
    assert r.journal == [("store", ["a", "b"]), ("dlq flush", 0), ("commit", {0: 2})]


def test_an_idle_poll_waits_and_an_open_batch_polls_only_for_its_time_left() -> None:
    r = rig(max_size=10, max_wait_s=0.75)
    r.consumer.produce(0, post("a"))
    r.when(lambda: bool(r.sink.rows), r.stop.set)
    r.run()
    # nothing open: a long wait is free (poll returns on the first record); then no longer
    # than the open batch has left
    assert r.consumer.timeouts == [IDLE_POLL_MS, 500, 250, IDLE_POLL_MS]
    assert IDLE_POLL_MS == 500
    assert r.consumer.commit_times == [100.75]


def test_a_long_batch_wait_still_polls_at_least_every_idle_interval() -> None:
    r = rig(max_wait_s=30.0)
    r.consumer.produce(0, post("a"))
    r.when(lambda: len(r.consumer.timeouts) == 3, r.stop.set)
    r.run()
    assert r.consumer.timeouts[1:3] == [IDLE_POLL_MS, IDLE_POLL_MS]


def test_each_poll_asks_for_no_more_than_fills_the_batch() -> None:
    r = rig(max_size=3)
    r.consumer.produce(0, post("a"), post("b"))
    r.when(
        lambda: len(r.consumer.timeouts) == 2,  # the second poll, with two posts open
        lambda: r.consumer.produce(0, post("c"), post("d")),
    )
    asked: list[int | None] = []
    poll = r.consumer.poll

    def spy(timeout_ms: int = 0, max_records: int | None = None) -> dict:  # type: ignore[type-arg]
        asked.append(max_records)
        return poll(timeout_ms, max_records)

    r.consumer.poll = spy  # type: ignore[method-assign]
    r.stop_when_drained()
    r.run()
    assert asked[:3] == [3, 1, 3]
    assert r.labeller.batches == [["a", "b", "c"], ["d"]]


def test_each_partition_commits_the_offset_after_its_last_record() -> None:
    r = rig(partitions=3)
    r.consumer.produce(0, post("a"), post("b"))
    r.consumer.produce(2, post("c"))
    r.stop_when_drained()
    r.run()
    assert committed(r.consumer) == {0: 2, 2: 1}


def test_a_refused_commit_after_the_rows_are_stored_is_logged_and_the_core_goes_on() -> None:
    r = rig(max_size=1)
    r.consumer.produce(0, post("a"), post("b"))
    r.consumer.commit_error = CommitFailedError("rebalanced")
    r.when(lambda: bool(r.sink.rows), lambda: setattr(r.consumer, "commit_error", None))
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert sorted(r.sink.rows) == ["a", "b"]
    assert committed(r.consumer) == {0: 2}
    [refused] = [e for e in logs if e["event"].startswith("commit refused after a rebalance")]
    assert refused["error"] == "CommitFailedError: rebalanced"


def test_a_commit_lost_to_a_broker_restart_is_logged_and_the_core_goes_on() -> None:
    r = rig()
    r.consumer.produce(0, post("a"))
    r.consumer.commit_error = KafkaTimeoutError("no broker")
    r.stop_when_drained()
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert list(r.sink.rows) == ["a"]
    assert committed(r.consumer) == {}
    [failed] = [e for e in logs if e["event"].startswith("commit failed; rows are stored")]
    assert failed["error"] == "KafkaTimeoutError: no broker"


COUNTERS = (
    "moodwatch_posts_stored_total",
    "moodwatch_posts_duplicate_total",
    "moodwatch_posts_expired_total",
)


def test_stored_rows_replayed_are_counted_as_duplicates_not_as_new() -> None:
    r = rig()
    r.consumer.produce(0, post("a"), post("a"), post("b"))
    r.stop_when_drained()
    stored, duplicates = (
        sample("moodwatch_posts_stored_total"),
        sample("moodwatch_posts_duplicate_total"),
    )
    r.run()
    assert sample("moodwatch_posts_stored_total") - stored == 2
    assert sample("moodwatch_posts_duplicate_total") - duplicates == 1
    assert committed(r.consumer) == {0: 3}


def test_posts_past_the_retention_are_counted_as_expired_not_as_duplicates() -> None:
    r = rig()
    r.sink.expire = {"old"}
    r.consumer.produce(0, post("old"), post("a"), post("a"))
    r.stop_when_drained()
    before = {name: sample(name) for name in COUNTERS}
    with structlog.testing.capture_logs() as logs:
        r.run()
    assert {name: sample(name) - before[name] for name in COUNTERS} == {
        "moodwatch_posts_stored_total": 1,
        "moodwatch_posts_duplicate_total": 1,
        "moodwatch_posts_expired_total": 1,
    }
    assert "posts skipped: created before the retention horizon" in [e["event"] for e in logs]
    assert committed(r.consumer) == {0: 3}


def test_a_stored_batch_is_counted_live_with_its_labels() -> None:
    r = rig()
    r.consumer.produce(0, post("a", "hi"), post("b", "hello"))
    r.stop_when_drained()
    r.run()
    assert [label for _, label in r.live.counted] == ["love", "surprise"]  # fake: by length
    [minute] = {minute for minute, _ in r.live.counted}
    assert minute.tzinfo == UTC and (minute.second, minute.microsecond) == (0, 0)
    assert abs(datetime.now(UTC) - minute) < timedelta(minutes=2)


def test_the_lag_metric_is_what_remains_unread_on_the_owned_partitions() -> None:
    r = rig(partitions=2, max_size=2)
    r.consumer.produce(0, *(post(f"a{n}") for n in range(5)))
    r.consumer.produce(1, post("b0"))
    lags: list[float] = []
    r.when(lambda: bool(r.sink.rows), lambda: lags.append(sample("moodwatch_consumer_lag")))
    r.stop_when_drained()
    r.run()
    assert lags == [4.0]  # after the first batch of two from partition 0: 3 + 1 unread
    assert sample("moodwatch_consumer_lag") == 0.0


def test_each_batch_logs_where_its_time_went_at_debug() -> None:
    r = rig()
    r.labeller.cost_s, r.sink.cost_s = 1.5, 0.02
    r.consumer.produce(0, post("a"), post("b"))
    r.stop_when_drained()
    seconds = sample("moodwatch_batch_seconds_sum")
    with structlog.testing.capture_logs() as logs:
        r.run()
    [done] = [e for e in logs if e["event"] == "batch done"]
    assert done == {
        "event": "batch done",
        "log_level": "debug",
        "posts": 2,
        "waited_ms": 500,  # opened at the first record, flushed after one idle poll
        "label_ms": 1500,
        "store_ms": 20,
        "commit_ms": 0,
    }
    assert sample("moodwatch_batch_seconds_sum") - seconds == pytest.approx(1.52)


def test_the_stall_watch_hears_of_records_and_of_stored_batches_and_is_checked_each_turn() -> None:
    r = rig(max_size=1)
    r.consumer.produce(0, post("a"), post("b"))
    r.stop_when_drained()
    r.run()
    polls = len(r.consumer.timeouts)
    assert r.watch.checks == polls
    assert r.watch.progress == 2 + 2  # two polls brought a record, two batches were stored


def test_a_stall_ends_the_core_without_committing_its_open_batch() -> None:
    r = rig(max_wait_s=3600)
    r.consumer.produce(0, post("a"))

    def stalled() -> None:
        raise ConsumerStalled("no records")

    r.watch.check = stalled  # type: ignore[method-assign]
    with pytest.raises(ConsumerStalled):
        r.run()
    r.consumer.close()  # kafka-python revokes on close: nothing more is stored or committed
    assert committed(r.consumer) == {} and r.sink.rows == {}
    assert r.consumer.positions[tp(0)] == 1
