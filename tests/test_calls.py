"""test_calls.py: every call a pickle would make is visible in the mount, even when the pickle
throws its value away, and mutations of globals show where the global is.

The fixtures (make_call_fixtures.py) each make posix.system('touch CANARY') in one of the ways
that leaves no trace in the loaded value: popped, POP_MARK, memo only, left on the stack or
under a MARK at STOP, set into sys.modules, appended to sys.path, in os.path's BUILD state, in
the state of a 6-tuple __reduce__'s state setter (written by Python's own pickler). Each is
mounted through FUSE: `grep -r` must find the call, its entry must carry the call's offset in
user.pickle.offset, and the canary must never be created.

The invariant test reads every fixture and fuzz corpus input that pickletools can disassemble
as raw pickles, and checks that each call opcode's offset is some entry's user.pickle.offset
(tests/snapshot prints them all, so thousands of inputs need no mount), and that each BUILD
applies to a value that is shown.
"""

import glob
import os
import pickletools
import re
import subprocess

import pytest

import make_call_fixtures as fx
import mountutil
from mountutil import mount, run

FIXTURES = os.path.join(mountutil.FIXTURES, "calls")
CALL_OPS = {"REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ"}
# The calls that picklefs's lifts read as data (docs/CONTRACT.md, "Lifted reconstructors"): the
# value they build shows, and the call itself is left to the audit listing, so the invariant
# does not ask for their offsets (a datetime's timezone argument, a numpy array's dtype, bytes
# or a frozenset used as a dict key).
# the callables a lift reads as data (pandas's, pytz's zones and slices inside a pandas frame,
# where a frame read as a table shows none of its internal calls; a frame of another shape
# stays objects, whose calls show)
LIFTED = re.compile(r"(_codecs|datetime|decimal|collections|copyreg|copy_reg|numpy|torch|pandas|"
                    r"pytz)\.|"
                    r"(builtins|__builtin__)\.(set|frozenset|bytes|bytearray|complex|getattr|slice)$|"
                    r"functools\.partial$")
ALL = fx.all_fixtures()
EVIL = sorted(n for n in ALL if not n.startswith("plain_"))


def fixture(name):
    path = os.path.join(FIXTURES, name + ".pkl")
    assert os.path.exists(path), "missing fixture %s: run tests/make_call_fixtures.py" % path
    return path


def call_offsets(data, names=None):
    """The offsets of the call opcodes of the raw pickles back to back in data, and those of
    the values each BUILD applies to; None when pickletools cannot read data as pickles.
    names, a dict, gets the dotted name of each call's callable, where a GLOBAL gives it."""
    calls, builds, pos = [], [], 0
    names = {} if names is None else names
    try:
        while pos < len(data):
            m = Machine(calls, builds, names)
            end = pos
            for op, arg, off in pickletools.genops(data[pos:]):
                off += pos
                end = off + 1
                m.apply(op, arg, off)
            pos = end
    except Exception:  # not raw pickles (an archive, compressed, joblib's raw bytes)
        return None
    return calls, builds


class Machine:
    """A stack of the offsets that made each value (MARK is None), as far as telling which
    value a BUILD applies to, and which global a call calls, needs."""

    def __init__(self, calls, builds, names):
        self.stack, self.memo, self.args = [], {}, {}
        self.calls, self.builds, self.names = calls, builds, names

    def apply(self, op, arg, off):
        stack = self.stack
        if op.name in ("GLOBAL", "INST"):
            self.args[off] = arg.replace(" ", ".")
        elif op.name == "STACK_GLOBAL":
            self.args[off] = "%s.%s" % (self.args.get(stack[-2]), self.args.get(stack[-1]))
        elif isinstance(arg, str):
            self.args[off] = arg
        if op.name in CALL_OPS:
            self.calls.append(off)
            callee = off if op.name == "INST" else (
                stack[len(stack) - stack[::-1].index(None)]
                if op.name == "OBJ" else stack[-3 if op.name == "NEWOBJ_EX" else -2])
            self.names[off] = self.args.get(callee)
        apply(op, arg, off, stack, self.memo, self.builds)


