"""The `moodwatch` command: one entry point for services, migrations, training, worker, feeding."""

import os
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from cli.services import services_app
from schemas.exit_codes import ExitCode, exit_codes_help

# Tracebacks are for bugs: cli.main turns a person's mistakes into a line or two.
app = typer.Typer(
    help="moodwatch: a streaming social-media emotion monitor.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(services_app, name="services")
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


@app.command()
def produce(
    source: Annotated[
        str, typer.Argument(help="a .jsonl/.csv/.tsv/.txt file (other names: --format), or -")
    ],
    rate: Annotated[float, typer.Option(help="posts per second; 0 = as fast as possible")] = 0.0,
    limit: Annotated[int, typer.Option(help="stop after this many posts; 0 = all")] = 0,
    input_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (by suffix; a .txt whose lines all end in ;<emotion> is Kaggle "
            "text;label, else one post per line; stdin: JSON objects and plain lines), "
            "jsonl, csv, tsv, text or kaggle",
        ),
    ] = "auto",
    text_column: Annotated[str, typer.Option(help="CSV/JSONL field holding the text")] = "text",
    id_column: Annotated[
        str | None,
        typer.Option(
            help="field holding the post id (default: id where a row has one; else an id is "
            "made from the row's content, so a replay stores nothing twice)",
            show_default=False,
        ),
    ] = None,
    author_column: Annotated[
        str | None, typer.Option(help="field for author (default: author)")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="field for created_at, RFC 3339 (default: created_at)")
    ] = None,
    source_column: Annotated[
        str | None, typer.Option(help="field for source (default: source)")
    ] = None,
    lang_column: Annotated[str | None, typer.Option(help="field for lang (default: lang)")] = None,
    source_name: Annotated[
        str, typer.Option("--source-name", help="`source` of rows without one")
    ] = "replay",
    warp_days: Annotated[
        float, typer.Option(help="spread created_at evenly over the past N days (time-warp)")
    ] = 0.0,
    id_prefix: Annotated[str, typer.Option(help="a namespace before generated ids")] = "",
    skip_bad_rows: Annotated[
        bool, typer.Option(help="skip, report and count bad rows instead of stopping")
    ] = False,
) -> None:
    """Feed posts into the posts topic, with a progress bar."""
    from producer.send import ProduceError, ProduceOptions, produce_file
    from schemas.settings import ProducerSettings

    try:
        options = ProduceOptions(
            source=source,
            rate=rate,
            limit=limit,
            format=input_format,
            text_column=text_column,
            id_column=id_column,
            author_column=author_column,
            time_column=time_column,
            source_column=source_column,
            lang_column=lang_column,
            source_name=source_name,
            warp_days=warp_days,
            id_prefix=id_prefix,
            skip_bad_rows=skip_bad_rows,
        )
        result = produce_file(ProducerSettings(), options)
    except ProduceError as error:
        for line in error.lines():
            typer.echo(line, err=True)
        raise typer.Exit(error.exit_code) from None
    skipped = f" ({result.skipped} bad rows skipped)" if result.skipped else ""
    typer.echo(f"produced {result.sent} posts{skipped}")


@app.command()
def train(
    profile: Annotated[str, typer.Option(help="quick (minutes on CPU) or full")] = "quick",
    output: Annotated[Path | None, typer.Option(help="bundle directory")] = None,
    members: Annotated[
        str | None,
        typer.Option(help="comma-separated members of the profile to train; default all"),
    ] = None,
    source: Annotated[
        list[Path] | None,
        typer.Option(
            help="more training data, repeatable: .jsonl, .csv, Kaggle .txt, or a Hugging Face "
            "dataset directory (save_to_disk)"
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="text field of --source data")] = "text",
    label_column: Annotated[
        str, typer.Option(help="label field of --source data (id 0-5 or name)")
    ] = "label",
    split: Annotated[
        str | None, typer.Option(help="split of a dataset directory; default its only or train")
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option(help="skip and count bad rows of --source data instead of stopping")
    ] = False,
    default_data: Annotated[
        bool, typer.Option(help="train on CARER train + goemotions_train besides --source")
    ] = True,
    encoder: Annotated[
        list[str] | None,
        typer.Option(
            help="one more member from your own encoder, repeatable: a local transformers "
            "directory, or a hub id where a hub is reachable"
        ),
    ] = None,
) -> None:
    """Fine-tune the ensemble members and write a model bundle."""
    # Before torch loads: spinning OpenMP threads halve training speed when anything else runs.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from model.allocator import keep_freed_memory
    from schemas.settings import TrainingSettings
    from training.data import DataSourceError
    from training.encoders import EncoderError
    from training.pipeline import train_bundle
    from training.profiles import get_profile
    from training.sources import DataSource

    keep_freed_memory()

    settings = TrainingSettings()
    chosen = [name.strip() for name in members.split(",")] if members else None
    own_encoders = encoder or []
    try:  # an unknown profile or member: say which before anything starts, no traceback
        get_profile(profile).with_encoders(own_encoders).subset(chosen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sources = [
        DataSource(path, text_column, label_column, split, skip_bad_rows) for path in source or []
    ]
    try:
        bundle = train_bundle(
            settings,
            profile,
            output or settings.output_dir,
            chosen,
            sources,
            default_data,
            own_encoders,
        )
    except (DataSourceError, EncoderError) as error:  # which file or encoder, and why
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"bundle written to {bundle}")


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
