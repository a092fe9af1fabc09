"""A tiny synthetic release on disk: the released file layouts and key names at small sizes.

    base/    Hugging Face Phi-3 layout: config.json, tokenizer files, two bf16 safetensors shards + index
    clip/    pytorch_model.bin with vision_model.* and a (small) text tower the model does not use
    com_hlora_weights.bin, gen_hlora_weights.bin, fusion_layer_weights.bin: bf16 torch pickles
    last.ckpt  {"state_dict": taming GumbelVQ keys + loss.*}

`expected` is the reference model those files should load into (weights rounded through bf16).
"""
from __future__ import annotations

import json
import os
from typing import Dict

import torch

from model.healthgpt.checkpoint_io import save_safetensors
from model.healthgpt.config import HealthGPTConfig, VQConfig
from model.healthgpt.modeling import HealthGPT
from model.healthgpt.release import BASE_TOKENIZERS, PRESETS, resize_like_release
from model.healthgpt.release_map import taming_gumbel_shapes
from model.healthgpt.tokenizer import build_tokenizer

TINY_LM = dict(hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=48)
TINY_VISION = dict(image_size=28, patch_size=7, vision_hidden_size=16, vision_layers=3, vision_heads=2,
                   vision_intermediate_size=32)
# taming's GroupNorm has 32 groups: channels are multiples of 32
TINY_VQ = VQConfig(kind="taming-gumbel", image_size=32, ch=32, ch_mult=[1, 2], num_res_blocks=1,
                   attn_resolutions=[16], z_channels=32, embed_dim=32, codebook_size=8192, num_groups=32)


def tiny_config(preset: str = "m3") -> HealthGPTConfig:
    """M3 or L14 with small widths; the release's vocabulary, special ids, ranks, alphas and vision layers."""
    return PRESETS[preset](**TINY_LM, **TINY_VISION, vq=TINY_VQ)


def clip_config(cfg: HealthGPTConfig) -> Dict:
    return {"model_type": "clip", "text_config": {"hidden_size": 8},
            "vision_config": {"hidden_size": cfg.vision_hidden_size, "num_hidden_layers": cfg.vision_layers,
                              "num_attention_heads": cfg.vision_heads,
                              "intermediate_size": cfg.vision_intermediate_size, "image_size": cfg.image_size,
                              "patch_size": cfg.patch_size, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}}


def taming_yaml(vq: VQConfig) -> str:
    return (f"model:\n  target: taming.models.vqgan.GumbelVQ\n  params:\n    kl_weight: 1.0e-08\n"
            f"    embed_dim: {vq.embed_dim}\n    n_embed: {vq.codebook_size}\n    ddconfig:\n      double_z: false\n"
            f"      z_channels: {vq.z_channels}\n      resolution: {vq.image_size}\n      in_channels: 3\n"
            f"      out_ch: 3\n      ch: {vq.ch}\n      ch_mult: {list(vq.ch_mult)}\n"
            f"      num_res_blocks: {vq.num_res_blocks}\n      attn_resolutions: {list(vq.attn_resolutions)}\n"
            f"      dropout: 0.0\n")


def hf_config(cfg: HealthGPTConfig, **changes) -> Dict:
    c = {"architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": cfg.hidden_size,
         "num_hidden_layers": cfg.num_layers, "num_attention_heads": cfg.num_heads,
         "num_key_value_heads": cfg.num_kv_heads, "intermediate_size": cfg.intermediate_size,
         "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": cfg.rope_theta, "rope_scaling": None,
         "max_position_embeddings": cfg.max_position, "sliding_window": cfg.sliding_window,
         "vocab_size": cfg.base_vocab_size, "hidden_act": "silu", "tie_word_embeddings": False,
         "torch_dtype": "bfloat16"}
    c.update(changes)
    return c


def base_tokenizer_json(family: str) -> Dict:
    """A stand-in for the base's tokenizer.json with its special ids: our byte-level BPE (shifted up by 3 for Phi-3,
    whose <unk> <s> </s> sit at 0..2) plus the added tokens at their released ids; ids in between are unused.
    len(tokenizer): Phi-3 32011 (its last added token is 32010), Phi-4 100352 (<|dummy_87|> at 100351)."""
    tj = build_tokenizer(text_vocab_size=400, num_image_tokens=0)
    shift = 3 if family == "phi3" else 0
    tj["model"]["vocab"] = {k: v + shift for k, v in tj["model"]["vocab"].items()}
    special = dict(BASE_TOKENIZERS[family].special_ids)
    if family == "phi4":
        special["<|dummy_87|>"] = 100351
    tj["added_tokens"] = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                           "normalized": False, "special": True}
                          for t, i in sorted(special.items(), key=lambda kv: kv[1])]
    return tj


def _bf16(sd: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v.detach().to(torch.bfloat16).clone() for k, v in sd.items()}


