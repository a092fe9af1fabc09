"""The released Gumbel VQGAN in our code: taming's names and shapes, its blocks' arithmetic, the decode and
encode paths, and the reconstruction tool on a checkpoint in taming's layout."""
import contextlib
import dataclasses
import io
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import torch
from PIL import Image

from model.healthgpt.release import GUMBEL_F8
from model.healthgpt.release_map import ReleaseMappingError, taming_gumbel_shapes
from model.healthgpt.release_pack import release_config
from model.healthgpt.vqgan import AttnBlock, GumbelVQGAN
from model.healthgpt.vqgan_recon import load_vqgan, main as recon_main, reconstruct
from model.tests.release_fixture import TINY_VQ, tiny_config, write_release

F8_NARROW = dataclasses.replace(GUMBEL_F8, ch=32, image_size=64, attn_resolutions=[8], z_channels=32, embed_dim=32)


class Layout(unittest.TestCase):
    def test_state_dict_names_and_shapes_are_taming_s(self):
        for cfg in (F8_NARROW, TINY_VQ):
            model = GumbelVQGAN(cfg)
            self.assertEqual({k: tuple(v.shape) for k, v in model.state_dict().items()}, taming_gumbel_shapes(cfg))
        names = set(GumbelVQGAN(F8_NARROW).state_dict())
        # f8: 4 levels, 2 blocks down / 3 up per level, attention only at the 32x32 (here 8x8) level
        self.assertIn("decoder.up.3.attn.2.q.weight", names)
        self.assertNotIn("decoder.up.2.attn.0.q.weight", names)
        self.assertIn("encoder.down.2.downsample.conv.weight", names)
        self.assertNotIn("encoder.down.3.downsample.conv.weight", names)
        # channels 4ch -> 2ch -> ch change in the first block of up.2 and up.1 only
        self.assertIn("decoder.up.1.block.0.nin_shortcut.weight", names)
        self.assertNotIn("decoder.up.0.block.0.nin_shortcut.weight", names)
        self.assertIn("quantize.embed.weight", names)


class Arithmetic(unittest.TestCase):
    def test_attention_block_is_single_head_attention_over_pixels(self):
        torch.manual_seed(0)
        blk = AttnBlock(32, 32).eval()
        x = torch.randn(1, 32, 3, 4)
        with torch.no_grad():
            h = blk.norm(x)
            flat = lambda conv: conv(h).flatten(2)[0].t()  # noqa: E731  [hw, c]
            q, k, v = flat(blk.q), flat(blk.k), flat(blk.v)
            att = torch.softmax(q @ k.t() / 32 ** 0.5, dim=-1)
            want = x + blk.proj_out((att @ v).t().reshape(1, 32, 3, 4))
            self.assertTrue(torch.allclose(blk(x), want, atol=1e-5))

    def test_decode_and_encode_paths(self):
        torch.manual_seed(0)
        m = GumbelVQGAN(TINY_VQ).eval()
        g = TINY_VQ.grid
        idx = torch.randint(0, TINY_VQ.codebook_size, (1, g * g))
        with torch.no_grad():
            zq = m.quantize.embed.weight[idx[0]].t().reshape(1, -1, g, g)
            want = (m.decoder(m.post_quant_conv(zq)).clamp(-1, 1) + 1) / 2
            self.assertTrue(torch.allclose(m.decode(idx), want, atol=1e-6))  # same values, other memory layout
            self.assertEqual(tuple(want.shape), (1, 3, TINY_VQ.image_size, TINY_VQ.image_size))
            x = torch.rand(1, 3, TINY_VQ.image_size, TINY_VQ.image_size) * 2 - 1
            logits = m.quantize.proj(m.quant_conv(m.encoder(x)))
            self.assertEqual(tuple(logits.shape), (1, TINY_VQ.codebook_size, g, g))
            self.assertTrue(torch.equal(m.encode(x), logits.argmax(1).flatten(1)))

    def test_f8_grid(self):
        self.assertEqual((GUMBEL_F8.grid, F8_NARROW.grid), (32, 8))
        with torch.no_grad():
            out = GumbelVQGAN(F8_NARROW).eval().decode(torch.zeros(1, 64, dtype=torch.long))
        self.assertEqual(tuple(out.shape), (1, 3, 64, 64))


class Reconstruction(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="hgpt-vqgan-")
        cls.rel = write_release(cls.root)
        cls.png = os.path.join(cls.root, "in.png")
        Image.fromarray((np.random.RandomState(0).rand(40, 50, 3) * 255).astype(np.uint8)).save(cls.png)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def test_release_config_reads_the_files_own_configs(self):
        p = self.rel["paths"]
        cfg = release_config("m3", p["base"], p["vision"], os.path.join(self.root, "model.yaml"))
        self.assertEqual(cfg.to_dict(), tiny_config().to_dict())

    def test_cli_reconstructs_with_the_checkpoint(self):
        ckpt = self.rel["paths"]["vqgan"]
        out, codes = os.path.join(self.root, "recon.png"), os.path.join(self.root, "codes.json")
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(recon_main(["--ckpt", ckpt, "--image", self.png, "--out", out, "--codes", codes]), 0)
        model = load_vqgan(ckpt, os.path.join(self.root, "model.yaml"))
        for k, v in self.rel["vqgan"].items():
            self.assertTrue(torch.equal(model.state_dict()[k], v), k)
        pixels, want_codes = reconstruct(model, self.png)
        self.assertTrue(np.array_equal(np.asarray(Image.open(out)), pixels))
        self.assertEqual(pixels.shape, (TINY_VQ.image_size, TINY_VQ.image_size, 3))
        with open(codes) as f:
            self.assertEqual(json.load(f), want_codes)
        self.assertEqual(len(want_codes), TINY_VQ.grid ** 2)

    def test_checkpoint_missing_a_key_is_named(self):
        sd = torch.load(self.rel["paths"]["vqgan"])["state_dict"]
        del sd["decoder.mid.attn_1.proj_out.bias"]
        bad = os.path.join(self.root, "bad.ckpt")
        torch.save({"state_dict": sd}, bad)
        with self.assertRaisesRegex(ReleaseMappingError, r"bad\.ckpt\): missing 1 keys: decoder\.mid\.attn_1\.proj_out\.bias"):
            load_vqgan(bad, os.path.join(self.root, "model.yaml"))


if __name__ == "__main__":
    unittest.main()
