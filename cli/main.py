"""The `moodwatch` entry point: the Typer app, with a person's mistakes told in a few lines.

A `UserError` (a bundle, a service, a port) or an invalid MOODWATCH_* setting becomes at most
three lines on stderr and its documented exit code (schemas/exit_codes.py) instead of a
traceback; MOODWATCH_LOG_LEVEL=DEBUG shows the traceback as well. Anything else is a bug and
keeps its traceback.
"""

import os
import sys
import traceback

from pydantic import ValidationError

from schemas.exit_codes import ExitCode, UserError

MAX_LINES = 3


def _debug() -> bool:
    # Read directly: RuntimeSettings itself may be what is invalid.
    wanted = {key.upper(): value for key, value in os.environ.items()}
    return wanted.get("MOODWATCH_LOG_LEVEL", "").upper() == "DEBUG"


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
