"""Block-quantise a graph's large linear weights to 4 or 8 bits with ONNX Runtime's MatMulNBits (com.microsoft).

Every MatMul whose second input is a float32 initializer W[K, N] with K and N both at least `min_dim` (the base
decoder's linears and the output head; the H-LoRA matrices, routers and norms are far narrower and stay float) is
replaced by MatMulNBits(A, B_q, scales) with attributes K, N, bits, block_size. Layout (as ORT's kernel reads it):
B_q[N, K/block, block*bits/8] uint8 holds W's column n, block by block, low nibble first for 4 bits; scales[N *
K/block] float32. Symmetric per block: scale = max|w| / (2^(bits-1) - 1), q = round(w / scale) + 2^(bits-1), the
zero point left at the kernel's default 2^(bits-1) (so no zero-point tensor is stored).

    quantize_matmuls(path, bits=4, block_size=32, min_dim=...) -> number of MatMuls replaced
"""
from __future__ import annotations

import os
from typing import Dict, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .onnx_fp16 import external_data_files, save_rewritten

MS_DOMAIN = "com.microsoft"


def quantize_blocks(w: np.ndarray, bits: int, block_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """W[K, N] float -> (B_q[N, K/block, block*bits/8] uint8, scales[N*K/block] float32)."""
    if bits not in (4, 8):
        raise ValueError("bits must be 4 or 8")
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError("block_size must be a power of two, at least 16")
    k, n = w.shape
    if k % block_size:
        raise ValueError(f"K={k} is not a multiple of block_size={block_size}")
    nb = k // block_size
    blocks = w.T.astype(np.float32).reshape(n, nb, block_size)
    qmax = 2 ** (bits - 1) - 1
    scale = np.abs(blocks).max(axis=2) / qmax
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    q = np.clip(np.rint(blocks / scale[..., None]), -qmax - 1, qmax).astype(np.int32) + 2 ** (bits - 1)
    q = q.astype(np.uint8)
    if bits == 4:
        q = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(q), scale.reshape(-1)


def dequantize_blocks(bq: np.ndarray, scales: np.ndarray, bits: int, block_size: int, k: int) -> np.ndarray:
    """The float W[K, N] that MatMulNBits computes with (tests, quality checks)."""
    n, nb, _ = bq.shape
    if bits == 4:
        q = np.empty((n, nb, block_size), np.int32)
        q[..., 0::2] = bq & 0x0F
        q[..., 1::2] = bq >> 4
    else:
        q = bq.astype(np.int32)
    w = (q - 2 ** (bits - 1)).astype(np.float32) * scales.reshape(n, nb, 1)
    return w.reshape(n, k).T


def quantize_matmuls(path: str, bits: int = 4, block_size: int = 32, min_dim: int = 256) -> int:
    """Rewrite the graph at `path` in place (external data for a graph over ~1.8 GB); returns MatMuls replaced."""
    old_files = external_data_files(path)
    model = onnx.load(path)
    graph = model.graph
    inits: Dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
    uses: Dict[str, int] = {}
    for node in graph.node:
        for i in node.input:
            uses[i] = uses.get(i, 0) + 1
    replaced, drop = 0, set()
    new_nodes, new_inits = [], []
    for node in graph.node:
        w_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        t = inits.get(w_name) if w_name else None
        if t is None or t.data_type != TensorProto.FLOAT or len(t.dims) != 2:
            new_nodes.append(node)
            continue
        k, n = int(t.dims[0]), int(t.dims[1])
        if min(k, n) < min_dim or k % block_size:
            new_nodes.append(node)
            continue
        bq, scales = quantize_blocks(numpy_helper.to_array(t), bits, block_size)
        base = f"{w_name}__q{bits}"
        new_inits += [numpy_helper.from_array(bq, base), numpy_helper.from_array(scales, base + "_scales")]
        new_nodes.append(helper.make_node("MatMulNBits", [node.input[0], base, base + "_scales"], list(node.output),
                                          name=(node.name or w_name) + f"__nbits{bits}", domain=MS_DOMAIN,
                                          K=k, N=n, bits=bits, block_size=block_size, accuracy_level=0))
        uses[w_name] -= 1
        if uses[w_name] == 0:
            drop.add(w_name)
        replaced += 1
    if not replaced:
        return 0
    kept = [t for t in graph.initializer if t.name not in drop] + new_inits
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.node[:]
    graph.node.extend(new_nodes)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    save_rewritten(model, path, old_files)
    return replaced


def _sha256(path: str) -> str:
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def relist_files(out_dir: str, files: list) -> list:
    """The pack's files after graphs were rewritten: sizes and hashes anew, new external-data files as weights."""
    roles = {f["path"]: f["role"] for f in files}
    out = []
    for fn in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, fn)
        if fn in ("manifest.json", "manifest.sig") or not os.path.isfile(p):
            continue
        out.append({"path": fn, "role": roles.get(fn, "weights"), "size": os.path.getsize(p), "sha256": _sha256(p)})
    return out


