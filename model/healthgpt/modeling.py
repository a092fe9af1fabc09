"""Our PyTorch reference of the HealthGPT architecture.

Pieces: CLIP-style vision tower returning hierarchical hidden states; one projector per plugin
(Linear, exact GELU, Linear); Phi-3 style decoder (fused qkv_proj / gate_up_proj, RMSNorm, RoPE with
rotate_half, grouped-query attention); every decoder linear is an H-LoRA linear holding the frozen
base weight once plus one (route, A, B) set per plugin; the task picks the plugin (hard router), the
token picks the expert mix (soft router):

    y = W0 x + B( repeat_interleave(softmax(route(x)), r/k) * (A x * scaling) ),  scaling = alpha / r * k

The generation plugin swaps the token embedding and output head for the "fusion" pair.

State-dict names: the internal module tree is laid out so that `release_state_dicts()` yields the key
names of the released checkpoints (`base_model.model.model.layers.{i}.self_attn.qkv_proj.lora_A.weight`,
`base_model.model.model.mm_projector.{0,2}.weight`, ...), and `load_release_state_dict()` reads them.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import RELEASE_IMAGE_TOKEN_INDEX, HealthGPTConfig, PluginConfig

PastKV = List[Tuple[torch.Tensor, torch.Tensor]]
IGNORE_INDEX = -100


# ---------------------------------------------------------------------------------------------
# H-LoRA
# ---------------------------------------------------------------------------------------------
class HLoRALinear(nn.Module):
    """A frozen base linear shared by every plugin plus one H-LoRA branch per plugin."""

    def __init__(self, in_features: int, out_features: int, plugins: Sequence[PluginConfig], bias: bool = False):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features), requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(out_features), requires_grad=False) if bias else None
        self.lora_A = nn.ModuleDict({p.name: nn.Linear(in_features, p.rank, bias=False) for p in plugins})
        self.lora_B = nn.ModuleDict({p.name: nn.Linear(p.rank, out_features, bias=False) for p in plugins})
        self.lora_route = nn.ModuleDict({p.name: nn.Linear(in_features, p.experts, bias=False) for p in plugins})
        self.plugin_cfg = {p.name: p for p in plugins}
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        for p in plugins:
            nn.init.kaiming_uniform_(self.lora_A[p.name].weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B[p.name].weight)
            nn.init.kaiming_uniform_(self.lora_route[p.name].weight, a=math.sqrt(5))

    def router_weights(self, x: torch.Tensor, plugin: str) -> torch.Tensor:
        """Soft-router weights per token, shape [..., experts]; they sum to 1 over the last axis."""
        return torch.softmax(self.lora_route[plugin](x), dim=-1)

    def forward(self, x: torch.Tensor, plugin: Optional[str] = None) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        if plugin is None:
            return y
        cfg = self.plugin_cfg[plugin]
        route = self.router_weights(x, plugin).to(y.dtype)
        a = self.lora_A[plugin](x) * cfg.scaling
        expand = route.repeat_interleave(cfg.rank // cfg.experts, dim=-1)
        return y + self.lora_B[plugin](expand * a)


# ---------------------------------------------------------------------------------------------
# Vision tower (CLIP ViT layout: vision_model.embeddings / pre_layrnorm / encoder.layers)
# ---------------------------------------------------------------------------------------------
class _VisionEmbeddings(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        d = cfg.vision_hidden_size
        self.class_embedding = nn.Parameter(torch.randn(d) * 0.02)
        self.patch_embedding = nn.Conv2d(3, d, kernel_size=cfg.patch_size, stride=cfg.patch_size, bias=False)
        self.position_embedding = nn.Embedding(cfg.num_patches + 1, d)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        b = pixel_values.shape[0]
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(b, 1, -1)
        x = torch.cat([cls, x], dim=1)
        return x + self.position_embedding.weight.unsqueeze(0)


class _VisionAttention(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        d = cfg.vision_hidden_size
        self.heads = cfg.vision_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        hd = d // self.heads

        def split(v: torch.Tensor) -> torch.Tensor:
            return v.view(b, t, self.heads, hd).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(hd), dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, t, d))


class _VisionMLP(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.vision_hidden_size, cfg.vision_intermediate_size)
        self.fc2 = nn.Linear(cfg.vision_intermediate_size, cfg.vision_hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu as in CLIP ViT-L/14


class _VisionLayer(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        d, eps = cfg.vision_hidden_size, cfg.vision_layer_norm_eps
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.self_attn, self.mlp = _VisionAttention(cfg), _VisionMLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class _VisionEncoder(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.layers = nn.ModuleList(_VisionLayer(cfg) for _ in range(cfg.vision_layers))


class _VisionModel(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.embeddings = _VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg.vision_hidden_size, eps=cfg.vision_layer_norm_eps)
        self.encoder = _VisionEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.vision_hidden_size, eps=cfg.vision_layer_norm_eps)


class _CLIPVisionModel(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.vision_model = _VisionModel(cfg)


class VisionTower(nn.Module):
    """Returns hidden states; index 0 = embeddings after pre-LN, index i = output of block i."""

    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.vision_tower = _CLIPVisionModel(cfg)

    def hidden_states(self, pixel_values: torch.Tensor, upto: int) -> List[torch.Tensor]:
        vm = self.vision_tower.vision_model
        x = vm.pre_layrnorm(vm.embeddings(pixel_values))
        out = [x]
        for layer in vm.encoder.layers[:upto]:
            x = layer(x)
            out.append(x)
        return out

    def features(self, pixel_values: torch.Tensor, layer_indices: Sequence[int]) -> List[torch.Tensor]:
        """Patch features (CLS dropped) of the requested hidden-state indices (non-negative)."""
        hs = self.hidden_states(pixel_values, max(layer_indices))
        return [hs[i][:, 1:] for i in layer_indices]


class Projector(nn.Sequential):
    def __init__(self, vision_dim: int, hidden: int):
        super().__init__(nn.Linear(vision_dim, hidden), nn.GELU(), nn.Linear(hidden, hidden))


# ---------------------------------------------------------------------------------------------
# Phi-3 style decoder
# ---------------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float) -> Tuple[torch.Tensor, torch.Tensor]:
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    return x * cos + rotate_half(x) * sin


def causal_mask(q_len: int, past_len: int, key_padding: Optional[torch.Tensor] = None,
                device: Optional[torch.device] = None) -> torch.Tensor:
    """Additive mask [B or 1, 1, q_len, past_len + q_len]."""
    total = past_len + q_len
    q_pos = torch.arange(q_len, device=device)[:, None] + past_len
    k_pos = torch.arange(total, device=device)[None, :]
    allowed = (k_pos <= q_pos)[None, None]
    if key_padding is not None:  # [B, total] with 1 = real token
        allowed = allowed & key_padding[:, None, None, :].bool()
    neg = torch.finfo(torch.float32).min
    return torch.where(allowed, torch.zeros((), device=device), torch.full((), neg, device=device))


class Phi3Attention(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.qkv_proj = HLoRALinear(cfg.hidden_size, (cfg.num_heads + 2 * cfg.num_kv_heads) * hd, cfg.plugins)
        self.o_proj = HLoRALinear(cfg.num_heads * hd, cfg.hidden_size, cfg.plugins)

    def forward(self, x, cos, sin, mask, plugin, past: Optional[Tuple[torch.Tensor, torch.Tensor]]):
        cfg = self.cfg
        b, t, _ = x.shape
        hd, nh, nkv = cfg.head_dim, cfg.num_heads, cfg.num_kv_heads
        qkv = self.qkv_proj(x, plugin)
        q = qkv[..., : nh * hd].view(b, t, nh, hd).transpose(1, 2)
        k = qkv[..., nh * hd : (nh + nkv) * hd].view(b, t, nkv, hd).transpose(1, 2)
        v = qkv[..., (nh + nkv) * hd :].view(b, t, nkv, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        rep = nh // nkv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        att = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        out = (att @ v).transpose(1, 2).reshape(b, t, nh * hd)
        return self.o_proj(out, plugin), present


class Phi3MLP(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.gate_up_proj = HLoRALinear(cfg.hidden_size, 2 * cfg.intermediate_size, cfg.plugins)
        self.down_proj = HLoRALinear(cfg.intermediate_size, cfg.hidden_size, cfg.plugins)

    def forward(self, x: torch.Tensor, plugin: Optional[str]) -> torch.Tensor:
        gate, up = self.gate_up_proj(x, plugin).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up, plugin)


class Phi3DecoderLayer(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.self_attn = Phi3Attention(cfg)
        self.mlp = Phi3MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, mask, plugin, past):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, plugin, past)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x), plugin)
        return x, present


class _PhiModel(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(Phi3DecoderLayer(cfg) for _ in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.vision_tower = VisionTower(cfg)
        self.mm_projector = nn.ModuleDict({p.name: Projector(cfg.vision_hidden_size, cfg.hidden_size) for p in cfg.plugins})


class _CausalLM(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.model = _PhiModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)


class _PeftWrapper(nn.Module):
    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.model = _CausalLM(cfg)


class _Fusion(nn.Module):
    """The generation plugin's embedding and output head (released as fusion_layer_weights)."""

    def __init__(self, cfg: HealthGPTConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)


