"""test_nested.py: a pickle inside a pickle (pickle.loads of bytes that hold one) is shown as
an inert tree, __pickle__, beside the call's __args__, and audited (docs/CONTRACT.md, "Pickles
inside pickles").

Run with `meson test -C build nested` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_nested.py

The fixtures (make_nested_fixtures.py) hide posix.system('touch CANARY') in the bytes a
pickle.loads call unpickles: one level down, two, at the depth bound and one past it, in a
pickle cut short, under each name of pickle.loads, in Python 2's protocol 0 form and as Python's
own pickler writes it. Each is mounted through FUSE: `grep -r` finds the call, its object
carries the offset of its REDUCE in the nested pickle's bytes, the outer call stays an opaque
pickle.loads(...), the audit lists the nested items (OFFSET "OUTER/INNER") as opaque with the
offsets pickletools gives in those bytes, and the canary is never created. Bombs (2000 levels,
one 64 KiB nested pickle unpickled 4096 times) stay bounded.
"""

import os
import pickletools
import re
import subprocess
import sys
import time

import pytest

import make_nested_fixtures as fx
import mountutil
from mountutil import mount, run

NESTED = os.path.join(mountutil.FIXTURES, "nested")
ALL = fx.all_fixtures()
CANARIES = sorted(n for n, (_, where) in ALL.items() if where)
LINE = re.compile(r"^(\d+(?:/\d+)*) (global|call|build|persid) (.*) (lifted|opaque)$")
EXIT_OPAQUE = 4


def fixture(name):
    path = os.path.join(NESTED, name + ".pkl")
    assert os.path.exists(path), "missing fixture %s: run tests/make_nested_fixtures.py" % path
    return path


def cleanup(name):
    try:
        os.unlink(fx.canary(name))
    except FileNotFoundError:
        pass


def audit(path, *opts):
    """(exit status, [(offset path as a list of ints, kind, text, verdict)])."""
    r = run([mountutil.pkdump_exe(), *opts, "--audit", path])
    items = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        m = LINE.match(line)
        assert m, "not an audit line: %r" % line
        items.append(([int(x) for x in m.group(1).split("/")], m.group(2), m.group(3),
                      m.group(4)))
    return r.returncode, items


def reduce_offsets(data):
    """The offsets pickletools gives of the call opcodes of one pickle."""
    return [off for op, _arg, off in pickletools.genops(data)
            if op.name in ("REDUCE", "INST", "OBJ")]


def system_line(name):
    return "posix.system('touch %s')" % fx.canary(name)


@pytest.mark.parametrize("name", CANARIES)
def test_nested_call_found_by_grep_and_never_run(name):
    where = ALL[name][1]
    cleanup(name)
    with mount(fixture(name)) as mnt:
        r = run(["grep", "-r", "-l", "touch " + fx.canary(name), mnt])
        assert r.returncode == 0, "grep -r does not find the nested call"
        found = [os.path.relpath(p, mnt) for p in r.stdout.decode().splitlines()]
        assert os.path.join(where, "__reduce__") in found, found
        obj = os.path.join(mnt, where)
        with open(os.path.join(obj, "__reduce__")) as f:
            assert f.read() == system_line(name) + "\n"
        assert os.getxattr(obj, "user.pickle.type") == b"object"
        if "__pickle__" in where:
            # the call that unpickles it stays an opaque pickle.loads(...), its bytes beside
            outer = os.path.dirname(obj)
            with open(os.path.join(outer, "__reduce__")) as f:
                assert re.match(r"(_?pickle)\.(_?loads)\(", f.read())
            names = os.listdir(outer)
            assert names.index("__args__") < names.index("__pickle__")
            with open(os.path.join(outer, "__args__", "0"), "rb") as f:
                inner = f.read()
            if name == "python2":
                inner = inner.rstrip(b"\n")  # a str argument: its text and a newline
            # the nested call's offset is its REDUCE's in those bytes
            off = int(os.getxattr(obj, "user.pickle.offset"))
            assert off in reduce_offsets(inner)
    assert not os.path.exists(fx.canary(name))


@pytest.mark.parametrize("name", CANARIES)
def test_audit_lists_the_nested_call(name):
    rc, items = audit(fixture(name))
    assert rc == EXIT_OPAQUE
    calls = [i for i in items if i[1] == "call" and i[2] == system_line(name)]
    assert calls, items
    for path, _kind, _text, verdict in calls:
        assert verdict == "opaque"
        if ALL[name][1].startswith("__calls__"):
            assert len(path) == 2  # the cut pickle's call ran inside the outer one
    # each nested item follows its call's line, whose offset its OFFSET begins with
    for i, (path, kind, text, _v) in enumerate(items):
        if len(path) > 1:
            outer = [j for j in items[:i] if j[0] == path[:-1] and j[1] == "call"]
            assert outer and re.match(r"_?pickle\._?loads\(", outer[-1][2]), (path, items)
    assert any(i[1] == "global" and i[2] == "posix.system" and i[3] == "opaque" and
               len(i[0]) > 1 for i in items)


def test_nested_offsets_are_those_of_the_bytes():
    """OUTER is the pickle.loads REDUCE's offset in FILE, INNER the opcode's in its argument."""
    with open(fixture("one_level"), "rb") as f:
        data = f.read()
    _, items = audit(fixture("one_level"))
    inner = fx.system("one_level")
    nested = [i for i in items if len(i[0]) == 2]
    assert {i[0][0] for i in nested} == set(reduce_offsets(data))
    assert [i[0][1] for i in nested if i[1] == "call"] == reduce_offsets(inner)


