"""Fine-tuning one ensemble member: a pretrained encoder plus a fresh six-label head.

AdamW, linear warm-up then linear decay, length-bucketed batches, a fixed seed. The model is
scored on the validation split (macro-F1) a few times per epoch; the best weights are kept and
training stops early after `patience` evaluations without improvement. State is saved under
`run_dir` so an interrupted run resumes where it stopped.
"""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from model.torch_member import pick_device
from schemas.emotions import LABELS
from training.batching import steps_per_epoch, tokenise, training_plan
from training.checkpoints import TrainState, load_best, load_last
from training.data import LabelledTexts
from training.loop import LoopSettings, TrainingLoop


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
    bf16: bool = False  # bfloat16 autocast where native: ~1.5x faster on a recent CPU
    freeze_word_embeddings: bool = False  # skips updating the largest matrix: faster steps
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
    resumed_at_step: int = 0  # 0: trained from the start in this run


def load_classifier(encoder_dir: Path, seed: int) -> Any:
    """The encoder with a new six-label head, seeded so the head starts the same every run."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForSequenceClassification.from_pretrained(
            encoder_dir,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            # transformers writes this into the config on the first forward pass with labels;
            # set here, a bundle rebuilt from finished checkpoints has the same bytes and version
            problem_type="single_label_classification",
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


def finetune(
    encoder_dir: Path,
    train: LabelledTexts,
    validation: LabelledTexts,
    config: FinetuneConfig,
    run_dir: Path,
    name: str,
    device: torch.device | None = None,
) -> FinetuneResult:
    """Train (or resume) one member; return it on the CPU with its best validation weights."""
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    model = load_classifier(encoder_dir, config.seed)
    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    model.to(device or pick_device("auto"))
    train_tokens = tokenise(tokenizer, train.texts, train.labels, config.max_length)
    valid_tokens = tokenise(tokenizer, validation.texts, validation.labels, config.max_length)
    lengths = [len(x) for x in train_tokens.ids]
    plan = training_plan(lengths, config.batch_size, config.seed, config.epochs, config.max_steps)
    optimizer = make_optimizer(model, config)
    scheduler = warmup_then_linear_decay(optimizer, len(plan), config.warmup_ratio)
    torch.manual_seed(config.seed)  # dropout; a resumed run restores the saved RNG instead
    state = load_last(run_dir, model, optimizer, scheduler) or TrainState()
    resumed_at = state.step
    if state.step:
        tqdm.write(f"{name}: resuming from {run_dir} at step {state.step} of {len(plan)}")
    loop = TrainingLoop(
        model, optimizer, scheduler, valid_tokens, _loop_settings(config, run_dir, name)
    )
    loop.run(train_tokens, plan, steps_per_epoch(len(lengths), config.batch_size), state)
    logits = load_best(run_dir, model)
    model.cpu().eval()
    return FinetuneResult(model, tokenizer, logits, state, resumed_at)


def _loop_settings(config: FinetuneConfig, run_dir: Path, name: str) -> LoopSettings:
    return LoopSettings(
        name=name,
        run_dir=run_dir,
        max_grad_norm=config.max_grad_norm,
        evals_per_epoch=config.evals_per_epoch,
        patience=config.patience,
        checkpoint_every=config.checkpoint_every,
        bf16=config.bf16,
    )