def _rewrite_manifest(out_dir: str, manifest: dict) -> None:
    import json
    manifest["files"] = relist_files(out_dir, manifest["files"])
    if os.path.exists(os.path.join(out_dir, "manifest.sig")):
        os.remove(os.path.join(out_dir, "manifest.sig"))  # no longer matches: sign the pack again
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)


def round_pack_fp16(out_dir: str) -> dict:
    """An fp32 pack made an fp16 one in place: every weight of 4096+ elements rounded to and stored as fp16
    (lossy, unlike store_weights_fp16's default); dtype float16."""
    import json
    from .onnx_fp16 import store_weights_fp16
    with open(os.path.join(out_dir, "manifest.json"), "r", encoding="utf-8") as f:
        manifest = json.load(f)
    for e in manifest["files"]:
        if e["path"].endswith(".onnx"):
            store_weights_fp16(os.path.join(out_dir, e["path"]), min_elements=4096, lossy=True)
    manifest["architecture"]["dtype"] = "float16"
    _rewrite_manifest(out_dir, manifest)
    return manifest


def quantize_pack(out_dir: str, bits: int, block_size: int = 32) -> Dict[str, object]:
    """Quantise a written fp32 pack in place: lm.onnx's base linears and the output heads to `bits`, H-LoRA,
    routers, norms and embeddings left float32; manifest.json gets architecture.quantization and new sizes and
    hashes (an existing manifest.sig no longer matches and is removed: sign the pack again)."""
    import json
    mpath = os.path.join(out_dir, "manifest.json")
    with open(mpath, "r", encoding="utf-8") as f:
        manifest = json.load(f)
    arch = manifest["architecture"]
    if arch.get("quantization"):
        raise ValueError("the pack is already quantised")
    r_total = sum(p["rank"] for p in arch["plugins"])
    experts = sum(p["experts"] for p in arch["plugins"])
    min_dim = max(block_size, r_total + 1, experts + 1)  # wider than any H-LoRA matrix: only base weights
    graphs = manifest["graphs"]
    targets = [graphs["lm"], *graphs["head"].values()]
    replaced = {g: quantize_matmuls(os.path.join(out_dir, g), bits, block_size, min_dim) for g in targets}
    if not replaced[graphs["lm"]]:
        raise ValueError(f"no base linear of lm.onnx could be quantised at block size {block_size}")
    arch["quantization"] = {"method": "matmul-nbits", "bits": bits, "blockSize": block_size,
                            "graphs": [g for g in targets if replaced[g]]}
    _rewrite_manifest(out_dir, manifest)
    return manifest


def main() -> None:
    import argparse
    import json
    ap = argparse.ArgumentParser(description="Make an fp32 pack an fp16, int8 or int4 one, in place")
    ap.add_argument("--pack", required=True)
    ap.add_argument("--precision", choices=["fp16", "int8", "int4"], required=True)
    ap.add_argument("--block-size", type=int, default=32, help="weights per quantisation block (int8/int4)")
    a = ap.parse_args()
    if a.precision == "fp16":
        m = round_pack_fp16(a.pack)
    else:
        m = quantize_pack(a.pack, 8 if a.precision == "int8" else 4, a.block_size)
    print(json.dumps({"ok": True, "dtype": m["architecture"]["dtype"], "quantization": m["architecture"].get("quantization")}))


if __name__ == "__main__":
    main()
