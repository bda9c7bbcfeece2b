"""A second worker on the host takes the next free metrics port instead of dying."""

import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from schemas.exit_codes import ExitCode, UserError
from worker.metrics import serve_metrics


@contextmanager
def listening(port: int = 0) -> Iterator[int]:
    """A socket listening on every address, as another worker's metrics server does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("0.0.0.0", port))  # noqa: S104
        taken.listen()
        yield taken.getsockname()[1]


def _free_run(length: int) -> int:
    """A port p such that p+1 .. p+length-1 were free a moment ago (best effort)."""
    for _ in range(50):
        with listening() as port:
            pass
        if port + length < 65536 and all(_free(port + i) for i in range(1, length)):
            return port
    pytest.skip("no run of free ports found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_taken_port_moves_to_the_next_free_one() -> None:
    port = _free_run(3)
    with listening(port):
        used = serve_metrics(port)
    assert used == port + 1
    with urllib.request.urlopen(f"http://127.0.0.1:{used}/metrics", timeout=5) as response:
        assert b"moodwatch_posts_stored_total" in response.read()


def test_zero_means_off() -> None:
    assert serve_metrics(0) == 0


def test_all_taken_is_port_in_use() -> None:
    port = _free_run(2)
    with listening(port), listening(port + 1):
        with pytest.raises(UserError) as caught:
            serve_metrics(port, tries=2)
    assert caught.value.exit_code == ExitCode.PORT_IN_USE
    assert "MOODWATCH_WORKER_METRICS_PORT" in str(caught.value) + caught.value.hint
