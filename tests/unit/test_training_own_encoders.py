"""A user's own encoders: local `transformers` directories and hub ids, named and checked."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny_bundle import write_tiny_member
from training.encoders import EncoderError, ensure_encoder, external_encoder
from training.profiles import get_profile, member_name


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("../models/My_BERT/", "my-bert"),
        ("org/My_BERT", "my-bert"),
        ("roberta-base", "roberta-base"),
    ],
)
def test_members_are_named_after_the_encoder(reference: str, name: str) -> None:
    assert member_name(reference) == name


def test_own_encoders_join_a_profile_with_its_recipe() -> None:
    full = get_profile("full").with_encoders(["/data/bert-large"])
    added = full.members[-1]
    assert (added.name, added.encoder) == ("bert-large", "/data/bert-large")
    assert added.finetune == get_profile("full").own_encoder_recipe
    with pytest.raises(ValueError, match="repeats a member name"):
        get_profile("quick").with_encoders(["elsewhere/minilm-l6"])


def test_a_local_directory_is_used_where_it_is(tmp_path: Path) -> None:
    first = write_tiny_member(tmp_path / "a", seed=1)
    second = write_tiny_member(tmp_path / "b", seed=2)
    prepared = ensure_encoder(str(first), tmp_path / "encoders")
    assert prepared.path == first and not (tmp_path / "encoders").exists()
    other = external_encoder(str(second))
    assert prepared.tokenizer_family == other.tokenizer_family  # same vocabulary: one batch
    assert prepared.digest != other.digest
    before = prepared.digest
    (first / "config.json").write_text((first / "config.json").read_text() + " ")
    assert external_encoder(str(first)).digest != before  # edited weights: no stale resume


def test_what_is_no_encoder_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderError, match="no config.json"):
        external_encoder(str(tmp_path / "empty"))
    with pytest.raises(EncoderError, match="none of ours .* not a hub id that could be fetched"):
        external_encoder("no-such-org/no-such-encoder")


def test_the_train_command_refuses_a_missing_encoder_before_training(tmp_path: Path) -> None:
    moodwatch = Path(sys.executable).parent / "moodwatch"
    own = ["--encoder", str(tmp_path / "nowhere"), "--members", "nowhere"]
    command = [str(moodwatch), "train", *own]
    env = os.environ | {"HF_HUB_OFFLINE": "1", "MOODWATCH_TRAIN_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [*command, "--output", str(tmp_path / "bundle")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1, result.stderr
    assert "Error: encoder" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bundle").exists()
