#!/usr/bin/python3
"""Copy docs/model-card.md into a pack and refresh its size and sha256 in the pack's manifest.json.

    /usr/bin/python3 -m model.train.update_card resources/packs/healthgpt-nano
"""
import hashlib
import json
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    pack = sys.argv[1]
    dst = os.path.join(pack, "model-card.md")
    shutil.copy(os.path.join(REPO, "docs", "model-card.md"), dst)
    path = os.path.join(pack, "manifest.json")
    man = json.load(open(path))
    entry = {"path": "model-card.md", "role": "other", "size": os.path.getsize(dst),
             "sha256": hashlib.sha256(open(dst, "rb").read()).hexdigest()}
    man["files"] = [f for f in man["files"] if f["path"] != "model-card.md"] + [entry]
    with open(path, "w") as f:
        json.dump(man, f, indent=2)
    print(json.dumps(entry))


if __name__ == "__main__":
    main()
