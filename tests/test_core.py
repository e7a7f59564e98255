"""test_core.py: mount every core fixture through real FUSE and compare it with spec_model.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_core.py

What is checked:
- every fixture in tests/fixtures/core/ (and fixtures/demo.pkl) mounts as spec_model predicts:
  paths, readdir order, kinds, contents, sizes, modes, st_nlink, link targets, xattrs;
- the same object pickled at protocols 0..5 mounts identically;
- what users do: cat, grep -rl, diff -r between two mounts, partial reads;
- every write fails with EROFS (command line: test_cli.py; prefill: test_prefill.py).
"""

import errno
import glob
import os
import re
import stat
import pickle

import pytest

import mountutil
import spec_model
from mountutil import DEMO, compare, fail_with, mount, run, short, walk

CORE = os.path.join(mountutil.FIXTURES, "core")
CORE_FILES = sorted(glob.glob(os.path.join(CORE, "*.pkl")))
MODEL_FILES = CORE_FILES + [DEMO]
BY_NAME = {}
for _f in CORE_FILES:
    _m = re.match(r"(.+)_p([0-5])\.pkl$", os.path.basename(_f))
    if _m:
        BY_NAME.setdefault(_m.group(1), {})[int(_m.group(2))] = _f
ERROR_LINE = re.compile(r"^picklefs: .+: .+ at byte \d+ \(.+\)$")

_walks = {}


def walk_of(file):
    """The mounted tree of file; each fixture is mounted once per test session."""
    if file not in _walks:
        with mount(file) as mnt:
            _walks[file] = walk(mnt)
    return _walks[file]


@pytest.mark.parametrize("fixture", MODEL_FILES, ids=os.path.basename)
def test_mount_matches_model(fixture):
    expected = spec_model.expected_tree_of_file(fixture)
    actual = walk_of(fixture)
    fail_with(compare(expected, actual),
              "%s: the mounted tree differs from spec_model:" % os.path.relpath(fixture))


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_protocols_mount_identically(name):
    files = BY_NAME[name]
    assert sorted(files) == list(range(6)), "fixture %s lacks some protocols: %s" % (name, sorted(files))
    base = mountutil.normalized(walk_of(files[5]))
    msgs = []
    for p in range(5):
        other = mountutil.normalized(walk_of(files[p]))
        for path in sorted(set(base) | set(other)):
            if base.get(path) != other.get(path):
                b, o = base.get(path), other.get(path)
                if b is None or o is None:
                    msgs.append("%s: in protocol %d %s, in protocol 5 %s" % (
                        short(path, 120), p, "present" if o else "absent", "present" if b else "absent"))
                    continue
                for k in sorted(set(b) | set(o)):
                    if b.get(k) != o.get(k):
                        msgs.append("%s: %s: protocol 5 %s, protocol %d %s" % (
                            short(path, 120), k, short(b.get(k)), p, short(o.get(k))))
    fail_with(msgs, "%s: protocols 0..4 do not mount like protocol 5:" % name)


def test_model_is_protocol_independent():
    """A check of the harness itself: spec_model sees the same tree at every protocol."""
    for name, files in BY_NAME.items():
        trees = [spec_model.expected_tree_of_file(files[p]) for p in range(6)]
        for p in range(5):
            assert trees[p] == trees[5], "spec_model differs for %s between p%d and p5" % (name, p)


# ---- what users do ----

def files_containing(tree, needle):
    return sorted(p for p, e in tree.items() if e["kind"] == "file" and needle in e["content"])


@pytest.mark.parametrize("fixture,needle", [
    (os.path.join(CORE, "nested_p4.pkl"), b"needle-42"),
    (os.path.join(CORE, "nested_p0.pkl"), b"needle-42"),
    (DEMO, b"Grace Hopper"),
    (DEMO, b"alice@example.com"),
    (os.path.join(CORE, "shared_p2.pkl"), b"shared bytearray"),
], ids=lambda v: os.path.basename(v) if isinstance(v, str) else v.decode())
def test_grep_rl_finds_exactly_the_file(fixture, needle):
    expected = files_containing(spec_model.expected_tree_of_file(fixture), needle)
    assert expected, "harness: the needle is in no file of the model"
    with mount(fixture) as mnt:
        r = run(["grep", "-rl", "--", needle, mnt])
        assert r.returncode == 0, "grep -rl exited %d: %s" % (r.returncode, r.stderr)
        prefix = os.fsencode(mnt) + b"/"
        found = sorted(line[len(prefix):] if line.startswith(prefix) else line
                       for line in r.stdout.splitlines())
        assert found == expected, "grep -rl %r: expected %r, got %r" % (needle, expected, found)
        assert r.stderr == b"", "grep wrote to stderr: %r" % r.stderr


