#!/usr/bin/python3
"""make_numpy_fixtures.py: numpy's own files (.npy of format versions 1, 2 and 3, .npz stored
and deflated), written by numpy itself, each beside a pickle of what numpy loads back from it
(the array; for a .npz the dict of its arrays), with what numpy's loader returns.

    /usr/bin/python3 tests/make_numpy_fixtures.py

writes tests/fixtures/npy/NAME.npy (or NAME.npz) and NAME.pkl, and tests/fixtures/npy/expect.json.
test_numpy.py mounts each file, checks every array against expect.json (dtype as numpy's
str(dtype), shape, zlib.crc32 of tobytes(), byte count), and requires each file to mount exactly
as the pickle of what numpy loads back from it does. The files are committed; re-run only to
change them.
"""

import json
import os
import pickle
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "npy")
EXPECT = {}


def arr_expect(a):
    e = {"dtype": str(a.dtype), "shape": list(a.shape), "nbytes": a.nbytes}
    if a.dtype.kind != "O":
        e["crc32"] = zlib.crc32(a.tobytes())
    return e


def save_npy(name, a, version=None, text=False):
    """name.npy as numpy writes it (version None: numpy's own choice), and name.pkl, the pickle of
    the array numpy loads back from it."""
    path = os.path.join(OUT, name + ".npy")
    if version is None:
        np.save(path, a)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version)
    back = np.load(path, allow_pickle=True)
    with open(os.path.join(OUT, name + ".pkl"), "wb") as f:
        pickle.dump(back, f, protocol=2)
    with open(path, "rb") as f:
        major = f.read(8)[6]
    EXPECT[name + ".npy"] = dict(arr_expect(back), version=major)
    if text:  # the values as numpy prints them, which the summary's body must be
        EXPECT[name + ".npy"]["text"] = np.array2string(back, separator=", ")


