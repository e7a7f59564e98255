"""test_stream_end.py: where a pickle stream ends, and what a failed decode still shows.

- Bytes after the last complete pickle that are no pickle (a newline, a NUL, junk, a pickle cut
  short, a pickle with a missing memo entry) are shown at the root as the bytes file
  __trailing__, with one warning line naming their offset and count, and the rest of the file
  mounts exactly as it does without them. CPython's pickle.loads reads the same files (it stops
  at STOP).
- A refusal prints its one line, then the calls decoded before the error, one a line, at the
  offsets pickletools.genops gives their opcodes, at most 20 and then "and N more calls".
- -o partial mounts what decoded before the error, with the error as __error__: hand-made
  pickles whose error comes after a canary call (found by grep -r, never run), a cut legacy
  torch checkpoint, and a protocol-4 pickle of tensors cut in half
  (tests/make_stream_end_fixtures.py).
"""

import io
import json
import os
import pickle
import pickletools
import subprocess
import tempfile

import pytest

import mountutil
import spec_model
from mountutil import run

FIXTURES = os.path.join(mountutil.FIXTURES, "stream_end")
CALL_OPS = ("REDUCE", "NEWOBJ", "NEWOBJ_EX", "INST", "OBJ")
VALUE = {"name": "demo", "sizes": [1, 2, 3], "nested": {"a": (1, 2.5)}}


def call_offsets(data):
    """The offsets of the call opcodes pickletools reads, pickle after pickle, until it fails."""
    out, f = [], io.BytesIO(data)
    while f.tell() < len(data):
        try:
            for op, _arg, pos in pickletools.genops(f):
                if op.name in CALL_OPS:
                    out.append(pos)
        except ValueError:
            break
    return out


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def pkdump(*args):
    return run([mountutil.pkdump_exe(), *args], timeout=60)


# ---- bytes after the stream ----

TAILS = [
    ("newline", b"\n"),
    ("nul", b"\x00"),
    ("junk", b"this is no pickle\xff\xfe"),
    ("cut_pickle", pickle.dumps(VALUE, protocol=2)[:20]),
    ("missing_memo", b"\x80\x02h\x07."),
]


@pytest.mark.parametrize("proto", [2, 5])
@pytest.mark.parametrize("name,tail", TAILS, ids=[t[0] for t in TAILS])
def test_trailing_bytes_are_shown(tmp_path, proto, name, tail):
    whole = pickle.dumps(VALUE, protocol=proto)
    data = whole + tail
    assert pickle.loads(data) == VALUE  # CPython stops at STOP and ignores the rest
    plain = write(tmp_path, "plain.pkl", whole)
    path = write(tmp_path, name + ".pkl", data)
    r = pkdump(path)
    assert r.returncode == 0, r.stderr
    n = len(tail)
    assert r.stderr.decode() == (
        "pkdump: %s: warning: %d byte%s at byte %d, after the last pickle, %s no pickle: "
        "shown as __trailing__\n" % (path, n, "" if n == 1 else "s", len(whole),
                                    "is" if n == 1 else "are"))
    with mountutil.mount(plain) as mnt:
        expected = mountutil.walk(mnt)
    with mountutil.mount(path) as mnt:
        tree = mountutil.walk(mnt)
    extra = spec_model.join(spec_model.ROOT, b"__trailing__")
    got = tree.pop(extra)
    assert got["kind"] == "file" and got["content"] == tail
    assert got["xattr"][spec_model.XA_TYPE] == b"bytes"
    assert got["xattr"][spec_model.XA_OFFSET] == str(len(whole)).encode()
    tree[spec_model.ROOT]["children"].remove(b"__trailing__")
    assert mountutil.normalized(tree) == mountutil.normalized(expected)


