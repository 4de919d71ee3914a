# SPDX-License-Identifier: LGPL-2.1-or-later
"""objfs snapshots on a RADOS pool: tests/unit/test_objfs_snap.c's tests
(the write_begin rule, a model of every snapshot with remounts, metadata
point in time, -EROFS, a 1 MiB cache, faults, concurrent writers and
snapshots, O_DIRECT and truncate, snapshot latency) run again against the
session's test cluster with OBJFS_SNAP_RADOS_POOL set: the program makes a
pool per test and deletes it, and every data write carries
LIBRADOS_OPERATION_ORDERSNAP, so the OSD checks the snapshot order besides
the ordering wrapper. Needs a cluster: FAILS without one unless
PCFS_NO_CEPH=1 (then skipped)."""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, no_ceph

pytestmark = pytest.mark.skipif(no_ceph(), reason="PCFS_NO_CEPH=1: this run has no Ceph cluster")

PROG = BUILD / "tests" / "unit" / "test_objfs_snap"


def test_objfs_snapshots_on_rados(ceph_cluster, tmp_path):
    if not PROG.is_file():
        pytest.fail("%s was not built" % PROG)
    env = dict(ceph_cluster.env())
    env["OBJFS_SNAP_RADOS_POOL"] = "snapfs"
    env["PC_TEST_TMPDIR"] = str(tmp_path)
    p = subprocess.run([str(PROG)], capture_output=True, text=True, env=env, timeout=300)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-6000:]
    assert "rados:snapfs-" in out, out[-3000:]          # it ran on the cluster
    assert "PASSED" in out and "FAILED" not in out, out[-3000:]
    print([l for l in out.splitlines() if "snapshot creation" in l])
