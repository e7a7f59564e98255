#!/usr/bin/python3
"""make_checkpoint_fixtures.py: model checkpoints and compressed pickles, written by the real
producers (torch, numpy, scikit-learn, joblib, pandas), with what their own loaders return.

    /usr/bin/python3 tests/make_checkpoint_fixtures.py

writes tests/fixtures/ckpt/*.bin (names say nothing of the format: picklefs recognises files by
content) and tests/fixtures/ckpt/expect.json. test_checkpoints.py mounts each file and compares
it with expect.json, so the suite runs without torch or numpy installed. For every array or
tensor expect.json holds, per mounted path: dtype, shape, zlib.crc32 of tobytes() (C order, as
stored), the byte count, the values as the producer's loader returns them (small ones), and
the statistics numpy computes for them in float64 (stats_expect). The files are committed;
re-run only to change them.

    /usr/bin/python3 tests/make_checkpoint_fixtures.py --stats

rewrites no committed fixture: it writes only the fixtures that do not exist yet, recomputes the
expectations from the files as committed (checking each crc32 against expect.json), and updates
only the statistics in expect.json, and the entries of the new fixtures.
"""

import bz2
import copy
import gzip
import io
import json
import lzma
import os
import pickle
import subprocess
import sys
import warnings
import zlib

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

warnings.filterwarnings("ignore")

import joblib  # noqa: E402
import lz4.frame  # noqa: E402
import numpy as np  # noqa: E402
import zstandard  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "ckpt")
EXPECT = {}
STATS_ONLY = "--stats" in sys.argv[1:]


def stats_expect(a):
    """The statistics line of array a as numpy computes it: for reals and complex, min, max, mean
    and std (ddof=0) of the finite values in float64, and the counts of NaN and inf; for ints
    and bools min, max and the exact sum. None for what has none (records, strings, empty)."""
    a = np.asarray(a)
    k = a.dtype.kind
    if a.size == 0 or a.dtype.names or k not in "biufc":
        return None
    if k in "biu":
        py = [int(v) for v in a.ravel().tolist()]
        e = {"min": min(py), "max": max(py), "sum": sum(py)}
        if k == "b":
            e["min"], e["max"] = bool(e["min"]), bool(e["max"])
        return e
    x = a.astype(np.complex128 if k == "c" else np.float64).ravel()
    e = {"nan": int(np.isnan(x).sum()), "inf": int(np.isinf(x).sum())}
    f = x[np.isfinite(x)]
    nan = float("nan")
    if k == "c":
        part = lambda v: [float(v.real), float(v.imag)]  # noqa: E731
        e.update(min=part(f.min()) if f.size else [nan, nan],
                 max=part(f.max()) if f.size else [nan, nan],
                 mean=part(f.mean()) if f.size else [nan, nan])
    else:
        e.update(min=float(f.min()) if f.size else nan, max=float(f.max()) if f.size else nan,
                 mean=float(f.mean()) if f.size else nan)
    e["std"] = float(f.std()) if f.size else nan
    return e


def arr_expect(a, dtype_name, kind="ndarray"):
    """What the mount must show for array a (a numpy array as the producer's loader gives it)."""
    a = np.asarray(a)
    e = {"kind": kind, "dtype": dtype_name, "shape": list(a.shape),
         "crc32": zlib.crc32(a.tobytes()), "nbytes": a.nbytes}
    if a.size <= 1000 and a.dtype.kind in "biuf":
        e["values"] = [v.item() if hasattr(v, "item") else v for v in a.astype(
            np.float64 if a.dtype.kind == "f" else a.dtype).ravel()]
    st = stats_expect(a)
    if st:
        e["stats"] = st
    return e


def tensor_expect(t):
    t = t.detach()
    raw = t.contiguous()
    if raw.dtype == torch.bfloat16:
        nb = raw.view(torch.int16).numpy()
        e = {"kind": "tensor", "dtype": str(t.dtype), "shape": list(t.shape),
             "crc32": zlib.crc32(nb.tobytes()), "nbytes": nb.nbytes,
             "values": [float(x) for x in raw.float().ravel()],
             "stats": stats_expect(raw.float().numpy())}
        return e
    e = arr_expect(raw.numpy(), str(t.dtype), "tensor")
    return e


