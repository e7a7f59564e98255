#!/usr/bin/python3
"""seed.py: starting inputs for the fuzz targets, made from the test fixtures.

    /usr/bin/python3 fuzz/seed.py OUTDIR

writes OUTDIR/decode, OUTDIR/render, OUTDIR/decompress and OUTDIR/zip (standard library only):

  decode, render  every fixture under tests/fixtures, plus a few hand-made pickles that reach
                  what the fixtures do not (objects with state and items, persistent ids,
                  extension codes, out-of-band buffers, frames, text opcodes, shared references)
  decompress      a few fixtures compressed by each reader, behind its selector byte (see
                  fuzz_decompress.c), and whole compressed files behind selector 6
  zip             torch.save-shaped archives (archive/data.pkl, byteorder, data/N, version), made
                  with zipfile and stand-in torch names, stored and deflated, zip64 too

The committed corpora (fuzz/corpus/TARGET) were made from these by the fuzzers themselves and
minimized with -merge=1; see fuzz/README.md. The output is deterministic.
"""

import bz2
import collections
import gzip
import hashlib
import io
import lzma
import os
import pickle
import sys
import types
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "tests", "fixtures")


def fixtures():
    out = []
    for dirpath, dirnames, filenames in os.walk(FIXTURES):
        dirnames.sort()
        for f in sorted(filenames):
            with open(os.path.join(dirpath, f), "rb") as fh:
                out.append(fh.read())
    return out


# Stand-ins with the names real pickles use. Pickling only records the names: nothing here is
# ever imported by picklefs.
def _module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


class Obj:
    def __init__(self):
        self.a = 1
        self.b = [1, 2]


class ListSub(list):
    pass


class DictSub(dict):
    pass


class Slots:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1
        self.y = "two"


class Reducer:
    def __reduce__(self):
        import os as _os
        return (_os.system, ("touch CANARY",))


def handmade():
    shared = [1, 2]
    ls = ListSub([1, 2])
    ls.attr = "x"
    ds = DictSub(a=1)
    ds.attr = "y"
    values = [
        Obj(), ls, ds, Slots(), Reducer(),
        {"shared": [shared, shared, (shared,)], "od": collections.OrderedDict(a=1)},
        collections.defaultdict(list, {"k": [1]}), collections.Counter("abca"),
        {frozenset({1, 2}): {1, (2, 3)}, (1, "a"): b"bytes", None: bytearray(b"ba")},
        [2 ** 100, -2 ** 70, 1.5, float("nan"), "\udc80", "é" * 3, b"\x00" * 5000, "s" * 5000],
    ]
    out = []
    for v in values:
        for proto in range(0, 6):
            try:
                out.append(pickle.dumps(v, protocol=proto))
            except TypeError:  # __slots__ need protocol 2
                pass
    cyc = []
    cyc.append(cyc)
    out += [pickle.dumps(cyc, protocol=p) for p in (0, 2, 4)]

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if not (isinstance(obj, str) and obj.startswith("pid")):
                return None
            return "X" + obj if self.proto == 0 else ("tag", obj.upper())
    for proto in (0, 2, 5):
        f = io.BytesIO()
        P.proto = proto
        P(f, protocol=proto).dump(["pid-1", "plain", {"k": "pid-2"}])
        out.append(f.getvalue())
    out.append(pickle.dumps(pickle.PickleBuffer(b"abc"), protocol=5,
                            buffer_callback=lambda b: False))
    # extension codes, INST and OBJ (protocols 0 and 1), a FRAME with a STOP inside
    out.append(b"\x80\x02\x82\x01\x83\x02\x01\x84\x03\x00\x00\x01\x87.")
    out.append(b"(S'a'\nibuiltins\nslice\n.")
    out.append(b"(cbuiltins\nslice\nK\x01o.")
    out.append(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01K\x02\x86.")
    return out


def fake_torch():
    torch = _module("torch")
    utils = _module("torch._utils")
    torch._utils = utils

    def _rebuild_tensor_v2(*args):
        return args
    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("FloatStorage", "LongStorage", "HalfStorage", "BFloat16Storage"):
        cls = type(name, (), {"__module__": "torch", "__qualname__": name})
        setattr(torch, name, cls)
    return torch


class Storage:
    def __init__(self, torch, kind, key, data):
        self.kind, self.key, self.data = getattr(torch, kind), key, data


class Tensor:
    def __init__(self, storage, shape, stride, offset=0):
        self.storage, self.shape, self.stride, self.offset = storage, shape, stride, offset

    def __reduce__(self):
        import torch._utils as u
        return (u._rebuild_tensor_v2, (self.storage, self.offset, self.shape, self.stride,
                                       False, collections.OrderedDict()))


def torch_zip(obj, storages, compress=zipfile.ZIP_STORED, top="archive", zip64=False,
              byteorder=b"little"):
    class P(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, Storage):
                return ("storage", o.kind, o.key, "cpu", len(o.data) // 4)
            return None
    f = io.BytesIO()
    P(f, protocol=2).dump(obj)
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", compression=compress, allowZip64=True) as zf:
        zf.writestr(top + "/data.pkl", f.getvalue())
        if byteorder is not None:
            zf.writestr(top + "/byteorder", byteorder)
        for s in storages:
            zf.writestr(top + "/data/" + s.key, s.data)
        zf.writestr(top + "/version", b"3\n")
        if zip64:  # force zip64 records by a member declared large
            with zf.open(top + "/.data/pad", "w", force_zip64=True) as w:
                w.write(b"x")
    return z.getvalue()


def zips():
    torch = fake_torch()
    s0 = Storage(torch, "FloatStorage", "0", bytes(range(24)))
    s1 = Storage(torch, "LongStorage", "1", bytes(range(32)))
    obj = collections.OrderedDict(
        w=Tensor(s0, (2, 3), (3, 1)), b=Tensor(s1, (4,), (1,)), t=Tensor(s0, (3, 2), (1, 3)),
        step=5)
    out = [
        torch_zip(obj, [s0, s1]),
        torch_zip(obj, [s0, s1], compress=zipfile.ZIP_DEFLATED),
        torch_zip(obj, [s0, s1], top="model", byteorder=b"big"),
        torch_zip(obj, [s0, s1], zip64=True),
        torch_zip({"x": [1, 2, 3]}, [], byteorder=None),
        torch_zip(Tensor(s0, (6,), (1,)), [s0]),
    ]
    return out


def compressed(data):
    co = zlib.compressobj(wbits=-15)
    raw = co.compress(data) + co.flush()
    return [bytes([0]) + gzip.compress(data, mtime=0), bytes([1]) + zlib.compress(data),
            bytes([2]) + bz2.compress(data), bytes([3]) + lzma.compress(data),
            bytes([4]) + lzma.compress(data, format=lzma.FORMAT_ALONE), bytes([5]) + raw,
            bytes([6]) + gzip.compress(data, mtime=0) + gzip.compress(data, mtime=0),
            bytes([6]) + lzma.compress(data), bytes([6]) + bz2.compress(data),
            bytes([6]) + b"ZF0x%-17x" % len(data) + zlib.compress(data)]


def write(outdir, target, inputs):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    for data in inputs:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%s: %d inputs" % (d, len(inputs)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seed.py OUTDIR")
    outdir = sys.argv[1]
    pickles = fixtures() + handmade()
    write(outdir, "decode", pickles)
    write(outdir, "render", pickles)
    small = [p for p in pickles if len(p) < 2000][::7]
    write(outdir, "decompress", [c for p in small for c in compressed(p)])
    write(outdir, "zip", zips())


if __name__ == "__main__":
    main()
