"""test_pandas.py: pandas DataFrames, Series and Indexes mounted as tables, through real FUSE.

Run with `meson test -C build pandas` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_pandas.py

The fixtures (tests/fixtures/pandas) were pickled by Debian's pandas 1.5
(tests/make_pandas_fixtures.py), which wrote expect.json from pandas.read_pickle of each. What
is checked, cell by cell against it:
- a frame is a directory of its columns named as dict keys are (duplicates ~1, non-str names
  by repr), then __index__, __dtypes__ and __table__; a column of numbers, bools, datetimes
  (naive, Europe/Paris and UTC, shown as their UTC instants) or timedeltas is an array summary,
  a column of objects or categories one value a line; at protocols 5 and 2, and with the
  manager in the state layout of pandas before 1.4 ('0.14.1'), which a Series still uses;
- __dtypes__ names each column's dtype as pandas does; __table__ has a header and a line a
  row, and a long frame's first and last 30 rows around "...";
- a Series is values, index, name, dtype; an Index alone is its values; a MultiIndex a column
  of tuples; an empty frame mounts;
- user.pickle.class of a frame still names pandas.core.frame.DataFrame;
- a frame whose blocks lie about their length, or claim a column twice, or whose columns are a
  RangeIndex of 2**31 - 1, or that holds a call (os.system) in a column of objects, stays the
  objects pandas's reduce built, the call a directory whose __reduce__ grep finds;
- a structured array's summary (a tree's nodes, records of 12 fields) wraps its header and its
  records at 75 columns, and still reads back as its dtype, crc32 and values.
"""

import ast
import json
import os
import re
import subprocess

import pytest

import mountutil
from mountutil import mount

PD = os.path.join(mountutil.FIXTURES, "pandas")
with open(os.path.join(PD, "expect.json"), encoding="utf-8") as _f:
    EXPECT = json.load(_f)


def fx(name):
    return os.path.join(PD, name)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def parse_scalar(tok):
    tok = tok.strip()
    if tok.startswith("'"):
        return tok.strip("'")
    if tok in ("True", "False"):
        return tok == "True"
    if tok == "nan":
        return "nan"
    try:
        return int(tok)
    except ValueError:
        return float(tok)


def array_cells(text):
    """The values of an array summary: header, maybe statistics, then numpy's list."""
    lines = text.splitlines()
    assert lines[0].startswith("ndarray dtype=")
    body = lines[2:] if len(lines) > 1 and lines[1].startswith("min=") else lines[1:]
    inner = " ".join(body).strip()
    assert inner.startswith("[") and inner.endswith("]")
    return [parse_scalar(t) for t in inner[1:-1].split(",") if t.strip()]


def column_cells(text, dtype):
    """The values of a column of objects: a header 'DTYPE length=N', then one a line."""
    lines = text.split("\n")
    assert lines[-1] == ""
    assert lines[0] == "%s length=%d" % (dtype, len(lines) - 2)
    return [line.replace("\\n", "\n") for line in lines[1:-1]]


def cells(text, dtype):
    if dtype in ("object", "category"):
        return column_cells(text, dtype)
    return array_cells(text)


def check_index(path, want):
    text = read(path)
    if "range" in want:
        assert text == want["range"] + "\n"
    else:
        assert cells(text, want["dtype"]) == want["cells"]


FRAMES = sorted(k for k, v in EXPECT.items() if v["kind"] == "frame" and k != "long_p5.pkl")


