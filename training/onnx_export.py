"""Each member as ONNX beside its `transformers` directory: fp32, and int8 by ONNX Runtime's
dynamic quantisation. Which of the two a CPU runs, and which int8 recipe, is the gate's call
(`training/int8_gate.py`, `training/onnx_bundle.py`).

The legacy (TorchScript) exporter, deprecated by torch but still shipped: the dynamo one needs
`onnxscript`, and these encoders trace cleanly. Batch and sequence axes stay dynamic, so one
file serves every micro-batch.
"""

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

ONNX_DIR = "onnx"
FILES = {"fp32": f"{ONNX_DIR}/model.fp32.onnx", "int8": f"{ONNX_DIR}/model.int8.onnx"}
OPSET = 17
INPUT_ORDER = ("input_ids", "attention_mask", "token_type_ids")


class _Logits(torch.nn.Module):
    """Positional inputs in `names` order -> logits: the graph's one output, named `logits`."""

    def __init__(self, model: Any, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).logits  # type: ignore[no-any-return]


def export_member(member_dir: Path) -> dict[str, str]:
    """Write `member_dir/onnx/model.{fp32,int8}.onnx`; return precision -> relative path."""
    hf_logging.disable_progress_bar()
    # eager attention: the traced graph then holds plain MatMul/Softmax that ONNX Runtime fuses
    model = AutoModelForSequenceClassification.from_pretrained(
        member_dir, local_files_only=True, attn_implementation="eager"
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(member_dir)
    sample = tokenizer(["a post", "a longer post, to trace"], padding=True, return_tensors="pt")
    accepted = inspect.signature(model.forward).parameters
    names = tuple(n for n in INPUT_ORDER if n in sample and n in accepted)
    fp32 = member_dir / FILES["fp32"]
    fp32.parent.mkdir(parents=True, exist_ok=True)
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"logits": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode():
        # Tracer notices about python control flow in transformers' code, and torch's notice
        # that this exporter is deprecated: the dynamo one needs `onnxscript` (a follow-up).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model, names),
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=list(names),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    quantise(member_dir, INT8_RECIPES[0])
    return dict(FILES)


# The int8 recipes `moodwatch export` tries, in order: the first the gate accepts is used.
# "all MatMuls": every matrix product of the encoder in int8. "FFN outputs in fp32": the same
# but each layer's feed-forward output product (the one fed by GELU, whose activations have
# the widest range) stays fp32. On the quick bundle's minilm-l6 it halves the posts whose label
# int8 changes (38 -> 18 of 3,500 calibration posts) for ~30 % of int8's speed, still ~1.9x
# fp32 (`python -m training.int8_recipes`, docs/benchmarks.md).
INT8_RECIPES = ("all MatMuls", "FFN outputs in fp32")


def is_ffn_output(node_name: str) -> bool:
    """A layer's feed-forward output MatMul (`.../layer.N/output/dense/MatMul`), not the
    attention output's (`.../attention/output/dense/MatMul`)."""
    return "/output/dense/" in node_name and "/attention/" not in node_name


def quantise(member_dir: Path, recipe: str) -> None:
    """(Re)write `onnx/model.int8.onnx` from the fp32 graph with one of `INT8_RECIPES`: int8
    weights, one scale per output channel; activations quantised per batch, at run time.
    Embedding lookups (Gather) and the classifier stay fp32: with every supported op quantised,
    the quick bundle's members lost 0.38-0.40 points on ood_dev, over the gate's 0.3."""
    if recipe not in INT8_RECIPES:
        raise ValueError(f"unknown int8 recipe {recipe!r}; known: {', '.join(INT8_RECIPES)}")
    fp32, int8 = member_dir / FILES["fp32"], member_dir / FILES["int8"]
    kept: list[str] = []
    if recipe == "FFN outputs in fp32":
        graph = onnx.load(str(fp32), load_external_data=False).graph
        kept = [n.name for n in graph.node if n.op_type == "MatMul" and is_ffn_output(n.name)]
    quantize_quietly(
        fp32,
        int8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=kept,
    )


def quantize_quietly(fp32: Path, out: Path, **options: Any) -> None:
    """`quantize_dynamic` without its log lines: its advice to pre-process the graph is for
    static (calibrated) int8, not what is done here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(fp32, out, **options)
    finally:
        root.setLevel(level)
