"""test_faults.py: picklefs under faults around a live mount, through real FUSE.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_faults.py

What is checked:
- FILE truncated, rewritten in place (same size, other bytes, a later mtime) or deleted while
  mounted: reading a value that stays in the file (a str or bytes of any length, an array's or
  a stored torch member's NAME.raw, an array summary not yet rendered) fails with EIO, never
  SIGBUS; the values decoded into memory (numbers) keep being served, every name is still
  listed (and every hidden NAME.raw still found by name), and the daemon unmounts and exits 0 with nothing alarming on stderr (mountutil
  checks that);
- 16 `grep -r` and a `find` running at once over a tree of a few thousand entries all see the
  same, correct output;
- `fusermount3 -u` while readers are busy: the unmount either succeeds or says the mount is
  busy, in which case `fusermount3 -u -z` does it; the daemon then exits 0, and nothing is left
  in /proc/mounts;
- a missing mountpoint, a regular file as mountpoint, and a root-owned 0755 directory that an
  unprivileged user (nobody, through setpriv) may not mount on: exit 3, exactly one stderr line
  naming the mountpoint, nothing mounted, in the foreground and as a daemon;
- malicious pickles at protocols 0 to 5, raw and gzip, zlib, bz2, xz compressed (os.system,
  subprocess.Popen, builtins.eval and exec through __reduce__, and a hand-written getattr chain
  fetched from the memo): mounted, every file read, and pkdump run; the canary is never created
  and each __reduce__ file names the callable as the pickle wrote it. A control loads the same
  pickles with CPython in a subprocess, to show that every payload is live.
"""

import bz2
import errno
import gzip
import lzma
import os
import pickle
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import pytest

import mountutil
from mountutil import DEMO, mount, run, walk

CKPT = os.path.join(mountutil.FIXTURES, "ckpt")
LINE_TIMEOUT = 60


def mounts_text():
    with open("/proc/mounts") as f:
        return f.read()


def assert_not_mounted(mnt):
    assert not os.path.ismount(mnt), "%s is still a mount point" % mnt
    assert (" %s " % mnt) not in mounts_text(), "%s is still in /proc/mounts" % mnt


# ---------------------------------------------------------------------------------------------
# FILE changed under a live mount

def _raw_fixture(path):
    rng = random.Random(7)
    obj = {
        "big": bytes(rng.randrange(256) for _ in range(64 * 1024)),
        "text": "é" * 10000 + "end",
        "small": "hello",
        "n": 42,
        "short_bytes": b"\x00\x01\x02",
    }
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=4)


def _s5(text):
    b = text.encode()
    return b"\x8c" + bytes([len(b)]) + b


