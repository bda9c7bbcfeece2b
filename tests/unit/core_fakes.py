"""In-memory fakes of the core's collaborators: a consumer, a sink, a labeller, a DLQ.

The consumer keeps records per partition, positions, committed offsets and paused partitions,
and delivers rebalances from inside `poll` as kafka-python does (where a blocking call
raises). Every fake writes what it did to one shared `journal`, so a test can assert the order
of stores, dead letters and commits.
"""

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import IllegalStateError
from kafka.structs import OffsetAndMetadata, TopicPartition

from schemas.emotions import LABELS
from schemas.messages import Prediction
from worker.core.consumer import KafkaListener
from worker.core.factory import CoreSettings, StreamCore, build_core
from worker.dead_letters import DeadLetterUnavailable, DlqLimit
from worker.decode import Coordinates, DecodedPost
from worker.store import LabelledPost, StoreRejected, StoreUnavailable, Written

TOPIC = "posts"
T0 = 1_700_000_000_000  # record timestamps (ms)
MAX_POLLS = 2000  # a core that never stops fails its test instead of hanging it


def tp(partition: int) -> TopicPartition:
    return TopicPartition(TOPIC, partition)


def post(post_id: str, text: str = "hello") -> bytes:
    return b'{"id": "%s", "text": "%s"}' % (post_id.encode(), text.encode())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int = T0


@dataclass
class Rebalance:
    revoke: set[TopicPartition]
    assign: set[TopicPartition]
    lost: bool = False


class InCallback(IllegalStateError):  # type: ignore[misc]
    """What kafka-python does to a blocking call inside a rebalance callback."""


