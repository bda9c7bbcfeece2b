"""Fixtures of the fault-injection suite: a private stack, started once and stopped at the end.

The suite is slow (minutes) and kills services, so it runs only when asked for with
`-m faults` (`make test-faults`) or `-m faults_quick` (the short variants `make test` runs); a
plain `pytest` deselects it here, whatever pyproject says.
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from tests.faults.stack import FaultStack, one_session_at_a_time
from tests.faults.workers import Workers

MARKER = "faults"
QUICK_MARKER = "faults_quick"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: fault-injection suite on its own stack (make test-faults)"
    )
    config.addinivalue_line(
        "markers",
        f"{QUICK_MARKER}: the short variant of a fault scenario, run by `make test` "
        "(make test-faults-quick)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    expression = config.option.markexpr or ""
    if MARKER in expression or QUICK_MARKER in expression:
        return
    here = Path(__file__).parent
    skipped = [item for item in items if here in item.path.parents]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if here not in item.path.parents]


def _say(config: pytest.Config) -> Callable[[str], None]:
    """A line on the terminal now, past pytest's output capture."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            if reporter is not None:
                reporter.write_line(line)

    return say


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    """Up (cluster, roles, database, topics), migrated; stopped (data kept) after the session.
    One session on the machine at a time: the ports are fixed (tests/faults/stack.py)."""
    from devstack.manager import down, up
    from schemas.migrate import upgrade_to_head

    fault_stack = FaultStack.create()
    with one_session_at_a_time(say=_say(request.config)):
        up(fault_stack.services)
        try:
            upgrade_to_head(fault_stack.db)
            yield fault_stack
        finally:
            down(fault_stack.services)


@pytest.fixture(scope="session")
def engine(stack: FaultStack) -> Iterator[Engine]:
    db_engine = create_engine(stack.db.url(), pool_pre_ping=True)
    yield db_engine
    db_engine.dispose()


@pytest.fixture
def workers(stack: FaultStack, tiny_bundle: Path, tmp_path: Path) -> Iterator[Workers]:
    """Worker processes on the private stack; every one still running is stopped at the end."""
    pool = Workers(stack, tiny_bundle, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()
