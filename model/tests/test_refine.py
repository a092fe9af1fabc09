"""The comprehension refinement stage: it changes comprehension only, and its lesion map marks the lesion."""
import unittest

import numpy as np

from model.healthgpt.tokenizer import build_tokenizer
from model.train.data import Split
from model.tests.support import check_changes_comprehension_only
from model.train import train as T

S = 128


def _split() -> Split:
    """Two slices, each with an MRI item (a bright lesion on the first) and a CT item; 'brain' is a disc."""
    rng = np.random.default_rng(0)
    mri = rng.integers(40, 200, (2, S, S)).astype(np.uint8)
    ct = rng.integers(40, 200, (2, S, S)).astype(np.uint8)
    vqa_img = np.stack([mri[0], ct[0], mri[1], ct[1]]).copy()
    vqa_img[0, 40:56, 80:96] = np.clip(vqa_img[0, 40:56, 80:96].astype(int) + 60, 0, 255)  # patches (5..6, 10..11)
    vqa_img[3, 64:72, 16:24] = np.clip(vqa_img[3, 64:72, 16:24].astype(int) - 60, 0, 255)  # patch (8, 2), darker
    yy, xx = np.mgrid[:S, :S]
    brain = np.broadcast_to(((yy - 64) ** 2 + (xx - 64) ** 2) < 50 ** 2, (2, S, S)).copy()
    lesion = {"side": "left", "contrast": "hyperintense", "diameter_mm": 16.0, "center": [48, 88], "radius_px": 8}
    dark = dict(lesion, side="right", contrast="hypodense")
    vqa = []
    for i, (modality, les) in enumerate([("MRI", lesion), ("CT", None), ("MRI", None), ("CT", dark)]):
        qa = [{"qtype": "modality", "question": "Which modality is this?", "answer": modality},
              {"qtype": "abnormality", "question": "Is there a lesion?", "answer": "yes" if les else "no"}]
        vqa.append({"modality": modality, "lesion": les, "qa": qa, "slice": i // 2, "image": i,
                    "report": {"question": "Describe the image.", "answer": f"An axial {modality} image."}})
    slices = [{"test_set": "train", "plane": "axial", "id": k} for k in range(2)]
    return Split("train", mri, ct, mri[:, ::4, ::4], mri, vqa_img, slices, vqa, brain)


class RefineTest(unittest.TestCase):
    def test_lesion_patch_labels_mark_the_changed_patches_with_their_sign(self):
        labels = _split().lesion_patch_labels(8)
        self.assertEqual(labels.shape, (4, 16, 16))
        self.assertEqual(set(zip(*np.nonzero(labels[0]))), {(5, 10), (5, 11), (6, 10), (6, 11)})
        self.assertTrue(bool((labels[0][labels[0] > 0] == 1).all()))
        self.assertEqual(list(zip(*np.nonzero(labels[3]))), [(8, 2)])
        self.assertEqual(int(labels[3, 8, 2]), 2)
        self.assertEqual(int(labels[1].sum() + labels[2].sum()), 0)  # no lesion, no label

    def test_refine_changes_comprehension_only(self):
        split = _split()
        texts = [q["question"] + " " + q["answer"] for it in split.vqa for q in it["qa"]]
        tok_json = build_tokenizer(texts, text_vocab_size=300, num_image_tokens=T.CODEBOOK)
        check_changes_comprehension_only(self, split, tok_json, lambda model, enc: T.refine_comprehension(
            model, enc, split, steps=3, bs=2, rng=np.random.default_rng(1), fh=None))


if __name__ == "__main__":
    unittest.main()
