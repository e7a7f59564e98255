"""bench/scale.py: bench/run --scale N, the walks of a pickle of N records (a million by
default, some 6M entries) against the kernel's squashfs of the same tree, and the kernel
memory each walk leaves behind.

    bench/run --scale 1000000 [--walk-timeout S] [--also OPTS] [--also-build DIR]
              [--peers squashfs|none] [--reps N]

The pickle is a list of N records as bench/run's walk.pkl makes them (a dict of five fields:
a directory of five small files each). Measured, in one run:

  mount      `picklefs FILE MNT` until it returns, and the daemon's VmHWM once the mount is
             live (it forks before decoding, so that counts the decode) and after the walks.
  image      `mksquashfs MNT IMG -no-duplicates -no-xattrs` of a picklefs mount (not of a tmpfs
             copy, where 6M small files would take a page each); `find` of the image and of
             the mount must count the same entries, and at 20,000 records or fewer the image
             must serve the same tree as the mount, file for file.
  walks      cold `find | wc -l` and cold `grep -r` of an absent string, each bounded by
             --walk-timeout (a walk that runs over is killed and shown as "> T s"), the
             columns (picklefs, picklefs -o OPTS for each --also, squashfs) taken in turn
             for each walk. Before each: the caches dropped, the peer's source read back in,
             a fresh mount.
  kernel     /proc/meminfo (Slab, SReclaimable, Cached) and /proc/slabinfo (fuse_inode,
             squashfs_inode_cache, dentry, inode_cache: active objects x size) read after the
             mount and again after the walk, before unmounting: what the walk made the kernel
             keep. The load average is read before each walk.
"""

import os
import pickle
import signal
import statistics
import subprocess
import time

from peers import StepFailed, drop_caches, is_mounted, warm

NEEDLE = "picklefs-bench-needle-that-is-nowhere"
WALKS = [
    ("find | wc -l", "find %s | wc -l", (0,)),
    ("grep -r (absent string)", "grep -r " + NEEDLE + " %s", (1,)),
]
SLABS = ("fuse_inode", "squashfs_inode_cache", "dentry", "inode_cache")
MEMINFO = ("Slab", "SReclaimable", "Cached")


def kernel_memory():
    """{name: bytes} of the meminfo fields and slab caches above."""
    got = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            if k in MEMINFO:
                got[k] = int(v.split()[0]) * 1024
    with open("/proc/slabinfo") as f:
        for line in f:
            w = line.split()
            if w and w[0] in SLABS:
                got[w[0]] = int(w[1]) * int(w[3])  # active objects x object size
    return got


def timed_walk(cmd, ok, limit):
    """(seconds, stdout), or (None, "") when it ran past limit and was killed."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, ""
    t = time.perf_counter() - t0
    if p.returncode not in ok:
        raise StepFailed("`%s` exited %d: %s" % (cmd, p.returncode,
                                                 err.decode(errors="replace").strip()))
    return t, out.decode(errors="replace")


def umount_hard(peer, mnt):
    """Unmount after a walk, retrying while a killed walk still holds the mount."""
    for _ in range(100):
        try:
            peer.umount(mnt)
            return
        except StepFailed:
            if not is_mounted(mnt):
                return
            time.sleep(0.2)
    raise StepFailed("cannot unmount %s after a walk" % mnt)


def one_walk(peer, mnt, walk, entries, limit, cold):
    """A cold walk (caches dropped when cold is True, as root): {seconds, load, kernel memory
    before and after, daemon VmHWM}."""
    label, cmd, ok = walk
    if cold:
        drop_caches()
    if peer.source:
        warm(peer.source)
    load = os.getloadavg()[0]
    root = peer.mount(mnt)
    try:
        before = kernel_memory()
        t, out = timed_walk(cmd % root, ok, limit)
        after = kernel_memory()
        if t is not None and label.startswith("find") and int(out) != entries:
            raise StepFailed("find counts %s entries on %s, %d expected"
                             % (out.strip(), peer.name, entries))
        hwm = daemon_hwm(peer)
    finally:
        umount_hard(peer, mnt)
    return {"t": t, "load": load, "before": before, "after": after, "hwm": hwm}


def daemon_hwm(peer):
    pid = getattr(getattr(peer, "m", None), "pid", None)
    if pid is None:
        return None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def build_image(ours, mnt, work):
    """The squashfs image of the tree ours serves, read by mksquashfs from a mount of it:
    (image path, seconds mksquashfs took)."""
    img = os.path.join(work, "scale.sqfs")
    root = ours.mount(mnt)
    try:
        t0 = time.perf_counter()
        r = subprocess.run(["nice", "mksquashfs", root, img, "-noappend", "-quiet",
                            "-no-progress", "-no-xattrs", "-no-duplicates"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise StepFailed("mksquashfs exited %d: %s" % (
                r.returncode, r.stderr.decode(errors="replace").strip()))
        return img, time.perf_counter() - t0
    finally:
        ours.umount(mnt)


def count_entries(peer, mnt, limit, check_against=None):
    """find's count of the entries peer serves; with check_against (a mounted tree), fail
    unless peer serves the same tree, file for file."""
    import peers
    root = peer.mount(mnt)
    try:
        t, out = timed_walk("find %s | wc -l" % root, (0,), limit)
        if t is None:
            raise StepFailed("find of %s ran past %d s" % (peer.name, limit))
        if check_against:
            peers.same_tree(check_against, root, peer.name)
        return int(out)
    finally:
        umount_hard(peer, mnt)


def mib(b):
    return "n/a" if b is None else "%.0f MiB" % (b / 2**20)


def fmt_walk(t, limit):
    return "> %d s" % limit if t is None else "%.1f s" % t


def print_table(res, names, limit, out):
    """One row per walk and column: time, its ratio to squashfs, the kernel's growth."""
    head = ["walk", "column", "cold time", "/ squashfs", "slab +", "SReclaimable +",
            "page cache +"] + ["%s +" % s for s in SLABS] + ["load"]
    rows = [head]
    for label, _, _ in WALKS:
        ref = res.get((label, "squashfs"))
        for n in names:
            rs = res.get((label, n))
            if not rs:
                continue
            ts = [r["t"] for r in rs]
            t = None if None in ts else statistics.median(ts)
            rt = None if not ref or None in [r["t"] for r in ref] else \
                statistics.median([r["t"] for r in ref])
            ratio = "%.2fx" % (t / rt) if t is not None and rt else "n/a"
            last = rs[-1]
            grow = lambda k: mib(last["after"].get(k, 0) - last["before"].get(k, 0))
            rows.append([label, n, fmt_walk(t, limit), ratio, grow("Slab"),
                         grow("SReclaimable"), grow("Cached")] + [grow(s) for s in SLABS] +
                        ["%.1f" % min(r["load"] for r in rs) + "-" +
                         "%.1f" % max(r["load"] for r in rs)])
    w = [max(len(r[i]) for r in rows) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(head), file=out)
    print("|" + "|".join("-" * (x + 2) for x in w) + "|", file=out)
    for r in rows[1:]:
        print(line(r), file=out)
    out.flush()