def write_release(root: str, seed: int = 0, preset: str = "m3") -> Dict:
    """Write the files under root; returns {"cfg", "expected" (HealthGPT), "paths", "vqgan" (state dict)}.
    L14 ("l14") has a comprehension plugin only: no gen, fusion or VQGAN files."""
    cfg = tiny_config(preset)
    has_gen = any(p.fusion for p in cfg.plugins)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    src = HealthGPT(cfg)
    with torch.no_grad():
        for p in src.parameters():  # B (zero at init), norms and biases get values too
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    parts = {k: _bf16(v) for k, v in src.release_state_dicts().items()}
    vis_prefix = "base_model.model.model.vision_tower.vision_tower."
    base = {k[len("base_model.model."):]: v for k, v in parts["base"].items() if not k.startswith(vis_prefix)}
    clip = {k[len(vis_prefix):]: v for k, v in parts["base"].items() if k.startswith(vis_prefix)}
    rows = cfg.base_vocab_size
    base["model.embed_tokens.weight"] = (torch.randn(rows, cfg.hidden_size, generator=g) * 0.2).to(torch.bfloat16)
    base["lm_head.weight"] = (torch.randn(rows, cfg.hidden_size, generator=g) * 0.2).to(torch.bfloat16)
    clip.update({"text_model.embeddings.token_embedding.weight": torch.randn(10, 8), "logit_scale": torch.tensor(2.6),
                 "visual_projection.weight": torch.randn(8, cfg.vision_hidden_size),
                 "text_projection.weight": torch.randn(8, 8),
                 "vision_model.embeddings.position_ids": torch.arange(cfg.num_patches + 1)[None]})

    os.makedirs(os.path.join(root, "base"))
    os.makedirs(os.path.join(root, "clip"))
    names = sorted(base)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for shard, keys in shards.items():
        save_safetensors(os.path.join(root, "base", shard), {k: base[k] for k in keys})
        weight_map.update({k: shard for k in keys})
    with open(os.path.join(root, "base", "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    with open(os.path.join(root, "base", "config.json"), "w") as f:
        json.dump(hf_config(cfg), f)
    with open(os.path.join(root, "base", "tokenizer.json"), "w") as f:
        json.dump(base_tokenizer_json(cfg.family), f)
    with open(os.path.join(root, "base", "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": True, "bos_token": "<s>", "tokenizer_class": "LlamaTokenizer"}
                  if cfg.family == "phi3" else {"bos_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"}, f)
    with open(os.path.join(root, "base", "generation_config.json"), "w") as f:
        json.dump({"eos_token_id": cfg.eos_ids if len(cfg.eos_ids) > 1 else cfg.eos_ids[0]}, f)
    torch.save(clip, os.path.join(root, "clip", "pytorch_model.bin"))
    with open(os.path.join(root, "clip", "config.json"), "w") as f:
        json.dump(clip_config(cfg), f)
    with open(os.path.join(root, "model.yaml"), "w") as f:
        f.write(taming_yaml(cfg.vq))
    paths = {"base": os.path.join(root, "base"), "vision": os.path.join(root, "clip"),
             "com": os.path.join(root, "com_hlora_weights.bin"), "gen": os.path.join(root, "gen_hlora_weights.bin"),
             "fusion": os.path.join(root, "fusion_layer_weights.bin"), "vqgan": os.path.join(root, "last.ckpt")}
    vqgan = {k: torch.randn(s, generator=g) * 0.1 for k, s in taming_gumbel_shapes(cfg.vq).items()}
    if has_gen:
        for part in ("com", "gen", "fusion"):
            torch.save(parts[part], paths[part])
        torch.save({"state_dict": {**vqgan, "loss.discriminator.main.0.weight": torch.randn(4, 3, 4, 4)},
                    "global_step": 1}, paths["vqgan"])
    else:
        torch.save(parts["com"], paths["com"])
        paths = {k: paths[k] for k in ("base", "vision", "com")}

    # what the files hold, as our model: bf16-rounded, the base vocabulary resized as the release does
    expected = HealthGPT(cfg)
    own = {k: v.float() for k, v in src.state_dict().items()}
    own = {k: v.to(torch.bfloat16).float() for k, v in own.items() if has_gen or not k.startswith("fusion.")}
    for ours, theirs in (("base_model.model.model.embed_tokens.weight", "model.embed_tokens.weight"),
                         ("base_model.model.lm_head.weight", "lm_head.weight")):
        own[ours] = resize_like_release(base[theirs], cfg.tokenizer_length, cfg.vocab_size).float()
    expected.load_state_dict(own, strict=has_gen)
    return {"cfg": cfg, "expected": expected.eval(), "paths": paths, "vqgan": vqgan}


if __name__ == "__main__":  # the Node tests write the release with: python -m model.tests.release_fixture ROOT
    import sys
    print(json.dumps(write_release(sys.argv[1], preset=sys.argv[2] if len(sys.argv) > 2 else "m3")["paths"]))
