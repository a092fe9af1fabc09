#!/usr/bin/python3
"""Training step 9: lesion refinement on freshly drawn lesions.

The dataset stores one draw of simulated lesions per training image (2,288 images, about 940 lesions, all on one
subject's head). Trained on that draw alone, the model answered the lesion questions at chance on the held-out
subjects, and a small CNN trained only to say "lesion or not" learned its training images and scored chance on
the test images. This step
draws new comprehension items every batch with the dataset's own generator (model/data/comprehension_items.py:
same lesion sizes, contrasts and places, same question and report templates) on the training slices, so the
model sees hundreds of thousands of different lesions. It trains what the comprehension refinement (step 7)
trains, with the same dense lesion-map loss (a training-only head); generation is unchanged.

train.py runs it as its step 9 (FULL: the shipped run's two legs). Alone, one more leg on a finished run:

    /usr/bin/python3 -m model.train.lesion_refine --from model/work/run --out model/work/run-lesion \\
        [--device cuda] [--steps N] [--batch B] [--lr LR] [--workers W] [--max-seconds S]

--from is a finished run folder (final.pt, tokenizer.json, metrics.json); --out gets the same three files (the
leg appended to metrics.json's lesion_refine), so `train.py --export-from <out> --pack ...` exports it. CPU works
but is slow (see the model card); CUDA results are not bit-reproducible.
"""
from __future__ import annotations

import argparse
import json
import os
from typing import Dict, Iterator, List, Optional

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.dirname(HERE)

from model.data.comprehension_items import make_items
from model.train.data import Encoder, Split, clip_pixels, collate, load_split, patch_lesion_labels
from model.healthgpt import HealthGPT
from model.healthgpt.export import load_reference, save_reference
from model.healthgpt.tokenizer import Tokenizer
from model.train.loop import answer_and_lesion_map_loss, comprehension_trainables, log, run


