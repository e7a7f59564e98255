#!/usr/bin/python3
"""make_call_fixtures.py: write the fixtures of calls the stream makes but does not keep, which
test_calls.py mounts.

Run it from anywhere with /usr/bin/python3 (standard library only):

    /usr/bin/python3 tests/make_call_fixtures.py

It writes tests/fixtures/calls/NAME.pkl. The files are committed; re-run the script only when a
fixture is added or changed. The output is deterministic.

Every fixture but `plain_setter` makes, when Python loads it, the call
posix.system('touch CANARY') with CANARY = canary(NAME), a path in /tmp, in one of the ways a
value can leave no trace in the loaded result: popped (POP, POP_MARK), kept only in the memo,
left on the stack or under a MARK at STOP, set into a global (SETITEM on sys.modules, APPEND on
sys.path, BUILD on os.path), used as a dict key, in a BUILD state set on an int, or in the state
that a 6-tuple __reduce__'s state setter applies (written by Python's own pickler). Never load these with pickle outside a test that proves they
work. FIXTURES says, for each, the entry (a path in the mount) whose __reduce__ names the call.
"""

import os
import pickle
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = os.path.join(HERE, "fixtures", "calls")


def canary(name):
    """The file a fixture creates when Python loads it."""
    return "/tmp/picklefs-canary-calls-%s" % name


def s(text):
    """BINUNICODE."""
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def system(name):
    """posix.system('touch CANARY'): GLOBAL, MARK, the command, TUPLE, REDUCE."""
    return b"cposix\nsystem\n(" + s("touch " + canary(name)) + b"tR"


A1 = b"}" + s("a") + b"K\x01s"  # {'a': 1}

# name -> (bytes, the path of the entry whose __reduce__ line is the call)
FIXTURES = {
    # posix.system(...), POP, then {'a': 1}
    "popped": (b"\x80\x02" + system("popped") + b"0" + A1 + b".", "__calls__/0"),
    # MARK, the call, POP_MARK: the mark and all above it go
    "pop_mark": (b"\x80\x02(" + system("pop_mark") + b"1" + A1 + b".", "__calls__/0"),
    # the call, BINPUT 0, POP: only the memo keeps it; then 5, a scalar: a stream root
    "memo_only": (b"\x80\x02" + system("memo_only") + b"q\x000K\x05.", "__calls__/0"),
    # left on the stack under the top value
    "left_on_stack": (b"\x80\x02" + system("left_on_stack") + A1 + b".", "__calls__/0"),
    # under a MARK that is never closed
    "under_mark": (b"\x80\x02(" + system("under_mark") + b"(" + A1 + b".", "__calls__/0"),
    # two pickles back to back, the first's call popped: the stream root holds __calls__
    "stream": (b"\x80\x02" + system("stream") + b"0K\x01.\x80\x02K\x02.", "__calls__/0"),
    # the root dict has a key __calls__ already: ours is __calls__~1
    "name_taken": (b"\x80\x02" + system("name_taken") + b"0}" + s("__calls__") + b"K\x01s.",
                   "__calls__~1/0"),
    # {'m': sys.modules}, then sys.modules['os'] = the call (SETITEM on the memoized global)
    "setitem_global": (b"\x80\x02}" + s("m") + b"csys\nmodules\nq\x00sh\x00" + s("os") +
                       system("setitem_global") + b"s0.", "m/os"),
    # {'p': sys.path} then sys.path.append(the call), by APPENDS
    "append_global": (b"\x80\x02}" + s("p") + b"csys\npath\nq\x00sh\x00(" +
                      system("append_global") + b"e0.", "p/0"),
    # sys.path.append(the call), then popped: the global is nowhere else, so in __calls__
    "append_popped": (b"\x80\x02csys\npath\n" + system("append_popped") + b"a0" + A1 + b".",
                      "__calls__/0"),
    # {'p': os.path}, os.path BUILD {'sep': the call}: the module's state
    "build_module": (b"\x80\x02}" + s("p") + b"\x8c\x02os\x8c\x04path\x93}" + s("sep") +
                     system("build_module") + b"sbs.", "p/sep"),
    # {the call: 1}: a key only names its entry, so the call is listed in __calls__ as well
    "call_as_key": (b"\x80\x02}" + system("call_as_key") + b"K\x01s.", "__calls__/0"),
    # [7], then 7 BUILD {'cmd': the call}: an int shows no state; the BUILD is listed as
    # (7).__setstate__({...}) after the call it holds
    "build_on_int": (b"\x80\x02]K\x07}" + s("cmd") + system("build_on_int") + b"sba.",
                     "__calls__/0"),
}


# ---- a state setter, written by Python's own pickler ----

def set_state(obj, state):
    obj.__dict__.update(state)


class Cmd:
    """Loading it calls os.system: it stands for any call inside a state."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class WithSetter:
    """__reduce__'s 6-tuple form: Python's pickler writes set_state(obj, state), REDUCE, POP."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (WithSetter, (None,), self.state, None, None, set_state)


def setter_pickles():
    out = {}
    for proto in (2, 5):
        plain = {"obj": WithSetter({"color": "red", "size": 3})}
        out["plain_setter_p%d" % proto] = (pickle.dumps(plain, protocol=proto),
                                           "obj/__setstate__")
        name = "setter_p%d" % proto
        evil = {"obj": WithSetter({"cmd": Cmd("touch " + canary(name))})}
        out[name] = (pickle.dumps(evil, protocol=proto), "obj/__setstate__/__args__/1/cmd")
    return out


def all_fixtures():
    """name -> (bytes, path), those written by hand and by the pickler."""
    return {**FIXTURES, **setter_pickles()}


def main():
    if __name__ != "__main__" or WithSetter.__module__ != "__main__":
        return
    os.makedirs(CALLS, exist_ok=True)
    for name, (data, _) in sorted(all_fixtures().items()):
        with open(os.path.join(CALLS, name + ".pkl"), "wb") as f:
            f.write(data)
    print("wrote %d fixtures to %s" % (len(all_fixtures()), CALLS))


if __name__ == "__main__":
    sys.exit(main())
