"""bench/peers.py: the filesystems a user would otherwise mount to browse the tree a pickle
shows, for bench/run's walk comparison.

Every peer serves one tree: a `cp -a` copy of the picklefs mount, made on tmpfs. From it,
`mksquashfs` builds an image (its default gzip compression) that the kernel's squashfs mounts
from a loop device and squashfuse mounts through FUSE; Python's zipfile builds a zip (deflate,
as the `zip` command does by default) that fuse-zip mounts read-only; and the copy itself is the
tmpfs row. A peer whose tool is missing is skipped with a message, except on CI (CI=true), where
it fails and names the Debian package to install.

Nothing here times a walk itself but `measure`; `same_tree` is the smoke run's check that a
peer serves exactly what the picklefs mount serves.
"""

import hashlib
import os
import shutil
import statistics
import subprocess
import time
import zipfile


class StepFailed(Exception):
    pass


def run(argv, what):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise StepFailed("%s: %s exited %d: %s" % (what, argv[0], r.returncode,
                                                   r.stderr.decode(errors="replace").strip()))
    return r


def is_mounted(mnt):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == mnt for line in f)


def warm(path):
    """Read path once so that it is in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def drop_caches():
    """Drop the whole machine's clean page cache, dentries and inodes (root only)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


# ---- the peers ----

class Peer:
    """A filesystem serving the copied tree. name: the table's column; package and tools: what
    Debian package provides the programs it needs; source: the file read into the page cache
    before a cold walk (the pickle, the image or the zip), None for tmpfs."""
    name = package = None
    tools = ()
    source = None

    def missing(self):
        """Why this peer cannot run here, or None."""
        gone = [t for t in self.tools if shutil.which(t) is None]
        if gone:
            return "%s not found: install the Debian package %s" % (", ".join(gone), self.package)
        return None

    def prepare(self, copy, work):
        pass

    def mount(self, mnt):
        """Mount on mnt; return the directory to walk."""
        return mnt

    def umount(self, mnt):
        run(["fusermount3", "-u", mnt], "unmount " + self.name)


def make_squashfs(copy, work):
    """One image for both squashfs peers, built once."""
    img = os.path.join(work, "tree.sqfs")
    if not os.path.exists(img):
        run(["mksquashfs", copy, img, "-noappend", "-quiet", "-no-progress"], "mksquashfs")
    return img


class KernelSquashfs(Peer):
    name, package, tools = "squashfs", "squashfs-tools", ("mksquashfs", "mount", "umount")

    def missing(self):
        if os.geteuid() != 0:
            return "a loop mount needs root"
        return Peer.missing(self)

    def prepare(self, copy, work):
        self.source = make_squashfs(copy, work)

    def mount(self, mnt):
        run(["mount", "-t", "squashfs", "-o", "loop,ro", self.source, mnt], "mount squashfs")
        return mnt

    def umount(self, mnt):
        # mount -o loop set up the loop device with autoclear: umount also detaches it
        run(["umount", mnt], "umount squashfs")


class Squashfuse(Peer):
    name, package, tools = "squashfuse", "squashfuse", ("mksquashfs", "squashfuse")

    def prepare(self, copy, work):
        self.source = make_squashfs(copy, work)

    def mount(self, mnt):
        run(["squashfuse", self.source, mnt], "squashfuse")
        return mnt


class FuseZip(Peer):
    name, package, tools = "fuse-zip", "fuse-zip", ("fuse-zip",)

    def prepare(self, copy, work):
        self.source = os.path.join(work, "tree.zip")
        make_zip(copy, self.source)

    def mount(self, mnt):
        run(["fuse-zip", "-r", self.source, mnt], "fuse-zip")
        return mnt


class Tmpfs(Peer):
    """The copy itself: nothing to mount, and no cold state (its inodes are the filesystem)."""
    name = "tmpfs"

    def prepare(self, copy, work):
        self.copy = copy

    def mount(self, mnt):
        return self.copy

    def umount(self, mnt):
        pass


