"""`moodwatch train`: its options, handed to `training` (the work is done there)."""

import os
from pathlib import Path
from typing import Annotated

import typer


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
