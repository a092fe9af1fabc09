"""The M3/L14 presets put every token at the released id; <image> is the -200 splice, never a vocabulary id;
the release's prompt ids (BOS once, image spliced between separately tokenized pieces); the release's
vocabulary resize."""
import re
import unittest

import torch

from model.healthgpt.config import END_INDEX, PIXEL_NEWLINE, RELEASE_IMAGE_TOKEN_INDEX, START_INDEX
from model.healthgpt.release import (BASE_TOKENIZERS, PHI4_TEMPLATE, healthgpt_l14, healthgpt_m3,
                                     release_prompt_ids, resize_like_release)
from model.healthgpt.tokenizer import Tokenizer, build_tokenizer


class PresetIds(unittest.TestCase):
    def test_m3_ids_as_released(self):
        cfg = healthgpt_m3()
        sid = cfg.special_ids
        self.assertEqual((sid["<|endoftext|>"], sid["<|assistant|>"], sid["<|system|>"], sid["<|end|>"],
                          sid["<|user|>"]), (32000, 32001, 32006, 32007, 32010))
        self.assertEqual((sid[START_INDEX], cfg.image_token_start, sid[END_INDEX], sid[PIXEL_NEWLINE]),
                         (32011, 32012, 40204, 40205))
        self.assertEqual(cfg.vocab_size, 40206)
        # fusion_layer_weights.bin is 494 MB: embed + head at 40206 x 3072 in bf16
        self.assertEqual(round(2 * cfg.vocab_size * cfg.hidden_size * 2 / 1e6), 494)
        self.assertEqual(cfg.eos_ids, [32000, 32001, 32007])
        self.assertEqual(cfg.bos_token_id, 1)
        self.assertEqual([(p.name, p.rank, p.alpha, p.experts, p.vision_layer, p.fusion) for p in cfg.plugins],
                         [("com", 64, 128, 4, -2, False), ("gen", 256, 512, 4, 1, True)])
        self.assertEqual([p.scaling for p in cfg.plugins], [8.0, 8.0])
        self.assertEqual([cfg.vision_layer_index(p) for p in ("com", "gen")], [23, 1])

    def test_l14_ids_as_released(self):
        cfg = healthgpt_l14()
        sid = cfg.special_ids
        self.assertEqual((sid["<|im_start|>"], sid["<|im_end|>"], sid["<|im_sep|>"]), (100264, 100265, 100266))
        self.assertEqual((sid[START_INDEX], cfg.image_token_start, sid[END_INDEX], sid[PIXEL_NEWLINE]),
                         (100352, 100353, 108545, 108546))
        self.assertEqual(cfg.vocab_size, 108547)
        self.assertEqual((cfg.family, cfg.num_kv_heads, cfg.head_dim, cfg.rope_theta), ("phi4", 10, 128, 250000.0))
        self.assertIsNone(cfg.bos_token_id)
        self.assertEqual([(p.name, p.rank, p.alpha, p.experts) for p in cfg.plugins], [("com", 32, 64, 4)])
        self.assertEqual(cfg.prompt_template, PHI4_TEMPLATE)

    def test_image_grid_and_vqgan(self):
        for cfg in (healthgpt_m3(), healthgpt_l14()):
            vq = cfg.vq
            self.assertEqual((vq.kind, vq.image_size, vq.grid, vq.grid ** 2, vq.codebook_size, vq.embed_dim),
                             ("taming-gumbel", 256, 32, 1024, 8192, 256))
            self.assertEqual((vq.ch, vq.ch_mult, vq.num_res_blocks, vq.attn_resolutions), (128, [1, 1, 2, 4], 2, [32]))
            self.assertEqual((cfg.image_size, cfg.patch_size, cfg.num_patches), (336, 14, 576))

    def test_image_never_collides_with_a_template_token(self):
        for cfg, family in ((healthgpt_m3(), "phi3"), (healthgpt_l14(), "phi4")):
            facts = BASE_TOKENIZERS[family]
            self.assertEqual(cfg.image_placeholder_id, RELEASE_IMAGE_TOKEN_INDEX)
            self.assertNotIn("<image>", cfg.special_ids)
            used = set(re.findall(r"<\|[a-z_]+\|>", cfg.prompt_template))
            self.assertEqual(used, set(facts.template_tokens))
            ids = [cfg.special_ids[t] for t in used]
            self.assertNotIn(cfg.image_placeholder_id, ids)
            self.assertTrue(all(0 <= i < facts.tokenizer_length for i in ids))
            # every special id distinct, the new tokens above the base tokenizer
            self.assertEqual(len(set(cfg.special_ids.values())), len(cfg.special_ids))
            self.assertGreaterEqual(cfg.start_index_id, facts.tokenizer_length)

    def test_phi3_mini_is_the_m3_preset(self):
        from model.healthgpt.config import HealthGPTConfig
        self.assertEqual(HealthGPTConfig.phi3_mini(num_layers=2).to_dict(), healthgpt_m3(num_layers=2).to_dict())


class ReleasePromptIds(unittest.TestCase):
    def setUp(self):
        self.tok = Tokenizer(build_tokenizer(text_vocab_size=300, num_image_tokens=4))
        self.bos = 7  # any id: the test's tokenizer adds it to every call, as Phi-3's does

    def encode_with_bos(self, text):
        return [self.bos] + self.tok.encode(text)

    def test_bos_once_image_spliced(self):
        prompt = "<|user|>\n<image>\nWhat organ?<|end|>\n<|assistant|>\n"
        head, tail = prompt.split("<image>")
        want = [self.bos] + self.tok.encode(head) + [-200] + self.tok.encode(tail)
        self.assertEqual(release_prompt_ids(prompt, self.encode_with_bos, self.bos), want)

    def test_no_bos_tokenizer(self):
        prompt = "<|user|>\n<image>\nWhat organ?<|end|>"
        head, tail = prompt.split("<image>")
        self.assertEqual(release_prompt_ids(prompt, self.tok.encode, None),
                         self.tok.encode(head) + [-200] + self.tok.encode(tail))

    def test_without_image(self):
        self.assertEqual(release_prompt_ids("hello", self.encode_with_bos, self.bos),
                         [self.bos] + self.tok.encode("hello"))


class ResizeLikeRelease(unittest.TestCase):
    def test_rows_past_the_tokenizer_become_the_mean(self):
        w = torch.arange(24, dtype=torch.float32).view(6, 4)  # 6 rows in the base, tokenizer of 4
        out = resize_like_release(w, 4, 9)
        self.assertEqual(tuple(out.shape), (9, 4))
        self.assertTrue(torch.equal(out[:4], w[:4]))
        self.assertTrue(torch.equal(out[4:], w[:4].mean(0).expand(5, 4)))

    def test_too_few_rows(self):
        with self.assertRaisesRegex(ValueError, "fewer than the tokenizer"):
            resize_like_release(torch.zeros(3, 2), 4, 9)


if __name__ == "__main__":
    unittest.main()
