"""`moodwatch maintain` and `moodwatch relabel`: the stored posts' upkeep (docs/storage.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schemas.settings import DatabaseSettings

TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


@contextmanager
def _database(db: DatabaseSettings) -> Iterator[Engine]:
    """The write role's engine; PostgreSQL not answering is one line and exit 7."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from schemas.exit_codes import ExitCode, UserError

    engine = create_engine(db.url())
    try:
        yield engine
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise UserError(
            f"PostgreSQL at {db.host}:{db.port} failed: {reason}",
            hint="is it up? `moodwatch services up` starts it; MOODWATCH_DB_* say where, as whom",
            exit_code=ExitCode.SERVICE_UNREACHABLE,
        ) from exc
    except ProgrammingError as exc:  # a table of revision 0005 missing
        raise UserError(
            f"database {db.name} is not at the newest schema ({type(exc.orig).__name__})",
            hint="run `moodwatch migrate` first",
            exit_code=ExitCode.BAD_SETTINGS,
        ) from exc
    finally:
        engine.dispose()


def maintain() -> None:
    """Make the day partitions of posts ahead of time, move stray rows into their days, and
    with MOODWATCH_RETENTION_DAYS drop whole days older than that (rollups are kept).

    The worker runs the same every MOODWATCH_WORKER_MAINTAIN_EVERY_S; running it from a timer
    as well is harmless (one maintainer at a time, the others skip).
    """
    from schemas.settings import MaintainSettings
    from worker.horizon import Horizon
    from worker.partitions import maintain as run_maintain

    settings = MaintainSettings()
    storage = settings.storage
    with _database(settings.db) as engine:
        horizon = Horizon(storage.retention_days)
        report = run_maintain(engine, horizon, storage.partitions_ahead_days)
    if report.skipped:
        typer.echo("another maintainer is running; nothing done")
        return
    typer.echo(
        f"partitions made: {len(report.created)} ({report.moved_rows} stray rows moved in), "
        f"dropped: {', '.join(report.dropped) or 'none'}, ledger ids pruned: "
        f"{report.ledger_pruned}"
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def relabel(
    bundle: Annotated[Path, typer.Option(help="the bundle that labels the posts again")],
    since: Annotated[
        datetime | None, typer.Option(formats=TIME_FORMATS, help="from this time (UTC)")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=TIME_FORMATS, help="before this time (UTC)")
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="posts per transaction")] = 512,
) -> None:
    """Label stored posts again with BUNDLE and move the rollup counts with them.

    One transaction per chunk: rows and rollups always agree. Killed at any moment, it resumes
    where it stopped when run again (rows already at BUNDLE's version are skipped). Reads
    MOODWATCH_WORKER_* (device, CPU runtime: the bundle runs as the worker runs it) and
    MOODWATCH_DB_*.
    """
    from tqdm import tqdm

    from schemas.settings import WorkerSettings
    from worker.app import load_bundle
    from worker.relabel import Range, pending
    from worker.relabel import relabel as run_relabel

    settings = WorkerSettings()
    predictor = load_bundle(settings, bundle)
    span = Range(_utc(since), _utc(until))
    with _database(settings.db) as engine:
        total = pending(engine, span, predictor.version)
        started = time.monotonic()
        with tqdm(total=total, unit="post", desc=f"relabel -> {predictor.version[:12]}") as bar:
            done = run_relabel(engine, predictor, span, chunk_size, bar.update)
        seconds = time.monotonic() - started
    rate = done / seconds if seconds > 0 else 0.0
    typer.echo(
        f"relabelled {done} posts in {seconds:.1f} s ({rate:.0f} posts/s) "
        f"with model version {predictor.version}"
    )
