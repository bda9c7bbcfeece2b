"""Training profiles: which members, on how much data, for how long.

`quick` is the default demo bundle and must finish within 10 minutes on a 2-core CPU, encoder
unpacking included. `full` is the strongest ensemble (hours on a CPU, minutes on a GPU).
"""

from dataclasses import dataclass

from training.finetune import FinetuneConfig


@dataclass(frozen=True)
class MemberPlan:
    name: str
    encoder: str  # a key of `training.encoders.ENCODERS`
    finetune: FinetuneConfig
    int8_ok: bool  # int8 dynamic quantisation keeps MiniLM accuracy but breaks mpnet


@dataclass(frozen=True)
class Profile:
    name: str
    members: tuple[MemberPlan, ...]
    carer_rows: int | None = None  # None: the whole CARER train split
    goemotions_rows: int | None = None  # None: the whole goemotions_train file

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError(f"profile {self.name} has no members")
        names = [m.name for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError(f"profile {self.name} repeats a member name: {names}")


QUICK = Profile(
    name="quick",
    members=(
        MemberPlan(
            name="minilm-l6",
            encoder="minilm-l6",
            finetune=FinetuneConfig(
                epochs=1, learning_rate=1e-4, max_length=64, evals_per_epoch=2, patience=2
            ),
            int8_ok=True,
        ),
        MemberPlan(
            name="minilm-l3",
            encoder="minilm-l3",
            finetune=FinetuneConfig(
                epochs=1, learning_rate=1.5e-4, max_length=64, evals_per_epoch=2, patience=2
            ),
            int8_ok=True,
        ),
    ),
    carer_rows=None,
    goemotions_rows=None,
)

FULL = Profile(
    name="full",
    members=(
        MemberPlan(
            name="minilm-l6",
            encoder="minilm-l6",
            finetune=FinetuneConfig(
                epochs=4, learning_rate=1e-4, max_length=128, evals_per_epoch=2
            ),
            int8_ok=True,
        ),
        MemberPlan(
            name="minilm-l3",
            encoder="minilm-l3",
            finetune=FinetuneConfig(
                epochs=4, learning_rate=1.5e-4, max_length=128, evals_per_epoch=2
            ),
            int8_ok=True,
        ),
        MemberPlan(
            name="mpnet",
            encoder="mpnet",
            finetune=FinetuneConfig(
                epochs=3, learning_rate=3e-5, max_length=128, evals_per_epoch=2, patience=3
            ),
            int8_ok=False,
        ),
    ),
)

PROFILES = {profile.name: profile for profile in (QUICK, FULL)}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown training profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name]