def test_picklefs_warns(tmp_path):
    whole = pickle.dumps(VALUE, protocol=4)
    path = write(tmp_path, "nl.pkl", whole + b"\n")
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), path, mnt], timeout=60)
        assert r.returncode == 0 and os.path.ismount(mnt), r.stderr
        assert r.stderr.decode() == (
            "picklefs: %s: warning: 1 byte at byte %d, after the last pickle, is no pickle: "
            "shown as __trailing__\n" % (path, len(whole)))
        with open(os.path.join(mnt, "__trailing__"), "rb") as f:
            assert f.read() == b"\n"
    finally:
        run(["fusermount3", "-u", mnt])
        os.rmdir(mnt)


def test_stream_of_pickles_then_junk(tmp_path):
    data = pickle.dumps(1, 2) + pickle.dumps([2], 2) + b"\r\n"
    path = write(tmp_path, "stream.pkl", data)
    r = pkdump(path)
    assert r.returncode == 0
    assert r.stdout == b"0 = 1\\n\n1/0 = 2\\n\n__trailing__ = \\x0d\\n\n"


def test_trailing_name_taken_by_a_key(tmp_path):
    data = pickle.dumps({"__trailing__": "mine"}, 3) + b"\x00\x01"
    path = write(tmp_path, "taken.pkl", data)
    with mountutil.mount(path) as mnt:
        assert sorted(os.listdir(mnt)) == ["__trailing__", "__trailing__~1"]
        with open(os.path.join(mnt, "__trailing__")) as f:
            assert f.read() == "mine\n"
        with open(os.path.join(mnt, "__trailing__~1"), "rb") as f:
            assert f.read() == b"\x00\x01"


def test_a_million_failing_bytes_end_the_stream_once(tmp_path):
    """Only the first failure ends the stream: a long tail costs one attempt."""
    whole = pickle.dumps(VALUE, 2)
    path = write(tmp_path, "long.pkl", whole + b"(" * 1000000)
    r = pkdump(path)
    assert r.returncode == 0 and b"1000000 bytes at byte %d" % len(whole) in r.stderr


# ---- errors keep what was seen ----

def canary(name):
    return "/tmp/CANARY-picklefs-stream-end-%s" % name


def system_call(name):
    """posix.system('touch CANARY') by REDUCE, protocol 2 opcodes, its result left on the stack."""
    cmd = ("touch " + canary(name)).encode()
    return b"cposix\nsystem\nX" + len(cmd).to_bytes(4, "little") + cmd + b"\x85R"


HOSTILE = {
    # the call, then a dict whose value is a memo entry never put
    "missing_memo": b"\x80\x02" + system_call("missing_memo") + b"}X\x01\x00\x00\x00ah\x09s.",
    # the call, then STACK_GLOBAL of two ints
    "stack_global_int": b"\x80\x04" + system_call("stack_global_int") + b"K\x01K\x02\x93.",
    # the call inside a list, then the data runs out
    "no_stop": b"\x80\x02](" + system_call("no_stop"),
}


@pytest.fixture(autouse=True)
def no_canaries():
    for name in HOSTILE:
        assert not os.path.exists(canary(name))
    yield
    for name in HOSTILE:
        assert not os.path.exists(canary(name)), "a canary ran: " + canary(name)


