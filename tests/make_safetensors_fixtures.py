#!/usr/bin/python3
"""make_safetensors_fixtures.py: safetensors files beside torch.save checkpoints of the same
tensors, with what torch returns for each tensor.

    /usr/bin/python3 tests/make_safetensors_fixtures.py

writes tests/fixtures/safetensors/NAME.safetensors, NAME.pt (torch.save of the same state dict)
and expect.json. test_safetensors.py mounts each file, checks every tensor against expect.json
(dtype as torch names it, shape, zlib.crc32 of the bytes, byte count) and requires the two
mounts to differ only as docs/CONTRACT.md says. The files are committed; re-run only to change
them.

Debian has no safetensors package, so the files are written by write_safetensors() below, a
small writer of the format as its documentation lays it out: an 8-byte little-endian header
length N, N bytes of JSON, then the tensors' bytes. The JSON maps each tensor's name to
{"dtype", "shape", "data_offsets": [begin, end]} (offsets from the start of the data) and
"__metadata__" to a str-to-str map, written first. As the reference writer does, the tensors
are laid out larger element types first, then by name, with no gaps, in that order in the
header too, and the header is padded with spaces so that the data starts at a multiple of 8.
"""

import json
import os
import struct
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "safetensors")
EXPECT = {}

ST_DTYPES = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
             torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32",
             torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def raw_bytes(t):
    """A tensor's element bytes in C order (bfloat16 through its int16 view)."""
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name in order:
        t = tensors[name]
        b = raw_bytes(t)
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def tensor_expect(t):
    b = raw_bytes(t)
    return {"dtype": str(t.dtype), "shape": list(t.shape), "crc32": zlib.crc32(b),
            "nbytes": len(b)}


def make(name, tensors, metadata=None):
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, metadata)
    torch.save(tensors, os.path.join(OUT, name + ".pt"))
    EXPECT[name] = {"tensors": {k: tensor_expect(v) for k, v in tensors.items()},
                    "metadata": metadata or {}}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                torch.nn.Linear(4, 2))
    # the state dict itself, an OrderedDict carrying its _metadata, as torch.save writes it
    make("model", model.state_dict(), {"format": "pt", "note": "two layers"})
    make("dtypes", {
        "half": torch.tensor([0.1, -2.0, 65504.0], dtype=torch.float16),
        "bf16": torch.randn(5).to(torch.bfloat16),
        "f64": torch.randn(2, 2, dtype=torch.float64),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.arange(4, dtype=torch.uint8),
        "i16": torch.tensor([-3, 300], dtype=torch.int16),
        "i32": torch.tensor([[1, 2, 3]], dtype=torch.int32),
        "mask": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "big": torch.randn(1500),  # summarised past 1000 elements
        "layer/odd name": torch.ones(1),  # a / in a name, as in a dict key
    })
    with open(os.path.join(OUT, "expect.json"), "w", encoding="utf-8") as f:
        json.dump(EXPECT, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
