#!/usr/bin/python3
"""make_stream_end_fixtures.py: a checkpoint cut short, as a crashed run leaves it, written by the
real producer (torch), for test_stream_end.py.

    /usr/bin/python3 tests/make_stream_end_fixtures.py

writes tests/fixtures/stream_end/tensors_p4_cut.bin: pickle.dumps of a dict of two tensors at
protocol 4 (each tensor's storage is a nested torch.save archive, as bytes), cut in half, and
tensors_p4_cut.json: the length of the whole pickle, and the offset and name of every opcode
pickletools.genops lists in the cut bytes before it runs out (the calls among them are what a
refusal lists). The files are committed, so the suite runs without torch; re-run only to change
them.
"""

import json
import os
import pickle
import pickletools
import sys

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "stream_end")


def genops_until_error(data):
    """(offset, opcode name) of every opcode pickletools reads before the data runs out."""
    ops = []
    try:
        for op, _arg, pos in pickletools.genops(data):
            ops.append((pos, op.name))
    except ValueError:
        pass
    return ops


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    state = {"layer.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4),
             "layer.bias": torch.ones(3), "step": 7}
    whole = pickle.dumps(state, protocol=4)
    cut = whole[:len(whole) // 2]
    with open(os.path.join(OUT, "tensors_p4_cut.bin"), "wb") as f:
        f.write(cut)
    ops = genops_until_error(cut)
    with open(os.path.join(OUT, "tensors_p4_cut.json"), "w") as f:
        json.dump({"whole_length": len(whole), "ops": ops}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
