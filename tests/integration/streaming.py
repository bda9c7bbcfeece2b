"""Helpers for streaming tests: unique topics, producing posts, awaiting conditions, SQL checks."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from devstack.streams import CREATED, Stream

REPO = Path(__file__).resolve().parents[2]
__all__ = ["CREATED", "REPO", "Stream", "stored", "wait_for", "worker_process"]


WATCHED: list[tuple[subprocess.Popen[bytes], Path]] = []  # workers whose death fails a wait


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` at the deadline,
    or at once when a watched worker process died unexpectedly."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        result = condition()
        if result:
            return result
        for process, log in WATCHED:
            if process.poll() not in (None, 0):
                tail = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"worker exited {process.returncode}:\n{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(delay)  # polling interval of an awaited condition, not synchronisation
        delay = min(delay * 1.5, 0.5)


def stored(engine: Engine, source: str) -> tuple[int, int, int]:
    """(rows, distinct ids, rollup total) for one test's source tag."""
    with engine.connect() as connection:
        rows, ids = connection.execute(
            text("SELECT count(*), count(DISTINCT post_id) FROM posts WHERE source = :s"),
            {"s": source},
        ).one()
        rollup = connection.execute(
            text("SELECT coalesce(sum(posts), 0) FROM emotion_rollup WHERE source = :s"),
            {"s": source},
        ).scalar_one()
    return int(rows), int(ids), int(rollup)


@contextmanager
def worker_process(
    stream: Stream, bundle: Path, log: Path, **settings: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `moodwatch worker` as a real process on the test's topic; SIGTERM it at the end.

    Its structured log goes to `log` (a pipe could fill up and block the worker).
    """
    env = {
        **os.environ,
        **stream.env(),
        "MOODWATCH_WORKER_BUNDLE_PATH": str(bundle),
        "MOODWATCH_WORKER_METRICS_PORT": "0",
        "MOODWATCH_WORKER_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
        **{f"MOODWATCH_WORKER_{k.upper()}": v for k, v in settings.items()},
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker"], cwd=REPO, env=env, stderr=sink
        )
    WATCHED.append((process, log))
    try:
        yield process
    finally:
        WATCHED.remove((process, log))
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
