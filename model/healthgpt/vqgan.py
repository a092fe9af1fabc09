"""The released image decoder: taming-transformers' Gumbel VQGAN (f = 8, 8192 codes), our own code with taming's
module tree, so its checkpoint (last.ckpt "state_dict") loads by name: encoder.*, decoder.*, quant_conv,
post_quant_conv, quantize.proj, quantize.embed.

Facts (taming/modules/diffusionmodules/model.py and vqvae/quantize.py, as the release uses them):
- GroupNorm(32, C, eps 1e-6), swish; ResnetBlock: norm1, swish, conv1 3x3, norm2, swish, conv2 3x3, plus the
  input (through nin_shortcut 1x1 when the channels change); AttnBlock: single-head attention over the pixels with
  1x1 q, k, v, proj_out and a residual; Downsample: pad right/bottom by 1, conv 3x3 stride 2; Upsample: nearest x2,
  conv 3x3.
- Encoder: conv_in, per level num_res_blocks blocks (attention at the resolutions listed), downsample except at the
  last level, mid (block, attention, block), norm_out, swish, conv_out. Decoder: conv_in, mid, levels from the
  deepest up with num_res_blocks + 1 blocks each, upsample except at level 0, norm_out, swish, conv_out.
- GumbelQuantize: proj (1x1 conv to code logits), embed (the codebook). The release decodes indices by codebook
  lookup -> post_quant_conv -> decoder, clamps to [-1, 1], maps (x + 1) / 2.
- Encoding in the release (img2idx) samples Gumbel noise at temperature 1 before the argmax, so its indices vary
  from run to run; `encode` here takes the argmax of the logits (the noise-free choice).
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import VQConfig
from .vq import Upsample  # nearest x2 then conv 3x3: the same module (and key `conv`) as taming's


def _norm(c: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(groups, c, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin, groups), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = _norm(cout, groups), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.norm = _norm(c, groups)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        b, c, hh, ww = h.shape
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)  # [b, hw, c]
        k = self.k(h).reshape(b, c, hh * ww)  # [b, c, hw]
        v = self.v(h).reshape(b, c, hh * ww)
        w = torch.softmax(torch.bmm(q, k) * (c ** -0.5), dim=2)  # [b, hw (query), hw (key)]
        out = torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class _Level(nn.Module):
    """One resolution: `block` and `attn` lists (taming's down.{i} / up.{i})."""

    def __init__(self):
        super().__init__()
        self.block = nn.ModuleList()
        self.attn = nn.ModuleList()


class _Mid(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = ResnetBlock(c, c, groups), AttnBlock(c, groups), ResnetBlock(c, c, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


def _run_level(level: _Level, h: torch.Tensor) -> torch.Tensor:
    for i, block in enumerate(level.block):
        h = block(h)
        if len(level.attn):
            h = level.attn[i](h)
    return h


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        ch, g = cfg.ch, cfg.num_groups
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        cin, res = ch, cfg.image_size
        for lv, m in enumerate(cfg.ch_mult):
            level = _Level()
            for _ in range(cfg.num_res_blocks):
                level.block.append(ResnetBlock(cin, ch * m, g))
                cin = ch * m
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(cin, g))
            if lv != len(cfg.ch_mult) - 1:
                level.downsample = Downsample(cin)
                res //= 2
            self.down.append(level)
        self.mid = _Mid(cin, g)
        self.norm_out = _norm(cin, g)
        self.conv_out = nn.Conv2d(cin, cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = _run_level(level, h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        ch, g, levels = cfg.ch, cfg.num_groups, len(cfg.ch_mult)
        cin = ch * cfg.ch_mult[-1]
        res = cfg.image_size // 2 ** (levels - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, cin, 3, padding=1)
        self.mid = _Mid(cin, g)
        up = [None] * levels
        for lv in reversed(range(levels)):
            level = _Level()
            for _ in range(cfg.num_res_blocks + 1):
                level.block.append(ResnetBlock(cin, ch * cfg.ch_mult[lv], g))
                cin = ch * cfg.ch_mult[lv]
                if res in cfg.attn_resolutions:
                    level.attn.append(AttnBlock(cin, g))
            if lv != 0:
                level.upsample = Upsample(cin)
                res *= 2
            up[lv] = level
        self.up = nn.ModuleList(up)  # indexed by level, as taming's up.{i}; run from the deepest
        self.norm_out = _norm(cin, g)
        self.conv_out = nn.Conv2d(cin, cfg.in_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for lv in reversed(range(len(self.up))):
            h = _run_level(self.up[lv], h)
            if hasattr(self.up[lv], "upsample"):
                h = self.up[lv].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class GumbelQuantize(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.proj = nn.Conv2d(cfg.z_channels, cfg.codebook_size, 1)
        self.embed = nn.Embedding(cfg.codebook_size, cfg.embed_dim)


class GumbelVQGAN(nn.Module):
    """Same interface as VQAutoencoder: encode(x in [-1, 1]) -> indices [B, grid*grid] (raster order),
    decode(indices) -> pixels in [0, 1]."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        if cfg.kind != "taming-gumbel":
            raise ValueError(f"GumbelVQGAN needs a taming-gumbel VQConfig, not {cfg.kind!r}")
        if cfg.z_channels != cfg.embed_dim:  # taming feeds quant_conv's output (embed_dim) to quantize.proj (z)
            raise ValueError("the Gumbel VQGAN needs z_channels == embed_dim (256 in the release)")
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quantize = GumbelQuantize(cfg)
        self.quant_conv = nn.Conv2d(cfg.z_channels, cfg.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(cfg.embed_dim, cfg.z_channels, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.quantize.proj(self.quant_conv(self.encoder(x)))
        return logits.argmax(1).flatten(1)

    def decode(self, indices: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        g = self.config.grid
        zq = self.quantize.embed(indices).view(indices.shape[0], g, g, -1).permute(0, 3, 1, 2)
        x = self.decoder(self.post_quant_conv(zq))
        return (x.clamp(-1.0, 1.0) + 1.0) / 2.0

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """x in [-1, 1], [B, 3, S, S] -> the decoded tokens of its encoding, in [0, 1]."""
        return self.decode(self.encode(x))


def make_vq(cfg: VQConfig) -> nn.Module:
    """The image tokenizer a config names: our small VQ autoencoder ("plain") or the released Gumbel VQGAN."""
    if cfg.kind == "taming-gumbel":
        return GumbelVQGAN(cfg)
    from .vq import VQAutoencoder
    return VQAutoencoder(cfg)
