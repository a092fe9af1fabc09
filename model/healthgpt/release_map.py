"""The released files' tensor names and shapes, their mapping onto our reference model, and the strict check.

Sources (one file or folder each, as released or as Hugging Face ships them):
  base    Phi-3 / Phi-4 in Hugging Face layout: model.embed_tokens.weight, model.layers.{i}.self_attn.qkv_proj.weight,
          ..., model.norm.weight, lm_head.weight (config.json gives the shapes)
  vision  openai/clip-vit-large-patch14-336: vision_model.* (the text tower in the same file is not used)
  com/gen the H-LoRA files: base_model.model.model.layers.{i}.<linear>.lora_{A,B,route}.weight and
          base_model.model.model.mm_projector.{0,2}.{weight,bias}
  fusion  fusion_layer_weights.bin: base_model.model.model.embed_tokens.weight, base_model.model.lm_head.weight
  vqgan   taming's GumbelVQ checkpoint (last.ckpt, "state_dict"): encoder.*, decoder.*, quant_conv,
          post_quant_conv, quantize.proj, quantize.embed (the training loss's loss.* is not used)

Every mismatch (a missing, misshapen or left-over key, in any source) is collected and reported at once,
before anything is loaded.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch

from .config import HealthGPTConfig, VQConfig

Shape = Tuple[int, ...]
FP16_MAX = 65504.0
LINEARS = ("self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj")
PEFT_LM = "base_model.model.model."
OWN_VISION = PEFT_LM + "vision_tower.vision_tower."
# keys a source may hold that the model does not use
NOT_USED: Dict[str, Tuple[str, ...]] = {
    "vision": ("text_model.", "text_projection.", "visual_projection.", "logit_scale",
               "vision_model.embeddings.position_ids"),
    "vqgan": ("loss.",),
}


class ReleaseMappingError(ValueError):
    """The given files do not match the release's names and shapes (the message lists every key)."""


# ---- the HF config ---------------------------------------------------------------------------------
def lm_fields_from_hf_config(c: Dict[str, Any], path: str) -> Dict[str, Any]:
    """HealthGPTConfig fields of the base from its config.json; refuses what our decoder does not compute."""
    if c.get("model_type") != "phi3":
        raise ReleaseMappingError(f"{path}: model_type {c.get('model_type')!r}; Phi-3 and Phi-4 are 'phi3'")
    rs = c.get("rope_scaling")
    if rs and (rs.get("type") or rs.get("rope_type")) != "default":
        raise ReleaseMappingError(f"{path}: unknown rope scaling {rs!r}; the runtime computes plain RoPE only "
                                  "(as Phi-3-mini-4k and Phi-4 use)")
    if float(c.get("partial_rotary_factor", 1.0)) != 1.0:
        raise ReleaseMappingError(f"{path}: partial_rotary_factor {c['partial_rotary_factor']} is not supported")
    if c.get("hidden_act", "silu") != "silu":
        raise ReleaseMappingError(f"{path}: hidden_act {c.get('hidden_act')!r}; the decoder computes silu")
    if c.get("tie_word_embeddings"):
        raise ReleaseMappingError(f"{path}: tie_word_embeddings is true; the release has its own lm_head")
    heads = int(c["num_attention_heads"])
    if "head_dim" in c and int(c["head_dim"]) * heads != int(c["hidden_size"]):
        raise ReleaseMappingError(f"{path}: head_dim {c['head_dim']} x {heads} heads != hidden_size")
    return dict(hidden_size=int(c["hidden_size"]), num_layers=int(c["num_hidden_layers"]), num_heads=heads,
                num_kv_heads=int(c.get("num_key_value_heads") or heads),
                intermediate_size=int(c["intermediate_size"]), rms_norm_eps=float(c.get("rms_norm_eps", 1e-5)),
                rope_theta=float(c.get("rope_theta", 10000.0)),
                max_position=int(c.get("max_position_embeddings", 4096)),
                sliding_window=c.get("sliding_window"), base_vocab_size=int(c["vocab_size"]))


# ---- names and shapes the release has ---------------------------------------------------------------
def linear_shapes(cfg: HealthGPTConfig) -> Dict[str, Tuple[int, int]]:
    """(out, in) of each decoder linear."""
    hd, h, i = cfg.head_dim, cfg.hidden_size, cfg.intermediate_size
    return {"self_attn.qkv_proj": ((cfg.num_heads + 2 * cfg.num_kv_heads) * hd, h),
            "self_attn.o_proj": (h, cfg.num_heads * hd), "mlp.gate_up_proj": (2 * i, h), "mlp.down_proj": (h, i)}


def base_shapes(cfg: HealthGPTConfig) -> Dict[str, Shape]:
    rows = cfg.base_vocab_size or cfg.vocab_size
    h = cfg.hidden_size
    out: Dict[str, Shape] = {"model.embed_tokens.weight": (rows, h), "model.norm.weight": (h,),
                             "lm_head.weight": (rows, h)}
    for layer in range(cfg.num_layers):
        p = f"model.layers.{layer}."
        out[p + "input_layernorm.weight"] = (h,)
        out[p + "post_attention_layernorm.weight"] = (h,)
        for name, shape in linear_shapes(cfg).items():
            out[p + name + ".weight"] = shape
    return out


