"""`moodwatch sentinel`: the alerting process (sentinel/), dispatched like the worker."""

import typer

from schemas.exit_codes import ExitCode, exit_codes_help

EPILOG = (
    "Reads MOODWATCH_SENTINEL_* (rule, webhooks, secret header, cool-down, retries), "
    "MOODWATCH_DB_* (connects as the sentinel role, MOODWATCH_DB_SENTINEL_USER: it reads every "
    "table and writes `alerts` only; production refuses its placeholder password), "
    "MOODWATCH_ENV and MOODWATCH_LOG_*. docs/alerts.md explains the rule.\n\n"
    + exit_codes_help(ExitCode.OK, ExitCode.BAD_SETTINGS)
)


def sentinel() -> None:
    """Every minute: decide whether an emotion spikes, keep alerts in SQL, deliver webhooks."""
    from schemas.settings import SentinelSettings
    from sentinel.app import run_sentinel

    raise typer.Exit(run_sentinel(SentinelSettings()))
