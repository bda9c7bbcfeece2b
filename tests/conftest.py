"""Session fixtures: the real services (started when not up), the schema, a tiny bundle.

First of all, the tests are pointed away from the user's data (tests/isolation.py): their own
database `moodwatch_test_<pid>`, Redis db 15, topics and group `moodwatch-test-<pid>`, no
metrics port, their own dashboard port. This happens here, at import, before any test module
builds a settings object, so worker and dashboard processes started by tests inherit it.
`test_user_data_untouched.py` checks, as the last test of a session, that the user's
`moodwatch` posts and Redis db 0 are as they were before the session.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from schemas.settings import DatabaseSettings, ServicesSettings
from tests.isolation import (
    REPORT,
    UserData,
    count_user_data,
    drop_database,
    isolate,
    prepare_user_database,
    stale_session_databases,
    stale_session_topics,
)

# Before any settings object exists (none is built by the imports above).
ISOLATION = isolate(os.environ)

USER_DATA_TEST = "test_the_users_posts_and_redis_keys_are_untouched"


def pytest_report_header(config: pytest.Config) -> list[str]:
    v = ISOLATION.values
    lines = [
        f"isolated from the user's data: database {v['MOODWATCH_DB_NAME']}, Redis "
        f"{v['MOODWATCH_REDIS_URL']}, topic {v['MOODWATCH_KAFKA_TOPIC']}, group "
        f"{v['MOODWATCH_KAFKA_GROUP_ID']}, dashboard port {v['MOODWATCH_DASHBOARD_PORT']}"
    ]
    lines += [
        f"ignored {name}={value!r}: not a test name, the tests would touch the user's data"
        for name, value in ISOLATION.refused.items()
    ]
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in REPORT:  # the figures of the user-data check, pass or fail
        terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The check of the user's data runs last, after everything that could have touched it."""
    last = [item for item in items if item.name == USER_DATA_TEST]
    items[:] = [item for item in items if item.name != USER_DATA_TEST] + last


def _fresh_test_database(settings: ServicesSettings) -> None:
    """Drop and re-create the session's database (owner: the app role), migrate it to head."""
    from devstack.postgres import provision
    from schemas.migrate import upgrade_to_head

    for stale in stale_session_databases(settings.db.port):
        drop_database(settings.db.port, stale)
    drop_database(settings.db.port, settings.db.name)
    provision(settings)  # creates it as `services up` does: owner, grants, pg_trgm
    upgrade_to_head(settings.db)


def _delete_topics(settings: ServicesSettings, *, ours: bool) -> None:
    """The session's topics (the default pair and every Stream's), and stale sessions' pairs."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from tests.integration.streaming import CREATED

    bootstrap = settings.kafka.bootstrap_servers
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        doomed = stale_session_topics(admin.list_topics())
        doomed += [topic for servers, topic in CREATED if servers == bootstrap]
        if ours:
            doomed += [settings.kafka.topic, settings.kafka.dlq_topic]
        existing = set(admin.list_topics())
        doomed = sorted(set(doomed) & existing)
        if doomed:
            admin.delete_topics(doomed)
    except KafkaError:
        pass  # leftovers only; stale sessions' topics go in the next session
    finally:
        admin.close()


@pytest.fixture(scope="session")
def services() -> Iterator[ServicesSettings]:
    """Starts (idempotently) Kafka, PostgreSQL and Redis: integration tests never skip.

    The session's own database is made fresh and migrated; what the session generated (its
    database, its topics, and those of sessions killed before their end) goes at the end.
    """
    from devstack.manager import up

    settings = ServicesSettings()
    assert settings.db.name != ISOLATION.user_db(), "tests must not use the user's database"
    up(settings)
    _fresh_test_database(settings)
    yield settings
    if ISOLATION.owns_database:
        drop_database(settings.db.port, settings.db.name)
    _delete_topics(settings, ours=ISOLATION.owns_topics)


@pytest.fixture(scope="session")
def database(services: ServicesSettings) -> Iterator[Engine]:
    """The session's own database (migrated by `services`)."""
    engine = create_engine(DatabaseSettings().url(), pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def user_data_before(request: pytest.FixtureRequest) -> UserData | None:
    """The user's posts and Redis keys, counted before any test ran (when the check runs)."""
    if not any(item.name == USER_DATA_TEST for item in request.session.items):
        return None  # e.g. unit tests alone: no services needed, nothing to compare
    request.getfixturevalue("services")
    note = prepare_user_database(ISOLATION.user_db())
    return count_user_data(ISOLATION.user_db(), ISOLATION.user_redis_url(), note)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_bundle import build_tiny_bundle, export_tiny_bundle

    # exported (ONNX Runtime, fp32), as the worker runs a bundle on a CPU by default
    return export_tiny_bundle(build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny"))
