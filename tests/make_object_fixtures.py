#!/usr/bin/python3
"""make_object_fixtures.py: write the object fixtures that test_objects.py mounts.

Run it from anywhere with /usr/bin/python3 (standard library only):

    /usr/bin/python3 tests/make_object_fixtures.py

It writes tests/fixtures/objects/NAME_pN.pkl. The files are committed; re-run the script only
when a fixture is added or changed. The output is deterministic (the script re-runs itself with
PYTHONHASHSEED=0, and Python's pickler is otherwise deterministic).

Two kinds of fixture, each at every protocol where Python can write it:

- BENIGN: objects that docs/CONTRACT.md ("Objects", "Lifted reconstructors") shows as
  directories or lifted values: dataclasses, __getstate__ returning non-dicts, __slots__,
  __reduce__ with list and dict items, NEWOBJ_EX keyword arguments, list and dict subclasses,
  the datetime family, Decimal, complex, OrderedDict/defaultdict/Counter, persistent ids,
  extension codes and out-of-band buffers. test_objects.py imports this module and computes
  the expected file contents from the same values with Python (str(), repr()).
- MALICIOUS: pickles that run `touch CANARY` when Python loads them: os.system,
  subprocess.Popen, eval, exec, getattr chains, STACK_GLOBAL and memo tricks, INST, OBJ,
  functools.partial, copyreg._reconstructor, Python 2 names. Some come from a __reduce__, the
  rest are written opcode by opcode (asm() below). Their canary is canary(name, protocol), an
  absolute path in /tmp; MALICIOUS says which entry's __reduce__ names the callable and what
  that line must say. Never load these with pickle outside the test that proves they work.
"""

import collections
import copyreg
import dataclasses
import datetime
import decimal
import io
import os
import pickle
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OBJECTS = os.path.join(HERE, "fixtures", "objects")
PROTOCOLS = range(0, 6)


def canary(name, proto):
    """The file a malicious fixture creates when Python loads it."""
    return "/tmp/picklefs-canary-%s-p%d" % (name, proto)


# ---- classes (pickled as __main__.X when this runs as a script) ----

@dataclasses.dataclass
class User:
    name: str
    email: str
    age: int


class ListState:
    """__getstate__ returns a list: shown as __state__/0, __state__/1."""
    def __getstate__(self):
        return ["alpha", "beta"]

    def __setstate__(self, state):
        pass


class StrState:
    """__getstate__ returns a str: shown as the file __state__."""
    def __getstate__(self):
        return "state as text"

    def __setstate__(self, state):
        pass


class IntState:
    def __getstate__(self):
        return 42

    def __setstate__(self, state):
        pass


class TupleState:
    """A tuple state that is not (dict, slots): shown as __state__/."""
    def __getstate__(self):
        return (1, "one")

    def __setstate__(self, state):
        pass


class Slots:
    """(None, slots) state: the slots are entries. Protocols 0 and 1 need an explicit
    __getstate__ for __slots__; it returns what protocol 2's default would."""
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1
        self.b = "two"

    def __getstate__(self):
        return (None, {"a": self.a, "b": self.b})

    def __setstate__(self, state):
        pass


class SlotsAndDict:
    """(dict, slots) state: both are entries."""
    __slots__ = ("s", "__dict__")

    def __init__(self):
        self.s = "slot"
        self.d = "dict"

    def __getstate__(self):
        return (self.__dict__, {"s": self.s})

    def __setstate__(self, state):
        pass


class MyList(list):
    """A list subclass with an attribute: items and state are entries, at every protocol."""


class MyDict(dict):
    pass


class Bag:
    """__reduce__ with arguments, a state and list and dict items (APPENDS, SETITEMS)."""
    def __reduce__(self):
        return (Bag, ("arg",), {"attr": 1}, iter([10, 20]), iter([("k", "v")]))


class Point:
    """__getnewargs_ex__: NEWOBJ_EX at protocols 4 and 5, functools.partial(cls.__new__, ...)
    at 2 and 3, and (Python ignores it below 2) copyreg._reconstructor at 0 and 1."""
    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        self.args, self.kwargs = args, kwargs
        return self

    def __getnewargs_ex__(self):
        return (self.args, self.kwargs)


