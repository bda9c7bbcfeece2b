"""Turning a BERT encoder exported to ONNX (sentence-transformers style) back into a `BertModel`.

Named initialisers (`model.0.auto_model.<torch name>`) map by name. The exporter folded each
`Linear` into an anonymous `MatMul` initialiser followed by `Add(<named bias>)`, so the weight's
name is read off the bias it is added to, and the matrix is transposed (ONNX keeps `[in, out]`,
torch `[out, in]`). The conversion is checked numerically against the ONNX graph itself, run by
`onnx.reference` (the pure-numpy evaluator that ships with `onnx`).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator
from transformers import BertConfig, BertModel

ONNX_PREFIX = "model.0.auto_model."
MAX_HIDDEN_DIFF = 1e-3


class OnnxConversionError(RuntimeError):
    """The ONNX graph does not map onto a BertModel, or the converted model disagrees with it."""


def onnx_bert_state_dict(graph_model: onnx.ModelProto) -> dict[str, torch.Tensor]:
    """Torch `BertModel` parameter names -> tensors, read from the ONNX initialisers."""
    arrays = {t.name: numpy_helper.to_array(t) for t in graph_model.graph.initializer}
    state = {n[len(ONNX_PREFIX) :]: a for n, a in arrays.items() if n.startswith(ONNX_PREFIX)}
    for node in graph_model.graph.node:
        weight = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else ""
        if weight in arrays and not weight.startswith(ONNX_PREFIX):
            bias = _bias_added_after(graph_model, node.output[0])
            state[bias.removesuffix(".bias") + ".weight"] = arrays[weight].T
    return {name: torch.from_numpy(np.array(a, copy=True)) for name, a in state.items()}


def _bias_added_after(graph_model: onnx.ModelProto, matmul_output: str) -> str:
    for node in graph_model.graph.node:
        if node.op_type == "Add" and matmul_output in node.input:
            named = [i for i in node.input if i.startswith(ONNX_PREFIX) and i.endswith(".bias")]
            if len(named) == 1:
                return str(named[0])[len(ONNX_PREFIX) :]
    raise OnnxConversionError(f"no named bias is added to {matmul_output}; cannot name its weight")


def bert_config_for(state: dict[str, torch.Tensor], heads_from: BertConfig) -> BertConfig:
    """Sizes read from the tensors; attention heads taken from a sibling model's config.

    Heads leave no trace in the tensor shapes; a wrong guess is caught by `compare_with_onnx`.
    """
    layers = {int(n.split(".")[2]) for n in state if n.startswith("encoder.layer.")}
    vocab, hidden = state["embeddings.word_embeddings.weight"].shape
    config = heads_from.to_dict()
    config.update(
        vocab_size=int(vocab),
        hidden_size=int(hidden),
        num_hidden_layers=len(layers),
        intermediate_size=int(state["encoder.layer.0.intermediate.dense.weight"].shape[0]),
        max_position_embeddings=int(state["embeddings.position_embeddings.weight"].shape[0]),
        type_vocab_size=int(state["embeddings.token_type_embeddings.weight"].shape[0]),
        architectures=["BertModel"],
    )
    config.pop("_name_or_path", None)
    return BertConfig(**config)


def bert_from_onnx(graph_model: onnx.ModelProto, heads_from: BertConfig, seed: int) -> BertModel:
    """A `BertModel` with the ONNX weights; the pooler (not in the ONNX) is seeded random."""
    state = onnx_bert_state_dict(graph_model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(bert_config_for(state, heads_from), add_pooling_layer=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [n for n in unexpected if n != "embeddings.position_ids"]
    missing = [n for n in missing if not n.startswith("pooler.")]
    if missing or unexpected:
        raise OnnxConversionError(f"ONNX -> BertModel: missing {missing}, unexpected {unexpected}")
    return model.eval()


def compare_with_onnx(
    graph_model: onnx.ModelProto, model: BertModel, tokenizer: Any, sentences: Sequence[str]
) -> dict[str, float]:
    """Run both on `sentences`; raise unless their token states agree. Returns the figures."""
    encoded = tokenizer(list(sentences), padding=True, return_tensors="np")
    ids = encoded["input_ids"].astype(np.int64)
    mask = encoded["attention_mask"].astype(np.int64)
    reference = ReferenceEvaluator(graph_model)
    (onnx_states,) = reference.run(
        [_token_states_output(graph_model)], _feeds(graph_model, ids, mask)
    )
    with torch.inference_mode():
        torch_states = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    states = torch_states.last_hidden_state.numpy()
    real = mask.astype(bool)
    diff = float(np.abs(states[real] - np.asarray(onnx_states)[real]).max())
    if diff > MAX_HIDDEN_DIFF:
        raise OnnxConversionError(f"converted model differs from the ONNX graph by {diff:.2e}")
    return {"max_abs_diff": diff, "sentences": float(len(sentences))}


def _token_states_output(graph_model: onnx.ModelProto) -> str:
    """The float output shaped `[batch, tokens, hidden]`: the last hidden state."""
    for output in graph_model.graph.output:
        tensor = output.type.tensor_type
        if tensor.elem_type == onnx.TensorProto.FLOAT and len(tensor.shape.dim) == 3:
            return str(output.name)
    raise OnnxConversionError("the ONNX graph has no [batch, tokens, hidden] float output")


def _feeds(graph_model: onnx.ModelProto, ids: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    available = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    return {i.name: available[i.name] for i in graph_model.graph.input}
