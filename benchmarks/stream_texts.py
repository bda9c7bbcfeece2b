"""Real posts for the stream benchmark: Reddit comments (ood_dev first, then GoEmotions)."""

import json
import random
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = ("ood_dev/ood_dev.jsonl", "goemotions_train/train.jsonl", "emotion/test.jsonl")


def load_texts(count: int, data_dir: Path = DATA, seed: int = 7) -> list[str]:
    """`count` distinct real texts in a shuffled order (distinct: no cache hit can flatter us)."""
    seen: dict[str, None] = {}
    for name in SOURCES:
        path = data_dir / name
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                text = json.loads(line)["text"].strip()
                if text:
                    seen.setdefault(text)
        if len(seen) >= count:
            break
    texts = list(seen)
    if len(texts) < count:
        raise SystemExit(f"only {len(texts)} distinct texts under {data_dir}; ask for fewer")
    random.Random(seed).shuffle(texts)
    return texts[:count]