class PointEx:
    """__reduce_ex__ returning copyreg.__newobj_ex__ at every protocol."""
    def __reduce_ex__(self, proto):
        return (copyreg.__newobj_ex__, (PointEx, (1, 2), {"color": "red"}), {"label": "p"})


class Ref:
    """Pickled as a persistent id by PidPickler."""
    def __init__(self, pid):
        self.pid = pid


class PidPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, Ref) else None


# ---- benign fixtures ----

def users():
    return {"users": [User("Alice", "alice@example.com", 30), User("Bob", "bob@example.com", 25)]}


def states():
    return {"list_state": ListState(), "str_state": StrState(), "int_state": IntState(),
            "tuple_state": TupleState(), "slots": Slots(), "slots_and_dict": SlotsAndDict()}


def items():
    ml = MyList([1, 2])
    ml.tag = "list"
    md = MyDict(a=1)
    md.tag = "dict"
    return {"bag": Bag(), "mylist": ml, "mydict": md}


def kwargs():
    return {"point": Point(1, 2, color="red"), "point_ex": PointEx()}


UTC = datetime.timezone.utc
PLUS1 = datetime.timezone(datetime.timedelta(hours=1))


def lifted_values():
    """name -> value; every value is lifted and its file is str(value) + newline."""
    tz = datetime.timezone
    td = datetime.timedelta
    return {
        "date": datetime.date(2024, 1, 2),
        "date_min": datetime.date(1, 1, 1),
        "date_max": datetime.date(9999, 12, 31),
        "time": datetime.time(3, 4, 5, 6),
        "time_short": datetime.time(13, 0),
        "time_tz": datetime.time(3, 4, tzinfo=tz(td(hours=-5, minutes=-30))),
        "time_fold": datetime.time(1, 30, fold=1),
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=PLUS1),
        "datetime_naive": datetime.datetime(1999, 12, 31, 23, 59, 59),
        "datetime_utc": datetime.datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
        "datetime_named": datetime.datetime(2024, 6, 1, tzinfo=tz(td(hours=2), "CEST")),
        "datetime_seconds_tz": datetime.datetime(2024, 6, 1, 1, 2, 3, tzinfo=tz(td(seconds=3661, microseconds=5))),
        "datetime_fold": datetime.datetime(2024, 11, 3, 1, 30, fold=1),
        "timedelta": td(days=1, hours=2, minutes=3, seconds=4),
        "timedelta_zero": td(0),
        "timedelta_negative": td(days=-1, seconds=5),
        "timedelta_days": td(days=2, microseconds=7),
        "timedelta_small": td(microseconds=-1),
        "timedelta_max": td.max,
        "timezone_utc": UTC,
        "timezone_plus1": PLUS1,
        "timezone_minus": tz(td(hours=-3, minutes=-30)),
        "timezone_seconds": tz(td(seconds=-1)),
        "timezone_micro": tz(td(hours=5, microseconds=10)),
        "timezone_named": tz(td(hours=9), "JST"),
        "timezone_named_utc": tz(td(0), "UTC"),
        "decimal": decimal.Decimal("1.50"),
        "decimal_neg_zero": decimal.Decimal("-0"),
        "decimal_big": decimal.Decimal("123456789012345678901234567890.000000001"),
        "decimal_exp": decimal.Decimal("1.5E+30"),
        "decimal_small": decimal.Decimal("0.0000001"),
        "decimal_inf": decimal.Decimal("-Infinity"),
        "decimal_nan": decimal.Decimal("NaN"),
        "decimal_snan": decimal.Decimal("sNaN12"),
        "complex": 1 + 2j,
        "complex_imag": 2j,
        "complex_neg_imag": complex(0.0, -0.0),
        "complex_neg_zero_real": complex(-0.0, 1.5),
        "complex_big": complex(1e16, -1e-5),
        "complex_inf": complex(float("inf"), float("nan")),
    }


def lifted_keys():
    """Lifted values as dict keys: named by their repr()."""
    return {
        datetime.date(2024, 1, 2): "date key",
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=PLUS1): "datetime key",
        datetime.time(3, 4, tzinfo=UTC, fold=1): "time key",
        datetime.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=PLUS1): "fold key",
        datetime.timedelta(days=1, seconds=2): "timedelta key",
        datetime.timedelta(0): "zero timedelta key",
        UTC: "utc key",
        datetime.timezone(datetime.timedelta(hours=1), "X"): "named tz key",
        decimal.Decimal("1.5"): "decimal key",
        1 + 2j: "complex key",
    }