class FreshItems(torch.utils.data.IterableDataset):
    """Endless (token ids, labels, image, lesion patch labels) drawn from the training slices: modality MRI or CT
    at even odds, a lesion with probability ½ (the dataset's rule), a skull-stripped copy with probability
    strip_p (as step 7), then one of the image's questions or, a quarter of the time, its report."""

    def __init__(self, split: Split, enc: Encoder, patch: int, seed: int, strip_p: float = 0.3,
                 report_p: float = 0.25):
        self.split, self.enc, self.patch, self.seed = split, enc, patch, seed
        self.strip_p, self.report_p = strip_p, report_p

    def draw(self, rng: np.random.Generator):
        """(question, answer, image uint8 [S,S], lesion patch labels) of one fresh item."""
        s = self.split
        i = int(rng.integers(s.n))
        modality = "MRI" if rng.random() < 0.5 else "CT"
        base = (s.mri if modality == "MRI" else s.ct)[i]
        img, item = make_items(base / 255.0, s.brain[i].astype(np.uint8), s.slices[i], modality, rng)
        img = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)  # as the dataset stores its images
        lesion = patch_lesion_labels(img, base, self.patch) if item["lesion"] else \
            np.zeros((base.shape[0] // self.patch,) * 2, np.int64)
        if rng.random() < self.strip_p:
            img = img * s.brain[i]
        if rng.random() < self.report_p:
            q, a = item["report"]["question"], item["report"]["answer"]
        else:
            qa = item["qa"][int(rng.integers(len(item["qa"])))]
            q, a = qa["question"], qa["answer"]
        return q, a, img, lesion

    def __iter__(self) -> Iterator:
        """(token ids, labels, image uint8 [S,S], lesion patch labels [S/patch, S/patch]); each data-loading
        process draws its own stream (seed, process number)."""
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            q, a, img, lesion = self.draw(rng)
            yield (*self.enc.com_example(q, a), img, lesion)


def collate_items(rows: List) -> Dict:
    return {**collate([(r[0], r[1]) for r in rows]),
            "pixel_values": clip_pixels(np.stack([r[2] for r in rows]) / 255.0),
            "lesion": torch.as_tensor(np.stack([r[3] for r in rows])), "plugin": "com"}


def to_device(b: Dict, device: torch.device) -> Dict:
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in b.items()}


@torch.no_grad()
def lesion_map_accuracy(model: HealthGPT, head: torch.nn.Linear, layer: int, split: Split, device) -> Dict[str, float]:
    """What the training-only lesion-map head says of the held-out images: lesion present when any patch's
    lesion probability is over ½, and the side from the most likely patch (a check of training, not a result:
    the model's answers are measured by eval_vqa)."""
    found, side_ok, n_side = [], 0, 0
    size = split.vqa_img.shape[-1]
    g = size // model.config.patch_size
    for s in range(0, len(split.vqa), 64):
        px = clip_pixels(split.vqa_img[s:s + 64] / 255.0).to(device)
        p = head(model.vision.features(px, [layer])[0]).softmax(-1)[..., 1:].sum(-1).cpu().numpy()
        for k, score in enumerate(p):
            it = split.vqa[s + k]
            found.append((score.max() > 0.5) == (it["lesion"] is not None))
            if it["lesion"] and it["lesion"]["side"]:
                col = int(score.argmax()) % g
                side = "right" if (col + 0.5) * size / g < size / 2 - 0.5 else "left"
                side_ok += side == it["lesion"]["side"]
                n_side += 1
    return {"abnormality": float(np.mean(found)), "side": side_ok / max(1, n_side)}


def lesion_refine(model: HealthGPT, enc: Encoder, train: Split, steps: int, batch: int, lr: float, seed: int,
                  device: torch.device, workers: int, fh, check: Optional[Split] = None, check_every: int = 0,
                  max_seconds: Optional[float] = None) -> Dict:
    torch.manual_seed(seed)
    layer, params = comprehension_trainables(model)
    head = torch.nn.Linear(model.config.vision_hidden_size, 3)
    model.to(device)
    head.to(device)
    model.train()
    params = params + list(head.parameters())
    parallel = dict(num_workers=workers, persistent_workers=True, prefetch_factor=8) if workers else {}
    batches = iter(torch.utils.data.DataLoader(FreshItems(train, enc, model.config.patch_size, seed),
                                               batch_size=batch, collate_fn=collate_items, **parallel))
    done, checks = 0, []

    def after_step(n: int) -> None:
        nonlocal done
        done = n
        if check is not None and check_every and (n % check_every == 0 or n == steps):
            model.eval()
            checks.append({"step": n, **lesion_map_accuracy(model, head, layer, check, device)})
            model.train()
            log(f"lesion map on {check.name}: " + json.dumps(checks[-1]), fh)

    seconds = run(params, steps, lr, lambda step: to_device(next(batches), device),
                  answer_and_lesion_map_loss(model, layer, head), "lesion refine", fh, warmup=100,
                  max_seconds=max_seconds, log_every=100, after_step=after_step)
    model.eval()
    model.cpu()
    for p in model.parameters():
        p.requires_grad_(False)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    return {"steps": done, "seconds": seconds, "checks": checks, "device": where, "batch": batch, "lr": lr,
            "seed": seed, "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src", required=True, help="finished run folder (final.pt, tokenizer.json, metrics.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=os.path.join(MODEL_DIR, "work", "vl-health-mini"))
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234 + 900)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=0, help="data-drawing processes (0: in the training process)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check-every", type=int, default=1000, help="lesion-map check on the validation split every N steps")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop after this long even if steps remain (the learning-rate schedule then follows time)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    os.makedirs(a.out, exist_ok=True)
    fh = open(os.path.join(a.out, "lesion_refine.log"), "w")
    model, vq = load_reference(os.path.join(a.src, "final.pt"))
    with open(os.path.join(a.src, "tokenizer.json")) as f:
        tok_json = json.load(f)
    with open(os.path.join(a.src, "metrics.json")) as f:
        metrics = json.load(f)
    enc = Encoder(model.config, Tokenizer(tok_json))
    train = load_split(a.data, "train")
    val = load_split(a.data, "val") if a.check_every else None  # only the lesion-map checks read it; never the test split
    log(f"lesion refinement from {a.src} on {device}: {a.steps} steps x {a.batch}", fh)
    result = lesion_refine(model, enc, train, a.steps, a.batch, a.lr, a.seed, device, a.workers, fh,
                           check=val, check_every=a.check_every, max_seconds=a.max_seconds)
    log("lesion refinement " + json.dumps(result), fh)
    save_reference(model, vq, os.path.join(a.out, "final.pt"))
    metrics["lesion_refine"] = (metrics.get("lesion_refine") or []) + [result]  # one entry per leg
    metrics["timings_s"]["lesion_refine"] = sum(leg["seconds"] for leg in metrics["lesion_refine"])
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tok_json, f)


if __name__ == "__main__":
    main()