def refusal_lines(data, error, tool, path):
    calls = ["  call at byte %d: posix.system('touch %s')" % (off, c)
             for off, c in zip(call_offsets(data), [canary(n) for n in HOSTILE if HOSTILE[n] == data])]
    return ["%s: %s: %s" % (tool, path, error)] + calls


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_refusal_lists_the_calls_before_it(tmp_path, name):
    data = HOSTILE[name]
    harmless = data.replace(b"posix\nsystem", b"builtins\nlen")  # len('touch ...') runs
    with pytest.raises((pickle.UnpicklingError, EOFError)):
        pickle.loads(harmless)  # CPython refuses it too, after the call
    path = write(tmp_path, name + ".pkl", data)
    r = pkdump(path)
    assert r.returncode == 1 and r.stdout == b""
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 2, lines
    error = lines[0].split(path + ": ", 1)[1]
    assert lines == refusal_lines(data, error, "pkdump", path)
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), "-f", path, mnt], timeout=60)
        assert r.returncode == 1 and not os.path.ismount(mnt)
        assert r.stderr.decode().splitlines() == refusal_lines(data, error, "picklefs", path)
    finally:
        if os.path.ismount(mnt):
            run(["fusermount3", "-u", "-z", mnt])
        os.rmdir(mnt)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_partial_mount_shows_the_call_and_the_error(tmp_path, name):
    data = HOSTILE[name]
    path = write(tmp_path, name + ".pkl", data)
    error = pkdump(path).stderr.decode().splitlines()[0].split(path + ": ", 1)[1]
    with mountutil.mount(path, ["-o", "partial"]) as mnt:
        with open(os.path.join(mnt, "__error__")) as f:
            assert f.read() == error + "\n"
        g = subprocess.run(["grep", "-rl", canary(name), mnt], capture_output=True)
        assert g.returncode == 0, "grep -r finds no canary call in the partial mount"
        assert b"__reduce__" in g.stdout
    r = pkdump("-o", "partial", path)
    assert r.returncode == 0 and ("__error__ = %s\\n" % error).encode() in r.stdout


def test_refusal_lists_at_most_20_calls(tmp_path):
    data = b"\x80\x02(" + b"".join(system_call("many") for _ in range(25))
    path = write(tmp_path, "many.pkl", data)
    r = pkdump(path)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and len(lines) == 22, lines
    offs = call_offsets(data)
    assert len(offs) == 25
    assert lines[1:21] == ["  call at byte %d: posix.system('touch %s')" % (o, canary("many"))
                           for o in offs[:20]]
    assert lines[21] == "  and 5 more calls"
    assert not os.path.exists(canary("many"))


def test_cut_legacy_checkpoint_is_browsable(tmp_path):
    with open(os.path.join(mountutil.FIXTURES, "ckpt", "torch_legacy.bin"), "rb") as f:
        whole = f.read()
    data = whole[:len(whole) // 2]
    path = write(tmp_path, "legacy_cut.bin", data)
    r = pkdump(path)
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1
    assert [int(l.split()[3][:-1]) for l in lines[1:]] == call_offsets(data)
    assert any("_rebuild_tensor_v2(" in l for l in lines[1:])
    with mountutil.mount(path, ["-o", "partial"]) as mnt:
        names = os.listdir(mnt)
        assert "__error__" in names and "3" in names  # magic, protocol, sys info, the cut one
        with open(os.path.join(mnt, "2", "little_endian")) as f:
            assert f.read() == "True\n"
        with open(os.path.join(mnt, "3", "1")) as f:
            assert f.read() == "0.weight\n"
        with open(os.path.join(mnt, "__error__")) as f:
            assert f.read() == lines[0].split(path + ": ", 1)[1] + "\n"


def test_cut_protocol_4_tensors_are_browsable():
    path = os.path.join(FIXTURES, "tensors_p4_cut.bin")
    with open(os.path.join(FIXTURES, "tensors_p4_cut.json")) as f:
        made = json.load(f)
    ops = made["ops"]
    with open(path, "rb") as f:
        data = f.read()
    r = pkdump(path)
    lines = r.stderr.decode().splitlines()
    # the first FRAME is cut: CPython fails there, before any call in it runs
    assert r.returncode == 1 and lines[0].endswith("at byte 2 (FRAME)") and len(lines) == 1
    assert ops[1] == [2, "FRAME"]
    with mountutil.mount(path, ["-o", "partial"]) as mnt:
        with open(os.path.join(mnt, "1")) as f:
            assert f.read() == "layer.weight\n"  # the first key, on the cut dict's stack
        assert os.path.isdir(os.path.join(mnt, "0"))  # the dict itself, its items not set yet
        with open(os.path.join(mnt, "__error__")) as f:
            assert f.read() == lines[0].split(path + ": ", 1)[1] + "\n"
    assert len(data) == made["whole_length"] // 2
