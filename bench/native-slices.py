#!/usr/bin/python3
"""Native-size slices of a held-out volume for the nano bench: the INIA19 macaque T1 (mricron-data), axial, at
its own 168x206 matrix (the test split resamples it to 128 px), normalised as the dataset does (99.5th percentile
of the brain -> 255). Prints JSON {rows, cols, slices: [base64 8-bit]}, or {} where the package is not installed."""
import base64
import json
import os

PATH = "/usr/share/mricron/templates/inia19-t1-brain.nii.gz"
if not os.path.exists(PATH):
    print("{}")
else:
    import nibabel as nib
    import numpy as np
    v = nib.load(PATH).get_fdata()
    top = np.percentile(v[v > 0], 99.5)
    out = []
    for z in range(30, 100, 10):
        s = np.clip(v[:, :, z] / top, 0, 1)
        out.append(base64.b64encode(np.round(s * 255).astype(np.uint8).tobytes()).decode())
    print(json.dumps({"rows": int(v.shape[0]), "cols": int(v.shape[1]), "slices": out}))