def test_cat_and_partial_reads():
    fixture = os.path.join(CORE, "scalars_p5.pkl")
    tree = spec_model.expected_tree_of_file(fixture)
    with mount(fixture) as mnt:
        for name in (b"all_bytes", b"e_acute", b"huge_neg", b"lone_surrogate", b"nan",
                     b"empty_bytes", b"bytes_20000"):
            r = run(["cat", os.path.join(os.fsencode(mnt), name)])
            assert r.returncode == 0, "cat %r: %s" % (name, r.stderr)
            assert r.stdout == tree[name]["content"], "cat %r: expected %s, got %s" % (
                name, short(tree[name]["content"]), short(r.stdout))
        big = tree[b"bytes_20000"]["content"]
        fd = os.open(os.path.join(os.fsencode(mnt), b"bytes_20000"), os.O_RDONLY)
        try:
            for off, size in ((0, 1), (1, 4095), (4095, 2), (10000, 5000), (19999, 10),
                              (20000, 10), (50000, 10), (0, 100000)):
                got = os.pread(fd, size, off)
                assert got == big[off:off + size], "pread(size=%d, offset=%d): expected %s, got %s" % (
                    size, off, short(big[off:off + size]), short(got))
        finally:
            os.close(fd)


def demo_like(age):
    return {"users": [{"name": "Ada", "age": 36}, {"name": "Alan", "age": age}],
            "config": {"debug": False, "ports": [80, 443], "ratio": 0.5}}


def test_diff_r_reports_exactly_the_changed_file(tmp_path):
    a, b, c = tmp_path / "a.pkl", tmp_path / "b.pkl", tmp_path / "c.pkl"
    a.write_bytes(pickle.dumps(demo_like(41), protocol=2))
    b.write_bytes(pickle.dumps(demo_like(42), protocol=4))
    c.write_bytes(pickle.dumps(demo_like(41), protocol=5))
    with mount(str(a)) as ma, mount(str(b)) as mb, mount(str(c)) as mc:
        r = run(["diff", "-r", ma, mb])
        assert r.returncode == 1, "diff -r exited %d: %s %s" % (r.returncode, r.stdout, r.stderr)
        headers = [l for l in r.stdout.decode().splitlines()
                   if l.startswith(("diff ", "Only in", "Binary files", "File "))]
        want = ["diff -r %s/users/1/age %s/users/1/age" % (ma, mb)]
        assert headers == want, "diff -r: expected %r, got %r\n%s" % (want, headers, r.stdout.decode())
        assert "< 41" in r.stdout.decode() and "> 42" in r.stdout.decode(), r.stdout.decode()
        r = run(["diff", "-r", ma, mc])
        assert r.returncode == 0, "same object at protocols 2 and 5: diff -r says\n%s%s" % (
            r.stdout.decode(), r.stderr.decode())


def test_inodes_stable_and_times_of_file():
    fixture = os.path.join(CORE, "shared_p4.pkl")
    src = os.stat(fixture)
    with mount(fixture) as mnt:
        w1 = walk(mnt)
        w2 = walk(mnt)
        for path in w1:
            assert w1[path]["ino"] == w2[path]["ino"], "%r: inode changed from %d to %d" % (
                path, w1[path]["ino"], w2[path]["ino"])
        inos = [e["ino"] for e in w1.values()]
        assert len(set(inos)) == len(inos), "two entries share an inode number"
        for path, e in w1.items():
            assert int(e["st"].st_mtime) == int(src.st_mtime), "%r: mtime %s, FILE's %s" % (
                path, e["st"].st_mtime, src.st_mtime)


