"""The comprehension items of VL-Health-mini: simulated lesions and the templated questions, answers and report
that describe an image. The dataset builder draws one set per image; training draws fresh ones on the fly
(model/train/lesion_refine.py) from the same generator, so that the model sees many more lesions than the
dataset stores. Needs numpy and scipy only (it also runs where the builder's readers are not installed)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

CT_WINDOW = (40.0, 400.0)  # centre, width in HU: soft-tissue window -> [0,1]

Q = {
    "modality": ["What imaging modality is this?", "Is this a CT or an MRI image?",
                 "Which modality was used to acquire this image?", "Name the imaging modality.",
                 "What kind of scan is shown?"],
    "plane": ["In which plane is this image?", "What is the imaging plane?",
              "Is this slice axial, coronal or sagittal?", "Which anatomical plane does this slice show?"],
    "abnormality": ["Is there an abnormality?", "Is there a lesion in this image?",
                    "Does this scan show any focal lesion?", "Is anything abnormal seen?",
                    "Are there abnormal findings?"],
    "side": ["On which side is the lesion?", "Which side of the brain contains the lesion?",
             "Is the lesion on the left or the right?", "Where is the lesion, left or right?"],
    "contrast": ["Is the lesion bright or dark compared with the brain?",
                 "What is the signal or density of the lesion?", "How does the lesion appear?",
                 "Describe the lesion contrast."],
}
REPORT_Q = ["Describe this image.", "Write a short report for this image.", "What are the findings?",
            "Give a brief radiology report."]


def add_lesion(img: np.ndarray, lab: np.ndarray, modality: str, plane: str, pixel_mm: float, rng):
    """Insert a soft-edged elliptical blob of known size, position and contrast inside the brain."""
    brain = (lab >= 1) & (lab <= 3)
    brain_e = ndi.binary_erosion(brain, iterations=4)
    cols = np.where(brain.any(0))[0]
    if brain_e.sum() < 40 or cols.size == 0:
        return None
    h, w = img.shape
    mid = w / 2 - 0.5 if plane != "sagittal" else None
    cand = np.argwhere(brain_e)
    if mid is not None:
        cand = cand[np.abs(cand[:, 1] - mid) >= 8]
    if len(cand) == 0:
        return None
    cy, cx = cand[int(rng.integers(len(cand)))]
    r = float(rng.uniform(2.5, 7.0))
    ry, rx = r * rng.uniform(0.8, 1.2), r * rng.uniform(0.8, 1.2)
    yy, xx = np.mgrid[:h, :w]
    dist = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    mask = 1 / (1 + np.exp((dist - 1) * 6))
    bright = bool(rng.random() < 0.5)
    if modality == "MRI":
        c = float(rng.uniform(0.25, 0.5)) * (1 if bright else -1)
        out = np.clip(img + c * mask * (0.6 + 0.4 * rng.random()), 0, 1)
    else:
        c = float(rng.uniform(45, 90)) / CT_WINDOW[1] * (1 if bright else -1)
        out = np.clip(img + c * mask, 0, 1)
    diam_mm = round(2 * r * pixel_mm, 1)
    side = None
    if mid is not None:  # radiological display: image left = patient right
        side = "right" if cx < mid else "left"
    word = ("hyperintense" if bright else "hypointense") if modality == "MRI" else \
        ("hyperdense" if bright else "hypodense")
    return out.astype(np.float32), {"center": [int(cy), int(cx)], "radius_px": round(r, 2),
                                    "diameter_mm": diam_mm, "side": side, "contrast": word}


def make_items(img, lab, rec, modality, rng, lesion_p=0.5):
    lesion = None
    out = img
    if rng.random() < lesion_p:
        res = add_lesion(img, lab, modality, rec["plane"], rec["pixel_mm"], rng)
        if res is not None:
            out, lesion = res
    qa = []
    def pick(k):
        return Q[k][int(rng.integers(len(Q[k])))]
    mod_ans = "MRI" if modality == "MRI" else "CT"
    qa.append({"qtype": "modality", "question": pick("modality"), "answer": mod_ans})
    qa.append({"qtype": "plane", "question": pick("plane"), "answer": rec["plane"]})
    qa.append({"qtype": "abnormality", "question": pick("abnormality"), "answer": "yes" if lesion else "no"})
    if lesion:
        if lesion["side"]:
            qa.append({"qtype": "side", "question": pick("side"), "answer": lesion["side"]})
        qa.append({"qtype": "contrast", "question": pick("contrast"), "answer": lesion["contrast"]})
    mod_long = "T1-weighted MRI" if modality == "MRI" else "CT"
    region = "brain" if rec["source"] == "macaque" else "head"
    opening = [f"{rec['plane'].capitalize()} {mod_long} of the {region}.",
               f"{mod_long} of the {region}, {rec['plane']} slice.",
               f"Single {rec['plane']} {mod_long} image of the {region}."][int(rng.integers(3))]
    if lesion:
        where = f" in the {lesion['side']} hemisphere" if lesion["side"] else ""
        finding = [f" There is a {lesion['diameter_mm']:.0f} mm {lesion['contrast']} lesion{where}.",
                   f" A {lesion['contrast']} focal lesion{where}, about {lesion['diameter_mm']:.0f} mm."
                   ][int(rng.integers(2))]
    else:
        finding = [" No focal lesion.", " No abnormality is seen.", " Normal appearance, no focal lesion."
                   ][int(rng.integers(3))]
    report = opening + finding
    return out, {"modality": mod_ans, "lesion": lesion, "qa": qa,
                 "report": {"question": REPORT_Q[int(rng.integers(len(REPORT_Q)))], "answer": report}}
