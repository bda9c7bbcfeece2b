"""`moodwatch produce` ids end to end: same-named files are different posts, a replay is not."""

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from producer.send import ProduceOptions, produce_file
from schemas.settings import ProducerSettings
from tests.integration.streaming import Stream, stored, wait_for, worker_process

pytestmark = pytest.mark.integration


def _jsonl(path: Path, texts: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


def test_same_named_files_are_all_stored_and_a_replay_adds_nothing(
    database: Engine, tiny_bundle: Path, tmp_path: Path
) -> None:
    stream = Stream.fresh(partitions=1)
    settings = ProducerSettings(kafka=stream.kafka)
    first = _jsonl(tmp_path / "a" / "same.jsonl", ["i love this song", "what a scary night"])
    second = _jsonl(tmp_path / "b" / "same.jsonl", ["so angry at the bus", "such a sad end"])

    def produce(path: Path) -> int:
        options = ProduceOptions(source=str(path), source_name=stream.source)
        return produce_file(settings, options).sent

    assert produce(first) + produce(second) == 4
    with worker_process(stream, tiny_bundle, tmp_path / "worker.log"):
        wait_for(lambda: stream.committed() == 4, what="both files committed")
        assert stored(database, stream.source) == (4, 4, 4)
        assert produce(first) == 2  # the same file again: sent, and recognised as a replay
        wait_for(lambda: stream.committed() == 6, what="the replay committed")
    assert stored(database, stream.source) == (4, 4, 4)
