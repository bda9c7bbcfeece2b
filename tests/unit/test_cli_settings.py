"""`moodwatch settings`: effective values with their source, secrets masked, errors listed."""

from schemas.exit_codes import ExitCode
from tests.unit.test_cli_errors import run_cli


def _row(stdout: str, variable: str) -> list[str]:
    rows = [line.split() for line in stdout.splitlines() if line.startswith(variable + " ")]
    assert len(rows) == 1, stdout
    return rows[0]


def test_an_env_value_shows_with_source_env_and_a_masked_password() -> None:
    result = run_cli(
        "settings",
        MOODWATCH_WORKER_BATCH_MAX_SIZE="77",
        MOODWATCH_DB_PASSWORD="hunter2-very-secret",
    )
    assert result.returncode == 0, result.stderr
    assert _row(result.stdout, "MOODWATCH_WORKER_BATCH_MAX_SIZE") == [
        "MOODWATCH_WORKER_BATCH_MAX_SIZE",
        "77",
        "256",
        "env",
    ]
    assert _row(result.stdout, "MOODWATCH_DB_PASSWORD")[1:2] == ["********"]
    assert _row(result.stdout, "MOODWATCH_DB_PASSWORD")[-1] == "env"
    assert "hunter2" not in result.stdout + result.stderr
    assert _row(result.stdout, "MOODWATCH_DB_READONLY_PASSWORD")[1] == "(development"
    assert _row(result.stdout, "MOODWATCH_DB_READONLY_PASSWORD")[-1] == "default"


def test_invalid_values_are_errors_not_tracebacks() -> None:
    result = run_cli("settings", MOODWATCH_WORKER_BATCH_MAX_SIZE="abc", MOODWATCH_ENV="production")
    assert result.returncode == ExitCode.BAD_SETTINGS and "Traceback" not in result.stderr
    assert "MOODWATCH_WORKER_BATCH_MAX_SIZE='abc' is not valid" in result.stderr
    assert "MOODWATCH_DB_READONLY_PASSWORD must be set in production" in result.stderr
    assert _row(result.stdout, "MOODWATCH_WORKER_BATCH_MAX_SIZE")[1:] == ["abc", "256", "env"]


def test_a_misspelt_variable_is_pointed_out() -> None:
    result = run_cli("settings", MOODWATCH_WORKER_BATCH_SIZE="64")
    assert "MOODWATCH_WORKER_BATCH_SIZE is set but no setting reads it" in result.stderr


def test_defaults_is_the_readme_table() -> None:
    result = run_cli("settings", "--defaults")
    assert result.returncode == 0
    assert result.stdout.startswith("| variable | default | meaning |")
    assert "| `MOODWATCH_WORKER_METRICS_PORT` | `9108` |" in result.stdout
