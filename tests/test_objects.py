"""test_objects.py: objects as inert descriptors, lifted reconstructors, and pickles that would
run code, mounted through real FUSE (docs/CONTRACT.md, "Objects", "Lifted reconstructors",
"Nothing is run").

Run with `meson test -C build objects` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_objects.py

The fixtures are tests/fixtures/objects/*.pkl, written by make_object_fixtures.py, which this
module imports for the values and the malicious cases. Expected text is computed with Python:
the benign fixtures of standard-library types are loaded back with pickle (through an unpickler
that refuses every other name) and their str() and repr() are what the files and names must say.

What is checked:
- objects: __reduce__ lines, dict state as entries, (dict, slots) state, other state as
  __state__, list and dict items as entries, __args__ and __kwargs__, user.pickle.type
  "object" and user.pickle.class the class, at every protocol, and the same tree at every
  protocol where Python writes the same object;
- lifted values: the datetime family, Decimal and complex show str(value) and name their
  keys by repr(value), with their type and class; OrderedDict, defaultdict and Counter are
  dicts with their class, state and default_factory; persistent ids, extension codes and
  out-of-band buffers are descriptor files; Python 2 names read as Python 3 ones below
  protocol 3 only; random values of every lifted type match Python's str() at every protocol;
- calls of unexpected shapes stay opaque objects;
- malicious pickles at every protocol: mounting them, reading every file and xattr, and
  running pkdump leave their canary uncreated, and their __reduce__ names the real callable
  with its arguments. A control test proves each fixture does create its canary when Python
  itself loads it, in a child process (the payload only touches a file in /tmp).
"""

import datetime
import decimal
import os
import pickle
import random
import re
import struct
import subprocess
import sys
import tempfile
import time

import pytest

import make_object_fixtures as fx
import mountutil
import spec_model
from mountutil import mount, run, walk

OBJECTS = os.path.join(mountutil.FIXTURES, "objects")
XA_CLASS = "user.pickle.class"
XA_REDUCE = "user.pickle.reduce"
PROTOCOLS = list(range(6))

TYPE_NAMES = {datetime.datetime: "datetime", datetime.date: "date", datetime.time: "time",
              datetime.timedelta: "timedelta", datetime.timezone: "timezone",
              decimal.Decimal: "decimal", complex: "complex"}


def fixture(name, proto=None):
    path = os.path.join(OBJECTS, name if proto is None else "%s_p%d.pkl" % (name, proto))
    assert os.path.exists(path), "missing fixture %s: run tests/make_object_fixtures.py" % path
    return path


# ---- reading a mount ----

def xattr(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


_trees = {}


def tree_of(file):
    """walk() of the mounted file, plus user.pickle.class and user.pickle.reduce per entry.
    Each fixture is mounted once per session."""
    if file not in _trees:
        with mount(file) as mnt:
            t = walk(mnt)
            for rel, e in t.items():
                full = os.fsencode(mnt) if rel == spec_model.ROOT else os.path.join(
                    os.fsencode(mnt), rel)
                if e["kind"] != "link":
                    for name in (XA_CLASS, XA_REDUCE):
                        v = xattr(full, name)
                        if v is not None:
                            e["xattr"][name] = v
        _trees[file] = t
    return _trees[file]


def entry(tree, path):
    key = spec_model.ROOT if path in ("", ".") else os.fsencode(path)
    assert key in tree, "no entry %r; entries: %s" % (path, sorted(tree)[:40])
    return tree[key]


def content(tree, path):
    e = entry(tree, path)
    assert e["kind"] == "file", "%s is a %s, not a file" % (path, e["kind"])
    return e["content"]


def xa(tree, path, name):
    return entry(tree, path)["xattr"].get(name)


def children(tree, path):
    e = entry(tree, path)
    assert e["kind"] == "dir", "%s is a %s, not a directory" % (path, e["kind"])
    return [n.decode("utf-8", "surrogateescape") for n in e["children"]]


def assert_object(tree, path, reduce_line, cls):
    """An opaque object: a directory with its __reduce__ line, type object, its class."""
    assert entry(tree, path)["kind"] == "dir"
    red = path + "/__reduce__" if path else "__reduce__"
    assert content(tree, red) == (reduce_line + "\n").encode()
    assert xa(tree, path, spec_model.XA_TYPE) == b"object"
    assert xa(tree, path, XA_CLASS) == cls.encode()
    assert xa(tree, path, XA_REDUCE) == reduce_line.encode()
    assert xa(tree, red, spec_model.XA_TYPE) == b"reduce"


# ---- loading the benign standard-library fixtures with Python ----

SAFE_NAMES = {
    ("datetime", "date"), ("datetime", "time"), ("datetime", "datetime"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "list"), ("_codecs", "encode"), ("collections", "OrderedDict"),
    ("collections", "defaultdict"), ("collections", "Counter"),
}


class SafeUnpickler(pickle.Unpickler):
    """Loads only the standard-library names above (after Python 2 name mapping)."""
    def find_class(self, module, name):
        mod = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)
        if (mod, name) not in SAFE_NAMES:
            raise pickle.UnpicklingError("test refuses to load %s.%s" % (module, name))
        return super().find_class(module, name)


