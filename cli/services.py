"""`moodwatch services up|down|status`: the local-services tooling (devstack), for development
and tests. The production image leaves devstack out; there these commands say so."""

from types import ModuleType

import typer

from schemas.exit_codes import ExitCode, UserError

services_app = typer.Typer(
    help="Local Kafka, PostgreSQL and Redis on loopback (development and tests).",
    no_args_is_help=True,
)


def _manager() -> ModuleType:
    try:
        from devstack import manager
    except ModuleNotFoundError as missing:
        raise UserError(
            f"the local-services tooling is not installed here ({missing.name})",
            hint="in production, Kafka, PostgreSQL and Redis come from docker compose",
            exit_code=ExitCode.BAD_SETTINGS,
        ) from None
    return manager


@services_app.command("up")
def services_up() -> None:
    """Install when missing, start, and wait for Kafka, PostgreSQL and Redis (idempotent)."""
    from schemas.settings import ServicesSettings

    _manager().up(ServicesSettings())


@services_app.command("down")
def services_down() -> None:
    """Stop the local services started by `services up` (data is kept)."""
    from schemas.settings import ServicesSettings

    _manager().down(ServicesSettings())


@services_app.command("status")
def services_status() -> None:
    """Say which local services answer."""
    from schemas.settings import ServicesSettings

    for name, ok in _manager().status(ServicesSettings()).items():
        typer.echo(f"{name:10s} {'up' if ok else 'down'}")
