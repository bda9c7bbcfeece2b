"""The `moodwatch` command: one entry point for services, migrations, training, worker, feeding."""

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="moodwatch: a streaming social-media emotion monitor.", no_args_is_help=True)
services_app = typer.Typer(
    help="Local Kafka, PostgreSQL and Redis on loopback.", no_args_is_help=True
)
app.add_typer(services_app, name="services")


@services_app.command("up")
def services_up() -> None:
    """Install when missing, start, and wait for Kafka, PostgreSQL and Redis (idempotent)."""
    from schemas.settings import ServicesSettings
    from worker.services.manager import up

    up(ServicesSettings())


@services_app.command("down")
def services_down() -> None:
    """Stop the local services started by `services up` (data is kept)."""
    from schemas.settings import ServicesSettings
    from worker.services.manager import down

    down(ServicesSettings())


@services_app.command("status")
def services_status() -> None:
    """Say which local services answer."""
    from schemas.settings import ServicesSettings
    from worker.services.manager import status

    for name, ok in status(ServicesSettings()).items():
        typer.echo(f"{name:10s} {'up' if ok else 'down'}")


@app.command()
def migrate() -> None:
    """Wait for PostgreSQL, then bring the schema to the newest Alembic revision."""
    from schemas.migrate import upgrade_to_head
    from schemas.settings import DatabaseSettings

    upgrade_to_head(DatabaseSettings())


@app.command()
def worker() -> None:
    """Consume the posts topic until SIGTERM/SIGINT."""
    from schemas.settings import WorkerSettings
    from worker.app import run_worker

    raise typer.Exit(run_worker(WorkerSettings()))


@app.command()
def produce(
    source: Annotated[str, typer.Argument(help="a .jsonl/.csv/.txt file, or - for stdin")],
    rate: Annotated[float, typer.Option(help="posts per second; 0 = as fast as possible")] = 0.0,
    limit: Annotated[int, typer.Option(help="stop after this many posts; 0 = all")] = 0,
    text_column: Annotated[str, typer.Option(help="CSV column holding the text")] = "text",
    id_column: Annotated[str, typer.Option(help="CSV/JSONL field holding the post id")] = "id",
    source_name: Annotated[str, typer.Option("--source-name", help="`source` field")] = "replay",
    warp_days: Annotated[
        float, typer.Option(help="spread created_at evenly over the past N days (time-warp)")
    ] = 0.0,
    id_prefix: Annotated[str, typer.Option(help="prefix for generated ids")] = "",
) -> None:
    """Feed posts into the posts topic, with a progress bar."""
    from schemas.settings import ProducerSettings
    from worker.producer import ProduceError, ProduceOptions, produce_file

    try:
        options = ProduceOptions(
            source=source,
            rate=rate,
            limit=limit,
            text_column=text_column,
            id_column=id_column,
            source_name=source_name,
            warp_days=warp_days,
            id_prefix=id_prefix,
        )
        sent = produce_file(ProducerSettings(), options)
    except ProduceError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"produced {sent} posts")


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
    from schemas.settings import TrainingSettings
    from training.data import DataSourceError
    from training.encoders import EncoderError
    from training.pipeline import train_bundle
    from training.profiles import get_profile
    from training.sources import DataSource
    from worker.allocator import keep_freed_memory

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


@app.command()
def dashboard() -> None:
    """Run the Streamlit dashboard in the foreground."""
    from dashboard.launch import run_dashboard
    from schemas.settings import DashboardSettings

    raise typer.Exit(run_dashboard(DashboardSettings()))


@app.command()
def settings() -> None:
    """Print every MOODWATCH_* environment variable with its default, as a Markdown table."""
    from schemas.settings_doc import markdown_table

    typer.echo(markdown_table())


if __name__ == "__main__":
    app()