def safe_load(path):
    with open(path, "rb") as f:
        return SafeUnpickler(f).load()


def class_name(v):
    return "%s.%s" % (type(v).__module__, type(v).__qualname__)


# ---- pkdump ----

def pkdump(path):
    r = run([mountutil.pkdump_exe(), path])
    assert r.returncode == 0, "pkdump %s: exit %d: %s" % (path, r.returncode, r.stderr)
    bad = mountutil.alarming(r.stderr.decode("utf-8", "replace"))
    assert not bad, "pkdump %s wrote alarming lines:\n%s" % (path, "\n".join(bad))
    return r.stdout


def unescape(s):
    return re.sub(rb"\\(n|t|\\|x[0-9a-f]{2})", lambda m: {
        b"n": b"\n", b"t": b"\t", b"\\": b"\\"}.get(m.group(1)) or bytes([int(m.group(1)[1:], 16)]),
        s)


def dump_files(path):
    """pkdump's files: path -> content."""
    out = {}
    for line in pkdump(path).splitlines():
        if b" = " in line:
            p, c = line.split(b" = ", 1)
            out[unescape(p).decode("utf-8", "surrogateescape")] = unescape(c)
    return out


def dump_of(data):
    with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        f.write(data)
        f.flush()
        return dump_files(f.name)


# ---- objects ----

