"""Fine-tuning a tiny random BERT: batching, schedule, loss going down, resuming."""

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.tiny_bundle import write_tiny_member
from training import loop as loop_module
from training.batching import collate, epoch_batches, steps_per_epoch, tokenise, training_plan
from training.checkpoints import LAST
from training.data import LabelledTexts
from training.finetune import (
    FinetuneConfig,
    finetune,
    load_classifier,
    make_optimizer,
    warmup_then_linear_decay,
)
from training.loop import evaluation_steps

TEXTS = [
    "i feel so happy today",
    "i feel sad and lonely",
    "this makes me so angry",
    "i am scared of the dark",
    "wow i am amazed",
    "i love you",
] * 2
LABELS = [1, 0, 3, 4, 5, 2] * 2


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_member(tmp_path_factory.mktemp("encoder") / "tiny", seed=1)


@pytest.fixture
def data() -> LabelledTexts:
    return LabelledTexts("toy", list(TEXTS), list(LABELS))


def batch_loss(model: torch.nn.Module, encoder_dir: Path, data: LabelledTexts) -> float:
    from transformers import AutoTokenizer

    tokens = tokenise(AutoTokenizer.from_pretrained(encoder_dir), data.texts, data.labels, 32)
    model.eval()
    with torch.inference_mode():
        return float(model(**collate(tokens, range(len(data)))).loss)


def test_two_steps_lower_the_loss(encoder_dir: Path, data: LabelledTexts, tmp_path: Path) -> None:
    before = batch_loss(load_classifier(encoder_dir, seed=13), encoder_dir, data)
    config = FinetuneConfig(
        epochs=2, max_steps=2, batch_size=len(data), learning_rate=5e-3, warmup_ratio=0.0
    )
    result = finetune(encoder_dir, data, data, config, tmp_path / "run", "tiny")
    assert result.state.step == 2 and result.state.finished
    assert batch_loss(result.model, encoder_dir, data) < before
    assert result.validation_logits.shape == (len(data), 6)


def test_frozen_word_embeddings_stay_put_under_bf16(
    encoder_dir: Path, data: LabelledTexts, tmp_path: Path
) -> None:
    config = FinetuneConfig(
        epochs=2, batch_size=6, learning_rate=1e-2, bf16=True, freeze_word_embeddings=True
    )
    start = load_classifier(encoder_dir, seed=13)
    result = finetune(encoder_dir, data, data, config, tmp_path / "run", "tiny")
    embeddings = result.model.get_input_embeddings().weight
    assert torch.equal(embeddings, start.get_input_embeddings().weight)
    assert embeddings.dtype == torch.float32  # autocast never changes the stored weights
    assert not torch.equal(result.model.classifier.weight, start.classifier.weight)


def test_an_interrupted_run_resumes_to_the_same_weights(
    encoder_dir: Path, data: LabelledTexts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = FinetuneConfig(
        epochs=2,
        batch_size=4,
        learning_rate=1e-3,
        checkpoint_every=2,
        evals_per_epoch=1,
        patience=5,
    )
    straight = finetune(encoder_dir, data, data, config, tmp_path / "straight", "tiny")

    real_step = loop_module.TrainingLoop._step
    calls = {"n": 0}

    def crash_on_fourth(self: loop_module.TrainingLoop, batch: dict[str, torch.Tensor]) -> float:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(loop_module.TrainingLoop, "_step", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        finetune(encoder_dir, data, data, config, tmp_path / "resumed", "tiny")
    assert (tmp_path / "resumed" / LAST).is_file()
    monkeypatch.setattr(loop_module.TrainingLoop, "_step", real_step)
    resumed = finetune(encoder_dir, data, data, config, tmp_path / "resumed", "tiny")

    assert resumed.state.step == straight.state.step == 6
    for (name, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6), name


def test_epoch_batches_cover_each_row_once_and_depend_only_on_seed() -> None:
    lengths = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11]
    batches = epoch_batches(lengths, batch_size=3, seed=7, epoch=0)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == epoch_batches(lengths, batch_size=3, seed=7, epoch=0)
    assert batches != epoch_batches(lengths, batch_size=3, seed=7, epoch=1)
    for batch in batches:  # one bucket here, so each batch is a run of sorted lengths
        assert [lengths[i] for i in batch] == sorted(lengths[i] for i in batch)
    assert len(training_plan(lengths, 3, seed=7, epochs=3, max_steps=10)) == 10
    for rows in (1, 11, 150, 151, 1000):
        assert len(epoch_batches([1] * rows, 3, seed=0, epoch=0)) == steps_per_epoch(rows, 3)


def test_evaluation_steps_spread_through_epochs_and_include_the_last() -> None:
    assert evaluation_steps(10, 20, 2) == {5, 10, 15, 20}
    assert evaluation_steps(10, 12, 1) == {10, 12}


def test_learning_rate_warms_up_then_decays_to_zero(encoder_dir: Path) -> None:
    config = FinetuneConfig(learning_rate=1e-3)
    optimizer = make_optimizer(load_classifier(encoder_dir, seed=0), config)
    schedule = warmup_then_linear_decay(optimizer, total_steps=100, warmup_ratio=0.06)
    rates = []
    for _ in range(100):
        rates.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    assert rates[0] < rates[5] == pytest.approx(1e-3)
    assert rates[50] < rates[10] and rates[-1] < 2e-5
    assert schedule.get_last_lr()[0] == 0.0


def test_optimizer_does_not_decay_biases_or_layer_norms(encoder_dir: Path) -> None:
    model = load_classifier(encoder_dir, seed=0)
    decay, no_decay = make_optimizer(model, FinetuneConfig(weight_decay=0.01)).param_groups
    assert no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"])


@pytest.mark.parametrize(
    "change",
    [
        {"epochs": 0},
        {"learning_rate": 0.0},
        {"warmup_ratio": 1.0},
        {"max_length": 4},
        {"max_steps": 0},
    ],
)
def test_config_rejects_nonsense(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(FinetuneConfig(), **change)
