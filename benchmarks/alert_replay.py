"""Replayed streams for the alert benchmark: real post texts, a daily rhythm, injected episodes.

Each hour draws Poisson(`per_hour`) posts whose labels follow a mix that swings over the day
(joy by day, sadness by night); an episode moves one emotion's share by `lift` points for its
hours (the others make room in proportion). Texts are drawn from real posts of the drawn label;
a topic episode adds a subject phrase to the extra posts of its emotion, so its word is new to
the data. Post times are spread uniformly over their hour (the time warp).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.alert_posts import Post
from schemas.emotions import LABELS

BASE_MIX = np.array([0.28, 0.34, 0.09, 0.13, 0.11, 0.05])  # sadness joy love anger fear surprise
TOPIC_PHRASES = (
    "hurricane {w} is heading our way",
    "{w} made landfall tonight",
    "stay safe from storm {w}",
    "the {w} warnings keep coming",
    "power is out because of {w}",
    "cannot stop watching the news about {w}",
)


@dataclass(frozen=True)
class Injected:
    start: int  # hour index in the replay
    hours: int
    label: str
    lift: float  # share points: positive a rise, negative a drop
    topic: str | None = None

    def covers(self, hour: int) -> bool:
        return self.start <= hour < self.start + self.hours


def load_texts(data_dir: Path) -> dict[str, list[str]]:
    """Texts per label of the CARER train split and goemotions_train (JSONL, `label_name`)."""
    texts: dict[str, list[str]] = {label: [] for label in LABELS}
    for path in (data_dir / "emotion/train.jsonl", data_dir / "goemotions_train/train.jsonl"):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                texts[record["label_name"]].append(record["text"])
    return texts


def hourly_mix(hours: int) -> np.ndarray:
    cycle = np.sin(2 * np.pi * (np.arange(hours) % 24) / 24)
    mix = np.tile(BASE_MIX, (hours, 1))
    mix[:, 1] *= 1 + 0.35 * cycle
    mix[:, 0] *= 1 - 0.25 * cycle
    return np.asarray(mix / mix.sum(axis=1, keepdims=True))


def _shifted(mix: np.ndarray, k: int, lift: float) -> np.ndarray:
    share = mix[k]
    target = float(np.clip(share + lift, 0.0, 0.95))
    moved = mix * (1 - target) / (1 - share)
    moved[k] = target
    return moved


def replay(
    texts: dict[str, list[str]],
    start: datetime,
    hours: int,
    per_hour: float,
    episodes: list[Injected],
    seed: int,
) -> Iterator[Post]:
    rng = np.random.default_rng(seed)
    mixes = hourly_mix(hours)
    for hour in range(hours):
        mix = mixes[hour]
        active = [e for e in episodes if e.covers(hour)]
        for episode in active:
            mix = _shifted(mix, LABELS.index(episode.label), episode.lift)
        n = int(rng.poisson(per_hour))
        counts = rng.multinomial(n, mix)
        topical = {e.label: int(round(max(e.lift, 0) * n)) for e in active if e.topic is not None}
        topics = {e.label: e.topic for e in active if e.topic is not None}
        for k, label in enumerate(LABELS):
            pool = texts[label]
            for i in range(int(counts[k])):
                text = pool[int(rng.integers(len(pool)))]
                if i < topical.get(label, 0):
                    phrase = TOPIC_PHRASES[int(rng.integers(len(TOPIC_PHRASES)))]
                    text = f"{text} {phrase.format(w=topics[label])}"
                at = start + timedelta(hours=hour, seconds=float(rng.uniform(0, 3600)))
                yield Post(f"r{seed}-{hour}-{label}-{i}", text, at, label)