def lifted():
    return {"values": lifted_values(), "keys": lifted_keys(),
            "dates": {datetime.date(2024, 1, 2), datetime.date(2023, 5, 6)}}


def dicts():
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    with_state = collections.OrderedDict([("weight", 0.5)])
    with_state._metadata = {"version": 1}  # BUILD state, as torch's state_dict has
    return {
        "ordered": od,
        "ordered_state": with_state,
        "default": collections.defaultdict(list, {"x": [1]}),
        "default_none": collections.defaultdict(None, {"y": 2}),
        "counter": collections.Counter("hello"),
        "nested": [collections.OrderedDict(k=collections.Counter(a=1))],
    }


def descriptors(proto):
    """Persistent ids at every protocol; extension codes where the pickler writes them (2+)."""
    d = {"pid": Ref("doc-42")}
    if proto >= 1:
        d["pid_tuple"] = Ref(("storage", 7))
    if proto >= 2:
        d["ext1"] = User
        d["ext2"] = ListState
        d["ext4"] = StrState
    return d


EXTENSIONS = {"User": 0xF0, "ListState": 0x1234, "StrState": 0x12345678}


def dumps_descriptors(proto):
    for name, code in EXTENSIONS.items():
        copyreg.add_extension("__main__", name, code)
    try:
        f = io.BytesIO()
        PidPickler(f, protocol=proto).dump(descriptors(proto))
        return f.getvalue()
    finally:
        for name, code in EXTENSIONS.items():
            copyreg.remove_extension("__main__", name, code)


def dumps_buffers():
    """Protocol 5 out-of-band buffers: NEXT_BUFFER, and READONLY_BUFFER for read-only ones."""
    data = {"writable": pickle.PickleBuffer(bytearray(b"rw")),
            "readonly": pickle.PickleBuffer(b"ro")}
    return pickle.dumps(data, protocol=5, buffer_callback=lambda b: False)


# Python 2's pickles, written by hand: Python 2 names, a list-of-lists OrderedDict, a py2 str.
PY2 = {
    0: (b"(dp0\nS'od'\np1\nccollections\nOrderedDict\np2\n((lp3\n(lp4\nS'a'\np5\naI1\naa(lp6\n"
        b"S'b'\np7\naI2\naatp8\nRp9\nsS'obj'\np10\nccopy_reg\n_reconstructor\np11\n(c__main__\n"
        b"Old\np12\nc__builtin__\nobject\np13\nNtp14\nRp15\n(dp16\nS'x'\np17\nI1\nsbsS'err'\n"
        b"p18\ncexceptions\nValueError\np19\n(S'bad'\np20\ntp21\nRp22\nsS'when'\np23\ncdatetime\n"
        b"date\np24\n(S'\\x07\\xe8\\x01\\x02'\np25\ntp26\nRp27\nsS'xr'\np28\nc__builtin__\nxrange"
        b"\np29\n(I3\ntp30\nRp31\ns."),
}


# ---- malicious fixtures ----

def touch(name, proto):
    return "touch " + canary(name, proto)


class System:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class Popen:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (subprocess.Popen, (["touch", self.path],))


class Eval:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (eval, ("__import__('os').system('touch %s')" % self.path,))


class Exec:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (exec, ("import os\nos.system('touch %s')" % self.path,))


# -- a tiny assembler: the same program at every protocol, with that protocol's opcodes --

