"""A watchdog for a consumer that stopped consuming without an error.

Seen on this machine: a new worker joined its group, rejoined once the topic's partitions were
known, and never applied that rejoin (kafka-python 3.0 drops a join that completes after the
poll which started it returned), so it consumed nothing, with no error, until it was stopped
ten minutes later. The worker now fetches topic metadata before its first join, which removes
that trigger; this watchdog is for whatever else may leave a consumer idle.

Two symptoms count as a stall once no record has arrived for the timeout: the group
coordinator is reachable but we are not a stable member, or posts wait unread on partitions
assigned to us. Exiting is the safe way out: offsets are committed only after rows are stored,
so a supervisor's restart loses and doubles nothing. A broker that cannot be reached is an
outage, not a stall: the worker waits for it.
"""

import time
from collections.abc import Callable
from typing import Any

import structlog
from kafka.errors import KafkaError
from kafka.structs import MemberState

log = structlog.get_logger(__name__)


class ConsumerStalled(RuntimeError):
    """Posts wait on assigned, unpaused partitions and none arrived within the stall timeout."""


class StallWatch:
    def __init__(
        self,
        consumer: Any,
        stall_after_s: float,
        check_every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer = consumer
        self._stall_after_s = stall_after_s
        self._check_every_s = check_every_s
        self._clock = clock
        self._last_progress = clock()
        self._last_check = clock()

    def progressed(self) -> None:
        """Records arrived or a batch was stored."""
        self._last_progress = self._clock()

    def check(self) -> None:
        """Raise `ConsumerStalled` when posts have been waiting unread for too long."""
        now = self._clock()
        if now - self._last_check < self._check_every_s:
            return
        self._last_check = now
        if now - self._last_progress < self._stall_after_s:
            return
        idle_s = now - self._last_progress
        if self._join_stuck():
            raise ConsumerStalled(
                f"no records for {idle_s:.0f} s and not a member of the consumer group: "
                "the group join never completed"
            )
        waiting = self._waiting()
        if waiting is None:  # the broker cannot tell us now; it is not a stall of ours
            return
        if not waiting:
            self._last_progress = now  # caught up, or nothing assigned: idle is not stalled
            return
        described = ", ".join(f"{tp.topic}-{tp.partition}: {n}" for tp, n in waiting.items())
        raise ConsumerStalled(
            f"no records for {idle_s:.0f} s while posts wait on assigned partitions ({described})"
        )

    def _join_stuck(self) -> bool:
        """The coordinator is known (the broker answers) yet we are not a stable member.

        kafka-python has no public API for the membership state, so its coordinator is read
        defensively: anything unexpected means "cannot tell", never a stall.
        """
        coordinator = getattr(self._consumer, "_coordinator", None)
        try:
            if coordinator is None or coordinator.coordinator_unknown():
                return False
            return bool(getattr(coordinator, "state", MemberState.STABLE) != MemberState.STABLE)
        except (AttributeError, KafkaError):
            return False

    def _waiting(self) -> dict[Any, int] | None:
        """Posts not yet read per assigned, unpaused partition; None if the broker is away."""
        readable = set(self._consumer.assignment()) - set(self._consumer.paused())
        if not readable:
            return {}
        try:
            ends = self._consumer.end_offsets(list(readable))
            behind = {tp: ends[tp] - self._consumer.position(tp) for tp in readable}
        except KafkaError as exc:
            log.info("stall check skipped: broker unavailable", error=str(exc))
            return None
        return {tp: n for tp, n in behind.items() if n > 0}