def test_inode_numbers_vary_in_their_low_bits(tmp_path):
    """The files of records are derived entries, numbered by directory and position; what the
    mount shows (st_ino, and d_ino in a listing) must still vary in its low 16 bits, which is
    all mksquashfs hashes to find hard links. Also unique, and the same on a second mount."""
    path = tmp_path / "records.pkl"
    path.write_bytes(pickle.dumps([{"a": i, "b": str(i), "c": i / 3} for i in range(400)],
                                  protocol=4))
    seen = []
    for _ in range(2):
        with mount(str(path)) as mnt:
            inos = {}
            for d in os.scandir(mnt):
                for f in os.scandir(d.path):
                    inos[f.path[len(mnt):]] = (f.inode(), os.stat(f.path).st_ino)
            seen.append(inos)
    assert seen[0] == seen[1], "inode numbers changed between two mounts of one file"
    listed = [a for a, _ in seen[0].values()]
    assert all(a == b for a, b in seen[0].values()), "d_ino and st_ino disagree"
    assert len(set(listed)) == len(listed) == 1200
    low = {i & 0xFFFF for i in listed}
    assert len(low) > 1150, "only %d distinct low 16 bits among 1200 files" % len(low)


# ---- read-only ----

def _write_ops(m):
    f = os.path.join(m, "users", "0", "name")
    d = os.path.join(m, "users", "0")
    return {
        "open_for_write": lambda: os.open(f, os.O_WRONLY),
        "open_read_write": lambda: os.open(f, os.O_RDWR),
        "open_append": lambda: os.open(f, os.O_WRONLY | os.O_APPEND),
        "open_truncate": lambda: os.open(f, os.O_WRONLY | os.O_TRUNC),
        "create": lambda: os.open(os.path.join(d, "new"), os.O_WRONLY | os.O_CREAT, 0o644),
        "mknod": lambda: os.mknod(os.path.join(d, "fifo"), 0o644 | stat.S_IFIFO),
        "mkdir": lambda: os.mkdir(os.path.join(d, "newdir")),
        "rmdir": lambda: os.rmdir(os.path.join(m, "config", "features")),
        "unlink": lambda: os.unlink(f),
        "rename": lambda: os.rename(f, os.path.join(d, "renamed")),
        "symlink": lambda: os.symlink("name", os.path.join(d, "link")),
        "link": lambda: os.link(f, os.path.join(d, "hardlink")),
        "chmod": lambda: os.chmod(f, 0o644),
        "chmod_dir": lambda: os.chmod(d, 0o755),
        "chown": lambda: os.chown(f, 1, 1),
        "truncate": lambda: os.truncate(f, 0),
        "utime": lambda: os.utime(f, (0, 0)),
        "setxattr": lambda: os.setxattr(f, "user.x", b"1"),
        "setxattr_existing": lambda: os.setxattr(f, "user.pickle.type", b"int"),
        "removexattr": lambda: os.removexattr(f, "user.pickle.type"),
    }


WRITE_OPS = sorted(_write_ops("/x"))


@pytest.fixture(scope="module")
def demo_mount():
    with mount(DEMO) as mnt:
        yield mnt


@pytest.mark.parametrize("op", WRITE_OPS)
def test_write_fails_with_erofs(demo_mount, op):
    fn = _write_ops(demo_mount)[op]
    try:
        r = fn()
    except OSError as e:
        assert e.errno == errno.EROFS, "%s: expected EROFS, got %s (%s)" % (
            op, errno.errorcode.get(e.errno, e.errno), e.strerror)
    else:
        if isinstance(r, int):
            os.close(r)
        pytest.fail("%s succeeded on a read-only mount" % op)
    assert open(os.path.join(demo_mount, "users", "0", "name"), "rb").read() == b"Ada Lovelace\n"


