"""test_refused.py: malformed pickles are refused with one precise line, and never mounted.

Each case is a byte string built here, the offset of the opcode that was being decoded when the
error was found (reasoned from the bytes; the comments show the layout, as pickletools.dis would),
and that opcode's pickletools name. For a length that runs past the end, the offset is that of the
opcode whose argument it is. Where no single offset is right (limits, running out between
opcodes) the offset is None and only the shape of the line is checked.

For every case:
- pkdump FILE exits 1 and prints exactly one line, `picklefs: FILE: WHAT at byte OFFSET (OPCODE)`
  (no case makes a call, so no call is listed after it: test_stream_end.py checks that list);
- picklefs -f FILE MNT does the same and mounts nothing;
- where marked, CPython's own unpickler refuses the bytes too (docs/CONTRACT.md: "A pickle is
  accepted when CPython's unpickler would accept its structure").
"""

import os
import pickle
import re
import tempfile

import pytest

import mountutil
from mountutil import run

LINE = re.compile(r"^(picklefs|pkdump): .+: .+ at byte \d+ \(.+\)$")
TAIL = re.compile(r"^(.+) at byte (\d+) \(([^()]+)\)$")
N = 1000000


def p2(body):
    return b"\x80\x02" + body


class Case:
    def __init__(self, name, data, offset, opcode, cpython_refuses=True):
        self.name, self.data, self.offset, self.opcode = name, data, offset, opcode
        self.cpython_refuses = cpython_refuses


_first = pickle.dumps(1, protocol=2)  # 0: PROTO 2, 2: BININT1 1, 4: STOP; 5 bytes
_list = pickle.dumps([1, 2, 3], protocol=2)
_str = pickle.dumps("hello world", protocol=2)  # 0: PROTO, 2: BINUNICODE len 11, ...

CASES = [
    Case("empty_file", b"", 0, None),
    # 0: PROTO 2, 2: BININT with 2 of its 4 bytes
    Case("truncated_in_argument", p2(b"J\x01\x00"), 2, "BININT"),
    # the STOP is missing: the data runs out between opcodes, at the end of the file
    Case("truncated_before_stop", _list[:-1], len(_list) - 1, None),
    # 2: BINUNICODE whose 11 bytes are cut short
    Case("truncated_in_string", _str[:-5], 2, "BINUNICODE"),
    Case("unknown_opcode_first", b"\xff", 0, None),
    # 0: PROTO, 2: EMPTY_LIST, 3: 0xff
    Case("unknown_opcode_later", p2(b"]\xff."), 3, None),
    Case("append_on_empty_stack", b"a.", 0, "APPEND"),
    # 2: EMPTY_LIST, 3: APPEND with no item above the list
    Case("append_without_item", p2(b"]a."), 3, "APPEND"),
    # 2: EMPTY_LIST, 3: MARK, 4: APPEND with only a MARK above the list
    Case("append_after_mark", p2(b"](a."), 4, "APPEND"),
    Case("pop_mark_without_mark", p2(b"1."), 2, "POP_MARK"),
    Case("tuple_without_mark", p2(b"t."), 2, "TUPLE"),
    Case("frozenset_without_mark", b"\x80\x04\x91.", 2, "FROZENSET"),
    Case("binget_missing", p2(b"h\x05."), 2, "BINGET"),
    Case("get_missing", b"g5\n.", 0, "GET"),
    Case("long_binget_missing", b"\x80\x04j\x00\x00\x00\x01.", 2, "LONG_BINGET"),
    Case("get_not_decimal", b"gx\n.", 0, "GET"),
    Case("binput_on_empty_stack", p2(b"q\x00."), 2, "BINPUT"),
    Case("memoize_on_empty_stack", b"\x80\x04\x94.", 2, "MEMOIZE"),
    # 2: EMPTY_DICT, 3: MARK, 4: BININT1 1, 6: SETITEMS with one item
    Case("setitems_odd", p2(b"}(K\x01u."), 6, "SETITEMS"),
    # 0: MARK, 1: BININT1 1, 3: DICT with one item
    Case("dict_odd", b"(K\x01d.", 3, "DICT"),
    Case("binunicode_length_past_end", p2(b"X\x10\x00\x00\x00abc."), 2, "BINUNICODE"),
    Case("short_binunicode_length_past_end", b"\x80\x03\x8c\x05ab", 2, "SHORT_BINUNICODE"),
    Case("binbytes8_length_2_63", b"\x80\x04\x8e" + (2**63).to_bytes(8, "little") + b".", 2,
         "BINBYTES8"),
    Case("binunicode8_length_2_64_minus_1", b"\x80\x04\x8d" + b"\xff" * 8 + b".", 2,
         "BINUNICODE8"),
    # BINSTRING's 4-byte length is signed: 0xffffffff is -1
    Case("binstring_negative_length", b"T\xff\xff\xff\xff.", 0, "BINSTRING"),
    Case("long4_negative_length", p2(b"\x8b\xff\xff\xff\xff."), 2, "LONG4"),
    Case("frame_past_end", b"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00K\x01.", 2, "FRAME"),
    Case("bad_utf8", b"\x80\x03X\x01\x00\x00\x00\xff.", 2, "BINUNICODE"),
    Case("int_not_a_number", b"Iabc\n.", 0, "INT"),
    Case("int_without_newline", b"I12", 0, "INT"),
    Case("float_not_a_number", b"Fabc\n.", 0, "FLOAT"),
    Case("string_unquoted", b"Sabc\n.", 0, "STRING"),
    Case("stop_on_empty_stack", b".", 0, "STOP"),
    Case("stop_on_mark", b"(.", 1, "STOP"),
    Case("protocol_6", b"\x80\x06N.", 0, "PROTO"),
    # unhashable keys and elements: CPython's dict and set refuse them
    # 2: EMPTY_DICT, 3: EMPTY_LIST, 4: BININT1 1, 6: SETITEM with a list as key
    Case("list_as_dict_key", p2(b"}]K\x01s."), 6, "SETITEM"),
    # 2: EMPTY_DICT, 3: EMPTY_LIST, 4: TUPLE1 ([],), 5: BININT1, 7: SETITEM
    Case("tuple_holding_list_as_key", p2(b"}]\x85K\x01s."), 7, "SETITEM"),
    # 2: EMPTY_DICT, 3: MARK, 4: EMPTY_DICT, 5: BININT1, 7: SETITEMS with a dict as key
    Case("dict_as_key_in_setitems", p2(b"}(}K\x01u."), 7, "SETITEMS"),
    # 2: EMPTY_SET, 3: MARK, 4: EMPTY_LIST, 5: ADDITEMS
    Case("list_in_set", b"\x80\x04\x8f(]\x90.", 5, "ADDITEMS"),
    # 2: MARK, 3: EMPTY_LIST, 4: FROZENSET
    Case("list_in_frozenset", b"\x80\x04(]\x91.", 4, "FROZENSET"),
    # 1,000,000 levels: a list in a list ... (CPython builds it; picklefs stops at its depth limit)
    Case("deep_marks_and_lists", b"(" * N + b"l" * N + b".", None, None, cpython_refuses=False),
    Case("deep_empty_lists_appends", p2(b"]" * N + b"a" * (N - 1) + b"."), None, None,
         cpython_refuses=False),
    Case("million_marks_no_stop", b"(" * N, None, None),
]
IDS = [c.name for c in CASES]


