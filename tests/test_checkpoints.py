"""test_checkpoints.py: model checkpoints and compressed pickles, mounted through real FUSE.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_checkpoints.py

The fixtures (tests/fixtures/ckpt/*.bin) were written by torch, numpy, scikit-learn, joblib and
pandas themselves (tests/make_checkpoint_fixtures.py); expect.json holds what their own loaders
returned, so this suite needs none of them. What is checked:
- torch.save zip checkpoints, a legacy (pre-1.6) one, odd tensors (strided, half, bfloat16,
  parameters, 0-d, summarised past 1000 elements): each tensor file's dtype, shape, stride,
  crc32, statistics line (against numpy's, expect.json) and values, and its hidden NAME.raw
  bytes (length and crc32 of tobytes()), read by name and listed nowhere (not by ls, find, a
  walk or the dump), with its stat and xattrs; where NAME.raw goes when a name is taken;
- statistics at their edges (complex, NaN and inf, big-endian, half, sums past 64 bits, no
  finite value, no element), and records and strings wrapped at 75 columns;
- `diff -r` of two checkpoints that differ in one bias reports that tensor only, with its
  statistics lines;
- a RandomForestClassifier by pickle and by joblib (plain, zlib, gzip, bz2, xz, lzma, lz4): the
  joblib dumps mount exactly alike, and `cat n_estimators` is right;
- numpy arrays, scalars (as Python values), object arrays (as lists), strings, records;
- a pandas DataFrame whose string cells `grep -r` finds;
- gzip, zlib, bz2, xz, lz4 and zstd pickles (and concatenated gzip members and zstd frames,
  from the Python modules and the command-line tools) mount as the raw pickle does;
- corrupt and truncated compressed files are refused with one line and exit status 1;
- st_size of every file is the length of what reading it gives.
"""

import json
import math
import os
import re
import struct
import zlib

import pytest

import mountutil
from mountutil import mount, run, walk

CKPT = os.path.join(mountutil.FIXTURES, "ckpt")
with open(os.path.join(CKPT, "expect.json"), encoding="utf-8") as _f:
    EXPECT = json.load(_f)

HEADER = re.compile(r"^(ndarray|tensor|storage) dtype=(.+?) shape=\(([^)]*)\)"
                    r"(?: stride=\(([^)]*)\))?( requires_grad=True)? crc32=0x([0-9a-f]{8})$")

_walks = {}
_raws = {}


def fx(name):
    return os.path.join(CKPT, name)


def walk_of(name):
    """The mounted tree of a fixture, mounted once per session; and, as no walk sees them, the
    NAME.raw of its tensors in expect.json, read by name in the same mount (raw_of)."""
    if name not in _walks:
        with mount(fx(name)) as mnt:
            _walks[name] = walk(mnt)
            raws = _raws[name] = {}
            for path in EXPECT.get(name, {}).get("tensors", {}):
                try:
                    with open(os.path.join(mnt, path + ".raw"), "rb") as f:
                        raws[path] = f.read()
                except OSError:
                    pass
    return _walks[name]


def raw_of(name, path):
    walk_of(name)
    return _raws[name].get(path)


def ints(text):
    return [int(x) for x in text.replace(",", " ").split()] if text else []


def tokens(body):
    """The element values of a summary's body, in order, '...' left out."""
    out = []
    for t in re.split(r"[\[\],\s]+", body):
        if t in ("", "..."):
            continue
        out.append(t)
    return out


def value_of(tok):
    if tok in ("True", "False"):
        return tok == "True"
    return float(tok)


