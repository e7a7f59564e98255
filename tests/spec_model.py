"""spec_model.py: an independent reference model of docs/CONTRACT.md, written in Python.

Given the objects that CPython's pickle.load returns for a file, expected_tree() computes what the
mounted tree must look like, without looking at the C code. Where the contract is silent the model
follows the project's decisions, which are:

- Root: one pickle whose top is a container -> that container; several pickles, or one scalar ->
  an indexed folder '0', '1', ... of type 'stream'.
- dict: entries in insertion order; list, tuple: '0'..'n-1'; set, frozenset: '0'..'n-1' with the
  elements sorted by (rendering bytes, user.pickle.type). The rendering of a leaf is its file
  content, of a tuple its repr(), of a frozenset 'frozenset({' + the elements' reprs, sorted the
  same way and joined by ', ' + '})'.
- Leaves: str -> UTF-8 (surrogatepass) + '\\n'; int -> decimal + '\\n'; float -> repr + '\\n';
  bool, None -> 'True', 'False', 'None' + '\\n'; bytes, bytearray -> the raw bytes.
- Dict entry names: a valid str key is the name; any other key is named by repr(key); a repr that
  is not a valid name has each '/' replaced by the four characters '\\x2f' and, when longer than
  255 bytes, is cut to at most 240 bytes at a character boundary and gets '...'. A name already
  given to an earlier entry of the same directory gets the first free '~1', '~2', ...
- A container (not the empty tuple or empty frozenset, which CPython makes singletons) reached a
  second time is a symlink, relative, to its first place in depth-first preorder of the tree.
- Modes: directories 0555, files 0444; st_nlink of a directory = 2 + its subdirectories.
- xattrs: user.pickle.type on every entry; user.pickle.key = repr(key) on every dict entry;
  user.pickle.offset on every entry (a decimal number; its value is not modelled).

Paths are bytes, relative to the root, which is b'.'; names may hold any byte but '/' and NUL.
"""

import pickle
import posixpath
import sys

if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)

CONTAINERS = (dict, list, tuple, set, frozenset)
XA_TYPE = "user.pickle.type"
XA_KEY = "user.pickle.key"
XA_OFFSET = "user.pickle.offset"
ROOT = b"."

TYPE_NAMES = {
    dict: "dict", list: "list", tuple: "tuple", set: "set", frozenset: "frozenset",
    str: "str", int: "int", float: "float", bool: "bool", type(None): "none",
    bytes: "bytes", bytearray: "bytearray",
}


def enc(s):
    """A Python str as the bytes the filesystem shows: UTF-8, lone surrogates passed through."""
    return s.encode("utf-8", "surrogatepass")


def load_all(path):
    """Every pickle in the file, in order, loaded like the stream reader would: pickle.load
    repeatedly on one file handle until the end of the file."""
    objs = []
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        while f.tell() < size:
            objs.append(pickle.load(f))
    return objs


def type_name(obj):
    try:
        return TYPE_NAMES[type(obj)]
    except KeyError:
        raise TypeError("spec_model does not model %r" % type(obj)) from None


def render_leaf(obj):
    """The file content of a leaf."""
    if isinstance(obj, bool) or obj is None:
        return enc(repr(obj)) + b"\n"
    if isinstance(obj, (int, float)):
        return enc(repr(obj)) + b"\n"
    if isinstance(obj, str):
        return enc(obj) + b"\n"
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    raise TypeError("not a leaf: %r" % type(obj))


def _set_key(obj):
    return (rendering(obj), type_name(obj))


def sorted_set(s):
    return sorted(s, key=_set_key)


def _elem_repr(obj):
    if isinstance(obj, frozenset):
        return rendering(obj).decode("utf-8", "surrogatepass")
    return repr(obj)


def rendering(obj):
    """The bytes by which a set orders its elements."""
    if isinstance(obj, frozenset):
        return enc("frozenset({" + ", ".join(_elem_repr(e) for e in sorted_set(obj)) + "})")
    if isinstance(obj, tuple):
        return enc(repr(obj))
    if isinstance(obj, CONTAINERS):
        raise TypeError("unhashable container in a set: %r" % type(obj))
    return render_leaf(obj)


def valid_name(b):
    return (len(b) > 0 and b not in (b".", b"..") and b"/" not in b and b"\0" not in b
            and len(b) <= 255)


def _cut(s, limit):
    """s (a str) cut to at most limit bytes of UTF-8, at a character boundary."""
    out = []
    n = 0
    for ch in s:
        w = len(enc(ch))
        if n + w > limit:
            break
        out.append(ch)
        n += w
    return "".join(out)


