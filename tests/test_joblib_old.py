"""test_joblib_old.py: joblib's old multi-file dumps (before joblib 0.10), mounted through FUSE.

Run with `meson test -C build joblib_old` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_joblib_old.py

The fixtures (tests/fixtures/joblib_old, made by tests/make_joblib_old_fixtures.py as joblib 0.9's
dump made them) are a pickle whose arrays are wrappers naming side files beside it: plain
(NDArrayWrapper, model.pkl_01.npy ...) and compressed (a "ZF" pickle, ZNDArrayWrapper,
model.pkl_01.npy.z ...), each with model_ref.pkl, the pickle of what joblib.load returns. What is
checked:
- each dump mounts as what joblib loads from it: the same files with the same contents as the
  mount of model_ref.pkl, and every array's dtype, shape and raw bytes as joblib's;
- a side file that is missing, cut short, a lying or corrupt .npy.z, a symbolic link (inside or
  outside the directory), a FIFO, or named with '/', '\\', '..', '' or an absolute path leaves its
  wrapper a directory with __error__ saying why, and the rest of the dump is mounted;
- a side file changed or replaced after the mount gives EIO, never other bytes;
- the daemon (no -f, which changes directory) still finds side files of a relative FILE.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import zlib

import pytest

import mountutil
from mountutil import mount, run

HERE = os.path.join(mountutil.FIXTURES, "joblib_old")
with open(os.path.join(HERE, "expect.json"), encoding="utf-8") as _f:
    EXPECT = json.load(_f)


def files_of(mnt):
    """Every path under mnt with its kind and content (no xattrs: the wrapper's class differs)."""
    out = {}
    for root, dirs, files in os.walk(mnt):
        rel = os.path.relpath(root, mnt)
        out[rel] = ("dir", sorted(dirs + files))
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.join(rel, f)] = ("file", fh.read())
    return out


@pytest.mark.parametrize("kind", ["plain", "compressed"])
def test_dump_mounts_as_what_joblib_loads(kind):
    with mount(os.path.join(HERE, kind, "model.pkl")) as mnt:
        got = files_of(mnt)
        for rel, e in EXPECT[kind].items():
            p = os.path.join(mnt, rel)
            assert os.getxattr(p, "user.pickle.type") == b"ndarray"
            head = open(p, encoding="utf-8").readline()
            assert head.startswith("ndarray dtype=%s shape=(" % e["dtype"]), head
            raw = open(p + ".raw", "rb").read()
            assert len(raw) == e["nbytes"] and zlib.crc32(raw) == e["crc32"], rel
            assert "crc32=0x%08x" % e["crc32"] in head
    with mount(os.path.join(HERE, kind, "model_ref.pkl")) as mnt:
        want = files_of(mnt)
    assert got == want


def test_wrapper_class_stays_visible():
    with mount(os.path.join(HERE, "plain", "model.pkl")) as mnt:
        assert os.getxattr(os.path.join(mnt, "counts"), "user.pickle.class") == \
            b"joblib.numpy_pickle.NDArrayWrapper"


def error_of(mnt, rel):
    with open(os.path.join(mnt, rel, "__error__"), encoding="utf-8") as f:
        return f.read()


def test_missing_side_file_is_named():
    with mount(os.path.join(HERE, "hostile", "missing.pkl")) as mnt:
        assert sorted(os.listdir(os.path.join(mnt, "a"))) == \
            ["__error__", "__reduce__", "allow_mmap", "filename", "subclass"]
        assert error_of(mnt, "a") == ("side file missing.pkl_01.npy not read: cannot open it: "
                                      "No such file or directory\n")
        assert open(os.path.join(mnt, "a", "filename")).read() == "missing.pkl_01.npy\n"


def test_names_that_leave_the_directory_are_never_opened():
    with mount(os.path.join(HERE, "hostile", "escape.pkl")) as mnt:
        names = sorted(os.listdir(mnt), key=int)
        assert names == [str(i) for i in range(8)]
        for i in range(7):  # '../x', '/etc/passwd', 'sub/x', 'a\\x', '..', '.', ''
            assert error_of(mnt, str(i)) == ("side file not read: its name is no plain file "
                                             "name in the pickle's directory\n"), i
        # the one plain name is read
        assert open(os.path.join(mnt, "7")).read().endswith("[0, 1, 2, 3, 4]\n")


def test_side_files_cut_short_or_corrupt():
    with mount(os.path.join(HERE, "hostile", "trunc.pkl")) as mnt:
        assert error_of(mnt, "npy") == ("side file bad_cut.npy not read: array data of 40 "
                                        "bytes larger than the 32 bytes left\n")
        assert error_of(mnt, "zcut").startswith("side file bad_cut.npy.z not read: "
                                                "truncated compressed data at byte ")
        assert error_of(mnt, "zlong") == ("side file bad_long.npy.z not read: inflates to "
                                          "40 bytes, its header says 80 at byte 21\n")
        assert "corrupt compressed data" in error_of(mnt, "znozlib")