@pytest.mark.parametrize("proto", PROTOCOLS)
def test_users(proto):
    """A list of dataclass objects: attributes are files, the class names the object."""
    path = fixture("users", proto)
    t = tree_of(path)
    users = fx.users()["users"]
    assert children(t, "users") == ["0", "1"]
    for i, u in enumerate(users):
        d = "users/%d" % i
        assert_object(t, d, "__main__.User()", "__main__.User")
        assert children(t, d) == ["__reduce__", "name", "email", "age"]  # no __args__: none
        for field in ("name", "email", "age"):
            assert content(t, d + "/" + field) == (str(getattr(u, field)) + "\n").encode()
            assert xa(t, d + "/" + field, spec_model.XA_KEY) == repr(field).encode()
    assert content(t, "users/0/name") == b"Alice\n"
    with mount(path) as mnt:
        r = run(["cat", os.path.join(mnt, "users/0/name")])
        assert r.stdout == b"Alice\n"
        r = run(["grep", "-rl", "alice@example.com", mnt])
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode().splitlines() == [os.path.join(mnt, "users/0/email")]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_states(proto):
    t = tree_of(fixture("states", proto))
    assert_object(t, "list_state", "__main__.ListState()", "__main__.ListState")
    assert children(t, "list_state") == ["__reduce__", "__state__"]
    assert content(t, "list_state/__state__/0") == b"alpha\n"
    assert content(t, "list_state/__state__/1") == b"beta\n"
    assert content(t, "str_state/__state__") == b"state as text\n"
    assert content(t, "int_state/__state__") == b"42\n"
    assert xa(t, "int_state/__state__", spec_model.XA_TYPE) == b"int"
    assert content(t, "tuple_state/__state__/1") == b"one\n"
    assert xa(t, "tuple_state/__state__", spec_model.XA_TYPE) == b"tuple"
    # (None, slots) and (dict, slots): the attributes of both are entries
    assert children(t, "slots") == ["__reduce__", "a", "b"]
    assert content(t, "slots/a") == b"1\n" and content(t, "slots/b") == b"two\n"
    assert children(t, "slots_and_dict") == ["__reduce__", "d", "s"]
    assert content(t, "slots_and_dict/d") == b"dict\n"
    assert content(t, "slots_and_dict/s") == b"slot\n"


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_items(proto):
    """__reduce__ with arguments, state, list items and dict items; list and dict subclasses
    (copyreg._reconstructor(cls, list, [...]) below protocol 2, NEWOBJ and APPENDS above)."""
    t = tree_of(fixture("items", proto))
    assert_object(t, "bag", "__main__.Bag('arg')", "__main__.Bag")
    assert children(t, "bag") == ["__reduce__", "__args__", "attr", "0", "1", "k"]
    assert content(t, "bag/__args__/0") == b"arg\n"
    assert xa(t, "bag/__args__", spec_model.XA_TYPE) == b"tuple"
    assert [content(t, "bag/" + n) for n in ("attr", "0", "1", "k")] == [b"1\n", b"10\n", b"20\n", b"v\n"]
    assert xa(t, "bag/k", spec_model.XA_KEY) == b"'k'"
    assert_object(t, "mylist", "__main__.MyList()", "__main__.MyList")
    assert children(t, "mylist") == ["__reduce__", "tag", "0", "1"]
    assert content(t, "mylist/1") == b"2\n"
    assert_object(t, "mydict", "__main__.MyDict()", "__main__.MyDict")
    assert children(t, "mydict") == ["__reduce__", "tag", "a"]
    assert content(t, "mydict/a") == b"1\n"


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_kwargs(proto):
    """NEWOBJ_EX (protocols 4, 5), functools.partial(cls.__new__, ...)() (2, 3) and
    copyreg.__newobj_ex__ (0, 1) all show cls(*args, **kwargs)."""
    t = tree_of(fixture("kwargs", proto))
    line = "__main__.PointEx(1, 2, color='red')"
    assert_object(t, "point_ex", line, "__main__.PointEx")
    assert children(t, "point_ex") == ["__reduce__", "__args__", "__kwargs__", "label"]
    assert content(t, "point_ex/__kwargs__/color") == b"red\n"
    assert xa(t, "point_ex/__kwargs__", spec_model.XA_TYPE) == b"dict"
    assert content(t, "point_ex/__args__/1") == b"2\n"
    if proto >= 2:  # __getnewargs_ex__ is used from protocol 2
        assert_object(t, "point", "__main__.Point(1, 2, color='red')", "__main__.Point")
        assert content(t, "point/__kwargs__/color") == b"red\n"
    else:  # below 2, Python pickles it as copyreg._reconstructor(cls, object, None)
        assert_object(t, "point", "__main__.Point()", "__main__.Point")
    if proto >= 4:  # the state's kwargs is the very dict NEWOBJ_EX took: a link to it
        assert entry(t, "point/kwargs")["target"] == b"__kwargs__"
    else:
        assert content(t, "point/kwargs/color") == b"red\n"


@pytest.mark.parametrize("name", ["users", "states", "items", "dicts"])
def test_same_tree_at_every_protocol(name):
    base = mountutil.normalized(tree_of(fixture(name, 5)))
    for p in range(5):
        other = mountutil.normalized(tree_of(fixture(name, p)))
        diff = [path for path in sorted(set(base) | set(other)) if base.get(path) != other.get(path)]
        assert not diff, "%s: protocol %d differs from 5 at %s: %r / %r" % (
            name, p, diff[:5], other.get(diff[0]), base.get(diff[0]))


# ---- lifted values ----

