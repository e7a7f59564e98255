"""test_wakeup.py: the CPU latency request picklefs holds while requests come (fs/wakeup.c),
and -o no_fast_wakeup, which turns it off.

Run with `meson test -C build wakeup` or, from the repository root,
    PICKLEFS=build/picklefs PKDUMP=build/pkdump /usr/bin/python3 -m pytest -v tests/test_wakeup.py

The kernel's current limit is read from /dev/cpu_dma_latency (4 bytes: the lowest limit any
process holds, in microseconds). What is checked, on real mounts, as root:
- a walk sets it to 0, and it comes back to what it was once the mount is quiet, and after the
  unmount; with -o no_fast_wakeup a walk leaves it alone;
- the tree read is the same with and without it, and with one thread (-s).
No timing is asserted: "quiet" is waited for, for up to 10 s.
"""

import itertools
import os
import struct
import time

import pytest

import spec_model
from mountutil import DEMO, compare, fail_with, mount, walk

DEVICE = "/dev/cpu_dma_latency"
NEW_NAMES = itertools.count()


def latency_limit():
    """The kernel's current CPU latency limit, in microseconds."""
    fd = os.open(DEVICE, os.O_RDONLY)
    try:
        return struct.unpack("i", os.read(fd, 4))[0]
    finally:
        os.close(fd)


@pytest.fixture
def baseline():
    """The limit before the test, which must not be 0 already (else nothing could be seen)."""
    if os.geteuid() != 0:
        pytest.fail("these tests read %s, which only root may open" % DEVICE)
    if not os.path.exists(DEVICE):
        pytest.fail("%s is missing: the kernel has no CPU latency requests" % DEVICE)
    value = latency_limit()
    if value == 0:
        pytest.fail("another process holds a CPU latency limit of 0 (a tuned profile?): "
                    "a limit set by picklefs cannot be told from it")
    return value


def wait_for_limit(want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while latency_limit() != want and time.monotonic() < deadline:
        time.sleep(0.01)
    return latency_limit()


def limit_after_requests(mnt, tries=20):
    """Make a request of the mount (the lookup of a name never asked for: the kernel caches
    every name it was given), and read the limit at once; up to tries times, for the lowest
    limit seen. The limit is held at least 25 ms after a request, so one try is enough unless
    the test itself is held up that long."""
    seen = []
    for _ in range(tries):
        assert not os.path.exists(os.path.join(mnt, "never asked %d" % next(NEW_NAMES)))
        seen.append(latency_limit())
        if seen[-1] == 0:
            break
    return min(seen)


def test_limit_held_while_walking_then_given_back(baseline):
    with mount(DEMO) as mnt:
        assert wait_for_limit(baseline) == baseline, "a limit is held before any request"
        walk(mnt)
        assert limit_after_requests(mnt) == 0, "no limit of 0 us is held during a walk"
        assert wait_for_limit(baseline) == baseline, "the limit is not given back once quiet"
        assert limit_after_requests(mnt) == 0, "a request after a quiet spell does not take it"
    assert wait_for_limit(baseline) == baseline, "the limit outlives the unmount"


def test_no_fast_wakeup_leaves_the_limit_alone(baseline):
    with mount(DEMO, ("-o", "no_fast_wakeup")) as mnt:
        walk(mnt)
        assert limit_after_requests(mnt, tries=3) == baseline, \
            "-o no_fast_wakeup: a request set a limit"


def test_same_tree_with_and_without():
    expected = spec_model.expected_tree_of_file(DEMO)
    walks = {}
    for opts in ((), ("-o", "no_fast_wakeup"), ("-s",)):
        with mount(DEMO, opts) as mnt:
            walks[opts] = walk(mnt)
            fail_with(compare(expected, walks[opts]), "mounted with %r:" % (opts,))
    assert walks[()] == walks[("-o", "no_fast_wakeup")] == walks[("-s",)]
