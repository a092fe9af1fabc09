"""What the released HealthGPT (M3, L14) is, as data, and the presets built from it.

Sources (github DCDmllm/HealthGPT, read, not copied):
- HealthGPT/config.py: per model the base, H-LoRA rank/alpha/experts (hlora_r, hlora_alpha, hlora_nums),
  vq_idx_nums = 8192, chat template name; L14 has a comprehension plugin only (model.py refuses L14 generation).
- llava/demo/utils.py (add_special_tokens_and_resize_model): the new tokens are <start_index>, <idx_0> ..
  <idx_8191>, <end_index>, <pixel_newline>, appended at len(tokenizer); the embedding and the output head are
  resized to the new length and every new row (and the rows the base had past len(tokenizer)) is set to the
  mean of the first len(tokenizer) rows. com_vision_args / gen_vision_args: vision select layer -2 / 1.
- llava/conversation.py: conv_phi3_instruct and conv_phi4_instruct (separators, system prompts).
- llava/demo/com_infer.py, gen_infer.py: prompt = template with "<image>\\n" + question; generation appends
  "<start_index>"; ids from tokenizer_image_token (LLaVA's mm_utils): the prompt is split at "<image>", each
  piece is tokenized on its own (the base tokenizer adds its BOS to each), the BOS is kept once at the front
  and the pieces are joined with -200, which the model replaces by the 576 projected image features.
- taming_transformers/idx2img.py: GumbelVQ, codebook lookup at z shape (1, 256, 32, 32): a 32x32 grid
  (1024 tokens) of 256-d codes, a 256 px image (f = 8); decode clamps to [-1, 1], (x + 1) / 2.
Facts that need a file this repository does not hold are recorded with the file they come from
(BASE_TOKENIZERS, GUMBEL_F8); the exporter checks them against the files it is given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from .config import (END_INDEX, PHI3_TEMPLATE, PIXEL_NEWLINE, RELEASE_IMAGE_TOKEN_INDEX, START_INDEX,
                     HealthGPTConfig, PluginConfig, VQConfig)

VQ_IDX_NUMS = 8192
IMAGE_GRID = 32  # 32 x 32 codes per image (idx2img's zshape)
NUM_NEW_TOKENS = VQ_IDX_NUMS + 3  # <start_index>, <idx_*>, <end_index>, <pixel_newline>

PHI4_TEMPLATE = (
    "<|im_start|>system<|im_sep|>\nYou are a medieval knight and must provide explanations to modern people."
    "<|im_end|>\n<|im_start|>user<|im_sep|>\n<image>\n{question}<|im_end|>\n<|im_start|>assistant<|im_sep|>\n"
)


@dataclass(frozen=True)
class BaseTokenizerFacts:
    """The base model's tokenizer as the release loads it (AutoTokenizer, use_fast=False)."""

    source: str  # the files the facts come from
    tokenizer_length: int  # len(tokenizer) before the new tokens: where <start_index> lands
    embedding_rows: int  # config.json vocab_size of the base (rows of embed_tokens / lm_head)
    bos_id: Optional[int]  # prepended to every tokenizer call (None: the tokenizer adds none)
    special_ids: Dict[str, int]  # chat-template and control tokens
    stop_tokens: List[str]  # generation_config.json eos_token_id, as token texts
    template: str = PHI3_TEMPLATE
    template_tokens: List[str] = field(default_factory=list)  # special tokens the chat template uses


BASE_TOKENIZERS: Dict[str, BaseTokenizerFacts] = {
    "phi3": BaseTokenizerFacts(
        source="microsoft/Phi-3-mini-4k-instruct: tokenizer.json added_tokens, tokenizer_config.json "
               "(add_bos_token true, bos <s>), config.json vocab_size 32064, generation_config.json "
               "eos_token_id [32000, 32001, 32007]",
        tokenizer_length=32011,
        embedding_rows=32064,
        bos_id=1,
        special_ids={"<unk>": 0, "<s>": 1, "</s>": 2, "<|endoftext|>": 32000, "<|assistant|>": 32001,
                     "<|placeholder1|>": 32002, "<|placeholder2|>": 32003, "<|placeholder3|>": 32004,
                     "<|placeholder4|>": 32005, "<|system|>": 32006, "<|end|>": 32007,
                     "<|placeholder5|>": 32008, "<|placeholder6|>": 32009, "<|user|>": 32010},
        stop_tokens=["<|endoftext|>", "<|assistant|>", "<|end|>"],
        template=PHI3_TEMPLATE,
        template_tokens=["<|system|>", "<|end|>", "<|user|>", "<|assistant|>"],
    ),
    "phi4": BaseTokenizerFacts(
        source="microsoft/phi-4: tokenizer.json added_tokens (<|dummy_*|> fill the ids up to 100351), "
               "tokenizer_config.json (GPT2Tokenizer, no BOS added), config.json vocab_size 100352, "
               "generation_config.json eos_token_id 100265",
        tokenizer_length=100352,
        embedding_rows=100352,
        bos_id=None,
        special_ids={"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                     "<|fim_suffix|>": 100260, "<|im_start|>": 100264, "<|im_end|>": 100265,
                     "<|im_sep|>": 100266, "<|endofprompt|>": 100276},
        stop_tokens=["<|im_end|>"],
        template=PHI4_TEMPLATE,
        template_tokens=["<|im_start|>", "<|im_sep|>", "<|im_end|>"],
    ),
}

