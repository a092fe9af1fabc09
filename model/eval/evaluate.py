"""PyTorch-side evaluation of a trained HealthGPT-nano (reference model) on VL-Health-mini.

Used by model/train/train.py (held-out tables, ablation) and runnable alone:
    /usr/bin/python3 -m model.eval.evaluate --ckpt model/work/run/final.pt [--data model/work/vl-health-mini]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

from model.eval.metrics import psnr, ssim, hist_match_to, quantile_reference
from model.train.data import Encoder, Split, clip_pixels, normalise_answer, task_io


@torch.no_grad()
def batch_generate(model, enc: Encoder, task: str, images: np.ndarray, bs: int = 32) -> np.ndarray:
    """Greedy image-token generation (logits restricted to image tokens), batched. Returns codes [B, G*G]."""
    cfg = model.config
    n = cfg.vq.grid ** 2
    prompt = enc.gen_prompt(task)
    lo, hi = cfg.image_token_start, cfg.image_token_start + cfg.num_image_tokens
    out = []
    for s in range(0, len(images), bs):
        pv = clip_pixels(images[s:s + bs])
        b = pv.shape[0]
        ids = torch.tensor([prompt] * b)
        img = model.encode_image(pv, "gen")
        emb, _, _ = model.splice(ids, img, "gen")
        hidden, past = model.decode(emb, "gen")
        logits = model.head(hidden[:, -1], "gen")[:, lo:hi]
        codes = []
        for step in range(n):
            nxt = logits.argmax(-1)
            codes.append(nxt)
            if step == n - 1:
                break
            hidden, past = model.decode(model.embed((nxt + lo)[:, None], "gen"), "gen", past)
            logits = model.head(hidden[:, -1], "gen")[:, lo:hi]
        out.append(torch.stack(codes, 1))
    return torch.cat(out).numpy()


@torch.no_grad()
def vq_decode(vq, codes: np.ndarray, sources: Optional[np.ndarray] = None, bs: int = 64) -> np.ndarray:
    """Codes [B, G*G] (+ the task's source images [B,S,S] in [0,1] for a source-guided decoder; without them
    the decoder runs on the tokens alone) -> [B,S,S]."""
    outs = []
    for s in range(0, len(codes), bs):
        src = clip_pixels(sources[s:s + bs]) if sources is not None and vq.config.source_guided else None
        outs.append(vq.decode(torch.as_tensor(codes[s:s + bs], dtype=torch.long), src, tokens_only=src is None).mean(1).numpy())
    return np.concatenate(outs)


@torch.no_grad()
def vq_encode(vq, imgs01: np.ndarray, bs: int = 64) -> np.ndarray:
    outs = []
    for s in range(0, len(imgs01), bs):
        x = torch.as_tensor(imgs01[s:s + bs], dtype=torch.float32)[:, None].repeat(1, 3, 1, 1) * 2 - 1
        outs.append(vq.encode(x).numpy())
    return np.concatenate(outs)


def consistent_with_input(pred: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Super-resolution data consistency, as the app applies it: the closest image (least squares) whose f x f
    block means equal the acquired low-resolution image (8-bit [h,w], or [B,h,w]), then clipped to [0, 1].
    The model adds detail; it cannot change what was measured."""
    if pred.ndim == 3:
        return np.stack([consistent_with_input(p, l) for p, l in zip(pred, low)])
    f = pred.shape[0] // low.shape[0]
    means = pred.reshape(low.shape[0], f, low.shape[1], f).mean(axis=(1, 3))
    return np.clip(pred + np.kron(low / 255.0 - means, np.ones((f, f))), 0.0, 1.0)


def sr_baselines(sr_in: np.ndarray, low: np.ndarray) -> Dict[str, np.ndarray]:
    """SR baselines: plain bicubic (reference) and the equal baseline, bicubic given the same data-consistency
    projection the model's output gets (consistent_with_input), so model and baseline are compared like for like."""
    bic = sr_in / 255.0
    return {"bicubic": bic, "bicubic+projection": consistent_with_input(bic, low)}


# Colin27's test slab is the training subject (another slab): reported apart, never in the held-out headline row.
SAME_SUBJECT_SETS = ("colin27_test", "colin27_val")


def _table(slices: List[Dict], preds: Dict[str, np.ndarray], target: np.ndarray) -> Dict[str, Dict[str, float]]:
    """Mean PSNR/SSIM per test set for each prediction method; slices[i] is the record of target[i]."""
    sets = collections.defaultdict(list)
    for i, r in enumerate(slices):
        sets[r["test_set"]].append(i)
    res: Dict[str, Dict[str, float]] = {}
    for tset, idx in sorted(sets.items()):
        row: Dict[str, float] = {"n": len(idx)}
        for name, p in preds.items():
            row[f"{name}_psnr"] = float(np.mean([psnr(p[i], target[i]) for i in idx]))
            row[f"{name}_ssim"] = float(np.mean([ssim(p[i], target[i]) for i in idx]))
        res[tset] = row
    held = [i for i, r in enumerate(slices) if r["test_set"] not in SAME_SUBJECT_SETS]
    if held:
        row = {"n": len(held)}
        for name, p in preds.items():
            row[f"{name}_psnr"] = float(np.mean([psnr(p[i], target[i]) for i in held]))
            row[f"{name}_ssim"] = float(np.mean([ssim(p[i], target[i]) for i in held]))
        res["held_out"] = row
    return res


