"""Block quantisation for MatMulNBits (onnx_quant.py) and the GGUF writer's Q4_0 (gguf_write.py)."""
import os
import struct
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from model.healthgpt.gguf_write import dequantize_q4_0, quantize_q4_0, write_gguf
from model.healthgpt.onnx_quant import dequantize_blocks, quantize_blocks, quantize_matmuls


class BlockQuantTest(unittest.TestCase):
    def setUp(self):
        self.w = (np.random.default_rng(0).standard_normal((256, 96)) * 0.05).astype(np.float32)

    def test_error_is_at_most_half_a_step_per_block(self):
        for bits in (4, 8):
            bq, scales = quantize_blocks(self.w, bits, 32)
            self.assertEqual(bq.shape, (96, 8, 32 * bits // 8))
            back = dequantize_blocks(bq, scales, bits, 32, 256)
            step = np.repeat(scales.reshape(96, 8), 32, axis=1).T  # [K, N]
            self.assertTrue(np.all(np.abs(back - self.w) <= step / 2 + 1e-7), bits)

    def test_4bit_packs_low_nibble_first(self):
        w = np.zeros((32, 1), np.float32)
        w[0, 0], w[1, 0] = 7.0, -7.0  # scale 1: q = 15 and 1
        bq, scales = quantize_blocks(w, 4, 32)
        self.assertEqual(scales[0], 1.0)
        self.assertEqual(bq[0, 0, 0], 15 | (1 << 4))

    def test_rejects_bad_block_size(self):
        with self.assertRaises(ValueError):
            quantize_blocks(self.w, 4, 24)

    def test_graph_rewrite_only_touches_wide_matmuls(self):
        wide = numpy_helper.from_array(self.w, "W")
        narrow = numpy_helper.from_array(self.w[:, :8].copy(), "A")  # an H-LoRA-like [in, rank]
        g = helper.make_graph(
            [helper.make_node("MatMul", ["x", "W"], ["y"]), helper.make_node("MatMul", ["x", "A"], ["z"])], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 96]), helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 8])],
            [wide, narrow])
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.onnx")
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), p)
            self.assertEqual(quantize_matmuls(p, 4, 32, min_dim=64), 1)
            m = onnx.load(p)
            ops = [(n.op_type, n.domain) for n in m.graph.node]
            self.assertEqual(ops, [("MatMulNBits", "com.microsoft"), ("MatMul", "")])
            attrs = {a.name: helper.get_attribute_value(a) for a in m.graph.node[0].attribute}
            self.assertEqual((attrs["K"], attrs["N"], attrs["bits"], attrs["block_size"]), (256, 96, 4, 32))
            self.assertNotIn("W", {t.name for t in m.graph.initializer})


class GgufTest(unittest.TestCase):
    def test_q4_0_round_trip_within_a_step(self):
        # Q4_0 maps the block's signed extreme to -8, so values of the other sign clamp at +7: up to one step off
        w = (np.random.default_rng(1).standard_normal((4, 64)) * 0.1).astype(np.float32)
        data = quantize_q4_0(w)
        self.assertEqual(len(data), 4 * 2 * 18)
        back = dequantize_q4_0(data, 4, 64)
        d = np.abs(w.reshape(4, 2, 32)).max(axis=2) / 8
        err = np.abs(back - w).reshape(4, 2, 32)
        self.assertTrue(np.all(err <= d[..., None] + 1e-3))
        self.assertLess(float(np.median(err / d[..., None])), 0.5)

    def test_header_and_tensor_table(self):
        cfg = {"hidden_size": 64, "num_heads": 4, "num_kv_heads": 4, "intermediate_size": 128, "num_layers": 1,
               "max_position": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0}
        tensors = [("token_embd.weight", np.zeros((300, 64), np.float32)), ("output_norm.weight", np.ones(64, np.float32))]
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.gguf")
            write_gguf(p, cfg, tensors, "f16")
            with open(p, "rb") as f:
                b = f.read()
        self.assertEqual(b[:4], b"GGUF")
        version, n_tensors, n_kv = struct.unpack("<IQQ", b[4:24])
        self.assertEqual((version, n_tensors), (3, 2))
        self.assertGreater(n_kv, 10)
        self.assertEqual(len(b) % 32, 0)


if __name__ == "__main__":
    unittest.main()
