#!/usr/bin/python3
"""make_fixtures.py: write the fixture pickles that the mount tests compare with spec_model.py.

Run it from anywhere with /usr/bin/python3 (standard library only):

    /usr/bin/python3 tests/make_fixtures.py

It writes tests/fixtures/core/NAME_pN.pkl for every fixture NAME at every protocol N in 0..5,
a few files that are not per-protocol (several pickles of different protocols back to back), and
tests/fixtures/demo.pkl, the example of the README. The output is deterministic: set iteration
order depends on string hashing, so the script re-runs itself with PYTHONHASHSEED=0. The files
are committed; re-run the script only when a fixture is added or changed.

Each fixture exercises one part of docs/CONTRACT.md; the comment next to it says which. Values
that the contract renders alike under two rules (True == 1, -0.0 == 0 as dict keys) are kept in
separate dicts so that Python does not merge them.
"""

import os
import pickle
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join(HERE, "fixtures", "core")
PROTOCOLS = range(0, 6)


def nested():
    """Containers inside containers, several levels deep, and one findable string."""
    return {
        "name": "nested",
        "level1": {"level2": {"level3": [1, [2, [3, (4, (5, {"deep": "needle-42"}))]]]}},
        "list_of_dicts": [{"a": 1}, {"b": [True, None]}, {}],
        "tuple": (1, "two", 3.0, (), [], {}),
        "list": ["x", ["y", ["z"]], ("t",)],
        "empty_dict": {},
        "empty_list": [],
        "empty_tuple": (),
    }


def scalars():
    """Every scalar edge: each pickling of ints, floats, strings and bytes, at each size class."""
    return {
        "neg_zero": -0.0,
        "nan": float("nan"),
        "inf": float("inf"),
        "neg_inf": float("-inf"),
        "big_float": 1e16,
        "small_float": 1e-05,
        "tenth": 0.1,
        "denormal": 5e-324,
        "max_float": 1.7976931348623157e308,
        "one_float": 1.0,
        "hundred_float": 100.0,
        "minus_one_and_half": -1.5,
        "e15": 1e15,
        "e22": 1e22,
        "e_minus_4": 0.0001,
        "third": 1 / 3,
        "point_three": 0.1 + 0.2,
        "two_53": 2.0**53,
        "seventeen_digits": 1.2345678901234568e17,
        "denormal_e_minus_320": 1e-320,
        "min_normal": 2.2250738585072014e-308,
        "two_64": 2**64,
        "neg_two_64": -(2**64),
        "int64_max": 2**63 - 1,
        "int64_min": -(2**63),
        "huge_neg": -(10**400),
        "huge_pos": 10**400 + 1,
        "zero": 0,
        "minus_one": -1,
        "u8_max": 255,
        "u8_max_plus_1": 256,
        "u16_max": 65535,
        "u16_max_plus_1": 65536,
        "two_31": 2**31,
        "i32_max": 2**31 - 1,
        "i32_min": -(2**31),
        "i32_min_minus_1": -(2**31) - 1,
        "true": True,
        "false": False,
        "none": None,
        "empty_str": "",
        "e_acute": "\u00e9",
        "nihon": "\u65e5\u672c",
        "lone_surrogate": "\ud800",
        "surrogate_in_text": "a\udfffb",
        "nul": "a\x00b",
        "newline": "a\nb",
        "backslash": "a\\b",
        "crlf": "\r\n",
        "ctrl_z": "\x1a",
        "emoji": "\U0001f600",
        "str_300": "s" * 300,
        "all_bytes": bytes(range(256)),
        "empty_bytes": b"",
        "bytes_300": b"z" * 300,
        "bytes_20000": bytes(i % 251 for i in range(20000)),
        "bytearray": bytearray(b"xy"),
        "empty_bytearray": bytearray(),
        "bytearray_all": bytearray(range(256)),
    }


