"""PyTorch reference CLI used by the parity tests and the benchmarks.

    /usr/bin/python3 -m model.healthgpt.reference --pack DIR --weights FILE.pt < request.json

request (JSON on stdin or --request FILE):
  {"mode": "ask" | "generate", "task": "vqa", "image": "in.png", "question": "...",
   "maxTokens": 16, "promptIds": [...optional, else tokenised here...], "returnLogits": true,
   "logitsSteps": 4 (optional: only the first N steps' logits)}
prints one JSON object: {"promptIds", "tokens", "logits"?, "pixels"? (VQ output, [3*S*S] in [0,1]),
  "pixelValues"? (when "returnPixelValues": true), "timings"}

--bench: {"mode": "bench", "image": ..., "promptTokens": N, "decodeTokens": M} -> timings in ms.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any, Dict, List

import numpy as np
import torch
from PIL import Image

from .config import CLIP_MEAN, CLIP_STD
from .export import load_reference
from .release import release_prompt_ids
from .tokenizer import Tokenizer


def expand2square(img: Image.Image, color) -> Image.Image:
    w, h = img.size
    if w == h:
        return img
    if w > h:
        out = Image.new(img.mode, (w, w), color)
        out.paste(img, (0, (w - h) // 2))
        return out
    out = Image.new(img.mode, (h, h), color)
    out.paste(img, ((h - w) // 2, 0))
    return out


def preprocess(path: str, size: int) -> torch.Tensor:
    """CLIP preprocessing as in the HealthGPT inference code: pad to square with the mean colour,
    bicubic resize (PIL), rescale 1/255, normalise."""
    img = Image.open(path).convert("RGB")
    img = expand2square(img, tuple(int(x * 255) for x in CLIP_MEAN))
    img = img.resize((size, size), Image.BICUBIC)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    arr = (arr - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).unsqueeze(0)


def build_prompt(manifest: Dict[str, Any], task: str, question: str) -> str:
    t = manifest["tasks"][task]
    q = question or t.get("defaultQuestion", "")
    return t["promptTemplate"].replace("{question}", q)


def prompt_ids(manifest: Dict[str, Any], tok: Tokenizer, prompt: str) -> List[int]:
    """As the pack says: one pass, or the release's splice (release_prompt_ids), with its BOS if any."""
    tk = manifest["architecture"].get("tokenization") or {"image": "token", "bos": None}
    bos = tk.get("bos")
    if tk["image"] == "split":
        return release_prompt_ids(prompt, lambda s: ([bos] if bos is not None else []) + tok.encode(s), bos)
    return ([bos] if bos is not None else []) + tok.encode(prompt)


def run(req: Dict[str, Any], pack: str, weights: str) -> Dict[str, Any]:
    torch.set_num_threads(int(req.get("threads", torch.get_num_threads())))
    with open(f"{pack}/manifest.json", "r", encoding="utf-8") as f:
        manifest = json.load(f)
    model, vq = load_reference(weights)
    cfg = model.config
    task = req.get("task", "vqa")
    plugin = manifest["tasks"][task]["plugin"]
    ids = req.get("promptIds")
    if ids is None:
        ids = prompt_ids(manifest, Tokenizer(f"{pack}/tokenizer.json"), build_prompt(manifest, task, req.get("question", "")))
    px = preprocess(req["image"], cfg.image_size) if req.get("image") else None
    out: Dict[str, Any] = {"promptIds": ids}
    if req.get("returnPixelValues") and px is not None:
        out["pixelValues"] = px.flatten().tolist()
    t0 = time.perf_counter()
    if req.get("mode", "ask") == "ask":
        tokens, logits = model.greedy_ask(ids, px, plugin, int(req.get("maxTokens", 16)))
        out["tokens"] = tokens
    else:
        codes, logits = model.greedy_generate(ids, px, plugin)
        out["tokens"] = [c + cfg.image_token_start for c in codes]
        with torch.no_grad():
            src = px if vq.config.source_guided else None
            out["pixels"] = vq.decode(torch.tensor([codes]), src).flatten().tolist()
    out["timings"] = {"totalMs": (time.perf_counter() - t0) * 1000}
    if req.get("returnLogits", True):
        n = int(req.get("logitsSteps", len(logits)))
        out["logits"] = [l.tolist() for l in logits[:n]]
    return out


def _vm_hwm_mib() -> float:
    """Peak resident set of this process (VmHWM; unlike ru_maxrss it is not inherited across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(req: Dict[str, Any], pack: str, weights: str) -> Dict[str, Any]:
    """Timings of the PyTorch reference (fp32, CPU) with the same structure as the Node runtime."""
    torch.set_num_threads(int(req.get("threads", torch.get_num_threads())))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, vq = load_reference(weights)
    cfg = model.config
    n_prompt, n_dec = int(req.get("promptTokens", 64)), int(req.get("decodeTokens", 16))
    px = preprocess(req["image"], cfg.image_size) if req.get("image") else torch.zeros(1, 3, cfg.image_size, cfg.image_size)
    res: Dict[str, Any] = {}
    with torch.no_grad():
        ids = torch.randint(0, cfg.text_vocab_size, (1, n_prompt))
        # prefill (text only, n_prompt tokens)
        emb = model.embed(ids, "com")
        model.decode(emb[:, :4], "com")  # warm-up
        t = time.perf_counter()
        hidden, past = model.decode(emb, "com")
        model.head(hidden[:, -1:], "com")
        res["prefillMs"] = (time.perf_counter() - t) * 1000
        # decode
        t = time.perf_counter()
        tok = torch.tensor([[1]])
        for _ in range(n_dec):
            h, past = model.decode(model.embed(tok, "com"), "com", past)
            tok = model.head(h[:, -1:], "com")[0].argmax(-1, keepdim=True) % cfg.text_vocab_size
        res["decodeMs"] = (time.perf_counter() - t) * 1000
        # time to first token with an image (vision + projector + prefill of prompt+patches + head)
        t = time.perf_counter()
        prompt = [1] * 16 + [cfg.image_placeholder_id] + [2] * 16
        model._prefill(prompt, px, "com")
        res["ttftMs"] = (time.perf_counter() - t) * 1000
        # plugin switch: base shared, nothing to load -> first generation-plugin step after a com step
        t = time.perf_counter()
        h, _ = model.decode(model.embed(torch.tensor([[1]]), "gen"), "gen", None)
        res["switchMs"] = (time.perf_counter() - t) * 1000
        # one image's tokens
        if req.get("image_tokens", True):
            t = time.perf_counter()
            codes, _ = model.greedy_generate(prompt + [cfg.start_index_id], px, "gen")
            vq.decode(torch.tensor([codes]), px if vq.config.source_guided else None)
            res["imageMs"] = (time.perf_counter() - t) * 1000
            res["imageTokens"] = len(codes)
    res["peakRssMiB"] = _vm_hwm_mib()
    res["startRssMiB"] = rss0 / 1024
    res["promptTokens"], res["decodeTokens"] = n_prompt, n_dec
    res["threads"] = torch.get_num_threads()
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pack", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--request", default=None)
    a = ap.parse_args()
    req = json.load(open(a.request)) if a.request else json.load(sys.stdin)
    out = bench(req, a.pack, a.weights) if req.get("mode") == "bench" else run(req, a.pack, a.weights)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
