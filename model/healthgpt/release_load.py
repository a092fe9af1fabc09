"""Load the released files into our reference model, checked first, whole or not at all.

    tensors = read_sources({"base": DIR, "vision": DIR, "com": FILE, "gen": FILE, "fusion": FILE, "vqgan": FILE})
    model, vqgan_state = load_release_model(cfg, tensors, files, precision="fp16")

The base vocabulary is resized as the release does (release.resize_like_release); weights pass through the
pack's precision (bf16 -> fp16 refuses values past fp16's range) and the model computes in float32 on them,
so it is the reference the pack is compared with.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional, Tuple

import torch

from .checkpoint_io import load_hf_folder, load_weights_file
from .config import HealthGPTConfig
from .modeling import HealthGPT
from .release import BASE_TOKENIZERS, new_token_ids, resize_like_release
from .release_map import NOT_USED, ReleaseMappingError, check_release, own_key, release_shapes, to_dtype

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}
FOLDER_SOURCES = ("base", "vision")


def read_sources(paths: Dict[str, str]) -> Dict[str, Dict[str, torch.Tensor]]:
    """base and vision are Hugging Face folders; the others single files (.bin/.ckpt pickles or .safetensors)."""
    return {s: (load_hf_folder(p) if s in FOLDER_SOURCES else load_weights_file(p)) for s, p in paths.items()}


def load_release_model(cfg: HealthGPTConfig, tensors: Dict[str, Dict[str, torch.Tensor]], files: Dict[str, str],
                       precision: str = "fp16", consume: bool = False
                       ) -> Tuple[HealthGPT, Optional[Dict[str, torch.Tensor]]]:
    """(HealthGPT in float32 holding the weights at `precision`, the VQGAN state dict at `precision` or None).
    consume: take each tensor out of `tensors` once copied, so the peak is the model plus the unread sources
    (not the model twice)."""
    dtype = PRECISIONS[precision]
    check_release(release_shapes(cfg), {s: {k: tuple(v.shape) for k, v in sd.items()} for s, sd in tensors.items()},
                  files)
    model = HealthGPT(cfg)
    own = model.state_dict()  # shares storage with the parameters: copy_ fills the model in place
    sources = {own_key(cfg, s, k): (s, k) for s, sd in tensors.items() if s != "vqgan"
               for k in sd if not k.startswith(NOT_USED.get(s, ()))}
    has_fusion = any(p.fusion for p in cfg.plugins)
    uncovered = [k for k in own if k not in sources and (has_fusion or not k.startswith("fusion."))]
    stray = [k for k in sources if k not in own]
    if uncovered or stray:  # release_shapes and own_key disagree with the model: a bug here, not in the files
        raise ReleaseMappingError(f"mapping incomplete: model keys without a source {sorted(uncovered)[:20]}, "
                                  f"mapped keys the model lacks {sorted(stray)[:20]}")
    with torch.no_grad():
        for ours, (source, k) in sources.items():
            v = tensors[source].pop(k) if consume else tensors[source][k]
            if source == "base" and k in ("model.embed_tokens.weight", "lm_head.weight"):
                v = resize_like_release(v, cfg.tokenizer_length or cfg.vocab_size, cfg.vocab_size)
            own[ours].copy_(to_dtype(f"{files[source]}: {k}", v, dtype))
    vqgan: Optional[Dict[str, torch.Tensor]] = None
    if "vqgan" in tensors:
        skip = NOT_USED["vqgan"]
        vqgan = {k: to_dtype(f"{files['vqgan']}: {k}", v, dtype) for k, v in tensors["vqgan"].items()
                 if not k.startswith(skip)}
    model.eval()
    return model, vqgan


def check_base_tokenizer(folder: str, cfg: HealthGPTConfig) -> List[str]:
    """Compare the preset's recorded tokenizer facts with the base folder's files; returns the problems
    (empty when they agree). Reads tokenizer.json, tokenizer_config.json, generation_config.json."""
    facts = BASE_TOKENIZERS[cfg.family]
    problems: List[str] = []
    tj_path = os.path.join(folder, "tokenizer.json")
    if not os.path.isfile(tj_path):
        return [f"{tj_path}: missing (the pack needs the base's tokenizer.json)"]
    with open(tj_path, encoding="utf-8") as f:
        tj = json.load(f)
    added = {t["content"]: t["id"] for t in tj.get("added_tokens", [])}
    ids = list(added.values()) + list(tj["model"]["vocab"].values() if isinstance(tj["model"].get("vocab"), dict)
                                      else range(len(tj["model"].get("vocab", []))))
    length = max(ids) + 1
    if length != cfg.tokenizer_length:
        problems.append(f"{tj_path}: {length} tokens, the release's base has {cfg.tokenizer_length} "
                        "(image tokens would land at other ids)")
    for tok in set(facts.special_ids) & set(cfg.special_ids):
        have = added.get(tok, tj["model"]["vocab"].get(tok) if isinstance(tj["model"].get("vocab"), dict) else None)
        if have != cfg.special_ids[tok]:
            problems.append(f"{tj_path}: {tok} has id {have}, the release's base {cfg.special_ids[tok]}")
    for tok in new_token_ids(cfg.tokenizer_length or 0):
        if tok in added:
            problems.append(f"{tj_path}: already holds {tok}; give the base tokenizer, not an extended one")
    tc_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(tc_path):
        with open(tc_path, encoding="utf-8") as f:
            tc = json.load(f)
        if "add_bos_token" in tc and bool(tc["add_bos_token"]) != (cfg.bos_token_id is not None):
            problems.append(f"{tc_path}: add_bos_token {tc['add_bos_token']}, the preset has BOS "
                            f"{cfg.bos_token_id}")
    gc_path = os.path.join(folder, "generation_config.json")
    if os.path.isfile(gc_path):
        with open(gc_path, encoding="utf-8") as f:
            eos = json.load(f).get("eos_token_id")
        eos = sorted(eos if isinstance(eos, list) else [eos]) if eos is not None else None
        if eos is not None and eos != sorted(cfg.eos_ids):
            problems.append(f"{gc_path}: eos_token_id {eos}, the preset stops on {sorted(cfg.eos_ids)}")
    return problems