def close(a, b, dtype):
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if math.isnan(b):
        return math.isnan(a)
    rel = 1e-2 if dtype in ("float16", "torch.float16", "torch.bfloat16") else 1e-6
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def check_array(name, tree, path, exp, msgs):
    e = tree.get(path.encode() if isinstance(next(iter(tree)), bytes) else path)
    if e is None:
        msgs.append("%s: missing" % path)
        return
    if e["kind"] != "file":
        msgs.append("%s: a %s, expected a file" % (path, e["kind"]))
        return
    text = e["content"].decode("utf-8")
    head, stats, body = split_summary(text)
    check_stats(path, stats, exp, msgs)
    m = HEADER.match(head)
    if not m:
        msgs.append("%s: bad summary header %r" % (path, head))
        return
    kind, dtype, shape, stride, grad, crc = m.groups()
    if kind != exp["kind"]:
        msgs.append("%s: kind %s, expected %s" % (path, kind, exp["kind"]))
    if "dtype" in exp and dtype != exp["dtype"]:
        msgs.append("%s: dtype %s, expected %s" % (path, dtype, exp["dtype"]))
    if ints(shape) != exp["shape"]:
        msgs.append("%s: shape %s, expected %s" % (path, shape, exp["shape"]))
    if int(crc, 16) != exp["crc32"]:
        msgs.append("%s: crc32 %s, expected %08x" % (path, crc, exp["crc32"]))
    if "values" in exp:
        got = [value_of(t) for t in tokens(body)]
        want = exp["values"]
        if len(got) != len(want) or not all(close(g, w, dtype) for g, w in zip(got, want)):
            msgs.append("%s: values %s, expected %s" % (path, got[:20], want[:20]))
    if spec_path(tree, path + ".raw") in tree:
        msgs.append("%s.raw: listed, expected hidden" % path)
    raw = raw_of(name, path)
    if raw is None:
        msgs.append("%s.raw: missing" % path)
        return
    if len(raw) != exp["nbytes"] or zlib.crc32(raw) != exp["crc32"]:
        msgs.append("%s.raw: %d bytes crc32 %08x, expected %d bytes crc32 %08x"
                    % (path, len(raw), zlib.crc32(raw), exp["nbytes"], exp["crc32"]))
    if e["xattr"].get("user.pickle.type") != exp["kind"].encode():
        msgs.append("%s: user.pickle.type %r" % (path, e["xattr"].get("user.pickle.type")))


def split_summary(text):
    """A summary's header line, its statistics line ('' when it has none) and its values. A
    structured array's header wraps at 75 columns: its continuation lines, which start with
    spaces, are joined to it with one space each."""
    head, _, body = text.partition("\n")
    while " crc32=0x" not in head and body.startswith(" "):
        more, _, body = body.partition("\n")
        head += " " + more.lstrip(" ")
    first, _, rest = body.partition("\n")
    if first.startswith("min="):
        return head, first, rest
    return head, "", body


def at_width(v, dtype):
    """Float v rounded to the width of dtype, as a reader of the element would."""
    if dtype.endswith("bfloat16"):
        w = struct.unpack("<I", struct.pack("<f", v))[0]
        w = (w + 0x7fff + ((w >> 16) & 1)) & 0xffff0000
        return struct.unpack("<f", struct.pack("<I", w))[0]
    if dtype.endswith(("float16", "f2")):
        return struct.unpack("<e", struct.pack("<e", v))[0] if abs(v) < 65520 else v
    if dtype.endswith(("float32", "f4", "complex64", "c8")):
        return struct.unpack("<f", struct.pack("<f", v))[0]
    return v


def same(got, want, rel):
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want) or want == 0:
        return got == want
    return math.isclose(got, want, rel_tol=rel, abs_tol=0.0)


def check_stats(path, line, exp, msgs):
    """The statistics line against numpy's (expect.json): counts and integers exactly, min and
    max as the same element at its own width, mean and std (float64) to 1e-9: numpy sums
    pairwise, picklefs with compensation, and on values far from zero and close together
    (`far`) numpy's std is off by some 1e-12 of itself."""
    want = exp.get("stats")
    if not want:
        if line:
            msgs.append("%s: statistics %r, expected none" % (path, line))
        return
    got = dict(kv.split("=", 1) for kv in line.split(" ")) if line else {}
    if list(got) != list(want) and sorted(got) != sorted(want):
        msgs.append("%s: statistics %r, expected the fields %s" % (path, line, sorted(want)))
        return
    dtype = exp.get("dtype", "")
    for k, w in want.items():
        g = got[k]
        if isinstance(w, bool) or k in ("nan", "inf", "sum") or isinstance(w, int):
            ok = g == repr(w)
        else:
            parts = complex(g) if isinstance(w, list) else float(g)
            gs = [parts.real, parts.imag] if isinstance(w, list) else [parts]
            ws = w if isinstance(w, list) else [w]
            if k in ("min", "max"):
                ok = all(same(at_width(x, dtype), y, 0) for x, y in zip(gs, ws))
            else:
                ok = all(same(x, y, 1e-9) for x, y in zip(gs, ws))
        if not ok:
            msgs.append("%s: %s=%s, numpy says %r (%r)" % (path, k, g, w, line))


def spec_path(tree, rel):
    """walk() keys paths the way spec_model does; find rel among them."""
    key = next(iter(tree))
    if isinstance(key, bytes):
        return rel.encode()
    return rel


