"""Configuration dataclasses for the HealthGPT reference model and its VQ autoencoder.

`HealthGPTConfig()` with no arguments is a tiny model matching the default tokenizer built by
`healthgpt.tokenizer.build_tokenizer()` (text vocab 512 incl. bytes, 64 image tokens).
Real-size settings (Phi-3-mini + CLIP ViT-L/14-336) are given by `HealthGPTConfig.phi3_mini()`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

# Special tokens in the order the default tokenizer appends them after the text vocabulary.
CHAT_SPECIAL_TOKENS = ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<image>"]
START_INDEX = "<start_index>"
END_INDEX = "<end_index>"
PIXEL_NEWLINE = "<pixel_newline>"

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# llava.constants.IMAGE_TOKEN_INDEX: the released code splices the image at this id, never a vocabulary id
RELEASE_IMAGE_TOKEN_INDEX = -200

PHI3_TEMPLATE = (
    "<|system|>\nYou are a helpful AI assistant.<|end|>\n<|user|>\n<image>\n{question}<|end|>\n<|assistant|>\n"
)


@dataclass
class PluginConfig:
    """One H-LoRA plugin (task-level hard router picks one)."""

    name: str  # "com" (comprehension) or "gen" (generation)
    rank: int  # total rank r over all experts
    alpha: float
    experts: int = 4  # k; expert i owns A-output channels [i*r/k, (i+1)*r/k)
    vision_layer: int = -2  # index into CLIP hidden_states (0 = embeddings, i = output of block i; negative from end)
    fusion: bool = False  # True: uses the fusion embedding/head instead of the text ones

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank * self.experts


@dataclass
class VQConfig:
    """Small taming-style VQ autoencoder. grid = image_size / 2**(len(ch_mult)-1)."""

    image_size: int = 32
    in_channels: int = 3
    ch: int = 16
    ch_mult: List[int] = field(default_factory=lambda: [1, 2, 2])
    z_channels: int = 32
    embed_dim: int = 16
    codebook_size: int = 64
    num_groups: int = 8  # GroupNorm groups (must divide every channel count)
    source_guided: bool = False  # decoder also sees the task's source image (see vq.py)
    # "plain": our small VQ (vq.py); "taming-gumbel": taming-transformers' GumbelVQ, the released decoder
    kind: str = "plain"
    num_res_blocks: int = 1  # taming-gumbel only: ResBlocks per encoder level (the decoder has one more)
    attn_resolutions: List[int] = field(default_factory=list)  # taming-gumbel only: levels with attention

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.ch_mult) - 1)

    @property
    def grid(self) -> int:
        return self.image_size // self.downsample


@dataclass
class HealthGPTConfig:
    # language model (Phi-3 style decoder; Phi-4 has the same layout, family "phi4")
    family: str = "phi3"
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 128
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position: int = 4096
    sliding_window: Optional[int] = None  # the base's attention window (Phi-3-mini-4k: 2047), None = full
    # vocabulary (ids as in the tokenizer)
    vocab_size: int = 512 + len(CHAT_SPECIAL_TOKENS) + 64 + 3
    text_vocab_size: int = 512
    image_token_start: int = 512 + len(CHAT_SPECIAL_TOKENS) + 1  # id of <idx_0>
    num_image_tokens: int = 64  # = VQ codebook size
    special_ids: Dict[str, int] = field(default_factory=dict)  # token text -> id (filled by __post_init__)
    eos_token_ids: List[str] = field(default_factory=lambda: ["<|end|>", "<|endoftext|>"])
    bos_token_id: Optional[int] = None  # prepended to the prompt when the base tokenizer adds one (Phi-3: 1)
    # rows of the base checkpoint's embedding (Phi-3-mini: 32064) and len(tokenizer) before the image tokens
    # were added (Phi-3-mini: 32011); the release resizes to tokenizer_length + new tokens (release.py)
    base_vocab_size: Optional[int] = None
    tokenizer_length: Optional[int] = None
    # vision tower (CLIP ViT style, quick_gelu)
    image_size: int = 28
    patch_size: int = 7
    vision_hidden_size: int = 32
    vision_layers: int = 3
    vision_heads: int = 4
    vision_intermediate_size: int = 64
    vision_layer_norm_eps: float = 1e-5
    # plugins
    plugins: List[PluginConfig] = field(
        default_factory=lambda: [
            PluginConfig("com", rank=8, alpha=16, experts=4, vision_layer=-2, fusion=False),
            PluginConfig("gen", rank=16, alpha=32, experts=4, vision_layer=1, fusion=True),
        ]
    )
    # image output
    vq: VQConfig = field(default_factory=VQConfig)
    prompt_template: str = PHI3_TEMPLATE

    def __post_init__(self) -> None:
        if isinstance(self.vq, dict):
            self.vq = VQConfig(**self.vq)
        self.plugins = [p if isinstance(p, PluginConfig) else PluginConfig(**p) for p in self.plugins]
        if not self.special_ids:
            ids = {t: self.text_vocab_size + i for i, t in enumerate(CHAT_SPECIAL_TOKENS)}
            ids[START_INDEX] = self.image_token_start - 1
            ids[END_INDEX] = self.image_token_start + self.num_image_tokens
            ids[PIXEL_NEWLINE] = self.image_token_start + self.num_image_tokens + 1
            self.special_ids = ids
        if self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be divisible by num_heads")
        if self.num_heads % self.num_kv_heads:
            raise ValueError("num_heads must be a multiple of num_kv_heads")
        for p in self.plugins:
            if p.rank % p.experts:
                raise ValueError(f"plugin {p.name}: rank must be divisible by experts")
        if self.num_image_tokens != self.vq.codebook_size:
            raise ValueError("num_image_tokens must equal vq.codebook_size")
        if self.family not in ("phi3", "phi4"):
            raise ValueError(f"unknown family {self.family!r} (phi3 or phi4)")
        by_id: Dict[int, str] = {}
        for tok, i in self.special_ids.items():
            if i in by_id:
                raise ValueError(f"special tokens {by_id[i]} and {tok} share id {i}")
            by_id[i] = tok

    # ---- derived -------------------------------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def image_placeholder_id(self) -> int:
        """The `<image>` token's id where the tokenizer has one, else the release's -200 sentinel, which
        the prompt builder splices in between tokenizer calls (release.release_prompt_ids)."""
        return self.special_ids.get("<image>", RELEASE_IMAGE_TOKEN_INDEX)

    @property
    def start_index_id(self) -> int:
        return self.special_ids[START_INDEX]

    @property
    def end_index_id(self) -> int:
        return self.special_ids[END_INDEX]

    @property
    def eos_ids(self) -> List[int]:
        return [self.special_ids[t] for t in self.eos_token_ids if t in self.special_ids]

    def plugin(self, name_or_index: Any) -> PluginConfig:
        if isinstance(name_or_index, int):
            return self.plugins[name_or_index]
        for p in self.plugins:
            if p.name == name_or_index:
                return p
        raise KeyError(f"unknown plugin {name_or_index!r}")

    def plugin_index(self, name: str) -> int:
        return [p.name for p in self.plugins].index(name)

    def vision_layer_index(self, plugin: str) -> int:
        """Non-negative index into hidden_states (length vision_layers + 1)."""
        v = self.plugin(plugin).vision_layer
        return v if v >= 0 else self.vision_layers + 1 + v

    # ---- (de)serialisation ------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "HealthGPTConfig":
        return cls(**d)

    @classmethod
    def from_tokenizer(cls, tokenizer_json: Dict[str, Any], **overrides: Any) -> "HealthGPTConfig":
        """Take the vocabulary layout (special ids, image-token range) from a tokenizer.json dict."""
        added = {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}
        model_vocab = tokenizer_json["model"]["vocab"]
        n_img = 0
        while f"<idx_{n_img}>" in added:
            n_img += 1
        ids = {t: added[t] for t in CHAT_SPECIAL_TOKENS + [START_INDEX, END_INDEX, PIXEL_NEWLINE] if t in added}
        vocab_size = max(list(added.values()) + list(model_vocab.values())) + 1
        kw: Dict[str, Any] = dict(
            vocab_size=vocab_size,
            text_vocab_size=min(added.values()),
            image_token_start=added["<idx_0>"],
            num_image_tokens=n_img,
            special_ids=ids,
        )
        kw.update(overrides)
        if "vq" not in kw:
            kw["vq"] = VQConfig(codebook_size=n_img)
        return cls(**kw)

    @classmethod
    def phi3_mini(cls, num_layers: int = 32, **overrides: Any) -> "HealthGPTConfig":
        """HealthGPT-M3 as released (Phi-3-mini-4k-instruct base); see release.healthgpt_m3."""
        from .release import healthgpt_m3
        return healthgpt_m3(num_layers=num_layers, **overrides)