def test_listxattr_lists_only_what_getxattr_answers():
    """Every name listxattr gives, getxattr answers, on every kind of entry. Linux answers a
    getxattr of a user.* name on a symlink with ENODATA without asking picklefs, so symlinks
    list nothing."""
    fixture = os.path.join(CORE, "cycles_p5.pkl")
    links = 0
    with mount(fixture) as mnt:
        for dirpath, dirnames, filenames in os.walk(mnt):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                listed = os.listxattr(full, follow_symlinks=False)
                for x in listed:
                    try:
                        os.getxattr(full, x, follow_symlinks=False)
                    except OSError as e:
                        pytest.fail("%s lists %s, which getxattr refuses: %s" % (full, x, e))
                if os.path.islink(full):
                    links += 1
                    assert listed == [], "symlink %s lists %r" % (full, listed)
    assert links > 0, "the fixture has no symlink to check"


def test_pkdump_lines_are_utf8():
    """pkdump's output is valid UTF-8 whatever a pickle holds (surrogates, invalid bytes in
    bytes values, overlong forms): such bytes are escaped as \\xNN, valid UTF-8 kept."""
    files = sorted(f for f in glob.glob(os.path.join(mountutil.FIXTURES, "**", "*"),
                                        recursive=True) if os.path.isfile(f))
    escaped = 0
    for f in files:
        r = run([mountutil.pkdump_exe(), f])
        if r.returncode != 0:
            continue  # refused: one line on stderr, nothing on stdout
        try:
            text = r.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            pytest.fail("pkdump %s: not UTF-8: %s" % (f, e))
        escaped += "\\xed\\xa0" in text or "\\xed\\xb" in text
    assert escaped > 0, "no fixture has a surrogate to escape"


def test_pkdump_prints_the_demo_tree():
    r = run([mountutil.pkdump_exe(), DEMO])
    assert r.returncode == 0, "pkdump exited %d: %r" % (r.returncode, r.stderr)
    out = r.stdout.decode("utf-8", "replace").splitlines()
    for want in ("users/0/name = Ada Lovelace\\n", "config/database/port = 5432\\n",
                 "config/debug = False\\n"):
        assert any(l.endswith(want) for l in out), "pkdump output lacks a line ending %r:\n%s" % (
            want, "\n".join(out[:40]))


# ---- beyond the fixtures: wide and deep trees, compressed files ----

def test_wide_directories(tmp_path):
    """Directories too big for one readdir reply, and lists pickled in APPENDS batches."""
    obj = {
        "list": list(range(5000)),
        "dict": {"key-%04d-%s" % (i, "w" * 40): i for i in range(1500)},
        "set": set(range(2500)),
    }
    for p in (0, 2, 5):
        path = tmp_path / ("wide_p%d.pkl" % p)
        path.write_bytes(pickle.dumps(obj, protocol=p))
        expected = spec_model.expected_tree_of_file(str(path))
        with mount(str(path)) as mnt:
            fail_with(compare(expected, walk(mnt)), "wide_p%d: the mounted tree differs:" % p)


def test_big_pickle_read_ahead_and_given_back(tmp_path):
    """A pickle of several MiB is decoded with the prefault thread reading the mapped file in
    ahead and giving its pages back behind (codec/prefault.c): every value, the strs and bytes
    read from the file after decoding among them, must come out as Python reads it."""
    import random
    rng = random.Random(7)
    records = []
    for i in range(3000):
        records.append({
            "id": i,
            "name": "record-%d-%s" % (i, "".join(rng.choice("abcdef")
                                                 for _ in range(rng.randint(0, 40)))),
            "text": ("%05d " % i) * rng.randint(100, 300),
            "blob": bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))),
            "score": rng.random(),
            "tags": ["t%d" % (i % 7), i * 3],
        })
    for p in (2, 4):
        path = tmp_path / ("big_p%d.pkl" % p)
        path.write_bytes(pickle.dumps(records, protocol=p))
        assert path.stat().st_size > 3 << 20, "the pickle must be well past the 1 MiB read ahead"
        expected = spec_model.expected_tree_of_file(str(path))
        with mount(str(path)) as mnt:
            fail_with(compare(expected, walk(mnt)), "big_p%d: the mounted tree differs:" % p)