def get(tree, rel):
    return tree.get(spec_path(tree, rel))


def check_text(tree, texts, msgs):
    for rel, want in texts.items():
        e = get(tree, rel)
        if e is None or e["kind"] != "file":
            msgs.append("%s: missing" % rel)
        elif e["content"].decode("utf-8") != want:
            msgs.append("%s: %r, expected %r" % (rel, e["content"], want))


def check_sizes(tree, msgs):
    for rel, e in tree.items():
        if e["kind"] == "file" and e["size"] != len(e["content"]):
            msgs.append("%s: st_size %d but %d bytes read" % (rel, e["size"], len(e["content"])))


def check_fixture(name):
    tree = walk_of(name)
    exp = EXPECT[name]
    msgs = []
    for path, a in exp.get("tensors", {}).items():
        check_array(name, tree, path, a, msgs)
    check_text(tree, exp.get("text", {}), msgs)
    check_sizes(tree, msgs)
    return tree, msgs


@pytest.mark.parametrize("name", ["torch_ckpt.bin", "torch_ckpt_bias.bin", "torch_legacy.bin",
                                  "torch_misc.bin"])
def test_torch(name):
    tree, msgs = check_fixture(name)
    exp = EXPECT[name]
    for rel, stride in exp.get("stride", {}).items():
        head = get(tree, rel)["content"].decode().partition("\n")[0]
        if HEADER.match(head).group(4) is None or ints(HEADER.match(head).group(4)) != stride:
            msgs.append("%s: stride in %r, expected %s" % (rel, head, stride))
    for rel in exp.get("requires_grad", []):
        if "requires_grad=True" not in get(tree, rel)["content"].decode():
            msgs.append("%s: requires_grad=True missing" % rel)
    for rel, bits in exp.get("summarised", {}).items():
        text = get(tree, rel)["content"].decode()
        if not all(b in text for b in bits) or len(tokens(split_summary(text)[2])) != 36:
            msgs.append("%s: not summarised as numpy does: %r" % (rel, text))
    assert not msgs, "\n".join(msgs)


def test_torch_lr_with_cat():
    with mount(fx("torch_ckpt.bin")) as mnt:
        r = run(["cat", os.path.join(mnt, "optimizer_state_dict/param_groups/0/lr")])
        assert r.returncode == 0 and r.stdout == b"0.01\n"
        st = os.stat(os.path.join(mnt, "model_state_dict/0.weight.raw"))
        with open(os.path.join(mnt, "model_state_dict/0.weight.raw"), "rb") as f:
            f.seek(8)
            part = f.read(8)
        whole = open(os.path.join(mnt, "model_state_dict/0.weight.raw"), "rb").read()
        assert st.st_size == 24 and part == whole[8:16]


def test_torch_diff_reports_only_the_changed_tensor():
    with mount(fx("torch_ckpt.bin")) as a, mount(fx("torch_ckpt_bias.bin")) as b:
        r = run(["diff", "-r", a, b])
    assert r.returncode == 1, r
    out = r.stdout.decode("utf-8", "replace")
    changed = set()
    for line in out.splitlines():
        m = re.match(r"^diff -r (\S+) (\S+)$", line) or re.match(
            r"^Binary files (\S+) and (\S+) differ$", line)
        if m:
            changed.add(os.path.relpath(m.group(1), a))
    assert changed == {"model_state_dict/2.bias"}, out
    # and how much it moved: its statistics line is among the lines diff shows
    assert re.search(r"^< min=\S+ max=\S+ mean=\S+ std=\S+ nan=0 inf=0$", out, re.M), out
    assert re.search(r"^> min=\S+ max=\S+ mean=\S+ std=\S+ nan=0 inf=0$", out, re.M), out


def test_optimizer_step_diff_names_what_changed():
    """Two checkpoints of a real model, before and after one Adam step: diff -rq names exactly
    the tensors the step changed (trained weights, moments, step counters) and the step number,
    each once, and diff -r shows how much each tensor moved on its statistics line."""
    want = EXPECT["torch_step_after.bin"]["changed"]
    with mount(fx("torch_step_before.bin")) as a, mount(fx("torch_step_after.bin")) as b:
        rq = run(["diff", "-rq", a, b])
        r = run(["diff", "-r", a, b])
    assert rq.returncode == 1 and r.returncode == 1, (rq, r)
    named = []
    for line in rq.stdout.decode().splitlines():
        m = re.match(r"^Files (\S+) and (\S+) differ$", line)
        assert m, line  # nothing only in one of them, no binary files
        named.append(os.path.relpath(m.group(1), a))
    assert sorted(named) == want, named
    sections = re.split(r"^diff -r ", r.stdout.decode(), flags=re.M)[1:]
    tensors = EXPECT["torch_step_after.bin"]["tensors"]
    for sec in sections:
        rel = os.path.relpath(sec.split()[0], a)
        if rel in tensors:
            assert re.search(r"^< min=.* std=", sec, re.M) and \
                re.search(r"^> min=.* std=", sec, re.M), sec


