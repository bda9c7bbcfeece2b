"""A quick sanity probe of a pretrained sentence encoder: are its embeddings meaningful?

Catches the failures that a silent mis-mapping of weights produces (every sentence maps to
nearly the same vector, or similarity ignores meaning) before hours of fine-tuning.
"""

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel, AutoTokenizer

# (anchor, paraphrase, unrelated): the paraphrase must sit closer to the anchor.
PROBE_TRIPLES = (
    ("I am so happy today", "I feel really glad today", "The train leaves at seven"),
    ("This makes me furious", "I am so angry about this", "Add two cups of flour"),
    ("I'm scared of the dark", "The dark frightens me", "Stock prices rose on Monday"),
)


class ProbeError(RuntimeError):
    """The encoder's embeddings look degenerate or meaningless."""


def mean_pooled(model: Any, tokenizer: Any, sentences: list[str]) -> torch.Tensor:
    """L2-normalised mean of the token states, as sentence-transformers pools these models."""
    encoded = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.inference_mode():
        states = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].unsqueeze(-1).to(states.dtype)
    pooled = (states * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(pooled, dim=-1)


def embedding_probe(model_dir: Path) -> dict[str, Any]:
    """Cosine similarities of the probe triples; raise if any paraphrase is not the nearer one."""
    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sentences = [s for triple in PROBE_TRIPLES for s in triple]
    vectors = mean_pooled(model, tokenizer, sentences).view(len(PROBE_TRIPLES), 3, -1)
    similar = (vectors[:, 0] * vectors[:, 1]).sum(-1)
    unrelated = (vectors[:, 0] * vectors[:, 2]).sum(-1)
    spread = float(vectors.reshape(len(sentences), -1).std(dim=0).mean())
    figures = {
        "paraphrase_cosine": [round(float(x), 4) for x in similar],
        "unrelated_cosine": [round(float(x), 4) for x in unrelated],
        "embedding_spread": round(spread, 5),
    }
    if spread < 1e-3 or not bool((similar > unrelated).all()):
        raise ProbeError(f"encoder in {model_dir} fails the embedding probe: {figures}")
    return figures