def cpython_load_all(data):
    """pickle.load until the data is used up, as a file of several pickles is read."""
    import io
    f = io.BytesIO(data)
    out = []
    while f.tell() < len(data) or not out:
        out.append(pickle.load(f))
    return out


@pytest.fixture
def case_file(request, tmp_path):
    case = request.param
    path = tmp_path / (case.name + ".pkl")
    path.write_bytes(case.data)
    return case, str(path)


def check_line(case, path, stderr, tool):
    """The one line reads `picklefs: FILE: WHAT at byte OFFSET (OPCODE)`. pkdump may name itself
    instead of picklefs; FILE is matched literally, since WHAT may hold ': ' too."""
    text = stderr.decode("utf-8", "replace")
    lines = text.splitlines()
    # none of these cases makes a call: no call is listed after the line
    assert len(lines) == 1, "%s %s: expected exactly one line on stderr, got %d:\n%s" % (
        tool, case.name, len(lines), text[:2000])
    line = lines[0]
    assert LINE.match(line), "%s %s: the line does not read 'picklefs: FILE: WHAT at byte OFFSET (OPCODE)': %r" % (
        tool, case.name, line)
    names = ("picklefs", tool)
    prefixes = ["%s: %s: " % (n, path) for n in names]
    assert any(line.startswith(p) for p in prefixes), "%s %s: the line does not start with %r: %r" % (
        tool, case.name, prefixes[0] if tool == "picklefs" else " or ".join(prefixes), line)
    rest = line.split(path + ": ", 1)[1]
    m = TAIL.match(rest)
    assert m, "%s %s: no 'WHAT at byte OFFSET (OPCODE)' after FILE: %r" % (tool, case.name, line)
    if case.offset is not None:
        assert int(m.group(2)) == case.offset, "%s %s: offset %s, expected %d: %r" % (
            tool, case.name, m.group(2), case.offset, line)
    if case.opcode is not None:
        assert m.group(3) == case.opcode, "%s %s: opcode %r, expected %r: %r" % (
            tool, case.name, m.group(3), case.opcode, line)


@pytest.mark.parametrize("case_file", CASES, ids=IDS, indirect=True)
def test_pkdump_refuses(case_file):
    case, path = case_file
    r = run([mountutil.pkdump_exe(), path], timeout=60)
    assert r.returncode == 1, "pkdump %s: expected exit 1, got %d; stderr %r" % (
        case.name, r.returncode, r.stderr[:500])
    assert r.stdout == b"", "pkdump %s printed a tree for a refused file: %r" % (
        case.name, r.stdout[:200])
    check_line(case, path, r.stderr, "pkdump")


