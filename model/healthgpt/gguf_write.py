"""Write a model's base Phi-3 decoder (no H-LoRA, no vision, no fusion pair) as a GGUF file for llama.cpp.

For the decode benchmark only: llama.cpp is the peer a workstation user would pick for a Phi-3-class model, so the
same random weights are timed on both sides. Written from the GGUF v3 layout (header, key/value metadata,
tensor infos, 32-byte aligned data); llama.cpp's "phi3" architecture: token_embd, blk.N.{attn_norm, attn_qkv,
attn_output, ffn_norm, ffn_up (gate and up fused, gate first), ffn_down}, output_norm, output; NeoX RoPE.
Types: F16, or Q4_0 (32 weights per block: an fp16 scale d = signed max / -8 and 16 bytes of 4-bit values,
element j in the low nibble of byte j and element 16+j in its high nibble). A dummy SentencePiece-style
vocabulary of the model's size (the benchmark feeds token ids, never text).

    /usr/bin/python3 -m model.healthgpt.gguf_write --reference reference.pt --out base.gguf --type q4_0|f16
"""
from __future__ import annotations

import argparse
import struct
from typing import BinaryIO, Dict, List, Tuple

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGN = 32
# metadata value types
U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9
# ggml tensor types
GGML_F32, GGML_F16, GGML_Q4_0 = 0, 1, 2
FILE_TYPE = {"f16": 1, "q4_0": 2}  # llama_ftype: MOSTLY_F16, MOSTLY_Q4_0


def _str(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype: int, v) -> bytes:
    if vtype == U32:
        return struct.pack("<I", v)
    if vtype == I32:
        return struct.pack("<i", v)
    if vtype == F32:
        return struct.pack("<f", v)
    if vtype == BOOL:
        return struct.pack("<?", v)
    if vtype == STRING:
        return _str(v)
    raise ValueError(vtype)


def _kv(key: str, vtype: int, v) -> bytes:
    return _str(key) + struct.pack("<I", vtype) + _value(vtype, v)


def _kv_array(key: str, item_type: int, items: list) -> bytes:
    head = _str(key) + struct.pack("<IIQ", ARRAY, item_type, len(items))
    if item_type == F32:
        return head + np.asarray(items, "<f4").tobytes()
    if item_type == I32:
        return head + np.asarray(items, "<i4").tobytes()
    return head + b"".join(_value(item_type, x) for x in items)


