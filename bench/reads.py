"""bench/reads.py: bench/run's read rows: the largest bytes file of bytes.pkl read with cat
through the mount against cat of a plain file holding the same bytes, both sources in the page
cache; "cold" is the first read after a fresh mount, "warm" the second. With --also OPTS, the
same rows again for `picklefs -o OPTS` (-o max_read=N, ...).
"""

import hashlib
import os
import statistics
import subprocess
import time

from peers import StepFailed, sh, warm


def fmt_t(s):
    return "n/a" if s is None else ("%.3f s" % s if s >= 0.1 else "%.1f ms" % (s * 1000))


def fmt_b(b):
    return "%.0f MiB" % (b / 2**20) if b >= 2**20 else "%.0f KiB" % (b / 1024)


def verdict(ok):
    return "met" if ok else "MISSED"


def bench_read(a, table, Mount, file, blob, plain):
    """The read rows, for the default mount, then for each --also OPTS (-o OPTS)."""
    for opts in [()] + [("-o", o) for o in a.also]:
        read_rows(a, table, Mount, file, blob, plain, opts)


def read_rows(a, table, Mount, file, blob, plain, opts):
    mnt = a.mnt
    tag = " (-o %s)" % opts[1] if opts else ""
    want = hashlib.sha256(blob).hexdigest()
    with open(plain, "wb") as f:
        f.write(blob)
    warm(file)
    warm(plain)
    cold, warmt, ref = [], [], []
    for _ in range(a.reps):
        with Mount(a.picklefs, file, mnt, opts) as m:
            if not m.ok:
                raise StepFailed("mount bytes input: %s" % m.stderr)
            path = os.path.join(mnt, "blob0")
            for ts in (cold, warmt):
                t0 = time.perf_counter()
                h = subprocess.run(["bash", "-o", "pipefail", "-c", "cat %s | sha256sum" % path],
                                   stdout=subprocess.PIPE)
                ts.append(time.perf_counter() - t0)
                if h.returncode != 0 or h.stdout.split()[0].decode() != want:
                    raise StepFailed("reading %s through the mount: not the source bytes" % path)
        for _ in range(2):
            t0 = time.perf_counter()
            h = subprocess.run(["bash", "-o", "pipefail", "-c", "cat %s | sha256sum" % plain],
                               stdout=subprocess.PIPE)
            t = time.perf_counter() - t0
        ref.append(t)
        if h.returncode != 0 or h.stdout.split()[0].decode() != want:
            raise StepFailed("cat of the plain file does not match")
    r = statistics.median(ref)
    for state, ts in (("cold", cold), ("warm", warmt)):
        t = statistics.median(ts)
        table.add("read %s bytes file (cat | sha256sum), %s%s" % (fmt_b(len(blob)), state, tag),
                  fmt_t(t), fmt_t(r) + " plain", "%.2fx" % (t / r), "<= 1.5x",
                  verdict(t <= 1.5 * r))
    # cat alone, without sha256sum, shows the transport's own cost
    cold, warmt, ref = [], [], []
    for _ in range(a.reps):
        with Mount(a.picklefs, file, mnt, opts) as m:
            path = os.path.join(mnt, "blob0")
            cold.append(sh("cat %s > /dev/null" % path, "cat mount")[0])
            warmt.append(sh("cat %s > /dev/null" % path, "cat mount")[0])
        ref.append(sh("cat %s > /dev/null" % plain, "cat plain")[0])
    r = statistics.median(ref)
    for state, ts in (("cold", cold), ("warm", warmt)):
        t = statistics.median(ts)
        table.add("read %s bytes file (cat > /dev/null), %s%s" % (fmt_b(len(blob)), state, tag),
                  fmt_t(t), fmt_t(r) + " plain", "%.2fx" % (t / r), "<= 1.5x",
                  verdict(t <= 1.5 * r))