def test_two_levels_in_the_mount():
    with mount(fixture("two_levels")) as mnt:
        assert sorted(os.listdir(os.path.join(mnt, "a"))) == ["__args__", "__pickle__",
                                                                "__reduce__"]
        inner = os.path.join(mnt, "a", "__pickle__")
        assert os.getxattr(inner, "user.pickle.type") == b"list"
        assert os.listdir(os.path.join(inner, "0", "__pickle__")) == ["__reduce__", "__args__"]


def test_past_the_depth_bound_stays_bytes():
    with mount(fixture("past_depth")) as mnt:
        last = os.path.join(mnt, "a", *["__pickle__", "0"] * (fx.DEPTH - 1), "__pickle__", "0")
        assert os.path.isdir(last)
        assert "__pickle__" not in os.listdir(last), "decoded past the bound"
        with open(os.path.join(last, "__args__", "0"), "rb") as f:
            assert f.read() == fx.system("past_depth")
        r = run(["grep", "-r", "-l", "-a", "touch " + fx.canary("past_depth"), mnt])
        assert r.returncode == 0  # the bytes hold the call's text, which grep finds
    rc, items = audit(fixture("past_depth"))
    assert max(len(i[0]) for i in items) == fx.DEPTH + 1  # the call's line at the bound
    assert not any(i[2] == system_line("past_depth") for i in items)


def test_no_pickle_stays_bytes():
    with mount(fixture("not_pickle")) as mnt:
        a = os.path.join(mnt, "a")
        assert sorted(os.listdir(a)) == ["__args__", "__reduce__"]
        with open(os.path.join(a, "__args__", "0"), "rb") as f:
            assert f.read() == b"hello, no pickle here"
    rc, items = audit(fixture("not_pickle"))
    assert [(i[1], i[2]) for i in items] == [
        ("global", "pickle.loads"), ("call", "pickle.loads(b'hello, no pickle here')")]


def test_cut_pickle_stays_bytes_and_its_call_is_listed():
    """CPython would run the call and then fail: the bytes stay bytes, and the call is in
    __calls__."""
    with mount(fixture("truncated")) as mnt:
        assert sorted(os.listdir(os.path.join(mnt, "a"))) == ["__args__", "__reduce__"]
        assert os.listdir(os.path.join(mnt, "__calls__")) == ["0"]


def test_python_pickler_p2_bytes_from_codecs():
    """At protocol 2 Python writes the bytes as _codecs.encode(str, 'latin1'): lifted to
    bytes, then unpickled as any."""
    with mount(fixture("pickler_p2")) as mnt:
        with open(os.path.join(mnt, "a", "__pickle__", "__reduce__")) as f:
            assert f.read() == system_line("pickler_p2") + "\n"


@pytest.mark.parametrize("name", ["bomb_deep", "bomb_memo"])
def test_bombs_stay_bounded(name):
    t = time.monotonic()
    r = run([mountutil.pkdump_exe(), fixture(name)])
    assert r.returncode == 0
    assert time.monotonic() - t < 20
    assert len(r.stdout) < 64 << 20
    rc, items = audit(fixture(name))
    assert rc == EXIT_OPAQUE
    assert max(len(i[0]) for i in items) <= fx.DEPTH + 1
    if name == "bomb_memo":
        # 4096 calls of one blob: decoded within the budget of nested bytes, not 4096 times
        n = sum(1 for i in items if i[2] == system_line(name))
        assert 0 < n < 64


def test_nested_values_count_in_the_limits():
    """A nested pickle's values count in max_nodes: past it, the file is refused, at the
    offset of the outer call."""
    with open(fixture("bomb_memo"), "rb") as f:
        data = f.read()
    r = run([mountutil.pkdump_exe(), "-o", "max_nodes=10000", fixture("bomb_memo")])
    assert r.returncode == 1
    m = re.search(rb"more than 10000 values \(the limit\) at byte (\d+) \(REDUCE\)", r.stderr)
    assert m, r.stderr
    assert data[int(m.group(1)):int(m.group(1)) + 1] == b"R"


LOADER = r"""
import pickle, sys
try:
    pickle.loads(open(sys.argv[1], "rb").read())
except Exception:
    pass
"""


@pytest.mark.parametrize("name", ["one_level", "two_levels", "truncated", "pickler_p5"])
def test_control_python_runs_the_nested_call(name):
    """Each canary is live: Python's own unpickler runs it."""
    cleanup(name)
    subprocess.run([sys.executable, "-c", LOADER, fixture(name)], capture_output=True,
                   timeout=60, check=True)
    assert os.path.exists(fx.canary(name))
    cleanup(name)


def test_fixtures_are_current():
    for name, (data, _) in fx.FIXTURES.items():
        with open(fixture(name), "rb") as f:
            assert f.read() == data, "%s changed: run tests/make_nested_fixtures.py" % name


def test_refusal_lists_the_nested_call(tmp_path):
    """A file refused after a pickle.loads call lists the nested pickle's call after it."""
    inner = fx.system("refused")
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x03]" + fx.loads(inner) + b"ah\x09.")  # then BINGET of no memo
    r = run([mountutil.pkdump_exe(), str(bad)])
    assert r.returncode == 1
    lines = r.stderr.decode().splitlines()
    assert lines[1].startswith("  call at byte %d: pickle.loads(b'" % (len(bad.read_bytes()) - 5))
    assert lines[2] == "  call at byte %d of a nested pickle: %s" % (
        reduce_offsets(inner)[0], system_line("refused"))
    assert not os.path.exists(fx.canary("refused"))