def test_raw_hidden_but_reachable():
    """NAME.raw is found by name (stat, read, xattrs) and listed nowhere: not by ls, not by a
    walk, not in the dump; the directory's link count is unchanged."""
    with mount(fx("torch_ckpt.bin")) as mnt:
        d = os.path.join(mnt, "model_state_dict")
        names = os.listdir(d)
        assert "0.weight" in names and not [n for n in names if n.endswith(".raw")], names
        st = os.stat(os.path.join(d, "0.weight.raw"))
        assert st.st_size == 24 and st.st_nlink == 1 and oct(st.st_mode & 0o7777) == "0o444"
        assert os.getxattr(os.path.join(d, "0.weight.raw"), "user.pickle.type") == b"bytes"
        assert os.getxattr(os.path.join(d, "0.weight.raw"), "user.pickle.offset") == \
            os.getxattr(os.path.join(d, "0.weight"), "user.pickle.offset")
        assert os.stat(d).st_nlink == 2 + sum(os.path.isdir(os.path.join(d, n)) for n in names)
        with open(os.path.join(d, "0.weight.raw"), "rb") as f:
            assert len(f.read()) == 24
        r = run(["find", mnt, "-name", "*.raw"])
        assert r.returncode == 0 and r.stdout == b"", r
        r = run(["ls", "-a", d])
        assert b".raw" not in r.stdout, r
        assert not os.path.exists(os.path.join(d, "0.weight.raw.raw"))
    r = run([mountutil.pkdump_exe(), fx("torch_ckpt.bin")])
    assert r.returncode == 0 and b".raw" not in r.stdout, r


def test_legacy_matches_zip():
    """The legacy file holds the same state dict as the zip checkpoint."""
    new = EXPECT["torch_ckpt.bin"]["tensors"]
    old = EXPECT["torch_legacy.bin"]["tensors"]
    for k, v in old.items():
        assert new["model_state_dict/" + k]["crc32"] == v["crc32"]
    tree = walk_of("torch_legacy.bin")
    assert get(tree, "0.weight")["content"] == \
        walk_of("torch_ckpt.bin")[spec_path(tree, "model_state_dict/0.weight")]["content"]


RF = ["rf_pickle.bin", "rf_joblib_plain.bin", "rf_joblib_zlib.bin", "rf_joblib_gzip.bin",
      "rf_joblib_bz2.bin", "rf_joblib_xz.bin", "rf_joblib_lzma.bin", "rf_joblib_lz4.bin"]


@pytest.mark.parametrize("name", RF)
def test_random_forest(name):
    tree, msgs = check_fixture(name)
    assert not msgs, "\n".join(msgs)


def test_joblib_compressions_mount_alike():
    base = walk_of("rf_joblib_plain.bin")
    for name in RF[2:]:
        other = walk_of(name)
        assert sorted(other) == sorted(base), name
        for rel, e in base.items():
            o = other[rel]
            assert (o["kind"], o.get("content"), o.get("target")) == \
                (e["kind"], e.get("content"), e.get("target")), (name, rel)


def test_random_forest_cat_n_estimators():
    for name in ("rf_pickle.bin", "rf_joblib_xz.bin"):
        with mount(fx(name)) as mnt:
            r = run(["cat", os.path.join(mnt, "n_estimators")])
            assert r.stdout == b"3\n", (name, r)


def leaf_text(v):
    if isinstance(v, str):
        return v + "\n"
    if v is None or isinstance(v, bool):
        return "%s\n" % v
    return "%r\n" % v


