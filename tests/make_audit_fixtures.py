#!/usr/bin/python3
"""make_audit_fixtures.py: write the fixtures that test_audit.py mounts and audits.

Run it from anywhere with /usr/bin/python3 (standard library only: no torch, no numpy):

    /usr/bin/python3 tests/make_audit_fixtures.py

It writes tests/fixtures/audit/NAME.pkl (a raw pickle) or NAME.pt (a torch.save zip archive).
The files are committed; re-run the script only when a fixture is added or changed. The output
is deterministic.

Each fixture hides a call where a lift reads past it: in a torch tensor's backward hooks or
metadata, in a parameter's hooks, in numpy _reconstruct's placeholder argument, in a dtype's
flags, as a defaultdict's factory, and one whose result is popped. The call is
posix.system('touch CANARY') with CANARY = canary(NAME), a file in /tmp that Python creates
when it loads the pickle (test_audit.py proves it, in a child process, with the torch and
numpy names stubbed) and picklefs must never create. They are written opcode by opcode
(protocol 2), since no producer writes them. CASES says, for each, where the call sits.
"""

import io
import os
import struct
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
AUDIT = os.path.join(HERE, "fixtures", "audit")


def canary(name):
    """The file a fixture creates when Python loads it."""
    return "/tmp/picklefs-canary-audit-%s" % name


class Asm:
    """Protocol 2 opcodes, appended one by one."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, code):
        self.b += code
        return self

    def glob(self, dotted):
        mod, name = dotted.rsplit(".", 1)
        return self.op(b"c" + mod.encode() + b"\n" + name.encode() + b"\n")

    def s(self, text):
        raw = text.encode()
        return self.op(b"X" + struct.pack("<I", len(raw)) + raw)

    def bytes_(self, raw):
        # protocol 2 has no bytes opcode: _codecs.encode(text, 'latin1'), as Python writes it
        return self.glob("_codecs.encode").s(raw.decode("latin1")).s("latin1").op(b"\x86R")

    def int_(self, v):
        return self.op(b"K" + bytes([v]))

    def system(self, name):
        """posix.system('touch CANARY'): the call Python runs at load."""
        return self.glob("posix.system").s("touch " + canary(name)).op(b"\x85R")

    def done(self):
        return bytes(self.b + b".")


def empty_ordereddict(a):
    return a.glob("collections.OrderedDict").op(b")R")


def tensor(a, storage_key, hooks, metadata=None):
    """_rebuild_tensor_v2(storage, 0, (2,), (1,), False, hooks[, metadata]) of float32 [1, 2]."""
    a.glob("torch._utils._rebuild_tensor_v2").op(b"(")
    a.op(b"(").s("storage").glob("torch.FloatStorage").s(storage_key).s("cpu").int_(2)
    a.op(b"tQ")  # TUPLE, BINPERSID
    a.int_(0).int_(2).op(b"\x85").int_(1).op(b"\x85").op(b"\x89")
    hooks(a)
    if metadata:
        metadata(a)
    return a.op(b"tR")


def torch_zip(pickle_bytes):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        def put(name, data):
            info = zipfile.ZipInfo("archive/" + name, date_time=(2024, 1, 1, 0, 0, 0))
            z.writestr(info, data)
        put("data.pkl", pickle_bytes)
        put("byteorder", b"little")
        put("data/0", struct.pack("<2f", 1.0, 2.0))
        put("version", b"3\n")
    return out.getvalue()


def torch_hooks():
    a = Asm().op(b"}").s("w")
    tensor(a, "0", lambda a: a.system("torch_hooks"))
    return torch_zip(a.op(b"s").done())


def torch_metadata():
    a = Asm().op(b"}").s("w")
    tensor(a, "0", empty_ordereddict, lambda a: a.system("torch_metadata"))
    return torch_zip(a.op(b"s").done())


def torch_parameter():
    """_rebuild_parameter(tensor, True, hooks): the parameter's own hooks."""
    a = Asm().op(b"}").s("p")
    a.glob("torch._utils._rebuild_parameter").op(b"(")
    tensor(a, "0", empty_ordereddict)
    a.op(b"\x88").system("torch_parameter").op(b"tR")
    return torch_zip(a.op(b"s").done())


