"""`moodwatch services up` leaves real Kafka, PostgreSQL and Redis ready for the project."""

import psycopg
import pytest
import redis
from kafka import KafkaAdminClient

from devstack.manager import status, up
from schemas.settings import ServicesSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(services: ServicesSettings) -> ServicesSettings:
    up(services)  # a second `up` on running services must be a harmless no-op
    return services


def test_status_reports_every_service_up(settings: ServicesSettings) -> None:
    assert status(settings) == {"kafka": True, "postgres": True, "redis": True}


def test_topics_exist_with_the_configured_partitions(settings: ServicesSettings) -> None:
    kafka = settings.kafka
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    try:
        described = admin.describe_topics([kafka.topic, kafka.dlq_topic])
    finally:
        admin.close()
    partitions = {topic["name"]: len(topic["partitions"]) for topic in described}
    assert partitions == {kafka.topic: kafka.partitions, kafka.dlq_topic: 1}


def test_readonly_role_connects_but_cannot_write(settings: ServicesSettings) -> None:
    db = settings.db
    with psycopg.connect(
        host=db.host,
        port=db.port,
        dbname=db.name,
        user=db.readonly_user,
        password=db.readonly_password.get_secret_value(),
    ) as connection:
        assert connection.execute("SELECT current_user").fetchone() == (db.readonly_user,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            connection.execute("CREATE TABLE ro_must_not_write (id int)")


def test_app_role_creates_a_table_and_has_pg_trgm(settings: ServicesSettings) -> None:
    db = settings.db
    with psycopg.connect(
        host=db.host,
        port=db.port,
        dbname=db.name,
        user=db.user,
        password=db.password.get_secret_value(),
    ) as connection:
        # Inside a transaction that is rolled back: the test leaves no table behind.
        connection.execute("CREATE TABLE services_smoke (id int PRIMARY KEY, body text)")
        connection.execute("INSERT INTO services_smoke VALUES (1, 'feeling great')")
        row = connection.execute(
            "SELECT similarity(body, 'feeling grand') > 0.3 FROM services_smoke"
        ).fetchone()
        assert row == (True,)
        connection.rollback()


def test_redis_answers_and_stores(settings: ServicesSettings) -> None:
    client = redis.Redis.from_url(settings.redis.url)
    try:
        client.set("moodwatch:services-smoke", "1", ex=10)
        assert client.get("moodwatch:services-smoke") == b"1"
    finally:
        client.close()
