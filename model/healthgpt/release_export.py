"""Export the released HealthGPT (M3, L14) from its files; no network.

Dry run, no weights (every tensor the release would have, mapped and checked, then the pack's tensor table):
    /usr/bin/python3 -m model.healthgpt.release_export --preset m3 --dry-run --config Phi-3-mini-4k-instruct/config.json

Export (reads, checks and maps every tensor, rounds it through the precision, writes the pack):
    /usr/bin/python3 -m model.healthgpt.release_export --preset m3 --out healthgpt-m3-pack --base Phi-3-mini-4k-instruct \
        --vision clip-vit-large-patch14-336 --com HealthGPT-M3/com_hlora_weights.bin \
        --gen HealthGPT-M3/gen_hlora_weights.bin --fusion HealthGPT-M3/fusion_layer_weights.bin \
        --vqgan taming_transformers/ckpt/last.ckpt [--vqgan-config .../ckpt/model.yaml] [--precision fp16|fp32]
--check instead of --out: the same reading and checking, no pack. Shapes come from the files' own configs
(base config.json, CLIP config.json, taming model.yaml next to the checkpoint); the preset gives the rest.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from .config import HealthGPTConfig
from .release import PRESETS
from .release_map import (ReleaseMappingError, Shape, linear_shapes, check_release, lm_fields_from_hf_config,
                          own_key, release_shapes, taming_gumbel_shapes)

BYTES = {"fp32": 4, "fp16": 2}
Row = Tuple[str, str, Shape]


def config_for(preset: str, hf_config_path: Optional[str], **overrides) -> HealthGPTConfig:
    """The preset, with the decoder's shapes from the base's config.json when one is given."""
    fields: Dict = {}
    if hf_config_path:
        with open(hf_config_path, encoding="utf-8") as f:
            fields = lm_fields_from_hf_config(json.load(f), hf_config_path)
    fields.update(overrides)
    cfg = PRESETS[preset](**fields)
    if cfg.base_vocab_size is not None and cfg.tokenizer_length and cfg.base_vocab_size < cfg.tokenizer_length:
        raise ReleaseMappingError(f"{hf_config_path}: vocab_size {cfg.base_vocab_size} is smaller than the "
                                  f"release's base tokenizer ({cfg.tokenizer_length} tokens)")
    return cfg


def pack_table(cfg: HealthGPTConfig) -> List[Row]:
    """(graph file, tensor, shape) of every weight the pack holds for this config."""
    rows: List[Row] = []
    d, h, v = cfg.vision_hidden_size, cfg.hidden_size, cfg.vocab_size
    n_vis = max(cfg.vision_layer_index(p.name) for p in cfg.plugins)  # blocks past the deepest used are dropped
    vis = release_shapes(cfg)["vision"]
    for k, s in vis.items():
        layer = k.split("encoder.layers.")[1].split(".")[0] if "encoder.layers." in k else None
        if "post_layernorm" in k or (layer is not None and int(layer) >= n_vis):
            continue
        rows.append(("vision.onnx", k, s))
    for p in cfg.plugins:
        for k in ("0.weight", "0.bias", "2.weight", "2.bias"):
            rows.append((f"projector_{p.name}.onnx", k, (h, d) if k == "0.weight" else ((h, h) if k == "2.weight"
                                                                                         else (h,))))
    fusion = any(p.fusion for p in cfg.plugins)
    rows.append(("embed_text.onnx", "embed_tokens", (v, h)))
    rows.append(("head_text.onnx", "lm_head", (v, h)))
    if fusion:
        rows.append(("embed_fusion.onnx", "embed_tokens", (v, h)))
        rows.append(("head_fusion.onnx", "lm_head", (v, h)))
    r_total = sum(p.rank for p in cfg.plugins)
    pk = sum(p.experts for p in cfg.plugins)
    for layer in range(cfg.num_layers):
        pre = f"layers.{layer}."
        rows.append(("lm.onnx", pre + "input_layernorm", (h,)))
        rows.append(("lm.onnx", pre + "post_attention_layernorm", (h,)))
        for name, (o, i) in linear_shapes(cfg).items():
            rows += [("lm.onnx", f"{pre}{name}.weight", (o, i)), ("lm.onnx", f"{pre}{name}.lora_A_all", (i, r_total)),
                     ("lm.onnx", f"{pre}{name}.lora_B_all", (r_total, o)),
                     ("lm.onnx", f"{pre}{name}.lora_route_all", (i, pk)),
                     ("lm.onnx", f"{pre}{name}.lora_expand", (pk, r_total)),
                     ("lm.onnx", f"{pre}{name}.lora_channel_scale", (len(cfg.plugins), r_total))]
    rows.append(("lm.onnx", "norm", (h,)))
    if fusion and cfg.vq.kind == "taming-gumbel":
        rows += [("vq_decoder.onnx", k, s) for k, s in taming_gumbel_shapes(cfg.vq, encoder=False).items()]
    return rows


def _numel(s: Shape) -> int:
    n = 1
    for x in s:
        n *= x
    return n


def format_table(rows: Sequence[Row], detail: bool) -> str:
    lines: List[str] = []
    per_graph: Dict[str, int] = {}
    for g, k, s in rows:
        per_graph[g] = per_graph.get(g, 0) + _numel(s)
        if detail:
            lines.append(f"{g:20s} {k:60s} {'x'.join(map(str, s))}")
    lines.append(f"{'graph':20s} {'parameters':>15s} {'fp32 MB':>12s} {'fp16 MB':>12s}")
    for g, n in per_graph.items():
        lines.append(f"{g:20s} {n:15,d} {n * 4 / 1e6:12.1f} {n * 2 / 1e6:12.1f}")
    total = sum(per_graph.values())
    lines.append(f"{'total':20s} {total:15,d} {total * 4 / 1e6:12.1f} {total * 2 / 1e6:12.1f}")
    return "\n".join(lines)


def dry_run(cfg: HealthGPTConfig, detail: bool = True) -> str:
    """Map every released tensor name and shape (no weights) through the exporter's check, then tabulate."""
    expected = release_shapes(cfg)
    check_release(expected, expected, {s: "dry run" for s in expected})
    release_rows = [(s, k, shape) for s, sd in expected.items() for k, shape in sd.items()]
    out = [f"# release files ({sum(len(sd) for sd in expected.values())} tensors)"]
    for s, k, shape in release_rows:
        target = own_key(cfg, s, k) or k
        if detail:
            out.append(f"{s:8s} {k:78s} {'x'.join(map(str, shape)):>14s} -> {target}")
    out.append(f"# pack ({cfg.family}, vocab {cfg.vocab_size}, image grid {cfg.vq.grid}x{cfg.vq.grid})")
    out.append(format_table(pack_table(cfg), detail))
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Export the released HealthGPT from its files (no network)")
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--config", help="the base's config.json (shapes); defaults to the preset's")
    ap.add_argument("--dry-run", action="store_true", help="no weights: tensor names, shapes and pack sizes")
    ap.add_argument("--summary", action="store_true", help="with --dry-run: the per-graph sizes only")
    ap.add_argument("--check", action="store_true", help="read, check and map every given file; no pack")
    ap.add_argument("--out", help="write the pack to this folder")
    ap.add_argument("--reference", help="with --out: also save the PyTorch reference (tests, parity checks)")
    for s in ("base", "vision", "com", "gen", "fusion", "vqgan"):
        ap.add_argument(f"--{s}")
    ap.add_argument("--vqgan-config", help="taming's model.yaml (default: next to --vqgan)")
    ap.add_argument("--precision", default="fp16", choices=sorted(BYTES))
    ap.add_argument("--name", help="pack name (default healthgpt-m3 / healthgpt-l14)")
    ap.add_argument("--version", help="pack version (default 1.0.0)")
    a = ap.parse_args(argv)
    try:
        if a.dry_run:
            print(dry_run(config_for(a.preset, a.config or (os.path.join(a.base, "config.json") if a.base else None)),
                          detail=not a.summary))
            return 0
        if not (a.check or a.out) or not a.base:
            ap.error("give --dry-run, or --base and the other files with --check or --out")
        from .release_load import load_release_model, check_base_tokenizer, read_sources
        from .release_pack import export_release_pack, release_config
        yaml_path = a.vqgan_config or (os.path.join(os.path.dirname(a.vqgan), "model.yaml") if a.vqgan else None)
        cfg = release_config(a.preset, a.base, a.vision,
                             yaml_path if yaml_path and os.path.isfile(yaml_path) else None)
        paths = {s: getattr(a, s) for s in ("base", "vision", "com", "gen", "fusion", "vqgan") if getattr(a, s)}
        if a.out:
            names = {k: v for k, v in (("name", a.name), ("version", a.version)) if v}
            m = export_release_pack(cfg, paths, a.out, a.precision, names, reference_path=a.reference)
            print(json.dumps({"ok": True, "out": a.out, "files": len(m["files"]), "precision": a.precision}))
            return 0
        problems = check_base_tokenizer(a.base, cfg)
        if problems:
            raise ReleaseMappingError("the base tokenizer does not match the release:\n  " + "\n  ".join(problems))
        load_release_model(cfg, read_sources(paths), paths, a.precision)
        print(json.dumps({"ok": True, "preset": a.preset, "precision": a.precision, "sources": sorted(paths)}))
        return 0
    except (ReleaseMappingError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
