#!/usr/bin/python3
"""make_nested_fixtures.py: write the fixtures of pickles inside pickles (a call of
pickle.loads on bytes that hold a pickle), which test_nested.py mounts and audits.

Run it from anywhere with /usr/bin/python3 (standard library only):

    /usr/bin/python3 tests/make_nested_fixtures.py

It writes tests/fixtures/nested/NAME.pkl. The files are committed; re-run the script only when
a fixture is added or changed. The output is deterministic.

The canary fixtures hold, inside the bytes a pickle.loads call unpickles, the call
posix.system('touch CANARY') with CANARY = canary(NAME), a path in /tmp. Never load them with
pickle outside a test that proves they work. FIXTURES says, for each, the path in the mount of
the object directory whose __reduce__ is that call (None when it must show nowhere as a call).
"""

import os
import pickle
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NESTED = os.path.join(HERE, "fixtures", "nested")
DEPTH = 8  # picklefs decodes nested pickles this many levels deep (docs/CONTRACT.md)


def canary(name):
    """The file a fixture creates when Python loads it."""
    return "/tmp/picklefs-canary-nested-%s" % name


def s(text):
    """BINUNICODE."""
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def blob(b):
    """SHORT_BINBYTES or BINBYTES."""
    if len(b) < 256:
        return b"C" + bytes([len(b)]) + b
    return b"B" + struct.pack("<I", len(b)) + b


def system(name):
    """A pickle of posix.system('touch CANARY') alone."""
    return b"\x80\x02cposix\nsystem\n(" + s("touch " + canary(name)) + b"tR."


def loads(inner, module=b"pickle", func=b"loads"):
    """pickle.loads(inner): GLOBAL, MARK, the bytes, TUPLE, REDUCE (no STOP)."""
    return b"c" + module + b"\n" + func + b"\n(" + blob(inner) + b"tR"


def in_dict(call):
    """{'a': call} as a whole protocol 3 pickle."""
    return b"\x80\x03}" + s("a") + call + b"s."


def wrapped(inner, levels):
    """inner inside `levels` pickle.loads calls, each a whole pickle of [pickle.loads(...)]."""
    for _ in range(levels - 1):
        inner = b"\x80\x03]" + loads(inner) + b"a."
    return in_dict(loads(inner))


def truncated(name):
    """A nested pickle cut after its call and before its STOP: CPython runs the call, then
    fails."""
    return system(name)[:-1] + b"}"


class Loads:
    """Written by Python's own pickler as pickle.loads(b'...'): at protocol 2, with the bytes
    as _codecs.encode(str, 'latin1'); at 3 and above as _pickle.loads and BINBYTES."""

    def __init__(self, data):
        self.data = data

    def __reduce__(self):
        return (pickle.loads, (self.data,))


def python2(name):
    """As Python 2's cPickle writes it at protocol 0: cPickle.loads('...') with a STRING
    holding a protocol 0 pickle (Python 2's str is bytes)."""
    inner = "cposix\nsystem\n(S'touch %s'\ntR." % canary(name)
    return (b"(dp0\nS'a'\np1\nccPickle\nloads\np2\n(S" + repr(inner).encode() +
            b"\np3\ntp4\nRp5\ns.")


def inst(name):
    """INST pickle loads: the class line and its arguments after a MARK, protocol 0."""
    return b"(dS'a'\n(" + blob(system(name)) + b"ipickle\nloads\ns."


def memo_bomb(name, copies):
    """One 64 KiB nested pickle (a list of 32760 ints, dropped, then the call), memoized, and
    unpickled by `copies` calls through the memo: decoded only within the budget of nested
    bytes, the rest stay bytes (symlinks to the first)."""
    pad = b"\x80\x03(" + b"K\x01" * 32760 + b"l0" + system(name)[2:]
    out = b"\x80\x03](cpickle\nloads\nq\x01" + blob(pad) + b"q\x00\x85R"
    out += b"h\x01h\x00\x85R" * (copies - 1)
    return out + b"e."


FIXTURES = {
    # {'a': pickle.loads(b'<posix.system(...)>')}
    "one_level": (in_dict(loads(system("one_level"))), "a/__pickle__"),
    # _pickle.loads and pickle._loads, the names Python 3's own pickler writes
    "underscore": (in_dict(loads(system("underscore"), b"_pickle")), "a/__pickle__"),
    "private": (in_dict(loads(system("private"), b"pickle", b"_loads")), "a/__pickle__"),
    # two levels: pickle.loads of a pickle of [pickle.loads(b'...')]
    "two_levels": (wrapped(system("two_levels"), 2), "a/__pickle__/0/__pickle__"),
    # the deepest level decoded, and one past it, which stays bytes
    "at_depth": (wrapped(system("at_depth"), DEPTH),
                 "a" + "/__pickle__/0" * (DEPTH - 1) + "/__pickle__"),
    "past_depth": (wrapped(system("past_depth"), DEPTH + 1), None),
    # bytes that are no pickle, and a pickle cut short after its call
    "not_pickle": (in_dict(loads(b"hello, no pickle here")), None),
    "truncated": (in_dict(loads(truncated("truncated"))), "__calls__/0"),
    # Python 2's cPickle.loads('...') at protocol 0, and INST
    "python2": (python2("python2"), "a/__pickle__"),
    "inst": (inst("inst"), "a/__pickle__"),
}


def pickler_fixtures():
    out = {}
    for proto in (2, 5):
        name = "pickler_p%d" % proto
        out[name] = (pickle.dumps({"a": Loads(system(name))}, protocol=proto), "a/__pickle__")
    return out


def bombs():
    deep = wrapped(system("bomb_deep"), 2000)
    return {
        # 2000 levels, each a whole pickle: 8 decoded, the rest stay bytes
        "bomb_deep": (deep, None),
        # one 64 KiB nested pickle unpickled 4096 times through the memo
        "bomb_memo": (memo_bomb("bomb_memo", 4096), None),
    }


def all_fixtures():
    """name -> (bytes, path of the call's object, or None), by hand and by the pickler."""
    return {**FIXTURES, **pickler_fixtures(), **bombs()}


def main():
    if __name__ != "__main__" or Loads.__module__ != "__main__":
        return
    os.makedirs(NESTED, exist_ok=True)
    for name, (data, _) in sorted(all_fixtures().items()):
        with open(os.path.join(NESTED, name + ".pkl"), "wb") as f:
            f.write(data)
    print("wrote %d fixtures to %s" % (len(all_fixtures()), NESTED))


if __name__ == "__main__":
    sys.exit(main())
