"""Reconstruct an image through the released Gumbel VQGAN (encode -> 32x32 codes -> decode), at the release's
settings (taming_transformers/idx2img.py): RGB, resized to the VQGAN's resolution with Lanczos (no padding),
x * 2 - 1, encode, decode, clamp to [-1, 1], (x + 1) / 2, x 255 truncated to 8 bits. The codes are the argmax of
the quantizer's logits (the release adds Gumbel noise before it; see vqgan.py).

    /usr/bin/python3 -m model.healthgpt.vqgan_recon --ckpt ckpt/last.ckpt [--config ckpt/model.yaml] \
        --image in.png --out recon.png [--codes codes.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from .checkpoint_io import load_weights_file
from .release import GUMBEL_F8
from .release_map import NOT_USED, ReleaseMappingError, check_release, taming_gumbel_shapes
from .vqgan import GumbelVQGAN


def load_vqgan(ckpt: str, config_yaml: Optional[str] = None) -> GumbelVQGAN:
    """The checkpoint, checked against the layout its model.yaml (or the release's f8) declares."""
    if config_yaml:
        from .release_pack import vq_from_taming_yaml
        cfg = vq_from_taming_yaml(config_yaml)
    else:
        cfg = GUMBEL_F8
    sd = load_weights_file(ckpt)
    check_release({"vqgan": taming_gumbel_shapes(cfg)}, {"vqgan": {k: tuple(v.shape) for k, v in sd.items()}},
                  {"vqgan": ckpt})
    model = GumbelVQGAN(cfg)
    model.load_state_dict({k: v.float() for k, v in sd.items() if not k.startswith(NOT_USED["vqgan"])})
    return model.eval()


def image_to_input(path: str, size: int) -> torch.Tensor:
    img = Image.open(path).convert("RGB").resize((size, size), Image.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).unsqueeze(0) * 2.0 - 1.0


@torch.no_grad()
def reconstruct(model: GumbelVQGAN, path: str) -> Tuple[np.ndarray, List[int]]:
    """(H x W x 3 uint8 reconstruction, the codes in raster order)."""
    codes = model.encode(image_to_input(path, model.config.image_size))
    pixels = model.decode(codes)[0].permute(1, 2, 0).numpy()
    return (pixels * 255).astype(np.uint8), codes[0].tolist()


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Reconstruct an image through the released Gumbel VQGAN")
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--config", help="taming's model.yaml (default: next to the checkpoint, else the release's f8)")
    ap.add_argument("--image", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--codes", help="also write the codes (JSON list)")
    a = ap.parse_args(argv)
    try:
        yaml_path = a.config or os.path.join(os.path.dirname(a.ckpt), "model.yaml")
        model = load_vqgan(a.ckpt, yaml_path if os.path.isfile(yaml_path) else None)
        pixels, codes = reconstruct(model, a.image)
        Image.fromarray(pixels).save(a.out)
        if a.codes:
            with open(a.codes, "w") as f:
                json.dump(codes, f)
        print(json.dumps({"ok": True, "out": a.out, "grid": model.config.grid}))
        return 0
    except (ReleaseMappingError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