def keys():
    """Dict keys that are not valid file names, or are not strings (no two collide)."""
    d = {}
    d[""] = "empty"
    d["."] = "dot"
    d[".."] = "dotdot"
    d["a/b"] = "slash"
    d["/"] = "only slash"
    d["x" * 300] = "long"
    d["y" * 255] = "255 bytes, valid"
    d["\u00e9" * 127] = "254 bytes, valid"
    d["\u00e9" * 128] = "256 bytes, invalid"
    d["a\x00b"] = "nul"
    d["line\nbreak"] = "newline"
    d["\ud800"] = "lone surrogate"
    d["\u65e5\u672c"] = "nihon"
    d["...."] = "four dots, valid"
    d[" "] = "space, valid"
    d[1] = "int"
    d[2.5] = "float"
    d[float("inf")] = "inf"
    d[None] = "none"
    d[(1, 2)] = "tuple"
    d[()] = "empty tuple"
    d[b"k"] = "bytes"
    d[b"a/b"] = "bytes with slash"
    d[10**300] = "301-digit int"
    d[b"\xff" * 100] = "long bytes"
    d[frozenset({7})] = "frozenset"
    d[False] = "false"
    d["sub"] = {"x": 1}
    return d


def collisions():
    """Keys whose names collide: the later ones get ~1, ~2, ... (first free, in entry order)."""
    return {
        "str_then_int": {"1": "a", 1: "b"},
        "int_then_str": {1: "a", "1": "b"},
        "chain": {"1": "a", "1~1": "b", 1: "c"},
        "chain2": {1: "a", "1": "b", "1~1": "c"},
        "none_chain": {"None": 1, "None~1": 2, None: 3, "None~2": 4},
        "tuple": {(1, 2): 1, "(1, 2)": 2},
        "bytes": {b"k": 1, "b'k'": 2},
        "float": {2.5: 1, "2.5": 2},
        "bool": {True: 1, "True": 2},
        "escaped": {"a/b": 1, "'a\\x2fb'": 2},
        "dot": {".": 1, "'.'": 2},
        "empty": {"": 1, "''": 2},
        "truncated": {"x" * 300: 1, "x" * 301: 2, "x" * 302: 3},
        "three": {"k": 1, b"k": 2, "b'k'": 3, "b'k'~1": 4},
        # directories past the size that is scanned, and past the one that is hashed
        "mid": {k: i for i in range(20) for k in (i, str(i), "%d~1" % i)},
        "wide": {k: i for i in range(400) for k in (i, str(i))},
    }


def sets():
    """Sets and frozensets: elements sorted by rendering, so equal sets mount equal."""
    a = set()
    for i in (1, 9, 17):
        a.add(i)
    b = set()
    for i in (17, 9, 1):
        b.add(i)
    assert a == b and list(a) != list(b), "pick values whose set order depends on insertion"
    return {
        "ints": {3, 1, 2, -1, 10, 100},
        "order_a": a,
        "order_b": b,
        "strs_a": {"apple", "banana", "cherry"},
        "strs_b": set(["cherry", "apple", "banana"]),
        "mixed": {1, "1", 2.5, None, b"k", (1, 2), frozenset({3, "a"}), -1, "", "\u00e9",
                  b"", b"a\n", "a", "True", False, b"1\n", "(1, 2)"},
        "frozen": frozenset({"b", "a", "c"}),
        "nested_frozen": {frozenset({1, frozenset({2, 3})}), frozenset({"z"})},
        "tuples": {(1, "a"), (0, "b"), ("z",), ()},
        "floats": {0.1, -0.0, 1e16, float("inf")},
        "empty_set": set(),
        "empty_frozenset": frozenset(),
        "in_list": [{2, 1}, frozenset({4, 3})],
    }


def set_ties():
    """None, 'None' and b'None\\n' render alike: the tie is broken by Python type name
    (NoneType < bytes < str). Kept apart because it is the one place where ordering by the
    xattr type name ('none') would give a different order."""
    return {"ties": {None, "None", b"None\n"}}


def shared():
    """Containers reached twice are symlinks to their first place; leaves are copies."""
    lst = [1, 2]
    dct = {"k": "v"}
    tup = (3, [4])
    fro = frozenset({5})
    st = {6}
    empty = []
    s = "shared string " + "x" * 10
    b = b"shared bytes"
    ba = bytearray(b"shared bytearray")
    return {
        "first": lst,
        "second": lst,
        "d1": dct,
        "inner": {"d2": dct, "deeper": [dct, lst, [lst]]},
        "t1": tup,
        "t2": tup,
        "t_inner_list": tup[1],
        "f1": fro,
        "f2": fro,
        "s1": st,
        "s2": st,
        "e1": empty,
        "e2": empty,
        "str1": s,
        "str2": s,
        "b1": b,
        "b2": b,
        "ba1": ba,
        "ba2": ba,
        "et1": (),
        "et2": (),
    }


