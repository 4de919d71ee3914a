# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/ceph_bench.sh in its smoke mode (BENCH_SMOKE=1: 64 MiB, one run, a
small tree): it starts its own cluster with an MDS, mounts ceph-fuse, runs
every row and stops everything it started. The test checks that the driver
works, not its figures: every row is printed, no step failed, the objfs
column is either measured or says why not, and nothing it started is left
running.

Marked `bench` (deselect with -m "not bench"). It needs root and a Ceph
cluster like the rest of the Ceph tests: without them it FAILS; set
PCFS_NO_CEPH=1 to skip it (the skip says so). About 40 s."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, PCFS, REPO, no_ceph

pytestmark = [pytest.mark.bench,
              pytest.mark.skipif(no_ceph(), reason="PCFS_NO_CEPH=1: this run has no Ceph cluster")]

ROWS = ["write 64 MiB + fsync", "cold read 64 MiB", "tree copy in", "tree copy out",
        "snapshot, 0 MiB dirty", "snapshot, 16 MiB dirty", "snapshot, 64 MiB dirty",
        "snapshot, 0 MiB dirty, big oc", "snapshot, 16 MiB dirty, big oc",
        "snapshot, 64 MiB dirty, big oc", "snapshot command (whole process)"]


def number(cell):
    return re.fullmatch(r"[0-9]+(\.[0-9]+)?", cell) is not None


def test_ceph_bench_smoke(work):
    assert os.geteuid() == 0, "ceph_bench needs root (ceph-fuse, drop_caches)"
    cdir = Path("/tmp") / ("pcfs-cbsmoke-%d" % os.getpid())
    assert not cdir.exists()
    env = dict(os.environ, BENCH_SMOKE="1", BENCH_DIR=str(work / "bench"), CEPH_BENCH_DIR=str(cdir),
               BUILD_DIR=str(BUILD), PCFS=str(PCFS))
    for k in ("BENCH_SIZE_MB", "BENCH_RUNS", "BENCH_TREE", "BENCH_BIG_OC", "CEPH_MEMSTORE_BYTES",
              "CEPH_CONF", "CEPH_ARGS"):
        env.pop(k, None)
    p = subprocess.run(["bash", str(REPO / "bench" / "ceph_bench.sh")], capture_output=True, text=True,
                       env=env, timeout=600, stdin=subprocess.DEVNULL)
    out = p.stdout
    info = "rc %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, out, p.stderr[-4000:])
    assert p.returncode == 0, info
    assert "FAILED" not in out and "FAILED" not in p.stderr, info
    # the header says what was compared, where
    assert re.search(r"^ceph_bench: 64 MiB file, tree .*, 1 run\(s\), medians$", out, re.M), info
    assert re.search(r"^host: Linux .*CPUs", out, re.M), info
    assert re.search(r"^cluster: Ceph [0-9.]+, 1 monitor, 1 memstore OSD .*MDS active [0-9.]+ s", out, re.M), info
    objfs = re.search(r"^objfs: (.*)$", out, re.M)
    assert objfs, info
    measured = not objfs.group(1).startswith("not measured")
    if not measured:
        # "-" with a stated reason
        assert re.fullmatch(r"not measured \('-'\): \S.*", objfs.group(1)), info
    lines = {}
    for line in out.splitlines():
        for r in ROWS:
            if line.startswith(r + " ") and line[len(r):len(r) + 2] == "  ":
                lines[r] = line[len(r):].split()
    assert set(lines) == set(ROWS), "missing rows %s\n%s" % (set(ROWS) - set(lines), info)
    for r, cells in lines.items():
        unit, rados, fuse, obj = cells[0], cells[1], cells[2], cells[3]
        assert unit in ("MB/s", "s", "ms"), (r, cells)
        assert number(fuse), "%s: no ceph-fuse figure: %s" % (r, cells)
        if unit == "MB/s":
            assert number(rados), "%s: no rados bench figure: %s" % (r, cells)
        if measured and "big oc" not in r:
            assert number(obj), "%s: objfs measured but no figure: %s" % (r, cells)
        if not measured:
            assert obj == "-", (r, cells)
    # ceph-fuse's snapshot behaviour is reported
    assert "what ceph-fuse did at mkdir .snap/NAME" in out, info
    # everything it started is gone: no process names the cluster's directory
    left = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if str(cdir).encode() in Path("/proc/%s/cmdline" % pid).read_bytes():
                    left.append(pid)
            except OSError:
                pass
    assert left == [], "processes left running: %s" % left
    assert not cdir.exists(), "the cluster directory was not removed"
