"""The tests leave the user's data alone: the demo's database, topics and Redis db 0.

`make test` once wrote thousands of `test-...` posts into the `moodwatch` database that
`make run` fills, and live counters and cached predictions into its Redis db 0. Now the
session runs on its own names (tests/isolation.py, applied by tests/conftest.py), and the
last test of every session that includes it compares the user's data with a count taken
before the first test.
"""

import pytest

from schemas.settings import (
    DashboardSettings,
    DatabaseSettings,
    KafkaSettings,
    RedisSettings,
    WorkerSettings,
)
from tests.isolation import (
    REPORT,
    USER_DB,
    USER_DLQ_TOPIC,
    USER_GROUP,
    USER_REDIS_URL,
    USER_TOPIC,
    UserData,
    count_user_data,
    differences,
    isolate,
    redis_db,
    summary,
)

pytestmark = pytest.mark.integration


def test_settings_built_in_the_tests_point_at_test_names() -> None:
    worker, dashboard = WorkerSettings(), DashboardSettings()
    for db in (DatabaseSettings(), worker.db, dashboard.db):
        assert db.name != USER_DB and "test" in db.name
    for redis in (RedisSettings(), worker.redis, dashboard.redis):
        assert redis_db(redis.url) != redis_db(USER_REDIS_URL)
    for kafka in (KafkaSettings(), worker.kafka):
        assert kafka.topic != USER_TOPIC and kafka.dlq_topic != USER_DLQ_TOPIC
        assert kafka.group_id != USER_GROUP
    assert worker.metrics_port != 9108 and dashboard.port != 8501
    assert ":9108/" not in dashboard.metrics_url


def test_the_users_own_settings_in_the_environment_are_not_honoured() -> None:
    demo = {
        "MOODWATCH_DB_NAME": "moodwatch",
        "MOODWATCH_REDIS_URL": "redis://127.0.0.1:16379/0",
        "MOODWATCH_KAFKA_TOPIC": "posts",
        "MOODWATCH_KAFKA_DLQ_TOPIC": "posts.dlq",
        "MOODWATCH_KAFKA_GROUP_ID": "moodwatch-worker",
        "MOODWATCH_WORKER_METRICS_PORT": "9108",
        "MOODWATCH_DASHBOARD_PORT": "8501",
        "MOODWATCH_DASHBOARD_METRICS_URL": "http://127.0.0.1:9108/metrics",
    }
    environ = dict(demo)
    decided = isolate(environ, pid=4242)
    assert decided.refused == demo
    assert environ["MOODWATCH_DB_NAME"] == "moodwatch_test_4242"
    assert environ["MOODWATCH_REDIS_URL"] == "redis://127.0.0.1:16379/15"
    assert environ["MOODWATCH_KAFKA_TOPIC"] == "moodwatch-test-4242"
    assert environ["MOODWATCH_KAFKA_DLQ_TOPIC"] == "moodwatch-test-4242.dlq"
    assert environ["MOODWATCH_KAFKA_GROUP_ID"] == "moodwatch-test-4242"
    assert environ["MOODWATCH_WORKER_METRICS_PORT"] == "0"
    assert environ["MOODWATCH_DASHBOARD_PORT"] not in ("8501", "0")
    assert environ["MOODWATCH_DASHBOARD_METRICS_URL"] == "http://127.0.0.1:1/metrics"
    assert decided.user_db() == "moodwatch" and decided.owns_database


def test_explicit_test_names_are_honoured() -> None:
    chosen = {
        "MOODWATCH_DB_NAME": "moodwatch_test_ci",
        "MOODWATCH_REDIS_URL": "redis://127.0.0.1:16379/7",
        "MOODWATCH_KAFKA_TOPIC": "ci-test-posts",
    }
    environ = dict(chosen)
    decided = isolate(environ, pid=1)
    assert not decided.refused
    assert {k: environ[k] for k in chosen} == chosen
    assert not decided.owns_database and not decided.owns_topics
    assert environ["MOODWATCH_KAFKA_GROUP_ID"] == "moodwatch-test-1"


def test_the_users_posts_and_redis_keys_are_untouched(user_data_before: UserData | None) -> None:
    """Runs last (conftest orders it): the user's posts and Redis db 0 are as they were."""
    assert user_data_before is not None, "conftest counts the user's data when this test runs"
    before = user_data_before
    after = count_user_data(before.database, before.redis_url)
    REPORT.append(summary(before, after))
    problems = differences(before, after)
    assert not problems, "the tests touched the user's data:\n" + "\n".join(problems)
