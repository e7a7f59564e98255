#!/usr/bin/python3
"""make_pandas_fixtures.py: write tests/fixtures/pandas/*.pkl with Debian's pandas, and
expect.json, what pandas.read_pickle returns for each, so that test_pandas.py needs no pandas.

    /usr/bin/python3 tests/make_pandas_fixtures.py

For each fixture, expect.json holds its kind (frame, series, index, objects) and:
- a frame: its columns in order, each {entry: the entry name the mount gives it, dtype:
  str(dtype), cells: its values as test_pandas.py reads them back}, and its index the same way;
- a series: values, index, name and dtype;
- an index: its cells.
A cell is written as the mount shows it: ints and bools as Python ints and bools, floats as
floats (NaN as the string "nan"), datetimes and timedeltas as numpy prints a datetime64[ns]
(and as int nanoseconds), strs as they are, anything else by repr().
"""

import copyreg
import json
import os
import pickle
import re
import sys
import zlib

import numpy as np
import pandas as pd
from pandas.core.internals.managers import BlockManager, SingleBlockManager

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pandas")
EXPECT = {}


def entry_names(labels):
    """The names the mount gives dict keys: a str that is a valid file name as it is, anything
    else by repr(); a name taken already gets ~1, ~2, ..."""
    out, taken = [], set()
    for label in labels:
        valid = isinstance(label, str) and label not in ("", ".", "..") and "/" not in label \
            and "\0" not in label and len(label.encode()) <= 255
        name = label if valid else repr(label).replace("/", "\\x2f").replace("\0", "\\x00")
        base, k = name, 0
        while name in taken:
            k += 1
            name = "%s~%d" % (base, k)
        taken.add(name)
        out.append(name)
    return out


def cell(v, dtype):
    """A value as test_pandas.py reads it back from the mount."""
    kind = getattr(dtype, "kind", "O")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return str(np.datetime64(v.tz_convert("UTC").tz_localize(None), "ns"))
    if kind == "M":
        return str(np.datetime64(v, "ns"))
    if kind == "m":
        return int(pd.Timedelta(v).value)
    if kind == "b":
        return bool(v)
    if kind in "iu":
        return int(v)
    if kind == "f":
        return "nan" if v != v else float(v)
    # object and category columns: one value a line
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v != v:
        return "nan"
    return repr(v)


def index_expect(index):
    if isinstance(index, pd.RangeIndex):
        return {"range": "RangeIndex(start=%d, stop=%d, step=%d)" % (index.start, index.stop, index.step)}
    return {"dtype": str(index.dtype), "cells": [cell(v, index.dtype) for v in index]}


def state_layout(mgr):
    """A BlockManager as pandas before 1.4 pickled it, __new__ + BUILD of the state that
    pandas 1.5's BlockManager.__setstate__ still reads: (axes, values, items, {'0.14.1':
    {'axes': axes, 'blocks': [{'values': ..., 'mgr_locs': ...}]}}), the state pandas 1.5 still
    writes for a Series's SingleBlockManager."""
    return (copyreg.__newobj__, (BlockManager,), SingleBlockManager.__getstate__(mgr))


def write(name, obj, protocol=5, old_layout=False):
    with open(os.path.join(OUT, name), "wb") as f:
        p = pickle.Pickler(f, protocol=protocol)
        if old_layout:
            p.dispatch_table = copyreg.dispatch_table.copy()
            p.dispatch_table[BlockManager] = state_layout
        p.dump(obj)
    back = pd.read_pickle(os.path.join(OUT, name))
    if isinstance(back, pd.DataFrame):
        names = entry_names(list(back.columns))
        EXPECT[name] = {
            "kind": "frame", "class": "pandas.core.frame.DataFrame", "rows": len(back),
            "index": index_expect(back.index), "index_names": list(back.index.names),
            "columns": [{"entry": e, "dtype": str(back.dtypes.iloc[i]),
                         "cells": [cell(v, back.dtypes.iloc[i]) for v in back.iloc[:, i]]}
                        for i, e in enumerate(names)],
        }
    elif isinstance(back, pd.Series):
        EXPECT[name] = {"kind": "series", "class": "pandas.core.series.Series",
                        "name": back.name, "dtype": str(back.dtype),
                        "cells": [cell(v, back.dtype) for v in back], "index": index_expect(back.index)}
    else:
        EXPECT[name] = {"kind": "index", **index_expect(back)}


