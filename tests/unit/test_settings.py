"""Settings: validated at start-up, secrets refused in production, never printed."""

import pytest
from pydantic import ValidationError

from schemas.settings import DashboardSettings, DatabaseSettings, WorkerSettings


def test_production_refuses_the_placeholder_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_ENV", "production")
    with pytest.raises(ValidationError, match="MOODWATCH_DB_PASSWORD must be set"):
        WorkerSettings()
    monkeypatch.setenv("MOODWATCH_DB_PASSWORD", "s3cret!")
    assert WorkerSettings().db.password.get_secret_value() == "s3cret!"
    with pytest.raises(ValidationError, match="MOODWATCH_DB_READONLY_PASSWORD must be set"):
        DashboardSettings()


def test_nonsense_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_WORKER_BATCH_MAX_SIZE", "0")
    with pytest.raises(ValidationError, match="batch_max_size"):
        WorkerSettings()


def test_passwords_do_not_show_in_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_DB_PASSWORD", "hunter2-very-secret")
    settings = WorkerSettings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())


def test_slow_batches_widen_the_poll_interval() -> None:
    assert WorkerSettings().max_poll_interval_ms >= 60_000
    slow = WorkerSettings(expected_batch_s=600)
    assert slow.max_poll_interval_ms > 3 * 600 * 1000


def test_readonly_url_uses_the_readonly_role() -> None:
    assert "moodwatch_ro:" in DatabaseSettings().url(readonly=True)
