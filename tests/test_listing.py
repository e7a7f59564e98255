"""test_listing.py: lean listings (fs/listing.c) against `-o full_listing`.

Run with `meson test -C build listing` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_listing.py

After PFS_FULL_LISTINGS (256) directories listed with no file looked up, as in a `find`,
picklefs lists files without their attributes; a file looked up turns attributes back on and
drops the listings the kernel cached without them. What is checked, both ways:
- the same tree (names, kinds, sizes, contents, xattrs, as spec_model predicts) after a find, and
  the same `find`, `grep -r` and `du` output;
- what the kernel was told, seen through the prefill (which pushes a listed file's page only
  when the kernel has its inode): a directory listed after a find's 300 is pushed with
  -o full_listing and not lean; once a file is looked up, it is listed again, and pushed;
- a walker that lists ahead and then reads what it listed (find -exec cat {} +) keeps its
  listings: the same walk again lists no directory (counted in `picklefs -d`'s log).
No timing is asserted.
"""

import os
import pickle
import subprocess
import time

import spec_model
from mountutil import compare, fail_with, mount, resident_pages, walk

RECORDS = [{"name": "n%d" % i, "v": i, "f": i / 7, "b": b"\x01" * (i % 9)} for i in range(300)]
LEAN = ()
FULL = ("-o", "full_listing")


def write_records(tmp_path):
    path = tmp_path / "records.pkl"
    path.write_bytes(pickle.dumps({"records": RECORDS, "tail": {"x": "last"}}, protocol=4))
    return str(path)


def shell(cmd, mnt):
    r = subprocess.run(["bash", "-c", cmd % mnt], capture_output=True, timeout=120,
                       cwd=mnt)
    return r.returncode, r.stdout.replace(os.fsencode(mnt), b"MNT"), r.stderr


def test_lean_and_full_listings_serve_the_same_tree(tmp_path):
    path = write_records(tmp_path)
    expected = spec_model.expected_tree_of_file(path)
    seen = {}
    for opts in (LEAN, FULL):
        with mount(path, opts) as mnt:
            got = [shell("find %s -printf '%%y %%P\\n'", mnt)]  # goes lean after 256 dirs
            got.append(shell("grep -r n29 %s | sort", mnt))
            got.append(shell("find %s -type f -size -2c | sort", mnt))
            got.append(shell("du -a --apparent-size -b %s | sort", mnt))
            fail_with(compare(expected, walk(mnt)), "mounted with %r:" % (opts,))
            seen[opts] = got
    assert seen[LEAN][0][1].count(b"\n") == len(expected)
    assert seen[LEAN] == seen[FULL]


def test_a_find_lists_files_lean_until_one_is_looked_up(tmp_path):
    path = write_records(tmp_path)
    for opts, pushed in ((LEAN, 0), (FULL, 1)):
        with mount(path, opts) as mnt:
            shell("find %s > /dev/null", mnt)
            tail = os.path.join(mnt, "tail")
            os.listdir(tail)  # listed after 300 directories with no file looked up
            assert resident_pages(os.path.join(tail, "x")) == pushed, opts
            # that looked "x" up: listings have attributes again, and the lean ones are
            # dropped (just after the LOOKUP's answer: hence the wait), so that listing "tail"
            # again reaches picklefs, which pushes "x"
            deadline = time.monotonic() + 30
            while True:
                os.listdir(tail)
                if resident_pages(os.path.join(tail, "x")) == 1:
                    break
                assert time.monotonic() < deadline, "%r: tail's lean listing never dropped" % (
                    opts,)
                time.sleep(0.05)
            with open(os.path.join(tail, "x"), "rb") as f:
                assert f.read() == b"last\n"


def requests_in(log, start, opcode):
    """The requests of kind opcode that picklefs -d logged after byte offset start."""
    with open(log, "rb") as f:
        f.seek(start)
        return f.read().count(b"opcode: %s " % opcode.encode())


def test_a_walker_that_lists_ahead_keeps_its_listings(tmp_path):
    """find lists all 302 directories before cat looks up a file: the last 46 or so are
    listed lean. cat is find's child, so its lookups keep them (where another process's
    would drop them, as above), and the walk repeated lists nothing again. Dropped, they
    would be listed again, two READDIRPLUS each; now and then the kernel lists a directory or
    two again by itself, with -o full_listing too, hence the margin."""
    path = write_records(tmp_path)
    log = str(tmp_path / "requests.log")
    cat_all = "find %s -type f -exec cat {} + > /dev/null"
    with mount(path, ("-d",), log=log) as mnt:
        assert shell(cat_all, mnt)[0] == 0
        first = os.path.getsize(log)
        assert requests_in(log, 0, "LOOKUP") > 0, "no file was listed lean: nothing tested"
        assert shell(cat_all, mnt)[0] == 0
        again = requests_in(log, first, "READDIRPLUS")
        assert again < 30, "the repeated walk listed %d parts of directories again" % again
