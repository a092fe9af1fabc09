"""Sign a model pack's manifest.json with Ed25519, as the app verifies it (src-main/model/pack-verify.ts).

    /usr/bin/python3 -m model.healthgpt.sign keygen --key-id hospital-2026 --private signing-key.pem
        writes the private key (PKCS#8 PEM, mode 0600) and prints the entry for the app's trusted-keys file
        ({"keyId", "publicKey": SPKI PEM}); keep the private key off the workstations
    /usr/bin/python3 -m model.healthgpt.sign sign PACK_DIR --key signing-key.pem --key-id hospital-2026
        checks that every file the manifest lists has its size and sha256, then writes PACK_DIR/manifest.sig:
        {"algorithm": "ed25519", "keyId", "signature": base64 of the signature of manifest.json's exact bytes}
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
from typing import Dict, List, Optional, Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


class SignError(ValueError):
    """The pack or the key cannot be signed with (the message names the file)."""


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pack_problems(pack_dir: str) -> List[str]:
    """Files the manifest lists that are absent, of another size or another sha256."""
    with open(os.path.join(pack_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    problems = []
    for entry in manifest.get("files", []):
        p = os.path.join(pack_dir, entry["path"])
        if not os.path.isfile(p):
            problems.append(f"{entry['path']}: missing")
        elif os.path.getsize(p) != entry["size"]:
            problems.append(f"{entry['path']}: {os.path.getsize(p)} bytes, the manifest lists {entry['size']}")
        elif _sha256(p) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 differs from the manifest's")
    return problems


def load_private_key(path: str) -> Ed25519PrivateKey:
    with open(path, "rb") as f:
        data = f.read()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        raise SignError(f"{path}: not an unencrypted PEM private key ({e})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SignError(f"{path}: not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign_pack(pack_dir: str, key: Ed25519PrivateKey, key_id: str) -> Dict[str, str]:
    manifest_path = os.path.join(pack_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        raise SignError(f"{manifest_path}: missing; not a pack folder")
    if not 1 <= len(key_id) <= 128:
        raise SignError("the key id must have 1 to 128 characters")
    problems = pack_problems(pack_dir)
    if problems:
        raise SignError(f"{pack_dir} does not match its manifest; not signed:\n  " + "\n  ".join(problems))
    with open(manifest_path, "rb") as f:
        signature = key.sign(f.read())
    sig = {"algorithm": "ed25519", "keyId": key_id, "signature": base64.b64encode(signature).decode()}
    with open(os.path.join(pack_dir, "manifest.sig"), "w", encoding="utf-8") as f:
        f.write(json.dumps(sig, indent=2) + "\n")
    return sig


def keygen(private_path: str, key_id: str) -> Dict[str, str]:
    if os.path.exists(private_path):
        raise SignError(f"{private_path}: exists; not overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return {"keyId": key_id, "publicKey": public_key_pem(key)}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Ed25519 signing of model packs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen", help="a new signing key; prints the trusted-keys entry")
    k.add_argument("--private", required=True, help="where to write the private key (PEM)")
    k.add_argument("--key-id", required=True)
    s = sub.add_parser("sign", help="write PACK/manifest.sig")
    s.add_argument("pack")
    s.add_argument("--key", required=True, help="the private key (PEM)")
    s.add_argument("--key-id", required=True)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "keygen":
            print(json.dumps(keygen(a.private, a.key_id), indent=2))
        else:
            sig = sign_pack(a.pack, load_private_key(a.key), a.key_id)
            print(json.dumps({"ok": True, "pack": a.pack, "keyId": sig["keyId"]}))
        return 0
    except (SignError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
