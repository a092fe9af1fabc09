"""H-LoRA unit tests: soft-router weights, hard plugin switch, base weights untouched."""
import unittest

import torch

from model.healthgpt import HealthGPT, HealthGPTConfig, HLoRALinear, PluginConfig, VQAutoencoder
from model.healthgpt.export import _StackedHLoRA, randomize


def _linear(seed=0):
    torch.manual_seed(seed)
    plugins = [PluginConfig("com", 8, 16, 4), PluginConfig("gen", 16, 32, 4)]
    lin = HLoRALinear(24, 20, plugins)
    with torch.no_grad():
        for b in lin.lora_B.values():
            b.weight.normal_(0, 0.1)
    return lin


class HLoRATest(unittest.TestCase):
    def test_router_weights_sum_to_one_per_token(self):
        lin = _linear()
        x = torch.randn(3, 11, 24)
        for plugin in ("com", "gen"):
            w = lin.router_weights(x, plugin)
            self.assertEqual(tuple(w.shape), (3, 11, 4))
            self.assertTrue(torch.allclose(w.sum(-1), torch.ones(3, 11), atol=1e-6))
            self.assertTrue(bool((w > 0).all()))
            # the soft router depends on the token: different tokens get different mixes
            self.assertGreater(float((w[0, 0] - w[0, 1]).abs().max()), 1e-4)

    def test_forward_matches_the_formula(self):
        lin = _linear(1)
        x = torch.randn(2, 5, 24)
        cfg = lin.plugin_cfg["gen"]
        route = torch.softmax(x @ lin.lora_route["gen"].weight.t(), -1)
        a = (x @ lin.lora_A["gen"].weight.t()) * (cfg.alpha / cfg.rank * cfg.experts)
        expect = x @ lin.weight.t() + (route.repeat_interleave(cfg.rank // cfg.experts, -1) * a) @ lin.lora_B["gen"].weight.t()
        self.assertTrue(torch.allclose(lin(x, "gen"), expect, atol=1e-5))

    def test_plugin_switch_changes_outputs(self):
        lin = _linear(2)
        x = torch.randn(4, 24)
        base, com, gen = lin(x, None), lin(x, "com"), lin(x, "gen")
        self.assertGreater(float((com - gen).abs().max()), 1e-3)
        self.assertGreater(float((com - base).abs().max()), 1e-3)
        self.assertGreater(float((gen - base).abs().max()), 1e-3)

    def test_base_untouched_by_switching_and_training(self):
        lin = _linear(3)
        w0 = lin.weight.detach().clone()
        self.assertFalse(lin.weight.requires_grad)
        opt = torch.optim.SGD([p for p in lin.parameters() if p.requires_grad], lr=0.5)
        for plugin in ("com", "gen", "com"):
            loss = lin(torch.randn(6, 24), plugin).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.assertTrue(torch.equal(lin.weight, w0))

    def test_model_plugins_share_one_base(self):
        torch.manual_seed(0)
        cfg = HealthGPTConfig()
        model = HealthGPT(cfg)
        randomize(model, VQAutoencoder(cfg.vq), seed=0)
        ptrs = {}
        for name, m in model.hlora_layers():
            ptrs[name] = m.weight.data_ptr()
        self.assertEqual(len(set(ptrs.values())), len(ptrs))  # one base tensor per layer, not per plugin
        rel = model.release_state_dicts()
        self.assertIn("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight", rel["com"])
        self.assertIn("base_model.model.model.mm_projector.0.weight", rel["gen"])
        self.assertIn("base_model.model.model.layers.0.self_attn.qkv_proj.weight", rel["base"])
        self.assertIn("base_model.model.lm_head.weight", rel["fusion"])
        ids = torch.tensor([[1, 2, cfg.image_placeholder_id, 3, 4]])
        px = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        with torch.no_grad():
            a = model(ids, px, "com")["logits"]
            b = model(ids, px, "gen")["logits"]
        self.assertEqual(a.shape, b.shape)
        self.assertGreater(float((a - b).abs().max()), 1e-3)

    def test_release_state_dict_round_trip(self):
        torch.manual_seed(0)
        cfg = HealthGPTConfig()
        m1 = HealthGPT(cfg)
        randomize(m1, VQAutoencoder(cfg.vq), seed=1)
        m2 = HealthGPT(cfg)
        for part, sd in m1.release_state_dicts().items():
            m2.load_release_state_dict(part, sd)
        for k, v in m1.state_dict().items():
            self.assertTrue(torch.equal(v, m2.state_dict()[k]), k)

    def test_stacked_export_layer_equals_per_plugin_layer(self):
        lin = _linear(4)
        cfg = HealthGPTConfig(plugins=[PluginConfig("com", 8, 16, 4), PluginConfig("gen", 16, 32, 4)])
        st = _StackedHLoRA(lin, cfg)
        x = torch.randn(1, 7, 24)
        for i, plugin in enumerate(("com", "gen")):
            got = st(x, torch.tensor([i]))
            self.assertTrue(torch.allclose(got, lin(x, plugin), atol=1e-5), plugin)


if __name__ == "__main__":
    unittest.main()