# taming-transformers' Gumbel VQGAN f8 (OpenImages, 8192 codes), the checkpoint idx2img loads
# (ckpt/model.yaml: GumbelVQ, embed_dim 256, n_embed 8192, ddconfig z_channels 256, resolution 256, ch 128,
# ch_mult [1, 1, 2, 4], num_res_blocks 2, attn_resolutions [32], double_z false)
GUMBEL_F8 = VQConfig(kind="taming-gumbel", image_size=256, in_channels=3, ch=128, ch_mult=[1, 1, 2, 4],
                     num_res_blocks=2, attn_resolutions=[32], z_channels=256, embed_dim=256,
                     codebook_size=VQ_IDX_NUMS, num_groups=32)


def new_token_ids(tokenizer_length: int) -> Dict[str, int]:
    """Ids of <start_index>, <end_index>, <pixel_newline> after the release appends its tokens."""
    return {START_INDEX: tokenizer_length, END_INDEX: tokenizer_length + 1 + VQ_IDX_NUMS,
            PIXEL_NEWLINE: tokenizer_length + 2 + VQ_IDX_NUMS}


def _preset(family: str, lm: Dict[str, Any], plugins: List[PluginConfig], overrides: Dict[str, Any]
            ) -> HealthGPTConfig:
    facts = BASE_TOKENIZERS[family]
    n = facts.tokenizer_length
    special = dict(facts.special_ids)
    special.update(new_token_ids(n))
    kw: Dict[str, Any] = dict(
        family=family, vocab_size=n + NUM_NEW_TOKENS, text_vocab_size=n, image_token_start=n + 1,
        num_image_tokens=VQ_IDX_NUMS, special_ids=special, eos_token_ids=list(facts.stop_tokens),
        bos_token_id=facts.bos_id, base_vocab_size=facts.embedding_rows, tokenizer_length=n,
        # CLIP ViT-L/14-336
        image_size=336, patch_size=14, vision_hidden_size=1024, vision_layers=24, vision_heads=16,
        vision_intermediate_size=4096, plugins=plugins, vq=GUMBEL_F8, prompt_template=facts.template,
    )
    kw.update(lm)
    kw.update(overrides)
    return HealthGPTConfig(**kw)


def healthgpt_m3(num_layers: int = 32, **overrides: Any) -> HealthGPTConfig:
    """HealthGPT-M3: Phi-3-mini-4k-instruct, com r=64 alpha=128, gen r=256 alpha=512, 4 experts each."""
    lm = dict(hidden_size=3072, num_layers=num_layers, num_heads=32, num_kv_heads=32, intermediate_size=8192,
              rms_norm_eps=1e-5, rope_theta=10000.0, max_position=4096, sliding_window=2047)
    plugins = [PluginConfig("com", 64, 128, 4, -2, False), PluginConfig("gen", 256, 512, 4, 1, True)]
    return _preset("phi3", lm, plugins, overrides)


def healthgpt_l14(num_layers: int = 40, **overrides: Any) -> HealthGPTConfig:
    """HealthGPT-L14: Phi-4, comprehension only (com r=32 alpha=64, 4 experts); the vocabulary still gets the
    image tokens (the release resizes it the same way), nothing generates them."""
    lm = dict(hidden_size=5120, num_layers=num_layers, num_heads=40, num_kv_heads=10, intermediate_size=17920,
              rms_norm_eps=1e-5, rope_theta=250000.0, max_position=16384, sliding_window=None)
    plugins = [PluginConfig("com", 32, 64, 4, -2, False)]
    return _preset("phi4", lm, plugins, overrides)


PRESETS: Dict[str, Callable[..., HealthGPTConfig]] = {"m3": healthgpt_m3, "l14": healthgpt_l14}


def release_prompt_ids(prompt: str, encode: Callable[[str], Sequence[int]], bos_id: Optional[int]) -> List[int]:
    """The ids the release feeds the model (tokenizer_image_token): `encode` is the base tokenizer's call
    (adding its BOS when it has one); every "<image>" becomes RELEASE_IMAGE_TOKEN_INDEX."""
    chunks = [list(encode(piece)) for piece in prompt.split("<image>")]
    # with a BOS at the front of the first piece, the release keeps it once and drops the first token of
    # every piece (each piece's own BOS)
    skip = 1 if (chunks[0] and bos_id is not None and chunks[0][0] == bos_id) else 0
    ids: List[int] = [bos_id] if skip else []
    for i, chunk in enumerate(chunks):
        if i:
            ids.append(RELEASE_IMAGE_TOKEN_INDEX)
        ids.extend(chunk[skip:])
    return ids


def resize_like_release(weight: torch.Tensor, tokenizer_length: int, new_size: int) -> torch.Tensor:
    """The base's embed_tokens or lm_head weight resized as the release does it: rows below len(tokenizer)
    kept, every later row the mean of those (computed in float32, rounded to the weight's dtype)."""
    if weight.shape[0] < tokenizer_length:
        raise ValueError(f"the base has {weight.shape[0]} vocabulary rows, fewer than the tokenizer's "
                         f"{tokenizer_length} tokens")
    kept = weight[:tokenizer_length]
    mean = kept.float().mean(0, keepdim=True).to(weight.dtype)
    return torch.cat([kept, mean.expand(new_size - tokenizer_length, -1)], 0).contiguous()
