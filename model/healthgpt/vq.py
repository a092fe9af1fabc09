"""A small taming-style VQ autoencoder (encoder -> codebook -> decoder).

Decode path (as in HealthGPT's VQGAN): codebook lookup -> post_quant_conv -> decoder -> clamp [-1, 1]
-> (x + 1) / 2 gives pixels in [0, 1]. Inputs to `encode` are images in [-1, 1], shape [B, C, S, S].
Indices are in raster order, shape [B, grid*grid].

Source-guided decoding (optional, `VQConfig.source_guided`): the decoder also takes the task's source image
(the same CLIP-normalised pixel values the vision tower sees) through a small convolutional encoder whose
features are added at every decoder resolution (a skip path, as VQ restoration models such as CodeFormer and
VQFR use). The image tokens then carry what the source lacks (the target modality, contrast, content); the
source carries the geometry. HealthGPT's own VQGAN has no such path; packs without it decode tokens alone.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import CLIP_MEAN, CLIP_STD, VQConfig


def _norm(c: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(groups, c), c, eps=1e-6)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin, groups), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = _norm(cout, groups), nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.nin_shortcut is not None else x) + h


class Encoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        chs = [cfg.ch * m for m in cfg.ch_mult]
        self.conv_in = nn.Conv2d(cfg.in_channels, chs[0], 3, padding=1)
        blocks = []
        cin = chs[0]
        for i, c in enumerate(chs):
            blocks.append(ResBlock(cin, c, cfg.num_groups))
            cin = c
            if i != len(chs) - 1:
                blocks.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.down = nn.Sequential(*blocks)
        self.mid = ResBlock(cin, cin, cfg.num_groups)
        self.norm_out = _norm(cin, cfg.num_groups)
        self.conv_out = nn.Conv2d(cin, cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.down(self.conv_in(x)))
        return self.conv_out(F.silu(self.norm_out(h)))


class Upsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class SourceEncoder(nn.Module):
    """Features of the source image at each decoder resolution (full resolution first)."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        chs = [cfg.ch * m for m in cfg.ch_mult]
        self.conv_in = nn.Conv2d(3, chs[0], 3, padding=1)
        self.blocks = nn.ModuleList()
        self.downs = nn.ModuleList()
        cin = chs[0]
        for i, c in enumerate(chs):
            self.blocks.append(ResBlock(cin, c, cfg.num_groups))
            cin = c
            if i != len(chs) - 1:
                self.downs.append(nn.Conv2d(c, c, 3, stride=2, padding=1))

    def forward(self, src: torch.Tensor) -> List[torch.Tensor]:
        h, feats = self.conv_in(src), []
        for i, blk in enumerate(self.blocks):
            h = blk(h)
            feats.append(h)
            if i < len(self.downs):
                h = self.downs[i](h)
        return feats


class Decoder(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        chs = [cfg.ch * m for m in cfg.ch_mult][::-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, chs[0], 3, padding=1)
        self.mid = ResBlock(chs[0], chs[0], cfg.num_groups)
        blocks = []
        cin = chs[0]
        for i, c in enumerate(chs):
            blocks.append(ResBlock(cin, c, cfg.num_groups))
            cin = c
            if i != len(chs) - 1:
                blocks.append(Upsample(c))
        self.up = nn.Sequential(*blocks)
        self.norm_out = _norm(cin, cfg.num_groups)
        self.conv_out = nn.Conv2d(cin, cfg.in_channels, 3, padding=1)
        if cfg.source_guided:
            self.source_encoder = SourceEncoder(cfg)
            # zero-initialised: a guided decoder starts as the plain decoder it is fine-tuned from
            self.fuse = nn.ModuleList(nn.Conv2d(c, c, 1) for c in chs)
            for f in self.fuse:
                nn.init.zeros_(f.weight)
                nn.init.zeros_(f.bias)
            # a global skip from the source to the output, initialised to the identity (CLIP-normalised grey
            # -> [-1, 1]): the decoder's own output is learned as a correction of the source, so SR starts at
            # its bicubic input and recon at the image itself
            self.skip_out = nn.Conv2d(3, cfg.in_channels, 1)
            with torch.no_grad():
                self.skip_out.weight.zero_()
                for c in range(3):
                    self.skip_out.weight[:, c, 0, 0] = 2.0 * CLIP_STD[c] / 3.0
                self.skip_out.bias.fill_(sum(2.0 * m for m in CLIP_MEAN) / 3.0 - 1.0)

    def forward(self, z: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        if source is None:
            h = self.up(h)
        else:
            skips = self.source_encoder(source)[::-1]  # grid resolution first, like the decoder
            level = 0
            for m in self.up:
                h = m(h)
                if isinstance(m, ResBlock):
                    h = h + self.fuse[level](skips[level])
                    level += 1
            return self.conv_out(F.silu(self.norm_out(h))) + self.skip_out(source)
        return self.conv_out(F.silu(self.norm_out(h)))


class Quantizer(nn.Module):
    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.codebook_size, cfg.embed_dim)
        nn.init.uniform_(self.embedding.weight, -1.0 / cfg.codebook_size, 1.0 / cfg.codebook_size)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, D, h, w] -> indices [B, h*w] (raster order)."""
        b, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        e = self.embedding.weight
        dist = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        return dist.argmin(1).view(b, h * w)

    def lookup(self, indices: torch.Tensor, grid: int) -> torch.Tensor:
        b = indices.shape[0]
        return self.embedding(indices).view(b, grid, grid, -1).permute(0, 3, 1, 2)


class VQAutoencoder(nn.Module):
    def __init__(self, config: VQConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.quant_conv = nn.Conv2d(config.z_channels, config.embed_dim, 1)
        self.quantize = Quantizer(config)
        self.post_quant_conv = nn.Conv2d(config.embed_dim, config.z_channels, 1)
        self.decoder = Decoder(config)

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        return self.quant_conv(self.encoder(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] [B,C,S,S] -> codebook indices [B, grid*grid]."""
        return self.quantize.nearest(self.encode_latent(x))

    def decode_latent(self, zq: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(zq), source)

    def decode(self, indices: torch.Tensor, source: Optional[torch.Tensor] = None,
               tokens_only: bool = False) -> torch.Tensor:
        """Indices [B, grid*grid] (+ the CLIP-normalised source [B,3,S,S] for a source-guided decoder)
        -> pixels in [0, 1], [B, C, S, S]. tokens_only: run a source-guided decoder without its source path
        (meaningful only before that path is trained)."""
        if self.config.source_guided and source is None and not tokens_only:
            raise ValueError("this VQ decoder is source-guided: pass the source image")
        x = self.decode_latent(self.quantize.lookup(indices, self.config.grid), source)
        return (x.clamp(-1.0, 1.0) + 1.0) / 2.0

    def forward(self, x: torch.Tensor, beta: float = 0.25) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: returns (reconstruction in [-1,1] (unclamped), indices, vq loss)."""
        z = self.encode_latent(x)
        idx = self.quantize.nearest(z)
        zq = self.quantize.lookup(idx, self.config.grid)
        vq_loss = F.mse_loss(zq, z.detach()) + beta * F.mse_loss(z, zq.detach())
        zq_st = z + (zq - z).detach()  # straight-through estimator
        return self.decode_latent(zq_st), idx, vq_loss
