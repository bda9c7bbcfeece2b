"""`moodwatch produce`: feed posts from a file or stdin into the posts topic.

Reading and encoding live in `producer.sources` and `producer.plan` (testable without
Kafka); this module paces the sends, shows progress, and counts what the broker acknowledged.
"""

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from tqdm import tqdm

from producer.plan import MessagePlan, ProduceOptions, encode_message, plan_messages
from producer.sources import STDIN, ProduceError, SourceError
from schemas.exit_codes import ExitCode
from schemas.settings import KafkaSettings, ProducerSettings

__all__ = [
    "ProduceError",
    "ProduceOptions",
    "Produced",
    "RateSchedule",
    "SourceError",
    "produce_file",
]

LINGER_MS = 5
CLOSE_TIMEOUT_S = 10.0
MAX_REPORTED_ROWS = 20  # past this, one line says how many more: the count is what matters
KAFKA_HINT = "start it with `moodwatch services up`, or set MOODWATCH_KAFKA_BOOTSTRAP_SERVERS"


@dataclass(frozen=True)
class Produced:
    """What a run did: posts the broker acknowledged, bad rows left out (--skip-bad-rows)."""

    sent: int
    skipped: int = 0


class RateSchedule:
    """Paces calls to `rate` per second against a monotonic schedule: message n is due at
    start + n / rate, so a late wake-up is caught up instead of drifting. rate 0 never waits."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None
        self._count = 0

    def wait(self) -> None:
        """Block until the next message is due."""
        if self._interval == 0.0:
            return
        if self._start is None:
            self._start = self._clock()
        delay = self._start + self._count * self._interval - self._clock()
        if delay > 0:
            self._sleep(delay)
        self._count += 1


class DeliveryTracker:
    """Counts acknowledged and failed sends; callbacks run on the producer's I/O thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acked = 0
        self.failed = 0
        self.first_error: BaseException | None = None

    def on_success(self, _metadata: Any) -> None:
        with self._lock:
            self.acked += 1

    def on_error(self, error: BaseException) -> None:
        with self._lock:
            self.failed += 1
            self.first_error = self.first_error or error

    def raise_if_failed(self, topic: str) -> None:
        if self.failed:
            raise ProduceError(
                f"{self.failed} posts were not delivered to {topic!r} "
                f"({self.acked} were): {self.first_error}",
                exit_code=ExitCode.SERVICE_UNREACHABLE,
            )


def _to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")


def produce_file(
    settings: ProducerSettings,
    options: ProduceOptions,
    *,
    stdin: TextIO | None = None,
    warn: Callable[[str], None] = _to_stderr,
) -> Produced:
    """Send the posts of `options.source` to `settings.kafka.topic`; return how many the broker
    acknowledged and how many bad rows were skipped (each reported to `warn` before the first
    send). Every row is validated before the first send. Raises `ProduceError` (a
    `ValueError`) for bad input, an unreachable broker or undelivered posts."""
    if options.source == STDIN and stdin is None:
        stdin = sys.stdin
    plan = plan_messages(options, stdin=stdin)
    report_skipped(plan.skipped, warn)
    if plan.total == 0:
        return Produced(0, len(plan.skipped))
    producer = connect(settings.kafka, options.compression)
    tracker = DeliveryTracker()
    try:
        _send_all(producer, settings.kafka, plan, RateSchedule(options.rate), tracker)
        producer.flush()
    except KafkaError as error:
        raise _delivery_error(settings.kafka, error) from error
    finally:
        producer.close(timeout=CLOSE_TIMEOUT_S)
    tracker.raise_if_failed(settings.kafka.topic)
    return Produced(tracker.acked, len(plan.skipped))


def report_skipped(errors: Sequence[SourceError], warn: Callable[[str], None]) -> None:
    """Each skipped row as `file:line: reason`, the first MAX_REPORTED_ROWS of them."""
    for error in errors[:MAX_REPORTED_ROWS]:
        warn(str(error))
    if len(errors) > MAX_REPORTED_ROWS:
        warn(f"... and {len(errors) - MAX_REPORTED_ROWS} more")


def connect(kafka: KafkaSettings, compression: str | None = None) -> Any:
    """A `KafkaProducer` that waits for all in-sync replicas; a clear error when unreachable."""
    try:
        return KafkaProducer(
            bootstrap_servers=[s.strip() for s in kafka.bootstrap_servers.split(",") if s.strip()],
            client_id="moodwatch-producer",
            acks="all",
            linger_ms=LINGER_MS,
            compression_type=compression,
        )
    except KafkaError as error:
        raise ProduceError(
            f"cannot reach Kafka at {kafka.bootstrap_servers} ({error})",
            KAFKA_HINT,
            ExitCode.SERVICE_UNREACHABLE,
        ) from error
    except (RuntimeError, ValueError) as error:  # e.g. a compression codec's library missing
        raise ProduceError(f"cannot create the Kafka producer: {error}") from error


def _delivery_error(kafka: KafkaSettings, error: KafkaError) -> ProduceError:
    """A timeout means no broker answered for the topic (down, or no such topic); any other
    Kafka error is about what was sent (say, a post over the broker's size limit)."""
    where = f"Kafka at {kafka.bootstrap_servers}, topic {kafka.topic!r}"
    if isinstance(error, KafkaTimeoutError):
        hint = f"is it running, and does the topic exist? ({KAFKA_HINT})"
        return ProduceError(f"{where}: {error}", hint, ExitCode.SERVICE_UNREACHABLE)
    return ProduceError(f"{where}: {error}")


def _send_all(
    producer: Any,
    kafka: KafkaSettings,
    plan: MessagePlan,
    schedule: RateSchedule,
    tracker: DeliveryTracker,
) -> None:
    with tqdm(total=plan.total, unit="post", desc=kafka.topic, disable=None) as bar:
        for message in plan.messages:
            key, value = encode_message(message)
            schedule.wait()
            future = producer.send(kafka.topic, key=key, value=value)
            future.add_callback(tracker.on_success)
            future.add_errback(tracker.on_error)
            bar.update()
