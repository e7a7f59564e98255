"""test_numpy.py: numpy's own .npy and .npz files, mounted through real FUSE.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_numpy.py

The fixtures (tests/fixtures/npy) were written by numpy itself (tests/make_numpy_fixtures.py):
each NAME.npy or NAME.npz beside NAME.pkl, a pickle of what numpy loads back from it (the array,
or the dict of arrays), and expect.json, what numpy's loader returned. What is checked:
- every .npy (format versions 1, 2 and 3; little and big endian; C and Fortran order; numbers,
  bools, complex, half floats, str, bytes, records, padded records, datetimes, 0-d and empty
  arrays, and object arrays, whose elements are a pickle) mounts exactly as its pickle does:
  `diff -r` of the two mounts finds nothing;
- each array file's dtype, shape and crc32, and its 0.raw bytes, against numpy's; datetime64
  and timedelta64 arrays of every unit, their dtype and values as numpy prints them;
- a .npz (stored or deflated) is a directory of its arrays named without .npy, in the
  archive's order, and mounts as the pickle of the dict np.load gives (object arrays too, in
  stored and deflated members); a zip with other members is no .npz, but a zip of members;
- a gzip-compressed .npy mounts as the .npy does;
- the elements are read from FILE when read: a file rewritten under the mount gives EIO;
- every truncation (sampled for .npz) and random bit flips of .npy and .npz files are refused
  with one line or mount, and never crash; bad headers are refused naming the byte.
"""

import gzip
import json
import os
import random
import re
import shutil
import tempfile
import zlib

import pytest

import mountutil
from mountutil import mount, normalized, run, walk

NPY = os.path.join(mountutil.FIXTURES, "npy")
with open(os.path.join(NPY, "expect.json"), encoding="utf-8") as _f:
    EXPECT = json.load(_f)

HEADER = re.compile(r"^ndarray dtype=(.+?) shape=\(([^)]*)\)(?: stride=\(([^)]*)\))? "
                    r"crc32=0x([0-9a-f]{8})$")
NAMES = sorted(EXPECT)


def fx(name):
    return os.path.join(NPY, name)


def test_every_format_version_is_covered():
    assert {e["version"] for n, e in EXPECT.items() if n.endswith(".npy")} == {1, 2, 3}


@pytest.mark.parametrize("name", NAMES)
def test_file_mounts_as_its_pickle(name):
    with mount(fx(name)) as mnt:
        got = walk(mnt)
    with mount(fx(name[:-4] + ".pkl")) as mnt:
        want = walk(mnt)
    assert normalized(got) == normalized(want)


def check_array(mnt, rel, e):
    """The array file rel and rel.raw against numpy's expectation e."""
    with open(os.path.join(mnt, rel), encoding="utf-8") as f:
        head = f.readline().rstrip("\n")
        while " crc32=0x" not in head:  # a structured array's header wraps at 75 columns
            head += " " + f.readline().rstrip("\n").lstrip(" ")
    with open(os.path.join(mnt, rel + ".raw"), "rb") as f:
        raw = f.read()
    assert os.getxattr(os.path.join(mnt, rel), "user.pickle.type") == b"ndarray"
    m = HEADER.match(head)
    assert m, head
    if not e["dtype"].startswith(("[", "{")):
        assert m.group(1) == e["dtype"], head
    shape = [int(x) for x in m.group(2).replace(",", " ").split()]
    assert shape == e["shape"]
    assert int(m.group(4), 16) == e["crc32"]
    assert len(raw) == e["nbytes"] and zlib.crc32(raw) == e["crc32"]


