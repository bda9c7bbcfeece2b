"""Wait for PostgreSQL, then run Alembic to the newest revision (the prestart step)."""

from importlib.resources import files

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from tenacity import retry, stop_after_delay, wait_exponential

from schemas.exit_codes import ExitCode, UserError
from schemas.settings import DatabaseSettings

log = structlog.get_logger(__name__)


def alembic_config(db: DatabaseSettings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("schemas") / "migrations"))
    # ConfigParser interpolates '%'; a password may hold one.
    config.set_main_option("sqlalchemy.url", db.url().replace("%", "%%"))
    config.set_main_option("moodwatch_readonly_role", db.readonly_user)
    config.set_main_option("moodwatch_sentinel_role", db.sentinel_user)
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
    """Raises `UserError` (exit SERVICE_UNREACHABLE) when PostgreSQL never answered."""
    try:
        wait_for_database(db)
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]  # psycopg's own first line
        raise UserError(
            f"cannot connect to PostgreSQL at {db.host}:{db.port}: {reason}",
            hint="is it up? `moodwatch services up` starts it; MOODWATCH_DB_* say where, as whom",
            exit_code=ExitCode.SERVICE_UNREACHABLE,
        ) from exc
    command.upgrade(alembic_config(db), "head")
    log.info("schema at head")
