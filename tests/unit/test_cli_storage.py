"""`moodwatch maintain` and `moodwatch relabel` tell a missing PostgreSQL or bundle in a line or
two and their documented exit codes, never a traceback."""

from pathlib import Path

from schemas.exit_codes import ExitCode
from tests.unit.test_cli_errors import assert_short_error, run_cli


def test_maintain_without_postgres_is_exit_7() -> None:
    result = run_cli("maintain", MOODWATCH_DB_PORT="1")
    lines = assert_short_error(result, ExitCode.SERVICE_UNREACHABLE)
    assert "127.0.0.1:1" in lines[0]


def test_relabel_with_no_bundle_is_exit_8(tmp_path: Path) -> None:
    result = run_cli("relabel", "--bundle", str(tmp_path / "missing"), MOODWATCH_DB_PORT="1")
    assert_short_error(result, ExitCode.NO_BUNDLE)
