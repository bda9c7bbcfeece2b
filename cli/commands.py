"""The `moodwatch` command: one entry point for services, migrations, training, worker, feeding.

Each command parses its options and dispatches to the package that does the work; the longer
option lists live beside it (`cli.produce`, `cli.train`, `cli.services`)."""

from importlib import metadata
from typing import Annotated

import typer

from cli.export import export
from cli.produce import produce
from cli.sentinel import EPILOG as SENTINEL_EPILOG
from cli.sentinel import sentinel
from cli.services import services_app
from cli.storage import maintain, relabel
from cli.train import train
from schemas.exit_codes import ExitCode, exit_codes_help

# Tracebacks are for bugs: cli.main turns a person's mistakes into a line or two.
app = typer.Typer(
    help="moodwatch: a streaming social-media emotion monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(services_app, name="services")
app.command()(produce)
app.command()(train)
app.command()(maintain)
app.command()(relabel)
app.command(epilog=SENTINEL_EPILOG)(sentinel)
app.command()(export)
SETTINGS_NOTE = "`moodwatch settings` lists each variable with its value, default and source."


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"moodwatch {metadata.version('moodwatch')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """moodwatch: a streaming social-media emotion monitor."""


@app.command(
    epilog="Reads MOODWATCH_DB_* (connects as the write role; MOODWATCH_ENV=production refuses "
    f"its placeholder password) and MOODWATCH_ENV. {SETTINGS_NOTE}\n\n"
    + exit_codes_help(ExitCode.OK, ExitCode.BAD_SETTINGS, ExitCode.SERVICE_UNREACHABLE)
)
def migrate() -> None:
    """Wait for PostgreSQL (up to a minute), then bring the schema to the newest revision."""
    from schemas.migrate import upgrade_to_head
    from schemas.settings import MigrateSettings

    upgrade_to_head(MigrateSettings().db)


@app.command(
    epilog="Reads MOODWATCH_WORKER_* (bundle, batching, device, dead-letter cap, metrics port: "
    "taken, the next free one above it is used), MOODWATCH_KAFKA_*, MOODWATCH_DB_* (the write "
    "role; production refuses its placeholder password), MOODWATCH_REDIS_*, MOODWATCH_ENV and "
    f"MOODWATCH_LOG_*. {SETTINGS_NOTE}\n\n"
    + exit_codes_help(
        ExitCode.OK,
        ExitCode.BAD_SETTINGS,
        ExitCode.DLQ_CAP,
        ExitCode.DB_DOWN_AT_STOP,
        ExitCode.DLQ_UNAVAILABLE,
        ExitCode.STALLED,
        ExitCode.SERVICE_UNREACHABLE,
        ExitCode.NO_BUNDLE,
        ExitCode.PORT_IN_USE,
    )
)
def worker() -> None:
    """Consume the posts topic until SIGTERM/SIGINT."""
    from schemas.settings import WorkerSettings
    from worker.app import run_worker

    raise typer.Exit(run_worker(WorkerSettings()))


@app.command(
    epilog="Reads MOODWATCH_DASHBOARD_* (port, refresh, worker metrics URL), MOODWATCH_DB_* (the "
    "read-only role; production refuses its placeholder password), MOODWATCH_REDIS_* and "
    f"MOODWATCH_ENV. {SETTINGS_NOTE}\n\n"
    + exit_codes_help(ExitCode.OK, ExitCode.BAD_SETTINGS, ExitCode.PORT_IN_USE)
)
def dashboard() -> None:
    """Run the Streamlit dashboard in the foreground."""
    from dashboard.launch import run_dashboard
    from schemas.settings import DashboardSettings

    raise typer.Exit(run_dashboard(DashboardSettings()))


@app.command()
def settings(
    defaults: Annotated[
        bool, typer.Option("--defaults", help="print the Markdown table of defaults (README)")
    ] = False,
) -> None:
    """Print every MOODWATCH_* variable: its effective value, default and source (env/default).

    Secrets show as ******** (or as the development placeholder); invalid values and the
    production checks each command applies are reported after the table (exit 2).
    """
    from schemas.settings_doc import effective_table, markdown_table, settings_problems

    if defaults:
        typer.echo(markdown_table())
        return
    typer.echo(effective_table())
    warnings, errors = settings_problems()
    for line in warnings + [f"Error: {error}" for error in errors]:
        typer.echo(line, err=True)
    if errors:
        raise typer.Exit(ExitCode.BAD_SETTINGS)


@app.command(epilog=exit_codes_help(ExitCode.OK, ExitCode.SERVICE_UNREACHABLE))
def dlq(
    limit: Annotated[int, typer.Option(help="the newest N dead letters; 0 = all")] = 20,
    follow: Annotated[bool, typer.Option(help="then wait for new ones (Ctrl-C stops)")] = False,
) -> None:
    """Print dead letters (MOODWATCH_KAFKA_DLQ_TOPIC): time, origin, reason, value.

    Reads without joining a consumer group, so the worker's offsets are not touched.
    """
    from schemas.settings import KafkaSettings
    from worker.dlq_reader import show_dead_letters

    show_dead_letters(KafkaSettings(), limit, follow, typer.echo)