@pytest.mark.parametrize("proto", PROTOCOLS)
def test_lifted_values(proto):
    path = fixture("lifted", proto)
    want = safe_load(path)
    t = tree_of(path)
    assert list(want["values"]) == children(t, "values")
    for name, v in want["values"].items():
        p = "values/" + name
        assert content(t, p) == (str(v) + "\n").encode(), name
        assert entry(t, p)["size"] == len((str(v) + "\n").encode())
        assert xa(t, p, spec_model.XA_TYPE) == TYPE_NAMES[type(v)].encode(), name
        assert xa(t, p, XA_CLASS) == class_name(v).encode(), name
        assert xa(t, p, XA_REDUCE).startswith(class_name(v).encode() + b"("), name
    # as dict keys: named by repr(), with user.pickle.key = repr()
    assert children(t, "keys") == [repr(k) for k in want["keys"]]
    for k, v in want["keys"].items():
        assert content(t, "keys/" + repr(k)) == (v + "\n").encode()
        assert xa(t, "keys/" + repr(k), spec_model.XA_KEY) == repr(k).encode()
    # a set of dates: sorted by their text
    dates = sorted(want["dates"], key=lambda d: str(d).encode())
    assert [content(t, "dates/%d" % i) for i in range(len(dates))] == [
        (str(d) + "\n").encode() for d in dates]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_lifted_dicts(proto):
    """OrderedDict, defaultdict and Counter are dicts of their class; an OrderedDict's BUILD
    state is __state__; a defaultdict's factory is in user.pickle.reduce."""
    path = fixture("dicts", proto)
    want = safe_load(path)
    t = tree_of(path)
    for name in ("ordered", "ordered_state", "default", "default_none", "counter"):
        v = want[name]
        assert xa(t, name, spec_model.XA_TYPE) == b"dict", name
        assert xa(t, name, XA_CLASS) == class_name(v).encode(), name
        keys = list(v)
        extra = ["__state__"] if name == "ordered_state" else []
        assert children(t, name) == keys + extra, name
        for k in keys:
            if not isinstance(v[k], list):
                assert content(t, "%s/%s" % (name, k)) == (str(v[k]) + "\n").encode()
    assert content(t, "ordered_state/__state__/_metadata/version") == b"1\n"
    assert content(t, "default/x/0") == b"1\n"
    assert xa(t, "default", XA_REDUCE) == b"collections.defaultdict(builtins.list)"
    # defaultdict.__reduce__ leaves a None factory out
    assert xa(t, "default_none", XA_REDUCE) == b"collections.defaultdict()"
    assert xa(t, "ordered", XA_REDUCE) == b"collections.OrderedDict()"
    assert xa(t, "nested/0", XA_CLASS) == b"collections.OrderedDict"
    assert xa(t, "nested/0/k", XA_CLASS) == b"collections.Counter"
    assert content(t, "nested/0/k/a") == b"1\n"


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_descriptors(proto):
    t = tree_of(fixture("descriptors", proto))
    assert content(t, "pid") == b"persistent_id('doc-42')\n"
    assert xa(t, "pid", spec_model.XA_TYPE) == b"persistent_id"
    if proto >= 1:
        assert content(t, "pid_tuple") == b"persistent_id(('storage', 7))\n"
    if proto >= 2:
        for name, cls in (("ext1", "User"), ("ext2", "ListState"), ("ext4", "StrState")):
            assert content(t, name) == b"extension_code(%d)\n" % fx.EXTENSIONS[cls]
            assert xa(t, name, spec_model.XA_TYPE) == b"extension"


def test_out_of_band_buffers():
    t = tree_of(fixture("buffers_p5.pkl"))
    assert content(t, "writable") == b"out_of_band_buffer(0)\n"
    assert content(t, "readonly") == b"out_of_band_buffer(1)\n"
    assert xa(t, "readonly", spec_model.XA_TYPE) == b"buffer"


def test_python2_pickle():
    """copy_reg, __builtin__, exceptions: read as Python 3 reads them."""
    t = tree_of(fixture("py2_p0.pkl"))
    assert children(t, "od") == ["a", "b"]  # OrderedDict([['a', 1], ['b', 2]])
    assert xa(t, "od", XA_CLASS) == b"collections.OrderedDict"
    assert_object(t, "obj", "__main__.Old()", "__main__.Old")
    assert content(t, "obj/x") == b"1\n"
    assert_object(t, "err", "builtins.ValueError('bad')", "builtins.ValueError")
    assert content(t, "when") == b"2024-01-02\n"
    assert xa(t, "when", spec_model.XA_TYPE) == b"date"
    assert_object(t, "xr", "builtins.range(3)", "builtins.range")  # __builtin__.xrange