def make_zip(copy, path):
    """A zip of copy, directories included, with each entry's mode and mtime (zipfile keeps
    them in the entry's external attributes, which fuse-zip reads)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for top, dirs, files in os.walk(copy):
            dirs.sort()  # in place, so that os.walk descends in this order too
            for n in dirs + sorted(files):
                full = os.path.join(top, n)
                z.write(full, os.path.relpath(full, copy))


def available(ci, log):
    """The peers that can run here. A missing tool fails on CI and is skipped elsewhere."""
    peers = []
    for p in (KernelSquashfs(), Squashfuse(), FuseZip(), Tmpfs()):
        why = p.missing()
        if why and ci and not why.endswith("root"):
            raise StepFailed("peer %s: %s (CI=true: the benchmark's peers are required)"
                             % (p.name, why))
        if why:
            log("peer %s skipped: %s" % (p.name, why))
        else:
            peers.append(p)
    return peers


# ---- the same tree? ----

def listing(root):
    """`find`'s listing of root: type, path and symlink target of every entry, sorted."""
    r = run(["find", root, "-mindepth", "1", "-printf", r"%y\t%P\t%l\n"], "find " + root)
    return sorted(r.stdout.decode(errors="surrogateescape").splitlines())


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def same_tree(ours, theirs, name):
    """Fail unless theirs lists the same entries as ours, every file with the same bytes."""
    a, b = listing(ours), listing(theirs)
    if a != b:
        only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        raise StepFailed("%s serves another tree than picklefs: %d entries only on picklefs "
                         "(first %r), %d only on %s (first %r)"
                         % (name, len(only_a), only_a[:1], len(only_b), name, only_b[:1]))
    for line in a:
        kind, rel, _ = line.split("\t")
        if kind == "f" and digest(os.path.join(ours, rel)) != digest(os.path.join(theirs, rel)):
            raise StepFailed("%s: %s differs from picklefs's" % (name, rel))
    return len(a)


# ---- timing the walks ----

NEEDLE = "picklefs-bench-needle-that-is-nowhere"

# (label, shell command on %s, exit codes that mean success): grep finds nothing, so 1
WALKS = [
    ("find | wc -l", "find %s | wc -l", (0,)),
    ("grep -r (absent string)", "grep -r " + NEEDLE + " %s", (1,)),
    ("du -s", "du -s %s", (0,)),
    ("cat of every file", "find %s -type f -exec cat {} + > /dev/null", (0,)),
]


def sh(cmd, what, ok=(0,)):
    t0 = time.perf_counter()
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    if r.returncode not in ok:
        raise StepFailed("%s: `%s` exited %d: %s" % (what, cmd, r.returncode,
                                                     r.stderr.decode(errors="replace").strip()))
    return t, r.stdout.decode(errors="replace")


def walk_twice(peer, mnt, walk, entries, cold):
    """One cold and one warm walk on peer: (cold seconds, warm seconds). Cold: caches dropped
    (when cold is True), the peer's source read back into the page cache, a fresh mount."""
    label, cmd, ok = walk
    if cold:
        drop_caches()
    if peer.source:
        warm(peer.source)
    root = peer.mount(mnt)
    try:
        times = []
        for state in ("cold", "warm"):
            t, out = sh(cmd % root, "%s on %s, %s" % (label, peer.name, state), ok)
            if label.startswith("find") and int(out) != entries:
                raise StepFailed("find counts %s entries on %s, %d on the copy"
                                 % (out.strip(), peer.name, entries))
            times.append(t)
        return times
    finally:
        peer.umount(mnt)


def measure(peers, mnt, entries, reps, cold, log):
    """{(walk label, peer name): ([cold s], [warm s])}, the peers taken in turn in each rep."""
    res = {}
    for rep in range(reps):
        for walk in WALKS:
            for p in peers:
                c, w = walk_twice(p, mnt, walk, entries, cold)
                got = res.setdefault((walk[0], p.name), ([], []))
                got[0].append(c)
                got[1].append(w)
            log("walks: rep %d, %s done" % (rep + 1, walk[0]))
    return res


# The targets: a cold find and grep -r no slower than the kernel's squashfs; every warm walk
# no slower than tmpfs. Cold du and cat have no target; their ratio to squashfs is shown.
COLD_TARGETS = ("find | wc -l", "grep -r (absent string)")


def fmt_s(t):
    return "%.3f s" % t if t < 10 else "%.2f s" % t


def table_rows(res, names):
    """The peer table's rows: walk, state, one median per peer, the ratio, target, result."""
    rows = []
    for label, _, _ in WALKS:
        for i, state in enumerate(("cold", "warm")):
            med = {n: statistics.median(res[(label, n)][i]) for n in names
                   if (label, n) in res}
            ref = "squashfs" if state == "cold" else "tmpfs"
            cells = [fmt_s(med[n]) if n in med else "skipped" for n in names]
            if ref not in med:
                ratio, target, result = "n/a", "n/a", "n/a (no %s)" % ref
            else:
                r = med["picklefs"] / med[ref]
                ratio = "%.2fx %s" % (r, ref)
                if state == "warm" or label in COLD_TARGETS:
                    target, result = "<= 1x " + ref, "met" if r <= 1.0 else "MISSED"
                else:
                    target, result = "none", "-"
            rows.append([label, state] + cells + [ratio, target, result])
    return rows


def print_table(rows, names, out):
    head = ["walk", "state"] + names + ["picklefs / reference", "target", "result"]
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(head), file=out)
    print("|" + "|".join("-" * (x + 2) for x in w) + "|", file=out)
    for r in rows:
        print(line(r), file=out)
    out.flush()
