"""The fault suite's own Kafka, PostgreSQL and Redis, on ports apart from the shared stack.

The shared services (19092, 15432, 16379) serve other engineers' tests, so the fault tests,
which stop and kill services, never touch them: everything here listens on 29092/29093,
25432 (cluster `mwfaults`) and 26379, keeps its state in `.services-faults`, and uses a fresh
random password per session, which lets the log checks search for it.
"""

import fcntl
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from schemas.settings import DatabaseSettings, KafkaSettings, RedisSettings, ServicesSettings
from tests.integration.streaming import REPO

KAFKA_PORT = 29092
KAFKA_CONTROLLER_PORT = 29093
PG_PORT = 25432
PG_CLUSTER = "mwfaults"
REDIS_URL = "redis://127.0.0.1:26379/0"
STATE_DIR = REPO / ".services-faults"
# The ports are the machine's, whatever the checkout: one fault session at a time. A second one
# waits for the first to end (its teardown stops the services the first one is using).
LOCK = Path(tempfile.gettempdir()) / f"moodwatch-faults-{KAFKA_PORT}.lock"
LOCK_WAIT_S = 540.0  # within pytest's timeout (600 s), which covers fixture setup


def _holder(handle: IO[str]) -> str:
    """The pid the lock's holder wrote, and its command line while it runs."""
    handle.seek(0)
    pid = handle.read().strip()
    try:
        command = Path(f"/proc/{int(pid)}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, ValueError):
        return pid or "?"
    return f"{pid}: {command.strip()[:200]}"


@contextmanager
def one_session_at_a_time(
    lock: Path = LOCK, wait_s: float = LOCK_WAIT_S, say: Callable[[str], None] = print
) -> Iterator[None]:
    """Hold the machine's fault-stack lock for the session (released when the process ends,
    however it ends); wait for another session that holds it, up to `wait_s`, and `say` so."""
    with lock.open("a+") as handle:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"another fault session (pid {_holder(handle)}) still holds {lock} "
                        f"after {wait_s:.0f}s"
                    ) from None
                if not told:
                    say(f"waiting for another fault session (pid {_holder(handle)}, lock {lock})")
                    told = True
                time.sleep(1.0)  # polling a lock another process holds
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class FaultStack:
    """Settings of the private stack, and the environment that points a worker at it."""

    services: ServicesSettings

    @classmethod
    def create(cls, state_dir: Path = STATE_DIR) -> "FaultStack":
        db = DatabaseSettings(
            name="moodwatch",  # its own cluster: not the test session's database name
            port=PG_PORT,
            password=SecretStr(f"pw-app-{secrets.token_hex(8)}"),
            readonly_password=SecretStr(f"pw-ro-{secrets.token_hex(8)}"),
        )
        services = ServicesSettings(
            state_dir=state_dir,
            kafka_controller_port=KAFKA_CONTROLLER_PORT,
            pg_cluster=PG_CLUSTER,
            kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}"),
            db=db,
            redis=RedisSettings(url=REDIS_URL),
        )
        return cls(services)

    @property
    def kafka(self) -> KafkaSettings:
        return self.services.kafka

    @property
    def db(self) -> DatabaseSettings:
        return self.services.db

    @property
    def secrets(self) -> tuple[str, str]:
        """The two passwords of this session: they must never appear in any log."""
        return (
            self.db.password.get_secret_value(),
            self.db.readonly_password.get_secret_value(),
        )

    def env(self) -> dict[str, str]:
        """MOODWATCH_* variables for a worker process (the Stream adds topic and group)."""
        return {
            "MOODWATCH_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "MOODWATCH_DB_HOST": self.db.host,
            "MOODWATCH_DB_PORT": str(self.db.port),
            "MOODWATCH_DB_NAME": self.db.name,
            "MOODWATCH_DB_USER": self.db.user,
            "MOODWATCH_DB_PASSWORD": self.db.password.get_secret_value(),
            "MOODWATCH_DB_READONLY_USER": self.db.readonly_user,
            "MOODWATCH_DB_READONLY_PASSWORD": self.db.readonly_password.get_secret_value(),
            "MOODWATCH_REDIS_URL": self.services.redis.url,
            "MOODWATCH_SERVICES_STATE_DIR": str(self.services.state_dir),
        }