def numpy_array(a, code, dtype_flag):
    """_reconstruct(numpy.ndarray, (0,), code) + BUILD((1, (2,), dtype('f4'), False, data))."""
    a.glob("numpy.core.multiarray._reconstruct").glob("numpy.ndarray")
    a.int_(0).op(b"\x85")
    code(a)
    a.op(b"\x87R")
    a.op(b"(").int_(1).int_(2).op(b"\x85")
    a.glob("numpy.dtype").s("f4")
    dtype_flag(a)
    a.op(b"\x88\x87R")
    a.op(b"(").int_(3).s("<").op(b"NNN").op(b"J\xff\xff\xff\xffJ\xff\xff\xff\xff").int_(0)
    a.op(b"tb")
    a.op(b"\x89").bytes_(struct.pack("<2f", 1.0, 2.0)).op(b"tb")
    return a


def numpy_reconstruct():
    a = Asm().op(b"}").s("a")
    numpy_array(a, lambda a: a.system("numpy_reconstruct"), lambda a: a.op(b"\x89"))
    return a.op(b"s").done()


def numpy_dtype():
    a = Asm().op(b"}").s("a")
    numpy_array(a, lambda a: a.bytes_(b"b"), lambda a: a.system("numpy_dtype"))
    return a.op(b"s").done()


def defaultdict_factory():
    """defaultdict(posix.system('touch ...')) with an item set on it."""
    a = Asm().op(b"}").s("d").glob("collections.defaultdict")
    a.system("defaultdict_factory").op(b"\x85R")
    a.s("k").int_(1).op(b"s")
    return a.op(b"s").done()


def popped():
    """posix.system(...), REDUCE, POP, then {'a': 1}: the call's result is thrown away."""
    a = Asm().system("popped").op(b"0")
    return a.op(b"}").s("a").int_(1).op(b"s").done()


# name: (file name, maker, the opaque object in the mount whose __reduce__ shows the call)
CASES = {
    "torch_hooks": ("torch_hooks.pt", torch_hooks, "w"),
    "torch_metadata": ("torch_metadata.pt", torch_metadata, "w"),
    "torch_parameter": ("torch_parameter.pt", torch_parameter, "p"),
    "numpy_reconstruct": ("numpy_reconstruct.pkl", numpy_reconstruct, "a"),
    "numpy_dtype": ("numpy_dtype.pkl", numpy_dtype, "a/__state__/2"),
    "defaultdict_factory": ("defaultdict_factory.pkl", defaultdict_factory, "d"),
    "popped": ("popped.pkl", popped, None),
}

# Lifted forms that must stay lifted: the same shapes with plain data where the calls were.
BENIGN = {
    "torch_plain.pt": lambda: torch_zip(
        tensor(Asm().op(b"}").s("w"), "0", empty_ordereddict, lambda a: a.op(b"N"))
        .op(b"s").done()),
    "numpy_plain.pkl": lambda: numpy_array(Asm(), lambda a: a.bytes_(b"b"),
                                           lambda a: a.op(b"\x89")).done(),
    "defaultdict_plain.pkl": lambda: Asm().glob("collections.defaultdict")
    .glob("builtins.list").op(b"\x85R").s("k").op(b"]").op(b"s").done(),
}


def main():
    os.makedirs(AUDIT, exist_ok=True)
    files = {fn: make for fn, make, _ in CASES.values()}
    files.update(BENIGN)
    for fn, make in files.items():
        with open(os.path.join(AUDIT, fn), "wb") as f:
            f.write(make())
    print("wrote %d fixtures to %s" % (len(files), AUDIT))


if __name__ == "__main__":
    main()
