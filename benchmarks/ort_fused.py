"""ONNX Runtime's offline transformer fusions, as `bench_ort_graphs` tries them on a member.

`optimize_model` rewrites the traced graph's attention, LayerNorm and GELU into ONNX Runtime's
fused CPU ops (`Attention`, `SkipLayerNormalization`, `EmbedLayerNormalization`, `BiasGelu`);
quantising that graph turns each `Attention` into `QAttention`. Measured here, not adopted:
the session's own ORT_ENABLE_ALL pass already fuses the exported graph when it loads, and the
fused int8 graph ran no faster than the exported one (docs/benchmarks.md, "Offline fusion").
"""

import logging
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.optimizer import optimize_model
from transformers import AutoConfig


def fuse(fp32: Path, member_dir: Path, out: Path) -> dict[str, int]:
    """Write the fused fp32 graph to `out`; return fused op -> count. Heads and hidden size
    come from the member's config, not the optimiser's guess from the graph."""
    config = AutoConfig.from_pretrained(member_dir, local_files_only=True)
    fused = optimize_model(
        str(fp32),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        opt_level=1,  # ONNX Runtime's basic, hardware-independent passes, then the fusions
    )
    fused.save_model_to_file(str(out))
    return {op: count for op, count in fused.get_fused_operator_statistics().items() if count}


def quantise_fused(fused: Path, out: Path, attention: bool = True) -> None:
    """int8 as `moodwatch export` quantises (MatMul weights per channel), plus `Attention`'s
    query/key/value product unless `attention` is False. The fused ops are ONNX Runtime's own,
    which shape inference cannot type: the default type says their outputs are float."""
    quantize_dynamic(
        fused,
        out,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Attention"] if attention else ["MatMul"],
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def fused_graphs(fp32: Path, member_dir: Path, directory: Path) -> dict[str, Path]:
    """The fused fp32 graph and its two int8 forms, written into `directory`."""
    paths = {
        "fused fp32": directory / "fused.fp32.onnx",
        "fused int8 (QAttention)": directory / "fused.int8.onnx",
        "fused int8 (MatMul only)": directory / "fused.int8-matmul.onnx",
    }
    root = logging.getLogger()  # a line per fusion pass, and advice meant for static int8
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        fuse(fp32, member_dir, paths["fused fp32"])
        quantise_fused(paths["fused fp32"], paths["fused int8 (QAttention)"])
        quantise_fused(paths["fused fp32"], paths["fused int8 (MatMul only)"], attention=False)
    finally:
        root.setLevel(level)
    return paths
