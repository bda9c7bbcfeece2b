"""Wait for PostgreSQL, then run Alembic to the newest revision (the prestart step)."""

from importlib.resources import files

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from tenacity import retry, stop_after_delay, wait_exponential

from schemas.settings import DatabaseSettings

log = structlog.get_logger(__name__)


def alembic_config(db: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("schemas") / "migrations"))
    # ConfigParser interpolates '%'; a password may hold one.
    config.set_main_option("sqlalchemy.url", db.url().replace("%", "%%"))
    config.set_main_option("moodwatch_readonly_role", db.readonly_user)
    return config


@retry(wait=wait_exponential(max=5), stop=stop_after_delay(60), reraise=True)
def wait_for_database(db: DatabaseSettings) -> None:
    engine = create_engine(db.url(), pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def upgrade_to_head(db: DatabaseSettings) -> None:
    wait_for_database(db)
    command.upgrade(alembic_config(db), "head")
    log.info("schema at head")