def quantize_q4_0(w: np.ndarray) -> bytes:
    """Rows of W (row length a multiple of 32) as Q4_0 blocks, row by row."""
    rows, cols = w.shape
    if cols % 32:
        raise ValueError("Q4_0 needs rows that are a multiple of 32 long")
    b = w.astype(np.float32).reshape(rows, cols // 32, 32)
    idx = np.abs(b).argmax(axis=2)
    signed_max = np.take_along_axis(b, idx[..., None], axis=2)[..., 0]
    d = signed_max / -8.0
    inv = np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1.0, d))
    q = np.clip(np.trunc(b * inv[..., None] + 8.5), 0, 15).astype(np.uint8)
    packed = q[..., :16] | (q[..., 16:] << 4)
    out = np.empty((rows, cols // 32), dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = packed
    return out.tobytes()


def dequantize_q4_0(data: bytes, rows: int, cols: int) -> np.ndarray:
    blk = np.frombuffer(data, dtype=[("d", "<f2"), ("qs", "u1", (16,))]).reshape(rows, cols // 32)
    qs = blk["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.float32) - 8.0
    return (q * blk["d"].astype(np.float32)[..., None]).reshape(rows, cols)


def base_tensors(state: Dict[str, "np.ndarray"], num_layers: int) -> List[Tuple[str, np.ndarray]]:
    """(gguf name, array in torch layout [out, in]) of the base decoder, from a HealthGPT state dict."""
    m = "base_model.model.model."
    t: List[Tuple[str, np.ndarray]] = [("token_embd.weight", state[m + "embed_tokens.weight"])]
    for i in range(num_layers):
        p = f"{m}layers.{i}."
        t += [
            (f"blk.{i}.attn_norm.weight", state[p + "input_layernorm.weight"]),
            (f"blk.{i}.attn_qkv.weight", state[p + "self_attn.qkv_proj.weight"]),
            (f"blk.{i}.attn_output.weight", state[p + "self_attn.o_proj.weight"]),
            (f"blk.{i}.ffn_norm.weight", state[p + "post_attention_layernorm.weight"]),
            (f"blk.{i}.ffn_up.weight", state[p + "mlp.gate_up_proj.weight"]),
            (f"blk.{i}.ffn_down.weight", state[p + "mlp.down_proj.weight"]),
        ]
    t += [("output_norm.weight", state[m + "norm.weight"]), ("output.weight", state["base_model.model.lm_head.weight"])]
    return t


def write_gguf(out: str, cfg: dict, tensors: List[Tuple[str, np.ndarray]], qtype: str) -> None:
    vocab = int(tensors[0][1].shape[0])
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    tokens += [f"\u2581t{i}" for i in range(vocab - len(tokens))]
    types += [1] * (vocab - len(types))
    hd = int(cfg["hidden_size"]) // int(cfg["num_heads"])
    meta = [
        _kv("general.architecture", STRING, "phi3"),
        _kv("general.name", STRING, "healthgpt-random-base"),
        _kv("general.file_type", U32, FILE_TYPE[qtype]),
        _kv("general.alignment", U32, ALIGN),
        _kv("phi3.context_length", U32, int(cfg["max_position"])),
        _kv("phi3.embedding_length", U32, int(cfg["hidden_size"])),
        _kv("phi3.feed_forward_length", U32, int(cfg["intermediate_size"])),
        _kv("phi3.block_count", U32, int(cfg["num_layers"])),
        _kv("phi3.attention.head_count", U32, int(cfg["num_heads"])),
        _kv("phi3.attention.head_count_kv", U32, int(cfg["num_kv_heads"])),
        _kv("phi3.attention.layer_norm_rms_epsilon", F32, float(cfg["rms_norm_eps"])),
        _kv("phi3.rope.dimension_count", U32, int(hd)),
        _kv("phi3.rope.freq_base", F32, float(cfg["rope_theta"])),
        _kv("tokenizer.ggml.model", STRING, "llama"),
        _kv_array("tokenizer.ggml.tokens", STRING, tokens),
        _kv_array("tokenizer.ggml.scores", F32, [0.0] * vocab),
        _kv_array("tokenizer.ggml.token_type", I32, types),
        _kv("tokenizer.ggml.bos_token_id", U32, 1),
        _kv("tokenizer.ggml.eos_token_id", U32, 2),
        _kv("tokenizer.ggml.unknown_token_id", U32, 0),
    ]
    blobs: List[Tuple[str, Tuple[int, ...], int, bytes]] = []
    for name, arr in tensors:
        a = np.asarray(arr, dtype=np.float32)
        if a.ndim == 1:
            blobs.append((name, a.shape, GGML_F32, a.astype("<f4").tobytes()))
        elif qtype == "q4_0":
            blobs.append((name, a.shape, GGML_Q4_0, quantize_q4_0(a)))
        else:
            blobs.append((name, a.shape, GGML_F16, a.astype("<f2").tobytes()))
    with open(out, "wb") as f:
        _write(f, meta, blobs)


def _write(f: BinaryIO, meta: List[bytes], blobs) -> None:
    f.write(GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(blobs), len(meta)))
    for m in meta:
        f.write(m)
    offset = 0
    for name, shape, gtype, data in blobs:
        dims = list(reversed(shape))  # ggml: ne0 is the contiguous (innermost) dimension
        f.write(_str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims))
        f.write(struct.pack("<IQ", gtype, offset))
        offset += (len(data) + ALIGN - 1) // ALIGN * ALIGN
    f.write(b"\0" * (-f.tell() % ALIGN))
    for _, _, _, data in blobs:
        f.write(data)
        f.write(b"\0" * (-len(data) % ALIGN))


def main() -> None:
    import torch
    ap = argparse.ArgumentParser(description="Base Phi-3 decoder of a HealthGPT reference checkpoint as GGUF (benchmarks)")
    ap.add_argument("--reference", required=True, help="torch checkpoint written by healthgpt.export --reference")
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=sorted(FILE_TYPE), default="q4_0")
    a = ap.parse_args()
    ck = torch.load(a.reference, map_location="cpu")
    cfg = ck["config"]
    keep = ("base_model.model.model.embed_tokens.", "base_model.model.model.layers.", "base_model.model.model.norm.",
            "base_model.model.lm_head.")
    state = {k: v.float().numpy() for k, v in ck["model"].items() if k.startswith(keep) and "lora" not in k}
    write_gguf(a.out, cfg, base_tensors(state, int(cfg["num_layers"])), a.type)


if __name__ == "__main__":
    main()