# ---------------------------------------------------------------------------------------------
# The whole model
# ---------------------------------------------------------------------------------------------
class HealthGPT(nn.Module):
    """HealthGPT with one base and every plugin of `config.plugins`.

    Training: `forward(input_ids, pixel_values, plugin, labels=None, attention_mask=None)` with the image
    placeholder (config.image_placeholder_id or -200) once per row; returns dict(logits, loss, labels,
    attention_mask) after splicing image features (teacher forcing).
    Inference helpers: `encode_image`, `embed`, `decode` (KV cache), `head`, `greedy_ask`, `greedy_generate`.
    """

    def __init__(self, config: HealthGPTConfig):
        super().__init__()
        self.config = config
        self.base_model = _PeftWrapper(config)
        self.fusion = _Fusion(config)
        with torch.no_grad():  # start the fusion pair from the text pair (as stage 2 does)
            self.fusion.embed_tokens.weight.copy_(self.base_model.model.model.embed_tokens.weight)
            self.fusion.lm_head.weight.copy_(self.base_model.model.lm_head.weight)

    # -- module accessors ----------------------------------------------------------------------
    @property
    def lm(self) -> _PhiModel:
        return self.base_model.model.model

    @property
    def vision(self) -> VisionTower:
        return self.lm.vision_tower

    def hlora_layers(self) -> List[Tuple[str, HLoRALinear]]:
        return [(n, m) for n, m in self.named_modules() if isinstance(m, HLoRALinear)]

    # -- building blocks -----------------------------------------------------------------------
    def encode_image(self, pixel_values: torch.Tensor, plugin: str) -> torch.Tensor:
        """CLIP pixel_values [B,3,S,S] -> projected image tokens [B, N, H] for the plugin."""
        feats = self.vision.features(pixel_values, [self.config.vision_layer_index(plugin)])[0]
        return self.lm.mm_projector[plugin](feats)

    def embed(self, ids: torch.Tensor, plugin: str) -> torch.Tensor:
        table = self.fusion.embed_tokens if self.config.plugin(plugin).fusion else self.lm.embed_tokens
        return table(ids)

    def head(self, hidden: torch.Tensor, plugin: str) -> torch.Tensor:
        lin = self.fusion.lm_head if self.config.plugin(plugin).fusion else self.base_model.model.lm_head
        return lin(hidden)

    def decode(
        self,
        inputs_embeds: torch.Tensor,
        plugin: Optional[str],
        past: Optional[PastKV] = None,
        key_padding: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, PastKV]:
        """Decoder stack; returns final-normed hidden states and the new KV cache."""
        cfg = self.config
        t = inputs_embeds.shape[1]
        past_len = past[0][0].shape[2] if past else 0
        dev = inputs_embeds.device
        cos, sin = rope_cos_sin(torch.arange(past_len, past_len + t, device=dev), cfg.head_dim, cfg.rope_theta)
        mask = causal_mask(t, past_len, key_padding, dev)
        x = inputs_embeds
        presents: PastKV = []
        for i, layer in enumerate(self.lm.layers):
            x, pres = layer(x, cos, sin, mask, plugin, past[i] if past else None)
            presents.append(pres)
        return self.lm.norm(x), presents

    # -- training forward ------------------------------------------------------------------------
    def splice(
        self, input_ids: torch.Tensor, image_tokens: Optional[torch.Tensor], plugin: str,
        labels: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
    ):
        """Replace the placeholder in each row by its image tokens; right-pad the rows."""
        ph = {self.config.image_placeholder_id, RELEASE_IMAGE_TOKEN_INDEX}
        rows, row_labels = [], []
        for b in range(input_ids.shape[0]):
            ids = input_ids[b]
            if attention_mask is not None:
                ids = ids[attention_mask[b].bool()]
            lab = labels[b][attention_mask[b].bool()] if (labels is not None and attention_mask is not None) else (
                labels[b] if labels is not None else None)
            pos = [i for i, v in enumerate(ids.tolist()) if v in ph]
            if len(pos) > 1:
                raise ValueError("at most one image placeholder per row")
            if pos and image_tokens is not None:
                p = pos[0]
                emb = torch.cat([self.embed(ids[:p], plugin), image_tokens[b], self.embed(ids[p + 1:], plugin)], 0)
                if lab is not None:
                    lab = torch.cat([lab[:p], torch.full((image_tokens.shape[1],), IGNORE_INDEX, dtype=lab.dtype,
                                                      device=lab.device), lab[p + 1:]])
            else:
                emb = self.embed(ids.clamp(min=0), plugin)
            rows.append(emb)
            row_labels.append(lab)
        t = max(r.shape[0] for r in rows)
        h = rows[0].shape[1]
        embeds = rows[0].new_zeros(len(rows), t, h)
        mask = torch.zeros(len(rows), t, dtype=torch.long, device=embeds.device)
        out_labels = torch.full((len(rows), t), IGNORE_INDEX, dtype=torch.long, device=embeds.device) \
            if labels is not None else None
        for b, r in enumerate(rows):
            embeds[b, : r.shape[0]] = r
            mask[b, : r.shape[0]] = 1
            if out_labels is not None:
                out_labels[b, : r.shape[0]] = row_labels[b]
        return embeds, mask, out_labels

    def forward(
        self,
        input_ids: torch.Tensor,
        pixel_values: Optional[torch.Tensor] = None,
        plugin: str = "com",
        labels: Optional[torch.Tensor] = None,
        attention_mask: Optional[torch.Tensor] = None,
    ) -> Dict[str, Optional[torch.Tensor]]:
        img = self.encode_image(pixel_values, plugin) if pixel_values is not None else None
        embeds, mask, labels_out = self.splice(input_ids, img, plugin, labels, attention_mask)
        hidden, _ = self.decode(embeds, plugin, None, key_padding=mask)
        logits = self.head(hidden, plugin)
        loss = None
        if labels_out is not None:
            loss = F.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]).float(), labels_out[:, 1:].reshape(-1), ignore_index=IGNORE_INDEX
            )
        return {"logits": logits, "loss": loss, "labels": labels_out, "attention_mask": mask}

    # -- inference (the reference the ONNX runtime is checked against) ---------------------------
    def _prefill(self, prompt_ids: Sequence[int], pixel_values: Optional[torch.Tensor], plugin: str):
        ids = torch.tensor([list(prompt_ids)], dtype=torch.long)
        img = self.encode_image(pixel_values, plugin) if pixel_values is not None else None
        embeds, _, _ = self.splice(ids, img, plugin)
        hidden, past = self.decode(embeds, plugin)
        return self.head(hidden[:, -1:], plugin)[0, 0], past

    @torch.no_grad()
    def greedy_ask(self, prompt_ids: Sequence[int], pixel_values: Optional[torch.Tensor], plugin: str = "com",
                   max_new_tokens: int = 32) -> Tuple[List[int], List[torch.Tensor]]:
        logits, past = self._prefill(prompt_ids, pixel_values, plugin)
        tokens: List[int] = []
        all_logits = [logits]
        eos = set(self.config.eos_ids)
        while True:
            nxt = int(torch.argmax(logits))
            tokens.append(nxt)
            if nxt in eos or len(tokens) >= max_new_tokens:
                break
            hidden, past = self.decode(self.embed(torch.tensor([[nxt]]), plugin), plugin, past)
            logits = self.head(hidden[:, -1:], plugin)[0, 0]
            all_logits.append(logits)
        return tokens, all_logits

    def image_logit_mask(self) -> torch.Tensor:
        cfg = self.config
        m = torch.full((cfg.vocab_size,), float("-inf"))
        m[cfg.image_token_start : cfg.image_token_start + cfg.num_image_tokens] = 0.0
        return m

    @torch.no_grad()
    def greedy_generate(self, prompt_ids: Sequence[int], pixel_values: Optional[torch.Tensor], plugin: str = "gen"):
        """Exactly grid*grid image tokens, logits restricted to the image-token range.
        The prompt should end with <start_index>. Returns (codebook indices, raw logits per step)."""
        cfg = self.config
        n = cfg.vq.grid ** 2
        logits, past = self._prefill(prompt_ids, pixel_values, plugin)
        mask = self.image_logit_mask()
        codes: List[int] = []
        all_logits = [logits]
        for step in range(n):
            nxt = int(torch.argmax(logits + mask))
            codes.append(nxt - cfg.image_token_start)
            if step == n - 1:
                break
            hidden, past = self.decode(self.embed(torch.tensor([[nxt]]), plugin), plugin, past)
            logits = self.head(hidden[:, -1:], plugin)[0, 0]
            all_logits.append(logits)
        return codes, all_logits

    # -- release key names ---------------------------------------------------------------------------
    def release_state_dicts(self) -> Dict[str, Dict[str, torch.Tensor]]:
        """{'base': ..., '<plugin>': ..., 'fusion': ...} with the key names of the released checkpoints."""
        sd = self.state_dict()
        out: Dict[str, Dict[str, torch.Tensor]] = {"base": {}, "fusion": {}}
        for p in self.config.plugins:
            out[p.name] = {}
        names = [p.name for p in self.config.plugins]
        for k, v in sd.items():
            if k.startswith("fusion."):
                rel = k.replace("fusion.embed_tokens", "base_model.model.model.embed_tokens").replace(
                    "fusion.lm_head", "base_model.model.lm_head")
                out["fusion"][rel] = v
                continue
            placed = False
            for n in names:
                for part in ("lora_A", "lora_B", "lora_route", "mm_projector"):
                    tag = f".{part}.{n}."
                    if tag in k:
                        out[n][k.replace(tag, f".{part}.")] = v
                        placed = True
            if not placed:
                out["base"][k] = v
        return out

    def load_release_state_dict(self, part: str, sd: Dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load one released file: part = 'base', a plugin name, or 'fusion'."""
        own = self.state_dict()
        mapped: Dict[str, torch.Tensor] = {}
        for k, v in sd.items():
            if part == "fusion":
                nk = k.replace("base_model.model.model.embed_tokens", "fusion.embed_tokens").replace(
                    "base_model.model.lm_head", "fusion.lm_head")
            elif part == "base":
                nk = k
            else:
                nk = k
                for piece in ("lora_A", "lora_B", "lora_route", "mm_projector"):
                    nk = nk.replace(f".{piece}.", f".{piece}.{part}.")
            if nk not in own:
                if strict:
                    raise KeyError(f"unexpected key {k} for part {part}")
                continue
            mapped[nk] = v
        self.load_state_dict(mapped, strict=False)
