"""The exporter's reading, mapping and strict checking of the released file layouts (tiny synthetic release
with the exact released key names), and the dry run at the real M3/L14 shapes."""
import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

import torch

from model.healthgpt.checkpoint_io import CheckpointError, load_hf_folder, load_safetensors, save_safetensors
from model.healthgpt.modeling import HealthGPT
from model.healthgpt.release import healthgpt_l14, healthgpt_m3
from model.healthgpt.release_export import config_for, dry_run, main, pack_table
from model.healthgpt.release_load import check_base_tokenizer, load_release_model, read_sources
from model.healthgpt.release_map import ReleaseMappingError, lm_fields_from_hf_config, release_shapes, to_dtype
from model.tests.release_fixture import hf_config, tiny_config, write_release


class SyntheticRelease(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="hgpt-release-")
        cls.rel = write_release(cls.root)
        cls.tensors = read_sources(cls.rel["paths"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root)

    def load(self, tensors=None, precision="fp32"):
        return load_release_model(self.rel["cfg"], tensors or self.tensors, self.rel["paths"], precision)

    def copy_tensors(self):
        return {s: dict(sd) for s, sd in self.tensors.items()}

    def test_loads_every_weight_where_the_release_puts_it(self):
        model, vqgan = self.load()
        want = self.rel["expected"].state_dict()
        got = model.state_dict()
        self.assertEqual(set(got), set(want))
        for k in want:
            self.assertTrue(torch.equal(got[k], want[k]), k)
        self.assertEqual(set(vqgan), set(self.rel["vqgan"]))  # loss.* dropped
        for k, v in self.rel["vqgan"].items():
            self.assertTrue(torch.equal(vqgan[k], v), k)

    def test_consume_empties_the_sources_it_copied(self):
        t = self.copy_tensors()
        self.load(t)
        self.assertEqual(sum(len(sd) for sd in t.values()), sum(len(sd) for sd in self.tensors.values()))
        load_release_model(self.rel["cfg"], t, self.rel["paths"], "fp32", consume=True)
        left = {s: sorted(sd) for s, sd in t.items() if s != "vqgan" and sd}
        self.assertEqual(set(left), {"vision"})  # only the CLIP text tower and buffers the model does not use
        self.assertTrue(all(not k.startswith("vision_model.") or k.endswith("position_ids") for k in left["vision"]))

    def test_manifest_limits_m3_to_its_sliding_window(self):
        from model.healthgpt.export import build_manifest
        self.assertEqual(build_manifest(healthgpt_m3())["architecture"]["maxPosition"], 2048)
        self.assertEqual(build_manifest(healthgpt_l14())["architecture"]["maxPosition"], 16384)

    def test_loaded_model_answers_like_the_reference(self):
        model, _ = self.load()
        cfg = self.rel["cfg"]
        torch.manual_seed(1)
        pix = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        prompt = [1, 32006, 5, 6, 32007, 32010, cfg.image_placeholder_id, 9, 32007, 32001]
        for plugin in ("com", "gen"):
            a, la = model.greedy_ask(prompt, pix, plugin, max_new_tokens=6)
            b, lb = self.rel["expected"].greedy_ask(prompt, pix, plugin, max_new_tokens=6)
            self.assertEqual(a, b)
            self.assertTrue(torch.equal(torch.stack(la), torch.stack(lb)))

    def test_fp16_export_keeps_bf16_values_close(self):
        model, vqgan = self.load(precision="fp16")
        want = self.rel["expected"].state_dict()
        for k, v in model.state_dict().items():
            self.assertLessEqual(float((v - want[k]).abs().max()), 2e-3 * max(1.0, float(want[k].abs().max())), k)
        self.assertEqual({v.dtype for v in vqgan.values()}, {torch.float16})

    def test_vocabulary_resized_as_released(self):
        model, _ = self.load()
        cfg = self.rel["cfg"]
        emb = model.lm.embed_tokens.weight
        self.assertEqual(emb.shape[0], 40206)
        base = self.tensors["base"]["model.embed_tokens.weight"]
        self.assertTrue(torch.equal(emb[:32011], base[:32011].float()))
        mean = base[:32011].float().mean(0).to(torch.bfloat16).float()
        self.assertTrue(torch.equal(emb[cfg.start_index_id], mean))
        self.assertTrue(torch.equal(emb[-1], mean))

    def test_missing_key_named(self):
        t = self.copy_tensors()
        gone = "base_model.model.model.layers.1.mlp.down_proj.lora_route.weight"
        del t["com"][gone]
        with self.assertRaises(ReleaseMappingError) as e:
            self.load(t)
        self.assertIn("com (", str(e.exception))
        self.assertIn("com_hlora_weights.bin", str(e.exception))
        self.assertIn(f"missing 1 keys: {gone}", str(e.exception))

    def test_misshapen_key_named(self):
        t = self.copy_tensors()
        k = "base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight"
        t["gen"][k] = torch.zeros(64, 32)  # the com rank in the gen file
        with self.assertRaisesRegex(ReleaseMappingError, r"misshapen 1 keys: .*qkv_proj\.lora_A\.weight \[64, 32\] "
                                                         r"\(expected \[256, 32\]\)"):
            self.load(t)

    def test_leftover_key_named_and_all_problems_at_once(self):
        t = self.copy_tensors()
        t["fusion"]["base_model.model.model.norm.weight"] = torch.zeros(32)
        del t["vision"]["vision_model.post_layernorm.bias"]
        with self.assertRaises(ReleaseMappingError) as e:
            self.load(t)
        msg = str(e.exception)
        self.assertIn("fusion (", msg)
        self.assertIn("1 left-over keys the release does not have: base_model.model.model.norm.weight", msg)
        self.assertIn("missing 1 keys: vision_model.post_layernorm.bias", msg)

    def test_file_not_given(self):
        t = self.copy_tensors()
        del t["vqgan"]
        with self.assertRaisesRegex(ReleaseMappingError, r"vqgan \(.*last.ckpt\): the file is required"):
            self.load(t)

    def test_fp16_overflow_named(self):
        t = self.copy_tensors()
        k = "base_model.model.model.layers.0.mlp.gate_up_proj.lora_B.weight"
        v = t["gen"][k].clone()
        v[0, 0] = 1e5
        t["gen"][k] = v
        with self.assertRaisesRegex(ReleaseMappingError, r"gen_hlora_weights.bin: " + k.replace(".", r"\.")
                                    + r": 1 values exceed fp16's range"):
            self.load(t, precision="fp16")
        self.load(t, precision="fp32")  # fp32 holds it

    def test_truncated_shard_named(self):
        folder = os.path.join(self.root, "cut")
        shutil.copytree(self.rel["paths"]["base"], folder)
        shard = os.path.join(folder, "model-00002-of-00002.safetensors")
        with open(shard, "r+b") as f:
            f.truncate(os.path.getsize(shard) - 100)
        with self.assertRaisesRegex(CheckpointError, r"model-00002-of-00002.safetensors is truncated .* tensors end "
                                                     r"past it: .*model\."):
            load_hf_folder(folder)
        os.remove(shard)
        with self.assertRaisesRegex(CheckpointError, "names shards the folder lacks: model-00002-of-00002"):
            load_hf_folder(folder)

    def test_shard_not_matching_index(self):
        folder = os.path.join(self.root, "badindex")
        shutil.copytree(self.rel["paths"]["base"], folder)
        idx = os.path.join(folder, "model.safetensors.index.json")
        with open(idx) as f:
            index = json.load(f)
        index["weight_map"]["model.extra.weight"] = "model-00001-of-00002.safetensors"
        with open(idx, "w") as f:
            json.dump(index, f)
        with self.assertRaisesRegex(CheckpointError, "model-00001-of-00002.safetensors does not match .*missing "
                                                     "model.extra.weight"):
            load_hf_folder(folder)

    def test_truncated_pickle_named(self):
        path = os.path.join(self.root, "cut_com.bin")
        with open(self.rel["paths"]["com"], "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        with self.assertRaisesRegex(CheckpointError, "cut_com.bin: cannot read the torch file"):
            read_sources({"com": path})

    def test_base_tokenizer_checked(self):
        cfg = self.rel["cfg"]
        self.assertEqual(check_base_tokenizer(self.rel["paths"]["base"], cfg), [])
        folder = os.path.join(self.root, "badtok")
        shutil.copytree(self.rel["paths"]["base"], folder)
        tj_path = os.path.join(folder, "tokenizer.json")
        with open(tj_path) as f:
            tj = json.load(f)
        for t in tj["added_tokens"]:
            if t["content"] == "<|end|>":
                t["id"] = 32008
        with open(tj_path, "w") as f:
            json.dump(tj, f)
        with open(os.path.join(folder, "generation_config.json"), "w") as f:
            json.dump({"eos_token_id": 32000}, f)
        problems = check_base_tokenizer(folder, cfg)
        self.assertTrue(any("<|end|> has id 32008, the release's base 32007" in p for p in problems), problems)
        self.assertTrue(any("eos_token_id [32000]" in p for p in problems), problems)

    def test_hf_config_read_and_checked(self):
        cfg = self.rel["cfg"]
        path = os.path.join(self.rel["paths"]["base"], "config.json")
        again = config_for("m3", path, image_size=28, patch_size=7, vision_hidden_size=16, vision_layers=3,
                           vision_heads=2, vision_intermediate_size=32, vq=cfg.vq, plugins=cfg.plugins)
        self.assertEqual(again.to_dict(), cfg.to_dict())
        for change, msg in (({"rope_scaling": {"type": "longrope", "short_factor": [1.0]}}, "unknown rope scaling"),
                            ({"partial_rotary_factor": 0.75}, "partial_rotary_factor 0.75"),
                            ({"model_type": "llama"}, "model_type 'llama'"),
                            ({"tie_word_embeddings": True}, "tie_word_embeddings")):
            with self.assertRaisesRegex(ReleaseMappingError, msg):
                lm_fields_from_hf_config(hf_config(cfg, **change), "config.json")


class SyntheticL14(unittest.TestCase):
    """Phi-4 base, comprehension only: no gen, fusion or VQGAN file; GQA 4/2 heads; no BOS."""

    def test_loads_and_exports_without_generation(self):
        with tempfile.TemporaryDirectory() as root:
            rel = write_release(os.path.join(root, "release"), seed=3, preset="l14")
            cfg, paths = rel["cfg"], rel["paths"]
            self.assertEqual(sorted(paths), ["base", "com", "vision"])
            self.assertEqual(check_base_tokenizer(paths["base"], cfg), [])
            model, vq = load_release_model(cfg, read_sources(paths), paths, "fp32")
            self.assertIsNone(vq)
            want = rel["expected"].state_dict()
            for k, v in model.state_dict().items():
                if not k.startswith("fusion."):  # no fusion pair in L14; the pack has none
                    self.assertTrue(torch.equal(v, want[k]), k)
            out = os.path.join(root, "pack")
            with contextlib.redirect_stdout(io.StringIO()):
                self.assertEqual(main(["--preset", "l14", "--out", out, "--base", paths["base"], "--vision",
                                       paths["vision"], "--com", paths["com"], "--version", "2.1.0"]), 0)
            with open(os.path.join(out, "manifest.json")) as f:
                m = json.load(f)
            self.assertEqual((m["name"], m["version"]), ("healthgpt-l14", "2.1.0"))
            a = m["architecture"]
            self.assertEqual((a["family"], a["vocabSize"], a["tokenization"]), ("phi4", 108547, {"image": "split",
                                                                                               "bos": None}))
            self.assertEqual(a["specialTokens"]["eos"], [100265])
            self.assertEqual(sorted(m["tasks"]), ["report", "vqa"])
            self.assertIn("<|im_start|>user<|im_sep|>\n<image>\n{question}<|im_end|>", m["tasks"]["vqa"]["promptTemplate"])
            self.assertNotIn("vqDecoder", m["graphs"])
            self.assertFalse(os.path.exists(os.path.join(out, "vq_decoder.onnx")))


class FormatsAndShapes(unittest.TestCase):
    def test_safetensors_round_trip_every_dtype(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            ts = {"a": torch.randn(3, 4).to(torch.bfloat16), "b": torch.randn(5).half(), "c": torch.randn(2, 2),
                  "d": torch.arange(6).view(2, 3), "e": torch.zeros(0, 4)}
            save_safetensors(p, ts)
            back = load_safetensors(p)
            for k, v in ts.items():
                self.assertEqual(back[k].dtype, v.dtype, k)
                self.assertTrue(torch.equal(back[k], v), k)

    def test_safetensors_header_problems_named(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            save_safetensors(p, {"w": torch.zeros(2, 2)})
            with open(p, "rb") as f:
                raw = f.read()
            for old, new, msg in ((b'"F32"', b'"F8X"', r"tensor w has dtype 'F8X'"),
                                  (b'[2,2]', b'[2,3]', r"tensor w has 16 bytes for shape \[2, 3\] F32 \(24 expected\)")):
                bad = os.path.join(d, "bad.safetensors")
                with open(bad, "wb") as f:
                    f.write(raw.replace(old, new))
                with self.assertRaisesRegex(CheckpointError, msg):
                    load_safetensors(bad)
            with open(p, "wb") as f:
                f.write(raw[:5])
            with self.assertRaisesRegex(CheckpointError, "shorter than its 8-byte header length"):
                load_safetensors(p)

    def test_vision_and_vqgan_configs_checked(self):
        from model.healthgpt.release_pack import vision_fields_from_clip_config, vq_from_taming_yaml
        from model.tests.release_fixture import TINY_VQ, taming_yaml
        with self.assertRaisesRegex(ReleaseMappingError, "config.json: vision hidden_act 'gelu'"):
            vision_fields_from_clip_config({"vision_config": {"hidden_act": "gelu"}}, "config.json")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "model.yaml")
            for text, msg in ((taming_yaml(TINY_VQ).replace("double_z: false", "double_z: true"), "double_z is set"),
                              (taming_yaml(TINY_VQ).replace("n_embed: 8192", "n_embed: 16384"), "n_embed 16384")):
                with open(p, "w") as f:
                    f.write(text)
                with self.assertRaisesRegex(ReleaseMappingError, "model.yaml: " + msg):
                    vq_from_taming_yaml(p)
            with open(p, "w") as f:
                f.write(taming_yaml(TINY_VQ))
            self.assertEqual(vq_from_taming_yaml(p), TINY_VQ)

    def test_to_dtype_refuses_non_finite(self):
        with self.assertRaisesRegex(ReleaseMappingError, "x: has non-finite values"):
            to_dtype("x", torch.tensor([1.0, float("inf")], dtype=torch.bfloat16), torch.float16)

    def test_release_shapes_are_our_models_shapes(self):
        cfg = tiny_config()
        model = HealthGPT(cfg)
        parts = model.release_state_dicts()
        shapes = release_shapes(cfg)
        for part in ("com", "gen", "fusion"):
            self.assertEqual({k: tuple(v.shape) for k, v in parts[part].items()}, shapes[part], part)
        vis = "base_model.model.model.vision_tower.vision_tower."
        ours = {k: tuple(v.shape) for k, v in parts["base"].items()}
        self.assertEqual({k[len(vis):]: s for k, s in ours.items() if k.startswith(vis)}, shapes["vision"])
        base = {k[len("base_model.model."):]: s for k, s in ours.items() if not k.startswith(vis)}
        for k in ("model.embed_tokens.weight", "lm_head.weight"):  # the base before the release's resize
            base[k] = (cfg.base_vocab_size, cfg.hidden_size)
        self.assertEqual(base, shapes["base"])

    def test_real_shapes_give_the_released_file_sizes(self):
        shapes = release_shapes(healthgpt_m3())

        def mb(part):
            return round(sum(torch.Size(s).numel() for s in shapes[part].values()) * 2 / 1e6)
        # released bf16 files: com_hlora_weights.bin 231 MB, gen 835 MB, fusion_layer_weights.bin 494 MB
        self.assertEqual((mb("com"), mb("gen"), mb("fusion")), (231, 835, 494))

    def test_dry_run_at_real_shapes(self):
        m3 = config_for("m3", None)
        text = dry_run(m3, detail=True)
        self.assertIn("base_model.model.model.layers.31.mlp.down_proj.lora_B.weight", text)
        self.assertIn("decoder.up.3.attn.2.proj_out.weight", text)
        graphs = {g for g, _, _ in pack_table(m3)}
        self.assertEqual(graphs, {"vision.onnx", "projector_com.onnx", "projector_gen.onnx", "embed_text.onnx",
                                  "head_text.onnx", "embed_fusion.onnx", "head_fusion.onnx", "lm.onnx",
                                  "vq_decoder.onnx"})
        l14 = healthgpt_l14()
        graphs = {g for g, _, _ in pack_table(l14)}
        self.assertEqual(graphs, {"vision.onnx", "projector_com.onnx", "embed_text.onnx", "head_text.onnx",
                                  "lm.onnx"})
        self.assertIn("vocab 108547", dry_run(l14, detail=False))

    def test_cli_dry_run_and_refusal(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "config.json")
            real = hf_config(healthgpt_m3())
            with open(path, "w") as f:
                json.dump(real, f)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(main(["--preset", "m3", "--dry-run", "--summary", "--config", path]), 0)
            self.assertRegex(out.getvalue(), r"lm\.onnx +4,132,260,864 +16529\.0 +8264\.5")
            with open(path, "w") as f:
                json.dump({**real, "rope_scaling": {"type": "longrope"}}, f)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(main(["--preset", "m3", "--dry-run", "--config", path]), 2)
            self.assertIn("unknown rope scaling", err.getvalue())


if __name__ == "__main__":
    unittest.main()
