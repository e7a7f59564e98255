"""test_hostile.py: hostile and damaged inputs never crash, hang or exhaust picklefs.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_hostile.py

Most cases go through pkdump (the same codec and limits, no FUSE, a few ms a run); a few are
mounted for real. What is checked:
- every prefix of six real fixtures (raw protocol 0 and 5, a torch zip, a legacy torch file, a
  gzip pickle, a plain joblib dump), and a few hundred seeded random bit flips of each: pkdump
  either decodes (exit 0) or refuses (exit 1, stdout empty, one stderr line
  `pkdump: FILE: WHAT at byte OFFSET (OPCODE)`, or `pkdump: FILE: STRERROR` for an I/O error,
  then only the list of calls decoded before the error);
  never a signal, a hang or another status. Some survivors are mounted and walked, some refused
  ones are given to picklefs, which must refuse them too and mount nothing;
- nesting 1,000,000 deep (lists, dicts, tuples, frozensets, calls) is refused at the depth limit;
- a memo entry referenced 1,000,000 times, and 64 lists each holding its predecessor twice
  (2^64 naive paths), mount at once, the later places as symlinks;
- BINBYTES8 and BINUNICODE8 lengths of 2^63 are refused as larger than the bytes left;
- ints of ten million digits: LONG4 is shown in hexadecimal (past max_int_digits), text LONG and
  INT in decimal, exactly;
- decompression bombs (gzip, zlib, bz2, xz, a deflated torch zip member) are refused past a
  lowered `-o max_decompressed=1M`, and decode under a larger one;
- nested exponential structures (frozensets and tuples holding their predecessor twice, used as
  dict keys and set elements; calls whose arguments hold the previous call twice) are rendered
  within a 30 s timeout, names and xattrs bounded.

The default 8 GiB max_decompressed is not exercised: the output is inflated into memory, so a
bomb past it costs 8 GiB of RAM and several seconds whatever the file's size.
"""

import atexit
import bz2
import concurrent.futures
import gzip
import lzma
import math
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import pytest

import mountutil
from mountutil import mount, run

CORE = os.path.join(mountutil.FIXTURES, "core")
CKPT = os.path.join(mountutil.FIXTURES, "ckpt")
MUTATED = [
    os.path.join(CORE, "collisions_p0.pkl"),  # protocol 0: text opcodes, PUT/GET
    os.path.join(CORE, "shared_p5.pkl"),      # protocol 5: FRAME, MEMOIZE, shared references
    os.path.join(CKPT, "torch_ckpt.bin"),     # torch.save zip
    os.path.join(CKPT, "torch_legacy.bin"),   # legacy torch: several pickles, then raw storages
    os.path.join(CKPT, "plain_gzip.bin"),     # gzip
    os.path.join(CKPT, "rf_joblib_plain.bin"),  # joblib: array bytes between the opcodes
]
MUTATED_IDS = [os.path.basename(f) for f in MUTATED]
FLIPS = 300
RUN_TIMEOUT = 30
WORKERS = max(2, (os.cpu_count() or 2) * 2)

TAIL = re.compile(r"^(.+) at byte (\d+) \(([^()]+)\)$")
# after a refusal's line, the calls decoded before the error: at most 20, then a count
CALL_LINE = re.compile(r"^  call at byte \d+: .+$")
MORE_LINE = re.compile(r"^  and \d+ more calls?$")


def calls_listed(lines):
    """None when lines (those after a refusal's) are a proper list of calls, else what is not."""
    for i, line in enumerate(lines):
        if not (CALL_LINE.match(line) and i < 20 or MORE_LINE.match(line) and i == len(lines) - 1):
            return "stderr line %d is no call of the list: %r" % (i + 2, line)
    return None
IO_MESSAGES = {os.strerror(e) for e in range(1, 134)}
DEPTH_MSG = "nesting deeper than 100000 (the limit)"


