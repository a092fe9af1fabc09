"""sign: manifest.sig as the app verifies it (the Node side is test/main/model/sign-python.test.ts)."""
import base64
import contextlib
import hashlib
import io
import json
import os
import tempfile
import unittest

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from model.healthgpt.sign import SignError, keygen, load_private_key, main, sign_pack


def _pack(d):
    with open(os.path.join(d, "lm.onnx"), "wb") as f:
        f.write(b"graph bytes")
    m = {"formatVersion": 1, "name": "x", "files": [
        {"path": "lm.onnx", "size": 11, "sha256": hashlib.sha256(b"graph bytes").hexdigest(), "role": "lm"}]}
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(m, f, indent=2)


class Sign(unittest.TestCase):
    def test_signature_verifies_with_the_printed_public_key(self):
        with tempfile.TemporaryDirectory() as d:
            _pack(d)
            entry = keygen(os.path.join(d, "k.pem"), "hospital-2026")
            self.assertEqual(oct(os.stat(os.path.join(d, "k.pem")).st_mode & 0o777), "0o600")
            sig = sign_pack(d, load_private_key(os.path.join(d, "k.pem")), "hospital-2026")
            with open(os.path.join(d, "manifest.sig")) as f:
                self.assertEqual(json.load(f), sig)
            self.assertEqual((sig["algorithm"], sig["keyId"]), ("ed25519", "hospital-2026"))
            pub = serialization.load_pem_public_key(entry["publicKey"].encode())
            with open(os.path.join(d, "manifest.json"), "rb") as f:
                manifest = f.read()
            raw = base64.b64decode(sig["signature"])
            self.assertEqual(len(raw), 64)
            pub.verify(raw, manifest)
            with self.assertRaises(InvalidSignature):
                pub.verify(raw, manifest + b" ")

    def test_refuses_a_pack_that_does_not_match_its_manifest(self):
        with tempfile.TemporaryDirectory() as d:
            _pack(d)
            keygen(os.path.join(d, "k.pem"), "k")
            with open(os.path.join(d, "lm.onnx"), "wb") as f:
                f.write(b"graph bytez")
            with self.assertRaisesRegex(SignError, "lm.onnx: sha256 differs"):
                sign_pack(d, load_private_key(os.path.join(d, "k.pem")), "k")
            self.assertFalse(os.path.exists(os.path.join(d, "manifest.sig")))

    def test_cli_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            _pack(d)
            with open(os.path.join(d, "bad.pem"), "w") as f:
                f.write("not a key")
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(main(["sign", d, "--key", os.path.join(d, "bad.pem"), "--key-id", "k"]), 2)
            self.assertIn("bad.pem: not an unencrypted PEM private key", err.getvalue())
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(main(["keygen", "--private", os.path.join(d, "k.pem"), "--key-id", "k"]), 0)
            with contextlib.redirect_stderr(err):
                self.assertEqual(main(["keygen", "--private", os.path.join(d, "k.pem"), "--key-id", "k"]), 2)
            self.assertIn("k.pem: exists; not overwritten", err.getvalue())


if __name__ == "__main__":
    unittest.main()