def apply(op, arg, off, stack, memo, builds):
    """Run op over the stack of the offsets that made each value."""
    name = op.name
    if name == "MARK":
        stack.append(None)
        return
    if name == "BUILD":
        builds.append((off, stack[-2]))
    if name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
        return
    if name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
        return
    if name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[arg])
        return
    if name == "DUP":
        stack.append(stack[-1])
        return
    if name == "POP" and stack[-1] is None:
        stack.pop()
        return
    if pickletools.markobject in op.stack_before:
        while stack.pop() is not None:
            pass
    skip = (pickletools.markobject, pickletools.stackslice)
    popped = [stack.pop() for x in op.stack_before if x not in skip]
    if name in ("BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"):
        stack.append(popped[-1])  # the target stays
        return
    stack.extend(off for _ in op.stack_after)


def snapshot(files):
    """file -> the set of its entries' user.pickle.offset values, or None when refused."""
    exe = os.environ.get("SNAPSHOT") or os.path.join(
        os.path.dirname(mountutil.pkdump_exe()), "tests", "snapshot")
    out = {}
    for i in range(0, len(files), 200):
        text = subprocess.run([exe, *files[i:i + 200]], capture_output=True,
                              timeout=600).stdout.decode("utf-8", "replace")
        for part in text.split("\n== ")[0:]:
            head, _, body = part.partition("\n")
            name = head[3:] if head.startswith("== ") else head
            if body.startswith("refused:"):
                out[name] = None
            else:
                out[name] = {int(m) for m in re.findall(r"user\.pickle\.offset: (\d+)", body)}
    return out


# ---- every form, mounted ----

@pytest.mark.parametrize("name", EVIL)
def test_call_found_by_grep_and_never_run(name):
    _, where = ALL[name]
    with open(fixture(name), "rb") as f:
        data = f.read()  # Python's pickler named the classes __main__.X when it wrote them
    can = fx.canary(name)
    if os.path.exists(can):
        os.unlink(can)
    calls, _ = call_offsets(data)
    with mount(fixture(name)) as mnt:
        r = run(["grep", "-r", "-l", "touch " + can, mnt])
        assert r.returncode == 0, "grep -r does not find the call in %s" % name
        red = os.path.join(mnt, where, "__reduce__")
        with open(red, "rb") as f:
            assert f.read() == ("posix.system('touch %s')\n" % can).encode()
        off = int(os.getxattr(red, "user.pickle.offset"))
        assert data[off:off + 1] == b"R" and off in calls
        found = {int(os.getxattr(os.path.join(d, x), "user.pickle.offset"))
                 for d, dirs, files in os.walk(mnt) for x in dirs + files
                 if not os.path.islink(os.path.join(d, x))}
        assert set(calls) <= found, "calls at %s not shown" % sorted(set(calls) - found)
    assert not os.path.exists(can), "%s ran its call" % name


@pytest.mark.parametrize("name", ["popped", "pop_mark", "left_on_stack", "under_mark"])
def test_dropped_calls_in_calls_dir(name):
    with mount(fixture(name)) as mnt:
        assert sorted(os.listdir(mnt)) == ["__calls__", "a"]
        assert os.listdir(os.path.join(mnt, "__calls__")) == ["0"]
        assert os.getxattr(os.path.join(mnt, "__calls__"), "user.pickle.type") == b"calls"
        with open(os.path.join(mnt, "a")) as f:
            assert f.read() == "1\n"


def test_stream_roots_hold_calls_too():
    with mount(fixture("memo_only")) as mnt:
        assert sorted(os.listdir(mnt)) == ["0", "__calls__"]
    with mount(fixture("stream")) as mnt:
        assert sorted(os.listdir(mnt)) == ["0", "1", "__calls__"]


def test_calls_dir_renamed_when_the_root_has_the_key():
    with mount(fixture("name_taken")) as mnt:
        assert sorted(os.listdir(mnt)) == ["__calls__", "__calls__~1"]
        with open(os.path.join(mnt, "__calls__")) as f:
            assert f.read() == "1\n"


