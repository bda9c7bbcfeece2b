"""The worker's start-up failures that need a real bundle: a short error, exit 7, in seconds."""

import time
from pathlib import Path

import pytest

from schemas.exit_codes import ExitCode
from tests.unit.test_cli_errors import assert_short_error, run_cli

pytestmark = pytest.mark.integration


def test_unreachable_kafka_is_exit_7_with_its_address(tiny_bundle: Path) -> None:
    started = time.monotonic()
    result = run_cli(
        "worker",
        MOODWATCH_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
        MOODWATCH_WORKER_BUNDLE_PATH=str(tiny_bundle),
        MOODWATCH_WORKER_METRICS_PORT="0",
        MOODWATCH_WORKER_DEVICE="cpu",
    )
    lines = assert_short_error(result, ExitCode.SERVICE_UNREACHABLE)
    assert lines[0].startswith("Error: cannot connect to Kafka at 127.0.0.1:1")
    assert "moodwatch services up" in lines[1]
    assert time.monotonic() - started < 30


def test_an_unreadable_manifest_is_exit_8(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    result = run_cli("worker", MOODWATCH_WORKER_BUNDLE_PATH=str(tmp_path))
    lines = assert_short_error(result, ExitCode.NO_BUNDLE)
    assert f"model bundle at {tmp_path} is unreadable" in lines[0]
