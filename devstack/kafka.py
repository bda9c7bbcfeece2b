"""A single-node Apache Kafka broker in KRaft mode, from the official jars on Maven Central."""

import base64
import logging
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devstack.common import (
    ServiceError,
    bootstrap_address,
    echo,
    failure,
    listener_pid,
    port_open,
    process_runs,
    read_pid,
    run_command,
    terminate,
    wait_until,
)
from schemas.settings import ServicesSettings

NAME = "kafka"
MAIN_CLASS = "kafka.Kafka"
HEAP = "-Xmx768m"
POM = Path(__file__).with_name("kafka-broker.pom.xml")
PROBE_TIMEOUT_MS = 3000

# Brokers launched by this process: kept so that they are not garbage-collected while
# running (which warns), and polled, which reaps them once they exit.
_launched: list[subprocess.Popen[bytes]] = []


def kafka_dir(settings: ServicesSettings) -> Path:
    return settings.state_dir.resolve() / "kafka"


def log_path(settings: ServicesSettings) -> Path:
    return kafka_dir(settings) / "kafka.log"


def pidfile(settings: ServicesSettings) -> Path:
    return kafka_dir(settings) / "kafka.pid"


def libs_dir(settings: ServicesSettings) -> Path:
    return (
        settings.maven_cache_dir.expanduser().resolve() / f"kafka-{settings.kafka_version}" / "libs"
    )


def resolve_jars(settings: ServicesSettings) -> Path:
    """Copy the broker's runtime jars from Maven Central once per Kafka version."""
    libs = libs_dir(settings)
    if libs.is_dir():
        return libs
    echo(NAME, f"resolving Kafka {settings.kafka_version} jars with Maven (first run only)")
    # Download into a scratch folder and rename at the end, so that an interrupted
    # download is never mistaken for a complete cache.
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    run_command(
        [
            _require("mvn"),
            "-B",
            "-q",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
            "-Dmdep.includeScope=runtime",
            f"-Dkafka.version={settings.kafka_version}",
        ],
        what=f"mvn dependency:copy-dependencies (Kafka {settings.kafka_version})",
    )
    partial.rename(libs)
    return libs


def write_config(settings: ServicesSettings) -> Path:
    """(Re)write server.properties and the log4j2 config; settings may have changed."""
    directory = kafka_dir(settings)
    host, port = bootstrap_address(settings.kafka.bootstrap_servers)
    ctrl = settings.kafka_controller_port
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{ctrl}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctrl}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(directory / "data"),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # A lone consumer should not wait 3 s for companions that never come.
        "group.initial.rebalance.delay.ms": "0",
        # Topics come from `services up` with the configured partition count only.
        "auto.create.topics.enable": "false",
    }
    config = directory / "server.properties"
    config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
    (directory / "log4j2.properties").write_text(
        "appender.out.type = Console\n"
        "appender.out.name = OUT\n"
        "appender.out.layout.type = PatternLayout\n"
        "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.out.ref = OUT\n"
    )
    return config


def format_storage(settings: ServicesSettings, libs: Path, config: Path) -> None:
    """Format the KRaft log directory once; meta.properties marks it as done."""
    if (kafka_dir(settings) / "data" / "meta.properties").exists():
        return
    echo(NAME, "formatting storage")
    run_command(
        [
            *_java(libs, kafka_dir(settings)),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _new_cluster_id(),
            "-c",
            str(config),
            "--ignore-formatted",
        ],
        what="kafka storage format",
    )


def running_pid(settings: ServicesSettings) -> int | None:
    """The broker's pid: from our pidfile, else whichever broker listens on our port."""
    pid = read_pid(pidfile(settings))
    if pid is not None and (_launched_here(pid) or process_runs(pid, MAIN_CLASS)):
        return pid
    _, port = bootstrap_address(settings.kafka.bootstrap_servers)
    return listener_pid(port, MAIN_CLASS)


def _launched_here(pid: int) -> bool:
    # Right after the launch the child's /proc cmdline can read empty for a moment
    # (Popen returns while exec is still setting up), so trust our own Popen instead.
    return any(process.pid == pid and process.poll() is None for process in _launched)


