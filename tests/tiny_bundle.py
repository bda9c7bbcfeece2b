"""Tiny, randomly initialised BERT members and bundles for fast CPU tests (no downloads).

`build_tiny_bundle(dir)` writes a complete model bundle, manifest included, in well under a
second; the worker's integration tests and training's unit tests share it.
"""

from pathlib import Path
from typing import Any

import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from schemas.bundle import BundleManifest, MemberSpec
from schemas.emotions import LABELS

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
WORDS = (
    "i feel feeling felt so very really not a the and to my me you it is am was this that "
    "happy sad angry scared afraid love loved loving surprised amazed joy fear anger sadness "
    "surprise great good bad awful terrible lonely hopeless excited thanks thank lol wow omg "
    "http user day today people life"
).split()
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
PUNCTUATION = "!?.,;:'\"()@#-_*/&"
MAX_LENGTH = 32


def tiny_vocab() -> list[str]:
    """A small uncased WordPiece vocabulary: specials, words, single characters and `##` pieces."""
    pieces = [f"##{c}" for c in LETTERS]
    tokens = [*SPECIAL_TOKENS, *WORDS, *LETTERS, *PUNCTUATION, *pieces]
    return list(dict.fromkeys(tokens))  # "i" and "a" are words and letters: keep the first


def write_tiny_tokenizer(directory: Path) -> Any:
    """Write the tokenizer files into `directory` and return the tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate(tiny_vocab())}
    # transformers v5: `vocab` takes the mapping itself (the v4 `vocab_file=` is ignored).
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    tokenizer.model_max_length = MAX_LENGTH
    tokenizer.save_pretrained(directory)
    return tokenizer


def tiny_config(**overrides: Any) -> BertConfig:
    """hidden 32, 2 layers, 2 heads: about 25k parameters, labels from `schemas.emotions`."""
    settings: dict[str, Any] = {
        "vocab_size": len(tiny_vocab()),
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 64,
        "num_labels": len(LABELS),
        "id2label": dict(enumerate(LABELS)),
        "label2id": {label: i for i, label in enumerate(LABELS)},
    }
    settings.update(overrides)
    return BertConfig(**settings)


def tiny_classifier(seed: int = 0) -> BertForSequenceClassification:
    """A randomly initialised 6-label classifier; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(tiny_config())
    model.eval()
    return model


def write_tiny_member(directory: Path, seed: int = 0) -> Path:
    """One bundle member: model and tokenizer in the standard `transformers` layout."""
    write_tiny_tokenizer(directory)
    tiny_classifier(seed).save_pretrained(directory)
    return directory


def build_tiny_bundle(dir: Path, members: int = 2) -> Path:  # `dir`: the agreed keyword
    """Write a complete bundle of `members` tiny random BERT members into `dir`; return `dir`.

    The members share one tokenizer family, so the predictor tokenises each batch once.
    """
    if members < 1:
        raise ValueError("a bundle needs at least one member")
    dir.mkdir(parents=True, exist_ok=True)
    specs = []
    for index in range(members):
        name = f"tiny{index}"
        write_tiny_member(dir / name, seed=index)
        specs.append(
            MemberSpec(
                name=name,
                path=name,
                base_model="tiny-random-bert",
                package=None,
                tokenizer_family="bert-uncased",
                max_length=MAX_LENGTH,
                temperature=1.0,
                finetune={"note": "random weights, for tests only"},
            )
        )
    BundleManifest(members=tuple(specs)).save(dir)
    return dir


def export_tiny_bundle(dir: Path, int8: bool = False) -> Path:
    """Add the ONNX files `moodwatch export` writes, so the bundle runs on ONNX Runtime as the
    worker's default CPU path does. Random members have no accuracy to keep, so the gate's
    figures are made up: fp32 (answers within 1e-5 of torch) unless `int8`."""
    from training.onnx_bundle import export_bundle

    def score(precision: str) -> dict[str, dict[str, dict[str, float]]]:
        accuracy = 0.5 if precision == "int8" and not int8 else 0.9
        figures = {"accuracy": accuracy, "macro_f1": accuracy}
        manifest = BundleManifest.load(dir)
        return {spec.name: {"carer-test": figures, "ood-dev": figures} for spec in manifest.members}

    export_bundle(dir, dir / "no-data", score=score)
    return dir
