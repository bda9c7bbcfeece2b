"""The six emotion labels, with the ids of the DAIR.AI `emotion` dataset card."""

from enum import IntEnum


class Emotion(IntEnum):
    SADNESS = 0
    JOY = 1
    LOVE = 2
    ANGER = 3
    FEAR = 4
    SURPRISE = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, name: str) -> "Emotion":
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown emotion {name!r}; expected one of {LABELS}") from None


LABELS: tuple[str, ...] = tuple(e.label for e in Emotion)
NUM_LABELS = len(LABELS)