def leaves(prefix, obj, out):
    """Every leaf of a nest of dicts, lists and tuples by mounted path (tensors and scalars)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            leaves(prefix + "/" + str(k) if prefix else str(k), v, out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            leaves(prefix + "/" + str(i) if prefix else str(i), v, out)
    else:
        out[prefix] = obj


def walk_tensors(prefix, obj, out):
    """Expectations for every tensor in a nest of dicts and lists, by mounted path."""
    found = {}
    leaves(prefix, obj, found)
    out.update((path, tensor_expect(v)) for path, v in found.items()
               if isinstance(v, torch.Tensor))


def write(name, data):
    if STATS_ONLY and os.path.exists(os.path.join(OUT, name)):
        return  # the committed file stays as it is
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def torch_fixtures():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    ckpt = {"epoch": 5, "loss": 0.125, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict()}
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    write("torch_ckpt.bin", buf.getvalue())
    model2 = copy.deepcopy(model)
    with torch.no_grad():
        model2[2].bias += 1.0
    buf = io.BytesIO()
    torch.save({"epoch": 5, "loss": 0.125, "model_state_dict": model2.state_dict(),
                "optimizer_state_dict": opt.state_dict()}, buf)
    write("torch_ckpt_bias.bin", buf.getvalue())
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf, _use_new_zipfile_serialization=False)
    write("torch_legacy.bin", buf.getvalue())

    for name in ("torch_ckpt.bin", "torch_ckpt_bias.bin", "torch_legacy.bin"):
        loaded = torch.load(os.path.join(OUT, name))
        t = {}
        walk_tensors("", loaded, t)
        EXPECT[name] = {"tensors": t}
    loaded = torch.load(os.path.join(OUT, "torch_ckpt.bin"))
    EXPECT["torch_ckpt.bin"]["text"] = {
        "epoch": "%d\n" % loaded["epoch"], "loss": "%r\n" % loaded["loss"],
        "optimizer_state_dict/param_groups/0/lr":
            "%r\n" % loaded["optimizer_state_dict"]["param_groups"][0]["lr"],
        "optimizer_state_dict/param_groups/0/momentum":
            "%r\n" % loaded["optimizer_state_dict"]["param_groups"][0]["momentum"],
    }

    misc = {
        "transposed": torch.arange(12.0).reshape(3, 4).t(),
        "param": torch.nn.Parameter(torch.tensor([1.0, -2.0])),
        "half": torch.tensor([0.1, 1.5, -3.0], dtype=torch.float16),
        "bf16": torch.tensor([0.1, 3.0], dtype=torch.bfloat16),
        "bools": torch.tensor([True, False, True]),
        "ints": torch.arange(2000, dtype=torch.int64).reshape(40, 50),
        "narrow": torch.arange(10, dtype=torch.int32)[2:5],
        "scalar": torch.tensor(7.5, dtype=torch.float64),
        "device": torch.device("cuda", 1),
        "size": torch.Size([2, 3]),
    }
    buf = io.BytesIO()
    torch.save(misc, buf)
    write("torch_misc.bin", buf.getvalue())
    loaded = torch.load(os.path.join(OUT, "torch_misc.bin"))
    t = {}
    walk_tensors("", {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}, t)
    t["ints"].pop("values", None)  # summarised: checked by crc32 and the edges below
    EXPECT["torch_misc.bin"] = {
        "tensors": t,
        "text": {"device": "cuda:1\n", "size/0": "2\n", "size/1": "3\n"},
        "stride": {"transposed": [1, 4]},
        "requires_grad": ["param"],
        "summarised": {"ints": ["0,", "1999]]", "...,"]},
    }


def sklearn_fixtures():
    X, y = load_iris(return_X_y=True)
    clf = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    write("rf_pickle.bin", pickle.dumps(clf, protocol=4))
    names = ["rf_pickle.bin"]
    for comp in (None, "zlib", "gzip", "bz2", "xz", "lzma", "lz4"):
        name = "rf_joblib_%s.bin" % (comp or "plain")
        path = os.path.join(OUT, name)
        if not STATS_ONLY:
            joblib.dump(clf, path, compress=(comp, 3) if comp else 0)
        names.append(name)
    for name in names:
        path = os.path.join(OUT, name)
        loaded = joblib.load(path) if "joblib" in name else pickle.load(open(path, "rb"))
        arrays = {"classes_": arr_expect(loaded.classes_, str(loaded.classes_.dtype))}
        for i, est in enumerate(loaded.estimators_):
            st = est.tree_.__getstate__()
            arrays["estimators_/%d/tree_/values" % i] = arr_expect(st["values"], "float64")
            arrays["estimators_/%d/tree_/nodes" % i] = {
                "kind": "ndarray", "crc32": zlib.crc32(st["nodes"].tobytes()),
                "nbytes": st["nodes"].nbytes, "shape": list(st["nodes"].shape)}
        EXPECT[name] = {"text": {"n_estimators": "%d\n" % loaded.n_estimators,
                                 "max_depth": "%d\n" % loaded.max_depth},
                        "tensors": arrays}


def numpy_fixtures():
    obj = {
        "f32": np.array([[0.1, -2.5, 3.0], [4.0, 5.0, 1e-5]], dtype=np.float32),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)),
        "big_endian": np.array([1, -2, 300], dtype=">i4"),
        "u8": np.array([0, 255, 7], dtype=np.uint8),
        "strings": np.array(["ab", "c", "déjà"]),
        "record": np.array([(1, 2.5), (3, -4.0)], dtype=[("a", "<i4"), ("b", ">f8")]),
        "large": np.arange(3000, dtype=np.float64).reshape(10, 300),
        "s_float": np.float64(0.1),
        "s_float32": np.float32(0.1),
        "s_int": np.int32(-5),
        "s_uint": np.uint64(2 ** 63 + 1),
        "s_bool": np.bool_(True),
        "objects": np.array(["x", None, 3], dtype=object),
        "objects2d": np.array([["a", 1], [2.5, "b"]], dtype=object),
    }
    write("numpy_p2.bin", pickle.dumps(obj, protocol=2))
    write("numpy_p5.bin", pickle.dumps({k: obj[k] for k in ("f32", "fortran", "u8")}, protocol=5))
    for name in ("numpy_p2.bin", "numpy_p5.bin"):
        loaded = pickle.load(open(os.path.join(OUT, name), "rb"))
        t, text, lists = {}, {}, {}
        for k, v in loaded.items():
            if isinstance(v, np.ndarray) and v.dtype != object:
                e = arr_expect(v, str(v.dtype))
                if v.size > 1000:
                    e.pop("values", None)
                t[k] = e
            elif isinstance(v, np.ndarray):
                lists[k] = v.tolist()
            else:
                text[k] = "%r\n" % v.item()
        EXPECT[name] = {"tensors": t, "text": text, "lists": lists}
    # numpy's loader turns a big-endian array into native order (same values); the mount shows
    # the dtype and bytes as stored, so those two come from the array pickled
    be = EXPECT["numpy_p2.bin"]["tensors"]["big_endian"]
    be.update(dtype=obj["big_endian"].dtype.str, crc32=zlib.crc32(obj["big_endian"].tobytes()))
    EXPECT["numpy_p2.bin"]["summary_lines"] = {
        "strings": "['ab', 'c', 'déjà']",
        "record": "[(1, 2.5), (3, -4.0)]",
        "f32": "[[  0.1,  -2.5,   3.0],",
        "big_endian": "[  1,  -2, 300]",
    }


def pandas_fixture():
    df = pd.DataFrame({"name": ["alice-in-cells", "bob"], "score": [1.5, 2.5]})
    write("pandas_df.bin", pickle.dumps(df, protocol=4))
    EXPECT["pandas_df.bin"] = {"grep": ["alice-in-cells", "score"]}


def compressed_fixtures():
    plain = {"name": "compressed", "values": [1, 2.5, None, "needle-c"], "n": {"k": b"\x00\x01"}}
    raw = pickle.dumps(plain, protocol=4)
    write("plain.bin", raw)
    write("plain_gzip.bin", gzip.compress(raw, mtime=0))
    write("plain_zlib.bin", zlib.compress(raw))
    write("plain_bz2.bin", bz2.compress(raw))
    write("plain_xz.bin", lzma.compress(raw))
    # two gzip members with zero padding between them, as `cat a.gz b.gz` gives: one stream
    half = len(raw) // 2
    write("plain_gzip_members.bin",
          gzip.compress(raw[:half], mtime=0) + b"\0" * 8 + gzip.compress(raw[half:], mtime=0))
    for name in ("plain_gzip.bin", "plain_zlib.bin", "plain_bz2.bin", "plain_xz.bin",
                 "plain_gzip_members.bin"):
        EXPECT[name] = {"same_as": "plain.bin"}
    good = gzip.compress(raw, mtime=0)
    bad = bytearray(good)
    bad[20] ^= 0xff
    write("bad_gzip.bin", bytes(bad))
    write("truncated_xz.bin", lzma.compress(raw)[:40])
    write("garbage_after_gzip.bin", good + b"junk")
    # lz4 and zstd: their Python modules (joblib's lz4 is lz4.frame) and their command-line
    # tools, and two frames one after the other, as `cat a.zst b.zst` gives
    write("plain_lz4.bin", lz4.frame.compress(raw))
    write("plain_lz4_cli.bin", subprocess.run(["lz4", "-c", "-q"], input=raw,
                                              stdout=subprocess.PIPE, check=True).stdout)
    write("plain_zstd.bin", zstandard.ZstdCompressor().compress(raw))
    write("plain_zstd_cli.bin", subprocess.run(["zstd", "-c", "-q"], input=raw,
                                               stdout=subprocess.PIPE, check=True).stdout)
    write("plain_zstd_frames.bin", zstandard.ZstdCompressor().compress(raw[:half]) +
          zstandard.ZstdCompressor().compress(raw[half:]))
    for name in ("plain_lz4.bin", "plain_lz4_cli.bin", "plain_zstd.bin", "plain_zstd_cli.bin",
                 "plain_zstd_frames.bin"):
        EXPECT[name] = {"same_as": "plain.bin"}
    write("truncated_lz4.bin", lz4.frame.compress(raw)[:30])
    write("truncated_zstd.bin", zstandard.ZstdCompressor().compress(raw)[:30])
    EXPECT["truncated_lz4.bin"] = {"refused": "truncated compressed data"}
    EXPECT["truncated_zstd.bin"] = {"refused": "truncated compressed data"}
    EXPECT["bad_gzip.bin"] = {"refused": "corrupt compressed data"}
    EXPECT["truncated_xz.bin"] = {"refused": "truncated compressed data"}
    EXPECT["garbage_after_gzip.bin"] = {"refused": "corrupt compressed data"}


def stats_fixture():
    """Statistics at their edges: complex, NaN and inf, big-endian, half, integer sums past 64
    bits, values far from zero, no finite value; and records and strings wider than a line."""
    rec = np.dtype([("alpha", "<i8"), ("beta", "<f8"), ("gamma", "<i8"), ("delta", ">f8")])
    obj = {
        "c64": np.array([1 - 2j, 3 + 0.5j, 2 - 0.75j, complex(np.nan, 1)], dtype=np.complex64),
        "c128_be": np.array([1e300 + 1j, -1e300 - 1j, complex(np.inf, 0), 0.1 + 0.2j],
                            dtype=">c16"),
        "nan_inf": np.array([1.5, np.nan, -np.inf, np.inf, -2.25, 0.1], dtype=np.float32),
        "f64_be": np.array([0.1, 0.2, 0.3e10, -7.0], dtype=">f8"),
        "f32_be": (np.arange(7, dtype=np.float32) / 3).astype(">f4"),
        "f16": np.array([65504, -65504, np.inf, 0.5, 0.1], dtype=np.float16),
        "all_nan": np.array([np.nan, np.nan]),
        "empty": np.zeros((0, 3)),
        "far": 1e6 + np.arange(200) * 1e-6,
        "i8": np.array([-128, 127, 0, -1], dtype=np.int8),
        "u64_big": np.full(5, 2 ** 64 - 1, dtype=np.uint64),
        "i64_ext": np.array([-2 ** 63, -2 ** 63, 2 ** 63 - 1], dtype=np.int64),
        "i16_be": np.array([-300, 7, 1000], dtype=">i2"),
        "bools": np.array([[True, False], [True, True]]),
        "records": np.array([(i, i / 7, -i * 1000003, i * 1e10) for i in range(4)], dtype=rec),
        "strings": np.array(["x" * 30, "y" * 30, "z" * 30]),
    }
    write("numpy_stats.bin", pickle.dumps(obj, protocol=4))
    loaded = pickle.load(open(os.path.join(OUT, "numpy_stats.bin"), "rb"))
    t = {}
    for k, v in loaded.items():
        t[k] = arr_expect(v, str(v.dtype))
        t[k]["dtype"] = obj[k].dtype.str if obj[k].dtype.byteorder == ">" else str(v.dtype)
        t[k]["crc32"] = zlib.crc32(obj[k].tobytes())  # as stored: big-endian stays so
    EXPECT["numpy_stats.bin"] = {"tensors": t, "text": {}, "narrow": ["records", "strings"]}


def optimizer_step_fixtures():
    """A training checkpoint saved before and after one optimizer step (Adam, after a first
    step so that its state exists in both), its first layer frozen: what the step changed is
    the trained tensors, their moments and the step counters, which the fixture names."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8),
                                torch.nn.ReLU(), torch.nn.Linear(8, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    x = torch.randn(16, 4)

    def step(name, n):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        buf = io.BytesIO()
        torch.save({"step": n, "model": model.state_dict(), "optimizer": opt.state_dict()}, buf)
        write(name, buf.getvalue())

    step("torch_step_before.bin", 1)
    step("torch_step_after.bin", 2)
    got = []
    for name in ("torch_step_before.bin", "torch_step_after.bin"):
        loaded = torch.load(os.path.join(OUT, name))
        t, flat = {}, {}
        walk_tensors("", loaded, t)
        leaves("", loaded, flat)
        EXPECT[name] = {"tensors": t}
        got.append(flat)
    same = lambda a, b: (torch.equal(a, b) if isinstance(a, torch.Tensor)  # noqa: E731
                         else a == b)
    assert got[0].keys() == got[1].keys()
    EXPECT["torch_step_after.bin"]["changed"] = sorted(
        k for k in got[0] if not same(got[0][k], got[1][k]))


def overflow_fixture():
    """Values whose squares or sums pass float64: numpy's mean and std are then inf, not nan."""
    obj = {"squares": np.array([1.5, np.nan, -0.25, 1e300]),
           "opposite": np.array([1e308, -1e308]),
           "sum": np.array([1e308, 1e308], dtype=">f8")}
    write("numpy_overflow.bin", pickle.dumps(obj, protocol=4))
    t = {}
    for k, v in obj.items():
        t[k] = arr_expect(v, v.dtype.str if v.dtype.byteorder == ">" else str(v.dtype))
    EXPECT["numpy_overflow.bin"] = {"tensors": t, "text": {}}


def raw_names_fixture():
    """Where the hidden NAME.raw goes when a name is taken: a real key NAME.raw, two keys of one
    name, arrays in a list."""
    a = np.array([1, 2], dtype=np.int16)
    obj = {"w": a, "w.raw": b"a real key", 1: a + 1, "1": a + 2, "list": [a, a * 3]}
    write("raw_names.bin", pickle.dumps(obj, protocol=4))
    EXPECT["raw_names.bin"] = {"raw": {
        "w.raw~1": a.tobytes().hex(), "1.raw": (a + 1).tobytes().hex(),
        "1.raw~1": (a + 2).tobytes().hex(), "list/0.raw": a.tobytes().hex(),
        "list/1.raw": (a * 3).tobytes().hex()},
        "text": {"w.raw": "a real key"}}


def merge_stats(old):
    """--stats: the statistics of EXPECT into old (expect.json as committed), each only for the
    very array old describes (same crc32), and the entries of fixtures old does not have."""
    for name, e in EXPECT.items():
        if name not in old:
            old[name] = e
            continue
        for path, t in e.get("tensors", {}).items():
            o = old[name]["tensors"][path]
            assert o["crc32"] == t["crc32"], (name, path, "committed fixture differs")
            if "stats" in t:
                o["stats"] = t["stats"]
    return old


def main():
    os.makedirs(OUT, exist_ok=True)
    torch_fixtures()
    sklearn_fixtures()
    numpy_fixtures()
    pandas_fixture()
    compressed_fixtures()
    stats_fixture()
    overflow_fixture()
    optimizer_step_fixtures()
    raw_names_fixture()
    global EXPECT
    if STATS_ONLY:
        with open(os.path.join(OUT, "expect.json"), encoding="utf-8") as f:
            EXPECT = merge_stats(json.load(f))
    with open(os.path.join(OUT, "expect.json"), "w") as f:
        json.dump(EXPECT, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
