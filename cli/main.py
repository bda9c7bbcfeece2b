"""The `moodwatch` entry point: the Typer app, with a person's mistakes told in a few lines.

A `UserError` (a bundle, a service, a port) or an invalid MOODWATCH_* setting becomes at most
three lines on stderr and its documented exit code (schemas/exit_codes.py) instead of a
traceback; MOODWATCH_LOG_LEVEL=DEBUG shows the traceback as well. Anything else is a bug and
keeps its traceback.

At the default log level the libraries' own chatter that asks nothing of the reader (model load
reports, sub-second load bars, deprecations inside torch) stays off the terminal; INFO or DEBUG
shows it again (`quiet_libraries`).
"""

import os
import sys
import traceback
from collections.abc import MutableMapping

from pydantic import ValidationError

from schemas.exit_codes import ExitCode, UserError

MAX_LINES = 3
VERBOSE_LEVELS = ("DEBUG", "INFO")


def _log_level(environ: MutableMapping[str, str] | None = None) -> str:
    # Read directly: RuntimeSettings itself may be what is invalid.
    source = os.environ if environ is None else environ
    wanted = {key.upper(): value for key, value in source.items()}
    return wanted.get("MOODWATCH_LOG_LEVEL", "").strip().upper()


def _debug() -> bool:
    return _log_level() == "DEBUG"


def quiet_libraries(environ: MutableMapping[str, str] | None = None) -> None:
    """Below INFO, keep known library noise off the terminal; a variable already set wins.

    Runs before any library loads: transformers and huggingface_hub read these variables when
    they are imported. Errors still show, and so do warnings not named here.
    """
    environ = os.environ if environ is None else environ
    if _log_level(environ) in VERBOSE_LEVELS:
        return
    # transformers reports each load at WARNING: "BertForSequenceClassification LOAD REPORT ...
    # classifier.weight MISSING, newly initialized" at every fine-tuning start is what
    # fine-tuning a new head means, not a fault.
    environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # Offline, the hub's progress bars are only transformers' "Loading weights" and "Writing
    # model shards", a fraction of a second per member, several per training; the training's
    # own bars are plain tqdm and stay. With a hub, downloads keep their bars.
    if environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def explain(exc: BaseException) -> tuple[ExitCode, list[str]] | None:
    """The exit code and lines for a failure a person can fix; None for anything else."""
    if isinstance(exc, UserError):
        return exc.exit_code, exc.lines()
    if isinstance(exc, ValidationError):
        from schemas.settings_doc import explain_validation_error, is_settings_error

        if is_settings_error(exc):
            found = explain_validation_error(exc)
            lines = [f"Error: {found[0]}"]
            if len(found) > 1:
                lines.append(f"  and {len(found) - 1} more: `moodwatch settings` lists them")
            return ExitCode.BAD_SETTINGS, lines
    return None


def main() -> None:
    quiet_libraries()
    from cli.commands import app

    try:
        app()  # standalone: click exits by itself, on success too
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        if _debug():
            traceback.print_exc()
        code, lines = explained
        for line in lines[:MAX_LINES]:
            print(line, file=sys.stderr)  # noqa: T201 - the CLI's own error output
        sys.exit(int(code))


if __name__ == "__main__":
    main()