def test_python2_names_only_below_protocol_3():
    """CPython maps Python 2 names only while the protocol is below 3; so do we."""
    body = b"c__builtin__\ncomplex\n(G" + struct.pack(">d", 1.0) + b"G" + struct.pack(">d", 2.0) + b"tR."
    assert dump_of(b"\x80\x02" + body)["0"] == b"(1+2j)\n"
    files = dump_of(b"\x80\x03" + body)
    assert files["__reduce__"] == b"__builtin__.complex(1.0, 2.0)\n"


def random_values(rng):
    td = datetime.timedelta

    def tz():
        off = td(seconds=rng.randint(-86399, 86399), microseconds=rng.choice([0, rng.randint(0, 999999)]))
        if off <= -td(hours=24) or off >= td(hours=24):
            off = td(0)
        if rng.random() < 0.2:
            off = td(0)
        return datetime.timezone(off) if rng.random() < 0.7 else datetime.timezone(
            off, rng.choice(["X", "Ünï", "a b", "q'\"", ""]))

    out = []
    for _ in range(200):
        k = rng.randrange(7)
        if k == 0:
            out.append(datetime.date(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28)))
        elif k == 1:
            out.append(datetime.time(rng.randint(0, 23), rng.randint(0, 59), rng.choice([0, rng.randint(0, 59)]),
                                     rng.choice([0, rng.randint(0, 999999)]),
                                     tzinfo=rng.choice([None, tz()]), fold=rng.randint(0, 1)))
        elif k == 2:
            out.append(datetime.datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28),
                                         rng.randint(0, 23), rng.randint(0, 59), rng.choice([0, rng.randint(0, 59)]),
                                         rng.choice([0, rng.randint(0, 999999)]),
                                         tzinfo=rng.choice([None, tz()]), fold=rng.randint(0, 1)))
        elif k == 3:
            out.append(td(days=rng.choice([0, 1, -1, 2, 999999999, -999999999, rng.randint(-10**6, 10**6)]),
                          seconds=rng.choice([0, rng.randint(0, 86399)]),
                          microseconds=rng.choice([0, rng.randint(0, 999999)])))
        elif k == 4:
            out.append(tz())
        elif k == 5:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
            point = rng.randint(0, len(digits))
            s = rng.choice(["", "-"]) + digits[:point] + "." + digits[point:]
            s += rng.choice(["", "e%d" % rng.randint(-40, 40)])
            out.append(decimal.Decimal(rng.choice([s, "Infinity", "-NaN12", "sNaN"])))
        else:
            parts = [0.0, -0.0, 1.0, -2.5, 1e16, 1e-5, float("inf"), float("nan"), 123456789.123,
                     rng.uniform(-1e20, 1e20), rng.uniform(-1, 1)]
            out.append(complex(rng.choice(parts), rng.choice(parts)))
    return out


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_random_lifted_values_match_python(proto):
    """str() of random values of every lifted type, and repr() as dict key names."""
    values = random_values(random.Random(1000 + proto))
    data = pickle.dumps(values, protocol=proto)
    loaded = pickle.loads(data)
    files = dump_of(data)
    bad = ["%d: %r: %r" % (i, v, files.get(str(i))) for i, v in enumerate(loaded)
           if files.get(str(i)) != (str(v) + "\n").encode()]
    assert not bad, "str() differs:\n" + "\n".join(bad[:20])
    # NaNs are unequal to themselves: as keys, their names would collide and get ~1
    keys = {v: i for i, v in enumerate(loaded) if not (
        (isinstance(v, decimal.Decimal) and v.is_nan()) or (isinstance(v, complex) and v != v))}
    files = dump_of(pickle.dumps(keys, protocol=proto))
    names = {k.replace("\\x2f", "/"): v for k, v in files.items()}
    bad = ["%r" % k for k, i in keys.items() if names.get(repr(k)) != b"%d\n" % i]
    assert not bad, "repr() differs:\n" + "\n".join(bad[:20])


