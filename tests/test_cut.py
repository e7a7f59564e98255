"""test_cut.py: -o partial on a torch.save checkpoint cut short, as a crashed run leaves it (its
zip's central directory, written last, missing), docs/CONTRACT.md "When FILE cannot be decoded".

Run with `meson test -C build cut` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_cut.py

The fixtures (make_cut_fixtures.py) are a real torch.save checkpoint of three tensors and copies
cut before its directory, in a storage, after a storage, after data.pkl and inside data.pkl.
Without -o partial each is refused with one line and no call listed (torch.load reads no
pickle of an archive without its directory). With it, each mounts: the tensors whose storage
member is whole show exactly as in the whole checkpoint, the others say that their bytes are
not in the file, and __error__ holds the refusal's line.
"""

import json
import os
import struct

import pytest

import mountutil
from mountutil import mount, run

CUT = os.path.join(mountutil.FIXTURES, "cut")
with open(os.path.join(CUT, "expect.json")) as f:
    EXPECT = json.load(f)
FORMATS = {"a": "<4f", "b": "<6q", "c": "<3d"}


def path(name):
    return os.path.join(CUT, name)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_refused_without_partial(name):
    for exe in (mountutil.pkdump_exe(), mountutil.picklefs_exe()):
        args = [exe, path(name)] if exe.endswith("pkdump") else [exe, "--dump", path(name)]
        r = run(args)
        assert r.returncode == 1
        lines = r.stderr.decode().splitlines()
        assert len(lines) == 1, lines  # no call: torch.load unpickles nothing of it
        assert r.stdout == b""


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if EXPECT[n]["data_pkl_whole"]))
def test_partial_shows_the_whole_tensors(name):
    exp = EXPECT[name]
    with mount(path("full.pt")) as full, mount(path(name), ["-o", "partial"]) as mnt:
        assert sorted(os.listdir(mnt)) == ["__error__", "epoch", "state"]
        with open(os.path.join(mnt, "__error__")) as f:
            error = f.read()
        assert error.startswith("malformed zip archive: no end of central directory record")
        assert error.endswith("at byte %d (no opcode)\n" % os.path.getsize(path(name)))
        with open(os.path.join(mnt, "epoch")) as f:
            assert f.read() == "3\n"
        for key, values in exp["whole"].items():
            with open(os.path.join(mnt, "state", key)) as a, \
                    open(os.path.join(full, "state", key)) as b:
                assert a.read() == b.read()
            with open(os.path.join(mnt, "state", key + ".raw"), "rb") as f:
                assert f.read() == struct.pack(FORMATS[key], *values)
        for key in exp["missing"]:
            with open(os.path.join(mnt, "state", key)) as f:
                text = f.read()
            assert text.startswith("tensor dtype=torch.")
            assert "<element bytes not in the file>" in text


def test_partial_cut_inside_data_pkl_shows_its_stack():
    r = run([mountutil.pkdump_exe(), "-o", "partial", path("truncated_in_data_pkl.pt")])
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "1 = epoch\\n\n2 = 3\\n\n" in out  # what data.pkl held before the cut
    # the error is the line the file is refused with without -o partial
    assert "__error__ = malformed zip archive: no end of central directory record" in out


def test_partial_audit_is_not_affected():
    """--audit takes no -o partial: a cut archive is refused, exit 1."""
    r = run([mountutil.pkdump_exe(), "--audit", path("truncated_no_directory.pt")])
    assert r.returncode == 1
