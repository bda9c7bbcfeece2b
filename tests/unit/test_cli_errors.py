"""Start-up mistakes end in a line or two on stderr and a documented exit code, no traceback.

Each test runs the real entry point (`python -m cli.main`, what the `moodwatch` script
calls) in a child process with a controlled environment.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tenacity

from schemas.exit_codes import ExitCode, UserError
from schemas.settings import DatabaseSettings

REPO = Path(__file__).resolve().parents[2]
# Set in a developer's shell, these would change what the tests below expect.
CLEARED = ("MOODWATCH_ENV", "MOODWATCH_DB_PASSWORD", "MOODWATCH_DB_READONLY_PASSWORD")


def run_cli(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in CLEARED and k != "MOODWATCH_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        env={**base, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_short_error(result: subprocess.CompletedProcess[str], code: ExitCode) -> list[str]:
    """At most three lines on stderr, no traceback, the documented exit code."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert 1 <= len(lines) <= 3, result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    return lines


def test_an_invalid_env_name_says_what_is_allowed() -> None:
    lines = assert_short_error(run_cli("worker", MOODWATCH_ENV="prod"), ExitCode.BAD_SETTINGS)
    assert lines[0] == (
        "Error: MOODWATCH_ENV='prod' is not valid: expected 'development' or 'production'"
    )


def test_a_bad_number_names_its_variable() -> None:
    result = run_cli("worker", MOODWATCH_WORKER_BATCH_MAX_SIZE="abc")
    lines = assert_short_error(result, ExitCode.BAD_SETTINGS)
    assert "MOODWATCH_WORKER_BATCH_MAX_SIZE='abc'" in lines[0] and "integer" in lines[0]


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        ("worker", "MOODWATCH_DB_PASSWORD"),
        ("migrate", "MOODWATCH_DB_PASSWORD"),
        ("dashboard", "MOODWATCH_DB_READONLY_PASSWORD"),
    ],
)
def test_production_refuses_the_placeholder_in_one_line(command: str, variable: str) -> None:
    """migrate used to connect with the development password in production."""
    result = run_cli(command, MOODWATCH_ENV="production")
    lines = assert_short_error(result, ExitCode.BAD_SETTINGS)
    assert len(lines) == 1 and variable in lines[0]


def test_a_missing_bundle_says_how_to_make_one() -> None:
    result = run_cli("worker", MOODWATCH_WORKER_BUNDLE_PATH="/nonexistent")
    lines = assert_short_error(result, ExitCode.NO_BUNDLE)
    assert lines[0] == "Error: no model bundle at /nonexistent (manifest.json missing)"
    assert "make model" in lines[1] and "MOODWATCH_WORKER_BUNDLE_PATH" in lines[1]


def test_debug_shows_the_traceback_and_keeps_the_exit_code() -> None:
    result = run_cli(
        "worker", MOODWATCH_WORKER_BUNDLE_PATH="/nonexistent", MOODWATCH_LOG_LEVEL="DEBUG"
    )
    assert "Traceback" in result.stderr and result.returncode == ExitCode.NO_BUNDLE


def test_produce_does_not_read_the_worker_settings(tmp_path: Path) -> None:
    result = run_cli(
        "produce", str(tmp_path / "missing.jsonl"), MOODWATCH_WORKER_BATCH_MAX_SIZE="x"
    )
    assert result.returncode != ExitCode.BAD_SETTINGS, result.stderr
    assert "MOODWATCH_WORKER" not in result.stderr and "Traceback" not in result.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip().startswith("moodwatch 0.")


@pytest.mark.parametrize("command", ["worker", "dashboard", "migrate"])
def test_help_names_the_variables_and_exit_codes(command: str) -> None:
    result = run_cli(command, "--help")
    text = " ".join(result.stdout.split())  # whatever the wrapping
    assert result.returncode == 0
    assert "MOODWATCH_DB_*" in text and "moodwatch settings" in text
    assert "Exit codes" in text and "2 a MOODWATCH_* variable" in text


def test_unreachable_postgres_is_exit_7_with_its_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schemas import migrate

    # one attempt instead of a minute of them
    monkeypatch.setattr(migrate.wait_for_database.retry, "stop", tenacity.stop_after_attempt(1))
    with pytest.raises(UserError) as caught:
        migrate.upgrade_to_head(DatabaseSettings(host="127.0.0.1", port=1))
    assert caught.value.exit_code == ExitCode.SERVICE_UNREACHABLE
    assert "127.0.0.1:1" in str(caught.value) and "services up" in caught.value.hint