def _numpy_p5_fixture(path, n=3000):
    """{'big': numpy.arange(n, dtype='f8'), 'small': 'hello'} as numpy pickles it at protocol 5
    (_frombuffer of a BYTEARRAY8), written by hand since numpy is not at hand: the element bytes
    stay in the file."""
    data = b"".join(struct.pack("<d", float(i)) for i in range(n))
    b = b"\x80\x05}(" + _s5("big") + _s5("numpy.core.numeric") + _s5("_frombuffer") + b"\x93("
    b += b"\x96" + struct.pack("<Q", len(data)) + data
    b += _s5("numpy") + _s5("dtype") + b"\x93" + _s5("f8") + b"\x89\x88\x87R"
    b += b"(K\x03" + _s5("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    b += b"M" + struct.pack("<H", n) + b"\x85" + _s5("C") + b"tR"
    b += _s5("small") + _s5("hello") + _s5("n") + b"K\x2a" + b"u."
    with open(path, "wb") as f:
        f.write(b)


def _call_fixture(path):
    """{'call': os.system('hello'), 'n': 42}, written by hand: its __reduce__ line is rendered
    from the str argument, which stays in the file."""
    b = b"\x80\x04}(" + _s5("call") + _s5("os") + _s5("system") + b"\x93" + _s5("hello")
    b += b"\x85R" + _s5("n") + b"K\x2au."
    with open(path, "wb") as f:
        f.write(b)


# name -> (how to make FILE, the values kept in the file (read with pread: every str and
# bytes, long or short), the values decoded into memory with their content, the array
# summaries not yet rendered)
SOURCES = {
    "raw": (_raw_fixture, ["big", "text", "small", "short_bytes"], {"n": b"42\n"}, []),
    "call": (_call_fixture, ["call/__reduce__"], {"n": b"42\n"}, []),
    "numpy_p5": (_numpy_p5_fixture, ["big.raw", "small"], {"n": b"42\n"}, ["big"]),
    "torch_zip": (os.path.join(CKPT, "torch_misc.bin"), ["ints.raw"],
                  {"device": b"cuda:1\n", "size/0": b"2\n", "size/1": b"3\n"}, ["ints"]),
}
FAULTS = ["truncated", "rewritten", "deleted"]


def make_source(kind, tmp_path):
    how = SOURCES[kind][0]
    path = str(tmp_path / ("source-" + kind))
    if callable(how):
        how(path)
    else:
        shutil.copyfile(how, path)
    os.chmod(path, 0o644)
    return path


def apply_fault(path, fault):
    st = os.stat(path)
    if fault == "truncated":
        os.truncate(path, st.st_size // 2)
    elif fault == "rewritten":
        with open(path, "r+b") as f:  # in place: the daemon's open descriptor sees it
            data = f.read()
            f.seek(0)
            f.write(bytes(b ^ 0xA5 for b in data))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 * 10**9))
        after = os.stat(path)
        assert after.st_size == st.st_size and after.st_ino == st.st_ino, "harness: rewrite"
    elif fault == "deleted":
        os.unlink(path)
    else:
        raise ValueError(fault)


