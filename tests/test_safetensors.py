"""test_safetensors.py: safetensors files, mounted through real FUSE beside torch.save files of
the same tensors.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_safetensors.py

The fixtures (tests/fixtures/safetensors) were made by tests/make_safetensors_fixtures.py: each
NAME.safetensors (written by the script's small writer of the format, as Debian has no
safetensors package) beside NAME.pt, torch.save of the same tensors, and expect.json, what torch
returned. What is checked:
- each tensor file (dtype as torch names it, shape, crc32) and its NAME.raw against torch's;
- __metadata__ is a directory of text files;
- `diff -r` of the safetensors mount and the torch.save mount of a real state dict reports only
  __metadata__ (safetensors) and __state__ (the state dict's _metadata); of a plain dict of
  tensors, nothing: every tensor file and raw file is the same;
- the elements are read from FILE when read: a file rewritten under the mount gives EIO;
- truncations, bit flips and bad headers are refused with one line naming the byte.
"""

import json
import os
import random
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

import mountutil
import spec_model
from mountutil import mount, normalized, run, walk

ST = os.path.join(mountutil.FIXTURES, "safetensors")
with open(os.path.join(ST, "expect.json"), encoding="utf-8") as _f:
    EXPECT = json.load(_f)

HEADER = re.compile(r"^tensor dtype=(\S+) shape=\(([^)]*)\) crc32=0x([0-9a-f]{8})$")


def fx(name):
    return os.path.join(ST, name)


def entry_name(key):
    """The entry a dict key names (the escaping of docs/CONTRACT.md, for the keys used here)."""
    return key if "/" not in key else repr(key).replace("/", "\\x2f")


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_tensors_and_metadata(name):
    e = EXPECT[name]
    with mount(fx(name + ".safetensors")) as mnt:
        for key, t in e["tensors"].items():
            path = os.path.join(mnt, entry_name(key))
            with open(path, encoding="utf-8") as f:
                head = f.readline().rstrip("\n")
            with open(path + ".raw", "rb") as f:
                raw = f.read()
            assert os.getxattr(path, "user.pickle.type") == b"tensor"
            m = HEADER.match(head)
            assert m, head
            assert m.group(1) == t["dtype"]
            assert [int(x) for x in m.group(2).replace(",", " ").split()] == t["shape"]
            assert int(m.group(3), 16) == t["crc32"]
            assert len(raw) == t["nbytes"] and zlib.crc32(raw) == t["crc32"]
        meta = os.path.join(mnt, "__metadata__")
        if e["metadata"]:
            for k, v in e["metadata"].items():
                with open(os.path.join(meta, k), encoding="utf-8") as f:
                    assert f.read() == v + "\n"
        else:
            assert not os.path.exists(meta)
        names = set(os.listdir(mnt)) - {"__metadata__"}
        assert names == {entry_name(k) for k in e["tensors"]}  # NAME.raw is not listed


def test_plain_dict_mounts_as_its_torch_save():
    with mount(fx("dtypes.safetensors")) as mnt:
        got = walk(mnt)
    with mount(fx("dtypes.pt")) as mnt:
        want = walk(mnt)
    g, w = normalized(got), normalized(want)
    for tree in (g, w):
        root = tree[spec_model.ROOT]
        root["children"] = sorted(root["children"])  # safetensors sorts its tensors
    assert g == w


def test_diff_with_a_state_dict_shows_only_the_metadata():
    with mount(fx("model.safetensors")) as a, mount(fx("model.pt")) as b:
        r = subprocess.run(["diff", "-r", a, b], capture_output=True, text=True, timeout=60)
    lines = set(r.stdout.splitlines())
    assert lines == {"Only in %s: __metadata__" % a, "Only in %s: __state__" % b}, r.stdout


def test_elements_are_read_from_the_file():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        shutil.copy(fx("dtypes.safetensors"), path)
        with mount(path) as mnt:
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) - 1)
            with pytest.raises(OSError) as e:
                with open(os.path.join(mnt, "big.raw"), "rb") as f:
                    f.read()
            assert e.value.errno == 5


def st_bytes(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def refusal(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        r = run([mountutil.pkdump_exe(), f.name])
        assert r.returncode == 1, r
        err = r.stderr.decode()
        assert err.count("\n") == 1 and re.match(r"^\w+: .+: .+ at byte \d+ \(.+\)$", err), err
        return err


@pytest.mark.parametrize("header,data,what", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4,
     "data offsets outside the file at byte 9 (no opcode)"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8,
     "data offsets of 8 bytes for a tensor of 12 bytes at byte 9 (no opcode)"),
    ({"a": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 1]}}, b"\0",
     "unknown dtype Q7"),
    ({"a": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 0]}}, b"",
     "shape too large"),
    ({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, "tensor lacks a member"),
])
def test_bad_header_is_refused_naming_it(header, data, what):
    assert what in refusal(st_bytes(header, data))


@pytest.mark.parametrize("name", ["model.safetensors", "dtypes.safetensors"])
def test_truncations_and_bit_flips_never_crash(name):
    with open(fx(name), "rb") as f:
        data = f.read()
    rng = random.Random(name)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.safetensors")
        for n in sorted(rng.sample(range(len(data)), 100)):
            with open(path, "wb") as f:
                f.write(data[:n])
            r = run([mountutil.pkdump_exe(), path])
            assert r.returncode == 1 and r.stderr.count(b"\n") == 1, (n, r)
        for _ in range(150):
            b = bytearray(data)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            with open(path, "wb") as f:
                f.write(b)
            r = run([mountutil.pkdump_exe(), path])
            assert r.returncode in (0, 1), (i, r)
            if r.returncode == 1:
                assert r.stderr.count(b"\n") == 1, (i, r)
