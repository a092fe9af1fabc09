#!/usr/bin/python3
"""PyTorch-reference results of a trained HealthGPT-nano on a small, fixed subset of the test split, for the
Node test that runs the SHIPPED pack with the app's runtime (test/main/model/nano-pack.test.ts).

    /usr/bin/python3 -m model.eval.reference_subset --ckpt model/work/run/final.pt \
        --pack resources/packs/healthgpt-nano [--limit 6] [--vqa-limit 40]

The subset is picked exactly as `healthgpt eval --limit N` picks it: indices round(i * (n - 1) / (N - 1)).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

from model.eval.evaluate import batch_generate, consistent_with_input, vq_decode
from model.eval.metrics import hist_match_to, psnr, ssim
from model.train.data import Encoder, clip_pixels, normalise_answer, pil_bicubic

REPO = os.path.dirname(os.path.dirname(HERE))


def pick(n: int, limit: int):
    if limit >= n:
        return list(range(n))
    if limit == 1:
        return [0]
    return [int(math.floor(i * (n - 1) / (limit - 1) + 0.5)) for i in range(limit)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--data", default=os.path.join(REPO, "test", "fixtures", "vl-health-mini"))
    ap.add_argument("--limit", type=int, default=6)
    ap.add_argument("--vqa-limit", type=int, default=40)
    a = ap.parse_args()
    torch.set_num_threads(2)
    from model.healthgpt.export import load_reference
    from model.healthgpt.tokenizer import Tokenizer
    model, vq = load_reference(a.ckpt)
    tok = Tokenizer(os.path.join(a.pack, "tokenizer.json"))
    enc = Encoder(model.config, tok)
    idx = json.load(open(os.path.join(a.data, "index.json")))
    raw = np.frombuffer(gzip.decompress(open(os.path.join(a.data, "images.u8.gz"), "rb").read()), np.uint8)

    def arr(name):
        info = idx["arrays"][name]
        n = int(np.prod(info["shape"]))
        return raw[info["offset"]:info["offset"] + n].reshape(info["shape"])

    mri, ct, lr, vqa = arr("mri"), arr("ct"), arr("lr"), arr("vqa")
    out = {"manifestSha256": hashlib.sha256(open(os.path.join(a.pack, "manifest.json"), "rb").read()).hexdigest(),
           "limit": a.limit, "vqaLimit": a.vqa_limit}
    sel = pick(len(mri), a.limit)
    for task in ("sr", "ct2mri", "mri2ct"):
        if task == "sr":
            inp = np.stack([pil_bicubic(lr[i], mri.shape[-1]) for i in sel]) / 255.0
        else:
            inp = (ct if task == "ct2mri" else mri)[sel] / 255.0
        target = (ct if task == "mri2ct" else mri)[sel] / 255.0
        pred = vq_decode(vq, batch_generate(model, enc, task, inp), inp)
        if task == "sr":
            pred = consistent_with_input(pred, lr[sel])
        row = {"model": {"psnr": float(np.mean([psnr(p, t) for p, t in zip(pred, target)])),
                         "ssim": float(np.mean([ssim(p, t) for p, t in zip(pred, target)]))}}
        if task == "sr":
            row["bicubic"] = {"psnr": float(np.mean([psnr(p, t) for p, t in zip(inp, target)])),
                              "ssim": float(np.mean([ssim(p, t) for p, t in zip(inp, target)]))}
        else:
            ref = np.array(idx["histReference"]["ct" if task == "mri2ct" else "mri"])
            hm = [hist_match_to(x, ref) for x in inp]
            row["identity"] = {"psnr": float(np.mean([psnr(p, t) for p, t in zip(inp, target)])),
                               "ssim": float(np.mean([ssim(p, t) for p, t in zip(inp, target)]))}
            row["histmatch"] = {"psnr": float(np.mean([psnr(p, t) for p, t in zip(hm, target)])),
                                "ssim": float(np.mean([ssim(p, t) for p, t in zip(hm, target)]))}
        out[task] = row
    qs = [idx["questions"][i] for i in pick(len(idx["questions"]), a.vqa_limit)]
    answers, right = [], 0
    with torch.no_grad():
        for q in qs:
            toks, _ = model.greedy_ask(enc.prompt(q["question"]), clip_pixels(vqa[q["image"]:q["image"] + 1] / 255.0),
                                       "com", max_new_tokens=12)
            text = tok.decode([t for t in toks if t not in model.config.eos_ids], skip_special_tokens=True)
            answers.append(text)
            right += int(normalise_answer(text) == normalise_answer(q["answer"]))
    out["vqa"] = {"answers": answers, "accuracy": right / len(qs)}
    path = os.path.join(a.data, "nano-reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k != "vqa"}, indent=1), out["vqa"]["accuracy"])


if __name__ == "__main__":
    main()
