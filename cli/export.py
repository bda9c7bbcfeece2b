"""`moodwatch export`: ONNX files for a bundle's members, and the int8 gate (training does the
same at the end of `moodwatch train`)."""

from pathlib import Path
from typing import Annotated

import typer


def export(
    bundle: Annotated[Path, typer.Option(help="bundle directory")] = Path("models/default"),
) -> None:
    """Export each member to ONNX (fp32 and int8) and pick the precision each runs in on a CPU:
    int8 only where it stays within 0.3 points of fp32 on CARER test and ood_dev."""
    from schemas.bundle import MANIFEST_NAME
    from schemas.settings import TrainingSettings

    if not (bundle / MANIFEST_NAME).is_file():
        raise typer.BadParameter(f"no model bundle at {bundle} (missing {MANIFEST_NAME})")
    from training.data import DataSourceError
    from training.onnx_bundle import export_published

    try:
        manifest = export_published(bundle, TrainingSettings().data_dir)
    except DataSourceError as error:  # the gate's splits are missing
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    for spec in manifest.members:
        if spec.cpu is not None:
            typer.echo(f"{spec.name}: {spec.cpu.reason}")
    typer.echo(f"bundle {manifest.version} exported in {bundle}")