@dataclass
class FakeConsumer:
    """One group member over an in-memory topic. An idle poll lets `timeout_ms` pass."""

    clock: Clock
    journal: list[tuple[str, Any]]
    partitions: int = 1
    logs: dict[TopicPartition, list[Record]] = field(default_factory=dict)
    owned: set[TopicPartition] = field(default_factory=set)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    paused_set: set[TopicPartition] = field(default_factory=set)
    listener: KafkaListener | None = None
    hooks: list[Callable[[], None]] = field(default_factory=list)
    pending: list[Rebalance] = field(default_factory=list)
    leak_assigned: bool = False  # records of partitions assigned in a poll come back anyway
    commit_error: Exception | None = None
    async_commit_error: Exception | None = None
    commit_times: list[float] = field(default_factory=list)
    timeouts: list[int] = field(default_factory=list)
    in_callback: bool = False

    def __post_init__(self) -> None:
        self.logs = {tp(p): [] for p in range(self.partitions)}
        self.owned = set(self.logs)
        self.positions = {p: 0 for p in self.logs}

    def produce(self, partition: int, *values: bytes | None) -> None:
        log = self.logs[tp(partition)]
        for value in values:
            key = b"k%d-%d" % (partition, len(log))
            log.append(Record(TOPIC, partition, len(log), key=key, value=value))

    def rebalance(
        self, revoke: Collection[int], assign: Collection[int], lost: bool = False
    ) -> None:
        """Delivered inside the next poll: revoked (or lost) first, then assigned."""
        self.pending.append(Rebalance({tp(p) for p in revoke}, {tp(p) for p in assign}, lost))

    # --- the Consumer protocol
    def poll(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Record]]:
        self._not_in_callback("poll")
        self.timeouts.append(timeout_ms)
        if len(self.timeouts) > MAX_POLLS:
            raise AssertionError(f"still polling after {MAX_POLLS} polls")
        for hook in list(self.hooks):
            hook()
        fresh: set[TopicPartition] = set()
        while self.pending:
            fresh |= self._rebalance(self.pending.pop(0))
        readable = {p for p in self.owned if p not in self.paused_set}
        if self.leak_assigned:
            readable |= fresh
        polled = self._fetch(sorted(readable), max_records or 500)
        if not polled:
            self.clock.now += timeout_ms / 1000
        return polled

    def commit(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        self._not_in_callback("commit")
        if self.commit_error is not None:
            raise self.commit_error
        self._committed("commit", offsets)

    def commit_async(
        self, offsets: Mapping[TopicPartition, OffsetAndMetadata], callback: Callable[..., None]
    ) -> None:
        if self.async_commit_error is not None:
            self.journal.append(("commit_async failed", {p.partition for p in offsets}))
            callback(offsets, self.async_commit_error)
            return
        self._committed("commit_async", offsets)
        callback(offsets, None)

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused_set |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused_set -= set(partitions)

    def paused(self) -> set[TopicPartition]:
        return set(self.paused_set)

    def assignment(self) -> set[TopicPartition]:
        return set(self.owned)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self._owned(partition)
        self.journal.append(("seek", (partition.partition, offset)))
        self.positions[partition] = offset

    def highwater(self, partition: TopicPartition) -> int | None:
        self._owned(partition)
        return len(self.logs[partition])

    def position(self, partition: TopicPartition) -> int:
        self._not_in_callback("position")
        self._owned(partition)
        return self.positions[partition]

    def close(self) -> None:
        """Like kafka-python: the owned partitions are revoked, then the member leaves."""
        if self.listener is not None and self.owned:
            self._in_callback(self.listener.on_partitions_revoked, set(self.owned))
        self.owned = set()

    # --- helpers
    def end(self) -> dict[int, int]:
        return {p.partition: len(log) for p, log in self.logs.items()}

    def _rebalance(self, change: Rebalance) -> set[TopicPartition]:
        assert self.listener is not None, "subscribe first: consumer.listener = core.listener"
        gone = change.revoke & self.owned
        callback = self.listener.on_partitions_lost if change.lost else None
        self._in_callback(callback or self.listener.on_partitions_revoked, gone)
        kept = self.owned - gone
        fresh = change.assign - kept
        for p in gone - change.assign:  # handed back at once: kafka-python keeps its state
            self.positions.pop(p, None)
            self.paused_set.discard(p)
        for p in fresh - gone:
            self.positions[p] = self.committed.get(p, 0)
        self.owned = kept | change.assign
        self._in_callback(self.listener.on_partitions_assigned, set(self.owned))
        return fresh

    def _in_callback(
        self, callback: Callable[[Any], None], partitions: set[TopicPartition]
    ) -> None:
        self.in_callback = True
        try:
            callback(partitions)
        finally:
            self.in_callback = False

    def _fetch(
        self, readable: list[TopicPartition], room: int
    ) -> dict[TopicPartition, list[Record]]:
        polled: dict[TopicPartition, list[Record]] = {}
        for p in readable:
            records = self.logs[p][self.positions[p] : self.positions[p] + room]
            if records:
                polled[p] = records
                self.positions[p] += len(records)
                room -= len(records)
        return polled

    def _committed(self, how: str, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        self.journal.append((how, {p.partition: o.offset for p, o in offsets.items()}))
        self.commit_times.append(self.clock.now)
        self.committed.update({p: o.offset for p, o in offsets.items()})

    def _owned(self, partition: TopicPartition) -> None:
        if partition not in self.owned:
            raise IllegalStateError(f"{partition} is not assigned")

    def _not_in_callback(self, call: str) -> None:
        if self.in_callback:
            raise InCallback(f"{call} inside a rebalance callback")


def committed(consumer: FakeConsumer) -> dict[int, int]:
    return {p.partition: o for p, o in consumer.committed.items()}


@dataclass
class FakeSink:
    """Stores rows by post id; `down` raises StoreUnavailable, `refuse` ids raise StoreRejected,
    `expire` ids are skipped as past the retention horizon."""

    journal: list[tuple[str, Any]]
    clock: Clock
    rows: dict[str, LabelledPost] = field(default_factory=dict)
    down: bool = False
    refuse: set[str] = field(default_factory=set)
    expire: set[str] = field(default_factory=set)  # ids past the retention horizon
    writes: int = 0
    failures: int = 0
    cost_s: float = 0.0  # each write lets this much time pass

    def write(self, batch: Sequence[LabelledPost]) -> Written:
        self.writes += 1
        self.clock.now += self.cost_s
        if self.down:
            self.failures += 1
            raise StoreUnavailable("OperationalError: connection refused")
        if any(item.decoded.post.id in self.refuse for item in batch):
            raise StoreRejected("DataError: value out of range")
        current = [item for item in batch if item.decoded.post.id not in self.expire]
        before = len(self.rows)
        for item in current:  # ON CONFLICT DO NOTHING: the first of an id wins
            self.rows.setdefault(item.decoded.post.id, item)
        self.journal.append(("store", [item.decoded.post.id for item in batch]))
        return Written(len(self.rows) - before, len(batch) - len(current))


class FakeLabeller:
    def __init__(self, clock: Clock) -> None:
        self.batches: list[list[str]] = []
        self.clock = clock
        self.cost_s = 0.0  # each batch lets this much time pass

    def label(self, batch: Sequence[DecodedPost]) -> list[LabelledPost]:
        self.batches.append([p.post.id for p in batch])
        self.clock.now += self.cost_s
        return [LabelledPost(p, _prediction(LABELS[len(p.post.text) % 6])) for p in batch]


def _prediction(label: str) -> Prediction:
    probabilities = tuple(0.5 if name == label else 0.1 for name in LABELS)
    return Prediction(
        label=label,
        probability=0.5,
        probabilities=probabilities,
        uncertainty=0.0,
        model_version="fake",
    )


@dataclass
class FakeDeadLetters:
    journal: list[tuple[str, Any]]
    letters: list[tuple[bytes | None, Coordinates, str]] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    unavailable: bool = False

    def send(self, key: bytes | None, value: bytes | None, where: Coordinates, reason: str) -> None:
        self.letters.append((value, where, reason))
        self.keys.append(key)
        self.journal.append(("dead letter", (where.partition, where.offset)))

    def flush(self) -> None:
        if self.unavailable:
            raise DeadLetterUnavailable("dead-letter topic: not acknowledged")
        self.journal.append(("dlq flush", len(self.letters)))


@dataclass
class FakeWatch:
    progress: int = 0
    checks: int = 0

    def progressed(self) -> None:
        self.progress += 1

    def check(self) -> None:
        self.checks += 1


@dataclass
class FakeLive:
    counted: list[tuple[Any, str]] = field(default_factory=list)

    def count_live(self, minutes_and_labels: Sequence[tuple[Any, str]]) -> None:
        self.counted += minutes_and_labels


@dataclass
class Rig:
    """The core built by its factory over the fakes, and the fakes to drive and inspect."""

    core: StreamCore
    consumer: FakeConsumer
    sink: FakeSink
    labeller: FakeLabeller
    dlq: FakeDeadLetters
    watch: FakeWatch
    live: FakeLive
    stop: threading.Event
    clock: Clock
    journal: list[tuple[str, Any]]
    waiting: int = 0  # `when` actions not yet done

    def run(self) -> None:
        self.core.run()

    def stop_when_drained(self) -> None:
        """Ask the core to stop at the first poll that finds every `when` action done and
        nothing left to read."""

        def hook() -> None:
            c = self.consumer
            left = any(c.positions[p] < len(c.logs[p]) for p in c.owned - c.paused_set)
            if not (left or c.pending or c.paused_set or self.waiting):
                self.stop.set()

        self.consumer.hooks.append(hook)

    def when(self, condition: Callable[[], bool], action: Callable[[], None]) -> None:
        """Run `action` once, at the start of the first poll where `condition` holds."""
        self.waiting += 1

        def hook() -> None:
            if self.waiting and condition() and hook in self.consumer.hooks:
                self.consumer.hooks.remove(hook)
                self.waiting -= 1
                action()

        self.consumer.hooks.insert(0, hook)

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.journal]


def rig(
    partitions: int = 1,
    max_size: int = 100,
    max_wait_s: float = 60.0,
    give_up_after_s: float = 30.0,
    dlq_ratio: float = 0.5,
    dlq_window: int = 1000,
) -> Rig:
    journal: list[tuple[str, Any]] = []
    clock, stop = Clock(), threading.Event()
    consumer = FakeConsumer(clock, journal, partitions)
    sink, labeller, dlq = FakeSink(journal, clock), FakeLabeller(clock), FakeDeadLetters(journal)
    watch, live = FakeWatch(), FakeLive()
    core = build_core(
        CoreSettings(max_size, max_wait_s, give_up_after_s),
        consumer=consumer,
        labeller=labeller,
        sink=sink,
        dead_letters=dlq,
        dlq_limit=DlqLimit(dlq_ratio, dlq_window),
        live=live,
        watch=watch,
        stop=stop,
        clock=clock,
    )
    consumer.listener = core.listener
    return Rig(core, consumer, sink, labeller, dlq, watch, live, stop, clock, journal)
