"""Scenario 9: the read-only role cannot write, and no password reaches any log."""

import secrets

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.faults.checks import row_count
from tests.faults.stack import FaultStack
from tests.faults.workers import Workers
from tests.integration.streaming import Stream, wait_for

pytestmark = pytest.mark.faults

INSUFFICIENT_PRIVILEGE, READ_ONLY_TRANSACTION = "42501", "25006"
WRITES = [
    "INSERT INTO posts (post_id, text, source, created_at, label, confidence, p_sadness, p_joy,"
    " p_love, p_anger, p_fear, p_surprise, uncertainty, model_version, kafka_topic,"
    " kafka_partition, kafka_offset) VALUES ('ro', 't', 's', now(), 'joy', 1, 0, 1, 0, 0, 0, 0,"
    " 0, 'v', 't', 0, 0)",
    "UPDATE posts SET label = 'joy'",
    "DELETE FROM posts",
    "TRUNCATE posts",
    "INSERT INTO emotion_rollup (bucket, source, label, posts) VALUES (now(), 's', 'joy', 1)",
    "CREATE TABLE ro_was_here (a int)",
    "DROP TABLE posts",
    "ALTER TABLE posts ADD COLUMN ro int",
]


@pytest.mark.parametrize("statement", WRITES, ids=lambda s: s.split(" (")[0][:24])
@pytest.mark.parametrize("read_write", [False, True], ids=["default", "read-write-asked"])
def test_the_read_only_role_cannot_write(
    stack: FaultStack, engine: Engine, statement: str, read_write: bool
) -> None:
    """Refused by the role's read-only default and, with that turned off, by the grants."""
    with engine.connect() as app_connection:
        rows = app_connection.execute(text("SELECT count(*) FROM posts")).scalar_one()
    readonly = create_engine(stack.db.url(readonly=True))
    try:
        with readonly.connect() as connection:  # it reads what the app role sees
            assert connection.execute(text("SELECT count(*) FROM posts")).scalar_one() == rows
            if read_write:  # for the transactions after this one
                connection.execute(text("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"))
                connection.commit()
            with pytest.raises(DBAPIError) as refused:
                connection.execute(text(statement))
        code = getattr(refused.value.orig, "sqlstate", None)
        expected = INSUFFICIENT_PRIVILEGE if read_write else READ_ONLY_TRANSACTION
        assert code == expected, refused.value
    finally:
        readonly.dispose()


def _service_logs(stack: FaultStack) -> dict[str, str]:
    """Each service's log by name; a log that is missing or empty fails here, since a search
    for the passwords in it would then pass whatever the services wrote elsewhere."""
    from devstack.kafka import log_path as kafka_log
    from devstack.postgres import find_cluster
    from devstack.redis import log_path as redis_log

    cluster = find_cluster(stack.services)
    assert cluster is not None, "the fault stack's PostgreSQL cluster is gone"
    paths = {
        "kafka": kafka_log(stack.services),
        "redis": redis_log(stack.services),
        "postgres": cluster.log_path,
    }
    empty = [name for name, path in paths.items() if not path.exists() or not path.stat().st_size]
    assert not empty, f"service logs missing or empty: {empty} ({paths})"
    return {name: path.read_text(errors="replace") for name, path in paths.items()}


def test_credentials_never_appear_in_logs(
    stack: FaultStack, engine: Engine, workers: Workers
) -> None:
    """Workers at DEBUG through a database outage, a poison message, and a wrong password."""
    from devstack.manager import start_postgres, stop_postgres

    stream = Stream.fresh(partitions=2, base=stack.kafka)
    stream.produce([b"{poison", *(stream.post(n) for n in range(300))])
    worker = workers.start(stream, log_level="DEBUG")
    wait_for(lambda: row_count(engine, stream.source) >= 100, timeout=120, what="100 rows")
    stop_postgres(stack.services)
    try:
        stream.produce_posts(range(300, 400))
        wait_for(lambda: "postgres unavailable" in worker.log_text(), what="a failed write")
    finally:
        start_postgres(stack.services)
    wait_for(lambda: stream.committed() == 401, timeout=120, what="all committed")

    wrong_password = f"wrong-{secrets.token_hex(8)}"
    other = Stream.fresh(partitions=1, base=stack.kafka)
    other.produce_posts(range(10))
    refused = workers.start(
        other,
        watched=False,
        log_level="DEBUG",
        env={"MOODWATCH_DB_PASSWORD": wrong_password},
        settings={"db_retry_max_s": "2"},
    )
    wait_for(
        lambda: "password authentication failed" in refused.log_text(),
        timeout=120,
        what="the refused login logged",
    )
    refused.stop()
    logs = {worker.name: worker.log_text() for worker in workers.started}
    logs |= _service_logs(stack)
    # The search below covers what happened: the outage and the poison (the refused login was
    # waited for above).
    assert "postgres unavailable" in logs[worker.name]
    assert "dead-lettered" in logs[worker.name]
    for secret in (*stack.secrets, wrong_password):
        leaked = [name for name, text in logs.items() if secret in text]
        assert not leaked, f"a password is in the logs of {leaked}"