@pytest.mark.parametrize("name", [n for n in NAMES if "crc32" in EXPECT[n]])
def test_npy_array_file_and_raw_bytes(name):
    with mount(fx(name)) as mnt:
        assert sorted(os.listdir(mnt)) == ["0"]  # 0.raw is found by name, never listed
        check_array(mnt, "0", EXPECT[name])


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith(".npz")])
def test_npz_is_a_directory_of_its_arrays(name):
    members = EXPECT[name]["members"]
    with mount(fx(name)) as mnt:
        names = [n for n in os.listdir(mnt) if not n.endswith(".raw")]
        assert names == [k for k, _ in members]  # in the archive's order, without .npy
        for rel, e in members:
            if "crc32" in e:
                check_array(mnt, rel, e)
            else:
                assert os.path.isdir(os.path.join(mnt, rel))


def test_zip_of_npy_and_other_members_is_no_npz():
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        with open(fx("f32.npy"), "rb") as f:
            z.writestr("a.npy", f.read())
        z.writestr("notes.txt", "hello")
    with tempfile.NamedTemporaryFile() as f:
        f.write(out.getvalue())
        f.flush()
        with mount(f.name) as mnt:
            # a zip of members (test_zips.py): the array keeps its .npy, the text is bytes
            assert sorted(os.listdir(mnt)) == ["a.npy", "notes.txt"]


@pytest.mark.parametrize("name", ["f32.npy", "objects.npy"])
def test_compressed_npy_mounts_as_the_npy(name):
    with open(fx(name), "rb") as f:
        data = f.read()
    with tempfile.NamedTemporaryFile() as t:
        t.write(gzip.compress(data))
        t.flush()
        with mount(t.name) as mnt:
            got = walk(mnt)
    with mount(fx(name)) as mnt:
        want = walk(mnt)
    assert normalized(got) == normalized(want)


@pytest.mark.parametrize("name", [n for n in NAMES if "text" in EXPECT[n]])
def test_values_are_shown_as_numpy_prints_them(name):
    """datetimes of every unit (the generic one too), records nested and of sub-arrays: the
    dtype as numpy's str(dtype), the values as numpy's array2string. A structured array's
    header and records wrap at 75 columns between fields, where numpy keeps a record on one
    line: its continuation lines (two spaces or more) are joined back before comparing."""
    with mount(fx(name)) as mnt:
        with open(os.path.join(mnt, "0"), encoding="utf-8") as f:
            text = f.read()
    head, body = text.split("\n", 1)
    while " crc32=0x" not in head:
        more, body = body.split("\n", 1)
        head += " " + more.lstrip(" ")
    assert HEADER.match(head).group(1) == EXPECT[name]["dtype"]
    if name.startswith("record_"):
        body = re.sub(r",\n {2,}", ", ", body)
    assert body == EXPECT[name]["text"] + "\n"


def test_time_scalars_are_numpys_str():
    with open(fx("time_scalars.json"), encoding="utf-8") as f:
        want = json.load(f)
    with mount(fx("time_scalars.pkl")) as mnt:
        for i, text in enumerate(want):
            p = os.path.join(mnt, str(i))
            with open(p, encoding="utf-8") as f:
                assert f.read() == text + "\n", i
            kind = b"timedelta64" if "second" in text or "unit" in text or "days" in text \
                else b"datetime64"
            if i != 11:  # NaT of timedelta64[s]
                assert os.getxattr(p, "user.pickle.type") == kind, i


def test_object_array_is_its_list():
    with mount(fx("objects.npy")) as mnt:
        assert sorted(os.listdir(mnt)) == ["0", "1", "2", "3"]
        with open(os.path.join(mnt, "1"), "rb") as f:
            assert f.read() == b"a\n"
        with open(os.path.join(mnt, "3", "k", "1"), "rb") as f:
            assert f.read() == b"3\n"


def test_elements_are_read_from_the_file():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "a.npy")
        shutil.copy(fx("f64_big.npy"), path)
        with mount(path) as mnt:
            with open(path, "r+b") as f:
                f.truncate(200)
            with pytest.raises(OSError) as e:
                with open(os.path.join(mnt, "0.raw"), "rb") as f:
                    f.read()
            assert e.value.errno == 5