@pytest.mark.parametrize("fn", FRAMES)
def test_frame_cells(fn):
    want = EXPECT[fn]
    with mount(fx(fn)) as mnt:
        names = [c["entry"] for c in want["columns"]]
        assert os.listdir(mnt) and sorted(os.listdir(mnt)) == sorted(
            names + ["__index__", "__dtypes__", "__table__"])
        assert os.getxattr(mnt, "user.pickle.class") == b"pandas.core.frame.DataFrame"
        for col in want["columns"]:
            assert cells(read(os.path.join(mnt, col["entry"])), col["dtype"]) == col["cells"], col
        check_index(os.path.join(mnt, "__index__"), want["index"])
        dtypes = read(os.path.join(mnt, "__dtypes__"))
        assert len(dtypes.splitlines()) == max(len(want["columns"]), 1)
        for line, col in zip(dtypes.splitlines(), want["columns"]):
            assert line.endswith(" " + col["dtype"])
        table = read(os.path.join(mnt, "__table__")).splitlines()
        names = want["index_names"]
        named = any(n is not None for n in names)
        assert len(table) == (want["rows"] + 1 + named if want["columns"] else 1)
        if named:  # the index's name on the line under the header, as pandas prints it
            assert table[1] == (names[0] if len(names) == 1 else repr(names)), table


def test_dtypes_as_pandas_prints_them():
    with mount(fx("kinds_p5.pkl")) as mnt:
        lines = read(os.path.join(mnt, "__dtypes__")).splitlines()
    want = EXPECT["kinds_p5.pkl"]["columns"]
    assert len(lines) == len(want)
    for line, col in zip(lines, want):
        assert line.startswith(col["entry"] + " ") and line.endswith(" " + col["dtype"])
    assert len({len(line) for line in lines}) == 1  # aligned


def test_table_reads_like_pandas():
    with mount(fx("kinds_p5.pkl")) as mnt:
        table = read(os.path.join(mnt, "__table__")).splitlines()
    header = table[0].split()
    assert header == [c["entry"] for c in EXPECT["kinds_p5.pkl"]["columns"]]
    assert table[1].split()[:3] == ["0", "1", "1.5"]
    assert "2024-03-29T23:00:00.000000000" in table[1]
    assert len({len(line) for line in table}) == 1  # every line as wide: aligned


def test_long_frame_is_bounded():
    want = EXPECT["long_p5.pkl"]
    with mount(fx("long_p5.pkl")) as mnt:
        table = read(os.path.join(mnt, "__table__")).splitlines()
        s = read(os.path.join(mnt, "s")).split("\n")
        n = read(os.path.join(mnt, "n"))
    assert len(table) == 1 + 60 + 1 and table[31] == "..."
    assert table[1].split() == ["0", "0", "row0"] and table[-1].split() == ["1499", "1499", "row1499"]
    # a column of objects: the first and last 500 of its 1500 values
    assert s[0] == "object length=1500" and s[501] == "..." and len(s) == 1 + 1000 + 1 + 1
    assert s[1:501] == want["columns"][1]["cells"][:500]
    assert s[502:-1] == want["columns"][1]["cells"][-500:]
    assert n.startswith("ndarray dtype=int64 shape=(1500,)")


@pytest.mark.parametrize("other", ["kinds_p2.pkl", "kinds_state_p2.pkl"])
def test_protocols_and_layouts_mount_alike(other):
    with mount(fx("kinds_p5.pkl")) as a, mount(fx(other)) as b:
        assert sorted(os.listdir(a)) == sorted(os.listdir(b))
        for name in sorted(os.listdir(a)):
            assert read(os.path.join(a, name)) == read(os.path.join(b, name)), name


@pytest.mark.parametrize("fn", sorted(k for k, v in EXPECT.items() if v["kind"] == "series"))
def test_series(fn):
    want = EXPECT[fn]
    with mount(fx(fn)) as mnt:
        assert sorted(os.listdir(mnt)) == ["dtype", "index", "name", "values"]
        assert os.getxattr(mnt, "user.pickle.class") == b"pandas.core.series.Series"
        assert read(os.path.join(mnt, "dtype")) == want["dtype"] + "\n"
        assert read(os.path.join(mnt, "name")) == ("None" if want["name"] is None else want["name"]) + "\n"
        assert cells(read(os.path.join(mnt, "values")), want["dtype"]) == want["cells"]
        check_index(os.path.join(mnt, "index"), want["index"])


