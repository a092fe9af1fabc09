#!/usr/bin/python3
"""Build VL-Health-mini deterministically from medical images shipped by Debian packages.

    /usr/bin/python3 -m model.data.build_dataset [--out model/work/vl-health-mini] [--seed 7] [--small]

What it writes (all under --out, git-ignored):
  manifest.json          sources (path, sha256, size, package, licence from /usr/share/doc/<pkg>/copyright),
                         the split (volume / slab ranges with gaps), counts, normalisation, CT calibration
  <split>.npz            mri  uint8 (N,128,128)  real MRI slice, display-normalised to [0,255]
                         ct   uint8 (N,128,128)  synthetic CT of the same slice in the CT window (see CT_WINDOW)
                         ct_hu int16 (N,128,128) the same synthetic CT in Hounsfield units
                         labels uint8 (N,128,128) tissue classes (TISSUES)
                         vqa_img uint8 (M,128,128) images of the comprehension items (with simulated lesions)
  <split>.json           per-slice records (source, plane, index, augmentation) and the VQA / report items

Splits (see /work/shared/docs/data-notes.md): Colin27 (mricron ch2, full head, 1 mm) is cut into contiguous
axial slabs along z with 10 mm gaps: train z in [0,95), test z in [105,135), val z in [145,165) (above 165:
scalp only, unused). Coronal/sagittal training images are reformatted from the training slab only (rows
limited to z < 95), so no test or validation voxel appears in training. Out-of-subject test sets: the ITK T1 volume (another
subject, 2x2x3 mm) and the INIA19 macaque template. Each test set is reported separately.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field

import numpy as np
import nibabel as nib
import pydicom
from scipy import ndimage as ndi
from skimage.filters import threshold_multiotsu, threshold_otsu

from model.data.comprehension_items import CT_WINDOW, Q, make_items

SIZE = 128
LR = 32
TISSUES = ["air", "csf", "grey_matter", "white_matter", "fat", "soft_tissue", "bone"]
SHARE = "/usr/share"
SOURCES = {
    "colin27_ch2": ("mricron-data", f"{SHARE}/mricron/templates/ch2.nii.gz"),
    "colin27_ch2bet": ("mricron-data", f"{SHARE}/mricron/templates/ch2bet.nii.gz"),
    "itk_t1": ("insighttoolkit5-examples",
               f"{SHARE}/doc/insighttoolkit5-examples/examples/Data/KmeansTest_T1UCharRaw.nii.gz"),
    "macaque_inia19": ("mricron-data", f"{SHARE}/mricron/templates/inia19-t1-brain.nii.gz"),
    "ct_small": ("python3-pydicom", "/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm"),
}
# Colin27 ch2 (full head, 1 mm voxels) axial slabs in voxel z; every gap is 10 voxels = 10 mm.
COLIN_SLABS = {"train": [(0, 95)], "test": [(105, 135)], "val": [(145, 165)]}
REFORMAT_ZMAX = 95  # coronal/sagittal training reformats use only rows z < 95 (the training slab)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def licence_of(pkg: str, path: str) -> dict:
    """The licence that the Debian copyright file declares for `path` (last matching Files: stanza)."""
    cfile = f"{SHARE}/doc/{pkg}/copyright"
    text = open(cfile, encoding="utf-8", errors="replace").read()
    best = None
    for stanza in re.split(r"\n\s*\n", text):
        m = re.search(r"^Files:\s*(.+(?:\n\s+.+)*)", stanza, re.M)
        lic = re.search(r"^License:\s*(.+)$", stanza, re.M)
        cop = re.search(r"^Copyright:\s*(.+)$", stanza, re.M)
        if not m or not lic:
            continue
        pats = m.group(1).split()
        for p in pats:
            rx = "^" + re.escape(p).replace(r"\*", ".*") + "$"
            if p == "*" or re.search(rx, path) or re.search(rx, path.split("/")[-1]):
                best = {"license": lic.group(1).strip(), "copyright": cop.group(1).strip() if cop else "",
                        "files_pattern": p}
    return {"copyright_file": cfile, **(best or {"license": "see copyright file"})}


# ----------------------------------------------------------------------------- geometry helpers

def area_resize(img: np.ndarray, out: int) -> np.ndarray:
    """Area (box-filter) resampling of a square image to out x out, exact for any ratio."""
    n = img.shape[0]
    assert img.shape[0] == img.shape[1]
    if n == out:
        return img.astype(np.float32)
    # overlap matrix W (out x n): each output pixel averages the input pixels it covers
    edges = np.linspace(0, n, out + 1)
    W = np.zeros((out, n), np.float64)
    for i in range(out):
        a, b = edges[i], edges[i + 1]
        for j in range(int(math.floor(a)), min(n, int(math.ceil(b)))):
            W[i, j] = max(0.0, min(b, j + 1) - max(a, j))
        W[i] /= W[i].sum()
    return (W @ img.astype(np.float64) @ W.T).astype(np.float32)


def downsample_area(img: np.ndarray, f: int) -> np.ndarray:
    h, w = img.shape
    return img.reshape(h // f, f, w // f, f).mean(axis=(1, 3))


def square_pad(img: np.ndarray, fov_px: int, fill: float = 0.0) -> np.ndarray:
    """Centre img in a fov_px x fov_px canvas (cropping if larger)."""
    out = np.full((fov_px, fov_px), fill, img.dtype)
    h, w = img.shape
    oy, ox = (fov_px - h) // 2, (fov_px - w) // 2
    sy0, sx0 = max(0, -oy), max(0, -ox)
    dy0, dx0 = max(0, oy), max(0, ox)
    hh, ww = min(h - sy0, fov_px - dy0), min(w - sx0, fov_px - dx0)
    out[dy0:dy0 + hh, dx0:dx0 + ww] = img[sy0:sy0 + hh, sx0:sx0 + ww]
    return out


def to_display(vol_slice: np.ndarray, plane: str) -> np.ndarray:
    """RAS volume slice -> radiological display orientation.
    axial [x,y]: rows anterior->posterior, cols patient right->left.
    coronal [x,z]: rows superior->inferior, cols patient right->left.
    sagittal [y,z]: rows superior->inferior, cols anterior->posterior."""
    if plane == "axial":
        return vol_slice.T[::-1, ::-1]
    if plane == "coronal":
        return vol_slice.T[::-1, ::-1]
    return vol_slice.T[::-1, ::-1]


def aug_affine(img: np.ndarray, rng: np.random.Generator | None, order: int) -> tuple[np.ndarray, dict]:
    if rng is None:
        return img, {}
    ang = float(rng.uniform(-10, 10))
    sc = float(rng.uniform(0.92, 1.08))
    sh = rng.uniform(-0.04, 0.04, size=2) * img.shape[0]
    c = (np.array(img.shape) - 1) / 2
    t = math.radians(ang)
    R = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]]) / sc
    off = c - R @ (c + sh)
    out = ndi.affine_transform(img, R, offset=off, order=order, mode="constant", cval=0)
    return out, {"rot_deg": round(ang, 2), "scale": round(sc, 3), "shift_px": [round(float(s), 1) for s in sh]}


# ----------------------------------------------------------------------------- volumes and tissues

@dataclass
class Volume:
    name: str
    data: np.ndarray          # RAS, float32, normalised to ~[0,1]
    labels: np.ndarray        # RAS, uint8 tissue classes
    zooms: tuple
    brain_only: bool = False
    info: dict = field(default_factory=dict)


def classify(v: np.ndarray, brain: np.ndarray | None, zooms, brain_only: bool) -> np.ndarray:
    """Tissue classes from a T1 volume: air / CSF / GM / WM inside the brain, fat / soft tissue / bone outside.
    Thresholds: Otsu for head vs air, 3-class multi-Otsu inside the brain (dark CSF, mid GM, bright WM)."""
    thr = threshold_otsu(v[::2, ::2, ::2])
    head = v > thr * 0.5
    head = ndi.binary_closing(head, iterations=2)
    head = ndi.binary_fill_holes(head)
    lab, n = ndi.label(head)
    if n > 1:
        sizes = ndi.sum(head, lab, range(1, n + 1))
        head = lab == (1 + int(np.argmax(sizes)))
    for ax in range(3):  # fill holes slice-wise too (ventricles open to the outside in some slices)
        for i in range(head.shape[ax]):
            sl = [slice(None)] * 3
            sl[ax] = i
            head[tuple(sl)] = ndi.binary_fill_holes(head[tuple(sl)])
    if brain is None:
        if brain_only:
            brain = head
        else:
            # out-of-template volume: brain ~ head eroded by ~8 mm (scalp + skull), bright-enough tissue
            it = max(1, int(round(8.0 / float(min(zooms)))))
            core = ndi.binary_erosion(head, iterations=it)
            brain = ndi.binary_fill_holes(core)
    brain = brain & head
    inside = v[brain]
    t1, t2 = threshold_multiotsu(inside[:: max(1, inside.size // 400000)], classes=3)
    labels = np.zeros(v.shape, np.uint8)  # air
    labels[brain & (v < t1)] = 1
    labels[brain & (v >= t1) & (v < t2)] = 2
    labels[brain & (v >= t2)] = 3
    outside = head & ~brain
    if outside.any():
        o = v[outside]
        # outside the brain in T1: bone is dark, muscle/skin mid, fat (marrow, scalp) bright
        lo, hi = np.percentile(o, 35), np.percentile(o, 80)
        labels[outside & (v < lo)] = 6
        labels[outside & (v >= lo) & (v < hi)] = 5
        labels[outside & (v >= hi)] = 4
    return labels


def load_volumes(small: bool) -> dict[str, Volume]:
    vols = {}
    # Colin27 at 0.5 mm, brain mask from the 1 mm brain-extracted image of the same subject
    img = nib.as_closest_canonical(nib.load(SOURCES["colin27_ch2"][1]))
    v = np.asanyarray(img.dataobj).astype(np.float32)
    bet_img = nib.as_closest_canonical(nib.load(SOURCES["colin27_ch2bet"][1]))
    bet = np.asanyarray(bet_img.dataobj) > 0
    M = np.linalg.inv(bet_img.affine) @ img.affine
    idx = np.indices(v.shape, dtype=np.float32).reshape(3, -1)
    coords = M[:3, :3] @ idx + M[:3, 3:4]
    brain = ndi.map_coordinates(bet.astype(np.uint8), coords, order=0, mode="constant").reshape(v.shape) > 0
    brain = ndi.binary_closing(brain, iterations=2)
    v = v / np.percentile(v[v > 10], 99.5)
    vols["colin27"] = Volume("colin27", np.clip(v, 0, 1), classify(v, brain, img.header.get_zooms(), False),
                             img.header.get_zooms())
    img = nib.as_closest_canonical(nib.load(SOURCES["itk_t1"][1]))
    v = np.asanyarray(img.dataobj).astype(np.float32)
    v = v / np.percentile(v[v > 10], 99.5)
    vols["itk_t1"] = Volume("itk_t1", np.clip(v, 0, 1), classify(v, None, img.header.get_zooms(), False),
                            img.header.get_zooms())
    img = nib.as_closest_canonical(nib.load(SOURCES["macaque_inia19"][1]))
    v = np.asanyarray(img.dataobj).astype(np.float32)
    v = v / np.percentile(v[v > 1], 99.5)
    vols["macaque"] = Volume("macaque", np.clip(v, 0, 1), classify(v, None, img.header.get_zooms(), True),
                             img.header.get_zooms(), brain_only=True)
    return vols


def ct_calibration() -> dict:
    """HU statistics from pydicom's real CT_small slice: class means from HU ranges, noise from the
    robust std of horizontal neighbour differences inside homogeneous soft tissue."""
    ds = pydicom.dcmread(SOURCES["ct_small"][1])
    hu = ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    def stats(lo, hi):
        m = (hu >= lo) & (hu < hi)
        return {"range": [lo, hi], "mean": round(float(hu[m].mean()), 1), "std": round(float(hu[m].std()), 1),
                "fraction": round(float(m.mean()), 4)}
    soft = (hu > -30) & (hu < 100)
    soft_core = ndi.binary_erosion(soft, iterations=2)
    d = (hu[:, 1:] - hu[:, :-1])[soft_core[:, 1:] & soft_core[:, :-1]]
    noise = float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))
    return {
        "source": "pydicom CT_small.dcm (real CT, 128x128, 0.66 mm pixels, 5 mm slice)",
        "air": stats(-1100, -500), "fat": stats(-200, -30), "soft_tissue": stats(-30, 100),
        "bone": stats(300, 3000), "noise_std_hu": round(noise, 1),
    }


def hu_table(cal: dict) -> dict:
    """Mean HU per tissue class. Air, fat, soft tissue and bone come from CT_small; the brain classes
    (not present in CT_small, which is not a head) use textbook values (CSF ~8, GM ~38, WM ~28 HU)."""
    return {
        "air": cal["air"]["mean"], "csf": 8.0, "grey_matter": 38.0, "white_matter": 28.0,
        "fat": cal["fat"]["mean"], "soft_tissue": cal["soft_tissue"]["mean"],
        "bone": max(700.0, cal["bone"]["mean"]),
    }


def synth_ct(labels: np.ndarray, table: dict, noise: float, rng: np.random.Generator) -> np.ndarray:
    hu = np.zeros(labels.shape, np.float32)
    for i, t in enumerate(TISSUES):
        hu[labels == i] = table[t]
    # bone density varies smoothly (diploe vs cortical): +-250 HU low-frequency field
    field_ = ndi.gaussian_filter(rng.standard_normal(labels.shape).astype(np.float32), 6)
    field_ /= field_.std() + 1e-6
    hu = np.where(labels == 6, hu + 250 * field_, hu)
    hu = ndi.gaussian_filter(hu, 0.7)  # partial volume / scanner PSF
    hu += rng.normal(0, noise, labels.shape).astype(np.float32)
    return np.clip(hu, -1024, 3000)


def ct_to_unit(hu: np.ndarray) -> np.ndarray:
    c, w = CT_WINDOW
    return np.clip((hu - (c - w / 2)) / w, 0, 1)


# ----------------------------------------------------------------------------- slicing

def _slice2d(vol: Volume, arr: np.ndarray, plane: str, i: int, zmax: int | None, order: int):
    if zmax is not None:
        arr = arr[:, :, :zmax]
    zx, zy, zz = [float(z) for z in vol.zooms]
    if plane == "axial":
        t, sp = arr[:, :, i], (zy, zx)
    elif plane == "coronal":
        t, sp = arr[:, i, :], (zz, zx)
    else:
        t, sp = arr[i, :, :], (zz, zy)
    t = to_display(t, plane)
    fine = min(sp)
    if sp[0] != sp[1]:  # anisotropic pixels -> isotropic at the finest spacing
        t = ndi.zoom(t, (sp[0] / fine, sp[1] / fine), order=order)
    # a fixed square field of view per volume (its largest extent), a multiple of 128 px
    fov = int(round(max(vol.data.shape[0] * zx, vol.data.shape[1] * zy, vol.data.shape[2] * zz) / fine))
    fov = max(SIZE, fov)
    return square_pad(t, fov), fov, fine


def extract_aug(vol: Volume, plane: str, i: int, zmax: int | None, rng):
    """Image (area-resampled, linear affine) and labels (nearest, same affine) of one slice."""
    seed = None if rng is None else int(rng.integers(1 << 31))
    s, fov, fine = _slice2d(vol, vol.data, plane, i, zmax, 1)
    s, aug = aug_affine(s, None if seed is None else np.random.default_rng(seed), 1)
    img = np.clip(area_resize(s, SIZE), 0, 1)
    lab = _labels_nearest(vol, plane, i, zmax, seed)
    return img, lab, {"pixel_mm": round(fov * fine / SIZE, 3), **aug}


def _labels_nearest(vol, plane, i, zmax, seed):
    t, fov, _ = _slice2d(vol, vol.labels, plane, i, zmax, 0)
    if seed is not None:
        t, _ = aug_affine(t, np.random.default_rng(seed), 0)
    idx = ((np.arange(SIZE) + 0.5) * fov / SIZE).astype(int).clip(0, fov - 1)
    return t[np.ix_(idx, idx)].astype(np.uint8)




# ----------------------------------------------------------------------------- main

def plan(vols, small: bool):
    """(split, test_set, volume, plane, index, zmax, n_aug) for every slice."""
    out = []
    c = vols["colin27"]
    nx, ny, nz = c.data.shape
    step_tr = 2 if small else 1
    for split, slabs in COLIN_SLABS.items():
        step = 1 if split == "train" else 2
        if small:
            step *= 6
        for a, b in slabs:
            for z in range(a, b, step):
                if c.labels[:, :, z].astype(bool).mean() < 0.05:
                    continue
                out.append((split, f"colin27_{split}", "colin27", "axial", z, None))
    # reformats of the first training slab only (rows z < REFORMAT_ZMAX)
    zb = REFORMAT_ZMAX
    sub = c.labels[:, :, :zb].astype(bool)
    for plane, n in (("coronal", ny), ("sagittal", nx)):
        step = 2 if not small else 12
        for i in range(0, n, step):
            frac = (sub[:, i, :] if plane == "coronal" else sub[i, :, :]).mean()
            if frac < 0.08:
                continue
            out.append(("train", "colin27_train", "colin27", plane, i, zb))
    for name, step in (("itk_t1", 3), ("macaque", 6)):
        v = vols[name]
        for plane, ax in (("axial", 2), ("coronal", 1), ("sagittal", 0)):
            n = v.data.shape[ax]
            st = step if not small else step * 4
            for i in range(0, n, st):
                sl = [slice(None)] * 3
                sl[ax] = i
                if v.labels[tuple(sl)].astype(bool).mean() < (0.1 if name == "itk_t1" else 0.08):
                    continue
                out.append(("test", name, name, plane, i, None))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "work", "vl-health-mini"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--aug", type=int, default=3, help="augmented copies per training slice (plus the original)")
    ap.add_argument("--small", action="store_true", help="tiny subset for smoke tests")
    args = ap.parse_args()
    t0 = time.time()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    vols = load_volumes(args.small)
    print(f"volumes loaded in {time.time() - t0:.1f}s", flush=True)
    cal = ct_calibration()
    table = hu_table(cal)
    noise = cal["noise_std_hu"]
    items = plan(vols, args.small)
    aug = 1 if args.small else args.aug
    per_split: dict[str, dict] = {}
    for split, tset, vname, plane, i, zmax in items:
        v = vols[vname]
        copies = [None] + ([rng] * aug if split == "train" else [])
        for k, r in enumerate(copies):
            img, lab, meta = extract_aug(v, plane, i, zmax, r)
            hu = synth_ct(lab, table, noise, rng)
            rec = {"source": vname, "test_set": tset, "plane": plane, "index": int(i), "aug": k, **meta}
            s = per_split.setdefault(split, {"mri": [], "ct": [], "ct_hu": [], "labels": [], "rec": [],
                                             "vqa_img": [], "vqa": []})
            sid = len(s["rec"])
            rec["id"] = sid
            s["mri"].append(np.round(img * 255).astype(np.uint8))
            s["ct_hu"].append(np.round(hu).astype(np.int16))
            s["ct"].append(np.round(ct_to_unit(hu) * 255).astype(np.uint8))
            s["labels"].append(lab)
            s["rec"].append(rec)
            # comprehension items: one MRI image and one CT image per slice copy, lesion with p=0.5
            for modality in ("MRI", "CT"):
                base = img if modality == "MRI" else ct_to_unit(hu)
                vimg, item = make_items(base, lab, rec, modality, rng)
                item["slice"] = sid
                item["image"] = len(s["vqa_img"])
                s["vqa_img"].append(np.round(np.clip(vimg, 0, 1) * 255).astype(np.uint8))
                s["vqa"].append(item)
    counts = {}
    for split, s in per_split.items():
        np.savez_compressed(os.path.join(out, f"{split}.npz"), mri=np.stack(s["mri"]), ct=np.stack(s["ct"]),
                            ct_hu=np.stack(s["ct_hu"]), labels=np.stack(s["labels"]),
                            vqa_img=np.stack(s["vqa_img"]))
        with open(os.path.join(out, f"{split}.json"), "w") as f:
            json.dump({"slices": s["rec"], "vqa": s["vqa"]}, f)
        by_set = {}
        for r in s["rec"]:
            by_set[r["test_set"]] = by_set.get(r["test_set"], 0) + 1
        counts[split] = {"slices": len(s["rec"]), "by_set": by_set, "vqa_images": len(s["vqa_img"]),
                         "qa": sum(len(it["qa"]) for it in s["vqa"])}
    sources = []
    for key, (pkg, path) in SOURCES.items():
        sources.append({"id": key, "package": pkg, "path": path, "sha256": sha256(path),
                        "bytes": os.path.getsize(path), **licence_of(pkg, path)})
    manifest = {
        "name": "VL-Health-mini", "version": 1, "seed": args.seed, "small": args.small, "aug": aug,
        "image_size": SIZE, "lr_size": LR, "sr_factor": SIZE // LR,
        "sr_lr_method": "area (4x4 box mean) of the 128x128 target",
        "mri_normalisation": "per volume: divide by the 99.5th percentile of non-background voxels, clip [0,1]",
        "display_orientation": "radiological: axial/coronal image left = patient right; rows anterior->posterior "
                               "(axial) or superior->inferior (coronal, sagittal)",
        "ct_window": {"center": CT_WINDOW[0], "width": CT_WINDOW[1]},
        "synthetic_ct": {"method": "tissue classes from the T1 MRI (Otsu head mask; brain from the Colin27 "
                                   "brain-extracted image or an 8 mm erosion; 3-class multi-Otsu CSF/GM/WM inside "
                                   "the brain; outside: dark=bone, mid=soft tissue, bright=fat) -> class mean HU, "
                                   "smooth +-250 HU bone density field, Gaussian PSF sigma 0.7 px, Gaussian noise",
                         "hu_per_class": table, "calibration": cal, "tissues": TISSUES},
        "split": {
            "unit": "subject/volume, never slice",
            "colin27_axial_slabs_voxel_z_1mm": COLIN_SLABS,
            "gap_mm": 10,
            "colin27_reformats": f"coronal/sagittal training images use only z < {REFORMAT_ZMAX} (training slab)",
            "out_of_subject_test_sets": ["itk_t1", "macaque"],
        },
        "counts": counts,
        "question_types": list(Q.keys()),
        "sources": sources,
        "build_seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(json.dumps(counts), f"{time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