def dump_verdict(path, r):
    """None when pkdump decoded path (exit 0) or refused it with exactly one proper line (exit 1);
    otherwise what is wrong, in one line."""
    rc = r.returncode
    if rc == 0:
        if not r.stdout.endswith(b"\n"):  # a tree has at least one line: ./ when empty
            return "exit 0 but stdout is not whole lines: %r" % r.stdout[-80:]
        try:
            r.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            return "exit 0 but stdout is not UTF-8: %s" % e
        return None
    if rc < 0:
        return "killed by signal %d; stderr %r" % (-rc, r.stderr[-300:])
    if rc != 1:
        return "exit %d (expected 0 or 1); stderr %r" % (rc, r.stderr[-300:])
    if r.stdout:
        return "exit 1 but a tree was printed: %r" % r.stdout[:80]
    lines = r.stderr.decode("utf-8", "replace").splitlines()
    if not lines:
        return "exit 1 with nothing on stderr"
    if calls_listed(lines[1:]):
        return calls_listed(lines[1:])
    prefix = "pkdump: %s: " % path
    if not lines[0].startswith(prefix):
        return "the line does not start with %r: %r" % (prefix, lines[0])
    rest = lines[0][len(prefix):]
    if not TAIL.match(rest) and rest not in IO_MESSAGES:
        return ("the line is neither 'WHAT at byte OFFSET (OPCODE)' nor an I/O error: %r"
                % lines[0])
    return None


def run_pkdump(path, *opts, timeout=RUN_TIMEOUT):
    return run([mountutil.pkdump_exe(), *opts, path], timeout=timeout)


def one_run(path):
    try:
        r = run_pkdump(path)
    except subprocess.TimeoutExpired:
        return None, "no answer within %d s (a hang)" % RUN_TIMEOUT
    return r.returncode, dump_verdict(path, r)


def refusal(r, path, tool="pkdump"):
    """The single stderr line of a refusal, checked for shape; returns WHAT."""
    text = r.stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    assert r.returncode == 1, "%s %s: expected exit 1, got %d; stderr %r" % (
        tool, path, r.returncode, text[:500])
    assert lines and not calls_listed(lines[1:]), "%s %s: expected one stderr line and the "\
        "calls before the error, got %d: %r" % (tool, path, len(lines), lines[:5])
    prefix = "%s: %s: " % (tool, path)
    assert lines[0].startswith(prefix), "%s: the line does not start with %r: %r" % (
        tool, prefix, lines[0])
    m = TAIL.match(lines[0][len(prefix):])
    assert m, "%s: no 'WHAT at byte OFFSET (OPCODE)' in %r" % (tool, lines[0])
    return m.group(1), int(m.group(2)), m.group(3)


def picklefs_refuses(path, *opts):
    """picklefs -f refuses path with one line and exit 1, and nothing is mounted."""
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), *opts, "-f", path, mnt], timeout=RUN_TIMEOUT)
        assert not os.path.ismount(mnt), "picklefs mounted %s, which it should refuse" % path
        return refusal(r, path, "picklefs")
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
        os.rmdir(mnt)


# ---------------------------------------------------------------------------------------------
# Truncations and bit flips of real fixtures

_mutants = {}  # (fixture, kind) -> [(path, data, returncode)]
_mutant_dir = tempfile.mkdtemp(prefix="picklefs-hostile-")
atexit.register(shutil.rmtree, _mutant_dir, True)