def start_kafka(settings: ServicesSettings, *, wait: bool = True) -> None:
    """Start the broker unless it runs; with `wait`, await it and create the topics."""
    host, port = bootstrap_address(settings.kafka.bootstrap_servers)
    if running_pid(settings) is None:
        if port_open(host, port):
            raise ServiceError(
                f"kafka: {host}:{port} is taken by a program that is not a Kafka broker; "
                "stop it or change MOODWATCH_KAFKA_BOOTSTRAP_SERVERS"
            )
        _launch(settings)
    if wait:
        await_kafka(settings)
        ensure_topics(settings)


def _launch(settings: ServicesSettings) -> None:
    directory = kafka_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    libs = resolve_jars(settings)
    config = write_config(settings)
    format_storage(settings, libs, config)
    echo(NAME, f"starting on {settings.kafka.bootstrap_servers}")
    # One log per run, so that a failure report shows this run's errors only.
    log_file = log_path(settings)
    if log_file.exists():
        log_file.replace(log_file.with_name("kafka.previous.log"))
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [*_java(libs, directory), MAIN_CLASS, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            # Its own session: Ctrl-C in the terminal that ran `up` must not stop it.
            start_new_session=True,
        )
    _launched.append(process)
    pidfile(settings).write_text(f"{process.pid}\n")


def await_kafka(settings: ServicesSettings) -> None:
    waited = wait_until(
        lambda: kafka_answers(settings),
        what="kafka",
        timeout_s=settings.start_timeout_s,
        log_path=log_path(settings),
        gave_up=lambda: running_pid(settings) is None,
    )
    echo(NAME, f"ready ({waited:.1f}s)")


def kafka_answers(settings: ServicesSettings) -> bool:
    """True when the broker answers a metadata request."""
    host, port = bootstrap_address(settings.kafka.bootstrap_servers)
    if not port_open(host, port):
        return False  # cheaper and quieter than letting the client time out
    from kafka.errors import KafkaConfigurationError

    try:
        with _admin(settings) as admin:
            admin.describe_cluster()
    except KafkaConfigurationError:
        raise  # a client too old for these options (kafka-python < 3) never gets ready
    except Exception:  # any other failure of the probe means "not (yet) ready"
        return False
    return True


def ensure_topics(settings: ServicesSettings) -> None:
    """Create the posts and dead-letter topics when missing; grow the posts topic."""
    wanted = {settings.kafka.topic: settings.kafka.partitions, settings.kafka.dlq_topic: 1}
    with _admin(settings, timeout_ms=30_000) as admin:
        existing = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
        missing = {name: n for name, n in wanted.items() if name not in existing}
        if missing:
            echo(NAME, f"creating topics {', '.join(f'{t}({n})' for t, n in missing.items())}")
            admin.create_topics(
                {
                    name: {"num_partitions": n, "replication_factor": 1}
                    for name, n in missing.items()
                }
            )
        # Kafka can add partitions but never remove them.
        grow = {name: n for name, n in wanted.items() if existing.get(name, n) < n}
        if grow:
            echo(NAME, f"adding partitions: {grow}")
            admin.create_partitions(grow)
        admin.wait_for_topics(list(wanted), timeout_ms=int(settings.start_timeout_s * 1000))


def stop_kafka(settings: ServicesSettings, *, kill: bool = False) -> None:
    """Stop the broker (SIGTERM, or SIGKILL with `kill`); quiet when it is not running."""
    pid = running_pid(settings)
    if pid is not None:
        echo(NAME, "killing" if kill else "stopping")
        terminate(pid, kill=kill, what="kafka stop")
    pidfile(settings).unlink(missing_ok=True)


@contextmanager
def _admin(settings: ServicesSettings, timeout_ms: int = PROBE_TIMEOUT_MS) -> Iterator[Any]:
    from kafka.admin import KafkaAdminClient

    # kafka-python logs each failed bootstrap at ERROR; while probing a starting broker
    # those are expected, and the CLI has no log handler but the stderr last resort.
    # Real failures still raise.
    with _quiet_kafka_logs():
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka.bootstrap_servers,
            client_id="moodwatch-services",
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
        try:
            yield admin
        finally:
            admin.close()


@contextmanager
def _quiet_kafka_logs() -> Iterator[None]:
    logger = logging.getLogger("kafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _java(libs: Path, directory: Path) -> list[str]:
    return [
        _require("java"),
        HEAP,
        f"-Dlog4j2.configurationFile={directory / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
    ]


def _new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Kafka's own generator skips ids starting with '-' (they read as CLI options).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise failure(f"kafka: `{program}` is not on PATH (needed to run the broker)")
    return path
