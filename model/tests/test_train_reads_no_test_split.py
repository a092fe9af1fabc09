"""No code path in training reads the test split: the smoke training runs with the test split's files made
unreadable (each replaced by a folder of the same name, which no open() can read, root included) and must finish,
its tables made on the validation split."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TrainingReadsNoTestSplit(unittest.TestCase):
    def test_smoke_training_with_the_test_split_unreadable(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "data")
            subprocess.run(["/usr/bin/python3", "-m", "model.data.build_dataset", "--out", data, "--small"], check=True,
                           capture_output=True, cwd=REPO)
            for name in ("test.npz", "test.json"):
                p = os.path.join(data, name)
                self.assertTrue(os.path.exists(p), p)
                os.remove(p)
                os.mkdir(p)  # open() of a folder fails for every user
                with self.assertRaises(OSError):
                    open(p, "rb")
            r = subprocess.run(["/usr/bin/python3", "-m", "model.train.train", "--smoke", "--data", data, "--out", os.path.join(tmp, "run"),
                                "--pack", os.path.join(tmp, "pack")], capture_output=True, text=True, cwd=REPO)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            m = json.load(open(os.path.join(tmp, "run", "metrics.json")))
            self.assertEqual(m["eval_split"], "val")
            # the tables training writes are the validation slab's (same subject, other slab) and nothing else
            self.assertEqual(set(m["gen"]["sr"]), {"colin27_val"})
            self.assertEqual(set(m["vq"]["mri"]), {"colin27_val"})
            self.assertTrue(os.path.exists(os.path.join(tmp, "pack", "manifest.json")))
            shutil.rmtree(os.path.join(tmp, "run"))


if __name__ == "__main__":
    unittest.main()