class Asm:
    def __init__(self, proto):
        self.p = proto
        self.out = bytearray()
        self.memo = 0

    def raw(self, b):
        self.out += b
        return self

    def s(self, text):
        """A str."""
        b = text.encode("utf-8")
        if self.p == 0:
            return self.raw(b"V" + text.encode("raw_unicode_escape") + b"\n")
        if self.p >= 4 and len(b) < 256:
            return self.raw(b"\x8c" + bytes([len(b)]) + b)
        return self.raw(b"X" + struct.pack("<I", len(b)) + b)

    def i(self, n):
        return self.raw(b"I%d\n" % n if self.p == 0 else b"J" + struct.pack("<i", n))

    def none(self):
        return self.raw(b"N")

    def glob(self, module, name):
        """GLOBAL below protocol 4, STACK_GLOBAL from two strs at 4 and 5."""
        if self.p >= 4:
            return self.s(module).s(name).raw(b"\x93")
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def put(self):
        """Memoize the top; returns its index."""
        k = self.memo
        self.memo += 1
        if self.p >= 4:
            self.raw(b"\x94")
        elif self.p == 0:
            self.raw(b"p%d\n" % k)
        else:
            self.raw(b"q" + bytes([k]))
        return k

    def get(self, k):
        return self.raw(b"g%d\n" % k if self.p == 0 else b"h" + bytes([k]))

    def mark(self):
        return self.raw(b"(")

    def tuple(self):
        """TUPLE from the mark."""
        return self.raw(b"t")

    def empty_tuple(self):
        return self.raw(b"(t" if self.p == 0 else b")")

    def reduce(self):
        return self.raw(b"R")

    def build(self):
        return self.raw(b"b")

    def dict_(self):
        return self.raw(b"(d" if self.p == 0 else b"}")

    def list_(self):
        return self.raw(b"(l" if self.p == 0 else b"]")

    def setitem(self):
        return self.raw(b"s")

    def append(self):
        return self.raw(b"a")

    def done(self):
        body = bytes(self.out) + b"."
        if self.p >= 4:  # one frame around the whole program
            body = b"\x95" + struct.pack("<Q", len(body)) + body
        return (b"\x80" + bytes([self.p]) if self.p >= 2 else b"") + body


def call1(a, module, name, arg):
    """module.name(arg) with a str arg."""
    return a.glob(module, name).mark().s(arg).tuple().reduce()


def asm_getattr_chain(proto, cmd):
    """builtins.getattr(builtins.__import__('os'), 'system')('touch ...')"""
    a = Asm(proto)
    builtins = "__builtin__" if proto < 3 else "builtins"
    a.glob(builtins, "getattr").mark()
    call1(a, builtins, "__import__", "os")
    a.s("system").tuple().reduce()
    a.mark().s(cmd).tuple().reduce()
    return a.done()


def asm_memo_trick(proto, cmd):
    """The module and name strings, the callable and the command all go through the memo:
    a benign-looking list holds them first; the call gets them back with GET."""
    a = Asm(proto)
    a.list_()
    a.s("posix")
    m = a.put()
    a.append()
    a.s("system")
    n = a.put()
    a.append()
    a.s(cmd)
    c = a.put()
    a.append()
    lst = a.put()
    if proto >= 4:  # STACK_GLOBAL from memoized strings
        a.get(m).get(n).raw(b"\x93")
    else:
        a.glob("posix", "system")
    f = a.put()
    a.raw(b"0")  # POP the callable: only the memo keeps it
    a.dict_()
    a.s("innocent").get(lst).setitem()
    a.s("result").get(f).mark().get(c).tuple().reduce().setitem()
    return a.done()


def asm_inst(proto, cmd):
    """INST: the class (here a function) called with the arguments after the mark."""
    a = Asm(proto)
    a.mark().s(cmd).raw(b"iposix\nsystem\n")
    return a.done()


def asm_obj(proto, cmd):
    """OBJ: the first item after the mark is called with the rest."""
    a = Asm(proto)
    a.mark().glob("posix", "system").s(cmd).raw(b"o")
    return a.done()


def asm_partial(proto, cmd):
    """functools.partial(posix.system) whose BUILD state supplies the argument, then called."""
    a = Asm(proto)
    a.glob("functools", "partial").mark().glob("posix", "system")
    f = a.put()
    a.tuple().reduce()
    a.mark().get(f).mark().s(cmd).tuple().none().none().tuple().build()
    a.empty_tuple().reduce()
    return a.done()


def asm_reconstructor(proto, path):
    """copyreg._reconstructor(Popen, Popen, argv) runs Popen.__init__(obj, argv)."""
    a = Asm(proto)
    copyreg_mod = "copy_reg" if proto < 3 else "copyreg"
    a.glob(copyreg_mod, "_reconstructor").mark()
    a.glob("subprocess", "Popen")
    k = a.put()
    a.get(k)
    a.list_().s("touch").append().s(path).append()
    a.tuple().reduce()
    return a.done()


