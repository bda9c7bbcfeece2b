"""A benchmark's own database, so that its rows never reach the user's (`make run`'s) tables.

Workers a benchmark starts inherit the environment, so pointing `MOODWATCH_DB_NAME` at the
benchmark's database here sends their rows there too.
"""

import os

from devstack.postgres import provision
from schemas.migrate import upgrade_to_head
from schemas.settings import DatabaseSettings, ServicesSettings


def own_database(name: str) -> DatabaseSettings:
    """The database `name`, created (or kept) as `services up` creates the user's, at head."""
    services = ServicesSettings()
    db = services.db.model_copy(update={"name": name})
    provision(services.model_copy(update={"db": db}))
    upgrade_to_head(db)
    return db


def use_own_database(name: str) -> DatabaseSettings:
    """`own_database`, made the one every later `DatabaseSettings()` and worker reads."""
    db = own_database(name)
    os.environ["MOODWATCH_DB_NAME"] = db.name
    return db
