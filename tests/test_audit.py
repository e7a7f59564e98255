"""test_audit.py: the audit listing (picklefs --audit, pkdump --audit) and the rule that a lift
never swallows a call (docs/CONTRACT.md, "The audit listing", "Lifted reconstructors").

Run with `meson test -C build audit` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_audit.py

What is checked:
- every fixture of make_audit_fixtures.py hides posix.system('touch CANARY') where a lift used
  to read past it (a tensor's backward hooks and metadata, a parameter's hooks, numpy
  _reconstruct's placeholder, a dtype's flags, a defaultdict's factory) or pops its result:
  a real mount shows the call to grep -r (all but the popped one, which the audit alone lists
  here), both audit commands list it as opaque at the REDUCE's offset that pickletools gives
  and exit 4, and the canary is never created; a control test proves that each fixture does
  create its canary when Python loads it (in a child process, torch and numpy names stubbed);
- the same shapes with plain data stay lifted, and audit with exit 0;
- the checkpoint fixtures of torch, numpy, sklearn, joblib and pandas list nothing opaque but
  the classes written below, which really are opaque;
- over every fixture and fuzz input that pickletools.genops reads to its end, and every member
  pickle of a zip shown as its members (TorchScript's data.pkl, constants.pkl and .debug_pkl
  files, a zip of pickles, a .npz's object arrays): every offset of a REDUCE, NEWOBJ,
  NEWOBJ_EX, INST, OBJ or BUILD that genops lists is in the audit listing, as MEMBER:N in a
  member, N in the member's bytes, which is also user.pickle.offset in the mount;
- the listing's format: one line per item, offsets in order, and the exit statuses 0, 1, 2, 4.
"""

import glob
import io
import os
import pickletools
import re
import subprocess
import sys
import zipfile

import pytest

import make_audit_fixtures as fx
import mountutil
from mountutil import mount, run

AUDIT = os.path.join(mountutil.FIXTURES, "audit")
CKPT = os.path.join(mountutil.FIXTURES, "ckpt")
# OFFSET is N, OUTER/INNER... for a line of a pickle nested in a pickle.loads call, and
# MEMBER:N... for a member of a zip shown as its members (no space in MEMBER)
LINE = re.compile(rb"^((?:[^ ]*:)?\d+(?:/\d+)*) (global|call|build|persid) (.*) (lifted|opaque)$")
CALL_OPS = {"REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ", "BUILD"}
EXIT_OPAQUE = 4


def audit(path, tool="pkdump"):
    """(exit status, [(offset, kind, text, verdict)], stderr) of `TOOL --audit path`; offset
    is an int, or a str "OUTER/INNER" for an item of a nested pickle, "MEMBER:N" for one of
    a zip member."""
    exe = mountutil.pkdump_exe() if tool == "pkdump" else mountutil.picklefs_exe()
    r = run([exe, "--audit", path])
    items = []
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        assert m, "not an audit line: %r" % line
        off = m.group(1).decode()  # an int, or "OUTER/INNER" (a str) in a nested pickle
        items.append((int(off) if off.isdigit() else off, m.group(2).decode(),
                      m.group(3).decode("utf-8", "replace"), m.group(4).decode()))
    return r.returncode, items, r.stderr.decode("utf-8", "replace")


