#!/usr/bin/python3
"""make_zip_fixtures.py: zip archives of pickles that are no torch checkpoint, written by Python's
zipfile and by the zip tool, with the pickles they hold beside them.

    /usr/bin/python3 tests/make_zip_fixtures.py

writes tests/fixtures/zip/: members.zip (stored and deflated members: pickles of protocols 0 to
5, some in nested folders, two pickles back to back, a .npy, text (some that a protocol 0
pickle could begin as), a folder's own entry), each pickle member also as a file of its own
under members/ (its path with / as
__), encrypted.zip (`zip -P`, a password-protected member), and torchscript.pt (torch.jit.save)
with torchscript.json, what its mount must show. test_zips.py mounts them. The files are
committed; re-run only to change them.
"""

import io
import os
import pickle
import shutil
import subprocess
import tempfile
import zipfile

import json
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "zip")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "members"))
    npy = io.BytesIO()
    np.save(npy, np.arange(6, dtype="<f4").reshape(2, 3))
    members = [
        ("config.pkl", pickle.dumps({"lr": 0.1, "layers": [64, 32], "name": "run 1"}, protocol=4),
         zipfile.ZIP_DEFLATED),
        ("data/train/meta.pkl", pickle.dumps({"rows": 3, "cols": ("a", "b")}, protocol=2),
         zipfile.ZIP_STORED),
        ("data/train/rows.pkl", pickle.dumps([[1, 2.5], [3, None]], protocol=5),
         zipfile.ZIP_DEFLATED),
        ("data/two.pkl", pickle.dumps("first", protocol=3) + pickle.dumps(2, protocol=3),
         zipfile.ZIP_STORED),
        ("data/", b"", zipfile.ZIP_STORED),
        ("weights.npy", npy.getvalue(), zipfile.ZIP_STORED),
        ("README.txt", b"what this archive holds\n", zipfile.ZIP_DEFLATED),
        ("old.pkl", pickle.dumps({"p": 0}, protocol=0), zipfile.ZIP_STORED),
        ("old1.pkl", pickle.dumps({"p": [1, 2.5, "x", b"y", None]}, protocol=1),
         zipfile.ZIP_DEFLATED),
        # text that begins as a protocol 0 pickle can and ends with its STOP ('.'): no pickle
        ("notes.txt", b"Nothing to see.", zipfile.ZIP_STORED),
        ("mark.txt", b"(.", zipfile.ZIP_DEFLATED),
    ]
    with zipfile.ZipFile(os.path.join(OUT, "members.zip"), "w") as z:
        for name, data, how in members:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 2, 3, 4, 6)), data, compress_type=how)
            if name.endswith(".pkl"):
                with open(os.path.join(OUT, "members", name.replace("/", "__")), "wb") as f:
                    f.write(data)
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "secret.pkl"), "wb") as f:
            f.write(pickle.dumps({"k": 1}, protocol=4))
        subprocess.run(["zip", "-q", "-X", "-P", "password", os.path.join(OUT, "encrypted.zip"),
                        "secret.pkl"], cwd=d, check=True)
    torchscript()


class Scaled(torch.nn.Module):
    """A module with a submodule, a buffer and a constant in its code."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.register_buffer("steps", torch.tensor([3, 4]))

    def forward(self, x):
        return self.lin(x) * 2.5 + self.steps.sum()


def torchscript():
    """torchscript.pt, written by torch.jit.save, and what its mount must show
    (torchscript.json): each tensor's path, crc32 and bytes; each code/ member's text."""
    torch.manual_seed(0)
    path = os.path.join(OUT, "torchscript.pt")
    torch.jit.save(torch.jit.script(Scaled()), path)
    m = torch.jit.load(path)
    tensors = {"data.pkl/lin/weight": m.lin.weight, "data.pkl/lin/bias": m.lin.bias,
               "data.pkl/steps": m.steps}
    expect = {"tensors": {}, "code": {}}
    for rel, t in tensors.items():
        b = t.detach().contiguous().numpy().tobytes()
        expect["tensors"][rel] = {"crc32": zlib.crc32(b), "nbytes": len(b)}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            rel = name.split("/", 1)[1]
            if rel.startswith("code/") and rel.endswith(".py"):
                expect["code"][rel] = z.read(name).decode()
    with open(os.path.join(OUT, "torchscript.json"), "w", encoding="utf-8") as f:
        json.dump(expect, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
