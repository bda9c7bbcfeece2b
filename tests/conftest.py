"""Session fixtures: the real services (started when not up), the schema, a tiny bundle."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from schemas.settings import DatabaseSettings, ServicesSettings


@pytest.fixture(scope="session")
def services() -> ServicesSettings:
    """Starts (idempotently) Kafka, PostgreSQL and Redis: integration tests never skip."""
    from worker.services.manager import up

    settings = ServicesSettings()
    up(settings)
    return settings


@pytest.fixture(scope="session")
def database(services: ServicesSettings) -> Iterator[Engine]:
    from schemas.migrate import upgrade_to_head

    db = DatabaseSettings()
    upgrade_to_head(db)
    engine = create_engine(db.url(), pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_bundle import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny")
