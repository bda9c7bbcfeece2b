"""Prometheus metrics of the worker, served on MOODWATCH_WORKER_METRICS_PORT."""

from prometheus_client import Counter, Gauge, Histogram, start_http_server

POSTS_STORED = Counter("moodwatch_posts_stored_total", "posts written (new rows)")
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


def serve_metrics(port: int) -> None:
    if port > 0:
        start_http_server(port, addr="0.0.0.0")  # noqa: S104 - scraped from other containers
