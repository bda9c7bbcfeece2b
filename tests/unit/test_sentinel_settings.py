"""The sentinel's settings: its role's password refused as a placeholder in production, webhook
URLs checked at start-up, the webhook secret never shown."""

import pytest
from pydantic import SecretStr, ValidationError

from schemas.settings import SentinelSettings
from schemas.settings_doc import effective_rows
from sentinel.delivery import WebhookSink


def test_production_refuses_the_sentinel_roles_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_ENV", "production")
    with pytest.raises(ValidationError, match="MOODWATCH_DB_SENTINEL_PASSWORD must be set"):
        SentinelSettings()
    monkeypatch.setenv("MOODWATCH_DB_SENTINEL_PASSWORD", "another-secret")
    assert "moodwatch_sentinel:another-secret@" in SentinelSettings().db.sentinel_url()


def test_webhook_urls_are_a_comma_separated_list_of_http_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOODWATCH_SENTINEL_WEBHOOK_URLS", "http://a/hook, https://b/hook")
    assert SentinelSettings().webhooks == ("http://a/hook", "https://b/hook")
    monkeypatch.setenv("MOODWATCH_SENTINEL_WEBHOOK_URLS", "ftp://nope")
    with pytest.raises(ValidationError, match="not an http"):
        SentinelSettings()


def test_the_webhook_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODWATCH_SENTINEL_WEBHOOK_SECRET", "hunter2-webhook")
    settings = SentinelSettings()
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    shown = dict((row[0], row[1]) for row in effective_rows())
    assert shown["MOODWATCH_SENTINEL_WEBHOOK_SECRET"] == "********"
    sink = WebhookSink(("http://a",), "X-Secret", SecretStr("hunter2-webhook"))
    assert "hunter2" not in repr(sink)
