"""Resumable training state on disk: `last.pt` (to resume) and `best.pt` (to keep).

Each file is written beside its final name and moved into place with `os.replace`, so a crash
while saving leaves the previous checkpoint intact.
"""

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

LAST = "last.pt"
BEST = "best.pt"


@dataclass
class TrainState:
    """Where a run stands: `step` batches done; the best validation score and when it came."""

    step: int = 0
    best_score: float = -1.0
    best_step: int = 0
    evals_since_best: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False


def _atomic_save(payload: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(payload, partial)
    os.replace(partial, path)


def save_last(run_dir: Path, model: Any, optimizer: Any, scheduler: Any, state: TrainState) -> None:
    payload = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": asdict(state),
        "rng": torch.get_rng_state(),
    }
    _atomic_save(payload, run_dir / LAST)


def load_last(run_dir: Path, model: Any, optimizer: Any, scheduler: Any) -> TrainState | None:
    """Restore model, optimiser, schedule and RNG from `last.pt`; None when there is none."""
    path = run_dir / LAST
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["rng"])
    return TrainState(**payload["state"])


def save_best(run_dir: Path, model: Any, validation_logits: torch.Tensor) -> None:
    """The best weights so far, with their validation logits (temperature scaling needs them)."""
    _atomic_save(
        {"model": model.state_dict(), "validation_logits": validation_logits}, run_dir / BEST
    )


def load_best(run_dir: Path, model: Any) -> torch.Tensor:
    """Load the best weights into `model`; return their validation logits."""
    payload = torch.load(run_dir / BEST, map_location="cpu", weights_only=False)
    model.load_state_dict(payload["model"])
    logits: torch.Tensor = payload["validation_logits"]
    return logits
