"""test_formats.py: recognising a file by trying, through real FUSE mounts.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_formats.py

A zlib stream starts with two bytes that some pickles start with too: a MARK followed by a
STRING or a FROZENSET, or a BINUNICODE whose length's low byte makes the pair a multiple of 31.
Every such start is made here (by Python's own pickle, or by hand where only Python 2 wrote
it) and must mount as the pickle it is, not be refused as corrupt zlib. Files that are no
pickle at all are refused with one line that says what they look like.
"""

import os
import pickle
import re
import tempfile

import pytest

import mountutil
from mountutil import mount, run


def zlib_header(a, b):
    """What picklefs takes for a zlib header: deflate, a window up to 32 KiB, a valid check."""
    return a & 0x0F == 8 and a >> 4 <= 7 and (a * 256 + b) % 31 == 0


def zlib_looking_pickles():
    """(name, pickle bytes, {path: content}) for every pickle start that is a zlib header."""
    cases = [
        # Python 2's pickle.dumps(('abc', 1)): MARK, STRING
        ("mark_string", b"(S'abc'\np0\nI1\ntp1\n.", {"0": b"abc\n", "1": b"1\n"}),
        # MARK, FROZENSET: an empty frozenset, as a protocol 4 stream without its PROTO
        ("mark_frozenset", b"(\x91.", {}),
    ]
    for n in range(256 * 4):
        if zlib_header(ord("X"), n & 0xFF) and n >= 1:
            s = "s%d-" % n
            s += "x" * (n - len(s))
            data = pickle.dumps(s, protocol=1)
            assert data[:2] == bytes([ord("X"), n & 0xFF])
            cases.append(("binunicode_%d" % n, data, {"0": s.encode() + b"\n"}))
    assert all(zlib_header(d[0], d[1]) for _, d, _ in cases)
    return cases


CASES = zlib_looking_pickles()


@pytest.mark.parametrize("name,data,files", CASES, ids=[c[0] for c in CASES])
def test_zlib_looking_pickle_mounts(name, data, files):
    with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        f.write(data)
        f.flush()
        with mount(f.name) as mnt:
            for rel, content in files.items():
                with open(os.path.join(mnt, rel), "rb") as g:
                    assert g.read() == content, (name, rel)
            if not files:
                assert os.listdir(mnt) == [], name


def refusal(data):
    """pkdump's and picklefs's one-line refusal of a file holding data."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        lines = []
        for cmd in ([mountutil.pkdump_exe(), f.name], [mountutil.picklefs_exe(), "-f", f.name, "/tmp"]):
            r = run(cmd)
            err = r.stderr.decode()
            assert r.returncode == 1 and err.count("\n") == 1, (cmd, r)
            assert re.match(r"^\w+: .+: .+ at byte \d+ \(.+\)$", err.strip()), err
            lines.append(err)
        return lines[0]


def test_text_file_is_refused_as_text():
    err = refusal(b"hello world, this is a README and no pickle at all\n")
    assert "not a pickle: the file looks like text" in err, err


@pytest.mark.parametrize("data,what", [
    (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32), "a 7z archive"),
    (b"%PDF-1.7\n" + bytes(32), "a PDF document"),
    (b"\x89HDF\r\n\x1a\n" + bytes(32), "an HDF5 file"),
])
def test_foreign_file_is_refused_naming_it(data, what):
    err = refusal(data)
    assert "not a pickle: the file looks like " + what in err, err


def test_corrupt_zlib_that_is_no_pickle_keeps_the_zlib_error():
    # a zlib header, then bytes that neither inflate nor decode as a pickle
    err = refusal(b"\x78\x9c" + b"\xff" * 40)
    assert "corrupt compressed data" in err, err
