"""A database of a test's own beside the session's (`<session db>_<suffix>`), for tests that
drop partitions or walk the migrations, which would disturb the other tests' rows."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine

from schemas.settings import DatabaseSettings, ServicesSettings
from tests.isolation import drop_database


@contextmanager
def scratch_database(
    services: ServicesSettings, suffix: str, *, migrate: bool = True
) -> Iterator[tuple[DatabaseSettings, Engine]]:
    """Created as `services up` creates the real one (and migrated to head unless told not
    to); dropped afterwards."""
    from devstack.postgres import provision
    from schemas.migrate import upgrade_to_head

    db = services.db.model_copy(update={"name": f"{services.db.name}_{suffix}"})
    drop_database(db.port, db.name)
    provision(services.model_copy(update={"db": db}))
    if migrate:
        upgrade_to_head(db)
    engine = create_engine(db.url())
    try:
        yield db, engine
    finally:
        engine.dispose()
        drop_database(db.port, db.name)
