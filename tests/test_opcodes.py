"""The opcode table in codec/opcodes.def must be CPython's: same names, bytes, argument kinds
and protocols as pickletools.opcodes, and nothing more or less."""

import pathlib
import pickletools
import re

DEF = pathlib.Path(__file__).resolve().parent.parent / "codec" / "opcodes.def"

# how our argument kinds are named in pickletools (BYTEARRAY8 reads like BINBYTES8)
ARG_NAMES = {
    "DECIMALNL_SHORT": {"decimalnl_short"}, "INT4": {"int4"}, "UINT1": {"uint1"},
    "UINT2": {"uint2"}, "UINT4": {"uint4"}, "UINT8": {"uint8"},
    "DECIMALNL_LONG": {"decimalnl_long"}, "LONG1": {"long1"}, "LONG4": {"long4"},
    "STRINGNL": {"stringnl"}, "STRING4": {"string4"}, "STRING1": {"string1"},
    "BYTES4": {"bytes4"}, "BYTES1": {"bytes1"}, "BYTES8": {"bytes8", "bytearray8"},
    "UNICODENL": {"unicodestringnl"}, "UNICODE1": {"unicodestring1"},
    "UNICODE4": {"unicodestring4"}, "UNICODE8": {"unicodestring8"},
    "FLOATNL": {"floatnl"}, "FLOAT8": {"float8"}, "NAMEPAIR": {"stringnl_noescape_pair"},
    "NAMENL": {"stringnl_noescape"}, "NONE": {None},
}


def table():
    rows = re.findall(r"^PK_OP\((\w+), 0x([0-9a-f]{2}), (\w+), (\d)\)$", DEF.read_text(), re.M)
    return {name: (int(code, 16), arg, int(proto)) for name, code, arg, proto in rows}


def test_same_opcodes_as_pickletools():
    ours = table()
    assert len(ours) == len(pickletools.opcodes) == 68
    for op in pickletools.opcodes:
        assert op.name in ours, op.name
        code, arg, proto = ours[op.name]
        assert code == ord(op.code), op.name
        assert (op.arg.name if op.arg else None) in ARG_NAMES[arg], op.name
        assert proto == op.proto, op.name
