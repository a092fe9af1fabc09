#!/usr/bin/python3
"""Write the held-out verdicts of `healthgpt eval --json` and the trained question types into a pack's manifest.

    /usr/bin/python3 -m model.eval.mark_held_out resources/packs/healthgpt-nano sr.json ct2mri.json mri2ct.json

For each generation task: tasks.<task>.heldOut = {beatsBaseline, baseline}. A task beats its baselines only if the
model is above every baseline the eval reports (the equal ones included: bicubic with the model's projection for
SR; identity and histogram matching for CT<->MRI) in PSNR and SSIM on every held-out set (the same-subject slab and
the aggregate rows do not count). tasks.vqa.questionTypes lists the question types and phrasings the dataset
generator trains on (model/data/comprehension_items.py). The manifest is the pack's root, so no hash in it changes;
a signed pack must be signed again.
"""
import json
import os
import sys

from model.data.comprehension_items import Q


def verdict(report: dict) -> dict:
    losses = []
    for set_id, row in report["results"].items():
        info = report["sets"].get(set_id, {})
        if not info.get("heldOut") or set_id in ("held-out", "all"):
            continue
        m = row["model"]
        for name, b in row.items():
            if name != "model" and (m["psnr"] <= b["psnr"] or m["ssim"] <= b["ssim"]):
                losses.append((name, set_id))
    if not losses:
        names = [k for k in next(iter(report["results"].values())) if k != "model"]
        return {"beatsBaseline": True, "baseline": ", ".join(names)}
    # the app shows "does not beat <baseline> on held-out data"; the card gives the sets and figures
    name = "interpolation" if report["task"] == "sr" else ("identity" if any(n == "identity" for n, _ in losses) else losses[0][0])
    print(report["task"], "below", sorted(set(losses)), file=sys.stderr)
    return {"beatsBaseline": False, "baseline": name}


def main():
    pack, reports = sys.argv[1], sys.argv[2:]
    path = os.path.join(pack, "manifest.json")
    man = json.load(open(path))
    for rp in reports:
        r = json.load(open(rp))
        man["tasks"][r["task"]]["heldOut"] = verdict(r)
        print(r["task"], json.dumps(man["tasks"][r["task"]]["heldOut"]))
    if "vqa" in man["tasks"]:
        man["tasks"]["vqa"]["questionTypes"] = [{"type": t, "questions": list(qs)} for t, qs in Q.items()]
    with open(path, "w") as f:
        json.dump(man, f, indent=2)


if __name__ == "__main__":
    main()
