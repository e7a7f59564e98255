"""test_zips.py: zip archives of pickles that are no torch checkpoint, mounted through real FUSE.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_zips.py

The fixtures (tests/fixtures/zip) were written by Python's zipfile and the zip tool
(tests/make_zip_fixtures.py). What is checked:
- the archive is a directory of its members, folders as directories, in the archive's order;
- each pickle member (stored or deflated, protocols 0 to 5) mounts as that pickle mounted on
  its own does;
- a .npy member is its array; other members (text, also text that a protocol 0 pickle could
  begin as and that ends with a '.') are their bytes;
- an encrypted member is refused saying so;
- a TorchScript archive (torch.jit.save) shows its module (data.pkl, tensors read from its
  storages), constants.pkl, and its code/ as text files;
- truncations and bit flips are refused with one line or mount, and never crash.
"""

import json
import os
import random
import re
import tempfile
import zipfile
import zlib

import pytest

import mountutil
import spec_model
from mountutil import mount, run, walk

ZIPS = os.path.join(mountutil.FIXTURES, "zip")
ARCHIVE = os.path.join(ZIPS, "members.zip")
ALONE = sorted(os.listdir(os.path.join(ZIPS, "members")))


def member_bytes(name):
    with zipfile.ZipFile(ARCHIVE) as z:
        return z.read(name)


def subtree(tree, prefix):
    """{path below prefix: file content, or 'dir'} of a walk()."""
    out = {}
    for path, e in tree.items():
        path = b"" if path == spec_model.ROOT else path
        if path == prefix or path.startswith(prefix + b"/") or not prefix:
            rel = path[len(prefix):].lstrip(b"/")
            out[rel] = e.get("content", e["kind"])
    return out


@pytest.fixture(scope="module")
def archive_tree():
    with mount(ARCHIVE) as mnt:
        return walk(mnt)


def test_members_are_a_directory_in_archive_order(archive_tree):
    root = archive_tree[spec_model.ROOT]
    # an array's NAME.raw is found by name but never listed
    assert root["children"] == [b"config.pkl", b"data", b"weights.npy", b"README.txt",
                                b"old.pkl", b"old1.pkl", b"notes.txt", b"mark.txt"]
    assert archive_tree[b"data"]["children"] == [b"train", b"two.pkl"]
    assert archive_tree[b"data/train"]["children"] == [b"meta.pkl", b"rows.pkl"]


@pytest.mark.parametrize("alone", ALONE)
def test_pickle_member_mounts_as_on_its_own(archive_tree, alone):
    with mount(os.path.join(ZIPS, "members", alone)) as mnt:
        own = walk(mnt)
    path = alone.replace("__", "/").encode()
    assert subtree(archive_tree, path) == subtree(own, b"")


def test_other_members_are_bytes_and_arrays(archive_tree):
    with mount(ARCHIVE) as mnt:
        with open(os.path.join(mnt, "weights.npy.raw"), "rb") as f:
            raw = f.read()
    assert archive_tree[b"README.txt"]["content"] == member_bytes("README.txt")
    for name in ("notes.txt", "mark.txt"):
        assert archive_tree[name.encode()]["content"] == member_bytes(name)
    assert archive_tree[b"old.pkl"]["kind"] == "dir"  # a protocol 0 pickle: its dict
    npy = member_bytes("weights.npy")
    data = npy[10 + int.from_bytes(npy[8:10], "little"):]
    assert raw == data
    head = archive_tree[b"weights.npy"]["content"].split(b"\n")[0]
    assert head == b"ndarray dtype=float32 shape=(2, 3) crc32=0x%08x" % zlib.crc32(data)


def test_member_read_as_an_old_pickle_that_fails_refuses_the_file():
    """Bytes that scan as a protocol 0 pickle (a GET, then STOP) but name a memo index never
    put: refused naming the byte, as a malformed pickle member of protocol 2 to 5 is."""
    import io
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", b"hello")
        z.writestr("b.pkl", b"g5\n.")
    r = pkdump(out.getvalue())
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1, r
    assert "memo value not found at index 5 at byte 5 (GET)" in err, err


def test_torchscript_shows_module_constants_and_code():
    with open(os.path.join(ZIPS, "torchscript.json"), encoding="utf-8") as f:
        expect = json.load(f)
    with mount(os.path.join(ZIPS, "torchscript.pt")) as mnt:
        assert sorted(os.listdir(mnt)) == ["code", "constants.pkl", "data.pkl", "version"]
        for rel, t in expect["tensors"].items():
            with open(os.path.join(mnt, rel + ".raw"), "rb") as f:
                raw = f.read()
            assert len(raw) == t["nbytes"] and zlib.crc32(raw) == t["crc32"], rel
            assert os.getxattr(os.path.join(mnt, rel), "user.pickle.type") == b"tensor"
        for rel, text in expect["code"].items():
            with open(os.path.join(mnt, rel), encoding="utf-8") as f:
                assert f.read() == text, rel
        with open(os.path.join(mnt, "data.pkl", "__reduce__"), encoding="utf-8") as f:
            assert f.read() == "__torch__.Scaled()\n"


def pkdump(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return run([mountutil.pkdump_exe(), f.name])


def test_encrypted_member_is_refused_saying_so():
    with open(os.path.join(ZIPS, "encrypted.zip"), "rb") as f:
        r = pkdump(f.read())
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1, r
    assert re.match(r"^\w+: .+: zip archive with an encrypted member: not read at byte \d+ "
                    r"\(no opcode\)$", err), err


def test_truncations_and_bit_flips_never_crash():
    with open(ARCHIVE, "rb") as f:
        data = f.read()
    rng = random.Random(1)
    for n in sorted(rng.sample(range(len(data)), 100)):
        r = pkdump(data[:n])
        assert r.returncode == 1 and r.stderr.count(b"\n") == 1, (n, r)
    for _ in range(200):
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        r = pkdump(bytes(b))
        assert r.returncode in (0, 1), (i, r)
        if r.returncode == 1:
            assert r.stderr.count(b"\n") == 1, (i, r)
