"""Prometheus metrics of the worker, served on MOODWATCH_WORKER_METRICS_PORT."""

import errno

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from schemas.exit_codes import ExitCode, UserError

log = structlog.get_logger(__name__)
PORT_TRIES = 21  # the configured port and the 20 above it

POSTS_STORED = Counter("moodwatch_posts_stored_total", "posts written (new rows)")
POSTS_DUPLICATE = Counter(
    "moodwatch_posts_duplicate_total",
    "posts skipped because their id was already stored (replays, re-deliveries)",
)
POSTS_EXPIRED = Counter(
    "moodwatch_posts_expired_total",
    "posts skipped because they were created before the retention horizon",
)
POSTS_CONSUMED = Counter("moodwatch_posts_consumed_total", "records consumed, valid or not")
DEAD_LETTERS = Counter("moodwatch_dead_letters_total", "records sent to the dead-letter topic")
CACHE_HITS = Counter("moodwatch_cache_hits_total", "predictions served from Redis")
BATCH_SIZE = Histogram(
    "moodwatch_batch_size", "posts per micro-batch", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
)
BATCH_SECONDS = Histogram(
    "moodwatch_batch_seconds",
    "infer + store + commit time of one batch",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CONSUMER_LAG = Gauge("moodwatch_consumer_lag", "records behind the log end, all owned partitions")
STORE_RETRIES = Counter("moodwatch_store_retries_total", "failed writes that were retried")


def serve_metrics(port: int, tries: int = PORT_TRIES) -> int:
    """Serve /metrics on `port`, or on the next free one when it is taken; return the port used.

    Several workers on one host share one configured port: each takes the next free one.
    0 = off (returns 0). None of `tries` ports free: `UserError` (exit PORT_IN_USE).
    """
    if port <= 0:
        return 0
    last = min(port + tries, 65536) - 1
    for candidate in range(port, last + 1):
        try:  # scraped from other containers, hence all interfaces
            start_http_server(candidate, addr="0.0.0.0")  # noqa: S104
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        if candidate != port:
            log.warning(
                "metrics port taken; serving on the next free one", port=candidate, configured=port
            )
        return candidate
    raise UserError(
        f"ports {port}-{last} are all in use (MOODWATCH_WORKER_METRICS_PORT={port})",
        hint="set MOODWATCH_WORKER_METRICS_PORT to a free port, or 0 for no metrics",
        exit_code=ExitCode.PORT_IN_USE,
    )