def flips_of(data, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(FLIPS):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        out.append(bytes(b))
    return out


def mutants(fixture, kind):
    """Write the mutants of fixture, run pkdump over each (in parallel), return the results.
    Computed once per session; any verdict is reported by the test that asked first."""
    key = (fixture, kind)
    if key in _mutants:
        return _mutants[key]
    with open(fixture, "rb") as f:
        data = f.read()
    if kind == "truncated":
        datas = [data[:n] for n in range(len(data) + 1)]
    else:
        datas = flips_of(data, "%s-%s" % (os.path.basename(fixture), kind))
    base = os.path.join(_mutant_dir, "%s.%s" % (os.path.basename(fixture), kind))
    paths = []
    for i, d in enumerate(datas):
        p = "%s.%05d" % (base, i)
        with open(p, "wb") as f:
            f.write(d)
        paths.append(p)
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        results = list(ex.map(one_run, paths))
    out = [(p, d, rc, why) for p, d, (rc, why) in zip(paths, datas, results)]
    _mutants[key] = out
    return out


def check_mutants(fixture, kind):
    res = mutants(fixture, kind)
    bad = ["%s (%d bytes): %s" % (os.path.basename(p), len(d), why)
           for p, d, rc, why in res if why is not None]
    assert not bad, "%s, %s: %d of %d mutants misbehave under pkdump:\n%s" % (
        os.path.basename(fixture), kind, len(bad), len(res), "\n".join(bad[:20]))
    return res


@pytest.mark.parametrize("fixture", MUTATED, ids=MUTATED_IDS)
def test_every_prefix_decodes_or_is_refused(fixture):
    res = check_mutants(fixture, "truncated")
    full = res[-1]
    assert full[2] == 0, "%s: the whole file (a committed fixture) is refused: %s" % (
        os.path.basename(fixture), full[3])
    assert res[0][2] == 1, "the empty prefix of %s is not refused" % os.path.basename(fixture)


@pytest.mark.parametrize("fixture", MUTATED, ids=MUTATED_IDS)
def test_random_bit_flips_decode_or_are_refused(fixture):
    check_mutants(fixture, "flipped")


@pytest.mark.parametrize("fixture", MUTATED, ids=MUTATED_IDS)
def test_mutants_mount_or_are_refused_by_picklefs(fixture):
    """A few real mounts: the first flipped (or truncated) mutants pkdump decodes are mounted and
    read entirely; the first ones it refuses are refused by picklefs with the same line."""
    res = [m for m in mutants(fixture, "flipped") + mutants(fixture, "truncated")[:-1]
           if m[3] is None]
    accepted = [m for m in res if m[2] == 0][:2]
    refused = [m for m in res if m[2] == 1][:2]
    for path, data, rc, _ in accepted:
        with mount(path) as mnt:
            tree = guarded_walk(mnt, os.path.basename(path))
        for rel, e in tree.items():
            if e["kind"] == "file":
                assert len(e["content"]) == e["size"], (
                    "%s (pkdump decodes it): %r: st_size %d but %d bytes read" % (
                        os.path.basename(path), rel, e["size"], len(e["content"])))
    for path, data, rc, _ in refused:
        expect = refusal(run_pkdump(path), path)
        got = picklefs_refuses(path)
        assert got == expect, "%s: picklefs refuses with %r, pkdump with %r" % (
            os.path.basename(path), got, expect)


# ---------------------------------------------------------------------------------------------
# Depth, sharing, lengths, big ints

N = 1000000
P2, P4 = b"\x80\x02", b"\x80\x04"


def write(tmp_path, name, data):
    p = str(tmp_path / name)
    with open(p, "wb") as f:
        f.write(data)
    return p


DEEP = [
    # [[[...]]] through MARK ... LIST
    ("lists", b"(" * N + b"l" * N + b"."),
    # {0: {0: {...}}}: EMPTY_DICT, BININT1 0, ... then SETITEM from the innermost out
    ("dicts", P2 + b"}K\x00" * N + b"}" + b"s" * N + b"."),
    # ((((None,),),),): TUPLE1 a million times
    ("tuples", P2 + b"N" + b"\x85" * N + b"."),
    # frozenset({frozenset({...})}): MARK ... FROZENSET
    ("frozensets", P4 + b"(" * N + b"\x91" * N + b"."),
    # builtins.list((builtins.list((...),),)): calls nested in their arguments
    ("calls", P2 + b"cbuiltins\nlist\nq\x00" + b"0" + b"h\x00(" * N + b"N" + b"tR" * N + b"."),
]


@pytest.mark.parametrize("name,data", DEEP, ids=[d[0] for d in DEEP])
def test_million_deep_nesting_is_refused_at_the_depth_limit(tmp_path, name, data):
    path = write(tmp_path, "deep_%s.pkl" % name, data)
    what, _, _ = refusal(run_pkdump(path, timeout=60), path)
    assert what.startswith("nesting deeper than"), (
        "1,000,000 nested %s: expected %r, got %r" % (name, DEPTH_MSG, what))
    assert what == DEPTH_MSG, "1,000,000 nested %s: expected %r, got %r" % (name, DEPTH_MSG, what)
    if name in ("lists", "calls"):
        got = picklefs_refuses(path)
        assert got[0] == DEPTH_MSG, "picklefs, 1,000,000 nested %s: got %r" % (name, got)


def test_memo_entry_referenced_a_million_times(tmp_path):
    # [inner, inner, ... x1,000,000] with inner = [1], memo 0, fetched 999,999 times by BINGET
    path = write(tmp_path, "memo_1m.pkl", P2 + b"](]q\x00K\x01a" + b"h\x00" * (N - 1) + b"e.")
    r = run_pkdump(path, timeout=60)
    assert r.returncode == 0, "pkdump exited %d: %r" % (r.returncode, r.stderr[:500])
    lines = r.stdout.split(b"\n")
    assert lines[:2] == [b"0/0 = 1\\n", b"1 -> 0"], "pkdump: first lines %r" % lines[:2]
    assert len(lines) == N + 1 and lines[-1] == b"", "pkdump printed %d lines, expected %d" % (
        len(lines) - 1, N)
    bad = [l for l in lines[1:-1] if not l.endswith(b" -> 0")]
    assert not bad, "pkdump: %d later places are not '-> 0' links, e.g. %r" % (len(bad), bad[:3])
    with mount(path) as mnt:
        for i in (1, 2, 500000, N - 1):
            p = os.path.join(mnt, str(i))
            assert os.path.islink(p), "%s is not a symlink" % p
            assert os.readlink(p) == "0", "readlink %s = %r, expected '0'" % (p, os.readlink(p))
        with open(os.path.join(mnt, str(N - 1), "0"), "rb") as f:
            assert f.read() == b"1\n", "%d/0 through the link" % (N - 1)
        assert os.path.isdir(os.path.join(mnt, "0")) and not os.path.islink(
            os.path.join(mnt, "0")), "0 must be the directory itself"
        # readdir, as far as the first 1000 entries (a full listing costs the kernel seconds)
        first = []
        with os.scandir(mnt) as it:
            for e in it:
                first.append((e.name, e.is_symlink()))
                if len(first) == 1000:
                    break
        want = [("0", False)] + [(str(i), True) for i in range(1, 1000)]
        assert first == want, "readdir: the first entries are %r..., expected %r..." % (
            first[:4], want[:4])


def test_chain_of_64_lists_each_holding_its_predecessor_twice(tmp_path):
    import pickle
    chain = []
    for _ in range(64):
        chain = [chain, chain]  # 2^64 paths if shared references were copied
    path = write(tmp_path, "chain64.pkl", pickle.dumps(chain, protocol=4))
    r = run_pkdump(path)
    assert r.returncode == 0, "pkdump exited %d: %r" % (r.returncode, r.stderr[:500])
    lines = r.stdout.split(b"\n")[:-1]
    links = [l for l in lines if b" -> " in l]
    # the empty list at the bottom and each level's link: directories with entries have no line
    assert len(lines) == 1 + 64 and len(links) == 64, (
        "pkdump: %d lines and %d links, expected 65 and 64" % (len(lines), len(links)))
    with mount(path) as mnt:
        d = mnt
        for level in range(64):
            assert os.path.isdir(os.path.join(d, "0")) and not os.path.islink(
                os.path.join(d, "0")), "level %d: 0 is not a directory" % level
            one = os.path.join(d, "1")
            assert os.readlink(one) == "0", "level %d: 1 -> %r, expected '0'" % (
                level, os.readlink(one))
            assert os.stat(one).st_ino == os.stat(os.path.join(d, "0")).st_ino, (
                "level %d: 1 does not lead to 0" % level)
            d = os.path.join(d, "0")
        assert os.listdir(d) == [], "the innermost list is not empty: %r" % os.listdir(d)
        ndirs = nlinks = 0
        todo = [mnt]
        while todo:  # the whole tree, links not followed
            for e in os.scandir(todo.pop()):
                if e.is_symlink():
                    nlinks += 1
                elif e.is_dir():
                    ndirs += 1
                    todo.append(e.path)
        assert (ndirs, nlinks) == (64, 64), (
            "the mounted chain holds %d directories and %d symlinks, expected 64 and 64" % (
                ndirs, nlinks))
        g = run(["grep", "-r", "-c", "x", mnt], timeout=RUN_TIMEOUT)
        assert g.returncode == 1 and g.stdout == b"", "grep -r over the chain: %d %r %r" % (
            g.returncode, g.stdout[:200], g.stderr[:200])


LENGTHS = [
    ("BINBYTES8", P4 + b"\x8e" + struct.pack("<Q", 2**63) + b"abc."),
    ("BINUNICODE8", P4 + b"\x8d" + struct.pack("<Q", 2**63) + b"abc."),
    ("BINBYTES8", P4 + b"\x8e" + struct.pack("<Q", 2**64 - 1) + b"abc."),
    ("BINUNICODE8", P4 + b"\x8d" + struct.pack("<Q", 2**64 - 1) + b"abc."),
]


@pytest.mark.parametrize("opcode,data", LENGTHS,
                         ids=["binbytes8_2_63", "binunicode8_2_63", "binbytes8_2_64_minus_1",
                              "binunicode8_2_64_minus_1"])
def test_huge_length_field_is_refused(tmp_path, opcode, data):
    path = write(tmp_path, "huge.pkl", data)
    length = struct.unpack("<Q", data[3:11])[0]
    for tool, got in (("pkdump", refusal(run_pkdump(path), path)),
                      ("picklefs", picklefs_refuses(path))):
        what, off, op = got
        want = "length %d larger than the 4 bytes left" % length
        assert (what, off, op) == (want, 2, opcode), (
            "%s: expected %r at byte 2 (%s), got %r at byte %d (%s)" % (
                tool, want, opcode, what, off, op))


D = 10 ** 7
_K = math.ceil((D - 1) / math.log10(2) / 8)  # bytes of all-ones magnitude: 2^(8K) - 1
assert math.floor(8 * _K * math.log10(2)) + 1 == D
LONG4_POS = P2 + b"\x8b" + struct.pack("<i", _K + 1) + b"\xff" * _K + b"\x00" + b"."
# -(2^(8K) - 1) in two's complement: 0x01, zeros, then the sign byte 0xff
LONG4_NEG = (P2 + b"\x8b" + struct.pack("<i", _K + 1) + b"\x01" + b"\x00" * (_K - 1)
             + b"\xff" + b".")
HEX_ONES = b"0x" + b"f" * (2 * _K)
BIG_INTS = [
    ("long4_positive_hex", LONG4_POS, HEX_ONES + b"\n"),
    ("long4_negative_hex", LONG4_NEG, b"-" + HEX_ONES + b"\n"),
    ("text_long_decimal", b"L" + b"7" * D + b"L\n.", b"7" * D + b"\n"),
    ("text_int_negative_decimal", b"I-" + b"9" * D + b"\n.", b"-" + b"9" * D + b"\n"),
]


def _describe(b):
    return "%d bytes, %r...%r" % (len(b), b[:24], b[-8:])


@pytest.mark.parametrize("name,data,content", BIG_INTS, ids=[b[0] for b in BIG_INTS])
def test_ten_million_digit_int(tmp_path, name, data, content):
    """A scalar top: the root is the indexed folder, the int is `0`. Past max_int_digits=100000
    an int built from binary is printed in hexadecimal; one given in decimal stays decimal."""
    path = write(tmp_path, name + ".pkl", data)
    r = run_pkdump(path, timeout=60)
    assert r.returncode == 0, "pkdump exited %d: %r" % (r.returncode, r.stderr[:500])
    want = b"0 = " + content[:-1] + b"\\n\n"
    assert r.stdout == want, "pkdump: expected %s, got %s" % (_describe(want), _describe(r.stdout))
    if name.startswith("long4_neg") or name.startswith("text_int"):
        return  # the mount is exercised by the other two
    with mount(path) as mnt:
        p = os.path.join(mnt, "0")
        size = os.stat(p).st_size
        with open(p, "rb") as f:
            got = f.read()
    assert size == len(content), "st_size %d, expected %d" % (size, len(content))
    assert got[:2] == content[:2], "the file starts %r, expected %r" % (got[:16], content[:16])
    assert got == content, "mounted 0: expected %s, got %s" % (_describe(content), _describe(got))


# ---------------------------------------------------------------------------------------------
# Decompression bombs

BOMB_N = 8 << 20
BOMB_RAW = P4 + b"\x8e" + struct.pack("<Q", BOMB_N) + bytes(BOMB_N) + b"."


def _torch_zip(raw):
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", raw)
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


BOMBS = {
    "gzip": lambda raw: gzip.compress(raw, 9),
    "zlib": lambda raw: zlib.compress(raw, 9),
    "bz2": lambda raw: bz2.compress(raw, 9),
    "xz": lambda raw: lzma.compress(raw),
    "torch_zip_deflated": _torch_zip,
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_decompression_bomb_is_refused_past_max_decompressed(tmp_path, kind):
    data = BOMBS[kind](BOMB_RAW)
    assert len(data) < len(BOMB_RAW) // 100, "harness: %s compressed to %d bytes" % (kind, len(data))
    path = write(tmp_path, "bomb." + kind, data)
    opt = ("-o", "max_decompressed=1M")
    r = run_pkdump(path, *opt)
    what, _, _ = refusal(r, path)
    assert what.startswith("decompressed size past the limit"), (
        "%s bomb (%d bytes inflating to %d) under max_decompressed=1M: %r" % (
            kind, len(data), len(BOMB_RAW), what))
    got = picklefs_refuses(path, *opt)
    assert got[0] == what, "picklefs -o max_decompressed=1M: %r, pkdump: %r" % (got[0], what)
    # the same file inflates fine under a limit above its size, and under the default (8 GiB);
    # the tree (8 MiB of escaped zeros) goes to /dev/null
    for opts in (("-o", "max_decompressed=64M"), ()):
        r = subprocess.run([mountutil.pkdump_exe(), *opts, path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 0, "%s bomb with %s: exit %d, %r" % (
            kind, " ".join(opts) or "the default limit", r.returncode, r.stderr[:300])


# ---------------------------------------------------------------------------------------------
# Exponential structures: each value holds its predecessor twice, 64 levels. Shared references
# must be laid out, named, sorted, rendered and hashed once each, not once per path.

LEVELS = 64


def _put(i):
    return b"r" + struct.pack("<I", i)


def _get(i):
    return b"j" + struct.pack("<I", i)


def frozenset_chain(pair):
    """f0 = frozenset({0}); f(i) = frozenset({f(i-1), f(i-1)}) as the stream writes it (two
    fetches of one memo entry) or, with pair, frozenset({f(i-1), (f(i-1),)}). Leaves f64."""
    b = b"(K\x00\x91" + _put(0)
    for i in range(1, LEVELS + 1):
        b += b"0(" + _get(i - 1) + _get(i - 1) + (b"\x85" if pair else b"") + b"\x91" + _put(i)
    return b


def tuple_chain():
    """t0 = (0,); t(i) = (t(i-1), t(i-1)). Leaves t64."""
    b = b"K\x00\x85" + _put(0)
    for i in range(1, LEVELS + 1):
        b += b"0" + _get(i - 1) + _get(i - 1) + b"\x86" + _put(i)
    return b


def call_chain():
    """c0 = builtins.print(); c(i) = builtins.print(c(i-1), c(i-1)). Leaves c64."""
    b = b"\x8c\x08builtins\x8c\x05print\x93" + _put(1000) + b"0" + _get(1000) + b")R" + _put(0)
    for i in range(1, LEVELS + 1):
        b += b"0" + _get(1000) + _get(i - 1) + _get(i - 1) + b"\x86R" + _put(i)
    return b


def as_key(chain):
    return P4 + b"}" + chain + b"K\x01s."


def as_element(chain):
    return P4 + b"\x8f(" + chain + b"\x90."


EXPONENTIAL = [
    ("frozenset_twice_root", P4 + frozenset_chain(False) + b"."),
    ("frozenset_twice_as_key", as_key(frozenset_chain(False))),
    ("frozenset_twice_in_set", as_element(frozenset_chain(False))),
    ("frozenset_pair_as_key", as_key(frozenset_chain(True))),
    ("frozenset_pair_in_set", as_element(frozenset_chain(True))),
    ("tuple_as_key", as_key(tuple_chain())),
    ("tuple_in_set", as_element(tuple_chain())),
    ("call_root", P4 + call_chain() + b"."),
    ("call_as_key", as_key(call_chain())),
    ("call_in_set", as_element(call_chain())),
]
EXP_IDS = [e[0] for e in EXPONENTIAL]


@pytest.mark.parametrize("name,data", EXPONENTIAL, ids=EXP_IDS)
def test_exponential_structure_renders_quickly(tmp_path, name, data):
    path = write(tmp_path, name + ".pkl", data)
    try:
        r = run_pkdump(path, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("pkdump %s: no answer within 30 s (64 levels, each holding its predecessor "
                    "twice: something walks all 2^64 paths)" % name)
    assert r.returncode == 0, "pkdump %s exited %d: %r" % (name, r.returncode, r.stderr[:500])
    lines = r.stdout.split(b"\n")[:-1]
    assert len(lines) < 2000, "pkdump %s printed %d lines for 64 shared levels" % (name, len(lines))
    if name == "call_as_key":  # the calls a key holds are listed in __calls__ too
        assert len(lines) > 1 and all(l.startswith(b"__calls__/") for l in lines[1:]), (
            "pkdump %s: %r" % (name, [l[:80] for l in lines[1:3]]))
        lines = lines[:1]
    if name.endswith("_as_key"):
        assert len(lines) == 1, "pkdump %s: expected one key, got %r" % (
            name, [l[:80] for l in lines[:5]])
        key = lines[0].rsplit(b" = ", 1)[0]
        assert len(key) <= 255, "pkdump %s: a name of %d bytes" % (name, len(key))
        assert lines[0].endswith(b" = 1\\n"), "pkdump %s: %r" % (name, lines[0][-40:])


def _daemons_serving(mnt):
    """The pids of this test's own picklefs children serving mnt."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and os.fsencode(mnt) in argv:
            pids.append(int(d))
    return pids


def guarded_walk(mnt, what, timeout=RUN_TIMEOUT):
    """mountutil.walk(mnt), run in a child process. A read the daemon never answers blocks its
    reader uninterruptibly (even SIGKILL waits for FUSE's answer), so on timeout the daemon is
    killed first, which aborts the connection, then the reader; the test fails."""
    import pickle
    code = ("import pickle, sys, mountutil\n"
            "sys.stdout.buffer.write(pickle.dumps(mountutil.walk(sys.argv[1])))\n")
    env = dict(os.environ, PYTHONPATH=mountutil.TESTS)
    p = subprocess.Popen([sys.executable, "-c", code, mnt], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for pid in _daemons_serving(mnt):
            os.kill(pid, signal.SIGKILL)
        p.kill()
        p.communicate()
        pytest.fail("%s: reading the mounted tree got no answer within %d s (the daemon was "
                    "killed)" % (what, timeout))
    assert p.returncode == 0, "%s: walking the mount failed: %s" % (
        what, err.decode("utf-8", "replace")[-1000:])
    return pickle.loads(out)


@pytest.mark.parametrize("name", ["frozenset_twice_as_key", "tuple_as_key", "call_as_key",
                                  "call_root", "frozenset_pair_in_set"])
def test_exponential_structure_mounts(tmp_path, name):
    data = dict(EXPONENTIAL)[name]
    path = write(tmp_path, name + ".pkl", data)
    with mount(path) as mnt:
        tree = guarded_walk(mnt, name)
    assert len(tree) < 2000, "%s: %d entries for 64 shared levels" % (name, len(tree))
    if name.endswith("_as_key"):
        top = [rel for rel in tree if rel != b"." and b"/" not in rel and rel != b"__calls__"]
        assert len(top) == 1, "%s: the root lists %r" % (name, top)
        # a key names an entry but is none: the 65 calls it holds are in __calls__
        calls = [rel for rel in tree if rel.startswith(b"__calls__/") and rel.count(b"/") == 1]
        assert len(calls) == (LEVELS + 1 if name == "call_as_key" else 0), (name, calls[:5])
        e = tree[top[0]]
        assert len(top[0]) <= 255, "%s: a name of %d bytes" % (name, len(top[0]))
        assert e.get("content") == b"1\n", "%s: the value under the key is %r" % (
            name, e.get("content"))
        key = e["xattr"].get("user.pickle.key")
        assert key and len(key) <= 65536, "%s: user.pickle.key of %s bytes" % (
            name, len(key) if key else key)
    reduces = [e for rel, e in tree.items() if e["kind"] == "file" and rel.endswith(b"__reduce__")]
    for e in reduces:
        assert e["content"].startswith(b"builtins.print("), "%s: __reduce__ %r" % (
            name, e["content"][:80])
        assert len(e["content"]) < 1 << 20, "%s: __reduce__ of %d bytes" % (name, len(e["content"]))
    if name == "call_root":
        assert reduces, "%s: no __reduce__ file in the tree" % name