def save_npz(name, compressed, *args, **kwds):
    """name.npz as numpy writes it, and name.pkl, the pickle of the dict of arrays numpy loads
    back from it (in the archive's order)."""
    path = os.path.join(OUT, name + ".npz")
    (np.savez_compressed if compressed else np.savez)(path, *args, **kwds)
    with np.load(path, allow_pickle=True) as z:
        back = {k: z[k] for k in z.files}
    with open(os.path.join(OUT, name + ".pkl"), "wb") as f:
        pickle.dump(back, f, protocol=2)
    EXPECT[name + ".npz"] = {"members": [[k, arr_expect(v)] for k, v in back.items()]}


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    save_npy("f32", np.arange(6, dtype="<f4").reshape(2, 3) / 7)
    save_npy("f64_big", rng.standard_normal(1200))  # summarised past 1000 elements
    save_npy("i2_be_fortran", np.asfortranarray(np.arange(12, dtype=">i2").reshape(3, 4)))
    save_npy("u8", np.array([0, 1, 2**64 - 1], dtype="<u8"))
    save_npy("bool", np.array([[True, False], [False, True]]))
    save_npy("c16", np.array([1 + 2j, -0.5j]))
    save_npy("f16", np.array([0.1, -2, 65504], dtype="<f2"))
    save_npy("unicode", np.array(["ab", "c", "déf"]))
    save_npy("bytes", np.array([b"ab", b"\x00c"]))
    save_npy("empty", np.zeros((0, 3)))
    save_npy("scalar", np.array(3.5))
    save_npy("record", np.array([(1, 2.5, b"x"), (3, -4.5, b"yz")],
                                dtype=[("x", "<i4"), ("y", ">f8"), ("tag", "S2")]))
    save_npy("record_aligned", np.zeros(2, dtype=np.dtype([("a", "u1"), ("b", "<i4")],
                                                           align=True)))
    save_npy("datetime", np.array(["2024-01-02T03:04:05", "NaT"], dtype="datetime64[ns]"))
    # datetimes and timedeltas of every unit, before and after 1970, as numpy prints them
    stamps = ["1969-12-31T23:59:59.999", "2000-02-29T12:34:56.789", "1600-03-01T00:00:01",
              "2262-04-11T23:47:16", "NaT", "1970-01-01"]
    for unit in ["Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "15s", "as"]:
        a = np.array(stamps[3:] if unit == "as" else stamps, dtype="datetime64[ms]")
        save_npy("datetime_" + {"M": "month", "m": "minute"}.get(unit, unit),
                 a.astype("datetime64[%s]" % unit), text=True)
    save_npy("datetime_big", np.datetime64("2024-01-01") + np.arange(1200).astype("m8[h]"),
             text=True)
    save_npy("timedelta", np.array([1, -2, "NaT", 86400], dtype="timedelta64[s]"), text=True)
    # datetimes and timedeltas of numpy's generic unit (dtype 'M8', 'm8'): a datetime that is
    # not NaT cannot be printed by numpy, so only NaT ones
    save_npy("datetime_generic", np.full(3, np.datetime64("NaT"), dtype="M8"), text=True)
    save_npy("timedelta_generic", np.array([0, 7, -5], dtype="m8").astype("m8")
             .view("i8").copy().view("m8"), text=True)
    save_npy("timedelta_generic_nat", np.array([3, 0], dtype="m8")
             .view("i8").copy().view("m8") * np.array([1, 0]) +
             np.array([0, np.iinfo("i8").min]).view("m8"), text=True)
    # nested and sub-array structured dtypes, printed as numpy prints records (values of one
    # width in each field: numpy pads a field's values to a common width, picklefs does not)
    save_npy("record_nested", np.array([(1, (0.5, 7)), (2, (1.5, 9))],
                                       dtype=[("x", "<i2"), ("b", [("c", "<f8"), ("d", "u1")])]),
             text=True)
    sub = np.zeros(2, dtype=[("a", "<i4", (2,)), ("b", [("c", "<f8")]),
                             ("m", ">u2", (2, 3)), ("t", "<M8[s]", (2,)), ("s", "S3")])
    sub["a"] = [[1, 2], [3, 4]]
    sub["b"]["c"] = [0.5, 1.5]
    sub["m"] = np.arange(10, 22).reshape(2, 2, 3)
    sub["t"] = np.array([["2024-01-02T03:04:05", "1600-03-01"], ["1969-12-31", "2000-02-29"]],
                        dtype="M8[s]")
    sub["s"] = [b"ab", b"xyz"]
    save_npy("record_subarray", sub, text=True)
    subn = np.zeros(2, dtype=[("r", [("c", "<f4"), ("e", "<i2", (2,))], (2,))])
    subn["r"]["c"] = [[0.5, 1.5], [2.5, 3.5]]
    subn["r"]["e"] = np.arange(1, 9).reshape(2, 2, 2)
    save_npy("record_subarray_nested", subn, text=True)
    save_npy("objects", np.array([1, "a", None, {"k": [2, 3]}], dtype=object))
    save_npy("objects_2d", np.array([[1, "a"], [None, 2.5]], dtype=object))
    save_npy("v2", np.arange(4, dtype="<i4"), version=(2, 0))
    # version 3: a header that only UTF-8 can hold (a field name beyond Latin-1)
    save_npy("v3", np.zeros(2, dtype=[("名", "<i4")]), version=(3, 0))
    members = dict(ints=np.arange(5, dtype="<i8"), grid=np.arange(6.0).reshape(2, 3).T,
                   rec=np.array([(1, 2.5)], dtype=[("x", "<i4"), ("y", "<f8")]),
                   names=np.array(["a", "bc"]), empty=np.zeros(0, dtype="<f4"))
    members["über"] = np.ones(2, dtype=">u2")
    save_npz("stored", False, np.arange(3, dtype="<i2"), **members)
    save_npz("deflated", True, **members)
    save_npz("stored_objects", False, objs=np.array([1, "x", None], dtype=object),
             nums=np.arange(2))
    save_npz("deflated_objects", True, objs=np.array([[1, "x"], [None, {"k": 2.5}]], dtype=object),
             nums=np.arange(2))
    with open(os.path.join(OUT, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(EXPECT, f, indent=1, sort_keys=True)
    # datetime64 and timedelta64 scalars pickled by numpy, with numpy's str() of each
    scalars = [np.datetime64("2024-01-02T03:04:05.123456789", "ns"), np.datetime64("NaT", "ns"),
               np.datetime64("1969-12-31", "D"), np.datetime64("2024-03", "M"),
               np.datetime64(0, "W"), np.datetime64(3, "25s"), np.datetime64("NaT"),
               np.timedelta64(3, "15s"), np.timedelta64(-3, "ms"), np.timedelta64(1, "D"),
               np.timedelta64(7), np.timedelta64("NaT", "s"),
               np.datetime64("2024-01-02T03:04:05", "s").astype(">M8[s]")]
    with open(os.path.join(OUT, "time_scalars.pkl"), "wb") as f:
        pickle.dump(scalars, f, protocol=2)
    with open(os.path.join(OUT, "time_scalars.json"), "w", encoding="utf-8") as f:
        json.dump([str(x) for x in scalars], f, indent=1)


if __name__ == "__main__":
    main()