def vision_shapes(cfg: HealthGPTConfig) -> Dict[str, Shape]:
    d, f = cfg.vision_hidden_size, cfg.vision_intermediate_size
    v = "vision_model."
    out: Dict[str, Shape] = {v + "embeddings.class_embedding": (d,),
                             v + "embeddings.patch_embedding.weight": (d, 3, cfg.patch_size, cfg.patch_size),
                             v + "embeddings.position_embedding.weight": (cfg.num_patches + 1, d)}
    for ln in ("pre_layrnorm", "post_layernorm"):
        out[f"{v}{ln}.weight"], out[f"{v}{ln}.bias"] = (d,), (d,)
    for layer in range(cfg.vision_layers):
        p = f"{v}encoder.layers.{layer}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out[f"{p}self_attn.{proj}.weight"], out[f"{p}self_attn.{proj}.bias"] = (d, d), (d,)
        for ln in ("layer_norm1", "layer_norm2"):
            out[f"{p}{ln}.weight"], out[f"{p}{ln}.bias"] = (d,), (d,)
        out[p + "mlp.fc1.weight"], out[p + "mlp.fc1.bias"] = (f, d), (f,)
        out[p + "mlp.fc2.weight"], out[p + "mlp.fc2.bias"] = (d, f), (d,)
    return out


def plugin_shapes(cfg: HealthGPTConfig, plugin: str) -> Dict[str, Shape]:
    pc = cfg.plugin(plugin)
    h = cfg.hidden_size
    out: Dict[str, Shape] = {PEFT_LM + "mm_projector.0.weight": (h, cfg.vision_hidden_size),
                             PEFT_LM + "mm_projector.0.bias": (h,), PEFT_LM + "mm_projector.2.weight": (h, h),
                             PEFT_LM + "mm_projector.2.bias": (h,)}
    for layer in range(cfg.num_layers):
        for name, (o, i) in linear_shapes(cfg).items():
            p = f"{PEFT_LM}layers.{layer}.{name}."
            out[p + "lora_A.weight"] = (pc.rank, i)
            out[p + "lora_B.weight"] = (o, pc.rank)
            out[p + "lora_route.weight"] = (pc.experts, i)
    return out


def fusion_shapes(cfg: HealthGPTConfig) -> Dict[str, Shape]:
    return {PEFT_LM + "embed_tokens.weight": (cfg.vocab_size, cfg.hidden_size),
            "base_model.model.lm_head.weight": (cfg.vocab_size, cfg.hidden_size)}


def _conv(out: Dict[str, Shape], name: str, cin: int, cout: int, k: int) -> None:
    out[name + ".weight"], out[name + ".bias"] = (cout, cin, k, k), (cout,)


def _norm(out: Dict[str, Shape], name: str, c: int) -> None:
    out[name + ".weight"], out[name + ".bias"] = (c,), (c,)


def _resblock(out: Dict[str, Shape], name: str, cin: int, cout: int) -> None:
    _norm(out, name + ".norm1", cin)
    _conv(out, name + ".conv1", cin, cout, 3)
    _norm(out, name + ".norm2", cout)
    _conv(out, name + ".conv2", cout, cout, 3)
    if cin != cout:
        _conv(out, name + ".nin_shortcut", cin, cout, 1)


def _attn(out: Dict[str, Shape], name: str, c: int) -> None:
    _norm(out, name + ".norm", c)
    for q in ("q", "k", "v", "proj_out"):
        _conv(out, f"{name}.{q}", c, c, 1)


