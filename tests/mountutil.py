"""mountutil.py: mount a pickle with the real picklefs through FUSE, and read the mounted tree.

mount(file) starts `picklefs -f FILE MNT` on a fresh temporary directory, waits until the mount is
live (failing at once, with the daemon's stderr, if the daemon dies first), and on exit unmounts
with `fusermount3 -u`, which must succeed, then requires the daemon to exit with status 0 and to
have written nothing alarming to stderr. walk(mnt) reads the mounted tree back in the shape that
spec_model.expected_tree() produces, so the two compare entry by entry.
resident_pages(path) counts a mounted file's pages in the page cache without reading it.
one_line(stderr) is the single line a refusal must print; DEMO is the README's demo pickle.
compare(expected, actual) lists every difference between spec_model's tree and a walk, and
fail_with(msgs, header) fails the test with them.

The binaries come from the environment (PICKLEFS, PKDUMP), as `meson test` sets them, or default
to build/picklefs and build/pkdump under the repository root. A missing /dev/fuse or fusermount3
is a test failure, never a skip.
"""

import contextlib
import ctypes
import errno
import mmap
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

import pytest

import spec_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPO, "tests")
FIXTURES = os.path.join(TESTS, "fixtures")
DEMO = os.path.join(FIXTURES, "demo.pkl")  # the README's demo pickle
ALARMING = ("ERROR", "AddressSanitizer", "LeakSanitizer", "runtime error", "Segmentation",
            "Aborted", "core dumped", "double free", "stack smashing")
XATTRS = (spec_model.XA_TYPE, spec_model.XA_KEY, spec_model.XA_OFFSET)
MOUNT_TIMEOUT = 10.0


def _exe(var, default):
    path = os.environ.get(var) or os.path.join(REPO, "build", default)
    return os.path.abspath(path)


def picklefs_exe():
    path = _exe("PICKLEFS", "picklefs")
    if not os.access(path, os.X_OK):
        pytest.fail("picklefs binary not found at %s (set PICKLEFS or build into build/)" % path)
    return path


def pkdump_exe():
    path = _exe("PKDUMP", "pkdump")
    if not os.access(path, os.X_OK):
        pytest.fail("pkdump binary not found at %s (set PKDUMP or build into build/)" % path)
    return path


def require_fuse():
    """Mount tests fail, never skip, on a machine that cannot mount FUSE."""
    if not os.path.exists("/dev/fuse"):
        pytest.fail("/dev/fuse is missing: mount tests need FUSE (modprobe fuse, or run the "
                    "container with --device /dev/fuse)")
    if shutil.which("fusermount3") is None:
        pytest.fail("fusermount3 is missing: install the fuse3 package")


def alarming(text):
    return [line for line in text.splitlines() if any(a in line for a in ALARMING)]


def wait_or_kill(proc, timeout):
    """The daemon's exit status once it exits, or None when it is still running after timeout
    seconds (it is then killed and reaped)."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def _unmount(mnt):
    r = subprocess.run(["fusermount3", "-u", mnt], capture_output=True, text=True)
    return r


@contextlib.contextmanager
def mount(file, extra_args=(), log=None):
    """Mount file with `picklefs -f`, yield the mountpoint, then unmount and check the daemon.
    With log (a path), the daemon's stderr goes to that file, to be read while mounted (the
    requests it serves, with -d)."""
    require_fuse()
    exe = picklefs_exe()
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    errf = open(log, "w+b") if log else tempfile.TemporaryFile(mode="w+b")
    proc = subprocess.Popen([exe, *extra_args, "-f", os.path.abspath(file), mnt],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)

    def stderr_text():
        errf.seek(0)
        return errf.read().decode("utf-8", "replace")

    try:
        deadline = time.monotonic() + MOUNT_TIMEOUT
        while not os.path.ismount(mnt):
            rc = proc.poll()
            if rc is not None:
                pytest.fail("picklefs -f %s exited with %d before mounting; stderr:\n%s"
                            % (file, rc, stderr_text()))
            if time.monotonic() > deadline:
                pytest.fail("picklefs -f %s did not mount within %.0f s; stderr:\n%s"
                            % (file, MOUNT_TIMEOUT, stderr_text()))
            time.sleep(0.02)
        body_failed = True
        try:
            yield mnt
            body_failed = False
        finally:
            r = _unmount(mnt)
            rc = wait_or_kill(proc, 10)
            if not body_failed:
                if r.returncode != 0:
                    pytest.fail("fusermount3 -u %s exited with %d: %s"
                                % (mnt, r.returncode, r.stderr.strip()))
                if rc is None:
                    pytest.fail("picklefs did not exit within 10 s of the unmount; stderr:\n%s"
                                % stderr_text())
                if rc != 0:
                    pytest.fail("picklefs exited with status %d after the unmount; stderr:\n%s"
                                % (rc, stderr_text()))
                bad = alarming(stderr_text())
                if bad:
                    pytest.fail("picklefs wrote alarming lines to stderr:\n" + "\n".join(bad))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
        errf.close()
        try:
            os.rmdir(mnt)
        except OSError:
            pass


def _getxattr(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP):
            return None
        raise


def _listxattr(path):
    try:
        return sorted(os.listxattr(path, follow_symlinks=False))
    except OSError as e:
        return "error %s" % errno.errorcode.get(e.errno, e.errno)


def normalized(tree):
    """A walk() without what differs between equal trees pickled at different protocols: inode
    numbers, stat fields, and the byte offsets in user.pickle.offset."""
    out = {}
    for path, e in tree.items():
        n = {k: v for k, v in e.items() if k not in ("ino", "st", "xattr", "listxattr")}
        n["xattr"] = {k: v for k, v in e["xattr"].items() if k != spec_model.XA_OFFSET}
        out[path] = n
    return out


def walk(mnt):
    """The mounted tree in spec_model's shape, plus what only the mount can show.

    Each entry also has "ino", "listxattr" (the names listed, or an error string) and, for
    directories, the names in readdir order; "xattr" holds the values of the xattrs that could be
    read (the kernel refuses user.* values on symlinks, so links have none, and list none).
    """
    root = os.fsencode(mnt)
    tree = {}

    def entry(full, rel):
        st = os.lstat(full)
        e = {"mode": stat.S_IMODE(st.st_mode), "ino": st.st_ino, "nlink": st.st_nlink,
             "size": st.st_size, "st": st}
        if stat.S_ISDIR(st.st_mode):
            e["kind"] = "dir"
        elif stat.S_ISREG(st.st_mode):
            e["kind"] = "file"
            with open(full, "rb") as f:
                e["content"] = f.read()
        elif stat.S_ISLNK(st.st_mode):
            e["kind"] = "link"
            e["target"] = os.readlink(full)
        else:
            e["kind"] = "other %o" % stat.S_IFMT(st.st_mode)
        e["listxattr"] = _listxattr(full)
        e["xattr"] = {}
        if e["kind"] != "link":
            for name in XATTRS:
                v = _getxattr(full, name)
                if v is not None:
                    e["xattr"][name] = v
        tree[rel] = e
        if e["kind"] == "dir":
            names = os.listdir(full)
            e["children"] = names
            for n in names:
                entry(full + b"/" + n, spec_model.join(rel, n))

    entry(root, spec_model.ROOT)
    return tree


def resident_pages(path):
    """How many of path's pages are in the page cache, asked with mincore() on a mapping, which
    reads nothing (so no READ reaches picklefs)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    size = os.stat(path).st_size
    npages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), os.strerror(ctypes.get_errno())
        try:
            vec = ctypes.create_string_buffer(npages)
            assert libc.mincore(addr, size, vec) == 0, os.strerror(ctypes.get_errno())
            return sum(b & 1 for b in vec.raw)
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def one_line(err):
    """The one line of a command's stderr (bytes); fails unless there is exactly one."""
    lines = err.decode("utf-8", "replace").splitlines()
    assert len(lines) == 1, "expected exactly one line on stderr, got %d: %r" % (len(lines), lines)
    return lines[0]


