#!/usr/bin/python3
"""How much of a generated image's quality is the language model's: the source-guided decoder given the image
tokens the LM generates, against the same decoder given the target's own tokens (a perfect LM), one fixed
training image's tokens for every slice, or another test slice's tokens. PyTorch reference, whole test split,
SR with the block-mean projection as the app applies it. Prints a markdown table for the model card.

    /usr/bin/python3 -m model.eval.token_sources --ckpt model/work/run/final.pt [--data model/work/vl-health-mini]
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.dirname(HERE)

from model.eval.evaluate import batch_generate, consistent_with_input, vq_decode, vq_encode
from model.eval.metrics import psnr, ssim
from model.healthgpt.export import load_reference
from model.healthgpt.tokenizer import Tokenizer
from model.train.data import Encoder, load_split, task_io

TASKS = ("sr", "ct2mri", "mri2ct")
SOURCES = ("LM tokens", "target's own tokens", "one fixed image's tokens", "another slice's tokens")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True, help="final.pt of a run (its tokenizer.json beside it)")
    ap.add_argument("--data", default=os.path.join(MODEL_DIR, "work", "vl-health-mini"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    model, vq = load_reference(a.ckpt)
    with open(os.path.join(os.path.dirname(a.ckpt), "tokenizer.json")) as f:
        enc = Encoder(model.config, Tokenizer(json.load(f)))
    train, test = load_split(a.data, "train"), load_split(a.data, "test")
    idx = np.arange(test.n)
    rows = {}
    for task in TASKS:
        inp, kind = task_io(test, task, idx)
        target = (test.mri if kind == "mri" else test.ct) / 255.0
        own = vq_encode(vq, target)
        fixed = vq_encode(vq, (train.mri if kind == "mri" else train.ct)[:1] / 255.0)
        tokens = {SOURCES[0]: batch_generate(model, enc, task, inp), SOURCES[1]: own,
                  SOURCES[2]: np.repeat(fixed, test.n, axis=0),
                  SOURCES[3]: np.roll(own, test.n // 2, axis=0)}  # half the split away: another subject or level
        rows[task] = {}
        for name, codes in tokens.items():
            pred = vq_decode(vq, codes, inp)
            if task == "sr":
                pred = consistent_with_input(pred, test.lr)
            rows[task][name] = (float(np.mean([psnr(p, t) for p, t in zip(pred, target)])),
                                float(np.mean([ssim(p, t) for p, t in zip(pred, target)])))
    print(f"| task ({test.n} test slices) | " + " | ".join(SOURCES) + " |")
    print("|---" * (len(SOURCES) + 1) + "|")
    for task, r in rows.items():
        print(f"| {task} | " + " | ".join(f"{r[s][0]:.2f} / {r[s][1]:.3f}" for s in SOURCES) + " |")


if __name__ == "__main__":
    main()
