"""The training loop's pieces shared by train.py's stages and the lesion refinement (lesion_refine.py)."""
from __future__ import annotations

import math
import time
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F

from model.healthgpt import HealthGPT


def log(msg: str, fh=None) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


def set_trainable(model: torch.nn.Module, pred: Callable[[str], bool]) -> List[torch.nn.Parameter]:
    ps = []
    for n, p in model.named_parameters():
        p.requires_grad_(pred(n))
        if p.requires_grad:
            ps.append(p)
    return ps


def set_lr(opt, lr: float, step: int, steps: int, warmup: int = 20) -> None:
    """Linear warm-up, cosine decay, floor at 5 % of lr: the schedule of every stage."""
    f = min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / max(1, steps)))
    for g in opt.param_groups:
        g["lr"] = lr * max(f, 0.05)


def run(params, steps: int, lr: float, batch_fn, loss_fn, name: str, fh, warmup: int = 20,
        max_seconds: Optional[float] = None, log_every: int = 20,
        after_step: Optional[Callable[[int], None]] = None) -> float:
    """The loop of every stage: AdamW, set_lr's schedule, gradient clip 1.0. loss_fn(batch_fn(step)) gives (loss,
    log tag). With max_seconds the loop also stops after that long, and the schedule then follows whichever ends
    first, steps or time, so it always decays. after_step(steps done) runs after each step."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.98))
    t0, ema = time.time(), None
    for step in range(steps):
        elapsed = time.time() - t0
        if max_seconds and elapsed > max_seconds:
            log(f"{name} stopped by its time limit after {step} steps ({elapsed:.0f}s)", fh)
            break
        progress = step if not max_seconds else max(step, int(steps * elapsed / max_seconds))
        set_lr(opt, lr, progress, steps, warmup)
        loss, tag = loss_fn(batch_fn(step))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % log_every == 0 or step == steps - 1:
            log(f"{name} step {step + 1}/{steps} {tag} loss {loss.item():.4f} ema {ema:.4f} "
                f"({time.time() - t0:.0f}s)", fh)
        if after_step:
            after_step(step + 1)
    return time.time() - t0


LESION_CLASS_WEIGHT = [1.0, 8.0, 8.0]  # none / brighter / darker: lesion patches are about 0.5 % of all patches


def comprehension_trainables(model: HealthGPT):
    """(comprehension feature layer, trainable parameters) for the comprehension-only refinements: the vision block
    whose output is the comprehension layer, the comprehension projector and the comprehension plugin; everything
    else frozen. The generation layer sits below that block, so generation cannot change."""
    layer = model.config.vision_layer_index("com")
    if layer - 1 < 0 or model.config.vision_layer_index("gen") >= layer:
        raise ValueError("refinement needs the comprehension layer above the generation layer")
    block = f".encoder.layers.{layer - 1}."
    return layer, set_trainable(model, lambda n: (".vision_tower." in n and block in n) or ".mm_projector.com." in n or
                                (".lora_" in n and n.endswith(".com.weight")))


def lm_loss(model: HealthGPT):
    def f(b):
        if b["plugin"] is None:  # text only: decoder without plugins
            ids = b["input_ids"]
            emb = model.lm.embed_tokens(ids)
            hidden, _ = model.decode(emb, None, key_padding=b["attention_mask"])
            logits = model.base_model.model.lm_head(hidden)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), b["labels"][:, 1:].reshape(-1),
                                   ignore_index=-100)
            return loss, "text"
        out = model(b["input_ids"], b["pixel_values"], b["plugin"], labels=b["labels"],
                    attention_mask=b["attention_mask"])
        return out["loss"], b.get("tag", b["plugin"])
    return f


def answer_and_lesion_map_loss(model: HealthGPT, layer: int, lesion_map: torch.nn.Linear, lesion_weight: float = 1.0):
    """The loss of the comprehension refinements (steps 7 and 9): the answer's, plus the per-patch lesion map
    (none / brighter / darker, batch["lesion"]) predicted from the comprehension features by a training-only head."""
    answer_loss = lm_loss(model)
    class_weight = torch.tensor(LESION_CLASS_WEIGHT, device=lesion_map.weight.device)

    def f(b):
        answer, tag = answer_loss(b)
        feats = model.vision.features(b["pixel_values"], [layer])[0]
        dense = F.cross_entropy(lesion_map(feats).reshape(-1, 3), b["lesion"].reshape(-1), weight=class_weight)
        return answer + lesion_weight * dense, f"{tag} answer {answer.item():.4f} lesion map {dense.item():.4f}"
    return f