def eval_generation(model, vq, enc: Encoder, split: Split, train: Split, tasks: Sequence[str] = ("sr", "ct2mri", "mri2ct"),
                    limit: Optional[int] = None) -> Dict[str, Dict]:
    out = {}
    idx_all = np.arange(split.n)
    if limit and limit < split.n:  # evenly spread subset (covers every test set)
        idx_all = np.round(np.linspace(0, split.n - 1, limit)).astype(int)
    for task in tasks:
        idx = idx_all
        inp, kind = task_io(split, task, idx)
        target = (split.mri if kind == "mri" else split.ct)[idx] / 255.0
        codes = batch_generate(model, enc, task, inp)
        pred = vq_decode(vq, codes, inp)
        # the cap set by the image tokens: the decoder given the target's own tokens (what a perfect LM would emit)
        oracle = vq_decode(vq, vq_encode(vq, target), inp)
        if task == "sr":
            pred, oracle = consistent_with_input(pred, split.lr[idx]), consistent_with_input(oracle, split.lr[idx])
        preds = {"model": pred, "oracle": oracle}
        if task == "sr":
            preds.update(sr_baselines(split.sr_in[idx], split.lr[idx]))
        else:
            preds["identity"] = inp
            ref = quantile_reference((train.mri if kind == "mri" else train.ct) / 255.0)
            preds["histmatch"] = np.stack([hist_match_to(x, ref) for x in inp])
        out[task] = _table([split.slices[i] for i in idx], preds, target)
    return out


def majority_answers(train: Split) -> Dict[str, str]:
    c: Dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for _, _, a, qt in train.qa():
        c[qt][a] += 1
    return {qt: cnt.most_common(1)[0][0] for qt, cnt in c.items()}


@torch.no_grad()
def eval_vqa(model, enc: Encoder, split: Split, train: Split, limit: Optional[int] = None) -> Dict[str, Dict]:
    maj = majority_answers(train)
    qa = split.qa()
    if limit and limit < len(qa):  # evenly spread subset (covers every test set)
        qa = [qa[int(round(i * (len(qa) - 1) / (limit - 1)))] for i in range(limit)]
    per = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0, 0]))
    for img_i, q, a, qt in qa:
        pv = clip_pixels(split.vqa_img[img_i:img_i + 1] / 255.0)
        toks, _ = model.greedy_ask(enc.prompt(q), pv, "com", max_new_tokens=12)
        text = enc.tok.decode([t for t in toks if t not in enc.cfg.eos_ids], skip_special_tokens=True)
        tset = split.slices[split.vqa[img_i]["slice"]]["test_set"] if img_i < len(split.vqa) else "all"
        for key in (tset, "all"):
            rec = per[qt][key]
            rec[0] += 1
            rec[1] += int(normalise_answer(text) == normalise_answer(a))
            rec[2] += int(normalise_answer(maj[qt]) == normalise_answer(a))
    out = {}
    for qt, d in per.items():
        out[qt] = {k: {"n": v[0], "model_acc": v[1] / v[0], "majority_acc": v[2] / v[0], "majority": maj[qt]}
                   for k, v in d.items()}
    return out


def eval_vq(vq, split: Split, with_source: bool = True) -> Dict[str, Dict[str, float]]:
    """Encode -> decode on the test split; a source-guided decoder is given the image itself (the recon task)
    unless with_source is False (tokens alone: meaningful before the decoder's source path is trained)."""
    """VQ reconstruction alone (encode -> decode) on MRI and CT of the split, per test set."""
    res = {}
    for kind in ("mri", "ct"):
        x = (split.mri if kind == "mri" else split.ct) / 255.0
        rec = vq_decode(vq, vq_encode(vq, x), x if with_source else None)
        res[kind] = _table(split.slices, {"vq": rec}, x)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(HERE), "work", "vl-health-mini"))
    ap.add_argument("--limit", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(2)
    from model.healthgpt.export import load_reference
    from model.healthgpt.tokenizer import Tokenizer
    from model.train.data import load_split
    model, vq = load_reference(a.ckpt)
    tok = Tokenizer(os.path.join(os.path.dirname(a.ckpt), "tokenizer.json"))
    enc = Encoder(model.config, tok)
    test, train = load_split(a.data, "test"), load_split(a.data, "train")
    print(json.dumps({"vq": eval_vq(vq, test), "gen": eval_generation(model, vq, enc, test, train, limit=a.limit),
                      "vqa": eval_vqa(model, enc, test, train, limit=a.limit)}, indent=1))


if __name__ == "__main__":
    main()
