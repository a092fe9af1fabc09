"""The SR baseline of the Python evaluation gets the same projection the model's output gets."""
import unittest

import numpy as np

from model.eval.evaluate import consistent_with_input, sr_baselines, _table


def block_dev(img, low):
    f = img.shape[0] // low.shape[0]
    return np.abs(img.reshape(low.shape[0], f, low.shape[1], f).mean(axis=(1, 3)) * 255 - low).mean()


class EqualBaselineTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:128, 0:128] / 128.0
        self.hr = 0.2 + 0.6 * (0.5 + 0.5 * np.sin(6 * xx) * np.cos(5 * yy)) + 0.02 * rng.standard_normal((128, 128))
        self.low = np.round(self.hr.reshape(32, 4, 32, 4).mean(axis=(1, 3)) * 255)
        # a bicubic-like upsampling: nearest then blurred, so its block means are off the acquired pixels
        up = np.kron(self.low, np.ones((4, 4)))
        self.sr_in = (up + np.roll(up, 2, 0) + np.roll(up, 2, 1)) / 3

    def test_projected_baseline_is_consistent_like_the_model(self):
        b = sr_baselines(self.sr_in, self.low)
        model = consistent_with_input(np.clip(self.hr + 0.05, 0, 1), self.low)
        self.assertLess(block_dev(model, self.low), 0.01)
        self.assertLess(block_dev(b["bicubic+projection"], self.low), 0.01)
        self.assertGreater(block_dev(b["bicubic"], self.low), 1.0)

    def test_same_subject_slab_is_not_in_the_held_out_row(self):
        slices = [{"test_set": "colin27_test"}, {"test_set": "itk_t1"}, {"test_set": "macaque"}]
        t = np.stack([self.hr] * 3)
        p = t.copy()
        p[0] = 0  # a bad same-subject prediction must not move the held-out row
        res = _table(slices, {"m": p}, t)
        self.assertEqual(res["held_out"]["n"], 2)
        self.assertEqual(res["held_out"]["m_psnr"], float("inf"))


if __name__ == "__main__":
    unittest.main()
