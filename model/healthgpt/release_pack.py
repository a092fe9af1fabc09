"""Write a pack from the released files: the shapes from the files' own configs, the tokenizer extended as the
release extends it, the tasks the release can do, the model loaded and checked by release_load.

    cfg = release_config("m3", base_dir, vision_dir, vqgan_yaml)
    export_release_pack(cfg, paths, out_dir, precision="fp16", manifest_overrides=None, reference_path=None)
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, List, Optional

from .config import END_INDEX, PIXEL_NEWLINE, START_INDEX, HealthGPTConfig, VQConfig
from .export import DEMO_TEXT, default_tasks, export_pack
from .onnx_fp16 import store_weights_fp16
from .release import PRESETS, VQ_IDX_NUMS
from .release_load import check_base_tokenizer, load_release_model, read_sources
from .release_map import ReleaseMappingError, lm_fields_from_hf_config
from .vqgan import GumbelVQGAN


def _json(path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise ReleaseMappingError(f"{path}: missing")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def vision_fields_from_clip_config(c: Dict[str, Any], path: str) -> Dict[str, Any]:
    """CLIP ViT shapes from the vision folder's config.json (vision_config; HF defaults where it is silent)."""
    v = c.get("vision_config", c)
    if v.get("hidden_act", "quick_gelu") != "quick_gelu":
        raise ReleaseMappingError(f"{path}: vision hidden_act {v.get('hidden_act')!r}; the tower computes quick_gelu")
    return dict(vision_hidden_size=int(v.get("hidden_size", 768)), vision_layers=int(v.get("num_hidden_layers", 12)),
                vision_heads=int(v.get("num_attention_heads", 12)),
                vision_intermediate_size=int(v.get("intermediate_size", 3072)),
                image_size=int(v.get("image_size", 224)), patch_size=int(v.get("patch_size", 32)),
                vision_layer_norm_eps=float(v.get("layer_norm_eps", 1e-5)))


def vq_from_taming_yaml(path: str) -> VQConfig:
    """The Gumbel VQGAN's shapes from taming's model.yaml (model.params: embed_dim, n_embed, ddconfig)."""
    import yaml
    with open(path, encoding="utf-8") as f:
        params = yaml.safe_load(f)["model"]["params"]
    dd = params["ddconfig"]
    if dd.get("double_z"):
        raise ReleaseMappingError(f"{path}: double_z is set; a Gumbel VQGAN has a single latent")
    if int(params["n_embed"]) != VQ_IDX_NUMS:
        raise ReleaseMappingError(f"{path}: n_embed {params['n_embed']}, the release's vocabulary has {VQ_IDX_NUMS} "
                                  "image tokens")
    return VQConfig(kind="taming-gumbel", image_size=int(dd["resolution"]), in_channels=int(dd["in_channels"]),
                    ch=int(dd["ch"]), ch_mult=list(dd["ch_mult"]), num_res_blocks=int(dd["num_res_blocks"]),
                    attn_resolutions=list(dd["attn_resolutions"]), z_channels=int(dd["z_channels"]),
                    embed_dim=int(params["embed_dim"]), codebook_size=int(params["n_embed"]), num_groups=32)


def release_config(preset: str, base_dir: Optional[str], vision_dir: Optional[str],
                   vqgan_yaml: Optional[str]) -> HealthGPTConfig:
    """The preset with the shapes the given files declare (base config.json, CLIP config.json, model.yaml)."""
    fields: Dict[str, Any] = {}
    if base_dir:
        p = os.path.join(base_dir, "config.json")
        fields.update(lm_fields_from_hf_config(_json(p), p))
    if vision_dir:
        p = os.path.join(vision_dir, "config.json")
        fields.update(vision_fields_from_clip_config(_json(p), p))
    if vqgan_yaml:
        fields["vq"] = vq_from_taming_yaml(vqgan_yaml)
    cfg = PRESETS[preset](**fields)
    if cfg.base_vocab_size is not None and cfg.tokenizer_length and cfg.base_vocab_size < cfg.tokenizer_length:
        raise ReleaseMappingError(f"{base_dir}: vocab_size {cfg.base_vocab_size} is smaller than the release's base "
                                  f"tokenizer ({cfg.tokenizer_length} tokens)")
    return cfg