def refusal(data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        r = run([mountutil.pkdump_exe(), f.name])
        assert r.returncode == 1, r
        err = r.stderr.decode()
        assert err.count("\n") == 1 and re.match(r"^\w+: .+: .+ at byte \d+ \(.+\)$", err), err
        return err


def npy_bytes(header, data=b""):
    h = header.encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + data


@pytest.mark.parametrize("header,what", [
    ("{'descr': 1, 'fortran_order': False, 'shape': (2,), }\n",
     "malformed .npy header: a quoted str expected at byte 20 (no opcode)"),
    ("{'descr': '<f4', 'shape': (2,), }\n", "descr, fortran_order or shape missing"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n",
     "a key other than descr"),
    ("{'descr': '<q9', 'fortran_order': False, 'shape': (2,), }\n", "dtype <q9 not read"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
     "array data of 8 bytes larger than the 0 bytes left at byte 68 (no opcode)"),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }\n",
     "shape too large"),
    ("{'descr': [('a', '<i4', (1, 1, 1, 1, 1, 1, 1, 1, 1))], 'fortran_order': False, "
     "'shape': (2,), }\n", "more than 8 dimensions"),
    ("{'descr': [('a', [('b', [('c', [('d', [('e', [('f', [('g', [('h', [('i', '<i4')])])])])])])])], "
     "'fortran_order': False, 'shape': (2,), }\n", "nested more than 8 deep"),
    ("{'descr': [('a', [])], 'fortran_order': False, 'shape': (2,), }\n",
     "a structured dtype without fields"),
])
def test_bad_header_is_refused_naming_it(header, what):
    assert what in refusal(npy_bytes(header))


def test_bad_version_is_refused():
    assert "format version 9.0" in refusal(b"\x93NUMPY\x09\x00" + bytes(40))


def test_header_longer_than_the_file_is_refused():
    err = refusal(b"\x93NUMPY\x02\x00\xff\xff\xff\x00{}")
    assert "header length 16777215 larger than the 2 bytes left at byte 8" in err, err


def one_refusal(stderr):
    """One refusal line, then only the calls decoded before the error (an object array's)."""
    lines = stderr.split(b"\n")[:-1]
    return len(lines) >= 1 and all(l.startswith((b"  call at byte ", b"  and ")) for l in lines[1:])


@pytest.mark.parametrize("name", ["f32.npy", "objects.npy", "record.npy", "v3.npy"])
def test_truncations_refused_or_read_never_crash(name):
    with open(fx(name), "rb") as f:
        data = f.read()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.npy")
        for n in range(len(data)):
            with open(path, "wb") as f:
                f.write(data[:n])
            r = run([mountutil.pkdump_exe(), path])
            assert r.returncode == 1 and one_refusal(r.stderr), (n, r)


@pytest.mark.parametrize("name", ["stored_objects.npz", "deflated.npz"])
def test_npz_truncations_refused_never_crash(name):
    with open(fx(name), "rb") as f:
        data = f.read()
    rng = random.Random(name)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.npz")
        for n in sorted(rng.sample(range(len(data)), 120)):
            with open(path, "wb") as f:
                f.write(data[:n])
            r = run([mountutil.pkdump_exe(), path])
            assert r.returncode == 1 and one_refusal(r.stderr), (n, r)


@pytest.mark.parametrize("name", ["f32.npy", "objects.npy", "record_aligned.npy",
                                  "stored_objects.npz", "deflated.npz"])
def test_bit_flips_never_crash(name):
    with open(fx(name), "rb") as f:
        data = f.read()
    rng = random.Random(name)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.npy")
        for _ in range(150):
            b = bytearray(data)
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
            with open(path, "wb") as f:
                f.write(b)
            r = run([mountutil.pkdump_exe(), path])
            assert r.returncode in (0, 1), (i, r)
            if r.returncode == 1:
                assert one_refusal(r.stderr), (i, r)
