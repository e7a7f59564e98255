#!/usr/bin/python3
"""make_cut_fixtures.py: write a real torch.save checkpoint and copies of it cut short, as a
run that crashed while writing it leaves them (the zip's central directory, written last, is
missing), which test_cut.py mounts with -o partial.

Run it from anywhere with /usr/bin/python3 (it needs Debian's python3-torch):

    /usr/bin/python3 tests/make_cut_fixtures.py

It writes tests/fixtures/cut/full.pt, truncated_NAME.pt for each cut (the prefix that the suites
walking every fixture know as refused), and expect.json: for each file, the tensors whose storage
member is whole in it, with their values as torch gives them. The
files are committed; re-run the script only to change them. torch.save is deterministic for the
same tensors and torch version, but the committed files, not this script, are the reference.
"""

import collections
import io
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CUT = os.path.join(HERE, "fixtures", "cut")


def checkpoint():
    import torch
    state = collections.OrderedDict()
    state["a"] = torch.arange(4, dtype=torch.float32)
    state["b"] = torch.arange(6, dtype=torch.int64).reshape(2, 3)
    state["c"] = torch.ones(3, dtype=torch.float64)
    buf = io.BytesIO()
    torch.save({"epoch": 3, "state": state}, buf)
    values = {k: v.flatten().tolist() for k, v in state.items()}
    return buf.getvalue(), values


def members(data):
    """(name, start of its local header, end of its data descriptor) of each member, in
    order, read as the scan in zip_scan.c reads them."""
    out, at = [], 0
    while data[at:at + 4] == b"PK\x03\x04":
        nlen, xlen = struct.unpack("<HH", data[at + 26:at + 30])
        name = data[at + 30:at + 30 + nlen].decode()
        start = at + 30 + nlen + xlen
        desc = data.index(b"PK\x07\x08", start)
        out.append((name, at, desc + 16))
        at = desc + 16
    return out, at


def cuts(data):
    """name -> where to cut, in the members' layout of this file."""
    ms, directory = members(data)
    ends = {name.split("/", 1)[1]: (start, end) for name, start, end in ms}
    return {
        "no_directory": directory,                        # every member whole
        "in_storage_1": ends["data/1"][0] + 50,           # data/0 whole, data/1 cut short
        "after_storage_0": ends["data/0"][1],             # data/0 whole, then nothing
        "after_data_pkl": ends["data.pkl"][1],            # no storage at all
        "in_data_pkl": ends["data.pkl"][0] + 200,         # the pickle itself cut short
    }


def main():
    data, values = checkpoint()
    os.makedirs(CUT, exist_ok=True)
    storage_of = {"a": "data/0", "b": "data/1", "c": "data/2"}
    expect = {}
    with open(os.path.join(CUT, "full.pt"), "wb") as f:
        f.write(data)
    ms, _ = members(data)
    for name, at in sorted(cuts(data).items()):
        part = data[:at]
        with open(os.path.join(CUT, "truncated_%s.pt" % name), "wb") as f:
            f.write(part)
        whole = {n.split("/", 1)[1] for n, _s, end in ms if end <= at}
        expect["truncated_%s.pt" % name] = {
            "whole": {k: values[k] for k, s in storage_of.items() if s in whole},
            "missing": sorted(k for k, s in storage_of.items() if s not in whole),
            "data_pkl_whole": "data.pkl" in whole,
        }
    with open(os.path.join(CUT, "expect.json"), "w") as f:
        json.dump(expect, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d files to %s" % (len(expect) + 2, CUT))


if __name__ == "__main__":
    sys.exit(main())
