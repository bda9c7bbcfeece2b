"""The training loop proper: steps, periodic validation, best-weights tracking, checkpoints.

`finetune.finetune` builds the pieces; `TrainingLoop.run` drives them. Batches are built on the
CPU and moved to the model's device; with `bf16` the forward pass runs under bfloat16
autocast where the hardware supports it natively (weights and optimiser stay float32).
"""

import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.torch_member import native_bf16
from schemas.emotions import LABELS
from training.batching import Tokenised, collate, inference_batches
from training.checkpoints import TrainState, save_best, save_last
from training.metrics import macro_f1

LOSS_SMOOTHING = 0.98  # the progress bar shows an exponential moving average of the loss


def autocast(device: torch.device, bf16: bool) -> AbstractContextManager[Any]:
    if bf16 and native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def predict_logits(
    model: Any, data: Tokenised, batch_size: int = 128, bf16: bool = False
) -> torch.Tensor:
    """Float32 logits `[rows, labels]` on the CPU, in row order; leaves the model in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    out = torch.zeros((len(data.ids), len(LABELS)))
    with torch.inference_mode(), autocast(device, bf16):
        for rows in inference_batches([len(x) for x in data.ids], batch_size):
            batch = collate(data, rows)
            batch.pop("labels")
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            out[rows] = logits.float().cpu()
    return out


def evaluation_steps(steps_per_epoch: int, total_steps: int, evals_per_epoch: int) -> set[int]:
    """Steps after which to score on validation: evenly through each epoch, and the last step."""
    steps = {
        round(steps_per_epoch * (epoch + k / evals_per_epoch))
        for epoch in range(-(-total_steps // steps_per_epoch))
        for k in range(1, evals_per_epoch + 1)
    }
    return {s for s in steps if 0 < s < total_steps} | {total_steps}


def _smoothed(running: float, loss: float) -> float:
    return LOSS_SMOOTHING * running + (1 - LOSS_SMOOTHING) * loss


@dataclass
class LoopSettings:
    name: str
    run_dir: Path
    max_grad_norm: float
    evals_per_epoch: int
    patience: int
    checkpoint_every: int
    bf16: bool


class TrainingLoop:
    """Runs a training plan from `state.step` on; the caller owns model, optimiser, schedule."""

    def __init__(
        self,
        model: Any,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LambdaLR,
        validation: Tokenised,
        settings: LoopSettings,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.validation, self.settings = validation, settings
        self.device = next(model.parameters()).device

    def run(
        self, data: Tokenised, plan: list[list[int]], steps_per_epoch: int, state: TrainState
    ) -> None:
        """Train until the plan ends or validation stops improving; `state` is updated."""
        evals = evaluation_steps(steps_per_epoch, len(plan), self.settings.evals_per_epoch)
        bar = tqdm(total=len(plan), initial=state.step, desc=self.settings.name, unit="batch")
        running: float | None = None
        started = time.monotonic() - state.seconds
        self.model.train()
        while not state.finished and state.step < len(plan):
            loss = self._step(collate(data, plan[state.step]))
            running = loss if running is None else _smoothed(running, loss)
            state.step += 1
            state.seconds = time.monotonic() - started
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}")
            if state.step in evals:
                self._evaluate(state, running, final=state.step == len(plan))
                self._save(state)
            elif state.step % self.settings.checkpoint_every == 0:
                self._save(state)
        bar.close()

    def _step(self, batch: dict[str, torch.Tensor]) -> float:
        with autocast(self.device, self.settings.bf16):
            loss = self.model(**{k: v.to(self.device) for k, v in batch.items()}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def _evaluate(self, state: TrainState, running_loss: float, final: bool) -> None:
        # float32, as the worker runs on a CPU: the kept logits also fit the temperature
        logits = predict_logits(self.model, self.validation)
        score = macro_f1(self.validation.labels, logits.argmax(dim=1).tolist())
        state.history.append({"step": state.step, "loss": running_loss, "val_macro_f1": score})
        if score > state.best_score:
            state.best_score, state.best_step, state.evals_since_best = score, state.step, 0
            save_best(self.settings.run_dir, self.model, logits)
        else:
            state.evals_since_best += 1
        state.finished = final or state.evals_since_best >= self.settings.patience
        tqdm.write(f"{self.settings.name} step {state.step}: validation macro-F1 {score:.4f}")
        self.model.train()

    def _save(self, state: TrainState) -> None:
        save_last(self.settings.run_dir, self.model, self.optimizer, self.scheduler, state)
