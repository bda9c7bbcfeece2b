"""The core's consumer interface: kafka-python's consumer has it, and its listener adapter."""

import ast
import inspect
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer

from tests.unit.core_fakes import tp
from worker.core.consumer import Consumer, KafkaListener, to_commit

CORE = Path(__file__).resolve().parents[2] / "worker" / "core"


def called_on_the_consumer() -> set[str]:
    """Every attribute the core's modules use on something named `consumer` or `_consumer`."""
    names = set()
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                owner = node.value
                held = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if held in ("consumer", "_consumer"):
                    names.add(node.attr)
    return names


def declared() -> set[str]:
    return {name for name in vars(Consumer) if not name.startswith("_")}


def test_the_interface_is_exactly_what_the_core_calls() -> None:
    assert declared() == called_on_the_consumer()


def test_kafka_consumer_has_every_method_of_the_interface_with_its_parameters() -> None:
    for name in declared():
        wanted = inspect.signature(getattr(Consumer, name)).parameters.values()
        keywords = {p.name for p in wanted if p.kind is p.POSITIONAL_OR_KEYWORD} - {"self"}
        has = set(inspect.signature(getattr(KafkaConsumer, name)).parameters)
        assert keywords <= has, name


def test_offsets_to_commit_carry_no_metadata_and_no_leader_epoch() -> None:
    [(partition, offset)] = to_commit({tp(3): 42}).items()
    assert partition == tp(3)
    assert (offset.offset, offset.metadata, offset.leader_epoch) == (42, "", -1)


class Handler:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def revoked(self, partitions: Any) -> None:
        self.calls.append(("revoked", partitions))

    def lost(self, partitions: Any) -> None:
        self.calls.append(("lost", partitions))

    def assigned(self, partitions: Any) -> None:
        self.calls.append(("assigned", partitions))


def test_the_listener_is_what_subscribe_accepts_and_passes_each_callback_on() -> None:
    handler = Handler()
    listener = KafkaListener(handler)
    assert isinstance(listener, ConsumerRebalanceListener)
    listener.on_partitions_revoked({tp(0)})
    listener.on_partitions_lost({tp(1)})
    listener.on_partitions_assigned({tp(2)})
    assert handler.calls == [("revoked", {tp(0)}), ("lost", {tp(1)}), ("assigned", {tp(2)})]
