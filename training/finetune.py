"""Fine-tuning one ensemble member: a pretrained encoder plus a fresh six-label head.

AdamW, linear warm-up then linear decay, length-bucketed batches, a fixed seed. The model is
scored on the validation split (macro-F1) a few times per epoch; the best weights are kept and
training stops early after `patience` evaluations without improvement. State is saved under
`run_dir` so an interrupted run resumes where it stopped.
"""

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from schemas.emotions import LABELS
from training.batching import Tokenised, collate, inference_batches, tokenise, training_plan
from training.checkpoints import TrainState, load_best, load_last, save_best, save_last
from training.data import LabelledTexts
from training.metrics import macro_f1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneConfig:
    """How one member is fine-tuned; checked on creation so a bad profile fails at start-up."""

    epochs: int = 3
    max_steps: int | None = None
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 64
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    evals_per_epoch: int = 1
    patience: int = 2
    checkpoint_every: int = 200
    seed: int = 13

    def __post_init__(self) -> None:
        positive = ("epochs", "learning_rate", "batch_size", "evals_per_epoch", "patience")
        for name in (*positive, "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"FinetuneConfig.{name} must be positive, got {getattr(self, name)}"
                )
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {self.max_length}")
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"max_steps must be positive when set, got {self.max_steps}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FinetuneResult:
    model: Any
    tokenizer: Any
    validation_logits: torch.Tensor  # of the kept (best) weights, in validation row order
    state: TrainState


def load_classifier(encoder_dir: Path, seed: int) -> Any:
    """The encoder with a new six-label head, seeded so the head starts the same every run."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForSequenceClassification.from_pretrained(
            encoder_dir,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
        )


def make_optimizer(model: Any, config: FinetuneConfig) -> torch.optim.AdamW:
    """AdamW; biases and LayerNorm weights are not decayed (the usual BERT recipe)."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim < 2 or "LayerNorm" in name else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate)


def warmup_then_linear_decay(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float
) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = max(1, round(total_steps * warmup_ratio))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def predict_logits(model: Any, data: Tokenised, batch_size: int = 128) -> torch.Tensor:
    """Logits `[rows, labels]` in row order; leaves the model in eval mode."""
    model.eval()
    out = torch.zeros((len(data.ids), len(LABELS)))
    with torch.inference_mode():
        for rows in inference_batches([len(x) for x in data.ids], batch_size):
            batch = collate(data, rows)
            batch.pop("labels")
            out[rows] = model(**batch).logits.float()
    return out


def evaluation_steps(steps_per_epoch: int, total_steps: int, evals_per_epoch: int) -> set[int]:
    """Steps after which to score on validation: evenly through each epoch, and the last step."""
    steps = {
        round(steps_per_epoch * (epoch + k / evals_per_epoch))
        for epoch in range(-(-total_steps // steps_per_epoch))
        for k in range(1, evals_per_epoch + 1)
    }
    return {s for s in steps if 0 < s < total_steps} | {total_steps}


def finetune(
    encoder_dir: Path,
    train: LabelledTexts,
    validation: LabelledTexts,
    config: FinetuneConfig,
    run_dir: Path,
    name: str,
) -> FinetuneResult:
    """Train (or resume) one member; return it with the best validation weights loaded."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    model = load_classifier(encoder_dir, config.seed)
    train_tokens = tokenise(tokenizer, train.texts, train.labels, config.max_length)
    valid_tokens = tokenise(tokenizer, validation.texts, validation.labels, config.max_length)
    lengths = [len(x) for x in train_tokens.ids]
    plan = training_plan(lengths, config.batch_size, config.seed, config.epochs, config.max_steps)
    optimizer = make_optimizer(model, config)
    scheduler = warmup_then_linear_decay(optimizer, len(plan), config.warmup_ratio)
    torch.manual_seed(config.seed)  # dropout; a resumed run restores the saved RNG instead
    state = load_last(run_dir, model, optimizer, scheduler) or TrainState()
    if state.step:
        log.info("%s: resuming at step %d of %d", name, state.step, len(plan))
    loop = _Loop(model, optimizer, scheduler, config, run_dir, valid_tokens, name)
    loop.run(train_tokens, plan, state)
    logits = load_best(run_dir, model)
    model.eval()
    return FinetuneResult(model, tokenizer, logits, state)


class _Loop:
    """The training loop proper; holds what every step needs so its methods stay short."""

    def __init__(
        self,
        model: Any,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LambdaLR,
        config: FinetuneConfig,
        run_dir: Path,
        validation: Tokenised,
        name: str,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.config, self.run_dir, self.validation, self.name = config, run_dir, validation, name

    def run(self, data: Tokenised, plan: list[list[int]], state: TrainState) -> None:
        steps_per_epoch = -(-len(data.ids) // self.config.batch_size)
        evals = evaluation_steps(steps_per_epoch, len(plan), self.config.evals_per_epoch)
        bar = tqdm(total=len(plan), initial=state.step, desc=self.name, unit="batch")
        running: float | None = None
        started = time.monotonic() - state.seconds
        self.model.train()
        while not state.finished and state.step < len(plan):
            loss = self._step(collate(data, plan[state.step]))
            running = loss if running is None else 0.98 * running + 0.02 * loss
            state.step += 1
            state.seconds = time.monotonic() - started
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}")
            if state.step in evals:
                self._evaluate(state, running, final=state.step == len(plan))
                save_last(self.run_dir, self.model, self.optimizer, self.scheduler, state)
            elif state.step % self.config.checkpoint_every == 0:
                save_last(self.run_dir, self.model, self.optimizer, self.scheduler, state)
        bar.close()

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        loss = self.model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _evaluate(self, state: TrainState, running_loss: float, final: bool) -> None:
        logits = predict_logits(self.model, self.validation)
        score = macro_f1(self.validation.labels, logits.argmax(dim=1).tolist())
        state.history.append({"step": state.step, "loss": running_loss, "val_macro_f1": score})
        if score > state.best_score:
            state.best_score, state.best_step, state.evals_since_best = score, state.step, 0
            save_best(self.run_dir, self.model, logits)
        else:
            state.evals_since_best += 1
        state.finished = final or state.evals_since_best >= self.config.patience
        tqdm.write(f"{self.name} step {state.step}: validation macro-F1 {score:.4f}")
        self.model.train()
