"""Each member as ONNX beside its `transformers` directory: fp32, and int8 by ONNX Runtime's
dynamic quantisation. Which of the two a CPU runs is the gate's call (`training/int8_gate.py`).

The legacy (TorchScript) exporter, deprecated by torch but still shipped: the dynamo one needs
`onnxscript`, and these encoders trace cleanly. Batch and sequence axes stay dynamic, so one
file serves every micro-batch.
"""

import inspect
import logging
import warnings
from pathlib import Path
from typing import Any

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
    fp32, int8 = member_dir / FILES["fp32"], member_dir / FILES["int8"]
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
    _quantise(fp32, int8)
    return dict(FILES)


def _quantise(fp32: Path, int8: Path) -> None:
    """int8 weights of the encoder's matrix products, one scale per output channel; activations
    are quantised per batch, at run time. Embedding lookups (Gather) and the classifier stay
    fp32: with every supported op quantised, `moodwatch export` found the quick bundle's members
    0.38-0.40 points down on ood_dev, over the gate's 0.3; with MatMul alone, 0-0.22. The
    MatMuls are where the time goes."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process is for static (calibrated) int8
    try:
        quantize_dynamic(
            fp32,
            int8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
    finally:
        root.setLevel(level)
