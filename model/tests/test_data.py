"""Training data helpers: the skull-stripped SR pairs of the decoder adaptation."""
import unittest

import numpy as np
from scipy import ndimage as ndi

from model.train.data import Split, area_down, pil_bicubic

S = 128


class SkullStrippedSrTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(3)
        mri = rng.integers(30, 230, (2, S, S)).astype(np.uint8)
        yy, xx = np.mgrid[:S, :S]
        disc = ((yy - 64) ** 2 + (xx - 60) ** 2) < 40 ** 2
        ellipse = ((yy - 70) ** 2 / 45 ** 2 + (xx - 64) ** 2 / 30 ** 2) < 1
        brain = np.stack([disc, ellipse])
        lr = np.stack([area_down(m, 4) for m in mri])
        sr_in = np.stack([pil_bicubic(m, S) for m in lr])
        self.split = Split("train", mri, mri, lr, sr_in, mri, [{"id": 0}, {"id": 1}], [], brain)

    def test_target_is_the_slice_inside_the_brain_and_zero_outside(self):
        inp, tgt = self.split.skull_stripped_sr(np.array([1, 0]))
        for k, i in enumerate([1, 0]):
            brain = self.split.brain[i]
            np.testing.assert_array_equal(tgt[k][brain], self.split.mri[i][brain] / 255.0)
            self.assertEqual(float(np.abs(tgt[k][~brain]).max()), 0.0)

    def test_input_is_made_like_the_datasets_own_sr_input(self):
        inp, _ = self.split.skull_stripped_sr(np.array([0, 1]))
        self.assertEqual(inp.shape, (2, S, S))
        for i in range(2):
            brain = self.split.brain[i]
            # 4x area blocks and the bicubic kernel (2 low-resolution pixels each side) reach 12 px at most:
            # deep inside the brain the input is the unstripped slice's SR input, far outside it is black
            inside = ndi.binary_erosion(brain, iterations=16)
            outside = ~ndi.binary_dilation(brain, iterations=16)
            self.assertTrue(inside.sum() > 500 and outside.sum() > 500)
            np.testing.assert_array_equal(inp[i][inside], self.split.sr_in[i][inside] / 255.0)
            self.assertEqual(float(inp[i][outside].max()), 0.0)
            # near the edge it differs: the low-resolution input itself was stripped ...
            self.assertGreater(float(np.abs(inp[i] - self.split.sr_in[i] / 255.0).max()), 0.1)
            # ... and upsampled: the brain's edge is blurred outwards, as a 4x acquisition of a stripped brain is
            ring = ndi.binary_dilation(brain, iterations=3) & ~brain
            self.assertGreater(float(inp[i][ring].mean()), 0.05)


if __name__ == "__main__":
    unittest.main()
