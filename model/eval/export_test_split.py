#!/usr/bin/python3
"""Write the held-out test split of VL-Health-mini in a form the app (Node) reads for `healthgpt eval`.

    /usr/bin/python3 -m model.eval.export_test_split [--data model/work/vl-health-mini] [--out test/fixtures/vl-health-mini]

Output:
  index.json     slices (test set, plane, source), questions (image, question, answer, type), the majority
                 answer per question type (from the TRAINING split), histogram-matching references (1001
                 quantiles of the training MRI and CT pixels), offsets of every array in images.u8.gz
  images.u8.gz   gzip of the concatenated uint8 arrays: mri [N,128,128], ct [N,128,128] (CT window),
                 lr [N,32,32] (4x area downsample of mri), vqa [M,128,128] (with simulated lesions)
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

from model.train.data import load_split
from model.eval.evaluate import majority_answers
from model.eval.metrics import quantile_reference


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(HERE), "work", "vl-health-mini"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "test", "fixtures",
                                                  "vl-health-mini"))
    a = ap.parse_args()
    test, train = load_split(a.data, "test"), load_split(a.data, "train")
    man = json.load(open(os.path.join(a.data, "manifest.json")))
    os.makedirs(a.out, exist_ok=True)
    arrays = [("mri", test.mri), ("ct", test.ct), ("lr", test.lr), ("vqa", test.vqa_img)]
    offsets, pos = {}, 0
    blob = bytearray()
    for name, arr in arrays:
        arr = np.ascontiguousarray(arr, dtype=np.uint8)
        offsets[name] = {"offset": pos, "shape": list(arr.shape)}
        blob += arr.tobytes()
        pos += arr.nbytes
    raw = bytes(blob)
    with open(os.path.join(a.out, "images.u8.gz"), "wb") as f:
        f.write(gzip.compress(raw, compresslevel=9, mtime=0))
    questions = []
    for it in test.vqa:
        tset = test.slices[it["slice"]]["test_set"]
        for q in it["qa"]:
            questions.append({"image": it["image"], "question": q["question"], "answer": q["answer"],
                              "type": q["qtype"], "testSet": tset})
    index = {
        "name": "VL-Health-mini test split", "datasetVersion": man["version"], "seed": man["seed"],
        "imageSize": int(test.mri.shape[-1]), "lrSize": int(test.lr.shape[-1]),
        "ctWindow": man["ct_window"], "split": man["split"],
        "arrays": offsets, "rawSha256": hashlib.sha256(raw).hexdigest(),
        "slices": [{"testSet": r["test_set"], "source": r["source"], "plane": r["plane"], "index": r["index"],
                    "pixelMm": r["pixel_mm"]} for r in test.slices],
        "questions": questions,
        "majority": majority_answers(train),
        "histReference": {"mri": [round(float(v), 6) for v in quantile_reference(train.mri / 255.0)],
                          "ct": [round(float(v), 6) for v in quantile_reference(train.ct / 255.0)]},
        "sources": [{k: s[k] for k in ("id", "package", "path", "sha256", "license")} for s in man["sources"]],
    }
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(json.dumps({"slices": len(test.slices), "questions": len(questions),
                      "bytes": os.path.getsize(os.path.join(a.out, "images.u8.gz"))}))


if __name__ == "__main__":
    main()
