"""An invalid setting is explained in one line that names its MOODWATCH_* variable."""

import pytest
from pydantic import ValidationError

from schemas.settings import KafkaSettings, MigrateSettings, WorkerSettings
from schemas.settings_doc import explain_validation_error, is_settings_error


def _explained(build: type) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        build()
    assert is_settings_error(caught.value)
    return explain_validation_error(caught.value)


def test_a_literal_lists_what_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_WORKER_DEVICE", "gpu")
    assert _explained(WorkerSettings) == [
        "MOODWATCH_WORKER_DEVICE='gpu' is not valid: expected 'auto', 'cpu' or 'cuda'"
    ]


def test_a_bound_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_KAFKA_PARTITIONS", "0")
    assert _explained(KafkaSettings) == [
        "MOODWATCH_KAFKA_PARTITIONS='0' is not valid: expected greater than or equal to 1"
    ]


def test_migrate_applies_the_production_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOODWATCH_DB_PASSWORD", raising=False)
    monkeypatch.setenv("MOODWATCH_ENV", "production")
    assert _explained(MigrateSettings) == [
        "MOODWATCH_DB_PASSWORD must be set in production (the placeholder is refused)"
    ]
    monkeypatch.setenv("MOODWATCH_DB_PASSWORD", "s3cret!")
    assert MigrateSettings().db.password.get_secret_value() == "s3cret!"


def test_a_password_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a validation error today; this guards that one never prints the secret."""
    from schemas import settings_doc

    error = {"type": "x", "loc": ("password",), "msg": "Input should be short", "input": "pw"}
    line = settings_doc._explain("DatabaseSettings", error)  # type: ignore[arg-type]
    assert line == "MOODWATCH_DB_PASSWORD='********' is not valid: expected short"