def test_mutated_globals_show_where_they_are():
    with mount(fixture("setitem_global")) as mnt:
        with open(os.path.join(mnt, "m", "__reduce__")) as f:
            assert f.read() == "sys.modules\n"
        assert os.getxattr(os.path.join(mnt, "m"), "user.pickle.class") == b"sys.modules"
        assert sorted(os.listdir(os.path.join(mnt, "m"))) == ["__reduce__", "os"]
    with mount(fixture("append_global")) as mnt:
        with open(os.path.join(mnt, "p", "__reduce__")) as f:
            assert f.read() == "sys.path\n"
    with mount(fixture("build_module")) as mnt:
        with open(os.path.join(mnt, "p", "__reduce__")) as f:
            assert f.read() == "os.path\n"
    # a mutated global that is nowhere else is in __calls__, after the call set into it
    with mount(fixture("append_popped")) as mnt:
        calls = os.path.join(mnt, "__calls__")
        assert sorted(os.listdir(calls)) == ["0", "1"]
        with open(os.path.join(calls, "1", "__reduce__")) as f:
            assert f.read() == "sys.path\n"
        assert os.readlink(os.path.join(calls, "1", "0")) == "../0"


@pytest.mark.parametrize("proto", [2, 5])
def test_state_setter_state_shows_with_its_object(proto):
    """Python's own pickler writes set_state(obj, state), REDUCE, POP: the object shows the
    call and its state in __setstate__, and nothing is left for __calls__."""
    with mount(fixture("plain_setter_p%d" % proto)) as mnt:
        assert os.listdir(mnt) == ["obj"]
        obj = os.path.join(mnt, "obj")
        assert sorted(os.listdir(obj)) == ["__args__", "__reduce__", "__setstate__"]
        with open(os.path.join(obj, "__setstate__", "__reduce__")) as f:
            assert f.read() == ("__main__.set_state(__main__.WithSetter(None), "
                                "{'color': 'red', 'size': 3})\n")
        assert os.readlink(os.path.join(obj, "__setstate__", "__args__", "0")) == "../.."
        with open(os.path.join(obj, "__setstate__", "__args__", "1", "color")) as f:
            assert f.read() == "red\n"


def test_fixtures_are_current():
    for name, (data, _) in fx.FIXTURES.items():  # those written by hand
        with open(fixture(name), "rb") as f:
            assert f.read() == data, "%s changed: run tests/make_call_fixtures.py" % name


# ---- the invariant, over every fixture and corpus input ----

def corpus():
    root = mountutil.REPO
    found = []
    for d in ("tests/fixtures", "fuzz/corpus"):
        found += [p for p in glob.glob(os.path.join(root, d, "**"), recursive=True)
                  if os.path.isfile(p)]
    return sorted(found)


def test_every_call_offset_is_shown():
    files, expect = [], {}
    for path in corpus():
        names = {}
        with open(path, "rb") as f:
            got = call_offsets(f.read(), names)
        if got and (got[0] or got[1]):
            files.append(path)
            expect[path] = (*got, names)
    shown = snapshot(files)
    checked, missing = 0, []
    for path in files:
        offs = shown.get(path)
        if offs is None:
            continue  # refused: the audit listing covers those
        checked += 1
        calls, builds, names = expect[path]
        lifted = {o for o in calls if LIFTED.match(re.sub(r"\s", "", names.get(o) or ""))}
        lost = [o for o in calls if o not in offs and o not in lifted]
        lost += ["BUILD@%d on %s" % (o, t) for o, t in builds
                 if t not in offs and o not in offs and t not in lifted]
        if lost:
            missing.append("%s: %s" % (os.path.relpath(path, mountutil.REPO), lost[:5]))
    assert checked > 100
    assert not missing, "%d of %d inputs hide calls:\n%s" % (len(missing), checked,
                                                             "\n".join(missing[:40]))


def test_build_on_a_value_without_state_is_listed():
    """7 BUILD {...}: the int stays 7, and the BUILD is listed with its offset."""
    with open(fixture("build_on_int"), "rb") as f:
        data = f.read()
    with mount(fixture("build_on_int")) as mnt:
        build = os.path.join(mnt, "__calls__", "1")
        with open(os.path.join(build, "__reduce__")) as f:
            assert f.read().startswith("(7).__setstate__({'cmd': posix.system(")
        off = int(os.getxattr(build, "user.pickle.offset"))
        assert data[off:off + 1] == b"b"  # the BUILD
        with open(os.path.join(mnt, "0")) as f:
            assert f.read() == "7\n"