def reframed(data, size):
    """data, a pickle of protocol 4 or 5, with its frames replaced by frames of at most size
    bytes. Frames end where an opcode does (one longer than size gets a frame of its own);
    PROTO stays outside, as CPython writes it."""
    import pickletools
    import struct
    ops = [(op.name, pos) for op, _, pos in pickletools.genops(data)]
    ends = [pos for _, pos in ops[1:]] + [len(data)]
    out, frame = bytearray(data[:ends[0]]), bytearray()  # PROTO
    for (name, pos), end in zip(ops[1:], ends[1:]):
        if name == "FRAME":
            continue
        if frame and len(frame) + end - pos > size:
            out += b"\x95" + struct.pack("<Q", len(frame)) + frame
            frame = bytearray()
        frame += data[pos:end]
    return bytes(out + b"\x95" + struct.pack("<Q", len(frame)) + frame)


def test_records_framed_every_way(tmp_path):
    """The decoder's fast path (codec/decode.c, fast_ops) stops short of a frame's end and
    leaves the opcodes there to the rest of the decoder: records of every value it makes, in
    frames of 1 byte (one opcode each) to 4096, dump as the unframed pickle does, and in frames
    of 7 bytes mount as Python reads them."""
    import random
    rng = random.Random(5)
    records = []
    for i in range(300):
        records.append({
            "i1": i % 256, "i2": 256 + i * 97, "i4": -i * 100003,
            "big": rng.getrandbits(72) - (1 << 71),
            "mid": rng.getrandbits(8 * (i % 9)) << 31, "x": rng.random(), "none": None,
            "s": "".join(rng.choice("abc\u00e9") for _ in range(i % 41)),
            "same": "shared", "l": [], "d": {}, "t": (i, i + 1), "b": i % 3 == 0,
        })
    data = pickle.dumps(records, protocol=4)
    expected = pkdump_of(tmp_path, "framed.pkl", data)
    for size in list(range(1, 24)) + [31, 64, 255, 4096]:
        got = pkdump_of(tmp_path, "framed_%d.pkl" % size, reframed(data, size))
        assert got == expected, "frames of at most %d bytes: the tree differs" % size
    path = tmp_path / "framed_7.pkl"
    with mount(str(path)) as mnt:
        fail_with(compare(spec_model.expected_tree_of_file(str(path)), walk(mnt)),
                  "records in frames of 7 bytes: the mounted tree differs:")


def pkdump_of(tmp_path, name, data):
    """pkdump's tree of data, written to tmp_path/name."""
    path = tmp_path / name
    path.write_bytes(data)
    r = run([mountutil.pkdump_exe(), str(path)])
    assert r.returncode == 0, "pkdump %s: %r" % (name, r.stderr)
    return r.stdout


def test_float_files_are_python_repr(tmp_path):
    """A float file is repr(value) and a newline: shortest digits that read back, Python's
    choice of notation. Floats of every kind (random bits, rounded decimals, integral values,
    powers of two down to subnormals, the extremes), read through a real mount."""
    import random
    import struct
    rng = random.Random(11)
    vals = [5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1.7976931348623157e308,
            0.1, 0.3, 1e16, 1e15, 123456789012345.6, 9007199254740993.0, -0.0, 0.0, 1e-05,
            0.0001, float("inf"), -float("inf")]
    for i in range(3000):
        k = i % 5
        if k == 0:
            v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        elif k == 1:
            v = round(rng.random() * 1000, rng.randint(0, 12))
        elif k == 2:
            v = rng.randint(1, 10**15) / 10 ** rng.randint(0, 20)
        elif k == 3:
            v = (1 + rng.random()) * 2.0 ** rng.randint(-1074, 1023)
        else:
            v = float(rng.randint(-10**17, 10**17))
        vals.append(v)
    path = tmp_path / "floats.pkl"
    path.write_bytes(pickle.dumps(vals, protocol=4))
    with mount(str(path)) as mnt:
        bad = []
        for i, v in enumerate(vals):
            with open(os.path.join(mnt, str(i)), "rb") as f:
                got = f.read().decode()
            if got != repr(v) + "\n":
                bad.append("%d: got %r, repr is %r" % (i, got, repr(v)))
    assert not bad, "%d of %d floats differ from repr():\n%s" % (
        len(bad), len(vals), "\n".join(bad[:10]))


