"""A small taming-style VQ autoencoder (encoder -> codebook -> decoder).

Decode path (as in HealthGPT's VQGAN): codebook lookup -> post_quant_conv -> decoder -> clamp [-1, 1]
-> (x + 1) / 2 gives pixels in [0, 1]. Inputs to `encode` are images in [-1, 1], shape [B, C, S, S].
Indices are in raster order, shape [B, grid*grid].
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import VQConfig


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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.up(self.mid(self.conv_in(z)))
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

    def decode_latent(self, zq: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(zq))

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """Indices [B, grid*grid] -> pixels in [0, 1], [B, C, S, S]."""
        x = self.decode_latent(self.quantize.lookup(indices, self.config.grid))
        return (x.clamp(-1.0, 1.0) + 1.0) / 2.0

    def forward(self, x: torch.Tensor, beta: float = 0.25) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: returns (reconstruction in [-1,1] (unclamped), indices, vq loss)."""
        z = self.encode_latent(x)
        idx = self.quantize.nearest(z)
        zq = self.quantize.lookup(idx, self.config.grid)
        vq_loss = F.mse_loss(zq, z.detach()) + beta * F.mse_loss(z, zq.detach())
        zq_st = z + (zq - z).detach()  # straight-through estimator
        return self.decode_latent(zq_st), idx, vq_loss
