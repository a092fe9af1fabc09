"""VL-Health-mini loading, tokenisation and batching for training and evaluation."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

from model.healthgpt.config import CLIP_MEAN, CLIP_STD, HealthGPTConfig, START_INDEX, END_INDEX
from model.healthgpt.export import TASK_INSTRUCTIONS
from model.healthgpt.modeling import IGNORE_INDEX
from model.healthgpt.tokenizer import Tokenizer

GEN_TASKS = ("sr", "ct2mri", "mri2ct", "recon")


def pil_bicubic(img_u8: np.ndarray, size: int) -> np.ndarray:
    """PIL bicubic resize of an 8-bit greyscale image (what the app's preprocessing mirrors)."""
    return np.asarray(Image.fromarray(img_u8, mode="L").resize((size, size), Image.BICUBIC), dtype=np.uint8)


def area_down(img_u8: np.ndarray, f: int) -> np.ndarray:
    """f x f box mean, rounded back to 8 bits (the low-resolution input as a file would hold it)."""
    h, w = img_u8.shape
    m = img_u8.astype(np.float64).reshape(h // f, f, w // f, f).mean(axis=(1, 3))
    return np.clip(np.round(m), 0, 255).astype(np.uint8)


def clip_pixels(imgs: np.ndarray) -> torch.Tensor:
    """[B,S,S] floats in [0,1] (grey) -> CLIP-normalised [B,3,S,S] (grey replicated to RGB)."""
    x = torch.as_tensor(imgs, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def patch_lesion_labels(img_u8: np.ndarray, base_u8: np.ndarray, patch: int) -> np.ndarray:
    """[S/patch, S/patch] int64: 0 no lesion, 1 brighter, 2 darker, for an image and the same image without its
    simulated lesion. A patch counts when at least a fifth of its pixels changed by more than 4 % of the range."""
    g = img_u8.shape[-1] // patch
    d = (img_u8.astype(np.float32) - base_u8.astype(np.float32)) / 255.0
    changed = (np.abs(d) > 0.04).reshape(g, patch, g, patch).mean((1, 3))
    sign = d.reshape(g, patch, g, patch).mean((1, 3))
    return np.where(changed >= 0.2, np.where(sign > 0, 1, 2), 0).astype(np.int64)


@dataclass
class Split:
    name: str
    mri: np.ndarray       # uint8 [N,128,128]
    ct: np.ndarray        # uint8 [N,128,128] (CT window)
    lr: np.ndarray        # uint8 [N,32,32]   area 4x of mri
    sr_in: np.ndarray     # uint8 [N,128,128] PIL bicubic of lr (model input for SR, also the bicubic baseline)
    vqa_img: np.ndarray   # uint8 [M,128,128]
    slices: List[Dict]
    vqa: List[Dict]
    brain: np.ndarray     # bool [N,128,128] brain tissue classes (CSF, grey, white matter) of each slice

    @property
    def n(self) -> int:
        return len(self.slices)

    def qa(self) -> List[Tuple[int, str, str, str]]:
        """(vqa image index, question, answer, qtype) for every question."""
        out = []
        for it in self.vqa:
            for q in it["qa"]:
                out.append((it["image"], q["question"], q["answer"], q["qtype"]))
        return out

    def reports(self) -> List[Tuple[int, str, str]]:
        return [(it["image"], it["report"]["question"], it["report"]["answer"]) for it in self.vqa]

    def lesion_patch_labels(self, patch: int) -> np.ndarray:
        """[M, S/patch, S/patch] per comprehension image (patch_lesion_labels against its slice without the
        lesion: the dataset inserted it)."""
        g = self.vqa_img.shape[-1] // patch
        out = np.zeros((len(self.vqa), g, g), np.int64)
        for it in self.vqa:
            if it["lesion"] is None:
                continue
            base = (self.mri if it["modality"] == "MRI" else self.ct)[it["slice"]]
            out[it["image"]] = patch_lesion_labels(self.vqa_img[it["image"]], base, patch)
        return out

    def skull_stripped_sr(self, idx: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(SR input, target), [B,S,S] in [0,1], of skull-stripped copies of slices idx: the MRI slice with
        everything but brain tissue set to 0 (the target), and the bicubic upsampling of its 4x area
        downsample (the input), made as for the dataset's own SR pairs."""
        stripped = (self.mri[idx] * self.brain[idx]).astype(np.uint8)
        inp = np.stack([pil_bicubic(area_down(m, 4), m.shape[-1]) for m in stripped])
        return inp / 255.0, stripped / 255.0


def load_split(root: str, name: str, limit: Optional[int] = None) -> Split:
    d = np.load(os.path.join(root, f"{name}.npz"))
    j = json.load(open(os.path.join(root, f"{name}.json")))
    mri, ct, vimg = d["mri"], d["ct"], d["vqa_img"]
    brain = (d["labels"] >= 1) & (d["labels"] <= 3)
    slices, vqa = j["slices"], j["vqa"]
    if limit is not None and limit < len(slices):
        keep = np.linspace(0, len(slices) - 1, limit).round().astype(int)
        remap = {int(k): i for i, k in enumerate(keep)}
        mri, ct, brain = mri[keep], ct[keep], brain[keep]
        slices = [dict(slices[k], id=i) for i, k in enumerate(keep)]
        items = [it for it in vqa if it["slice"] in remap]
        vimg = vimg[[it["image"] for it in items]]
        vqa = [dict(it, slice=remap[it["slice"]], image=i) for i, it in enumerate(items)]
    lr = np.stack([area_down(m, 4) for m in mri])
    sr_in = np.stack([pil_bicubic(l, mri.shape[-1]) for l in lr])
    return Split(name, mri, ct, lr, sr_in, vimg, slices, vqa, brain)


def corpus(splits: Sequence[Split], cfg_template: str) -> List[str]:
    lines = [cfg_template.replace("{question}", "").replace("<image>", "")]
    lines += list(TASK_INSTRUCTIONS.values())
    for s in splits:
        for _, q, a, _ in s.qa():
            lines += [q, a]
        for _, q, a in s.reports():
            lines += [q, a]
    return lines


def task_io(split: Split, task: str, idx: np.ndarray, rng: Optional[np.random.Generator] = None):
    """(input images [B,S,S] in [0,1], target kind 'mri'|'ct') for a generation task."""
    if task == "sr":
        return split.sr_in[idx] / 255.0, "mri"
    if task == "ct2mri":
        return split.ct[idx] / 255.0, "mri"
    if task == "mri2ct":
        return split.mri[idx] / 255.0, "ct"
    if task == "recon":
        use_ct = rng is not None and rng.random() < 0.5
        return (split.ct[idx] if use_ct else split.mri[idx]) / 255.0, ("ct" if use_ct else "mri")
    raise ValueError(task)


class Encoder:
    """Prompt building and tokenisation shared by training, evaluation and the exported pack's tasks."""

    def __init__(self, cfg: HealthGPTConfig, tok: Tokenizer):
        self.cfg, self.tok = cfg, tok
        self.end_id = tok.added["<|end|>"]
        self.start_id = cfg.start_index_id
        self.end_index_id = cfg.end_index_id
        self._cache: Dict[str, List[int]] = {}

    def prompt(self, question: str, image: bool = True) -> List[int]:
        key = f"{image}|{question}"
        if key not in self._cache:
            t = self.cfg.prompt_template.replace("{question}", question)
            if not image:
                t = t.replace("<image>\n", "")
            self._cache[key] = self.tok.encode(t)
        return self._cache[key]

    def gen_prompt(self, task: str) -> List[int]:
        return self.prompt(TASK_INSTRUCTIONS[task]) + [self.start_id]

    def com_example(self, question: str, answer: str, image: bool = True) -> Tuple[List[int], List[int]]:
        p = self.prompt(question, image)
        a = self.tok.encode(answer) + [self.end_id]
        return p + a, [IGNORE_INDEX] * len(p) + a

    def gen_example(self, task: str, codes: Sequence[int]) -> Tuple[List[int], List[int]]:
        p = self.gen_prompt(task)
        out = [self.cfg.image_token_start + int(c) for c in codes] + [self.end_index_id]
        return p + out, [IGNORE_INDEX] * len(p) + out


def collate(rows: List[Tuple[List[int], List[int]]]) -> Dict[str, torch.Tensor]:
    t = max(len(r[0]) for r in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    lab = torch.full((len(rows), t), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for i, (a, b) in enumerate(rows):
        ids[i, : len(a)] = torch.tensor(a)
        lab[i, : len(b)] = torch.tensor(b)
        mask[i, : len(a)] = 1
    return {"input_ids": ids, "labels": lab, "attention_mask": mask}


def normalise_answer(s: str) -> str:
    return " ".join("".join(c for c in s.lower() if c.isalnum() or c.isspace()).split())
