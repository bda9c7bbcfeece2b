"""`moodwatch services up|down|status`: Kafka, PostgreSQL and Redis on loopback.

Each service also has idempotent start/stop functions (re-exported here) so that
fault-injection tests can stop one and bring it back.
"""

import time

import typer

from devstack.kafka import await_kafka, ensure_topics, kafka_answers, start_kafka, stop_kafka
from devstack.postgres import postgres_answers, start_postgres, stop_postgres
from devstack.redis import redis_answers, start_redis, stop_redis
from schemas.settings import ServicesSettings

__all__ = [
    "down",
    "start_kafka",
    "start_postgres",
    "start_redis",
    "status",
    "stop_kafka",
    "stop_postgres",
    "stop_redis",
    "up",
]


def up(settings: ServicesSettings) -> None:
    """Install what is missing, start what is down, and return once all three answer."""
    started = time.monotonic()
    # The JVM takes longest to boot, so launch it first and set up the others meanwhile.
    start_kafka(settings, wait=False)
    start_postgres(settings)
    start_redis(settings)
    await_kafka(settings)
    ensure_topics(settings)
    typer.echo(f"services up ({time.monotonic() - started:.1f}s)")


def down(settings: ServicesSettings) -> None:
    """Stop all three; their data stays for the next `up`."""
    stop_kafka(settings)
    stop_postgres(settings)
    stop_redis(settings)
    typer.echo("services down")


def status(settings: ServicesSettings) -> dict[str, bool]:
    """Which services answer right now (a real request to each, not a pidfile check)."""
    return {
        "kafka": kafka_answers(settings),
        "postgres": postgres_answers(settings),
        "redis": redis_answers(settings),
    }
