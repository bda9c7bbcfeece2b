"""Writing labelled posts: a row the database refuses is dead-lettered, never retried."""

from collections.abc import Sequence
from typing import Protocol

from worker.core.dead_letter_path import DeadLetterPath
from worker.skip_report import SkipReport
from worker.store import LabelledPost, StoreRejected, Written


class Sink(Protocol):
    """`PostgresSink`: stores a batch atomically and says how many rows were new and how many
    posts it skipped as past the retention horizon; raises
    `StoreUnavailable` (retry later) or `StoreRejected` (the data itself is refused)."""

    def write(self, batch: Sequence[LabelledPost]) -> Written: ...


class RowWriter:
    """Stores a batch in one write; when the database rejects it, writes it row by row to find
    the rows it refuses, dead-letters those (reason `database: ...`) and keeps the rest.

    Returns the rows that were new; reports the posts already stored and those past the
    retention horizon, each under its own metric. `StoreUnavailable`
    propagates: the caller's policy decides whether to wait.
    """

    def __init__(
        self,
        sink: Sink,
        dead_letters: DeadLetterPath,
        duplicates: SkipReport,
        expired: SkipReport,
    ) -> None:
        self._sink = sink
        self._dead_letters = dead_letters
        self._duplicates = duplicates
        self._expired = expired

    def write(self, labelled: Sequence[LabelledPost]) -> int:
        if len(labelled) > 1:
            try:
                return self._stored(labelled)
            except StoreRejected:
                pass  # some row is refused: find it below, keep the others
        return sum(self._row(item) for item in labelled)

    def _row(self, item: LabelledPost) -> int:
        try:
            return self._stored([item])
        except StoreRejected as exc:
            decoded = item.decoded
            self._dead_letters.send(
                decoded.raw_key, decoded.raw_value, decoded.coordinates, f"database: {exc}"
            )
            return 0

    def _stored(self, labelled: Sequence[LabelledPost]) -> int:
        written = self._sink.write(labelled)
        self._expired.skipped(written.expired)
        self._duplicates.skipped(len(labelled) - written.new - written.expired)
        return written.new