def test_index_alone():
    want = EXPECT["index_p5.pkl"]
    with mount(fx("index_p5.pkl")) as mnt:
        assert os.listdir(mnt) == ["0"]
        assert cells(read(os.path.join(mnt, "0")), want["dtype"]) == want["cells"]
        assert os.getxattr(os.path.join(mnt, "0"), "user.pickle.type") == b"column"


def test_multi_index():
    with mount(fx("multi_p5.pkl")) as mnt:
        assert read(os.path.join(mnt, "__index__")).splitlines()[1:] == \
            EXPECT["multi_p5.pkl"]["index"]["cells"]


@pytest.mark.parametrize("fn", ["lying_lengths.pkl", "overlap.pkl", "huge_range.pkl",
                                "call_in_column.pkl"])
def test_hostile_layouts_stay_objects(fn):
    with mount(fx(fn)) as mnt:
        names = set(os.listdir(mnt))
        assert "_mgr" in names and "__reduce__" in names and "__table__" not in names
        assert read(os.path.join(mnt, "__reduce__")) == "pandas.core.frame.DataFrame()\n"
        assert re.match(r"pandas\.core\.internals\.managers\.BlockManager\(",
                        read(os.path.join(mnt, "_mgr", "__reduce__")))


@pytest.mark.parametrize("fn", sorted(k for k, v in EXPECT.items() if v["kind"] == "records"))
def test_structured_arrays_wrap_at_75_columns(fn):
    want = EXPECT[fn]
    with mount(fx(fn)) as mnt:
        text = read(os.path.join(mnt, "0"))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 75, text
    head = lines.pop(0)
    while " crc32=0x" not in head:  # the header's continuation lines start with spaces
        assert lines[0].startswith(" ")
        head += " " + lines.pop(0).lstrip(" ")
    m = re.match(r"^ndarray dtype=(\[.*\]) shape=\((\d+),\) crc32=0x([0-9a-f]{8})$", head)
    assert m, head
    assert [f[0] for f in ast.literal_eval(m.group(1))] == want["names"]
    assert int(m.group(2)) == len(want["rows"]) and int(m.group(3), 16) == want["crc32"]
    # the records: one Python literal once the lines are joined
    assert [list(r) for r in ast.literal_eval(" ".join(lines))] == want["rows"]


def test_call_in_a_column_stays_visible():
    canary = "/tmp/picklefs-canary-pandas"
    if os.path.exists(canary):
        os.remove(canary)
    with mount(fx("call_in_column.pkl")) as mnt:
        out = mountutil.run(["grep", "-r", "-l", "posix.system", mnt]).stdout.decode()
    assert "__reduce__" in out
    assert not os.path.exists(canary)


@pytest.mark.parametrize("name", ["kinds_p5", "kinds_p2", "kinds_state_p2", "series_p5",
                                  "multi_p5", "index_p5"])
def test_audit_of_a_table_lists_nothing_opaque(name):
    """A frame, series or index read as a table is read as data: its manager, blocks, slices,
    zones and index classes are listed lifted, and the audit exits 0."""
    r = subprocess.run([mountutil.picklefs_exe(), "--audit", os.path.join(PD, name + ".pkl")],
                       capture_output=True, text=True, timeout=60)
    opaque = [x for x in r.stdout.splitlines() if x.endswith(" opaque")]
    assert r.returncode == 0 and not opaque, (r.returncode, opaque)


def test_audit_of_a_frame_holding_a_call_names_it_opaque():
    """A frame that stays objects (a call in a column) is opaque in the audit, call and all."""
    r = subprocess.run([mountutil.picklefs_exe(), "--audit", os.path.join(PD, "call_in_column.pkl")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 4, r
    assert re.search(r"^\d+ call posix\.system\('touch [^']*'\) opaque$", r.stdout, re.M), r.stdout
    assert re.search(r"^\d+ call pandas\.core\.internals\.managers\.BlockManager\(.* opaque$",
                     r.stdout, re.M), r.stdout
