"""The lesion refinement (training step 9): its freshly drawn items are consistent (answers, image and lesion map
agree), and it changes comprehension only."""
import unittest

import numpy as np
import torch

from model.healthgpt.tokenizer import Tokenizer, build_tokenizer
from model.train.data import Encoder, Split
from model.data.comprehension_items import Q, REPORT_Q
from model.train.lesion_refine import FreshItems, lesion_refine
from model.tests.support import check_changes_comprehension_only
from model.train import train as T

S = 128


def _split() -> Split:
    """Three slices (axial, coronal, sagittal) of a flat grey head whose brain is a disc."""
    rng = np.random.default_rng(0)
    mri = (110 + rng.integers(-3, 4, (3, S, S))).astype(np.uint8)
    ct = (90 + rng.integers(-3, 4, (3, S, S))).astype(np.uint8)
    yy, xx = np.mgrid[:S, :S]
    brain = np.broadcast_to(((yy - 64) ** 2 + (xx - 64) ** 2) < 45 ** 2, (3, S, S)).copy()
    slices = [{"source": "colin27", "test_set": "train", "plane": p, "pixel_mm": 1.4, "id": k}
              for k, p in enumerate(("axial", "coronal", "sagittal"))]
    return Split("train", mri, ct, mri[:, ::4, ::4], mri, mri[:0], slices, [], brain)


def _tokenizer():
    texts = [q for qs in Q.values() for q in qs] + REPORT_Q + [
        "MRI CT axial coronal sagittal yes no left right hyperintense hypointense hyperdense hypodense",
        "Axial T1-weighted MRI of the head. There is a 9 mm hypointense lesion in the right hemisphere.",
        "A hyperdense focal lesion, about 12 mm. No focal lesion. No abnormality is seen. Normal appearance."]
    return build_tokenizer(texts, text_vocab_size=300, num_image_tokens=T.CODEBOOK)


class FreshItemsTest(unittest.TestCase):
    def setUp(self):
        self.split = _split()
        tok_json = _tokenizer()
        self.enc = Encoder(T.make_config(tok_json), Tokenizer(tok_json))

    def _draws(self, n, strip_p=0.0, seed=5):
        items = FreshItems(self.split, self.enc, 8, seed, strip_p=strip_p, report_p=0.0)
        rng = np.random.default_rng(seed)
        return [items.draw(rng) for _ in range(n)]

    def test_answers_agree_with_the_lesion_map(self):
        kinds = {"abnormality": 0, "side": 0, "contrast": 0}
        marked_yes = []
        for q, a, img, lesion in self._draws(400):
            qtype = next(k for k, qs in Q.items() if q in qs)
            cols = np.nonzero(lesion)[1]
            if qtype == "abnormality":
                kinds[qtype] += 1
                if a == "no":
                    self.assertEqual(int(lesion.sum()), 0)
                else:
                    marked_yes.append(bool(lesion.any()))
            elif qtype == "side" and len(cols):
                kinds[qtype] += 1
                # radiological display: the image's left half is the patient's right
                self.assertEqual(a, "right" if (cols.mean() + 0.5) * 8 < S / 2 else "left")
            elif qtype == "contrast" and len(cols):
                kinds[qtype] += 1
                self.assertEqual(set(np.unique(lesion[lesion > 0])), {1} if a.startswith("hyper") else {2})
        self.assertTrue(all(v > 5 for v in kinds.values()), kinds)
        self.assertGreater(np.mean(marked_yes), 0.9)  # the smallest, faintest lesions may mark no whole patch

    def test_lesions_change_the_image_where_the_map_says(self):
        for _, _, img, lesion in self._draws(60):
            changed = np.abs(img.astype(int) - self.split.mri[0].astype(int)).reshape(16, 8, 16, 8).max((1, 3))
            if lesion.any():
                self.assertTrue(bool((changed[lesion > 0] > 10).all()))

    def test_skull_stripped_items_are_black_outside_the_brain(self):
        for _, _, img, _ in self._draws(20, strip_p=1.0):
            self.assertEqual(int(img[~self.split.brain[0]].max()), 0)
            self.assertGreater(int(img[self.split.brain[0]].min()), 0)

    def test_the_stream_is_fixed_by_its_seed(self):
        first = lambda seed: next(iter(FreshItems(self.split, self.enc, 8, seed)))
        a, b, c = first(3), first(3), first(4)
        self.assertEqual(a[0], b[0])
        np.testing.assert_array_equal(a[2], b[2])
        self.assertFalse(a[0] == c[0] and np.array_equal(a[2], c[2]))


class LesionRefineTest(unittest.TestCase):
    def test_changes_comprehension_only(self):
        split = _split()
        steps = []
        check_changes_comprehension_only(self, split, _tokenizer(), lambda model, enc: steps.append(lesion_refine(
            model, enc, split, steps=3, batch=2, lr=1e-3, seed=1, device=torch.device("cpu"), workers=0, fh=None)))
        self.assertEqual(steps[0]["steps"], 3)


if __name__ == "__main__":
    unittest.main()
