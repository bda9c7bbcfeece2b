"""Builds the worker from its settings and runs it until SIGTERM/SIGINT."""

import os
import signal
import threading
from pathlib import Path
from typing import Any

import structlog
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Engine, create_engine

from model.allocator import keep_freed_memory
from model.passes import INFERENCE_BATCH_SIZE
from schemas.exit_codes import ExitCode
from schemas.settings import WorkerSettings
from worker.core.factory import CoreSettings, StreamCore, build_core
from worker.core.outage import GaveUpStoring
from worker.core.steps import Labels
from worker.dead_letters import DeadLetterQueue, DeadLetterUnavailable, DlqLimit, DlqLimitExceeded
from worker.horizon import Horizon
from worker.labeller import Labeller, Predicts
from worker.logs import configure_logging
from worker.maintenance import Maintainer
from worker.metrics import serve_metrics
from worker.redis_side import RedisSide
from worker.shadow import ShadowLabeller
from worker.stall_watch import ConsumerStalled, StallWatch
from worker.startup import bundle_unreadable, check_bundle, kafka_logs_quiet, kafka_unreachable
from worker.store import PostgresSink

log = structlog.get_logger(__name__)
SESSION_TIMEOUT_MS = 10_000
# How long the first connection to Kafka may take before the worker gives up (exit 7); the
# client's default (30 s) made a typo in MOODWATCH_KAFKA_BOOTSTRAP_SERVERS slow to report.
BOOTSTRAP_TIMEOUT_MS = 10_000


def make_consumer(settings: WorkerSettings) -> Any:
    """Poll sizes follow the batch: one poll yields at most one batch, and the poll interval
    allows several worst-case batches, so a slow batch does not get us thrown out."""
    return KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        group_id=settings.kafka.group_id,
        client_id="moodwatch-worker",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.batch_max_size,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=3_000,
        # the broker answers a fetch as soon as one record is there (fetch_min_bytes=1), so
        # a long wait costs no latency and keeps an idle consumer from asking 200 times a second
        fetch_max_wait_ms=500,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    )


def subscribe(consumer: Any, topic: str, listener: Any) -> None:
    """Join the group on `topic`, with its metadata fetched first.

    kafka-python 3.0 joins with whatever metadata it has, rejoins once the partitions are
    known, and never applies a rejoin that finishes after the poll that started it returned:
    no partitions, no error, forever. Known partitions at the first join avoid that rejoin.
    """
    consumer.partitions_for_topic(topic)
    consumer.subscribe([topic], listener=listener)


def make_dlq_producer(settings: WorkerSettings) -> Any:
    return KafkaProducer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        client_id="moodwatch-worker-dlq",
        acks="all",
        linger_ms=5,
        max_request_size=1_048_000,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
    )


def connect_kafka(settings: WorkerSettings) -> tuple[Any, Any]:
    """The consumer and the dead-letter producer; a broker that never answered is `UserError`."""
    with kafka_logs_quiet():
        try:
            consumer = make_consumer(settings)
        except KafkaError as exc:
            raise kafka_unreachable(settings.kafka.bootstrap_servers, exc) from exc
        try:
            return consumer, make_dlq_producer(settings)
        except KafkaError as exc:
            consumer.close(autocommit=False)
            raise kafka_unreachable(settings.kafka.bootstrap_servers, exc) from exc


def make_engine(
    settings: WorkerSettings, idle_in_transaction_ms: int = SESSION_TIMEOUT_MS
) -> Engine:
    """The worker's PostgreSQL engine.

    A worker frozen inside its transaction (SIGSTOP, a paused VM, a lost network) keeps the
    locks of the rollup rows it upserted, and every other worker then waits on them, for as
    long as the freeze lasts. PostgreSQL ends such a transaction once it has sat idle for as
    long as Kafka waits before handing the frozen worker's partitions on (its session timeout),
    so the group goes on; the frozen worker's write fails when it wakes, and it retries.
    """
    return create_engine(
        settings.db.url(),
        pool_pre_ping=True,
        pool_size=2,
        connect_args={
            "options": f"-c idle_in_transaction_session_timeout={idle_in_transaction_ms}"
        },
    )


