"""test_dump.py: the dump (`pkdump FILE`, `picklefs --dump FILE`) against a real mount.

Run with `meson test -C build` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_dump.py

The dump is the way to search a pickle too large to walk through a mount, so it must say what
the mount shows. What is checked, on every fixture that decodes (core, objects, checkpoints) and
on pickles made here with long bytes and awkward names:
- the dump's lines are exactly the mount's leaves in the mount's depth-first readdir order, one
  line each: every file as PATH = CONTENT, every symlink as PATH -> TARGET, every empty directory
  as PATH/ (the root as ./), with the escapes written out here from the rules in
  docs/CONTRACT.md, not taken from the C code;
- every line is valid UTF-8 (decoded strictly), and the first ' = ' or ' -> ' of a line ends its
  path;
- an array's NAME.raw is left out, and a bytes value past 1024 bytes is cut, with its size;
  `pkdump --full` shows both whole;
- `picklefs --dump` prints exactly what `pkdump` prints.
"""

import glob
import os
import pickle
import re

import pytest

import mountutil
import spec_model
from mountutil import mount, run, walk

FIX = mountutil.FIXTURES
BYTES_MAX = 1024
REFUSED = ("bad_", "truncated_", "garbage_", "encrypted", "tensors_p4_cut")  # made to be refused
FIXTURES = sorted(f for f in glob.glob(os.path.join(FIX, "**", "*"), recursive=True)
                  if os.path.isfile(f) and not f.endswith((".json", ".npy.z"))  # .npy.z: raw
                  # array bytes in joblib's zlib file, a side file of an old joblib dump
                  and not os.path.basename(f).startswith(REFUSED))
SEPARATOR = re.compile(r" = | -> ")


def escape(data, path=False):
    """data as the dump writes it: well-formed UTF-8 as it is (Python's strict decoder agrees
    with Unicode's table of well-formed sequences), a backslash, newline and tab as \\\\, \\n,
    \\t, every other control character and every byte of no well-formed sequence as \\xNN; in a
    path, a space that begins ' = ' or ' -> ' (the path's end counting as a space) as \\x20."""
    text = data.decode("utf-8", "surrogateescape")
    out = []
    for i, ch in enumerate(text):
        c = ord(ch)
        if 0xdc80 <= c <= 0xdcff:  # a byte of no well-formed sequence
            out.append("\\x%02x" % (c - 0xdc00))
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or c == 0x7f:
            out.append("\\x%02x" % c)
        elif path and ch == " " and (text[i + 1:] + " ").startswith(("= ", "-> ")):
            out.append("\\x20")
        else:
            out.append(ch)
    return "".join(out)


def is_raw(tree, path, e):
    """Is this file an array's element bytes, NAME.raw beside the summary NAME? Such a file is
    no dict item (it has no user.pickle.key) and its summary is an ndarray or a tensor."""
    if e["kind"] != "file" or not path.endswith(b".raw") or spec_model.XA_KEY in e["xattr"]:
        return False
    summary = tree.get(path[:-4])
    return summary is not None and summary["xattr"].get(spec_model.XA_TYPE) in (
        b"ndarray", b"tensor")


def expected_lines(tree, full=False):
    """The dump of a mounted tree (walk()'s, in its depth-first readdir order), line by line."""
    lines = []
    for path, e in tree.items():
        if not full and is_raw(tree, path, e):
            continue
        shown = "." if path == spec_model.ROOT else escape(path, path=True)
        if e["kind"] == "dir":
            if not e["children"]:
                lines.append(shown + "/")
        elif e["kind"] == "link":
            lines.append(shown + " -> " + escape(os.fsencode(e["target"])))
        else:
            content = e["content"]
            kind = e["xattr"].get(spec_model.XA_TYPE)
            if not full and kind in (b"bytes", b"bytearray") and len(content) > BYTES_MAX and \
                    not is_raw(tree, path, e):
                lines.append("%s = %s\\... (%d bytes)" % (
                    shown, escape(content[:BYTES_MAX]), len(content)))
            else:
                lines.append(shown + " = " + escape(content))
    return lines


def dump_lines(cmd):
    r = run(cmd, timeout=120)
    assert r.returncode == 0, "%s: exit %d: %r" % (cmd, r.returncode, r.stderr)
    assert not mountutil.alarming(r.stderr.decode("utf-8", "replace")), r.stderr
    try:
        text = r.stdout.decode("utf-8")
    except UnicodeDecodeError as e:
        pytest.fail("%s: not UTF-8: %s" % (cmd, e))
    assert text.endswith("\n"), "%s: the last line is not whole: %r" % (cmd, text[-80:])
    return text.split("\n")[:-1]


def first_difference(want, got):
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            return "line %d:\n  mount %s\n  dump  %s" % (i + 1, a[:300], b[:300])
    return "the mount has %d lines, the dump %d; the first extra: %r" % (
        len(want), len(got), (want[len(got):] or got[len(want):])[0][:300])


