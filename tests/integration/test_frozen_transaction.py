"""A worker frozen inside its transaction must not hold the other workers up.

Found by the fault suite: a worker stopped (SIGSTOP) between its INSERT and COMMIT kept the
lock of the rollup rows it had upserted, and the worker that took over its partitions waited
on that lock until the frozen one was thawed, minutes later.
"""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from schemas.settings import WorkerSettings
from worker.app import make_engine

pytestmark = pytest.mark.integration

BUMP = text(
    "INSERT INTO emotion_rollup (bucket, source, label, posts) VALUES (:b, :s, 'joy', 1)"
    " ON CONFLICT (bucket, source, label) DO UPDATE SET posts = emotion_rollup.posts + 1"
)


def test_a_frozen_workers_transaction_is_ended_and_its_rows_unlocked(database: Engine) -> None:
    row = {"b": datetime(2026, 1, 1, tzinfo=UTC), "s": f"frozen-{uuid.uuid4().hex[:8]}"}
    frozen_engine = make_engine(WorkerSettings(), idle_in_transaction_ms=300)
    try:
        with frozen_engine.connect() as frozen:
            frozen.begin()
            frozen.execute(BUMP, row)  # holds the row's lock; then the process "freezes"
            with database.begin() as other:
                other.execute(text("SET LOCAL lock_timeout = '10s'"))
                other.execute(BUMP, row)  # waits for the frozen transaction to end
            with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
                _commit(frozen)  # it woke up: its transaction is gone, nothing of it kept
        with frozen_engine.connect() as again:  # and its next write gets a fresh connection
            assert again.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        frozen_engine.dispose()
        with database.begin() as cleanup:
            count = cleanup.execute(
                text("DELETE FROM emotion_rollup WHERE source = :s RETURNING posts"), row
            ).scalar_one()
    assert count == 1  # only the other worker's increment counts


def _commit(connection: Connection) -> None:
    connection.execute(text("SELECT 1"))
    connection.commit()
