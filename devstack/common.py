"""Helpers shared by the service modules: progress lines, waiting, processes, ports."""

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import typer

from schemas.exit_codes import ExitCode, UserError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
POLL_INTERVAL_S = 0.25
STOP_TIMEOUT_S = 30.0


class ServiceError(UserError):
    """A local service could not be installed, started or stopped: its message says which
    and why, so the CLI shows it without a traceback."""

    exit_code = ExitCode.SERVICE_UNREACHABLE


def echo(service: str, message: str) -> None:
    typer.echo(f"{service:8s} {message}")


def log_excerpt(path: Path, errors: int = 6, tail: int = 10) -> str:
    """The last error lines of a log, then its last lines.

    Both, because a dying Kafka logs its cause and then hundreds of lines of config.
    """
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    found = [line for line in lines if _ERROR_LINE.search(line)][-errors:]
    excerpt = ["--- last errors ---", *found] if found else []
    return "\n".join([*excerpt, "--- last lines ---", *lines[-tail:]])


_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|PANIC)\b|^Caused by:|# Warning")


def failure(message: str, log_path: Path | None = None) -> ServiceError:
    """An error that points at the log to read, with an excerpt."""
    if log_path is None:
        return ServiceError(message)
    return ServiceError(f"{message}\nlog: {log_path}\n{log_excerpt(log_path)}")


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout_s: float,
    log_path: Path | None = None,
    gave_up: Callable[[], bool] = lambda: False,
) -> float:
    """Poll `ready` until it holds; fail at the deadline or as soon as `gave_up` says so.

    Returns the seconds waited. `gave_up` lets a caller stop early when the process it
    waits for has already exited, instead of sitting out the whole timeout.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    while not ready():
        if gave_up():
            raise failure(f"{what}: the process exited", log_path)
        if time.monotonic() >= deadline:
            raise failure(f"{what}: not ready after {timeout_s:.0f}s", log_path)
        time.sleep(POLL_INTERVAL_S)
    return time.monotonic() - started


def run_command(
    argv: Sequence[str],
    *,
    what: str,
    stdin_text: str | None = None,
    secrets: Iterable[str] = (),
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> str:
    """Run a short command and return its stdout; on failure raise with its stderr.

    Any of `secrets` found in the output is masked, because psql echoes the failing
    statement (which may hold a password) in its error context.
    """
    try:
        result = subprocess.run(
            list(argv),
            input=stdin_text,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise ServiceError(f"{what}: `{argv[0]}` is not installed") from None
    if result.returncode == 0:
        return result.stdout
    output = (result.stderr or result.stdout).strip()
    for secret in secrets:
        if secret:
            output = output.replace(secret, "***")
    raise failure(f"{what} failed (exit {result.returncode}):\n{output}", log_path)


def loopback_address(host: str | None, port: int | None, *, what: str) -> tuple[str, int]:
    """Refuse anything but loopback: these services are for development and CI only."""
    if host not in LOOPBACK_HOSTS or port is None:
        raise ServiceError(f"{what} must be a loopback host:port, not {host}:{port}")
    return ("127.0.0.1" if host == "localhost" else host), port


def bootstrap_address(bootstrap_servers: str) -> tuple[str, int]:
    first = bootstrap_servers.split(",")[0].strip()
    parsed = urlsplit(f"//{first}")
    return loopback_address(parsed.hostname, parsed.port, what="kafka.bootstrap_servers")


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def is_root() -> bool:
    return os.geteuid() == 0


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def process_runs(pid: int, marker: str) -> bool:
    """True when `pid` is alive and its command line holds `marker`.

    Checking the command line guards against a recycled pid from a stale pidfile.
    """
    return process_exists(pid) and marker.encode() in _cmdline(pid)


def process_exists(pid: int) -> bool:
    """True until the process is gone or a zombie.

    An exiting process loses its command line before it closes its files, so only
    this (not `process_runs`) tells that its ports and locks are free again. A zombie
    has freed everything; its parent reaps it (see `kafka._launched_here`), not us.
    """
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def listener_pid(port: int, marker: str) -> int | None:
    """The pid of the process listening on TCP `port` when its command line holds `marker`.

    Finds a service started from another state_dir (another working directory), whose
    pidfile this one cannot see: socket inode in /proc/net/tcp*, then /proc/*/fd.
    """
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        pid = int(fd_dir.parent.name)
        try:
            links = {os.readlink(fd) for fd in fd_dir.iterdir()}
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if links & inodes and process_runs(pid, marker):
            return pid
    return None


def _listening_inodes(port: int) -> set[str]:
    listen_state = "0A"
    inodes: set[str] = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == listen_state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def terminate(pid: int, *, kill: bool, what: str) -> None:
    """SIGTERM (or SIGKILL when `kill`), wait for the exit, SIGKILL after a timeout."""
    _signal(pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        wait_until(lambda: not process_exists(pid), what=what, timeout_s=STOP_TIMEOUT_S)
    except ServiceError:
        _signal(pid, signal.SIGKILL)
        wait_until(lambda: not process_exists(pid), what=what, timeout_s=STOP_TIMEOUT_S)


def _signal(pid: int, signum: signal.Signals) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
