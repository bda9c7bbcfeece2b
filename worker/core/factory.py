"""The one place the core's chain is put together."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from worker.batching import PendingBatch
from worker.core.commit import Commit, CommitMode, commit_async, commit_sync
from worker.core.consumer import Consumer, KafkaListener
from worker.core.dead_letter_path import DeadLetterPath, DeadLetterSink
from worker.core.finish import Finish, LiveCounts, NoteRevocation, ReportProgress, Watch
from worker.core.flushing import Flush, Step
from worker.core.intake import Intake
from worker.core.loop import Loop
from worker.core.outage import GiveUp, OutagePolicy, Retrying, WaitOut
from worker.core.rebalance import Rebalance
from worker.core.steps import DeliverDeadLetters, Label, Labels, Store
from worker.core.writer import RowWriter, Sink
from worker.dead_letters import DlqLimit
from worker.skip_report import ALREADY_STORED, PAST_RETENTION, SkipReport


@dataclass(frozen=True)
class CoreSettings:
    batch_max_size: int
    batch_max_wait_s: float
    give_up_after_stop_s: float  # PostgreSQL still down this long after `stop`: GaveUpStoring


@dataclass(frozen=True)
class StreamCore:
    """`run` consumes until `stop` is set; `listener` goes to `KafkaConsumer.subscribe`."""

    loop: Loop
    listener: KafkaListener

    def run(self) -> None:
        self.loop.run()


def build_core(
    settings: CoreSettings,
    *,
    consumer: Consumer,
    labeller: Labels,
    sink: Sink,
    dead_letters: DeadLetterSink,
    dlq_limit: DlqLimit,
    live: LiveCounts,
    watch: Watch,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> StreamCore:
    """poll -> Intake -> PendingBatch -> Label -> Store -> DeliverDeadLetters -> Commit ->
    Finish, with the dead-letter path beside it. The flush chain is built twice from the same
    steps; only the policies differ between the loop's flush and the revocation's."""
    pending = PendingBatch(settings.batch_max_size, settings.batch_max_wait_s, clock=clock)
    side_path = DeadLetterPath(dead_letters, dlq_limit)
    writer = RowWriter(
        sink, side_path, SkipReport(ALREADY_STORED, clock), SkipReport(PAST_RETENTION, clock)
    )

    def flush_chain(outage: OutagePolicy, mode: CommitMode, tail: Step) -> Flush:
        finish = Finish(live, tail)
        commit = Commit(consumer, mode, finish)
        store = Store(writer, outage, DeliverDeadLetters(side_path, commit))
        return Flush(pending, Label(labeller, store), clock)

    retrying = Retrying()
    wait_out = WaitOut(consumer, retrying, stop, settings.give_up_after_stop_s, clock)
    flush = flush_chain(wait_out, commit_sync, ReportProgress(consumer, watch))
    at_revocation = flush_chain(GiveUp(), commit_async, NoteRevocation())
    rebalance = Rebalance(consumer, pending, retrying, at_revocation)
    loop = Loop(consumer, pending, Intake(pending, side_path), flush, rebalance, watch, stop)
    return StreamCore(loop, KafkaListener(rebalance))
