"""store_weights_fp16: weights fp16 holds exactly are stored as fp16 and cast back; others stay float32."""
import os
import tempfile
import unittest
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper

from model.healthgpt.onnx_fp16 import store_weights_fp16


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(64, 64)
        with torch.no_grad():
            self.lin.weight.copy_(self.lin.weight.half().float())  # fp16-exact, as the exporter leaves weights
            self.lin.bias.copy_(self.lin.bias.half().float())
        # 1/10000^(k/32): not fp16-exact, must stay float32 (RoPE frequencies)
        self.register_buffer("freq", 1.0 / (10000 ** (torch.arange(0, 32, dtype=torch.float32) / 32)))

    def forward(self, x):
        return self.lin(x)[..., :32] * self.freq


class StoreFp16(unittest.TestCase):
    def test_exact_weights_become_fp16_with_casts_the_rest_stays(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(_Net(), (torch.randn(1, 64),), path, input_names=["x"], output_names=["y"],
                                  opset_version=17)
            before = os.path.getsize(path)
            before_values = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
            self.assertEqual(store_weights_fp16(path), 2)
            self.assertLess(os.path.getsize(path), 0.6 * before)
            m = onnx.load(path)
            onnx.checker.check_model(m)
            inits = {t.name: t for t in m.graph.initializer}
            casts = [n for n in m.graph.node if n.op_type == "Cast"]
            self.assertEqual(m.graph.node[: len(casts)], casts)  # casts first
            for n in casts:
                half = inits[n.input[0]]
                self.assertEqual(half.data_type, TensorProto.FLOAT16)
                self.assertTrue(np.array_equal(numpy_helper.to_array(half).astype(np.float32),
                                               before_values[n.output[0]]))
            fp32 = [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT]
            self.assertEqual(len(fp32), 1)
            self.assertTrue(np.array_equal(numpy_helper.to_array(fp32[0]), before_values[fp32[0].name]))


if __name__ == "__main__":
    unittest.main()