def key_base_name(key):
    """The name of a dict entry before collisions are resolved."""
    if isinstance(key, str) and valid_name(enc(key)):
        return enc(key)
    r = repr(key)
    if valid_name(enc(r)):
        return enc(r)
    r = r.replace("/", "\\x2f")
    if len(enc(r)) > 255:
        r = _cut(r, 240) + "..."
    return enc(r)


def dedupe(names):
    """Resolve collisions in entry order: a name given to an earlier entry gets the first
    'NAME~k' not given to an earlier entry."""
    given = set()
    out = []
    for base in names:
        name = base
        k = 1
        while name in given:
            name = base + b"~%d" % k
            k += 1
        given.add(name)
        out.append(name)
    return out


def is_shareable(obj):
    if not isinstance(obj, CONTAINERS):
        return False
    if isinstance(obj, (tuple, frozenset)) and len(obj) == 0:
        return False
    return True


def join(parent, name):
    return name if parent == ROOT else parent + b"/" + name


def dirname(path):
    i = path.rfind(b"/")
    return ROOT if i < 0 else path[:i]


def relative_link(link_path, target_path):
    return posixpath.relpath(target_path, dirname(link_path))


def entries_of(obj):
    """(name, key repr or None, child) for each entry of a container, in entry order."""
    if isinstance(obj, dict):
        keys = list(obj.keys())
        names = dedupe([key_base_name(k) for k in keys])
        return [(n, enc(repr(k)), obj[k]) for n, k in zip(names, keys)]
    if isinstance(obj, (list, tuple)):
        items = list(obj)
    elif isinstance(obj, (set, frozenset)):
        items = sorted_set(obj)
    else:
        raise TypeError("not a container: %r" % type(obj))
    return [(b"%d" % i, None, v) for i, v in enumerate(items)]


class Model:
    def __init__(self):
        self.tree = {}
        self.first = {}  # id(container) -> its first path
        self.keep = []   # objects whose id() is recorded stay alive

    def _xattrs(self, tname, key):
        xa = {XA_TYPE: tname.encode()}
        if key is not None:
            xa[XA_KEY] = key
        return xa

    def visit(self, obj, path, key):
        if isinstance(obj, CONTAINERS):
            if is_shareable(obj) and id(obj) in self.first:
                target = self.first[id(obj)]
                self.tree[path] = {"kind": "link", "target": relative_link(path, target),
                                   "xattr": self._xattrs(type_name(obj), key)}
                return
            if is_shareable(obj):
                self.first[id(obj)] = path
                self.keep.append(obj)
            self.dir(path, type_name(obj), key, entries_of(obj))
        else:
            content = render_leaf(obj)
            self.tree[path] = {"kind": "file", "content": content, "mode": 0o444,
                               "size": len(content), "xattr": self._xattrs(type_name(obj), key)}

    def dir(self, path, tname, key, entries):
        node = {"kind": "dir", "mode": 0o555, "children": [e[0] for e in entries],
                "xattr": self._xattrs(tname, key)}
        self.tree[path] = node
        for name, k, child in entries:
            self.visit(child, join(path, name), k)
        node["nlink"] = 2 + sum(1 for e in entries
                                if self.tree[join(path, e[0])]["kind"] == "dir")


def expected_tree(objs):
    """The expected tree for a file whose pickles load as objs (a list, one per pickle).

    Returns {path: entry}; entry["kind"] is "dir" (with "children" in order, "mode", "nlink"),
    "file" (with "content", "size", "mode") or "link" (with "target"); every entry has
    "xattr": {name: bytes value} for user.pickle.type and, on dict entries, user.pickle.key.
    """
    m = Model()
    if len(objs) == 1 and isinstance(objs[0], CONTAINERS):
        m.visit(objs[0], ROOT, None)
    else:
        m.dir(ROOT, "stream", None, [(b"%d" % i, None, o) for i, o in enumerate(objs)])
    return m.tree


def expected_tree_of_file(path):
    return expected_tree(load_all(path))


def format_tree(tree):
    """A readable listing of a tree, for messages and for eyeballing the model."""
    lines = []
    for path, e in tree.items():
        t = e.get("xattr", {}).get(XA_TYPE)
        k = e.get("xattr", {}).get(XA_KEY)
        extra = " key=%r" % k if k is not None else ""
        if e["kind"] == "dir":
            lines.append("%r/ [%s]%s nlink=%s" % (path, t, extra, e.get("nlink")))
        elif e["kind"] == "file":
            lines.append("%r = %r [%s]%s" % (path, e.get("content"), t, extra))
        else:
            lines.append("%r -> %r [%s]%s" % (path, e.get("target"), t, extra))
    return "\n".join(lines)


if __name__ == "__main__":
    for fn in sys.argv[1:]:
        print("==", fn)
        print(format_tree(expected_tree_of_file(fn)))