DECIMAL_TEXTS = ["0", "00", "-0.000", "12.3400", "1e5", "1E-7", "5E-6", "5E-7", "inf", "-Infinity",
                 "INFINITY", "nan", "NaN007", "-sNaN", "snan0", "  7.5  ", "+.5", "1.",
                 "123456789e-20", "0e10", "-0E+3", "000123.4500e2", ".000", "1.e1", "100e-2",
                 "\x1c5\x1f", "1" + "0" * 40 + "e-45"]


@pytest.mark.parametrize("text", DECIMAL_TEXTS, ids=repr)
def test_decimal_text_is_canonical(text):
    """A hand-written Decimal('...') shows str(Decimal('...')), not its argument."""
    e = text.encode()
    files = dump_of(b"cdecimal\nDecimal\n(X" + struct.pack("<I", len(e)) + e + b"tR.")
    assert files == {"0": (str(decimal.Decimal(text)) + "\n").encode()}


# ---- calls of unexpected shapes ----

def reduce_pickle(module, name, args):
    """module.name(*args) at protocol 2, args already encoded as opcodes after the MARK."""
    return b"\x80\x02c" + module + b"\n" + name + b"\n(" + args + b"tR."


@pytest.mark.parametrize("data,line", [
    (reduce_pickle(b"datetime", b"date", b"K\x07K\x01K\x02"), "datetime.date(7, 1, 2)"),
    (reduce_pickle(b"datetime", b"date", b"C\x03abc"), "datetime.date(b'abc')"),
    (reduce_pickle(b"datetime", b"date", b"C\x04\x07\xe8\x0d\x01"),  # month 13
     "datetime.date(b'\\x07\\xe8\\r\\x01')"),
    (reduce_pickle(b"datetime", b"time", b"C\x06\x18\x00\x00\x00\x00\x00"),  # hour 24
     "datetime.time(b'\\x18\\x00\\x00\\x00\\x00\\x00')"),
    (reduce_pickle(b"datetime", b"timedelta", b"G?\xf0\x00\x00\x00\x00\x00\x00"),  # a float
     "datetime.timedelta(1.0)"),
    (reduce_pickle(b"datetime", b"timezone", b"cdatetime\ntimedelta\n(K\x01tR"),  # a whole day
     "datetime.timezone(datetime.timedelta(days=1))"),
    (reduce_pickle(b"decimal", b"Decimal", b"X\x05\x00\x00\x001_000"), "decimal.Decimal('1_000')"),
    (reduce_pickle(b"builtins", b"complex", b"X\x04\x00\x00\x001+2j"), "builtins.complex('1+2j')"),
    (reduce_pickle(b"collections", b"Counter", b"X\x03\x00\x00\x00aab"), "collections.Counter('aab')"),
    (reduce_pickle(b"collections", b"OrderedDict", b"]]]K\x01aaK\x02aa"),  # an unhashable key
     "collections.OrderedDict([[[1], 2]])"),
    (reduce_pickle(b"copyreg", b"_reconstructor", b"c__main__\nX\ncsubprocess\nPopen\nN"),
     "copyreg._reconstructor(__main__.X, subprocess.Popen, None)"),
    (reduce_pickle(b"copyreg", b"__newobj__", b"X\x01\x00\x00\x00x"), "copyreg.__newobj__('x')"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_unexpected_shapes_stay_objects(data, line):
    files = dump_of(data)
    assert files.get("__reduce__") == (line + "\n").encode(), files


def test_keyword_arguments_that_are_not_identifiers():
    """NEWOBJ_EX with a key no identifier: the line stays Python syntax."""
    data = (b"\x80\x04\x8c\x01m\x8c\x01C\x93)}(\x8c\x03a b\x94K\x01\x8c\x02ok\x94K\x02u\x92.")
    files = dump_of(data)
    assert files["__reduce__"] == b"m.C(**{'a b': 1}, ok=2)\n"
    assert files["__kwargs__/a b"] == b"1\n"


def test_reconstructor_class_is_its_first_argument():
    data = reduce_pickle(b"copyreg", b"_reconstructor", b"c__main__\nX\ncsubprocess\nPopen\nN")
    with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        f.write(data)
        f.flush()
        t = tree_of(f.name)
        _trees.pop(f.name)
    assert xa(t, "", XA_CLASS) == b"__main__.X"
    assert xa(t, "", spec_model.XA_TYPE) == b"object"


# ---- malicious pickles ----

MALICIOUS = list(fx.malicious_files())


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@pytest.mark.parametrize("name,proto,fn,cmd,path", MALICIOUS, ids=[m[2] for m in MALICIOUS])
def test_malicious_pickle_stays_inert(name, proto, fn, cmd, path):
    file = fixture(fn)
    remove(path)
    t = tree_of(file)  # mounts, reads every file and every xattr, unmounts
    assert not os.path.exists(path), "mounting %s created %s" % (fn, path)
    pkdump(file)
    assert not os.path.exists(path), "pkdump %s created %s" % (fn, path)
    where = fx.MALICIOUS[name][3]
    line = fx.MALICIOUS[name][4].format(cmd=cmd, path=path)
    red = where + "/__reduce__" if where else "__reduce__"
    assert content(t, red) == (line + "\n").encode()
    assert xa(t, where, spec_model.XA_TYPE) == b"object"
    for e in t.values():
        if e["kind"] == "file":
            assert e["size"] == len(e["content"])


@pytest.mark.parametrize("name,proto,fn,cmd,path", MALICIOUS, ids=[m[2] for m in MALICIOUS])
def test_malicious_fixture_runs_under_python(name, proto, fn, cmd, path):
    """Control: CPython's own pickle.load does create the canary, so the test above means
    something. Run in a child process; the payload only touches the canary."""
    remove(path)
    subprocess.run([sys.executable, "-c", "import pickle, sys\ntry:\n"
                    "    pickle.load(open(sys.argv[1], 'rb'))\nexcept Exception:\n    pass",
                    fixture(fn)], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)  # subprocess.Popen's touch runs on its own
    try:
        assert os.path.exists(path), "python did not run %s" % fn
    finally:
        remove(path)


# ---- bounded work ----

def repeated_calls(glob, arg, n):
    """glob(arg) n times, arg memoized once: a few bytes per call asking for a copy of arg."""
    return (b"\x80\x02" + glob + b"q\x00" + arg + b"q\x01" + b"0" + b"h\x00h\x01\x85R0" * n + b"N.")


@pytest.mark.parametrize("glob,arg", [
    (b"cbuiltins\nset\n", b"(" + b"K\x01" * 100000 + b"l"),
    (b"ccollections\nOrderedDict\n", b"(" + b"K\x01K\x02\x86" * 50000 + b"l"),
    (b"ccollections\nCounter\n", b"}(" + b"".join(b"M" + struct.pack("<H", i) + b"N" for i in range(50000)) + b"u"),
    (b"ccopyreg\n__newobj__\n", b"(c__main__\nC\n" + b"N" * 100000 + b"t"),
], ids=["set", "OrderedDict", "Counter", "__newobj__"])
def test_lifting_copies_are_bounded(glob, arg):
    """100,000 calls each lifting a copy of one 100,000-item argument would be 10^10 links: the
    copies stop at a few links per byte of the file, and the rest stay opaque objects. The
    calls are popped, so they are listed in __calls__ (a dump of them all would be 400 MB of
    __reduce__ lines: the mount shows them without rendering them)."""
    n = 100000
    with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
        f.write(repeated_calls(glob, arg, n))
        f.flush()
        with mount(f.name) as mnt:
            assert sorted(os.listdir(mnt)) == ["0", "__calls__"]
            calls = os.path.join(mnt, "__calls__")
            assert len(os.listdir(calls)) == n
            last = os.path.join(calls, str(n - 1))
            assert os.getxattr(last, "user.pickle.type") == b"object"
            # its REDUCE: the last opcodes are REDUCE, POP, NONE, STOP
            assert int(os.getxattr(last, "user.pickle.offset")) == os.path.getsize(f.name) - 4
