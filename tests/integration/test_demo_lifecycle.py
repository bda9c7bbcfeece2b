"""`scripts/demo.sh start|stop`: whole process groups stopped, a killed process replaced."""

import json
import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.streaming import REPO, Stream, wait_for

pytestmark = pytest.mark.integration
DEMO = REPO / "scripts" / "demo.sh"
PROCESSES = ("worker", "sentinel", "dashboard")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo_env(services: object, tiny_bundle: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    stream = Stream.fresh(partitions=1)
    env = {
        **os.environ,
        **stream.env(),
        "MOODWATCH_SERVICES_STATE_DIR": str(tmp_path / "state"),
        "MOODWATCH_WORKER_BUNDLE_PATH": str(tiny_bundle),
        "MOODWATCH_WORKER_DEVICE": "cpu",
        "MOODWATCH_WORKER_METRICS_PORT": str(free_port()),
        "MOODWATCH_DASHBOARD_PORT": str(free_port()),
        "MOODWATCH_LOG_JSON": "true",  # metrics_port() reads the worker's start line
        "HF_HUB_OFFLINE": "1",
    }
    yield env
    demo(env, "stop")


def demo(env: dict[str, str], command: str) -> str:
    done = subprocess.run(
        ["bash", str(DEMO), command], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def pid_of(env: dict[str, str], name: str) -> int:
    return int((Path(env["MOODWATCH_SERVICES_STATE_DIR"]) / "run" / f"{name}.pid").read_text())


def group_members(group: int) -> list[int]:
    """Pids of live processes in process group `group` (zombies excluded)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def metrics_port(env: dict[str, str]) -> int:
    """The port the running worker serves metrics on, from its "worker started" line: the
    configured one, or the next free one when another socket holds it (the free port picked
    for the test is an ephemeral one, which any outgoing connection may take meanwhile)."""
    log = Path(env["MOODWATCH_SERVICES_STATE_DIR"]) / "run" / "worker.log"
    started = [
        json.loads(line) for line in log.read_text().splitlines() if "worker started" in line
    ]
    return int(started[-1]["metrics_port"])


def both_healthy(env: dict[str, str]) -> None:
    for url in (
        f"http://127.0.0.1:{env['MOODWATCH_DASHBOARD_PORT']}/_stcore/health",
        f"http://127.0.0.1:{metrics_port(env)}/metrics",
    ):
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200, url
    for name in PROCESSES:
        assert group_members(pid_of(env, name)), f"{name}'s pid file names a dead process"


def test_stop_leaves_no_process_of_either_group(demo_env: dict[str, str]) -> None:
    demo(demo_env, "start")
    groups = {name: pid_of(demo_env, name) for name in PROCESSES}
    assert all(group_members(group) for group in groups.values())
    demo(demo_env, "stop")
    assert {name: group_members(group) for name, group in groups.items()} == {
        name: [] for name in PROCESSES
    }


def test_run_stop_run_and_a_kill_9_each_end_with_both_healthy(demo_env: dict[str, str]) -> None:
    demo(demo_env, "start")
    both_healthy(demo_env)
    demo(demo_env, "stop")
    demo(demo_env, "start")
    both_healthy(demo_env)
    for name in PROCESSES:
        killed = pid_of(demo_env, name)
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda pid=killed: not group_members(pid), 30, f"{name} {killed} to die")
        assert "started" in demo(demo_env, "start")
        assert pid_of(demo_env, name) != killed
    both_healthy(demo_env)
