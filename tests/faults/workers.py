"""Real `moodwatch worker` processes on the fault stack, to start, kill -9, freeze and stop."""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.faults.stack import FaultStack
from tests.integration.streaming import REPO, WATCHED, Stream

STOP_TIMEOUT_S = 60.0


class WorkerProcess:
    """One worker; while `watched`, its unexpected death fails any `wait_for` at once."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @property
    def watched(self) -> bool:
        return (self.process, self.log) in WATCHED

    def unwatch(self) -> None:
        if self.watched:
            WATCHED.remove((self.process, self.log))

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye; what it held is re-read by the next one."""
        self.unwatch()
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: the whole process, heartbeat thread included, stands still."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait: the worker finishes its open batch; returns the exit code."""
        self.unwatch()
        if self.alive():
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout_s:.0f}s") from None


class Workers:
    """Starts workers on the private stack with the test's stream; stops the rest at the end."""

    def __init__(self, stack: FaultStack, bundle: Path, log_dir: Path) -> None:
        self._stack = stack
        self._bundle = bundle
        self._log_dir = log_dir
        self.started: list[WorkerProcess] = []

    def env(self, stream: Stream, log_level: str, settings: dict[str, str]) -> dict[str, str]:
        return {
            **os.environ,
            **self._stack.env(),
            **stream.env(),
            "MOODWATCH_WORKER_BUNDLE_PATH": str(self._bundle),
            "MOODWATCH_WORKER_METRICS_PORT": "0",
            "MOODWATCH_WORKER_DEVICE": "cpu",
            "MOODWATCH_LOG_LEVEL": log_level,
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            **{f"MOODWATCH_WORKER_{k.upper()}": v for k, v in settings.items()},
        }

    def start(
        self,
        stream: Stream,
        *,
        watched: bool = True,
        log_level: str = "WARNING",
        env: dict[str, str] | None = None,
        settings: dict[str, str] | None = None,
    ) -> WorkerProcess:
        """`settings` are WorkerSettings fields (batch_max_size=...), `env` any other variable."""
        name = f"worker{len(self.started)}"
        log = self._log_dir / f"{name}.log"
        full_env = {**self.env(stream, log_level, settings or {}), **(env or {})}
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker"],
                cwd=REPO,
                env=full_env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(name, process, log)
        if watched:
            WATCHED.append((process, log))
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(worker.log_text() for worker in self.started if worker.log.exists())

    def stop_all(self) -> None:
        for worker in self.started:
            worker.unwatch()
            if worker.alive():
                worker.thaw()  # a frozen process cannot act on SIGTERM
                try:
                    worker.stop()
                except AssertionError:
                    pass
