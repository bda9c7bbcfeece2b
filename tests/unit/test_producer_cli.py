"""What `moodwatch produce` prints and exits with, for runs that never reach Kafka."""

from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError
from typer.testing import CliRunner

from cli.commands import app
from schemas.exit_codes import ExitCode


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["produce", *args])


def test_skipped_rows_are_listed_on_stderr_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("{oops\n\n[1]\n", encoding="utf-8")
    result = run(str(path), "--skip-bad-rows")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "produced 0 posts (2 bad rows skipped)"
    assert result.stderr.splitlines() == [
        f"{path}:1: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{path}:3: expected a JSON object, got list",
    ]


def test_a_bad_row_stops_the_run_with_exit_code_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,text\n1,hello\n", encoding="utf-8")
    result = run(str(path), "--id-column", "post_id")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"Error: {path}:1: no 'post_id' column")


def test_a_file_without_a_suffix_asks_for_format(tmp_path: Path) -> None:
    path = tmp_path / "export"
    path.write_text("hello\n", encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_SETTINGS
    error, hint = result.stderr.splitlines()
    assert error == f"Error: {path}: cannot tell its format (no suffix)"
    assert "--format" in hint


def test_an_unreachable_broker_exits_7_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_broker(**_settings: object) -> None:  # what KafkaProducer raises after its timeout
        raise KafkaTimeoutError("Unable to bootstrap from ['127.0.0.1:1']")

    monkeypatch.setattr("producer.send.KafkaProducer", no_broker)
    path = tmp_path / "posts.txt"
    path.write_text("hello\n", encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == ExitCode.SERVICE_UNREACHABLE
    assert result.stderr.startswith("Error: cannot reach Kafka at ")
    assert "moodwatch services up" in result.stderr