@pytest.mark.parametrize("case_file", CASES, ids=IDS, indirect=True)
def test_picklefs_refuses_and_never_mounts(case_file):
    case, path = case_file
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), "-f", path, mnt], timeout=60)
        mounted = os.path.ismount(mnt)
        assert not mounted, "picklefs %s: the refused file is mounted" % case.name
        assert r.returncode == 1, "picklefs %s: expected exit 1, got %d; stderr %r" % (
            case.name, r.returncode, r.stderr[:500])
        check_line(case, path, r.stderr, "picklefs")
    finally:
        if os.path.ismount(mnt):
            run(["fusermount3", "-u", "-z", mnt])
        os.rmdir(mnt)


@pytest.mark.parametrize("case", [c for c in CASES if c.cpython_refuses],
                         ids=[c.name for c in CASES if c.cpython_refuses])
def test_cpython_refuses_too(case):
    """A check of the cases themselves: each is malformed for CPython as well."""
    with pytest.raises(Exception):
        cpython_load_all(case.data)


# Streams that CPython's unpickler accepts: what it accepts structurally is valid. pickle.loads
# stops at STOP, so bytes after it that are no pickle are shown, as __trailing__ (whose
# offsets count from the start of FILE).
ACCEPTED = [
    ("values_left_on_stack", b"K\x01K\x02.", b"0 = 2\\n"),
    ("mark_left_on_stack", b"(K\x01.", b"0 = 1\\n"),
    ("data_after_stop", _first + b"\xff", b"__trailing__ = \\xff"),
    ("second_pickle_truncated", _first + p2(b"J\x01"), b"__trailing__ = \\x80\\x02J\\x01"),
    ("second_pickle_bad", _first + p2(b"]a."), b"__trailing__ = \\x80\\x02]a."),
]


@pytest.mark.parametrize("name,data,line", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_cpython_accepts_so_picklefs_accepts(tmp_path, name, data, line):
    pickle.loads(data)  # the harness: CPython does accept it
    path = tmp_path / (name + ".pkl")
    path.write_bytes(data)
    r = run([mountutil.pkdump_exe(), str(path)])
    assert r.returncode == 0, ("pkdump %s: CPython's pickle.loads accepts these bytes, but pkdump "
                               "exits %d: %r" % (name, r.returncode, r.stderr))
    assert any(l.endswith(line) for l in r.stdout.splitlines()), (
        "pkdump %s: no line ending %r in %r" % (name, line, r.stdout))


# Each limit option refuses a file past it, with its own message, at the opcode that crossed
# it; the defaults let the same file through. A memo that shares one list a million times is
# tiny on disk but 4 MB of item slots once decoded. A dict of 200,000 keys fits in 9 MB while
# decoded (7.5 MB would not), but not with its name table: that refusal names the dict's opcode
# too.
LIMIT_CASES = [
    ("max_memory=4M", b"\x80\x04]\x94(" + b"h\x00" * 1000000 + b"e.",
     "memory past the limit of 4194304 bytes"),
    ("max_memory=9M", pickle.dumps({str(i): i for i in range(200000)}, 4),
     "memory past the limit of 9437184 bytes"),
    ("max_nodes=1000", pickle.dumps(list(range(2000)), 4), "more than 1000 values (the limit)"),
    ("max_depth=2", pickle.dumps([[[1]]], 4), "nesting deeper than 2 (the limit)"),
    ("max_memo=10", pickle.dumps([[i] for i in range(20)], 4), "past the limit of 10"),
]


@pytest.mark.parametrize("option, data, message", LIMIT_CASES, ids=[c[0] for c in LIMIT_CASES])
def test_limit_options_refuse(tmp_path, option, data, message):
    path = tmp_path / "limit.pkl"
    path.write_bytes(data)
    r = run([mountutil.pkdump_exe(), "-o", option, str(path)], timeout=60)
    assert r.returncode == 1, "pkdump -o %s: exit %d, stderr %r" % (option, r.returncode, r.stderr)
    line = r.stderr.decode()
    assert line.count("\n") == 1 and message in line, "pkdump -o %s: %r" % (option, line)
    assert re.search(r" at byte \d+ \(\w+\)$", line.strip()), "pkdump -o %s: %r" % (option, line)
    mnt = tempfile.mkdtemp(prefix="picklefs-mnt-")
    try:
        r = run([mountutil.picklefs_exe(), "-f", "-o", option, str(path), mnt], timeout=60)
        assert r.returncode == 1 and not os.path.ismount(mnt), (option, r.returncode, r.stderr)
        assert message in r.stderr.decode(), (option, r.stderr)
    finally:
        if os.path.ismount(mnt):
            run(["fusermount3", "-u", "-z", mnt])
        os.rmdir(mnt)
    r = run([mountutil.pkdump_exe(), str(path)], timeout=60)
    assert r.returncode == 0, "the defaults refuse it: %r" % r.stderr
