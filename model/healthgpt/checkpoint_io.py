"""Reading (and, for tests, writing) checkpoints in the layouts the release ships, without network or the
safetensors package (Debian has none): a safetensors file is an 8-byte little-endian header length, a JSON
header {name: {dtype, shape, data_offsets: [begin, end]}} (offsets from the end of the header) and the raw
little-endian data.

Every reader refuses a file it cannot read whole, naming the file (and the tensors past its end when it is
truncated), so an export never runs on part of a checkpoint.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Dict, List, Tuple

import numpy as np
import torch

# safetensors dtype -> (numpy dtype to read the bytes, torch dtype they are)
_DTYPES: Dict[str, Tuple[np.dtype, torch.dtype]] = {
    "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16),
    "BF16": (np.dtype("<i2"), torch.bfloat16),  # read as int16, reinterpreted
    "F64": (np.dtype("<f8"), torch.float64),
    "I64": (np.dtype("<i8"), torch.int64),
    "I32": (np.dtype("<i4"), torch.int32),
    "I16": (np.dtype("<i2"), torch.int16),
    "I8": (np.dtype("i1"), torch.int8),
    "U8": (np.dtype("u1"), torch.uint8),
    "BOOL": (np.dtype("?"), torch.bool),
}
_NAMES = {t: n for n, (_, t) in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read whole."""


def safetensors_header(path: str) -> Tuple[Dict[str, dict], int]:
    """(tensor entries without __metadata__, offset of the data); checks that every tensor lies in the file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER or 8 + n > size:
            raise CheckpointError(f"{path}: header length {n} does not fit the file ({size} bytes): truncated "
                                  "or not a safetensors file")
        try:
            header = json.loads(f.read(n))
        except ValueError as e:
            raise CheckpointError(f"{path}: unreadable safetensors header ({e})") from None
    header.pop("__metadata__", None)
    start = 8 + n
    past_end: List[str] = []
    for name, e in header.items():
        if e.get("dtype") not in _DTYPES:
            raise CheckpointError(f"{path}: tensor {name} has dtype {e.get('dtype')!r}, which this reader does not "
                                  f"know ({', '.join(_DTYPES)})")
        begin, end = e["data_offsets"]
        want = int(np.prod(e["shape"], dtype=np.int64)) * _DTYPES[e["dtype"]][0].itemsize
        if end - begin != want:
            raise CheckpointError(f"{path}: tensor {name} has {end - begin} bytes for shape {e['shape']} "
                                  f"{e['dtype']} ({want} expected)")
        if start + end > size:
            past_end.append(name)
    if past_end:
        raise CheckpointError(f"{path} is truncated ({size} bytes): {len(past_end)} tensors end past it: "
                              + ", ".join(sorted(past_end)[:20]) + (" ..." if len(past_end) > 20 else ""))
    return header, start


def load_safetensors(path: str) -> Dict[str, torch.Tensor]:
    header, start = safetensors_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="r")
    out: Dict[str, torch.Tensor] = {}
    for name, e in header.items():
        np_dtype, t_dtype = _DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        arr = np.array(data[start + begin : start + end]).view(np_dtype).reshape(e["shape"])  # one copy
        t = torch.from_numpy(arr)
        out[name] = t.view(torch.bfloat16) if t_dtype == torch.bfloat16 else t
    return out


def save_safetensors(path: str, tensors: Dict[str, torch.Tensor]) -> None:
    """Write tensors in the safetensors layout (for tests and tools; names sorted, data packed)."""
    header: Dict[str, dict] = {}
    blobs: List[bytes] = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load_torch_file(path: str) -> Dict[str, torch.Tensor]:
    """A torch pickle (.bin, .ckpt): a flat state dict, or a Lightning checkpoint's "state_dict"."""
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch reports truncation as several error types
        raise CheckpointError(f"{path}: cannot read the torch file ({type(e).__name__}: {e}); truncated or "
                              "not a checkpoint") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors")
    return dict(obj)


def load_weights_file(path: str) -> Dict[str, torch.Tensor]:
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    return load_safetensors(path) if path.endswith(".safetensors") else load_torch_file(path)


def load_hf_folder(folder: str) -> Dict[str, torch.Tensor]:
    """The weights of a Hugging Face model folder: sharded (*.index.json) or single, safetensors or .bin.
    A shard the index names but the folder lacks, a tensor the index places in a shard that does not hold it,
    or a shard tensor the index does not list, is an error naming them."""
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index_path = os.path.join(folder, index_name)
        if os.path.isfile(index_path):
            return _load_sharded(folder, index_path)
    for single in ("model.safetensors", "pytorch_model.bin"):
        p = os.path.join(folder, single)
        if os.path.isfile(p):
            return load_weights_file(p)
    raise CheckpointError(f"{folder}: no model.safetensors(.index.json) or pytorch_model.bin(.index.json)")


def _load_sharded(folder: str, index_path: str) -> Dict[str, torch.Tensor]:
    with open(index_path) as f:
        weight_map: Dict[str, str] = json.load(f)["weight_map"]
    shards = sorted(set(weight_map.values()))
    absent = [s for s in shards if not os.path.isfile(os.path.join(folder, s))]
    if absent:
        raise CheckpointError(f"{index_path} names shards the folder lacks: {', '.join(absent)}")
    out: Dict[str, torch.Tensor] = {}
    for shard in shards:
        tensors = load_weights_file(os.path.join(folder, shard))
        listed = {k for k, v in weight_map.items() if v == shard}
        missing, extra = sorted(listed - set(tensors)), sorted(set(tensors) - listed)
        if missing or extra:
            raise CheckpointError(f"{shard} does not match {os.path.basename(index_path)}: "
                                  + (f"missing {', '.join(missing)}" if missing else "")
                                  + ("; " if missing and extra else "")
                                  + (f"not in the index {', '.join(extra)}" if extra else ""))
        out.update(tensors)
    return out
