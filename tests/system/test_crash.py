# SPDX-License-Identifier: LGPL-2.1-or-later
"""Power-cut simulation (tests/crash/README.md): the library's write log
(pc_mount_opts.log_writes, the shape of dm-log-writes) records every write
and flush of a seeded mixed workload (tests/crash/crash_workload.c:
creates, appends, overwrites, truncates, renames, unlinks, direct I/O,
fsync, fdatasync, directory fsync, pc_sync) on ext2 (1 KiB blocks) and ext4
(4 KiB blocks); tests/crash/replay.py rebuilds the image at every flush
point and at seeded points between flushes (each unflushed write kept,
dropped or torn at 512 bytes) and checks each state: e2fsck -fy repairs it,
a second e2fsck -fn finds it clean, the library mounts the repaired image
read-write, and every file an fsync/fdatasync/pc_sync acknowledged is
there byte for byte (see replay.py for the exact rule).

Self-tests (the harness must not pass silently): the same run with the
library made to skip every flush (PC_LOG_WRITES_SKIP_FLUSH=1) and a replay
that ignores the flushes of a good log must both report lost data.

Environment:
  CRASH_WORKLOAD    the workload binary (default BUILD/tests/crash/crash_workload)
  CRASH_BETWEEN     seeded points between flushes per filesystem (default 150)
  CRASH_SEED        workload and replay seed (default 1)
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, REPO, run_pcfs, write_random

WORKLOAD = os.environ.get("CRASH_WORKLOAD", str(BUILD / "tests" / "crash" / "crash_workload"))
REPLAY = str(REPO / "tests" / "crash" / "replay.py")
BETWEEN = int(os.environ.get("CRASH_BETWEEN", "150"))
SEED = int(os.environ.get("CRASH_SEED", "1"))
NOPS = 200

# (type, block size, extra mke2fs options). ext4 gets 4 groups so that a
# backup superblock exists (a torn primary is repaired from it).
FSES = [("ext2", 1024, []), ("ext4", 4096, ["-g", "1024"])]


@pytest.fixture(scope="module")
def workload():
    if not os.path.exists(WORKLOAD):
        pytest.skip("crash_workload not built (needs libext2fs)")
    return WORKLOAD


def make_image(work, fstype, bs, extra):
    img = work / "img"
    subprocess.run(["mke2fs", "-q", "-F", "-t", fstype, "-b", str(bs)] + extra + [str(img), "16M"],
                   check=True, capture_output=True)
    base = work / "base"
    shutil.copyfile(img, base)
    return img, base


def run_workload(workload, img, log, env=None):
    e = dict(os.environ)
    e.pop("PC_ENGINE", None)
    if env:
        e.update(env)
    r = subprocess.run([workload, "run", str(img), str(log), str(SEED), str(NOPS)],
                       capture_output=True, text=True, env=e, timeout=120)
    assert r.returncode == 0, "crash_workload: %s" % r.stderr


def replay(workload, log, base, final, work, between, extra=()):
    argv = [sys.executable, REPLAY, "--log", str(log), "--base", str(base), "--workload", workload,
            "--seed", str(SEED), "--between", str(between), "--jobs", "2", "--tmpdir", str(work),
            "--keep-failed", str(work / "failed")]
    if final:
        argv += ["--final", str(final)]
    r = subprocess.run(argv + list(extra), capture_output=True, text=True, timeout=600)
    m = re.search(r"^SUMMARY (.*)$", r.stdout, re.M)
    assert m, "replay.py printed no summary (rc %d):\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
    return r.returncode, json.loads(m.group(1)), r.stdout


@pytest.mark.parametrize("fstype,bs,extra", FSES, ids=[f[0] for f in FSES])
def test_power_cut_replay(work, workload, fstype, bs, extra):
    img, base = make_image(work, fstype, bs, extra)
    log = work / "log"
    run_workload(workload, img, log)
    rc, summary, out = replay(workload, log, base, img, work, BETWEEN)
    print("%s: %s" % (fstype, json.dumps(summary)))
    assert rc == 0 and summary["failures"] == 0, out
    assert summary["flush_points"] >= 20, summary
    assert summary["between_points"] == BETWEEN, summary
    assert summary["torn_states"] > 0, summary


def test_selftest_library_skips_flushes(work, workload):
    """A library that does not flush in fsync is caught."""
    img, base = make_image(work, "ext2", 1024, [])
    log = work / "log"
    run_workload(workload, img, log, env={"PC_LOG_WRITES_SKIP_FLUSH": "1"})
    rc, summary, out = replay(workload, log, base, img, work, 60)
    assert rc == 1 and summary["failures"] > 0, out
    assert summary["flush_points"] == 0, summary
    assert re.search(r"acknowledged by (fsync|fdatasync|sync)", out), out


def test_selftest_replay_ignoring_flushes(work, workload):
    """States that lack acknowledged data (flushes ignored) are caught."""
    img, base = make_image(work, "ext4", 4096, ["-g", "1024"])
    log = work / "log"
    run_workload(workload, img, log)
    rc, summary, out = replay(workload, log, base, None, work, 60, extra=["--ignore-flushes"])
    assert rc == 1 and summary["failures"] > 0, out


def test_pcfs_log_writes(work, workload):
    """pcfs --log-writes logs a whole cp: BASE plus the logged writes is the
    final image, and every flush point and a few states between are
    repairable (no marks: no file expectations)."""
    img, base = make_image(work, "ext2", 1024, [])
    src = work / "src.bin"
    write_random(src, 300 * 1024, seed=5)
    log = work / "log"
    run_pcfs("--log-writes=%s" % log, "cp", src, "%s:/a" % img)
    run_pcfs("--log-writes=%s" % log, "--ro", "cat", "%s:/a" % img)   # read-only: no log
    assert log.stat().st_size > 300 * 1024
    rc, summary, out = replay(workload, log, base, img, work, 20)
    assert rc == 0 and summary["flush_points"] >= 1, out