def asm_nested(proto, cmd):
    """The call hides in data: a dict value, a dict key, and a BUILD state."""
    a = Asm(proto)
    a.dict_()
    a.s("config").dict_().s("cmd").glob("posix", "system")
    f = a.put()
    a.mark().s(cmd).tuple().reduce().setitem().setitem()
    a.get(f).mark().s(cmd).tuple().reduce().i(1).setitem()
    return a.done()


def asm_py2_names(proto, cmd):
    """commands.getoutput, which Python 3 reads as subprocess.getoutput below protocol 3."""
    a = Asm(proto)
    call1(a, "commands", "getoutput", cmd)
    return a.done()


def asm_dotted(proto, cmd):
    """STACK_GLOBAL resolves dotted names from protocol 4: os.path.os.system is os.system."""
    a = Asm(proto)
    call1(a, "os", "path.os.system", cmd)
    return a.done()


def py_dumps(cls):
    return lambda proto, arg: pickle.dumps(cls(arg), protocol=proto)


# name -> (protocols, make(proto, arg), arg is "cmd" or "path", entry path in the tree,
#          expected __reduce__ line with {cmd} and {path} for the canary's command and path)
MALICIOUS = {
    "system": (PROTOCOLS, py_dumps(System), "cmd", "", "posix.system('{cmd}')"),
    "popen": (PROTOCOLS, py_dumps(Popen), "path", "", "subprocess.Popen(['touch', '{path}'])"),
    "eval": (PROTOCOLS, py_dumps(Eval), "path", "",
             "builtins.eval(\"__import__('os').system('touch {path}')\")"),
    "exec": (PROTOCOLS, py_dumps(Exec), "path", "",
             "builtins.exec(\"import os\\nos.system('touch {path}')\")"),
    "getattr_chain": (PROTOCOLS, asm_getattr_chain, "cmd", "",
                      "builtins.getattr(builtins.__import__('os'), 'system')('{cmd}')"),
    "memo_trick": (PROTOCOLS, asm_memo_trick, "cmd", "result", "posix.system('{cmd}')"),
    "inst": (PROTOCOLS, asm_inst, "cmd", "", "posix.system('{cmd}')"),
    "obj": (PROTOCOLS, asm_obj, "cmd", "", "posix.system('{cmd}')"),
    "partial": (PROTOCOLS, asm_partial, "cmd", "", "functools.partial(posix.system, '{cmd}')()"),
    "reconstructor": (PROTOCOLS, asm_reconstructor, "path", "",
                      "copyreg._reconstructor(subprocess.Popen, subprocess.Popen, "
                      "['touch', '{path}'])"),
    "nested": (PROTOCOLS, asm_nested, "cmd", "config/cmd", "posix.system('{cmd}')"),
    # Python 3 maps Python 2 names only below protocol 3, and resolves dotted names only from 4.
    "py2_names": (range(0, 3), asm_py2_names, "cmd", "", "subprocess.getoutput('{cmd}')"),
    "dotted": (range(4, 6), asm_dotted, "cmd", "", "os.path.os.system('{cmd}')"),
}


def malicious_files():
    """(name, proto, file name, command, path) of every malicious fixture."""
    for name, (protos, _, _, _, _) in MALICIOUS.items():
        for p in protos:
            yield name, p, "evil_%s_p%d.pkl" % (name, p), touch(name, p), canary(name, p)


BENIGN = {"users": users, "states": states, "items": items, "kwargs": kwargs,
          "lifted": lifted, "dicts": dicts}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.makedirs(OBJECTS, exist_ok=True)
    names = []

    def put(fn, data):
        write(os.path.join(OBJECTS, fn), data)
        names.append(fn)

    for name, make in BENIGN.items():
        for p in PROTOCOLS:
            put("%s_p%d.pkl" % (name, p), pickle.dumps(make(), protocol=p))
    for p in PROTOCOLS:
        put("descriptors_p%d.pkl" % p, dumps_descriptors(p))
    put("buffers_p5.pkl", dumps_buffers())
    for p, data in PY2.items():
        put("py2_p%d.pkl" % p, data)
    for name, p, fn, cmd, path in malicious_files():
        make, arg = MALICIOUS[name][1], MALICIOUS[name][2]
        put(fn, make(p, cmd if arg == "cmd" else path))
    for fn in set(os.listdir(OBJECTS)) - set(names):
        os.unlink(os.path.join(OBJECTS, fn))
    print("wrote %d fixtures to %s" % (len(names), OBJECTS))


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    main()