@pytest.fixture
def copied():
    """A copy of the plain dump in a temporary directory, which a test may change."""
    d = tempfile.mkdtemp(prefix="picklefs-joblib-")
    for f in os.listdir(os.path.join(HERE, "plain")):
        shutil.copy(os.path.join(HERE, "plain", f), d)
    yield d
    shutil.rmtree(d)


def test_symbolic_links_are_not_followed(copied):
    side = os.path.join(copied, "model.pkl_02.npy")
    os.rename(side, os.path.join(copied, "real.npy"))
    os.symlink("real.npy", side)  # inside the directory: still not followed
    outside = tempfile.mkdtemp(prefix="picklefs-outside-")
    try:
        os.rename(os.path.join(copied, "model.pkl_03.npy"), os.path.join(outside, "x.npy"))
        os.symlink(os.path.join(outside, "x.npy"), os.path.join(copied, "model.pkl_03.npy"))
        with mount(os.path.join(copied, "model.pkl")) as mnt:
            for rel, name in (("counts", "model.pkl_02.npy"), ("fortran", "model.pkl_03.npy")):
                assert error_of(mnt, rel) == ("side file %s not read: it is a symbolic link, "
                                              "which is not followed\n" % name)
            assert open(os.path.join(mnt, "weights")).readline().startswith("ndarray ")
    finally:
        shutil.rmtree(outside)


def test_fifo_is_not_waited_for(copied):
    side = os.path.join(copied, "model.pkl_02.npy")
    os.unlink(side)
    os.mkfifo(side)
    with mount(os.path.join(copied, "model.pkl")) as mnt:
        assert error_of(mnt, "counts") == ("side file model.pkl_02.npy not read: it is not a "
                                           "regular file\n")


def test_side_file_changed_after_mount_gives_eio(copied):
    with mount(os.path.join(copied, "model.pkl")) as mnt:
        counts = os.path.join(mnt, "counts.raw")
        weights = os.path.join(mnt, "weights.raw")
        layer = os.path.join(mnt, "layers", "0.raw")
        # rewritten in place (new size and mtime)
        with open(os.path.join(copied, "model.pkl_02.npy"), "ab") as f:
            f.write(b"\0" * 8)
        with pytest.raises(OSError) as e:
            open(counts, "rb").read()
        assert e.value.errno == 5
        # replaced by another file of the same size (a new inode)
        src = os.path.join(copied, "model.pkl_01.npy")
        shutil.copy(src, src + ".new")
        os.utime(src + ".new", ns=(os.stat(src).st_atime_ns, os.stat(src).st_mtime_ns))
        os.rename(src + ".new", src)
        with pytest.raises(OSError) as e:
            open(weights, "rb").read()
        assert e.value.errno == 5
        # removed
        os.unlink(os.path.join(copied, "model.pkl_04.npy"))
        with pytest.raises(OSError) as e:
            open(layer, "rb").read()
        assert e.value.errno == 5
        # an unchanged side file still reads
        assert len(open(os.path.join(mnt, "layers", "1.raw"), "rb").read()) == 8000


def test_daemon_reads_side_files_of_a_relative_path(copied):
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), "model.pkl", mnt], cwd=copied)
        assert r.returncode == 0, r.stderr
        try:
            with open(os.path.join(mnt, "counts.raw"), "rb") as f:
                assert f.read() == bytes.fromhex("01000000feffffff03000000")
        finally:
            for _ in range(50):
                if subprocess.run(["fusermount3", "-u", mnt]).returncode == 0:
                    break
                time.sleep(0.1)
    finally:
        os.rmdir(mnt)


def test_pkdump_shows_the_arrays():
    r = run([mountutil.pkdump_exe(), os.path.join(HERE, "compressed", "model.pkl")])
    assert r.returncode == 0, r.stderr
    assert b"counts = ndarray dtype=int32 shape=(3,)" in r.stdout


def test_side_files_past_max_decompressed_refuse_the_file():
    # the pickle inflates to 926 bytes, its side files to 8122 in all
    r = run([mountutil.pkdump_exe(), "-o", "max_decompressed=4096",
             os.path.join(HERE, "compressed", "model.pkl")])
    assert r.returncode == 1
    assert r.stderr.startswith(b"pkdump: %s: decompressed size past the limit of 4096 bytes "
                               b"at byte " % os.path.join(HERE, "compressed", "model.pkl").encode())