def measure(columns, mnt, entries, reps, limit, cold, log):
    """{(walk label, column name): [one_walk results]}, the columns in turn for each walk."""
    res = {}
    for rep in range(reps):
        for walk in WALKS:
            for p in columns:
                r = one_walk(p, mnt, walk, entries, limit, cold)
                res.setdefault((walk[0], p.name), []).append(r)
                log("scale: rep %d, %s on %s: %s, load %.1f" % (
                    rep + 1, walk[0], p.name, fmt_walk(r["t"], limit), r["load"]))
    return res


def run_scale(a, make_picklefs, gen_records, log, out):
    """The whole --scale run. make_picklefs(opts[, exe, name]) gives a picklefs column
    (bench/run's PicklefsPeer); gen_records(path, n, seed) writes the pickle."""
    import peers
    f = os.path.join(a.tmp, "scale.pkl")
    t0 = time.perf_counter()
    gen_records(f, a.scale, 5)
    log("scale: %d records, %.0f MiB, generated in %.1f s"
        % (a.scale, os.path.getsize(f) / 2**20, time.perf_counter() - t0))
    ours = make_picklefs(())
    warm(f)
    ours.mount(a.mnt)
    mount_s, hwm = ours.m.seconds, daemon_hwm(ours)
    ours.umount(a.mnt)
    with_squashfs = a.peers is None or "squashfs" in a.peers
    if with_squashfs and peers.KernelSquashfs().missing():
        log("scale: squashfs skipped: %s" % peers.KernelSquashfs().missing())
        with_squashfs = False
    if with_squashfs:
        img, mk_s = build_image(ours, a.mnt, a.tmp)
        log("scale: image built in %.0f s" % mk_s)
        sq = peers.KernelSquashfs()
        sq.source = img
        if a.scale <= 20000:  # the same tree, file for file
            ours.mount(a.mnt)
            try:
                count_entries(sq, a.peer_mnt, a.walk_timeout, a.mnt)
            finally:
                ours.umount(a.mnt)
    with open(f, "rb") as pf:
        entries = 1 + sum(1 + len(r) for r in pickle.load(pf))
    # at any size, every column's find walk must count these entries
    columns = [ours] + [make_picklefs(("-o", o)) for o in a.also] + [
        make_picklefs((), os.path.abspath(os.path.join(d, "picklefs")), "picklefs of " + d)
        for d in a.also_build] + ([sq] if with_squashfs else [])
    print("scale: %d records, %s pickled (%.0f MiB), %d entries" %
          (a.scale, f, os.path.getsize(f) / 2**20, entries), file=out)
    if with_squashfs:
        print("scale: squashfs image %.0f MiB (mksquashfs of the mount: %.0f s)"
              % (os.path.getsize(img) / 2**20, mk_s), file=out)
    print("scale: mount %.3f s, daemon VmHWM once live %s" % (mount_s, mib(hwm)), file=out)
    res = measure(columns, a.mnt, entries, a.reps, a.walk_timeout, a.cold, log)
    print("scale: daemon VmHWM after the walks: %s" % ", ".join(
        "%s %s on %s" % (mib(rs[-1]["hwm"]), k[0], k[1]) for k, rs in sorted(res.items())
        if rs[-1]["hwm"] is not None), file=out)
    print_table(res, [c.name for c in columns], a.walk_timeout, out)
    if with_squashfs:
        os.unlink(img)