def build_processor(
    settings: WorkerSettings,
    predictor: Predicts,
    consumer: Any,
    dlq_producer: Any,
    stop: threading.Event,
    shadow: Predicts | None = None,
) -> StreamCore:
    """The real collaborators of the core; `worker.core.factory` chains them."""
    redis_side = RedisSide(settings.redis, predictor.version)
    labeller: Labels = Labeller(predictor, redis_side, INFERENCE_BATCH_SIZE)
    if shadow is not None:
        labeller = ShadowLabeller(labeller, shadow, INFERENCE_BATCH_SIZE)
    return build_core(
        CoreSettings(
            batch_max_size=settings.batch_max_size,
            batch_max_wait_s=settings.batch_max_wait_ms / 1000,
            give_up_after_stop_s=settings.db_retry_max_s,
        ),
        consumer=consumer,
        labeller=labeller,
        sink=PostgresSink(make_engine(settings), Horizon(settings.storage.retention_days)),
        dead_letters=DeadLetterQueue(dlq_producer, settings.kafka.dlq_topic),
        dlq_limit=DlqLimit(settings.dlq_max_ratio, settings.dlq_min_messages),
        live=redis_side,
        watch=StallWatch(consumer, settings.stall_timeout_s),
        stop=stop,
    )


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.warning("stopping: finishing the open batch", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _load_predictor(settings: WorkerSettings) -> Predicts:
    # Before torch loads OpenMP: threads that spin while waiting made CPU inference 5-20x
    # slower on a busy machine (other processes on the same cores); an explicit value wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    keep_freed_memory()
    from model.predictor import EnsemblePredictor  # torch import: only when really needed

    if settings.int8 is not None or settings.bf16 is not None:
        log.warning(
            "MOODWATCH_WORKER_INT8 and _BF16 are retired and ignored: CPUs run ONNX Runtime, "
            "int8 where the bundle's gate kept it (MOODWATCH_WORKER_CPU_RUNTIME)"
        )
    try:
        return EnsemblePredictor.load(settings.bundle_path, settings.device, settings.cpu_runtime)
    except (OSError, ValueError) as exc:  # a member directory missing or broken
        raise bundle_unreadable(settings.bundle_path, str(exc)) from exc


def load_bundle(settings: WorkerSettings, bundle: Path) -> Predicts:
    """Another bundle (a candidate in shadow, relabelling), loaded as the live one is."""
    check_bundle(bundle)
    return _load_predictor(settings.model_copy(update={"bundle_path": bundle}))


def _load_shadow(settings: WorkerSettings) -> Predicts | None:
    """The candidate bundle of MOODWATCH_WORKER_SHADOW_BUNDLE_PATH, if any."""
    path = settings.shadow_bundle_path
    return None if path is None else load_bundle(settings, path)


def _start_maintainer(settings: WorkerSettings) -> Maintainer:
    storage = settings.storage
    maintainer = Maintainer(
        make_engine(settings, idle_in_transaction_ms=60_000),
        Horizon(storage.retention_days),
        storage.partitions_ahead_days,
        settings.maintain_every_s,
    )
    maintainer.start()
    return maintainer


def run_worker(settings: WorkerSettings, predictor: Predicts | None = None) -> int:
    """Run until a signal; return the process exit code."""
    configure_logging(settings.runtime)
    if predictor is None:
        check_bundle(settings.bundle_path)
        predictor = _load_predictor(settings)
    shadow = _load_shadow(settings)
    metrics_port = serve_metrics(settings.metrics_port)
    consumer, dlq_producer = connect_kafka(settings)
    stop = threading.Event()
    processor = build_processor(settings, predictor, consumer, dlq_producer, stop, shadow)
    maintainer = _start_maintainer(settings)
    subscribe(consumer, settings.kafka.topic, processor.listener)
    _stop_on_signals(stop)
    log.warning(
        "worker started",
        topic=settings.kafka.topic,
        bundle=predictor.version,
        shadow=shadow.version if shadow is not None else None,
        metrics_port=metrics_port,
    )
    try:
        processor.run()
    except DlqLimitExceeded as exc:
        log.error("dead-letter cap reached; stopping", error=str(exc))
        return ExitCode.DLQ_CAP
    except GaveUpStoring as exc:
        log.error("stopped with the open batch uncommitted", error=str(exc))
        return ExitCode.DB_DOWN_AT_STOP
    except DeadLetterUnavailable as exc:
        log.error(
            "dead letters undeliverable; stopped with the open batch uncommitted", error=str(exc)
        )
        return ExitCode.DLQ_UNAVAILABLE
    except ConsumerStalled as exc:
        log.error(
            "consumer stalled; exiting so that a restart rejoins (nothing committed is lost)",
            error=str(exc),
        )
        return ExitCode.STALLED
    finally:
        maintainer.stopping.set()
        dlq_producer.close(timeout=10)
        consumer.close(autocommit=False)
    log.warning("worker stopped cleanly")
    return ExitCode.OK