def stream_of(path):
    """The pickle stream of a fixture: a torch checkpoint's data.pkl, else the file's bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            return z.read(name)
    return data


def npy_pickle_start(data):
    """Where the pickle of a .npy file of dtype object starts, or None for any other .npy."""
    if data[:6] != b"\x93NUMPY" or len(data) < 12:
        return None
    size, head = (2, 10) if data[6] == 1 else (4, 12)
    hlen = int.from_bytes(data[8:8 + size], "little")
    header = data[head:head + hlen]
    return head + hlen if re.search(rb"'descr': *'\|?O", header) else None


def member_streams(path):
    """The pickles the audit lists of a file, as (PREFIX, bytes, base): ("", the stream, 0) for
    all but a zip shown as its members (a zip of pickles, a TorchScript archive, a .npz), whose
    member pickles each give ("MEMBER:", its bytes, 0), and whose .npy members of dtype object
    ("MEMBER:", the pickle after the header, the header's length): its offsets count in the
    member's bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"PK\x03\x04":
        return [("", data, 0)]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        npz = all(n.endswith(".npy") for n in names)
        torch = any(n.endswith("/data.pkl") for n in names) and \
            not any(n.endswith("/constants.pkl") for n in names)
        if torch and not npz:
            return [("", stream_of(path), 0)]
        out = []
        for info in z.infolist():
            if info.is_dir():
                continue
            body = z.read(info)
            prefix = re.sub(r"[\x00- \\\x7f]", lambda m: "\\x%02x" % ord(m.group()),
                            info.filename) + ":"
            start = npy_pickle_start(body)
            if start is not None:
                out.append((prefix, body[start:], start))
            elif len(body) >= 3 and body[0] == 0x80 and 2 <= body[1] <= 5 and body[-1:] == b".":
                out.append((prefix, body, 0))
        return out


def call_offsets(stream):
    """The offsets genops gives of every call opcode, over all the pickles back to back; None
    when genops cannot read the stream to its very end."""
    out = []
    pos = 0
    try:
        while pos < len(stream):
            f = io.BytesIO(stream)
            f.seek(pos)
            end = None
            for op, _arg, off in pickletools.genops(f):
                if op.name in CALL_OPS:
                    out.append(off)
                if op.name == "STOP":
                    end = off + 1
            if end is None:
                return None
            pos = end
    except Exception:  # genops refuses what it cannot read: not a stream for this check
        return None
    return out


def cleanup(name):
    try:
        os.unlink(fx.canary(name))
    except FileNotFoundError:
        pass


# ---- calls where lifts used to read past them ----

@pytest.mark.parametrize("name", sorted(fx.CASES))
def test_hidden_call_is_audited_opaque(name):
    fn, _make, _where = fx.CASES[name]
    path = os.path.join(AUDIT, fn)
    cleanup(name)
    reduce_offsets = call_offsets(stream_of(path))
    assert reduce_offsets, "genops reads the fixture"
    text = "posix.system('touch %s')" % fx.canary(name)
    for tool in ("pkdump", "picklefs"):
        rc, items, err = audit(path, tool)
        assert rc == EXIT_OPAQUE, (tool, rc, err)
        assert err == ""
        calls = [i for i in items if i[1] == "call" and i[2] == text]
        assert len(calls) == 1, items
        off, _, _, verdict = calls[0]
        assert verdict == "opaque"
        assert off in reduce_offsets
        assert any(i[1] == "global" and i[2] == "posix.system" and i[3] == "opaque"
                   for i in items)
    assert not os.path.exists(fx.canary(name))


@pytest.mark.parametrize("name", sorted(n for n, c in fx.CASES.items() if c[2]))
def test_hidden_call_found_by_grep_on_a_mount(name):
    fn, _make, where = fx.CASES[name]
    path = os.path.join(AUDIT, fn)
    cleanup(name)
    with mount(path) as mnt:
        r = run(["grep", "-r", "-l", "touch " + fx.canary(name), mnt])
        assert r.returncode == 0, r.stderr
        found = [os.path.relpath(p, mnt) for p in r.stdout.decode().splitlines()]
        assert os.path.join(where, "__reduce__") in found, found
        # the value the call was hidden in is an opaque object: an inert directory
        assert os.path.isdir(os.path.join(mnt, where))
        assert os.getxattr(os.path.join(mnt, where), "user.pickle.type") == b"object"
    assert not os.path.exists(fx.canary(name))


STUB_LOADER = r"""
import pickle, sys, zipfile, io
def stub(*a, **k):
    return None
class U(pickle.Unpickler):
    def find_class(self, mod, name):
        if mod.startswith(("torch", "numpy")):
            return stub
        return super().find_class(mod, name)
    def persistent_load(self, pid):
        return None
data = open(sys.argv[1], "rb").read()
if data[:4] == b"PK\x03\x04":
    z = zipfile.ZipFile(io.BytesIO(data))
    data = z.read([n for n in z.namelist() if n.endswith("/data.pkl")][0])
try:
    U(io.BytesIO(data)).load()
except Exception:
    pass
"""


@pytest.mark.parametrize("name", sorted(fx.CASES))
def test_control_python_runs_the_hidden_call(name):
    """Each fixture's call is live: Python's own unpickler runs it (torch and numpy stubbed)."""
    fn = fx.CASES[name][0]
    cleanup(name)
    subprocess.run([sys.executable, "-c", STUB_LOADER, os.path.join(AUDIT, fn)],
                   capture_output=True, timeout=60, check=True)
    assert os.path.exists(fx.canary(name))
    cleanup(name)


@pytest.mark.parametrize("fn", sorted(fx.BENIGN))
def test_plain_shapes_stay_lifted(fn):
    rc, items, err = audit(os.path.join(AUDIT, fn))
    assert rc == 0, (items, err)
    assert items and all(i[3] == "lifted" for i in items)
    with mount(os.path.join(AUDIT, fn)) as mnt:
        out = run(["grep", "-r", "-l", "__reduce__", mnt])
        assert out.stdout == b""  # no opaque object anywhere
        assert not glob.glob(os.path.join(mnt, "**", "__reduce__"), recursive=True)


# ---- checkpoints of the real producers ----

SKLEARN = {"sklearn.ensemble._forest.RandomForestClassifier",
           "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree._tree.Tree"}
# fixture: the names of its opaque globals, calls and BUILD targets (empty: exit 0)
EXPECTED = {
    "torch_ckpt.bin": set(), "torch_ckpt_bias.bin": set(), "torch_legacy.bin": set(),
    "torch_misc.bin": set(), "numpy_p2.bin": set(), "numpy_p5.bin": set(),
    "plain.bin": set(), "plain_bz2.bin": set(), "plain_gzip.bin": set(),
    "plain_gzip_members.bin": set(), "plain_lz4.bin": set(), "plain_lz4_cli.bin": set(),
    "plain_xz.bin": set(), "plain_zlib.bin": set(), "plain_zstd.bin": set(),
    "plain_zstd_cli.bin": set(), "plain_zstd_frames.bin": set(),
    "rf_pickle.bin": SKLEARN, "rf_joblib_plain.bin": SKLEARN, "rf_joblib_bz2.bin": SKLEARN,
    "rf_joblib_gzip.bin": SKLEARN, "rf_joblib_lz4.bin": SKLEARN, "rf_joblib_lzma.bin": SKLEARN,
    "rf_joblib_xz.bin": SKLEARN, "rf_joblib_zlib.bin": SKLEARN,
    "pandas_df.bin": set(),  # read as a table: its manager, blocks and indexes too
    "numpy_stats.bin": set(), "numpy_overflow.bin": set(),
    "torch_step_before.bin": set(), "torch_step_after.bin": set(), "raw_names.bin": set(),
}


def opaque_name(item):
    """The class or callable an opaque item names: a global's name, a call's callable, a BUILD's
    class."""
    _off, kind, text, _v = item
    if kind == "global":
        return text
    if kind == "call":
        return text.split("(", 1)[0]
    return text.split(" ", 1)[0]


def test_every_checkpoint_fixture_has_an_expected_verdict():
    decodable = [fn for fn in os.listdir(CKPT) if fn.endswith(".bin")
                 and run([mountutil.pkdump_exe(), os.path.join(CKPT, fn)]).returncode == 0]
    assert sorted(decodable) == sorted(EXPECTED)


@pytest.mark.parametrize("fn", sorted(EXPECTED))
def test_checkpoint_verdicts(fn):
    rc, items, err = audit(os.path.join(CKPT, fn))
    assert err == ""
    opaque = {opaque_name(i) for i in items if i[3] == "opaque"}
    assert opaque == EXPECTED[fn]
    assert rc == (EXIT_OPAQUE if EXPECTED[fn] else 0)
    assert [i[0] for i in items] == sorted(i[0] for i in items)
    # the arrays are read as data wherever they are
    assert not any(i[3] == "opaque" and ("numpy" in i[2] or "torch" in i[2]) for i in items
                   if i[1] in ("global", "persid"))


def test_picklefs_and_pkdump_agree():
    for fn in ("torch_ckpt.bin", "rf_joblib_xz.bin", "pandas_df.bin"):
        path = os.path.join(CKPT, fn)
        a = run([mountutil.pkdump_exe(), "--audit", path])
        b = run([mountutil.picklefs_exe(), "--audit", path])
        assert (a.returncode, a.stdout) == (b.returncode, b.stdout)


# ---- the invariant: every call opcode is listed ----

def invariant_inputs():
    roots = [mountutil.FIXTURES, os.path.join(mountutil.REPO, "fuzz", "corpus"),
             os.path.join(mountutil.REPO, "fuzz", "crashes")]
    out = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            out += [os.path.join(dirpath, f) for f in files]
    return sorted(out)


def test_every_call_opcode_is_in_the_listing():
    """Over every input genops reads, and every member pickle of a zip shown as its members
    (TorchScript's data.pkl, constants.pkl and .debug_pkl files, a zip of pickles, a .npz's
    object arrays), each call opcode genops lists is a line, at MEMBER:OFFSET in a member."""
    checked = members = 0
    missing = []
    for path in invariant_inputs():
        try:
            streams = member_streams(path)
        except Exception:  # a broken zip: not a stream genops reads
            continue
        expect = set()
        for prefix, data, base in streams:
            offsets = call_offsets(data)
            if offsets is None:
                continue
            expect |= {(prefix, o + base) for o in offsets}
            members += prefix != ""
        if not expect:
            continue
        rc, items, err = audit(path)
        if rc == 1:
            continue  # refused: what a refused file had run is listed elsewhere
        assert rc in (0, EXIT_OPAQUE), (path, rc, err)
        listed = set()
        for off, kind, _text, _v in items:
            if kind not in ("call", "build") or "/" in str(off).rpartition(":")[2]:
                continue  # a nested pickle's line
            prefix, _, n = str(off).rpartition(":")
            listed.add((prefix + ":" if prefix else "", int(n)))
        # bytes after the last pickle that are no pickle are shown, not decoded: a call that
        # genops reads there is none that pickle.load makes
        m = re.search(r"at byte (\d+), after the last pickle", err)
        end = int(m.group(1)) if m else float("inf")
        lost = sorted(p + str(o) for p, o in expect - listed if p or o < end)
        if lost:
            missing.append((os.path.relpath(path, mountutil.REPO), lost[:5]))
        checked += 1
    assert not missing, missing[:20]
    assert checked > 300
    assert members >= 8  # TorchScript's pickles, .npz object arrays, a zip of pickles


# ---- format and exit statuses ----

def test_refused_file_exits_1_with_one_line(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x02cposix\nsystem\n")
    for tool in ("pkdump", "picklefs"):
        rc, items, err = audit(str(bad), tool)
        assert rc == 1
        assert len(err.strip().splitlines()) >= 1
        assert err.startswith("%s: %s: " % (tool, bad))


def test_usage_errors_exit_2(tmp_path):
    f = os.path.join(CKPT, "plain.bin")
    for args in (["--audit"], ["--audit", f, str(tmp_path)], ["--audit", "--dump", f]):
        r = run([mountutil.picklefs_exe(), *args])
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1


def test_control_characters_stay_on_one_line(tmp_path):
    # STACK_GLOBAL of names holding a newline: one line, written \x0a
    p = tmp_path / "nl.pkl"
    p.write_bytes(b"\x80\x04\x8c\x03a\nb\x94\x8c\x01c\x94\x93)R.")
    rc, items, _ = audit(str(p))
    assert rc == EXIT_OPAQUE
    assert [i[1] for i in items] == ["global", "call"]
    assert items[0][2] == "a\\x0ab.c"


def test_zip_members_are_audited_in_their_own_bytes(tmp_path):
    """A zip of pickles: each member's globals and calls are listed as MEMBER:N, N what
    pickletools gives in the member's bytes, and the mount's user.pickle.offset agrees."""
    evil = (b"\x80\x02}X\x03\x00\x00\x00cmdcposix\nsystem\n(X\x0f\x00\x00\x00touch /tmp/nopeq"
            b"\x00tRs.")
    plain = b"\x80\x02ccollections\nOrderedDict\n)Rq\x00."
    path = tmp_path / "members.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a dir/plain.pkl", plain)
        z.writestr("evil.pkl", evil, compress_type=zipfile.ZIP_DEFLATED)
    rc, items, err = audit(str(path))
    assert rc == EXIT_OPAQUE, err
    calls = {i[0]: i[2] for i in items if i[1] == "call"}
    plain_at, evil_at = call_offsets(plain)[0], call_offsets(evil)[0]
    assert calls == {"a\\x20dir/plain.pkl:%d" % plain_at: "collections.OrderedDict()",
                     "evil.pkl:%d" % evil_at: "posix.system('touch /tmp/nope')"}
    with mount(str(path)) as mnt:
        obj = os.path.join(mnt, "evil.pkl", "cmd")
        assert int(os.getxattr(obj, "user.pickle.offset")) == evil_at