def run(args, **kw):
    """subprocess.run with captured bytes output and a timeout, so nothing hangs the suite."""
    kw.setdefault("timeout", 60)
    return subprocess.run(args, capture_output=True, stdin=subprocess.DEVNULL, **kw)


def short(v, n=160):
    r = repr(v)
    return r if len(r) <= n else r[:n] + "...(%d chars)" % len(r)


def _described(entry):
    """An entry's kind, with its content or link target, for a message."""
    for field in ("content", "target"):
        if field in entry:
            return "%s, %s %s" % (entry["kind"], field, short(entry[field]))
    return entry["kind"]


def compare(expected, actual):
    """Every difference between the model's tree and the mounted one, one message each."""
    msgs = []

    def diff(path, what, exp, act):
        msgs.append("%s: %s: expected %s, actual %s" % (short(path, 120), what, short(exp), short(act)))

    for path in actual:
        if path not in expected:
            msgs.append("%s: unexpected entry (%s)" % (short(path, 120), _described(actual[path])))
    for path, e in expected.items():
        a = actual.get(path)
        if a is None:
            msgs.append("%s: missing (expected %s)" % (short(path, 120), _described(e)))
            continue
        if a["kind"] != e["kind"]:
            diff(path, "kind", e["kind"], a["kind"] + (
                " -> %r" % a["target"] if a["kind"] == "link" else ""))
            continue
        if e["kind"] != "link" and a["mode"] != e["mode"]:
            diff(path, "mode", oct(e["mode"]), oct(a["mode"]))
        if e["kind"] == "dir":
            if a["nlink"] != e["nlink"]:
                diff(path, "st_nlink", e["nlink"], a["nlink"])
            if a["children"] != e["children"]:
                if sorted(a["children"]) == sorted(e["children"]):
                    diff(path, "readdir order", e["children"], a["children"])
                else:
                    diff(path, "names", e["children"], a["children"])
        elif e["kind"] == "file":
            if a["content"] != e["content"]:
                diff(path, "content", e["content"], a["content"])
            if a["size"] != e["size"]:
                diff(path, "st_size", e["size"], a["size"])
        else:
            if a["target"] != e["target"]:
                diff(path, "link target", e["target"], a["target"])
            if a["size"] != len(a["target"]):
                diff(path, "st_size of link", len(a["target"]), a["size"])
        exa = e["xattr"]
        if e["kind"] == "link":
            # The kernel answers ENODATA for user.* values on symlinks without asking the
            # filesystem, so a link lists none: only names that getxattr answers are listed.
            if a["listxattr"] != []:
                diff(path, "listxattr of link", [], a["listxattr"])
            continue
        axa = a["xattr"]
        for name in (spec_model.XA_TYPE, spec_model.XA_KEY):
            if exa.get(name) != axa.get(name):
                diff(path, "xattr " + name, exa.get(name), axa.get(name))
        off = axa.get(spec_model.XA_OFFSET)
        if off is None or not re.fullmatch(rb"[0-9]+", off):
            diff(path, "xattr " + spec_model.XA_OFFSET, "a decimal number", off)
    return msgs


def fail_with(msgs, header):
    if msgs:
        shown = msgs[:60]
        more = "\n... and %d more" % (len(msgs) - len(shown)) if len(msgs) > len(shown) else ""
        pytest.fail(header + "\n" + "\n".join(shown) + more, pytrace=False)
