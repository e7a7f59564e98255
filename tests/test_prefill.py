"""test_prefill.py: the small files of a listed directory pushed into the kernel's page cache
(fs/prefill.c), and its budget (-o prefill_max).

Run with `meson test -C build prefill` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_prefill.py

What is checked, on real mounts, with mincore() on a mapping to see which pages the kernel holds
(it reads nothing, so no READ reaches picklefs):
- a listing pushes small files, not a file past 16 KiB nor those past a directory's 1 MiB;
  -o no_prefill and -s push nothing, and the tree read is the same every way;
- the budget: spent, it stops the pushes; a small file read gives it back; without a read, no
  more is pushed; -o prefill_max refuses what is no size.
No timing is asserted.
"""

import os
import pickle

import pytest

import mountutil
import spec_model
from mountutil import DEMO, compare, fail_with, mount, one_line, resident_pages, run, walk


PREFILL_OBJ = {
    "records": [{"name": "n%d" % i, "v": i, "f": i / 7, "b": b"\x00\xff" * i, "e": "",
                 "tags": ["t%d" % (i % 3)] * (i % 4)} for i in range(60)],
    # more files than one listing's share of the page cache, in several READDIRPLUS replies
    "wide": ["item %d" % i for i in range(3000)],
    "big": "x" * 20000,  # past the largest file pushed
    "bytes": bytes(range(256)) * 40,  # a span of the source, 10 KiB
    "set": frozenset(range(50)),
}


def prefill_pickle(tmp_path):
    """PREFILL_OBJ pickled into tmp_path: the path of the file."""
    path = tmp_path / "prefill.pkl"
    path.write_bytes(pickle.dumps(PREFILL_OBJ, protocol=4))
    return path


def test_prefill_serves_the_same_bytes(tmp_path):
    """Listing a directory pushes its small files into the page cache: the walk reads the same
    bytes with and without it (-o no_prefill), and with one thread (-s), where it is off."""
    path = prefill_pickle(tmp_path)
    expected = spec_model.expected_tree_of_file(str(path))
    walks = {}
    for opts in ((), ("-o", "no_prefill"), ("-s",)):
        with mount(str(path), opts) as mnt:
            walks[opts] = normalized_walk(walk(mnt))
            fail_with(compare(expected, walk(mnt)), "mounted with %r:" % (opts,))
    assert walks[()] == walks[("-o", "no_prefill")] == walks[("-s",)]


def normalized_walk(tree):
    return {p: {k: v for k, v in e.items() if k != "st"} for p, e in tree.items()}


RECORD_FILES = ("name", "v", "f", "b", "e")


def test_prefill_budget_comes_back_as_files_are_read(tmp_path):
    """-o prefill_max=8k is two pages: one record's first two files are pushed, and then none;
    a small file read from its start gives room back, so the next listing pushes again, and
    without that read it does not."""
    path = prefill_pickle(tmp_path)
    for read_one, pushed_after in ((True, 2), (False, 0)):
        with mount(str(path), ("-o", "prefill_max=8k")) as mnt:
            def pushed(i):
                d = os.path.join(mnt, "records", str(i))
                os.listdir(d)
                return sum(resident_pages(os.path.join(d, f)) for f in RECORD_FILES)
            assert pushed(1) == 2
            assert pushed(2) == 0, "the budget should be spent"
            if read_one:
                with open(os.path.join(mnt, "records", "2", "name"), "rb") as f:
                    assert f.read() == b"n2\n"
            assert pushed(3) == pushed_after, "read_one=%s" % read_one


@pytest.mark.parametrize("value", ["", "x", "12q", "8kk", "-1", "99999999999999999999"])
def test_prefill_max_refuses_what_is_no_size(tmp_path, value):
    r = run([mountutil.picklefs_exe(), "-o", "prefill_max=" + value, DEMO, str(tmp_path)])
    assert r.returncode == 2, "prefill_max=%r: exit %d" % (value, r.returncode)
    assert "prefill_max" in one_line(r.stderr)


def test_prefill_pushes_small_files_when_listed(tmp_path):
    """After a listing, and before any read, a small file's page is cached; a file larger than
    16 KiB, and files past a directory's 1 MiB share, are not; with -o no_prefill none is."""
    path = prefill_pickle(tmp_path)
    for opts, pushed in (((), 1), (("-o", "no_prefill"), 0)):
        with mount(str(path), opts) as mnt:
            os.listdir(mnt)
            os.listdir(os.path.join(mnt, "records", "7"))
            os.listdir(os.path.join(mnt, "wide"))
            assert resident_pages(os.path.join(mnt, "records", "7", "name")) == pushed
            assert resident_pages(os.path.join(mnt, "records", "7", "b")) == pushed
            assert resident_pages(os.path.join(mnt, "bytes")) == 3 * pushed
            assert resident_pages(os.path.join(mnt, "big")) == 0
            assert resident_pages(os.path.join(mnt, "wide", "0")) == pushed
            assert resident_pages(os.path.join(mnt, "wide", "2999")) == 0
            # what was pushed reads as it should
            with open(os.path.join(mnt, "records", "7", "name"), "rb") as f:
                assert f.read() == b"n7\n"
            with open(os.path.join(mnt, "bytes"), "rb") as f:
                assert f.read() == PREFILL_OBJ["bytes"]
