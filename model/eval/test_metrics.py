"""PyTorch-side metrics checked against skimage.metrics on real test-split images and on noise.

    /usr/bin/python3 -m unittest model/eval/test_metrics.py     (or: cd model && /usr/bin/python3 -m unittest eval.test_metrics)
"""
import os
import unittest

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from model.eval.metrics import hist_match_to, psnr, quantile_reference, ssim

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "test", "fixtures", "vl-health-mini")


def fixture_images():
    import gzip
    import json
    idx = json.load(open(os.path.join(FIXTURE, "index.json")))
    raw = np.frombuffer(gzip.decompress(open(os.path.join(FIXTURE, "images.u8.gz"), "rb").read()), np.uint8)
    a = idx["arrays"]["mri"]
    n, h, w = a["shape"]
    mri = raw[a["offset"]:a["offset"] + n * h * w].reshape(n, h, w) / 255.0
    a = idx["arrays"]["ct"]
    ct = raw[a["offset"]:a["offset"] + n * h * w].reshape(n, h, w) / 255.0
    return mri, ct


class MetricsTest(unittest.TestCase):
    def test_ssim_psnr_match_skimage(self):
        rng = np.random.default_rng(0)
        mri, ct = fixture_images()
        pairs = []
        for i in (0, 50, 139):
            pairs.append((mri[i], np.clip(mri[i] + rng.normal(0, 0.05, mri[i].shape), 0, 1)))
            pairs.append((mri[i], ct[i]))
        pairs.append((mri[60, 30:70, 5:102], np.clip(mri[60, 30:70, 5:102] + 0.1 * rng.standard_normal((40, 97)), 0, 1)))
        for a, b in pairs:
            ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=True, data_range=1.0)
            self.assertAlmostEqual(ssim(a, b), ref, places=10)
            self.assertAlmostEqual(psnr(a, b), peak_signal_noise_ratio(a, b, data_range=1.0), places=10)
        self.assertAlmostEqual(ssim(mri[0], mri[0]), 1.0, places=12)
        self.assertLess(ssim(*pairs[0]), 0.95)

    def test_histogram_matching(self):
        mri, ct = fixture_images()
        ref = quantile_reference(mri)
        out = hist_match_to(ct[10], ref)
        order = np.argsort(ct[10].ravel(), kind="stable")
        self.assertTrue(np.all(np.diff(out.ravel()[order]) >= -1e-12))
        self.assertAlmostEqual(out.min(), ref[0])
        self.assertAlmostEqual(out.max(), ref[-1])


if __name__ == "__main__":
    unittest.main()