def taming_gumbel_shapes(vq: VQConfig, encoder: bool = True) -> Dict[str, Shape]:
    """taming-transformers' GumbelVQ state dict (Encoder/Decoder of diffusionmodules.model, GumbelQuantize)."""
    out: Dict[str, Shape] = {}
    levels, ch, mult = len(vq.ch_mult), vq.ch, vq.ch_mult
    top = ch * mult[-1]
    if encoder:
        res = vq.image_size
        _conv(out, "encoder.conv_in", vq.in_channels, ch, 3)
        cin = ch
        for lv in range(levels):
            cout = ch * mult[lv]
            for b in range(vq.num_res_blocks):
                _resblock(out, f"encoder.down.{lv}.block.{b}", cin, cout)
                cin = cout
                if res in vq.attn_resolutions:
                    _attn(out, f"encoder.down.{lv}.attn.{b}", cin)
            if lv != levels - 1:
                _conv(out, f"encoder.down.{lv}.downsample.conv", cin, cin, 3)
                res //= 2
        _resblock(out, "encoder.mid.block_1", top, top)
        _attn(out, "encoder.mid.attn_1", top)
        _resblock(out, "encoder.mid.block_2", top, top)
        _norm(out, "encoder.norm_out", top)
        _conv(out, "encoder.conv_out", top, vq.z_channels, 3)
        _conv(out, "quant_conv", vq.z_channels, vq.embed_dim, 1)
        _conv(out, "quantize.proj", vq.z_channels, vq.codebook_size, 1)
    out["quantize.embed.weight"] = (vq.codebook_size, vq.embed_dim)
    _conv(out, "post_quant_conv", vq.embed_dim, vq.z_channels, 1)
    _conv(out, "decoder.conv_in", vq.z_channels, top, 3)
    _resblock(out, "decoder.mid.block_1", top, top)
    _attn(out, "decoder.mid.attn_1", top)
    _resblock(out, "decoder.mid.block_2", top, top)
    cin, res = top, vq.image_size // 2 ** (levels - 1)
    for lv in reversed(range(levels)):
        cout = ch * mult[lv]
        for b in range(vq.num_res_blocks + 1):
            _resblock(out, f"decoder.up.{lv}.block.{b}", cin, cout)
            cin = cout
            if res in vq.attn_resolutions:
                _attn(out, f"decoder.up.{lv}.attn.{b}", cin)
        if lv != 0:
            _conv(out, f"decoder.up.{lv}.upsample.conv", cin, cin, 3)
            res *= 2
    _norm(out, "decoder.norm_out", cin)
    _conv(out, "decoder.conv_out", cin, vq.in_channels, 3)
    return out


def release_shapes(cfg: HealthGPTConfig) -> Dict[str, Dict[str, Shape]]:
    """Every tensor of every released file, by source."""
    out = {"base": base_shapes(cfg), "vision": vision_shapes(cfg)}
    for p in cfg.plugins:
        out[p.name] = plugin_shapes(cfg, p.name)
    if any(p.fusion for p in cfg.plugins):
        out["fusion"] = fusion_shapes(cfg)
        if cfg.vq.kind == "taming-gumbel":
            out["vqgan"] = taming_gumbel_shapes(cfg.vq)
    return out


# ---- mapping ----------------------------------------------------------------------------------------
def own_key(cfg: HealthGPTConfig, source: str, key: str) -> Optional[str]:
    """Our HealthGPT state-dict key for a released key (None: not part of HealthGPT, e.g. the VQGAN)."""
    if source == "base":
        return "base_model.model." + key  # model.* and lm_head.weight sit under the PEFT wrapper
    if source == "vision":
        return OWN_VISION + key
    if source == "fusion":
        return key.replace(PEFT_LM + "embed_tokens.", "fusion.embed_tokens.").replace(
            "base_model.model.lm_head.", "fusion.lm_head.")
    if source in [p.name for p in cfg.plugins]:
        for piece in ("lora_A", "lora_B", "lora_route", "mm_projector"):
            key = key.replace(f".{piece}.", f".{piece}.{source}.")
        return key
    return None


def _fmt(keys: Sequence[str], limit: int = 40) -> str:
    keys = sorted(keys)
    more = f" ... and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def check_release(expected: Dict[str, Dict[str, Shape]], actual: Dict[str, Dict[str, Shape]],
                  files: Dict[str, str]) -> None:
    """Raise one ReleaseMappingError listing every missing, misshapen and left-over key of every source."""
    problems: List[str] = []
    for source in sorted(set(expected) | set(actual)):
        where = f"{source} ({files.get(source, 'not given')})"
        if source not in actual:
            problems.append(f"{where}: the file is required and was not given")
            continue
        if source not in expected:
            problems.append(f"{where}: this model has no {source!r} part")
            continue
        want, have = expected[source], actual[source]
        skip = NOT_USED.get(source, ())
        missing = [k for k in want if k not in have]
        leftover = [k for k in have if k not in want and not k.startswith(skip)]
        bad = [f"{k} {list(have[k])} (expected {list(want[k])})" for k in want
               if k in have and tuple(have[k]) != tuple(want[k])]
        if missing:
            problems.append(f"{where}: missing {len(missing)} keys: {_fmt(missing)}")
        if bad:
            problems.append(f"{where}: misshapen {len(bad)} keys: {_fmt(bad)}")
        if leftover:
            problems.append(f"{where}: {len(leftover)} left-over keys the release does not have: {_fmt(leftover)}")
    if problems:
        raise ReleaseMappingError("the files do not match the release:\n  " + "\n  ".join(problems))


def to_dtype(name: str, t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Cast a floating tensor; refuses non-finite values and values fp16 cannot hold (bf16 reaches 3e38)."""
    if not t.is_floating_point() or t.dtype == dtype:
        return t
    if not bool(torch.isfinite(t).all()):
        raise ReleaseMappingError(f"{name}: has non-finite values in the checkpoint")
    if dtype == torch.float16:
        big = t.abs() > FP16_MAX
        n = int(big.sum())
        if n:
            raise ReleaseMappingError(f"{name}: {n} values exceed fp16's range (largest |x| = "
                                      f"{float(t.abs().max()):.4g} > {FP16_MAX:g}); export it at fp32")
    return t.to(dtype)
