"""Export a HealthGPT reference model + VQ autoencoder + tokenizer to a model pack folder.

    export_pack(model, vq, tokenizer_json_path_or_obj, out_dir, manifest_overrides=None,
                reference_path=None) -> manifest dict

Pack layout (documented in docs/model-pack.md):
  manifest.json, tokenizer.json, tokenizer_config.json,
  vision.onnx        pixel_values[1,3,S,S] -> vision_hidden_<i>[1,N,Dv] (patch tokens of hidden state i)
  projector_<p>.onnx image_features[1,N,Dv] -> image_embeds[1,N,H]
  embed_text.onnx / embed_fusion.onnx    input_ids[1,T] int64 -> inputs_embeds[1,T,H]
  lm.onnx            inputs_embeds[1,T,H], plugin[1] int64, past_key_<l>/past_value_<l>[1,KV,P,D]
                     -> hidden[1,T,H] (final norm), present_key_<l>/present_value_<l>[1,KV,P+T,D]
                     base weights once; every plugin's H-LoRA (route, A, B) concatenated at its own rank;
                     `plugin` gathers a tiny per-channel scale that masks the other plugins (see _StackedHLoRA)
  head_text.onnx / head_fusion.onnx      hidden[1,T,H] -> logits[1,T,V]
  vq_decoder.onnx    image_tokens[1,G*G] int64 (codebook indices) -> pixels[1,3,S,S] in [0,1]; a source-guided
                     decoder (architecture.vq.sourceGuided) also takes source[1,3,S,S], the CLIP-normalised
                     pixel values the vision tower saw

CLI: /usr/bin/python3 -m model.healthgpt.export --out DIR [--seed N] [--preset tiny|phi3-width] [--layers L]
     [--reference FILE] [--precision fp32|fp16|int8|int4] [--block-size 32]   builds a RANDOM-weight pack (tests/benchmarks only; never commit it).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import warnings
from typing import Any, Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import CLIP_MEAN, CLIP_STD, HealthGPTConfig, PluginConfig, START_INDEX, VQConfig
from .modeling import HealthGPT, HLoRALinear, apply_rope, causal_mask, rope_cos_sin
from .tokenizer import build_tokenizer, tokenizer_config_json
from .vq import VQAutoencoder
from .vqgan import make_vq

OPSET = 17
FORMAT_VERSION = 1
DEMO_TEXT = "demonstration model, not for clinical use"

TASK_INSTRUCTIONS = {
    "sr": "Super-resolve this image to four times its resolution.",
    "ct2mri": "Convert this CT image into the corresponding MRI image.",
    "mri2ct": "Convert this MRI image into the corresponding CT image.",
    "recon": "Reconstruct this image.",
}


# ---------------------------------------------------------------------------------------------
# export wrappers
# ---------------------------------------------------------------------------------------------
class _StackedHLoRA(nn.Module):
    """Base weight (shared, once) + every plugin's H-LoRA concatenated; the plugin index selects by a mask.

    A_all = [A_com; A_gen] (each at its own rank, no padding), B_all likewise, route_all = [R_com; R_gen].
    The soft router is a softmax within each plugin's expert group; a constant 0/1 matrix expands each expert
    to its channels; a per-plugin channel scale (scaling on the plugin's own channels, 0 elsewhere), gathered
    by `plugin` ([P, R_total], tiny), switches the other plugins off. No weight tensor is copied per step
    (a Gather of stacked weights would copy the selected plugin's A/B on every call).
    """

    def __init__(self, lin: HLoRALinear, cfg: HealthGPTConfig):
        super().__init__()
        self.weight = lin.weight  # the same tensor: exported once
        self.bias = lin.bias
        ks = {p.experts for p in cfg.plugins}
        if len(ks) != 1:
            raise ValueError("all plugins must have the same number of experts")
        k = ks.pop()
        n_p = len(cfg.plugins)
        r_total = sum(p.rank for p in cfg.plugins)
        self.k, self.n_p = k, n_p
        with torch.no_grad():
            a_all = torch.cat([lin.lora_A[p.name].weight for p in cfg.plugins], 0).t().contiguous()  # [in, R]
            b_all = torch.cat([lin.lora_B[p.name].weight for p in cfg.plugins], 1).t().contiguous()  # [R, out]
            r_all = torch.cat([lin.lora_route[p.name].weight for p in cfg.plugins], 0).t().contiguous()  # [in, P*k]
            expand = torch.zeros(n_p * k, r_total)
            chan = torch.zeros(n_p, r_total)
            off = 0
            for i, p in enumerate(cfg.plugins):
                rk = p.rank // k
                for e in range(k):
                    expand[i * k + e, off + e * rk : off + (e + 1) * rk] = 1.0
                chan[i, off : off + p.rank] = p.scaling
                off += p.rank
        self.register_buffer("lora_A_all", a_all)
        self.register_buffer("lora_B_all", b_all)
        self.register_buffer("lora_route_all", r_all)
        self.register_buffer("lora_expand", expand)
        self.register_buffer("lora_channel_scale", chan)

    def forward(self, x: torch.Tensor, plugin: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        t = x.shape[1]
        route = torch.matmul(x, self.lora_route_all)  # [1, T, P*k]
        route = torch.softmax(route.view(1, t, self.n_p, self.k), dim=-1).view(1, t, self.n_p * self.k)
        gate = torch.matmul(route, self.lora_expand) * torch.index_select(self.lora_channel_scale, 0, plugin)
        a = torch.matmul(x, self.lora_A_all)
        return y + torch.matmul(a * gate, self.lora_B_all)


class _LMExport(nn.Module):
    def __init__(self, model: HealthGPT):
        super().__init__()
        cfg = model.config
        self.cfg = cfg
        self.layers = nn.ModuleList()
        for layer in model.lm.layers:
            m = nn.Module()
            m.input_layernorm = layer.input_layernorm
            m.post_attention_layernorm = layer.post_attention_layernorm
            m.qkv = _StackedHLoRA(layer.self_attn.qkv_proj, cfg)
            m.o = _StackedHLoRA(layer.self_attn.o_proj, cfg)
            m.gate_up = _StackedHLoRA(layer.mlp.gate_up_proj, cfg)
            m.down = _StackedHLoRA(layer.mlp.down_proj, cfg)
            self.layers.append(m)
        self.norm = model.lm.norm
        inv = 1.0 / (cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim))
        self.register_buffer("inv_freq", inv)

    def forward(self, inputs_embeds: torch.Tensor, plugin: torch.Tensor, *past: torch.Tensor):
        cfg = self.cfg
        hd, nh, nkv = cfg.head_dim, cfg.num_heads, cfg.num_kv_heads
        rep = nh // nkv
        t = inputs_embeds.shape[1]
        past_len = past[0].shape[2]
        pos = torch.arange(t, dtype=torch.float32) + past_len
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos(), emb.sin()
        total = past_len + t
        q_pos = torch.arange(t)[:, None] + past_len
        k_pos = torch.arange(total)[None, :]
        mask = torch.where(k_pos <= q_pos, torch.zeros(()), torch.full((), torch.finfo(torch.float32).min))
        x = inputs_embeds
        presents: List[torch.Tensor] = []
        for i, m in enumerate(self.layers):
            h = m.input_layernorm(x)
            qkv = m.qkv(h, plugin)
            q = qkv[..., : nh * hd].view(1, t, nh, hd).transpose(1, 2)
            k = qkv[..., nh * hd : (nh + nkv) * hd].view(1, t, nkv, hd).transpose(1, 2)
            v = qkv[..., (nh + nkv) * hd :].view(1, t, nkv, hd).transpose(1, 2)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            if rep > 1:
                k = k[:, :, None].expand(1, nkv, rep, total, hd).reshape(1, nh, total, hd)
                v = v[:, :, None].expand(1, nkv, rep, total, hd).reshape(1, nh, total, hd)
            att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / (hd ** 0.5) + mask, dim=-1)
            out = torch.matmul(att, v).transpose(1, 2).reshape(1, t, nh * hd)
            x = x + m.o(out, plugin)
            h = m.post_attention_layernorm(x)
            gu = m.gate_up(h, plugin)
            gate, up = gu[..., : cfg.intermediate_size], gu[..., cfg.intermediate_size :]
            x = x + m.down(F.silu(gate) * up, plugin)
        return (self.norm(x), *presents)


class _VisionExport(nn.Module):
    def __init__(self, model: HealthGPT, indices: List[int]):
        super().__init__()
        self.vision, self.indices = model.vision, indices

    def forward(self, pixel_values: torch.Tensor):
        return tuple(self.vision.features(pixel_values, self.indices))


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _VQDecodeExport(nn.Module):
    def __init__(self, vq: nn.Module):
        super().__init__()
        self.vq = vq

    def forward(self, indices: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.vq.decode(indices, source)


# ---------------------------------------------------------------------------------------------
def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _export(module: nn.Module, args: Any, path: str, inputs: List[str], outputs: List[str], dyn: Dict[str, Dict[int, str]]):
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=True)


def _prompt(cfg: HealthGPTConfig, question: str) -> str:
    return cfg.prompt_template.replace("{question}", question)


def default_tasks(cfg: HealthGPTConfig) -> Dict[str, Dict[str, Any]]:
    tasks: Dict[str, Dict[str, Any]] = {
        "vqa": {"plugin": "com", "kind": "comprehension", "promptTemplate": cfg.prompt_template},
        "report": {"plugin": "com", "kind": "comprehension", "promptTemplate": cfg.prompt_template,
                   "defaultQuestion": "Describe the findings in this image as a short radiology report."},
    }
    for name, instr in TASK_INSTRUCTIONS.items():
        tasks[name] = {"plugin": "gen", "kind": "generation", "promptTemplate": _prompt(cfg, instr) + START_INDEX,
                       "outputScale": 4 if name == "sr" else 1}
    return tasks


def manifest_tokenization(cfg: HealthGPTConfig) -> Dict[str, Any]:
    """{"tokenization": ...} for a pack whose prompts need more than one pass of the tokenizer (the release's
    <image> splice, a BOS); {} for packs whose vocabulary holds <image> and that have no BOS (the nano)."""
    split = "<image>" not in cfg.special_ids
    if not split and cfg.bos_token_id is None:
        return {}
    return {"tokenization": {"image": "split" if split else "token", "bos": cfg.bos_token_id}}


def build_manifest(cfg: HealthGPTConfig, overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    sid = cfg.special_ids
    m: Dict[str, Any] = {
        "formatVersion": FORMAT_VERSION,
        "name": "healthgpt-random",
        "version": "0.0.0",
        "licence": "Apache-2.0",
        "intendedUse": {"demonstration": True, "text": DEMO_TEXT},
        "createdAt": datetime.datetime.utcnow().replace(microsecond=0).isoformat() + "Z",
        "architecture": {
            "family": cfg.family,
            "dtype": "float32",
            "hiddenSize": cfg.hidden_size,
            "numLayers": cfg.num_layers,
            "numHeads": cfg.num_heads,
            "numKvHeads": cfg.num_kv_heads,
            "headDim": cfg.head_dim,
            "intermediateSize": cfg.intermediate_size,
            "vocabSize": cfg.vocab_size,
            "ropeTheta": cfg.rope_theta,
            "rmsNormEps": cfg.rms_norm_eps,
            # full attention (the runtime's) equals a sliding window (Phi-3-mini-4k: 2047) while all fits in it
            "maxPosition": min(cfg.max_position, cfg.sliding_window + 1) if cfg.sliding_window else cfg.max_position,
            "imageTokens": {"start": cfg.image_token_start, "count": cfg.num_image_tokens},
            "specialTokens": {
                "imagePlaceholder": cfg.image_placeholder_id,
                "startIndex": sid[START_INDEX],
                "endIndex": cfg.end_index_id,
                "pixelNewline": sid.get("<pixel_newline>", cfg.end_index_id + 1),
                "eos": cfg.eos_ids,
            },
            "vision": {
                "imageSize": cfg.image_size,
                "patchSize": cfg.patch_size,
                "numPatches": cfg.num_patches,
                "hiddenSize": cfg.vision_hidden_size,
                "layers": cfg.vision_layers,
                "mean": list(CLIP_MEAN),
                "std": list(CLIP_STD),
                "padColor": [int(x * 255) for x in CLIP_MEAN],
                "resample": "bicubic-pil",
            },
            **manifest_tokenization(cfg),
            "plugins": [
                {"name": p.name, "index": i, "rank": p.rank, "alpha": p.alpha, "experts": p.experts,
                 "visionLayer": p.vision_layer, "visionHiddenIndex": cfg.vision_layer_index(p.name),
                 "fusion": p.fusion}
                for i, p in enumerate(cfg.plugins)
            ],
            "maxRank": max(p.rank for p in cfg.plugins),
            "vq": {"codebookSize": cfg.vq.codebook_size, "grid": cfg.vq.grid, "imageSize": cfg.vq.image_size,
                   "channels": cfg.vq.in_channels, **({"sourceGuided": True} if cfg.vq.source_guided else {})},
        },
        "tasks": default_tasks(cfg),
        "graphs": {},
        "files": [],
    }
    for k, v in (overrides or {}).items():
        if isinstance(v, dict) and isinstance(m.get(k), dict):
            m[k] = {**m[k], **v}
        else:
            m[k] = v
    return m


def export_pack(
    model: HealthGPT,
    vq: Optional[nn.Module],
    tokenizer_json_path_or_obj: Union[str, Dict[str, Any]],
    out_dir: str,
    manifest_overrides: Optional[Dict[str, Any]] = None,
    reference_path: Optional[str] = None,
) -> Dict[str, Any]:
    """Write the pack to out_dir (created). Returns the manifest written to manifest.json.
    vq: VQAutoencoder or GumbelVQGAN; None for a comprehension-only model (no generation plugin)."""
    cfg = model.config
    if vq is None and any(p.fusion for p in cfg.plugins):
        raise ValueError("a model with a generation plugin needs its VQ decoder")
    if vq is not None and (vq.config.codebook_size != cfg.num_image_tokens or vq.config.grid != cfg.vq.grid):
        raise ValueError("VQ codebook/grid do not match the model config")
    model.eval()
    if vq is not None:
        vq.eval()
    os.makedirs(out_dir, exist_ok=True)
    if isinstance(tokenizer_json_path_or_obj, str):
        with open(tokenizer_json_path_or_obj, "r", encoding="utf-8") as f:
            tok = json.load(f)
    else:
        tok = tokenizer_json_path_or_obj
    files: List[Dict[str, Any]] = []
    graphs: Dict[str, Any] = {"projector": {}, "embed": {}, "head": {}}

    def add(path: str, role: str) -> None:
        files.append({"path": path, "role": role})

    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    add("tokenizer.json", "tokenizer")
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config_json(), f)
    add("tokenizer_config.json", "tokenizer-config")

    with torch.no_grad():
        s, h, dv, n = cfg.image_size, cfg.hidden_size, cfg.vision_hidden_size, cfg.num_patches
        # vision
        idx = sorted({cfg.vision_layer_index(p.name) for p in cfg.plugins})
        outs = [f"vision_hidden_{i}" for i in idx]
        _export(_VisionExport(model, idx), (torch.randn(1, 3, s, s),), os.path.join(out_dir, "vision.onnx"),
                ["pixel_values"], outs, {})
        add("vision.onnx", "vision")
        graphs["vision"] = "vision.onnx"
        # projectors
        for p in cfg.plugins:
            name = f"projector_{p.name}.onnx"
            _export(model.lm.mm_projector[p.name], (torch.randn(1, n, dv),), os.path.join(out_dir, name),
                    ["image_features"], ["image_embeds"], {"image_features": {1: "n"}, "image_embeds": {1: "n"}})
            add(name, "projector")
            graphs["projector"][p.name] = name
        # embeddings and heads
        for kind, emb, head in (("text", model.lm.embed_tokens, model.base_model.model.lm_head),
                                ("fusion", model.fusion.embed_tokens, model.fusion.lm_head)):
            if kind == "fusion" and not any(p.fusion for p in cfg.plugins):
                continue
            _export(emb, (torch.zeros(1, 3, dtype=torch.long),), os.path.join(out_dir, f"embed_{kind}.onnx"),
                    ["input_ids"], ["inputs_embeds"], {"input_ids": {1: "t"}, "inputs_embeds": {1: "t"}})
            _export(head, (torch.randn(1, 3, h),), os.path.join(out_dir, f"head_{kind}.onnx"),
                    ["hidden"], ["logits"], {"hidden": {1: "t"}, "logits": {1: "t"}})
            add(f"embed_{kind}.onnx", "embed")
            add(f"head_{kind}.onnx", "head")
            graphs["embed"][kind] = f"embed_{kind}.onnx"
            graphs["head"][kind] = f"head_{kind}.onnx"
        # language model
        lm = _LMExport(model)
        past = []
        names_in, names_out, dyn = ["inputs_embeds", "plugin"], ["hidden"], {"inputs_embeds": {1: "t"}, "hidden": {1: "t"}}
        for l in range(cfg.num_layers):
            for kv in ("key", "value"):
                past.append(torch.randn(1, cfg.num_kv_heads, 3, cfg.head_dim))
                names_in.append(f"past_{kv}_{l}")
                names_out.append(f"present_{kv}_{l}")
                dyn[f"past_{kv}_{l}"] = {2: "p"}
                dyn[f"present_{kv}_{l}"] = {2: "p_plus_t"}
        _export(lm, (torch.randn(1, 2, h), torch.tensor([0], dtype=torch.long), *past),
                os.path.join(out_dir, "lm.onnx"), names_in, names_out, dyn)
        add("lm.onnx", "lm")
        graphs["lm"] = "lm.onnx"
        # VQ decoder
        g = cfg.vq.grid
        if vq is not None and vq.config.source_guided:
            s = vq.config.image_size
            _export(_VQDecodeExport(vq), (torch.zeros(1, g * g, dtype=torch.long), torch.zeros(1, 3, s, s)),
                    os.path.join(out_dir, "vq_decoder.onnx"), ["image_tokens", "source"], ["pixels"], {})
        elif vq is not None:
            _export(_VQDecodeExport(vq), (torch.zeros(1, g * g, dtype=torch.long),), os.path.join(out_dir, "vq_decoder.onnx"),
                    ["image_tokens"], ["pixels"], {})
        if vq is not None:
            add("vq_decoder.onnx", "vq-decoder")
            graphs["vqDecoder"] = "vq_decoder.onnx"

    # external-data files written by the exporter for big graphs
    listed = {f["path"] for f in files}
    for fn in sorted(os.listdir(out_dir)):
        if fn not in listed and fn not in ("manifest.json", "manifest.sig") and os.path.isfile(os.path.join(out_dir, fn)):
            add(fn, "weights")
    for f in files:
        p = os.path.join(out_dir, f["path"])
        f["size"] = os.path.getsize(p)
        f["sha256"] = _sha256(p)
    manifest = build_manifest(cfg, manifest_overrides)
    manifest["graphs"] = graphs
    manifest["files"] = files
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    if reference_path:
        save_reference(model, vq, reference_path)
    return manifest


def save_reference(model: HealthGPT, vq: Optional[nn.Module], path: str) -> None:
    torch.save({"config": model.config.to_dict(), "model": model.state_dict(),
                "vq": vq.state_dict() if vq is not None else None}, path)


def load_reference(path: str):
    ck = torch.load(path, map_location="cpu")
    cfg = HealthGPTConfig.from_dict(ck["config"])
    model = HealthGPT(cfg)
    model.load_state_dict(ck["model"])
    if ck["vq"] is None:
        return model.eval(), None
    vq = make_vq(cfg.vq)
    vq.load_state_dict(ck["vq"])
    return model.eval(), vq.eval()


def randomize(model: HealthGPT, vq: VQAutoencoder, seed: int = 0, lora_scale: float = 0.05) -> None:
    """Make a random model whose plugins and fusion pair actually differ (B starts at zero otherwise)."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, m in model.hlora_layers():
            for b in m.lora_B.values():
                b.weight.copy_(torch.randn(b.weight.shape, generator=g) * lora_scale)
        model.fusion.embed_tokens.weight.copy_(torch.randn(model.fusion.embed_tokens.weight.shape, generator=g))
        model.fusion.lm_head.weight.copy_(torch.randn(model.fusion.lm_head.weight.shape, generator=g) * 0.5)
        model.lm.embed_tokens.weight.mul_(1.0)
        for p in model.parameters():  # norms / biases that init to exactly 1 or 0 get a little noise
            if p.dim() == 1:
                p.add_(torch.randn(p.shape, generator=g) * 0.02)
        for p in vq.parameters():
            if p.dim() == 2 and p.shape[0] == vq.config.codebook_size:
                p.copy_(torch.randn(p.shape, generator=g))


PRECISIONS = ("fp32", "fp16", "int8", "int4")


def apply_precision(out_dir: str, precision: str, block_size: int = 32) -> Dict[str, Any]:
    """After export_pack wrote an fp32 pack: fp16 stores every weight as fp16 (random_pack rounded the model
    through fp16 before export, so nothing changes); int8/int4 block-quantise the base linears and heads
    (onnx_quant.quantize_pack). Returns the rewritten manifest."""
    from .onnx_quant import quantize_pack, round_pack_fp16
    if precision in ("int8", "int4"):
        return quantize_pack(out_dir, 8 if precision == "int8" else 4, block_size)
    return round_pack_fp16(out_dir)


def random_pack(out_dir: str, seed: int = 0, preset: str = "tiny", layers: Optional[int] = None,
                reference_path: Optional[str] = None, vocab_text: int = 512, precision: str = "fp32",
                block_size: int = 32) -> Dict[str, Any]:
    torch.manual_seed(seed)
    if preset == "tiny":
        tok = build_tokenizer(text_vocab_size=vocab_text, num_image_tokens=64)
        cfg = HealthGPTConfig.from_tokenizer(tok, **({"num_layers": layers} if layers else {}))
    elif preset == "medium":
        # wide enough that a duplicated base would show in RSS (LM base ~45 MB fp32), GQA 8/4
        tok = build_tokenizer(text_vocab_size=vocab_text, num_image_tokens=64)
        cfg = HealthGPTConfig.from_tokenizer(
            tok, hidden_size=512, num_layers=layers or 4, num_heads=8, num_kv_heads=4, intermediate_size=1536,
            plugins=[PluginConfig("com", 16, 32, 4, -2, False), PluginConfig("gen", 64, 128, 4, 1, True)])
    elif preset in ("phi3-width", "m3-shapes"):
        # Phi-3-mini widths (hidden 3072, MLP 8192, 32 heads, M3 ranks) with few layers and a small vision tower;
        # m3-shapes also has M3's vocabulary size: 32000 text tokens + 8192 image tokens (decode benchmarks)
        n_img = 8192 if preset == "m3-shapes" else 1024
        tok = build_tokenizer(text_vocab_size=32000 if preset == "m3-shapes" else vocab_text, num_image_tokens=n_img)
        base = HealthGPTConfig.from_tokenizer(tok)
        cfg = HealthGPTConfig.phi3_mini(
            num_layers=layers or 2, vocab_size=base.vocab_size, text_vocab_size=base.text_vocab_size,
            image_token_start=base.image_token_start, num_image_tokens=n_img, special_ids=base.special_ids,
            image_size=112, patch_size=14, vision_hidden_size=256, vision_layers=3, vision_heads=4,
            vision_intermediate_size=512,
            vq=VQConfig(image_size=64, ch=32, ch_mult=[1, 2, 2, 2], z_channels=64, embed_dim=32,
                        codebook_size=n_img, num_groups=8),
            # our tokenizer's layout, not the release's
            eos_token_ids=["<|end|>", "<|endoftext|>"], bos_token_id=None, base_vocab_size=None,
            tokenizer_length=None, sliding_window=None, prompt_template=base.prompt_template)
    else:
        raise ValueError(f"unknown preset {preset}")
    model = HealthGPT(cfg)
    vq = VQAutoencoder(cfg.vq)
    randomize(model, vq, seed)
    if precision == "fp16":
        with torch.no_grad():  # values fp16 holds exactly, so the stored fp16 weights are the model's
            for p in list(model.parameters()) + list(vq.parameters()):
                p.copy_(p.half().float())
    m = export_pack(model, vq, tok, out_dir,
                    {"name": f"random-{preset}", "version": "0.0.0",
                     "intendedUse": {"demonstration": True, "text": DEMO_TEXT + " (random weights, tests only)"}},
                    reference_path=reference_path)
    return m if precision == "fp32" else apply_precision(out_dir, precision, block_size)


def main() -> None:
    ap = argparse.ArgumentParser(description="Build a random-weight HealthGPT pack (tests and benchmarks only)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="tiny", choices=["tiny", "medium", "phi3-width", "m3-shapes"])
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--reference", default=None, help="also save the torch checkpoint used by reference.py")
    ap.add_argument("--vocab-text", type=int, default=512)
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS,
                    help="fp16: weights stored fp16; int8/int4: base linears and heads block-quantised (MatMulNBits)")
    ap.add_argument("--block-size", type=int, default=32, help="weights per quantisation block (int8/int4)")
    a = ap.parse_args()
    m = random_pack(a.out, a.seed, a.preset, a.layers, a.reference, a.vocab_text, a.precision, a.block_size)
    print(json.dumps({"ok": True, "out": a.out, "files": len(m["files"])}))


if __name__ == "__main__":
    main()
