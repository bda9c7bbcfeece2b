"""The dashboard's worker tile: lag and posts skipped as already stored, from /metrics."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dashboard.live import WorkerHealth, scrape_worker

METRICS = b"""# TYPE moodwatch_consumer_lag gauge
moodwatch_consumer_lag 7.0
# TYPE moodwatch_posts_stored_total counter
moodwatch_posts_stored_total 1500.0
# TYPE moodwatch_posts_duplicate_total counter
moodwatch_posts_duplicate_total 2000.0
"""


class Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the handler's API
        self.send_response(200)
        self.end_headers()
        self.wfile.write(METRICS)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def metrics_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/metrics"
    server.shutdown()


def test_the_tile_shows_lag_and_the_posts_skipped_as_already_stored(metrics_url: str) -> None:
    health = scrape_worker(metrics_url)
    assert health.status == "healthy"
    assert health.detail == "lag 7 records · 2,000 already stored, skipped"


def test_no_skips_no_mention() -> None:
    assert WorkerHealth(lag=0, stored_total=3, duplicates_total=0).detail == "lag 0 records"


def test_unreachable_metrics_say_why() -> None:
    health = scrape_worker("http://127.0.0.1:1/metrics")
    assert health.status == "unknown" and "unreachable" in health.detail