def test_offsets_are_the_opcodes_that_built_the_values(tmp_path):
    """user.pickle.offset is where pickletools finds the opcode that built each value, also
    after long str and bytes (a value's offset is kept as a delta from a base that changes
    where the delta outgrows 16 bits)."""
    import pickletools
    vals = [b"x" * 70000, 1, "y" * 100000, 2.5, b"z" * 66000, 7, "short", 3, 4.5, b"w" * 65535,
            "s" * 65536, 8]
    for proto in (3, 4):  # protocol 2 pickles bytes by a call
        data = pickle.dumps(vals, protocol=proto)
        skip = {"PROTO", "FRAME", "EMPTY_LIST", "MEMOIZE", "BINPUT", "LONG_BINPUT", "MARK",
                "APPENDS", "STOP"}
        want = [pos for op, _, pos in pickletools.genops(data) if op.name not in skip]
        assert len(want) == len(vals), "harness: %d value opcodes" % len(want)
        path = tmp_path / ("offsets_p%d.pkl" % proto)
        path.write_bytes(data)
        with mount(str(path)) as mnt:
            got = [int(os.getxattr(os.path.join(mnt, str(i)), "user.pickle.offset"))
                   for i in range(len(vals))]
        assert got == want, "protocol %d: offsets %r, pickletools says %r" % (proto, got, want)


def test_lookup_without_listing(tmp_path):
    """Every path resolves on a fresh mount with no readdir before it, so each name is found by
    a LOOKUP: in small directories (scanned), in large ones (their name tables, renamed
    collisions included) and in lists (by index). A name that is not there is ENOENT."""
    wide = tmp_path / "wide.pkl"
    wide.write_bytes(pickle.dumps({"d": {"k%05d" % i: [i] for i in range(3000)},
                                   "l": list(range(200))}, protocol=4))
    for path in (os.path.join(CORE, "collisions_p4.pkl"), str(wide)):
        expected = spec_model.expected_tree_of_file(path)
        with mount(path) as mnt:
            root = os.fsencode(mnt)
            for rel, e in expected.items():
                full = os.path.join(root, rel) if rel else root
                st = os.lstat(full)
                if e["kind"] == "file":
                    assert stat.S_ISREG(st.st_mode), rel
                    with open(full, "rb") as f:
                        assert f.read() == e["content"], rel
                elif e["kind"] == "link":
                    assert os.readlink(full) == e["target"], rel
                else:
                    assert stat.S_ISDIR(st.st_mode), rel
                    for absent in (b"absent", b"~1", b"00", b"999999"):
                        if absent not in e["children"]:
                            with pytest.raises(FileNotFoundError):
                                os.lstat(os.path.join(full, absent))


def test_deep_nesting(tmp_path):
    import sys
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)
    try:
        obj = leaf = {}
        for i in range(400):
            nxt = [{}] if i % 2 else {"d": None}
            if isinstance(leaf, dict):
                leaf["d"] = nxt
            else:
                leaf.append(nxt)
            leaf = nxt
        leaf.append(obj) if isinstance(leaf, list) else leaf.update(back=obj)
        path = tmp_path / "deep.pkl"
        path.write_bytes(pickle.dumps(obj, protocol=4))
        expected = spec_model.expected_tree_of_file(str(path))
        with mount(str(path)) as mnt:
            fail_with(compare(expected, walk(mnt)), "deep.pkl: the mounted tree differs:")
    finally:
        sys.setrecursionlimit(old)


def _compressors():
    import bz2
    import gzip
    import lzma
    import zlib
    return {"gzip": gzip.compress, "zlib": zlib.compress, "bz2": bz2.compress,
            "xz": lzma.compress}


@pytest.mark.parametrize("kind", sorted(_compressors()))
def test_compressed_mounts_like_raw(tmp_path, kind):
    """gzip, zlib, bz2 and xz pickles are recognised by content, whatever the name."""
    raw = open(os.path.join(CORE, "shared_p4.pkl"), "rb").read()
    path = tmp_path / ("compressed-%s.data" % kind)
    path.write_bytes(_compressors()[kind](raw))
    expected = spec_model.expected_tree(spec_model.load_all(os.path.join(CORE, "shared_p4.pkl")))
    with mount(str(path)) as mnt:
        fail_with(compare(expected, walk(mnt)), "%s: the mounted tree differs:" % kind)
