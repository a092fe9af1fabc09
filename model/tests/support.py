"""Shared checks of the model tests."""
import contextlib
import io
import unittest
from typing import Callable

import torch

from model.healthgpt import HealthGPT
from model.healthgpt.export import randomize
from model.healthgpt.tokenizer import Tokenizer
from model.train.data import Encoder, Split, clip_pixels
from model.train import train as T


def check_changes_comprehension_only(case: unittest.TestCase, split: Split, tok_json: dict,
                                     refine: Callable[[HealthGPT, Encoder], object]) -> None:
    """refine(model, enc) on a random tiny nano model must change the comprehension vision block, projector or
    plugin only (and the vision block for sure), leave the generation plugin's output bit-for-bit as it was and
    change the comprehension plugin's."""
    cfg = T.make_config(tok_json)
    torch.manual_seed(0)
    model = HealthGPT(cfg)
    randomize(model, T.VQAutoencoder(cfg.vq), seed=0)
    enc = Encoder(cfg, Tokenizer(tok_json))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    px = clip_pixels(split.mri[:1] / 255.0)
    prompt = torch.tensor([enc.gen_prompt("sr")])
    with torch.no_grad():
        gen_before = model(prompt, px, "gen")["logits"]
        com_before = model(prompt, px, "com")["logits"]
    with contextlib.redirect_stdout(io.StringIO()):  # the training log; test output stays clean
        refine(model, enc)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    case.assertTrue(any(".encoder.layers.1." in n for n in changed))
    for n in changed:
        case.assertTrue(".encoder.layers.1." in n or ".mm_projector.com." in n or n.endswith(".com.weight"), n)
    with torch.no_grad():
        case.assertTrue(torch.equal(model(prompt, px, "gen")["logits"], gen_before))
        case.assertFalse(torch.equal(model(prompt, px, "com")["logits"], com_before))
