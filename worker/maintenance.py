"""The worker's maintainer: `worker.partitions.maintain` at start-up and then periodically.

It runs on a thread of its own with its own connections, so a slow step never holds a batch;
a failure (PostgreSQL down, a lock not granted in time) is logged and retried next period.
"""

import threading

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from worker.horizon import Horizon
from worker.partitions import maintain

log = structlog.get_logger(__name__)


class Maintainer(threading.Thread):
    def __init__(self, engine: Engine, horizon: Horizon, ahead_days: int, every_s: float) -> None:
        super().__init__(name="partition-maintainer", daemon=True)
        self._engine = engine
        self._horizon = horizon
        self._ahead_days = ahead_days
        self._every_s = every_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                maintain(self._engine, self._horizon, self._ahead_days)
            except SQLAlchemyError as exc:
                log.warning("partition maintenance failed; retried later", error=str(exc))
            if self.stopping.wait(self._every_s):
                return
