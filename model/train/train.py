#!/usr/bin/python3
"""Train HealthGPT-nano on VL-Health-mini, evaluate it, run the ablation and export the pack.

The one documented command (CPU, 2 threads, fixed seed; builds the dataset first if missing):

    /usr/bin/python3 -m model.train.train --out model/work/run --pack resources/packs/healthgpt-nano \
        [--device cuda --workers 8]

(the lesion refinement, step 9, is hours on two CPU cores and minutes on a GPU: the shipped pack's ran on a GPU)

Stages (the paper's three, after our own VQ and text pretraining, since nothing is downloaded):
  vq      VQ autoencoder on the training MRI and synthetic-CT slices (L1 + MSE + SSIM + codebook losses,
          dead codes restarted from encoder outputs)
  guided  the decoder's source path (see healthgpt/vq.py), encoder and codebook fixed
  text    the decoder-only LM pretrained on the dataset's text (chat-formatted questions, answers, reports,
          no image); afterwards the whole base (embeddings, layers, head) is frozen
  stage1  multi-modal alignment: vision tower + both projectors + the fusion embedding/head (+ H-LoRA unless
          --no-stage1-lora) learn captioning (report) and reconstruction, LM base frozen
  stage2  heterogeneous plugin fusion: only the fusion embedding and output head, on mixed generation data
  stage3  visual instruction tuning: the H-LoRA plugins (+ projectors, vision tower) on VQA/reports (comprehension) and
          SR / CT->MRI / MRI->CT / reconstruction (generation); hard router = task picks the plugin
  refine  comprehension refinement: the comprehension-only parts (the vision block whose output feeds the
          comprehension projector, that projector, the comprehension plugin) on VQA/reports, with skull-stripped
          copies and a dense lesion-map loss (training-only head); the generation path is untouched
  adapt   the source-guided decoder adapted to the tokens the trained LM generates
  lesion  lesion refinement (lesion_refine.py): the same parts as refine, on comprehension items drawn afresh
          every batch with the dataset's own lesion generator (--device cuda for this step on a GPU)
  ablation  from the same stage-2 checkpoint, with the same steps, batches and total rank: one joint LoRA
          (shared by both task families) vs the H-LoRA plugins of stage 3
  eval    held-out tables (PyTorch reference) -> metrics.json; export -> the pack

--smoke: the same code path on a tiny subset with a few steps (< 60 s), for `npm test`.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import subprocess
import sys
import time
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(MODEL_DIR)

from model.healthgpt import HealthGPT, HealthGPTConfig, VQAutoencoder
from model.healthgpt.config import PluginConfig, VQConfig
from model.healthgpt.export import DEMO_TEXT, export_pack, save_reference
from model.healthgpt.modeling import HLoRALinear
from model.healthgpt.tokenizer import Tokenizer, build_tokenizer, tokenizer_config_json
from model.train.data import (GEN_TASKS, Encoder, Split, clip_pixels, collate, corpus, load_split, task_io)
from model.eval.evaluate import batch_generate, eval_generation, eval_vq, eval_vqa, vq_encode
from model.eval.metrics import ssim_loss_map
from model.train.lesion_refine import lesion_refine
from model.train.loop import answer_and_lesion_map_loss, comprehension_trainables, lm_loss, log, run, set_lr, set_trainable

# ------------------------------------------------------------------------------------------ settings
FULL = dict(
    vq_steps=600, vq_bs=8, guide_steps=800, guide_bs=8, adapt_steps=900, adapt_per_task=96, adapt_strip_sr=0.3,
    text_steps=200, text_bs=32,
    s1_steps=400, s2_steps=60, s3_steps=1000, refine_steps=600, refine_bs=12, ablation_steps=1000,
    lesion_legs=((3078, 1e-3), (3868, 5e-4)), lesion_bs=64,
    com_bs=8, gen_bs=6, eval_limit=70, vqa_limit=300, eval_tasks=("sr", "ct2mri", "mri2ct"),
)
SMOKE = dict(
    vq_steps=3, vq_bs=4, guide_steps=2, guide_bs=2, adapt_steps=2, adapt_per_task=2, adapt_strip_sr=0.3,
    text_steps=2, text_bs=4,
    s1_steps=2, s2_steps=1, s3_steps=2, refine_steps=2, refine_bs=2, ablation_steps=2,
    lesion_legs=((2, 1e-3),), lesion_bs=2,
    com_bs=2, gen_bs=2, eval_limit=1, vqa_limit=4, eval_tasks=("sr",),
)
CODEBOOK = 512
COM = dict(rank=32, alpha=64, experts=4)
GEN = dict(rank=64, alpha=128, experts=4)


def make_config(tok_json: Dict, joint: bool = False) -> HealthGPTConfig:
    if joint:  # one plain LoRA of the same total rank (k = 1, same scaling 8) shared by both task families
        r = COM["rank"] + GEN["rank"]
        plugins = [PluginConfig("com", r, 8 * r, 1, -2, False), PluginConfig("gen", r, 8 * r, 1, 1, True)]
    else:
        plugins = [PluginConfig("com", COM["rank"], COM["alpha"], COM["experts"], -2, False),
                   PluginConfig("gen", GEN["rank"], GEN["alpha"], GEN["experts"], 1, True)]
    return HealthGPTConfig.from_tokenizer(
        tok_json, hidden_size=128, num_layers=4, num_heads=2, num_kv_heads=1, intermediate_size=384,
        max_position=1024, image_size=128, patch_size=8, vision_hidden_size=128, vision_layers=3,
        vision_heads=2, vision_intermediate_size=256, plugins=plugins,
        vq=VQConfig(image_size=128, in_channels=3, ch=16, ch_mult=[1, 2, 2, 4], z_channels=32, embed_dim=32,
                    codebook_size=CODEBOOK, num_groups=8, source_guided=True))


def tie_joint_lora(model: HealthGPT) -> None:
    for _, m in model.hlora_layers():
        m.lora_A["gen"] = m.lora_A["com"]
        m.lora_B["gen"] = m.lora_B["com"]
        m.lora_route["gen"] = m.lora_route["com"]


# ------------------------------------------------------------------------------------------ VQ
def _kmeans(x: torch.Tensor, k: int, iters: int, g: torch.Generator) -> torch.Tensor:
    c = x[torch.randperm(len(x), generator=g)[:k]].clone()
    for _ in range(iters):
        a = (x.pow(2).sum(1, keepdim=True) - 2 * x @ c.t() + c.pow(2).sum(1)[None]).argmin(1)
        s = torch.zeros_like(c).index_add_(0, a, x)
        n = torch.bincount(a, minlength=k).float()
        empty = n == 0
        c = torch.where(empty[:, None], x[torch.randint(0, len(x), (k,), generator=g)], s / n.clamp(min=1)[:, None])
    return c


def train_vq(vq: VQAutoencoder, imgs: np.ndarray, steps: int, bs: int, rng: np.random.Generator, fh) -> float:
    """imgs uint8 [N,S,S] (MRI and CT training slices). Three phases: (1) the autoencoder without
    quantisation (fast to converge), (2) codebook initialised by k-means of the encoder outputs,
    (3) quantised training (straight-through, codebook + commitment losses, dead codes restarted)."""
    opt = torch.optim.Adam(vq.parameters(), lr=2e-3, betas=(0.5, 0.9))
    K = vq.config.codebook_size
    usage = torch.zeros(K)
    cont_steps = steps // 3
    g = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    t0 = time.time()

    def batch():
        idx = rng.integers(0, len(imgs), bs)
        x = torch.as_tensor(imgs[idx] / 255.0, dtype=torch.float32)[:, None]
        if rng.random() < 0.5:
            x = x.flip(-1)
        return x, x.repeat(1, 3, 1, 1) * 2 - 1

    for step in range(steps):
        set_lr(opt, 2e-3, step, steps)
        if step == cont_steps:  # k-means codebook from encoder outputs of many training images
            with torch.no_grad():
                zs = []
                for s in range(0, min(len(imgs), 512), 64):
                    xs = torch.as_tensor(imgs[s:s + 64] / 255.0, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1) * 2 - 1
                    z = vq.encode_latent(xs)
                    zs.append(z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]))
                zs = torch.cat(zs)
                zs = zs[torch.randperm(len(zs), generator=g)[: max(K * 16, 1)]]
                vq.quantize.embedding.weight.copy_(_kmeans(zs, K, 12, g))
        x, x3 = batch()
        z = vq.encode_latent(x3)
        if step < cont_steps:
            rec = vq.decode_latent(z)
            vq_loss = 0.01 * z.pow(2).mean()  # keeps the latent scale bounded before quantisation
            code = None
        else:
            code = vq.quantize.nearest(z)
            zq = vq.quantize.lookup(code, vq.config.grid)
            vq_loss = F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
            rec = vq.decode_latent(z + (zq - z).detach())
        r01 = (rec.mean(1, keepdim=True).clamp(-1, 1) + 1) / 2
        loss = F.l1_loss(rec, x3) + F.mse_loss(rec, x3) + 0.2 * (1 - ssim_loss_map(r01, x)) + vq_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if code is not None:
            with torch.no_grad():
                usage *= 0.98
                usage += torch.bincount(code.flatten(), minlength=K).float()
                if step > cont_steps + 25 and step % 25 == 0 and step < steps * 0.85:  # restart dead codes
                    dead = (usage < 0.05).nonzero().flatten()
                    if len(dead):
                        flat = z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                        pick = flat[torch.randint(0, len(flat), (len(dead),), generator=g)]
                        vq.quantize.embedding.weight[dead] = pick
                        usage[dead] = 1.0
        if step % 25 == 0 or step == steps - 1:
            mse = F.mse_loss(r01, x).item()
            log(f"vq step {step + 1}/{steps} {'quantised' if code is not None else 'continuous'} loss {loss.item():.4f} "
                f"psnr~{10 * math.log10(1 / max(mse, 1e-10)):.2f} codes used {(usage > 0.05).sum().item()}/{K} "
                f"({time.time() - t0:.0f}s)", fh)
    return time.time() - t0


def train_guided_decoder(vq: VQAutoencoder, train: Split, codes: Dict[str, np.ndarray], steps: int, bs: int,
                         rng: np.random.Generator, fh) -> float:
    """Fine-tune the decoder, with its source skip path, on the generation tasks' (source, target) pairs; the
    encoder and codebook stay as trained, so the LM's targets do not move. Tokens are the target's own codes
    40 % of the time; otherwise partly random codes, or all the codes of another training image of the target's
    modality (coherent but wrong, as a weak LM's are), so the decoder takes the geometry from the source and
    from the tokens only what the source lacks (modality, contrast)."""
    params = set_trainable(vq, lambda n: n.startswith("decoder.") or n.startswith("post_quant_conv."))
    with torch.no_grad():  # start as the identity of the source (see vq.py); the token path is learned on top
        vq.decoder.conv_out.weight.zero_()
        vq.decoder.conv_out.bias.zero_()
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.9))
    K, G = vq.config.codebook_size, vq.config.grid
    t0 = time.time()
    for step in range(steps):
        set_lr(opt, 1e-3, step, steps)
        task = GEN_TASKS[rng.choice(len(GEN_TASKS), p=[0.35, 0.25, 0.25, 0.15])]
        idx = rng.integers(0, train.n, bs)
        inp, kind = task_io(train, task, idx, rng)
        tgt = (train.mri if kind == "mri" else train.ct)[idx] / 255.0
        flip = rng.random() < 0.5
        c = codes[kind + ("_flip" if flip else "")][idx].copy()
        if flip:
            inp, tgt = inp[:, :, ::-1], tgt[:, :, ::-1]
        for i, u in enumerate(rng.random(bs)):
            if u < 0.3:
                m = rng.random(G * G) < rng.uniform(0.1, 0.8)
                c[i, m] = rng.integers(0, K, int(m.sum()))
            elif u < 0.6:
                c[i] = codes[kind][rng.integers(train.n)]
        loss, p = _decoder_step(vq, opt, params, c, inp, tgt)
        if step % 25 == 0 or step == steps - 1:
            log(f"guided decoder step {step + 1}/{steps} {task} loss {loss:.4f} psnr~{p:.2f} ({time.time() - t0:.0f}s)", fh)
    return time.time() - t0


def _decoder_step(vq: VQAutoencoder, opt, params, c: np.ndarray, inp: np.ndarray, tgt: np.ndarray):
    """One step of the source-guided decoder on codes c [B,G*G], sources and targets [B,S,S] in [0,1]."""
    src = clip_pixels(np.ascontiguousarray(inp))
    x = torch.as_tensor(np.ascontiguousarray(tgt), dtype=torch.float32)[:, None]
    x3 = x.repeat(1, 3, 1, 1) * 2 - 1
    with torch.no_grad():
        zq = vq.quantize.lookup(torch.as_tensor(c, dtype=torch.long), vq.config.grid)
    rec = vq.decode_latent(zq, src)
    r01 = (rec.mean(1, keepdim=True).clamp(-1, 1) + 1) / 2
    loss = F.l1_loss(rec, x3) + F.mse_loss(rec, x3) + 0.2 * (1 - ssim_loss_map(r01, x))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    mse = F.mse_loss(r01.detach(), x).item()
    return loss.item(), 10 * math.log10(1 / max(mse, 1e-10))


def adapt_decoder(vq: VQAutoencoder, model: HealthGPT, enc: Encoder, train: Split, codes: Dict[str, np.ndarray],
                  steps: int, bs: int, per_task: int, rng: np.random.Generator, fh, strip_sr: float = 0.0) -> float:
    """After stage 3: adapt the source-guided decoder to the tokens the trained LM actually emits. The LM
    generates (greedy, as the app does) for `per_task` training images of each generation task; the decoder
    then learns target = f(source, tokens) on those tokens (60 %), the target's own tokens (20 %) and another
    image's tokens (20 %). For SR and recon (same modality in and out) half the samples get one random monotone
    intensity map applied to source and target alike, so that the decoder keeps the source's intensities
    rather than the training head's (a skull-stripped macaque brain is bright where a human head is grey).
    With strip_sr, SR also learns on skull-stripped slices (brain tissue only, low-resolution input made from
    the stripped slice), the held-out macaque's kind of image. The encoder, codebook and LM do not change."""
    t0 = time.time()
    model.eval()
    pool = []
    for task in GEN_TASKS:
        idx = np.sort(rng.choice(train.n, min(per_task, train.n), replace=False))
        inp, kind = task_io(train, task, idx, rng)
        tgt = (train.mri if kind == "mri" else train.ct)[idx] / 255.0
        pool.append((task, inp, tgt, kind, batch_generate(model, enc, task, inp), codes[kind][idx]))
    # SR weighted up: it is the task where the decoder must add detail rather than change contrast
    sr_p = 0.4
    weights = [sr_p, 0.25, 0.25, 0.1]
    if strip_sr > 0:  # a share strip_sr of the SR samples from skull-stripped slices
        idx = np.sort(rng.choice(train.n, min(per_task, train.n), replace=False))
        inp, tgt = train.skull_stripped_sr(idx)
        pool.append(("sr", inp, tgt, "mri", batch_generate(model, enc, "sr", inp), vq_encode(vq, tgt)))
        weights = [sr_p * (1 - strip_sr), 0.25, 0.25, 0.1, sr_p * strip_sr]
    log(f"decoder adaptation: LM tokens for {per_task} training images per task ({time.time() - t0:.0f}s)", fh)
    params = set_trainable(vq, lambda n: n.startswith("decoder.") or n.startswith("post_quant_conv."))
    vq.train()
    opt = torch.optim.Adam(params, lr=3e-4, betas=(0.5, 0.9))
    for step in range(steps):
        set_lr(opt, 3e-4, step, steps)
        task, inp, tgt_all, kind, lm_codes, own_codes = pool[rng.choice(len(pool), p=weights)]
        pick = rng.integers(0, len(inp), bs)
        c = lm_codes[pick].copy()
        mode = rng.random(bs)  # < 0.2: the target's own tokens, < 0.4: another image's, else the LM's
        for i in np.nonzero(mode < 0.4)[0]:
            c[i] = own_codes[pick[i]] if mode[i] < 0.2 else codes[kind][rng.integers(train.n)]
        tgt = tgt_all[pick]
        src = inp[pick]
        if task in ("sr", "recon") and rng.random() < 0.5:
            gain, gamma = rng.uniform(0.7, 1.4), rng.uniform(0.7, 1.4)
            src = np.clip(gain * src ** gamma, 0, 1)
            tgt = np.clip(gain * tgt ** gamma, 0, 1)
            own = mode < 0.2
            if own.any():  # the target's own tokens are those of the mapped target
                c[own] = vq_encode(vq, tgt[own])
        loss, p = _decoder_step(vq, opt, params, c, src, tgt)
        if step % 25 == 0 or step == steps - 1:
            log(f"decoder adaptation step {step + 1}/{steps} {task} loss {loss:.4f} psnr~{p:.2f} "
                f"({time.time() - t0:.0f}s)", fh)
    vq.eval()
    for p_ in vq.parameters():
        p_.requires_grad_(False)
    return time.time() - t0


# ------------------------------------------------------------------------------------------ batches
class Batches:
    def __init__(self, enc: Encoder, train: Split, codes: Dict[str, np.ndarray], rng: np.random.Generator,
                 com_bs: int, gen_bs: int):
        self.enc, self.train, self.codes, self.rng = enc, train, codes, rng
        self.com_bs, self.gen_bs = com_bs, gen_bs
        self.qa = train.qa()
        self.reports = train.reports()

    def text(self, bs: int):
        rows = []
        for _ in range(bs):
            if self.rng.random() < 0.3:
                _, q, a = self.reports[self.rng.integers(len(self.reports))]
            else:
                _, q, a, _ = self.qa[self.rng.integers(len(self.qa))]
            rows.append(self.enc.com_example(q, a, image=False))
        return {**collate(rows), "plugin": None}

    def com(self, kind: str = "mixed"):
        rows, imgs = [], []
        for _ in range(self.com_bs):
            if kind == "caption" or (kind == "mixed" and self.rng.random() < 0.25):
                i, q, a = self.reports[self.rng.integers(len(self.reports))]
            else:
                i, q, a, _ = self.qa[self.rng.integers(len(self.qa))]
            rows.append(self.enc.com_example(q, a))
            imgs.append(self.train.vqa_img[i] / 255.0)
        return {**collate(rows), "pixel_values": clip_pixels(np.stack(imgs)), "plugin": "com"}

    def gen(self, tasks=GEN_TASKS, weights=None):
        task = tasks[self.rng.choice(len(tasks), p=weights)]
        idx = self.rng.integers(0, self.train.n, self.gen_bs)
        inp, kind = task_io(self.train, task, idx, self.rng)
        if self.rng.random() < 0.5:  # left-right flip of input and target together
            inp = inp[:, :, ::-1]
            codes = self.codes[kind + "_flip"][idx]
        else:
            codes = self.codes[kind][idx]
        rows = [self.enc.gen_example(task, c) for c in codes]
        return {**collate(rows), "pixel_values": clip_pixels(np.ascontiguousarray(inp)), "plugin": "gen",
                "tag": task}


def refine_comprehension(model: HealthGPT, enc: Encoder, train: Split, steps: int, bs: int, rng: np.random.Generator,
                         fh, strip_p: float = 0.3, lesion_weight: float = 1.0) -> float:
    """Train only what comprehension alone uses: the vision block whose output is the comprehension feature
    layer (the generation layer sits below it, so generation is unchanged), the comprehension projector and the
    comprehension plugin.

    Two additions over stage 3, both for the held-out sets: a skull-stripped copy (brain tissue only) 30 % of
    the time, because the macaque test brain has no skull and the model after stage 3 named the modality of
    only 10 % of macaque test images right; and a per-patch lesion map (none / brighter / darker) predicted from
    the comprehension features by a linear head that exists only here (never exported), a dense target for what
    the yes/no, side and contrast answers need. In the shipped run modality and plane answers improved and the lesion
    questions stayed near chance (model card); the two additions were not measured apart."""
    layer, params = comprehension_trainables(model)
    lesion_map = torch.nn.Linear(model.config.vision_hidden_size, 3)
    labels = torch.from_numpy(train.lesion_patch_labels(model.config.patch_size))
    qa, reports = train.qa(), train.reports()

    def batch(step: int):
        rows, imgs, idx = [], [], []
        for _ in range(bs):
            if rng.random() < 0.25:
                i, q, ans = reports[rng.integers(len(reports))]
            else:
                i, q, ans, _ = qa[rng.integers(len(qa))]
            img = train.vqa_img[i] / 255.0
            if rng.random() < strip_p:
                img = img * train.brain[train.vqa[i]["slice"]]
            rows.append(enc.com_example(q, ans))
            imgs.append(img)
            idx.append(i)
        return {**collate(rows), "pixel_values": clip_pixels(np.stack(imgs)), "plugin": "com", "lesion": labels[idx]}

    return run(params + list(lesion_map.parameters()), steps, 1e-3, batch,
               answer_and_lesion_map_loss(model, layer, lesion_map, lesion_weight), "refine", fh)


def ablation(stage2_state, stage3, cfg: HealthGPTConfig, tok_json: Dict, vq: VQAutoencoder, enc: Encoder, val: Split,
             train: Split, S: Dict, seed: int, timings: Dict[str, float], fh) -> Dict:
    """The seesaw ablation: from the stage-2 checkpoint, both arms with freshly initialised adapters (seeded), the
    same stage-3 steps and batches and the same total rank: the H-LoRA plugins vs one plain LoRA shared by both
    task families. Evaluated on SR and VQA with the same decoder."""
    jcfg = make_config(tok_json, joint=True)
    torch.manual_seed(seed + 11)
    joint = HealthGPT(jcfg)
    tie_joint_lora(joint)
    own = joint.state_dict()
    joint.load_state_dict({k: v for k, v in stage2_state.items() if ".lora_" not in k and k in own}, strict=False)
    torch.manual_seed(seed + 11)
    hl = HealthGPT(cfg)
    fresh = hl.state_dict()
    hl.load_state_dict({k: (fresh[k] if ".lora_" in k else v) for k, v in stage2_state.items()})
    timings["ablation_hlora"] = stage3(hl, S["ablation_steps"], "ablation-hlora", seed + 3)
    timings["ablation_joint"] = stage3(joint, S["ablation_steps"], "ablation-joint", seed + 3)
    out = {}
    for name, m in (("hlora", hl), ("joint_lora", joint)):
        m.eval()
        out[name] = {"sr": eval_generation(m, vq, enc, val, train, ("sr",), S["eval_limit"])["sr"],
                     "vqa": eval_vqa(m, enc, val, train, limit=S["vqa_limit"])}
    log("ablation " + json.dumps(out), fh)
    return out


# ------------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None, help="dataset folder (default model/work/vl-health-mini[-small])")
    ap.add_argument("--out", default=None, help="run folder (default model/work/run or model/work/smoke)")
    ap.add_argument("--pack", default=None, help="export the trained model to this pack folder")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu",
                    help="where the lesion refinement (step 9) trains: cpu or cuda (every other step runs on the CPU)")
    ap.add_argument("--workers", type=int, default=0, help="processes drawing the lesion refinement's items")
    ap.add_argument("--no-stage1-lora", dest="stage1_lora", action="store_false",
                    help="stage 1 trains vision, projectors and fusion only (H-LoRA first trained in stage 3)")
    ap.add_argument("--reuse-vq", default=None,
                    help="final.pt of an earlier run with the same seed and VQ settings: skip the (deterministic) VQ stage")
    ap.add_argument("--vq-only", action="store_true",
                    help="train and evaluate the VQ stages only, save them to <out>/vq.pt (for a later --reuse-vq)")
    ap.add_argument("--reuse-lm", default=None,
                    help="final.pt of an earlier run with the same seed and VQ encoder: take its LM, vision and "
                         "plugins as stage 3 left them instead of training them, to pair them with a retrained "
                         "decoder (the LM stages read only the VQ codes, never the decoder); the refine stage then "
                         "runs on them, so give a final.pt made before that stage existed (or it is refined twice); "
                         "implies --no-ablation")
    ap.add_argument("--ablation-only", action="store_true",
                    help="train up to stage 2, then only the two ablation arms; write <out>/metrics.json (with "
                         "--reuse-vq, the same VQ as the shipped run)")
    ap.add_argument("--export-from", default=None,
                    help="folder of a finished run: export its final.pt (with its tokenizer.json and metrics.json) "
                         "to --pack; nothing is trained")
    ap.add_argument("--budget", type=float, default=1.0,
                    help="multiply every step count (the shipped pack used 1.0; more steps = better, slower)")
    a = ap.parse_args()
    if a.ablation_only and (a.reuse_lm or a.vq_only or a.export_from):
        ap.error("--ablation-only trains from the text stage on: it cannot take --reuse-lm, --vq-only or --export-from")
    a.data = a.data or os.path.join(MODEL_DIR, "work", "vl-health-mini-small" if a.smoke else "vl-health-mini")
    a.out = a.out or os.path.join(MODEL_DIR, "work", "smoke" if a.smoke else "run")
    torch.set_num_threads(a.threads)
    if a.export_from:
        from model.healthgpt.export import load_reference
        model, vq = load_reference(os.path.join(a.export_from, "final.pt"))
        with open(os.path.join(a.export_from, "tokenizer.json")) as f:
            tok_json = json.load(f)
        with open(os.path.join(a.export_from, "metrics.json")) as f:
            run_metrics = json.load(f)
        export(model, vq, tok_json, a.pack, a.data, run_metrics)
        print(f"exported {a.export_from}/final.pt to {a.pack}")
        return
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    S = dict(SMOKE if a.smoke else FULL)
    for k in [k for k in S if k.endswith("_steps")]:
        S[k] = max(1, int(round(S[k] * a.budget)))
    S["lesion_legs"] = tuple((max(1, int(round(n * a.budget))), lr) for n, lr in S["lesion_legs"])
    os.makedirs(a.out, exist_ok=True)
    fh = open(os.path.join(a.out, "train.log"), "w")
    T0 = time.time()
    timings: Dict[str, float] = {}
    if not os.path.exists(os.path.join(a.data, "manifest.json")):
        cmd = [sys.executable, "-m", "model.data.build_dataset", "--out", a.data]
        if a.smoke:
            cmd.append("--small")
        log("building dataset: " + " ".join(cmd), fh)
        subprocess.run(cmd, check=True, cwd=REPO)
    limit = 24 if a.smoke else None
    train = load_split(a.data, "train", limit)
    # every table training writes, and every choice made from them, uses the validation split; the test split
    # is read only by the final evaluation (model/eval/evaluate.py, `healthgpt eval`), never here
    val = load_split(a.data, "val", 6 if a.smoke else None)
    log(f"data: train {train.n} slices / {len(train.qa())} QA, validation {val.n} slices / {len(val.qa())} QA", fh)

    # tokenizer on the dataset's text
    from model.healthgpt.config import PHI3_TEMPLATE
    tok_json = build_tokenizer(corpus([train], PHI3_TEMPLATE), text_vocab_size=384, num_image_tokens=CODEBOOK)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tok_json, f)
    tok = Tokenizer(tok_json)
    cfg = make_config(tok_json)
    enc = Encoder(cfg, tok)
    model = HealthGPT(cfg)
    vq = VQAutoencoder(cfg.vq)
    log(f"model params {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M, "
        f"vq {sum(p.numel() for p in vq.parameters()) / 1e6:.2f} M", fh)

    # ---- VQ (own random stream, so that --reuse-vq leaves every later draw as a full run makes it)
    vq_rng = np.random.default_rng(a.seed + 100)
    vq_tokens_only = None
    vq_imgs = np.concatenate([train.mri, train.ct])
    if a.reuse_vq:
        # the VQ stages are deterministic: take their result from an earlier run of the same command
        saved = torch.load(a.reuse_vq, map_location="cpu")
        vq.load_state_dict(saved["vq"])
        vq_tokens_only = saved.get("vq_tokens_only")
        timings["vq"] = timings["guided_decoder"] = 0.0
        log(f"VQ autoencoder taken from {a.reuse_vq} (same seed and settings)", fh)
    else:
        timings["vq"] = train_vq(vq, vq_imgs, S["vq_steps"], S["vq_bs"], vq_rng, fh)
    vq.eval()
    for p in vq.parameters():
        p.requires_grad_(False)
    codes = {}
    for kind, arr in (("mri", train.mri), ("ct", train.ct)):
        x = arr / 255.0
        codes[kind] = vq_encode(vq, x)
        codes[kind + "_flip"] = vq_encode(vq, np.ascontiguousarray(x[:, :, ::-1]))
    used = len(np.unique(np.concatenate([codes["mri"], codes["ct"]])))
    log(f"codebook entries used on train: {used}/{CODEBOOK}", fh)
    if not a.reuse_vq and vq.config.source_guided:
        vq_tokens_only = eval_vq(vq, val, with_source=False)  # before the decoder learns its source path
        log("vq recon from tokens alone " + json.dumps(vq_tokens_only), fh)
        vq.train()
        timings["guided_decoder"] = train_guided_decoder(vq, train, codes, S["guide_steps"], S["guide_bs"], vq_rng, fh)
        vq.eval()
        for p in vq.parameters():
            p.requires_grad_(False)
    vq_metrics = eval_vq(vq, val)
    log("vq recon " + json.dumps(vq_metrics), fh)
    if a.vq_only:
        torch.save({"config": cfg.to_dict(), "vq": vq.state_dict(), "vq_tokens_only": vq_tokens_only},
                   os.path.join(a.out, "vq.pt"))
        with open(os.path.join(a.out, "metrics.json"), "w") as f:
            json.dump({"seed": a.seed, "settings": S, "timings_s": timings, "vq": vq_metrics,
                       "vq_tokens_only": vq_tokens_only, "codebook_used": used}, f, indent=1)
        log("VQ stages saved to " + os.path.join(a.out, "vq.pt"), fh)
        return
    B = Batches(enc, train, codes, rng, S["com_bs"], S["gen_bs"])
    loss_fn = lm_loss(model)

    if a.reuse_lm:
        model.load_state_dict(torch.load(a.reuse_lm, map_location="cpu")["model"])
        a.no_ablation = True
        stage2_state = None
        log(f"LM, vision tower, projectors and plugins taken from {a.reuse_lm}", fh)
    else:
        # ---- text pretraining of the LM, then freeze the base
        is_base_lm = lambda n: (n.startswith("base_model.model.model.layers") and "lora_" not in n) or \
            n.startswith("base_model.model.model.embed_tokens") or n.startswith("base_model.model.model.norm") or \
            n.startswith("base_model.model.lm_head")
        params = set_trainable(model, is_base_lm)
        timings["text"] = run(params, S["text_steps"], 3e-3, lambda s: B.text(S["text_bs"]), loss_fn, "text", fh)
        with torch.no_grad():  # the fusion pair starts from the pretrained text pair
            model.fusion.embed_tokens.weight.copy_(model.lm.embed_tokens.weight)
            model.fusion.lm_head.weight.copy_(model.base_model.model.lm_head.weight)

        # ---- stage 1: alignment (vision tower, projectors, fusion pair and, as the paper describes, the H-LoRA
        # plugins; LM base frozen) on captioning (comprehension) and reconstruction (generation)
        s1 = lambda n: ".vision_tower." in n or ".mm_projector." in n or n.startswith("fusion.") or \
            (a.stage1_lora and ".lora_" in n)
        params = set_trainable(model, s1)
        timings["stage1"] = run(params, S["s1_steps"], 2e-3,
                                lambda s: B.com("caption") if s % 2 == 0 else B.gen(("recon",)), loss_fn, "stage1", fh)
        # ---- stage 2: heterogeneous plugin fusion (embedding + output head on mixed generation data)
        params = set_trainable(model, lambda n: n.startswith("fusion."))
        timings["stage2"] = run(params, S["s2_steps"], 2e-3, lambda s: B.gen(GEN_TASKS, [0.3, 0.25, 0.25, 0.2]),
                                loss_fn, "stage2", fh)
        stage2_state = copy.deepcopy(model.state_dict())

        # ---- stage 3: visual instruction tuning of the H-LoRA plugins (+ projectors and, since our vision tower
        # is not a pretrained CLIP, the vision tower too)
        def stage3(m: HealthGPT, steps: int, name: str, seed: int) -> float:
            B.rng = np.random.default_rng(seed)  # identical batch sequence for both ablation arms
            ps = set_trainable(m, lambda n: ".lora_" in n or ".mm_projector." in n or ".vision_tower." in n)
            return run(ps, steps, 1e-3, lambda s: B.com() if s % 2 == 0 else B.gen(GEN_TASKS, [0.35, 0.25, 0.25, 0.15]),
                       lm_loss(m), name, fh)
        if a.ablation_only:
            result = ablation(stage2_state, stage3, cfg, tok_json, vq, enc, val, train, S, a.seed, timings, fh)
            with open(os.path.join(a.out, "metrics.json"), "w") as f:
                json.dump({"seed": a.seed, "settings": S, "timings_s": timings, "ablation": result}, f, indent=1)
            log(f"ablation done in {time.time() - T0:.0f}s", fh)
            return
        timings["stage3"] = stage3(model, S["s3_steps"], "stage3", a.seed + 3)
    # own random stream and seed, so that it draws the same whether or not stage 3 ran in this process
    torch.manual_seed(a.seed + 300)
    timings["refine"] = refine_comprehension(model, enc, train, S["refine_steps"], S["refine_bs"],
                                             np.random.default_rng(a.seed + 300), fh)
    if vq.config.source_guided:
        # own random stream: the ablation below sees the same draws whether or not this step runs
        timings["decoder_adaptation"] = adapt_decoder(vq, model, enc, train, codes, S["adapt_steps"], S["guide_bs"],
                                                      S["adapt_per_task"], np.random.default_rng(a.seed + 200), fh,
                                                      strip_sr=S["adapt_strip_sr"])
    # lesion refinement on freshly drawn lesions, in legs (the shipped run's two legs, see FULL); after the
    # decoder adaptation, as the shipped run did it (it changes no part that generation uses, so the order is free)
    legs = []
    for k, (steps, lr) in enumerate(S["lesion_legs"]):
        legs.append(lesion_refine(model, enc, train, steps, S["lesion_bs"], lr, a.seed + 900 + k,
                                  torch.device(a.device), a.workers, fh))
    timings["lesion_refine"] = sum(leg["seconds"] for leg in legs)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    save_reference(model, vq, os.path.join(a.out, "final.pt"))

    # ---- evaluation on the validation split (PyTorch reference); the test split's is a separate, final step
    t = time.time()
    gen_metrics = eval_generation(model, vq, enc, val, train, S["eval_tasks"], limit=S["eval_limit"])
    vqa_metrics = eval_vqa(model, enc, val, train, limit=S["vqa_limit"])
    timings["eval"] = time.time() - t
    log("gen " + json.dumps(gen_metrics), fh)
    log("vqa " + json.dumps(vqa_metrics), fh)

    timings["total"] = time.time() - T0
    metrics = {"seed": a.seed, "smoke": a.smoke, "settings": S, "timings_s": timings, "vq": vq_metrics,
               "vq_tokens_only": vq_tokens_only,
               "codebook_used": used, "eval_split": "val", "gen": gen_metrics, "vqa": vqa_metrics, "ablation": None, "lesion_refine": legs,
               "torch": torch.__version__, "threads": a.threads}
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    if a.pack:
        export(model, vq, tok_json, a.pack, a.data, metrics)
    # ---- ablation: one joint LoRA vs H-LoRA plugins (same stage-2 start, steps, batches, total rank)
    if not a.no_ablation:
        metrics["ablation"] = ablation(stage2_state, stage3, cfg, tok_json, vq, enc, val, train, S, a.seed, timings, fh)
        timings["total_with_ablation"] = time.time() - T0
        with open(os.path.join(a.out, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=1)

    log(f"done in {timings['total']:.0f}s", fh)


def training_seconds(timings: Dict[str, float]) -> float:
    """The training steps' time: evaluation, totals and the ablation arms left out, so that a run joined from
    several processes (--reuse-vq, --reuse-lm, a separate lesion leg) counts every step once."""
    return sum(v for k, v in timings.items()
               if k not in ("eval", "total", "total_with_ablation") and not k.startswith("ablation"))


def training_device(metrics: Dict) -> str:
    cpu = f"CPU, {metrics.get('threads') or 2} threads"
    gpus = sorted({leg["device"] for leg in metrics.get("lesion_refine") or [] if not leg["device"].startswith("CPU")})
    return cpu + (f"; lesion refinement (step 9) on {', '.join(gpus)}" if gpus else "")


def export(model, vq, tok_json, pack_dir: str, data_dir: str, metrics: Dict) -> None:
    if os.path.isdir(pack_dir):
        shutil.rmtree(pack_dir)
    os.makedirs(pack_dir)
    ds = json.load(open(os.path.join(data_dir, "manifest.json")))
    card = os.path.join(REPO, "docs", "model-card.md")
    overrides = {
        "name": "healthgpt-nano", "version": "0.5.0",
        "licence": "Apache-2.0 (code and weights); training data licences listed in model-card.md",
        "intendedUse": {"demonstration": True, "text": DEMO_TEXT},
        "training": {"dataset": "VL-Health-mini v1", "seed": metrics["seed"], "device": training_device(metrics),
                     "seconds": round(training_seconds(metrics["timings_s"]))},
        "preprocessing": {"grey": "single-channel images replicated to RGB",
                          "ctWindow": ds["ct_window"], "mriNormalisation": ds["mri_normalisation"],
                          "srInput": "the low-resolution image resized to the model's image size with bicubic (PIL)"},
    }
    from model.healthgpt.export import default_tasks
    tasks = default_tasks(model.config)
    win = {"center": ds["ct_window"]["center"], "width": ds["ct_window"]["width"]}
    lo, hi = win["center"] - win["width"] / 2, win["center"] + win["width"] / 2
    tasks["ct2mri"].update({"inputWindow": win, "output": {"modality": "MR", "range": [0, 255]}})
    tasks["mri2ct"].update({"inputWindow": "auto", "output": {"modality": "CT", "range": [lo, hi]}})
    tasks["sr"].update({"inputWindow": "auto", "output": {"modality": "same", "range": [0, 1]},
                        "dataConsistency": "block-mean"})
    tasks["recon"].update({"inputWindow": "auto", "output": {"modality": "same", "range": [0, 1]}})
    # native resolution: tiles of the input size trained on (SR: the low-resolution 32², others: the 128² slice)
    gen_tile = model.config.vq.image_size
    tasks["sr"]["tiling"] = {"inputTile": gen_tile // 4, "overlap": gen_tile // 16}
    for t in ("ct2mri", "mri2ct", "recon"):
        tasks[t]["tiling"] = {"inputTile": gen_tile, "overlap": gen_tile // 4}
    overrides["tasks"] = tasks
    export_pack(model, vq, tok_json, pack_dir, overrides)
    if os.path.exists(card):  # the model card travels inside the pack, hashed like every file
        shutil.copy(card, os.path.join(pack_dir, "model-card.md"))
        man = json.load(open(os.path.join(pack_dir, "manifest.json")))
        import hashlib
        h = hashlib.sha256(open(os.path.join(pack_dir, "model-card.md"), "rb").read()).hexdigest()
        man["files"].append({"path": "model-card.md", "role": "other",
                             "size": os.path.getsize(os.path.join(pack_dir, "model-card.md")), "sha256": h})
        with open(os.path.join(pack_dir, "manifest.json"), "w") as f:
            json.dump(man, f, indent=2)


if __name__ == "__main__":
    main()