def expect_eio(path, what):
    """Opening and reading path (at 0, and past 4 KiB when it is that long) fails with EIO."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        assert e.errno == errno.EIO, "%s: open failed with %s, expected EIO" % (
            what, errno.errorcode.get(e.errno, e.errno))
        return
    try:
        for off in (0, 5000) if os.fstat(fd).st_size > 5000 else (0,):
            try:
                data = os.pread(fd, 4096, off)
            except OSError as e:
                assert e.errno == errno.EIO, "%s: read at %d failed with %s, expected EIO" % (
                    what, off, errno.errorcode.get(e.errno, e.errno))
                continue
            pytest.fail("%s: read at %d gave %d bytes (st_size %d), expected EIO" % (
                what, off, len(data), os.fstat(fd).st_size))
    finally:
        os.close(fd)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_source_changed_under_the_mount_gives_eio(tmp_path, kind, fault):
    _, in_file, in_memory, _ = SOURCES[kind]
    path = make_source(kind, tmp_path)
    with mount(path) as mnt:
        # before: the values in memory, by path only (no readdir, so no summary gets rendered),
        # and the sizes of those in the file (known without reading them, which would put
        # them in the kernel's page cache)
        for name, content in in_memory.items():
            with open(os.path.join(mnt, name), "rb") as f:
                assert f.read() == content, "%s/%s before the fault" % (kind, name)
        for name in in_file:
            assert os.stat(os.path.join(mnt, name)).st_size > 0, (kind, name)
        apply_fault(path, fault)
        for name in in_file:
            expect_eio(os.path.join(mnt, name), "%s %s: %s" % (fault, kind, name))
        # after: the names are all there (they never depend on the file), and the values in
        # memory are still served, the same; a hidden NAME.raw is still found by its name
        for name in in_file + list(in_memory):
            if name.endswith(".raw"):
                assert os.lstat(os.path.join(mnt, name)).st_size > 0, (fault, kind, name)
                continue
            assert os.path.basename(name) in os.listdir(os.path.join(mnt, os.path.dirname(name))), (
                "%s %s: %s is no longer listed" % (fault, kind, name))
        if kind == "call":  # its xattr is rendered from the file too, and still listed
            call = os.path.join(mnt, "call")
            assert "user.pickle.reduce" in os.listxattr(call), fault
            with pytest.raises(OSError) as e:
                os.getxattr(call, "user.pickle.reduce")
            assert e.value.errno == errno.EIO, "%s: getxattr failed with %s, expected EIO" % (
                fault, errno.errorcode.get(e.value.errno, e.value.errno))
        for name, content in in_memory.items():
            with open(os.path.join(mnt, name), "rb") as f:
                got = f.read()
            assert got == content, "%s %s: %s after the fault is %r, expected %r" % (
                fault, kind, name, got[:80], content)
        # a second read of a value in the file fails again, it does not hang or crash the daemon
        expect_eio(os.path.join(mnt, in_file[0]), "%s %s: %s again" % (fault, kind, in_file[0]))
    assert_not_mounted(mnt)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", sorted(k for k in SOURCES if SOURCES[k][3]))
def test_summary_first_rendered_after_the_change_gives_eio(tmp_path, kind, fault):
    """An array summary is rendered on its first stat or read, from the element bytes in FILE.
    When FILE changed before that, the summary cannot be made: its stat or read must fail with
    EIO, not show an empty file (a silent wrong answer that `diff -r` would take as real)."""
    _, _, _, summaries = SOURCES[kind]
    path = make_source(kind, tmp_path)
    with mount(path) as mnt:
        apply_fault(path, fault)
        for name in summaries:
            expect_eio(os.path.join(mnt, name), "%s %s: summary %s" % (fault, kind, name))
    assert_not_mounted(mnt)


# ---------------------------------------------------------------------------------------------
# Many readers at once

USERS = 800


def users_pickle(path, big=0):
    obj = {"u%04d" % i: {"name": "user%04d" % i, "email": "user%04d@example.com" % i,
                         "id": i, "tags": ["t%d" % (i % 7), "common"]}
           for i in range(USERS)}
    if big:
        obj["big"] = bytes(range(256)) * (big // 256)
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=5)


def expected_users(mnt):
    grep, find = set(), {"d "}
    for i in range(USERS):
        u = "u%04d" % i
        find |= {"d " + u, "f %s/name" % u, "f %s/email" % u, "f %s/id" % u,
                 "d %s/tags" % u, "f %s/tags/0" % u, "f %s/tags/1" % u}
        grep.add("%s/%s/email:user%04d@example.com" % (mnt, u, i))
        grep.add("%s/%s/tags/1:common" % (mnt, u))
    return grep, find


def test_parallel_grep_and_find_agree(tmp_path):
    path = str(tmp_path / "users.pkl")
    users_pickle(path)
    with mount(path) as mnt:
        greps = [subprocess.Popen(["grep", "-r", "-e", "example", "-e", "common", mnt],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(16)]
        finder = subprocess.Popen(["find", mnt, "-printf", "%y %P\\n"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        outs = [p.communicate(timeout=LINE_TIMEOUT) + (p.returncode,) for p in greps]
        fout, ferr = finder.communicate(timeout=LINE_TIMEOUT)
        want_grep, want_find = expected_users(mnt)
    for i, (out, err, rc) in enumerate(outs):
        assert rc == 0 and err == b"", "grep #%d: exit %d, stderr %r" % (i, rc, err[:300])
        assert out == outs[0][0], "grep #%d printed other output than grep #0 (%d vs %d bytes)" % (
            i, len(out), len(outs[0][0]))
    got = set(outs[0][0].decode().splitlines())
    assert len(outs[0][0].decode().splitlines()) == len(got), "grep printed a line twice"
    assert got == want_grep, "grep -r: %d lines missing (e.g. %r), %d unexpected (e.g. %r)" % (
        len(want_grep - got), sorted(want_grep - got)[:3], len(got - want_grep),
        sorted(got - want_grep)[:3])
    assert finder.returncode == 0 and ferr == b"", "find: exit %d, stderr %r" % (
        finder.returncode, ferr[:300])
    lines = fout.decode().splitlines()
    assert len(lines) == len(set(lines)), "find listed an entry twice"
    assert set(lines) == want_find, "find: %d missing (e.g. %r), %d unexpected (e.g. %r)" % (
        len(want_find - set(lines)), sorted(want_find - set(lines))[:3],
        len(set(lines) - want_find), sorted(set(lines) - want_find)[:3])


# ---------------------------------------------------------------------------------------------
# Unmount while reads are in flight

def start_daemon(path):
    """picklefs -f path MNT, like mountutil.mount, but leaving the unmount to the caller."""
    mountutil.require_fuse()
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen([mountutil.picklefs_exe(), "-f", path, mnt],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    deadline = time.monotonic() + mountutil.MOUNT_TIMEOUT
    while not os.path.ismount(mnt):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            errf.seek(0)
            pytest.fail("picklefs -f %s did not mount (exit %r): %r" % (
                path, proc.returncode, errf.read()))
        time.sleep(0.02)
    return proc, mnt, errf


def test_unmount_while_reads_are_in_flight(tmp_path):
    path = str(tmp_path / "users.pkl")
    users_pickle(path, big=4 << 20)
    proc, mnt, errf = start_daemon(path)
    readers = []
    try:
        loop = ('while :; do cat "$1/big" >/dev/null 2>&1; grep -r -q nothing-here "$1" '
                '>/dev/null 2>&1; done')
        readers = [subprocess.Popen(["sh", "-c", loop, "reader", mnt], start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(4)]
        time.sleep(0.5)
        assert all(r.poll() is None for r in readers), "harness: a reader loop ended early"
        u = run(["fusermount3", "-u", mnt], timeout=20)
        if u.returncode != 0:
            # with a file open on the mount, umount(2) says EBUSY; a lazy unmount detaches it
            assert b"busy" in u.stderr.lower(), (
                "fusermount3 -u with readers in flight: exit %d, and not because it is busy: %r"
                % (u.returncode, u.stderr))
            print("fusermount3 -u: %s; unmounting with -z" % u.stderr.decode().strip())
            z = run(["fusermount3", "-u", "-z", mnt], timeout=20)
            assert z.returncode == 0, "fusermount3 -u -z: exit %d: %r" % (z.returncode, z.stderr)
        assert (" %s " % mnt) not in mounts_text(), "%s is in /proc/mounts after the unmount" % mnt
    finally:
        for r in readers:
            if r.poll() is None:
                os.killpg(r.pid, signal.SIGKILL)
            r.wait()
        rc = mountutil.wait_or_kill(proc, 15)
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace")
        errf.close()
        try:
            os.rmdir(mnt)
        except OSError:
            pass
    assert rc is not None, "picklefs did not exit within 15 s of the unmount; stderr %r" % err
    assert rc == 0, "picklefs exited %d after the unmount under load; stderr %r" % (rc, err)
    bad = mountutil.alarming(err)
    assert not bad, "picklefs wrote alarming lines to stderr:\n" + "\n".join(bad)
    assert_not_mounted(mnt)


# ---------------------------------------------------------------------------------------------
# Mountpoints that cannot be mounted on

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _bad_mountpoint(tmp_path, kind):
    """(file, mountpoint, command prefix) for each kind of bad mountpoint."""
    if kind == "missing":
        return DEMO, str(tmp_path / "does-not-exist"), []
    if kind == "regular_file":
        mnt = str(tmp_path / "a-file")
        open(mnt, "w").close()
        return DEMO, mnt, []
    # nobody may read FILE (0644 in a 0755 directory) but not mount on a root-owned 0755 dir
    top = tempfile.mkdtemp(prefix="picklefs-nobody-")
    os.chmod(top, 0o755)
    file = os.path.join(top, "demo.pkl")
    shutil.copyfile(DEMO, file)
    os.chmod(file, 0o644)
    mnt = os.path.join(top, "mnt")
    os.mkdir(mnt)
    os.chmod(mnt, 0o755)
    assert os.stat(mnt).st_uid == 0, "harness: the mountpoint must be owned by root"
    ctl = run(NOBODY + [mountutil.pkdump_exe(), file], timeout=20)
    assert ctl.returncode == 0, "harness: nobody cannot read %s: %r" % (file, ctl.stderr)
    return file, mnt, NOBODY


@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
@pytest.mark.parametrize("kind", ["missing", "regular_file", "not_permitted"])
def test_bad_mountpoint_one_line_exit_3(tmp_path, kind, foreground):
    mountutil.require_fuse()
    file, mnt, prefix = _bad_mountpoint(tmp_path, kind)
    try:
        r = run(prefix + [mountutil.picklefs_exe()] + (["-f"] if foreground else []) +
                [file, mnt], timeout=20)
        lines = r.stderr.decode("utf-8", "replace").splitlines()
        assert r.returncode == 3, "%s mountpoint: expected exit 3, got %d; stderr %r" % (
            kind, r.returncode, lines)
        assert len(lines) == 1, "%s mountpoint: expected one stderr line, got %d: %r" % (
            kind, len(lines), lines)
        assert lines[0].startswith("picklefs: ") and mnt in lines[0], (
            "%s mountpoint: the line should read 'picklefs: ... %s ...': %r" % (kind, mnt, lines[0]))
        assert_not_mounted(mnt)
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
        if kind == "not_permitted":
            shutil.rmtree(os.path.dirname(mnt), ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Never executed: a canary per payload, at every protocol and in every container

PAYLOADS = ["system", "popen", "eval", "exec", "getattr_chain"]
CONTAINERS = {
    "raw": lambda d: d,
    "gzip": lambda d: gzip.compress(d),
    "zlib": lambda d: zlib.compress(d),
    "bz2": lambda d: bz2.compress(d),
    "xz": lambda d: lzma.compress(d),
}


class Reduce:
    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _s(p, text):
    b = text.encode()
    if p == 0:
        return b"V" + text.encode("raw_unicode_escape") + b"\n"
    if p < 4:
        return b"X" + struct.pack("<I", len(b)) + b
    return b"\x8c" + bytes([len(b)]) + b


def _global(p, mod, name):
    if p < 4:
        return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"
    return _s(p, mod) + _s(p, name) + b"\x93"  # STACK_GLOBAL


def _memo(p, i):
    return b"p%d\n" % i if p == 0 else b"q" + bytes([i]) if p < 4 else b"\x94"  # MEMOIZE


def _get(p, i):
    return b"g%d\n" % i if p == 0 else b"h" + bytes([i])


def _tuple(p, items, n):
    return b"(" + items + b"t" if p < 2 else items + {1: b"\x85", 2: b"\x86"}[n]


def getattr_chain(p, cmd):
    """getattr(__import__('os'), 'system')(cmd), written by hand: the two globals are memoized,
    popped, and fetched back from the memo (STACK_GLOBAL + MEMOIZE from protocol 4 on)."""
    bi = "__builtin__" if p < 3 else "builtins"
    b = b"\x80" + bytes([p]) if p >= 2 else b""
    b += _global(p, bi, "getattr") + _memo(p, 0) + b"0"
    b += _global(p, bi, "__import__") + _memo(p, 1) + b"0"
    b += _get(p, 0)
    imp = _get(p, 1) + _tuple(p, _s(p, "os"), 1) + b"R" + _memo(p, 2)
    b += _tuple(p, imp + _s(p, "system"), 2) + b"R" + _memo(p, 3)
    b += _tuple(p, _s(p, cmd), 1) + b"R" + _memo(p, 4) + b"."
    return b


def malicious(p, canary_dir):
    """Two pickles back to back: a dict of four __reduce__ payloads, then the getattr chain.
    Each payload would create canary_dir/NAME."""
    c = {k: os.path.join(canary_dir, k) for k in PAYLOADS}
    objs = {
        "system": Reduce(os.system, ("touch " + c["system"],)),
        "popen": Reduce(subprocess.Popen, (["touch", c["popen"]],)),
        "eval": Reduce(eval, ("__import__('os').system('touch %s')" % c["eval"],)),
        "exec": Reduce(exec, ("import os; os.system('touch %s')" % c["exec"],)),
    }
    return pickle.dumps(objs, protocol=p) + getattr_chain(p, "touch " + c["getattr_chain"])


def callables_written(data):
    """The dotted names of the globals the pickles in data name, as written (fix_imports off):
    an Unpickler whose find_class records the name and hands back a harmless stand-in."""
    import io

    names = []

    class Stub:
        def __call__(self, *args, **kwargs):
            return Stub()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            names.append(module + "." + name)
            return Stub()

    f = io.BytesIO(data)
    while f.tell() < len(data):
        Recorder(f, fix_imports=False).load()
    return names


def python3_name(dotted):
    """The Python 3 name of a Python 2 one (__builtin__.eval, commands.Popen), as CPython's
    fix_imports maps it; other names unchanged."""
    import _compat_pickle

    module, name = dotted.rsplit(".", 1)
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return module + "." + name


def test_malicious_payloads_are_live_for_cpython(tmp_path):
    """The control: CPython's pickle.load of the same bytes runs every payload."""
    canary = str(tmp_path / "control")
    os.mkdir(canary)
    path = str(tmp_path / "control.pkl")
    for p in range(6):
        for k in PAYLOADS:
            if os.path.exists(os.path.join(canary, k)):
                os.unlink(os.path.join(canary, k))
        with open(path, "wb") as f:
            f.write(malicious(p, canary))
        code = ("import pickle, sys\nf = open(sys.argv[1], 'rb')\nd = pickle.load(f)\n"
                "pickle.load(f)\nd['popen'].wait()\n")
        r = run([sys.executable, "-c", code, path], timeout=30)
        assert r.returncode == 0, "control load, protocol %d: %r" % (p, r.stderr[-500:])
        missing = [k for k in PAYLOADS if not os.path.exists(os.path.join(canary, k))]
        assert not missing, "control, protocol %d: CPython did not run %s" % (p, missing)