def check_against_mount(file, full=False):
    with mount(file) as mnt:
        tree = walk(mnt)
    want = expected_lines(tree, full)
    got = dump_lines([mountutil.pkdump_exe()] + (["--full"] if full else []) + [file])
    assert got == want, "%s: the dump is not the mount's leaves: %s" % (
        file, first_difference(want, got))
    for line in got:  # every line names a path, whole, before its first separator
        m = SEPARATOR.search(line)
        assert m or line.endswith("/"), "%s: %r has no separator" % (file, line)
    return tree, got


@pytest.mark.parametrize("file", FIXTURES, ids=[os.path.relpath(f, FIX) for f in FIXTURES])
def test_dump_is_the_mounts_leaves(file):
    check_against_mount(file)


def test_full_dump_has_the_raw_bytes():
    """--full adds every NAME.raw (hidden from listings), whole, after its directory's listed
    entries."""
    file = os.path.join(FIX, "ckpt", "torch_ckpt.bin")
    check_against_mount(file)
    short = dump_lines([mountutil.pkdump_exe(), file])
    full = dump_lines([mountutil.pkdump_exe(), "--full", file])
    assert not any(l.split(" = ", 1)[0].endswith(".raw") for l in short), short
    extra = [i for i, l in enumerate(full) if l not in short]
    assert extra, "the fixture has no NAME.raw to leave out"
    assert len(full) == len(short) + len(extra)
    with mount(file) as mnt:
        for i in extra:
            path, _, content = full[i].partition(" = ")
            assert path.endswith(".raw") and any(l.startswith(path[:-4] + " = ") for l in full[:i])
            with open(os.path.join(mnt, path), "rb") as g:
                assert content == escape(g.read()), path


def awkward():
    """Values the dump cuts or escapes, and names that hold its separators."""
    return {
        "blob": bytes(range(256)) * 8192,  # 2 MiB: cut
        "edge": b"\xff" * BYTES_MAX,  # exactly the bound: whole
        "past": bytearray(b"a\n" * 513),  # 1026 bytes: cut
        "cut utf8": b"a" + "é".encode() * 600,  # cut inside a sequence: its half escaped
        "text": "needle " * 100000,  # str: never cut
        "a = b": 1, "a =": 2, "x -> y": 3, "x ->": 4, "tab\there": "line\nbreak\\",
        "bad \udcff name": "surrogate \ud800",
        "nested": {"empty": {}, "list": [], "tuple": (), "k = v": {"deep": b"\x00\x7f"}},
    }


@pytest.mark.parametrize("proto", [2, 5])
def test_dump_of_awkward_values(tmp_path, proto):
    path = tmp_path / "awkward.pkl"
    path.write_bytes(pickle.dumps(awkward(), protocol=proto))
    tree, lines = check_against_mount(str(path))
    by_path = {SEPARATOR.split(l, 1)[0]: l for l in lines}
    assert by_path["blob"].endswith("\\... (2097152 bytes)"), by_path["blob"][-80:]
    assert len(by_path["blob"]) < 4 * BYTES_MAX + 100
    assert "..." not in by_path["edge"]
    assert by_path["text"].count("needle") == 100000
    assert by_path["a\\x20= b"] == "a\\x20= b = 1\\n"
    assert "nested/empty/" in lines and "nested/list/" in lines
    check_against_mount(str(path), full=True)


def test_empty_root_is_one_line(tmp_path):
    path = tmp_path / "empty.pkl"
    path.write_bytes(pickle.dumps({}, protocol=4))
    _, lines = check_against_mount(str(path))
    assert lines == ["./"]


@pytest.mark.parametrize("name", ["demo.pkl", "ckpt/torch_ckpt.bin", "objects/lifted_p5.pkl"])
def test_picklefs_dump_is_pkdump(name):
    file = os.path.join(FIX, name)
    assert dump_lines([mountutil.picklefs_exe(), "--dump", file]) == \
        dump_lines([mountutil.pkdump_exe(), file])


def test_grep_names_the_path_of_every_match():
    """What the README shows: grep of the dump prints the whole path of each match."""
    r = run(["sh", "-c", '"$0" "$1" | grep example.org', mountutil.pkdump_exe(),
             os.path.join(FIX, "demo.pkl")])
    assert r.returncode == 0, r
    got = sorted(r.stdout.decode().splitlines())
    assert got == ["users/0/email = ada@example.org\\n", "users/1/email = alan@example.org\\n",
                   "users/2/email = grace@example.org\\n"], got


def test_usage():
    assert run([mountutil.pkdump_exe(), "--full"]).returncode == 2
    assert run([mountutil.pkdump_exe(), "--bogus", "x"]).returncode == 2
    r = run([mountutil.pkdump_exe(), "--help"])
    assert r.returncode == 0 and b"--full" in r.stdout
