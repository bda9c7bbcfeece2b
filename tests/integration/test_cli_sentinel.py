"""`moodwatch sentinel` as a user starts it: it says it started, evaluates as the sentinel role,
keeps going while PostgreSQL does not answer, and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from schemas.exit_codes import ExitCode

pytestmark = pytest.mark.integration


def start(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "sentinel.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "sentinel"],
        env={**os.environ, "MOODWATCH_SENTINEL_INTERVAL_S": "1", **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, log


def wait_for_line(log: Path, text: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"no {text!r} in: {log.read_text()[-500:]}"
        time.sleep(0.2)  # polling another process's log


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def test_the_sentinel_starts_evaluates_and_stops_cleanly(database: Engine, tmp_path: Path) -> None:
    process, log = start(tmp_path, MOODWATCH_LOG_LEVEL="INFO")
    try:
        wait_for_line(log, "sentinel started")
    finally:
        code = stop(process)
    assert code == ExitCode.OK, log.read_text()[-500:]
    assert "sentinel stopped cleanly" in log.read_text()
    assert "Traceback" not in log.read_text()


def test_a_database_that_does_not_answer_is_waited_out(database: Engine, tmp_path: Path) -> None:
    process, log = start(tmp_path, MOODWATCH_DB_PORT="1")
    try:
        wait_for_line(log, "trying again next interval")
        assert process.poll() is None  # still running
    finally:
        code = stop(process)
    assert code == ExitCode.OK
    assert "moodwatch-sentinel-dev" not in log.read_text()  # the password never shows