@pytest.mark.parametrize("name", ["numpy_p2.bin", "numpy_p5.bin"])
def test_numpy(name):
    tree, msgs = check_fixture(name)
    exp = EXPECT[name]
    for rel, items in exp.get("lists", {}).items():
        def check(prefix, v):
            if isinstance(v, list):
                e = get(tree, prefix)
                if e is None or e["kind"] != "dir":
                    msgs.append("%s: expected a directory" % prefix)
                    return
                for i, x in enumerate(v):
                    check("%s/%d" % (prefix, i), x)
            else:
                e = get(tree, prefix)
                if e is None or e.get("content", b"").decode() != leaf_text(v):
                    msgs.append("%s: %r, expected %r" % (prefix, e and e.get("content"),
                                                         leaf_text(v)))
        check(rel, items)
    for rel, line in exp.get("summary_lines", {}).items():
        text = get(tree, rel)["content"].decode()
        if line not in text.splitlines():
            msgs.append("%s: no line %r in %r" % (rel, line, text))
    assert not msgs, "\n".join(msgs)


def test_raw_names_when_taken():
    """A listed name wins: a real key NAME.raw keeps it and the hidden one is NAME.raw~1; two
    arrays named 1 and 1~1 have 1.raw and 1.raw~1; a list's arrays have 0.raw, 1.raw."""
    tree, msgs = check_fixture("raw_names.bin")
    want = [spec_path(tree, p) for p in ("w", "w.raw", "1", "1~1", "list", "list/0", "list/1")]
    assert sorted(k for k in tree if k not in (b".", ".")) == sorted(want), sorted(tree)
    with mount(fx("raw_names.bin")) as mnt:
        for rel, hexbytes in EXPECT["raw_names.bin"]["raw"].items():
            with open(os.path.join(mnt, rel), "rb") as f:
                got = f.read().hex()
            if got != hexbytes:
                msgs.append("%s: %s, expected %s" % (rel, got, hexbytes))
    assert not msgs, "\n".join(msgs)


def test_numpy_stats():
    """Statistics at their edges (complex, NaN and inf, big-endian, half, integer sums past 64
    bits, no finite value, no element), and records and strings wrapped at 75 columns."""
    tree, msgs = check_fixture("numpy_stats.bin")
    for rel in EXPECT["numpy_stats.bin"]["narrow"]:
        body = split_summary(get(tree, rel)["content"].decode())[2]
        if max(len(x) for x in body.splitlines()) > 75 or len(body.splitlines()) < 2:
            msgs.append("%s: not wrapped at 75 columns: %r" % (rel, body))
    assert not msgs, "\n".join(msgs)


def test_numpy_overflow():
    """Squares or sums past float64 give numpy's inf for std and mean, never nan."""
    tree, msgs = check_fixture("numpy_overflow.bin")
    assert not msgs, "\n".join(msgs)


def test_structured_wrapped():
    """A random forest's tree nodes (records of 7 fields) are wrapped as numpy wraps them."""
    tree = walk_of("rf_pickle.bin")
    body = split_summary(get(tree, "estimators_/0/tree_/nodes")["content"].decode())[2]
    lines = body.splitlines()
    assert len(lines) > 1 and max(len(x) for x in lines) <= 75, body
    assert lines[1].startswith(" ("), body


def test_pandas_grep():
    with mount(fx("pandas_df.bin")) as mnt:
        for word in EXPECT["pandas_df.bin"]["grep"]:
            r = run(["grep", "-rl", word, mnt])
            assert r.returncode == 0 and r.stdout.strip(), (word, r)


@pytest.mark.parametrize("name", [n for n, e in sorted(EXPECT.items()) if "same_as" in e])
def test_compressed_mount_as_raw(name):
    base = walk_of(EXPECT[name]["same_as"])
    tree = walk_of(name)
    assert sorted(tree) == sorted(base)
    for rel, e in base.items():
        o = tree[rel]
        assert (o["kind"], o.get("content"), o["size"], o.get("target")) == \
            (e["kind"], e.get("content"), e["size"], e.get("target")), rel


@pytest.mark.parametrize("name", [n for n, e in sorted(EXPECT.items()) if "refused" in e])
def test_refused(name):
    want = EXPECT[name]["refused"]
    r = run([mountutil.pkdump_exe(), fx(name)])
    assert r.returncode == 1 and r.stdout == b"", r
    err = r.stderr.decode()
    assert err.count("\n") == 1 and want in err, err
    assert re.match(r"^pkdump: .+: .+ at byte \d+ \(.+\)$", err.strip()), err
    mnt = "/tmp"
    r = run([mountutil.picklefs_exe(), "-f", fx(name), mnt])
    assert r.returncode == 1, r
    err = r.stderr.decode()
    assert err.count("\n") == 1 and want in err, err
