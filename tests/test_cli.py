"""test_cli.py: picklefs's command line: --help and --version, usage errors (exit 2), a bad
mountpoint (exit 3) and a bad FILE (exit 1) in the foreground and as a daemon, each said on
one line with no mount left behind, and daemon mode returning once the mount is live and
ending with the unmount.

Run with `meson test -C build cli` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_cli.py
"""

import os
import re
import subprocess
import tempfile
import time

import pytest

import mountutil
from mountutil import DEMO, one_line, run


def test_help_and_version():
    exe = mountutil.picklefs_exe()
    r = run([exe, "--help"])
    assert r.returncode == 0, "--help exited %d: %s" % (r.returncode, r.stderr)
    assert b"picklefs" in r.stdout + r.stderr and b"FILE" in (r.stdout + r.stderr).upper()
    r = run([exe, "--version"])
    assert r.returncode == 0, "--version exited %d: %s" % (r.returncode, r.stderr)
    assert re.search(rb"\d+\.\d+", r.stdout + r.stderr), "--version printed no version: %r" % (
        r.stdout + r.stderr)


@pytest.mark.parametrize("args", [[], ["only-one-arg"], [DEMO, "/tmp", "extra"]],
                         ids=["no_args", "one_arg", "three_args"])
def test_usage_error_exits_2(args):
    r = run([mountutil.picklefs_exe(), *args])
    assert r.returncode == 2, "picklefs %s: expected exit 2, got %d; stderr %r" % (
        args, r.returncode, r.stderr)
    assert r.stderr.strip(), "a usage error must say something on stderr"


def _no_mount_left(path):
    assert not os.path.ismount(path), "%s is mounted" % path
    with open("/proc/self/mountinfo") as f:
        assert path not in f.read(), "%s appears in /proc/self/mountinfo" % path


@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
@pytest.mark.parametrize("kind", ["missing_dir", "regular_file"])
def test_bad_mountpoint_exits_3(tmp_path, kind, foreground):
    mountutil.require_fuse()
    if kind == "missing_dir":
        mnt = str(tmp_path / "does-not-exist")
    else:
        mnt = str(tmp_path / "a-file")
        open(mnt, "w").close()
    args = [mountutil.picklefs_exe()] + (["-f"] if foreground else []) + [DEMO, mnt]
    r = run(args, timeout=20)
    assert r.returncode == 3, "picklefs with %s mountpoint: expected exit 3, got %d; stderr %r" % (
        kind, r.returncode, r.stderr)
    one_line(r.stderr)
    _no_mount_left(mnt)


@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
@pytest.mark.parametrize("kind", ["missing", "refused"])
def test_bad_file_exits_1(tmp_path, kind, foreground):
    """Without -f the decoding happens in the forked daemon: its one line and its status must
    still reach the command, and no process may be left."""
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    path = tmp_path / "bad.pkl"
    if kind == "refused":
        path.write_bytes(b"\x80\x04\x95\x05")  # a FRAME cut short
    try:
        args = [mountutil.picklefs_exe()] + (["-f"] if foreground else []) + [str(path), mnt]
        r = run(args, timeout=20)
        assert r.returncode == 1, "%s FILE: expected exit 1, got %d; stderr %r" % (
            kind, r.returncode, r.stderr)
        line = one_line(r.stderr)
        assert line.startswith("picklefs: "), line
        _no_mount_left(mnt)
        deadline = time.monotonic() + 10
        while _picklefs_pids_for(mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _picklefs_pids_for(mnt), "a picklefs process is left after the refusal"
    finally:
        os.rmdir(mnt)


def _picklefs_pids_for(mnt):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if os.fsencode(mnt) in argv:
                pids.append(int(d))
    return pids


def test_daemon_mode_returns_once_mounted():
    mountutil.require_fuse()
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), DEMO, mnt], timeout=20)
        assert r.returncode == 0, "picklefs FILE MNT exited %d: %r" % (r.returncode, r.stderr)
        assert os.path.ismount(mnt), "picklefs returned before the mount was live"
        with open(os.path.join(mnt, "users", "1", "email"), "rb") as f:
            assert f.read() == b"alan@example.org\n"
        u = run(["fusermount3", "-u", mnt])
        assert u.returncode == 0, "fusermount3 -u: %r" % u.stderr
        deadline = time.monotonic() + 10
        while _picklefs_pids_for(mnt) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _picklefs_pids_for(mnt), "the daemon is still running after the unmount"
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["fusermount3", "-u", "-z", mnt])
        os.rmdir(mnt)
