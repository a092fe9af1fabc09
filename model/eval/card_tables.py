#!/usr/bin/python3
"""Markdown tables for the model card from the training run's metrics.json and `healthgpt eval --json` outputs.

    /usr/bin/python3 -m model.eval.card_tables --metrics model/work/run/metrics.json --node-dir model/work/eval
(--node-dir holds sr.json, ct2mri.json, mri2ct.json, vqa.json written by `healthgpt eval ... --json`)
"""
import argparse
import json
import os


def f2(x):
    return f"{x:.2f}"


def f3(x):
    return f"{x:.3f}"


def per_set(r):
    """The per-set rows of an evaluate.py table, without its "held_out" aggregate (so sums do not count twice)."""
    return {k: v for k, v in r.items() if k != "held_out"}


def image_table(r, baselines):
    sets = [s for s in r["results"] if s != "all"] + ["all"]
    head = "| test set | n | model PSNR / SSIM | " + " | ".join(f"{b} PSNR / SSIM" for b in baselines) + " |"
    lines = [head, "|" + "---|" * (3 + len(baselines))]
    for s in sets:
        row = r["results"][s]
        cells = [f"{f2(row['model']['psnr'])} / {f3(row['model']['ssim'])}"]
        cells += [f"{f2(row[b]['psnr'])} / {f3(row[b]['ssim'])}" for b in baselines]
        lines.append(f"| {r['sets'].get(s, {}).get('label', s)} | {row['model']['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def vqa_table(r):
    lines = ["| question type | n | model accuracy | majority accuracy | majority answer |", "|---|---|---|---|---|"]
    for k, v in r["perType"].items():
        lines.append(f"| {k} | {v['n']} | {f3(v['accuracy'])} | {f3(v['majorityAccuracy'])} | {v['majority']} |")
    o = r["overall"]
    lines.append(f"| **all** | {o['n']} | {f3(o['accuracy'])} | {f3(o['majorityAccuracy'])} | |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--node-dir", required=True)
    a = ap.parse_args()
    m = json.load(open(a.metrics))
    out = []
    if m.get("vq"):  # absent from an --ablation-only run
        out.append("VQ autoencoder round trip (encode -> decode; a source-guided decoder is given the image itself, "
                   "as in the recon task), validation split, PSNR / SSIM:\n")
        out.append("| set | MRI | CT (synthetic) |\n|---|---|---|")
        for s in per_set(m["vq"]["mri"]):
            mr, ct = m["vq"]["mri"][s], m["vq"]["ct"][s]
            out.append(f"| {s} | {f2(mr['vq_psnr'])} / {f3(mr['vq_ssim'])} | {f2(ct['vq_psnr'])} / {f3(ct['vq_ssim'])} |")
    if any("oracle_psnr" in row for r in m.get("gen", {}).values() for row in r.values()):
        out.append("\nWhat the image tokens allow (PyTorch reference, validation split): the decoder given the "
                   "LM's tokens vs the target's own tokens (a perfect LM), both with the task's source image:\n")
        out.append("| task | n | LM tokens PSNR / SSIM | target's tokens PSNR / SSIM |\n|---|---|---|---|")
        for task, r in m["gen"].items():
            r = per_set(r)
            n = sum(v["n"] for v in r.values())
            avg = lambda k: sum(v[k] * v["n"] for v in r.values()) / n
            out.append(f"| {task} | {n} | {f2(avg('model_psnr'))} / {f3(avg('model_ssim'))} | "
                       f"{f2(avg('oracle_psnr'))} / {f3(avg('oracle_ssim'))} |")
    for task, base in (("sr", ["bicubic", "bicubic+block-mean projection"]), ("ct2mri", ["identity", "histmatch"]), ("mri2ct", ["identity", "histmatch"])):
        p = os.path.join(a.node_dir, f"{task}.json")
        if os.path.exists(p):
            r = json.load(open(p))
            out.append(f"\n**{task}** (app runtime, {r['provider']}, {r['secondsPerImage']:.2f} s per slice):\n")
            out.append(image_table(r, base))
    p = os.path.join(a.node_dir, "vqa.json")
    if os.path.exists(p):
        out.append("\n**VQA** (app runtime, exact match after lower-casing):\n")
        out.append(vqa_table(json.load(open(p))))
    if m.get("ablation"):
        out.append("\n**Ablation** (PyTorch reference; SR on the validation slices, VQA on the validation "
                   "questions):\n")
        out.append("| variant | SR PSNR / SSIM (all sets) | bicubic | VQA accuracy per type | VQA all |\n|---|---|---|---|---|")
        for name, r in m["ablation"].items():
            sr = per_set(r["sr"])
            n = sum(v["n"] for v in sr.values())
            ps = sum(v["model_psnr"] * v["n"] for v in sr.values()) / n
            ss = sum(v["model_ssim"] * v["n"] for v in sr.values()) / n
            bp = sum(v["bicubic_psnr"] * v["n"] for v in sr.values()) / n
            bs = sum(v["bicubic_ssim"] * v["n"] for v in sr.values()) / n
            per = ", ".join(f"{k} {f3(v['all']['model_acc'])}" for k, v in r["vqa"].items())
            tot = sum(v["all"]["n"] for v in r["vqa"].values())
            acc = sum(v["all"]["model_acc"] * v["all"]["n"] for v in r["vqa"].values()) / tot
            out.append(f"| {name} | {f2(ps)} / {f3(ss)} | {f2(bp)} / {f3(bs)} | {per} | {f3(acc)} |")
    t = m["timings_s"]
    out.append("\nTraining time (wall, seconds): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items()))
    print("\n".join(out))


if __name__ == "__main__":
    main()