class Canary:
    """Pickles as a call of os.system, which nothing may run."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/picklefs-canary-pandas",))


def write_raw(name, obj):
    with open(os.path.join(OUT, name), "wb") as f:
        pickle.dump(obj, f, protocol=5)


def main():
    os.makedirs(OUT, exist_ok=True)
    kinds = pd.DataFrame({
        "ints": [1, -2, 3, 40],
        "floats": [1.5, float("nan"), -0.25, 1e300],
        "strs": ["alpha", "beta gamma", "", "line\nbreak"],
        "mixed": ["x", 1, None, 2.5],
        "cat": pd.Categorical(["p", "q", "p", None]),
        "when": pd.date_range("2024-01-01 03:04:05", periods=4, freq="D"),
        "paris": pd.date_range("2024-03-30", periods=4, freq="D", tz="Europe/Paris"),
        "utc": pd.date_range("2024-01-01", periods=4, freq="H", tz="UTC"),
        "delta": pd.to_timedelta([1, 2, 3, 86400], unit="s"),
        "flags": [True, False, True, True],
        "ints2": np.array([7, 8, 9, 10], dtype="int32"),
    })
    write("kinds_p5.pkl", kinds)
    write("kinds_p2.pkl", kinds, protocol=2)
    write("kinds_state_p2.pkl", kinds, protocol=2, old_layout=True)
    write("series_p5.pkl", pd.Series([1.0, 2.5, -3.0], name="x",
                                     index=pd.date_range("2024-01-01", periods=3, freq="D")))
    write("series_obj_p5.pkl", pd.Series(["a", "b"], index=[10, 20]))
    write("index_p5.pkl", pd.Index(["north", "south", "east"]))
    write("multi_p5.pkl", pd.DataFrame(
        {"v": [1.0, 2.0, 3.0]},
        index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["k", "n"])))
    named = pd.DataFrame({"d": pd.date_range("2024-01-01", periods=3, freq="D"),
                          "v": [1.0, 2.0, 3.0], "k": ["a", "b", "c"]}).set_index("d")
    write("named_index_p5.pkl", named)
    write("named_str_index_p5.pkl", pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", "y"], name="key")))
    dup = pd.DataFrame([[1, 2, 3, 4, 5]], columns=["a", "a", 7, "x/y", ("t", 1)])
    write("dupcols_p5.pkl", dup)
    write("empty_p5.pkl", pd.DataFrame())
    long = pd.DataFrame({"n": np.arange(1500), "s": ["row%d" % i for i in range(1500)]})
    write("long_p5.pkl", long)
    # blocks that lie about their lengths: the index says 4 rows, the block holds 3
    good = pickle.dumps(pd.DataFrame({"a": [1, 2, 3]}), protocol=4)
    assert good.count(b"stop\x94K\x03") == 1
    with open(os.path.join(OUT, "lying_lengths.pkl"), "wb") as f:
        f.write(good.replace(b"stop\x94K\x03", b"stop\x94K\x04"))
    EXPECT["lying_lengths.pkl"] = {"kind": "objects"}
    # a placement that names a column twice: slice(0, 1) becomes slice(0, 2) over 1 column... of 2
    two = pickle.dumps(pd.DataFrame({"a": [1, 2], "b": [1.5, 2.5]}), protocol=4)
    assert two.count(b"K\x00K\x01K\x01\x87") == 1 and two.count(b"K\x01K\x02K\x01\x87") == 1
    with open(os.path.join(OUT, "overlap.pkl"), "wb") as f:
        f.write(two.replace(b"K\x01K\x02K\x01\x87", b"K\x00K\x02K\x01\x87"))
    EXPECT["overlap.pkl"] = {"kind": "objects"}
    # a RangeIndex of 2**31 - 1 columns over a frame of one: stays objects, never refused
    one = pickle.dumps(pd.DataFrame(np.array([[1], [2], [3]])), protocol=2)
    stops = re.findall(rb"stopq.K\x01", one, re.S)  # the columns' RangeIndex(0, 1)
    assert len(stops) == 1, one
    with open(os.path.join(OUT, "huge_range.pkl"), "wb") as f:
        f.write(one.replace(stops[0], stops[0][:-2] + b"J\xff\xff\xff\x7f"))
    EXPECT["huge_range.pkl"] = {"kind": "objects"}
    # a call in a column of objects: the frame stays objects, the call a directory of its own
    write_raw("call_in_column.pkl", pd.DataFrame({"s": ["x", Canary()]}))
    EXPECT["call_in_column.pkl"] = {"kind": "objects"}
    # structured arrays, whose summaries wrap at 75 columns: a tree's nodes, and wide records
    nodes = np.zeros(5, dtype=[("left_child", "<i8"), ("right_child", "<i8"), ("feature", "<i8"),
                               ("threshold", "<f8"), ("impurity", "<f8"), ("n_node_samples", "<i8"),
                               ("weighted_n_node_samples", "<f8"), ("missing_go_to_left", "u1")])
    nodes["left_child"] = [1, 3, -1, -1, -1]
    nodes["threshold"] = [0.5, -1.25, -2.0, -2.0, -2.0]
    nodes["impurity"] = [0.5, 0.375, 0.0, 0.0, 1 / 3]
    wide = np.zeros(3, dtype=[("f%d" % i, "<f8") for i in range(12)])
    wide["f3"] = [1 / 3, 2 / 3, 1 / 7]
    for name, a in (("records8_p4.pkl", nodes), ("records_wide_p4.pkl", wide)):
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump(a, f, protocol=4)
        EXPECT[name] = {"kind": "records", "names": list(a.dtype.names), "rows": a.tolist(),
                        "crc32": zlib.crc32(a.tobytes())}
    with open(os.path.join(OUT, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(EXPECT, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
