"""A throw-away Redis on loopback (no persistence: it only holds a cache and counters)."""

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import redis as redis_client

from devstack.common import (
    ServiceError,
    echo,
    failure,
    is_root,
    listener_pid,
    loopback_address,
    port_open,
    process_runs,
    read_pid,
    run_command,
    terminate,
    wait_until,
)
from schemas.settings import ServicesSettings

NAME = "redis"
MARKER = "redis-server"


def redis_dir(settings: ServicesSettings) -> Path:
    return settings.state_dir.resolve() / "redis"


def log_path(settings: ServicesSettings) -> Path:
    return redis_dir(settings) / "redis.log"


def pidfile(settings: ServicesSettings) -> Path:
    return redis_dir(settings) / "redis.pid"


def address(settings: ServicesSettings) -> tuple[str, int]:
    url = urlsplit(settings.redis.url)
    return loopback_address(url.hostname, url.port or 6379, what="redis.url")


def redis_answers(settings: ServicesSettings) -> bool:
    client = redis_client.Redis.from_url(
        settings.redis.url, socket_connect_timeout=1, socket_timeout=1
    )
    try:
        return bool(client.ping())
    except redis_client.RedisError:
        return False
    finally:
        client.close()


def ensure_installed() -> str:
    """Path of redis-server, installing Debian's package when it is missing and we may."""
    found = shutil.which("redis-server")
    if found:
        return found
    if not is_root():
        raise failure("redis: redis-server is missing; install it (apt-get install redis-server)")
    echo(NAME, "installing redis-server with apt-get")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    try:
        run_command(["apt-get", "install", "-y", "redis-server"], what="apt-get install", env=env)
    except ServiceError:  # a fresh image has no package lists yet
        run_command(["apt-get", "update"], what="apt-get update", env=env)
        run_command(["apt-get", "install", "-y", "redis-server"], what="apt-get install", env=env)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def start_redis(settings: ServicesSettings, *, wait: bool = True) -> None:
    """Start redis-server daemonized unless it answers; with `wait`, await a PING."""
    if redis_answers(settings):
        echo(NAME, "ready (already running)")
        return
    host, port = address(settings)
    if port_open(host, port):
        raise ServiceError(f"redis: {host}:{port} is taken by something that does not answer PING")
    server = ensure_installed()
    config = write_config(settings)
    echo(NAME, f"starting on {host}:{port}")
    run_command([server, str(config)], what="redis-server", log_path=log_path(settings))
    if wait:
        waited = wait_until(
            lambda: redis_answers(settings),
            what="redis",
            timeout_s=settings.start_timeout_s,
            log_path=log_path(settings),
        )
        echo(NAME, f"ready ({waited:.1f}s)")


def write_config(settings: ServicesSettings) -> Path:
    directory = redis_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    host, port = address(settings)
    lines = [
        f"bind {host}",
        f"port {port}",
        "daemonize yes",
        f"pidfile {_quote(pidfile(settings))}",
        f"logfile {_quote(log_path(settings))}",
        f"dir {_quote(directory)}",
        'save ""',
        "appendonly no",
    ]
    config = directory / "redis.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def stop_redis(settings: ServicesSettings, *, kill: bool = False) -> None:
    """SHUTDOWN NOSAVE (or SIGKILL with `kill`); quiet when it is not running."""
    pid = read_pid(pidfile(settings))
    if pid is None or not process_runs(pid, MARKER):
        pid = listener_pid(address(settings)[1], MARKER)
    if kill and pid is not None:
        echo(NAME, "killing")
        terminate(pid, kill=True, what="redis kill")
    elif redis_answers(settings):
        echo(NAME, "stopping")
        client = redis_client.Redis.from_url(settings.redis.url, socket_timeout=5)
        try:
            client.shutdown(nosave=True)
        finally:
            client.close()
        wait_until(lambda: not redis_answers(settings), what="redis stop", timeout_s=30)
    pidfile(settings).unlink(missing_ok=True)


def _quote(path: Path) -> str:
    """A double-quoted redis.conf string, so that paths with spaces survive."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'