def shared_sets():
    """A tuple first pickled at the top of a set but placed deeper by the set's sorted order:
    the link points to the first place in the tree, not to the first place in the stream."""
    t0 = (1, 2)
    return {"s": {t0, (0, t0)}, "after": t0}


def cycles():
    """A list and a dict that contain themselves, and a link back to the root."""
    lst = []
    lst.append(lst)
    lst.append(1)
    dct = {}
    dct["self"] = dct
    dct["x"] = 1
    root = {"list": lst, "dict": dct, "both": [lst, dct], "deep": {"a": {"b": None}}}
    root["deep"]["a"]["b"] = root
    return root


def cycle_root():
    """L = [L]: the root's only entry is a link to the root itself, '.'."""
    lst = []
    lst.append(lst)
    return lst


def empties():
    return [[], {}, (), set(), frozenset(), "", b"", bytearray()]


def empty_root():
    return {}


def tuple_root():
    return (1, [2, 3], "x", (None,))


def frozenset_root():
    return frozenset({"a", 1, (2,), b"b"})


SINGLE = {
    "nested": nested,
    "scalars": scalars,
    "keys": keys,
    "collisions": collisions,
    "sets": sets,
    "set_ties": set_ties,
    "shared": shared,
    "shared_sets": shared_sets,
    "cycles": cycles,
    "cycle_root": cycle_root,
    "empties": empties,
    "empty_root": empty_root,
    "tuple_root": tuple_root,
    "frozenset_root": frozenset_root,
}

# Files whose root is an indexed folder: one scalar, or several pickles back to back.
STREAMS = {
    "scalar": lambda: ["just a string"],
    "scalar_int": lambda: [-(10**400)],
    "scalar_bytes": lambda: [b"\x00raw\xff"],
    "multi": lambda: [[1, {"a": 2}], "two", 3],
    "multi2": lambda: [{"x": 1}, [2]],
    "multi_scalars": lambda: [None, 1.5],
}


def demo():
    # The README's examples run on this file: keep them true when it changes (its `grep -rl`
    # finds the owner's address; admins/0 is the dict users/0, so it mounts as a symlink).
    ada = {"name": "Ada Lovelace", "email": "ada@example.org", "age": 36}
    return {
        "users": [
            ada,
            {"name": "Alan Turing", "email": "alan@example.org", "age": 41},
            {"name": "Grace Hopper", "email": "grace@example.org", "age": 85},
        ],
        "config": {
            "version": 3,
            "owner": "alice@example.com",
            "admins": [ada],
            "debug": False,
            "ratio": 0.75,
            "database": {"host": "localhost", "port": 5432, "options": None},
            "features": ["search", "export", "share"],
            "limits": (10, 100, 1000),
        },
    }


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.makedirs(CORE, exist_ok=True)
    names = []
    for name, make in SINGLE.items():
        for p in PROTOCOLS:
            fn = "%s_p%d.pkl" % (name, p)
            write(os.path.join(CORE, fn), pickle.dumps(make(), protocol=p))
            names.append(fn)
    for name, make in STREAMS.items():
        for p in PROTOCOLS:
            fn = "%s_p%d.pkl" % (name, p)
            write(os.path.join(CORE, fn), b"".join(pickle.dumps(o, protocol=p) for o in make()))
            names.append(fn)
    # Several pickles of different protocols in one file.
    mixed = [(0, {"p": 0}), (5, ["p5", 5]), (2, "p2"), (4, (4,))]
    write(os.path.join(CORE, "multi_mixed.pkl"), b"".join(pickle.dumps(o, protocol=p) for p, o in mixed))
    names.append("multi_mixed.pkl")
    stale = set(os.listdir(CORE)) - set(names)
    for fn in stale:
        os.unlink(os.path.join(CORE, fn))
    write(os.path.join(HERE, "fixtures", "demo.pkl"), pickle.dumps(demo(), protocol=4))
    print("wrote %d fixtures to %s and demo.pkl" % (len(names), CORE))


if __name__ == "__main__":
    main()