def extend_tokenizer(tj: Dict[str, Any], cfg: HealthGPTConfig) -> Dict[str, Any]:
    """The base tokenizer.json with the release's new special tokens appended at len(tokenizer)."""
    new = [START_INDEX] + [f"<idx_{i}>" for i in range(cfg.num_image_tokens)] + [END_INDEX, PIXEL_NEWLINE]
    out = dict(tj)
    out["added_tokens"] = list(tj.get("added_tokens", [])) + [
        {"id": cfg.start_index_id + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True} for i, t in enumerate(new)]
    return out


def release_tasks(cfg: HealthGPTConfig) -> Dict[str, Dict[str, Any]]:
    """Comprehension tasks for every release; generation only where a generation plugin exists, and only
    reconstruction: the released generation plugin was trained for it alone (modality conversion and
    super-resolution weights were not released)."""
    tasks = default_tasks(cfg)
    keep = ["vqa", "report"] + (["recon"] if any(p.fusion for p in cfg.plugins) else [])
    return {k: v for k, v in tasks.items() if k in keep}


def export_release_pack(cfg: HealthGPTConfig, paths: Dict[str, str], out_dir: str, precision: str = "fp16",
                        manifest_overrides: Optional[Dict[str, Any]] = None,
                        reference_path: Optional[str] = None) -> Dict[str, Any]:
    problems = check_base_tokenizer(paths["base"], cfg)
    if problems:
        raise ReleaseMappingError("the base tokenizer does not match the release:\n  " + "\n  ".join(problems))
    model, vq_state = load_release_model(cfg, read_sources(paths), paths, precision, consume=True)
    vq = None
    if vq_state is not None:
        vq = GumbelVQGAN(cfg.vq)
        vq.load_state_dict({k: v.float() for k, v in vq_state.items()})
    tj = extend_tokenizer(_json(os.path.join(paths["base"], "tokenizer.json")), cfg)
    name = {"phi3": "healthgpt-m3", "phi4": "healthgpt-l14"}[cfg.family]
    overrides: Dict[str, Any] = {
        "name": name, "version": "1.0.0", "licence": "see the HealthGPT, Phi and CLIP licences",
        "intendedUse": {"demonstration": True,
                        "text": f"HealthGPT research release, {DEMO_TEXT}; values rounded through {precision}"},
    }
    overrides.update(manifest_overrides or {})
    manifest = export_pack(model, vq, tj, out_dir, overrides, reference_path=reference_path)
    manifest["tasks"] = {k: v for k, v in manifest["tasks"].items() if k in release_tasks(cfg)}  # overrides merge
    if precision == "fp16":
        for entry in manifest["files"]:
            if entry["path"].endswith(".onnx"):
                store_weights_fp16(os.path.join(out_dir, entry["path"]))
        manifest["architecture"]["dtype"] = "float16"  # stored weights; the graphs compute in float32
        manifest["files"] = _relist(out_dir, manifest["files"])
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    return manifest


def _relist(out_dir: str, files: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The pack's files after the graphs were rewritten: sizes and hashes anew, external-data files as weights."""
    roles = {f["path"]: f["role"] for f in files}
    out = []
    for fn in sorted(os.listdir(out_dir)):
        p = os.path.join(out_dir, fn)
        if fn in ("manifest.json", "manifest.sig") or not os.path.isfile(p):
            continue
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        out.append({"path": fn, "role": roles.get(fn, "weights"), "size": os.path.getsize(p), "sha256": h.hexdigest()})
    return out