@pytest.mark.parametrize("container", sorted(CONTAINERS))
def test_malicious_pickles_never_execute(tmp_path, container):
    canary = tempfile.mkdtemp(prefix="picklefs-canary-")
    try:
        for p in range(6):
            raw = malicious(p, canary)
            path = str(tmp_path / ("malicious_p%d.%s" % (p, container)))
            with open(path, "wb") as f:
                f.write(CONTAINERS[container](raw))
            with mount(path) as mnt:
                tree = walk(mnt)  # reads every file, __reduce__ included
            r = run([mountutil.pkdump_exe(), path], timeout=30)
            assert r.returncode == 0, "pkdump %s: exit %d, %r" % (
                os.path.basename(path), r.returncode, r.stderr)
            time.sleep(0.05)  # a Popen'd touch would land by now
            fired = sorted(os.listdir(canary))
            assert not fired, "protocol %d, %s: the payloads %s ran (canaries in %s)" % (
                p, container, fired, canary)
            reduces = {rel: e["content"].decode("utf-8", "replace") for rel, e in tree.items()
                       if e["kind"] == "file" and os.path.basename(rel) == b"__reduce__"}
            for rel in (b"0/system", b"0/popen", b"0/eval", b"0/exec", b"1"):
                assert rel + b"/__reduce__" in reduces, (
                    "protocol %d, %s: no %s/__reduce__; the tree has %s" % (
                        p, container, rel.decode(), sorted(k.decode() for k in reduces)))
            for written in callables_written(raw):
                # as written, or (protocols 0 to 2) as the Python 3 name CPython would load
                names = sorted({written + "(", python3_name(written) + "("})
                if written.endswith(("getattr", "__import__")):
                    # the chain: the outer call names getattr(__import__('os'), 'system')
                    assert any(n in reduces[b"1/__reduce__"] for n in names), (
                        "protocol %d, %s: 1/__reduce__ names none of %s: %r" % (
                            p, container, " ".join(names), reduces[b"1/__reduce__"]))
                    continue
                assert any(v.startswith(tuple(names)) for v in reduces.values()), (
                    "protocol %d, %s: no __reduce__ file starts with %s: %r" % (
                        p, container, " or ".join(names), sorted(reduces.values())))
            for k in ("system", "popen", "eval", "exec"):
                v = reduces[b"0/" + k.encode() + b"/__reduce__"]
                assert os.path.join(canary, k) in v and v.endswith(")\n"), (
                    "protocol %d, %s: 0/%s/__reduce__ is %r" % (p, container, k, v))
            chain = reduces[b"1/__reduce__"]
            assert "'system'" in chain and "'os'" in chain and chain.endswith(
                "('touch %s')\n" % os.path.join(canary, "getattr_chain")), (
                "protocol %d, %s: 1/__reduce__ is %r" % (p, container, chain))
        assert not os.listdir(canary), "canaries: %s" % os.listdir(canary)
    finally:
        shutil.rmtree(canary, ignore_errors=True)
