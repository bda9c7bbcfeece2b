"""Webhook delivery: a JSON POST with a Slack-compatible `text` and the structured alert.

Every POST carries the episode's idempotency key (header and field): a receiver that got an
alert whose acknowledgement was lost sees the same key again and can drop the copy. A refused
connection, a timeout, 408, 429 and 5xx are worth retrying (`Retryable`); any other 4xx will not
get better (`Rejected`). The secret header's value is never logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import requests
from pydantic import SecretStr
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUS = {408, 425, 429}


class DeliveryError(Exception):
    pass


class Retryable(DeliveryError):
    """The receiver is down or busy: try again later."""


class Rejected(DeliveryError):
    """The receiver refused the alert itself: retrying would not help."""


class Sink(Protocol):
    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        """Deliver or raise `Retryable` / `Rejected`; may block for the request's timeout."""


def summary(alert: Mapping[str, Any]) -> str:
    """One line a person reads in a chat channel."""
    where = "all sources" if alert["source"] == "*" else f"source {alert['source']}"
    verb = "rose" if alert["direction"] == "rise" else "fell"
    terms = ", ".join(term["term"] for term in alert.get("explanation", [])[:5])
    return (
        f"moodwatch: {alert['emotion']} {verb} to {alert['observed_share']:.1%} of posts "
        f"(baseline {alert['baseline_share']:.1%}; {alert['observed_posts']} of "
        f"{alert['window_posts']} posts, score {alert['score']:+.1f}) on {where} "
        f"at {alert['bucket']}" + (f"; rising terms: {terms}" if terms else "")
    )


def payload(key: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    structured = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in alert.items()
    }
    return {"text": summary(structured), "idempotency_key": key, "alert": structured}


class WebhookSink:
    """POSTs to each URL; an alert is sent when every URL accepted it."""

    def __init__(
        self,
        urls: tuple[str, ...],
        secret_header: str,
        secret: SecretStr,
        *,
        attempts: int = 3,
        timeout_s: float = 5.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.urls = urls
        self._headers = {"Content-Type": "application/json"}
        if secret.get_secret_value():
            self._headers[secret_header] = secret.get_secret_value()
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._sleep = sleep or time.sleep  # tests pass a sleep that only records
        self._session = requests.Session()

    def __repr__(self) -> str:  # the headers hold the secret
        return f"WebhookSink(urls={self.urls!r})"

    def send(self, key: str, payload: Mapping[str, Any]) -> None:
        for url in self.urls:
            retrying = Retrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential(multiplier=0.5, max=4),
                retry=retry_if_exception_type(Retryable),
                reraise=True,
                sleep=self._sleep,
            )
            retrying(self._post, url, key, payload)

    def _post(self, url: str, key: str, payload: Mapping[str, Any]) -> None:
        headers = {**self._headers, IDEMPOTENCY_HEADER: key}
        try:
            response = self._session.post(
                url, json=payload, headers=headers, timeout=self._timeout_s
            )
        except requests.RequestException as exc:
            raise Retryable(f"{url}: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        if status >= 500 or status in RETRYABLE_STATUS:
            raise Retryable(f"{url}: HTTP {status}")
        raise Rejected(f"{url}: HTTP {status}")
