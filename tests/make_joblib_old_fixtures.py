#!/usr/bin/python3
"""make_joblib_old_fixtures.py: joblib's old multi-file dumps (joblib before 0.10), made the way
joblib 0.9's dump() made them, since Debian's joblib can only read them: the object is pickled
with each numpy array replaced by joblib's wrapper naming a side file beside the pickle.

    /usr/bin/python3 tests/make_joblib_old_fixtures.py

writes tests/fixtures/joblib_old/:
- plain/model.pkl, with NDArrayWrapper(filename, subclass, allow_mmap) in place of each array,
  and its side files model.pkl_01.npy, model.pkl_02.npy, ... written by numpy.save;
- compressed/model.pkl, the same pickle in joblib's zlib "ZF" file, with ZNDArrayWrapper
  (filename, init_args, state) in place of each array, and side files model.pkl_01.npy.z, ...
  holding the array's raw bytes in "ZF" files (joblib's write_zfile);
- each NAME/model_ref.pkl: pickle.dumps(joblib.load(NAME/model.pkl)), what joblib itself loads
  back, which the dump must mount as;
- hostile/: missing.pkl (its side file absent), escape.pkl (side-file names with '../', '/',
  '\\', '..', '' and an absolute path), trunc.pkl (a .npy side file cut short, a .npy.z cut
  short, a .npy.z whose header claims more bytes than it inflates to, a .npy.z that is no zlib:
  named bad_*, which test_dump.py knows are made to be refused alone);
- expect.json: joblib.load's arrays (dtype, shape, crc32 of tobytes()) for plain and compressed.

The class names are written as joblib 0.9 wrote them, joblib.numpy_pickle.NDArrayWrapper.
The files are committed; re-run only to change them.
"""

import json
import os
import pickle
import shutil
import zlib

import joblib
import numpy as np
from joblib import numpy_pickle_compat as compat

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "joblib_old")

# joblib 0.9 defined the wrappers in joblib.numpy_pickle, which still exports them
compat.NDArrayWrapper.__module__ = "joblib.numpy_pickle"
compat.ZNDArrayWrapper.__module__ = "joblib.numpy_pickle"


def model():
    return {
        "name": "model",
        "weights": np.arange(12, dtype="<f8").reshape(3, 4) / 7,
        "counts": np.array([1, -2, 3], dtype="<i4"),
        "fortran": np.asfortranarray(np.arange(6, dtype="<i2").reshape(2, 3)),
        "layers": [np.array([True, False]), np.linspace(0, 1, 2000, dtype="<f4")],
        "empty": np.zeros((0, 3), dtype="<u1"),
    }


def replace_arrays(obj, wrap):
    """obj with each array replaced by wrap(array), as joblib 0.9's pickler did."""
    if isinstance(obj, np.ndarray):
        return wrap(obj)
    if isinstance(obj, dict):
        return {k: replace_arrays(v, wrap) for k, v in obj.items()}
    if isinstance(obj, list):
        return [replace_arrays(v, wrap) for v in obj]
    return obj


def dump_plain(obj, path, protocol=2):
    base = os.path.basename(path)
    counter = [0]

    def wrap(a):
        counter[0] += 1
        name = "%s_%02i.npy" % (base, counter[0])
        np.save(os.path.join(os.path.dirname(path), name), a)
        return compat.NDArrayWrapper(name, type(a), allow_mmap=True)

    with open(path, "wb") as f:
        pickle.dump(replace_arrays(obj, wrap), f, protocol=protocol)


def dump_compressed(obj, path, protocol=2):
    base = os.path.basename(path)
    counter = [0]

    def wrap(a):
        counter[0] += 1
        name = "%s_%02i.npy.z" % (base, counter[0])
        _, init_args, state = a.__reduce__()
        with open(os.path.join(os.path.dirname(path), name), "wb") as z:
            compat.write_zfile(z, state[-1], compress=3)
        return compat.ZNDArrayWrapper(name, init_args, state[:-1])

    data = pickle.dumps(replace_arrays(obj, wrap), protocol=protocol)
    with open(path, "wb") as f:
        compat.write_zfile(f, data, compress=3)


def arrays_of(obj, prefix, out):
    if isinstance(obj, np.ndarray):
        out[prefix] = {"dtype": str(obj.dtype), "shape": list(obj.shape),
                       "crc32": zlib.crc32(obj.tobytes()), "nbytes": obj.nbytes}
    elif isinstance(obj, dict):
        for k, v in obj.items():
            arrays_of(v, prefix + "/" + k if prefix else k, out)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            arrays_of(v, prefix + "/" + str(i) if prefix else str(i), out)
    return out


def fresh(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def main():
    expect = {}
    for name, dump in (("plain", dump_plain), ("compressed", dump_compressed)):
        d = fresh(name)
        path = os.path.join(d, "model.pkl")
        dump(model(), path)
        back = joblib.load(path)
        with open(os.path.join(d, "model_ref.pkl"), "wb") as f:
            pickle.dump(back, f, protocol=2)
        expect[name] = arrays_of(back, "", {})

    d = fresh("hostile")
    a = np.arange(5, dtype="<i8")
    # missing.pkl: its side file is never written
    with open(os.path.join(d, "missing.pkl"), "wb") as f:
        pickle.dump({"a": compat.NDArrayWrapper("missing.pkl_01.npy", np.ndarray)}, f, protocol=2)
    # escape.pkl: names that are no base name in the pickle's own directory
    np.save(os.path.join(d, "inside.npy"), a)
    names = ["../plain/model.pkl_01.npy", "/etc/passwd", "sub/inside.npy", "a\\inside.npy",
             "..", ".", ""]
    with open(os.path.join(d, "escape.pkl"), "wb") as f:
        pickle.dump([compat.NDArrayWrapper(n, np.ndarray) for n in names]
                    + [compat.NDArrayWrapper("inside.npy", np.ndarray)], f, protocol=2)
    # trunc.pkl: side files cut short or lying
    np.save(os.path.join(d, "bad_cut.npy"), a)
    with open(os.path.join(d, "bad_cut.npy"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) - 8)
    _, init_args, state = a.__reduce__()
    zpath = os.path.join(d, "bad_cut.npy.z")
    with open(zpath, "wb") as z:
        compat.write_zfile(z, state[-1], compress=3)
    with open(zpath, "r+b") as f:
        f.truncate(os.path.getsize(zpath) - 6)
    with open(os.path.join(d, "bad_long.npy.z"), "wb") as z:  # claims 80 bytes, holds 40
        z.write(b"ZF" + b"0x50".ljust(19) + zlib.compress(state[-1], 3))
    with open(os.path.join(d, "bad_nozlib.npy.z"), "wb") as z:
        z.write(b"ZF" + b"0x28".ljust(19) + b"no zlib stream here")
    wrappers = {"npy": compat.NDArrayWrapper("bad_cut.npy", np.ndarray)}
    for key, name in (("zcut", "bad_cut"), ("zlong", "bad_long"), ("znozlib", "bad_nozlib")):
        wrappers[key] = compat.ZNDArrayWrapper(name + ".npy.z", init_args, state[:-1])
    with open(os.path.join(d, "trunc.pkl"), "wb") as f:
        pickle.dump(wrappers, f, protocol=2)

    with open(os.path.join(OUT, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
