# SPDX-License-Identifier: LGPL-2.1-or-later
"""The test Ceph cluster (scripts/ceph-cluster.sh) and the librados facts
the objfs RADOS backend relies on (tests/ceph/rados_probe.c).

Every test here needs a cluster: without one it FAILS, unless
PCFS_NO_CEPH=1 (then skipped). docs/ceph.md describes the cluster."""
import json
import os
import random
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (RADOS_PROBE, CephCluster, ceph_script, ceph_start, ceph_stop, ceph_tmpdir,
                      no_ceph)

pytestmark = pytest.mark.skipif(no_ceph(), reason="PCFS_NO_CEPH=1: this run has no Ceph cluster")

MiB = 1 << 20


def procs_of(dir):
    """PIDs of the processes whose command line names @dir (the daemons
    run with --conf DIR/ceph.conf)."""
    key = str(dir).encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if key in cmd:
            found.append(int(name))
    return found


def pid_runs(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            return not re.search(r"^State:\s+Z", f.read(), re.M)
    except OSError:
        return False


def status(dir):
    p = ceph_script("status", dir)
    st = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("mon.a", "osd.0", "mds.a"):
            st[parts[0]] = (parts[1], parts[2])
    return p.returncode, st


def test_cluster_up(ceph_cluster):
    c = ceph_cluster
    rc, st = status(c.dir)
    assert rc == 0, st
    assert st["mon.a"] == (str(c.pids["mon.a"]), "running")
    assert st["osd.0"] == (str(c.pids["osd.0"]), "running")
    assert all(pid_runs(p) for p in c.pids.values())
    # the pool: one copy, usable with one copy
    for key, want in (("size", "1"), ("min_size", "1")):
        p = subprocess.run(["ceph", "osd", "pool", "get", c.pool, key], capture_output=True,
                           text=True, env=c.env(), timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == [key + ":", want]
    p = subprocess.run(["ceph", "health"], capture_output=True, text=True, env=c.env(), timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "HEALTH_OK", p.stdout + p.stderr
    # everything lives under DIR; clients find it through CEPH_CONF
    conf = c.conf.read_text()
    for d in ("mon_data", "osd_data", "log_file", "admin_socket", "pid_file"):
        m = re.search(r"^%s = (.*)$" % d, conf, re.M)
        assert m and m.group(1).startswith(str(c.dir)), d
    for key in ("auth_cluster_required", "auth_service_required", "auth_client_required"):
        assert re.search(r"^%s = none$" % key, conf, re.M), key
    for key in ("client_mount_timeout", "rados_osd_op_timeout", "memstore_device_bytes"):
        assert re.search(r"^%s = \d+$" % key, conf, re.M), key


def test_rados_round_trip(ceph_cluster, tmp_path):
    c = ceph_cluster
    data = random.Random(9).randbytes(3 * MiB + 17)
    src, back = tmp_path / "src", tmp_path / "back"
    src.write_bytes(data)
    c.rados("put", "rt.obj", src)
    c.rados("get", "rt.obj", back)
    assert back.read_bytes() == data
    st = c.rados("stat", "rt.obj").stdout.decode()
    assert re.search(r"size %d\b" % len(data), st), st
    assert "rt.obj" in c.rados("ls").stdout.decode().split()
    c.rados("rm", "rt.obj")
    p = c.rados("stat", "rt.obj", ok=False)
    assert p.returncode != 0
    assert b"No such file or directory" in p.stderr, p.stderr


def test_second_cluster(ceph_cluster, tmp_path):
    """A second cluster in another directory runs beside the first; its
    stop ends exactly its own processes."""
    first = ceph_cluster
    d = ceph_tmpdir("ceph2")
    try:
        second = ceph_start(d, env={"CEPH_POOL": "other", "CEPH_MEMSTORE_BYTES": 64 * MiB})
        assert second.mon_addr != first.mon_addr
        assert not set(second.pids.values()) & set(first.pids.values())
        assert sorted(procs_of(d)) == sorted(second.pids.values())
        obj = tmp_path / "o"
        obj.write_bytes(b"second cluster\n")
        second.rados("put", "only-here", obj)
        assert second.rados("ls").stdout.split() == [b"only-here"]
        assert first.rados("stat", "only-here", ok=False).returncode != 0
        # status names the same processes
        rc, st = status(d)
        assert rc == 0 and st["osd.0"] == (str(second.pids["osd.0"]), "running")
        p = ceph_stop(d)
        assert p.returncode == 0, p.stderr
        assert "stopped" in p.stdout
        assert not any(pid_runs(x) for x in second.pids.values())
        assert procs_of(d) == []
        assert (d / "ceph.conf").exists(), "stop without --purge removed files"
        rc, st = status(d)
        assert rc != 0 and st["mon.a"][1] == "dead" and st["osd.0"][1] == "dead"
        # the first cluster is untouched
        assert all(pid_runs(x) for x in first.pids.values())
        assert status(first.dir)[0] == 0
        # stop again: nothing to signal, still fine; --purge removes DIR
        assert ceph_stop(d).returncode == 0
        assert ceph_stop(d, purge=True).returncode == 0
        assert not d.exists()
    finally:
        if d.exists():
            ceph_stop(d, purge=True)


def test_mds_cluster(tmp_path):
    """start --mds: a CephFS with one active MDS and snapshots allowed;
    ceph-fuse mounts it and .snap works; stop ends all three daemons (and
    nothing else) by their recorded PIDs."""
    d = ceph_tmpdir("cephmds")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    fuse = None
    try:
        c = ceph_start(d, env={"CEPH_MEMSTORE_BYTES": 256 * MiB}, mds=True)
        assert set(c.pids) == {"mon.a", "osd.0", "mds.a"} and c.fs_name == "cephfs"
        assert sorted(procs_of(d)) == sorted(c.pids.values())
        rc, st = status(d)
        assert rc == 0 and st["mds.a"] == (str(c.pids["mds.a"]), "running")
        assert "=a=up:active" in c.ceph("mds", "stat")
        # CEPH_MDSMAP_ALLOW_SNAPS (1 << 1): allow_new_snaps is on
        fsmap = json.loads(c.ceph("fs", "get", "cephfs", "--format", "json"))
        assert fsmap["mdsmap"]["flags"] & 2, fsmap["mdsmap"]["flags"]
        for pool in ("cephfs_metadata", "cephfs_data"):
            assert c.ceph("osd", "pool", "get", pool, "size").split() == ["size:", "1"]
        # a client: ceph-fuse in the foreground, stopped by its PID
        fuse = subprocess.Popen(["ceph-fuse", "-c", str(c.conf), "-f", str(mnt)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=c.env())
        deadline = time.monotonic() + 30
        while not os.path.ismount(mnt):
            assert fuse.poll() is None, fuse.stderr.read().decode("utf-8", "replace")
            assert time.monotonic() < deadline, "ceph-fuse did not mount within 30 s"
            time.sleep(0.05)
        (mnt / "f").write_bytes(b"old\n")
        os.mkdir(mnt / ".snap" / "s1")
        (mnt / "f").write_bytes(b"new contents\n")
        assert (mnt / ".snap" / "s1" / "f").read_bytes() == b"old\n"
        assert (mnt / "f").read_bytes() == b"new contents\n"
        assert os.listdir(mnt / ".snap") == ["s1"]
        subprocess.run(["fusermount", "-u", str(mnt)], check=True, timeout=60)
        fuse.wait(timeout=30)
        assert fuse.returncode == 0
        fuse = None
        p = ceph_stop(d)
        assert p.returncode == 0, p.stderr
        assert not any(pid_runs(x) for x in c.pids.values())
        assert procs_of(d) == []
        rc, st = status(d)
        assert rc != 0 and st["mds.a"][1] == "dead"
    finally:
        if fuse is not None:
            subprocess.run(["fusermount", "-u", "-z", str(mnt)], timeout=60)
            fuse.kill()
            fuse.wait()
        ceph_stop(d, purge=True)


def test_ceph_pool_fixture(ceph_cluster, ceph_pool, tmp_path):
    """ceph_pool: a pool of one copy of its own, isolated from the main one."""
    c = ceph_cluster
    assert ceph_pool in c.pools() and ceph_pool != c.pool
    assert c.ceph("osd", "pool", "get", ceph_pool, "size").split() == ["size:", "1"]
    f = tmp_path / "f"
    f.write_bytes(b"in the test's pool\n")
    p = subprocess.run(["rados", "-p", ceph_pool, "put", "mine", str(f)], capture_output=True,
                       env=c.env(), timeout=60)
    assert p.returncode == 0, p.stderr
    assert c.rados("stat", "mine", ok=False).returncode != 0
    # make_pool/remove_pool as the fixture uses them
    c.make_pool("scratch-pool")
    assert "scratch-pool" in c.pools()
    c.remove_pool("scratch-pool")
    assert "scratch-pool" not in c.pools()


def test_start_refuses_used_dir(ceph_cluster):
    """start on a directory that holds a cluster fails and leaves that
    cluster running."""
    c = ceph_cluster
    p = ceph_script("start", c.dir)
    assert p.returncode != 0
    assert re.fullmatch(r"ceph-cluster: start .*not empty.*\n", p.stderr), p.stderr
    assert status(c.dir)[0] == 0


def test_start_failure_unusable_dir(tmp_path):
    """An unusable DIR: one-line message, non-zero exit, no process."""
    f = tmp_path / "a-file"
    f.write_text("not a directory\n")
    for d in (f, f / "sub"):
        p = ceph_script("start", d)
        assert p.returncode != 0
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("ceph-cluster: start "), p.stderr
        assert procs_of(d) == []
    p = ceph_script("start", tmp_path / "bad", env={"CEPH_MEMSTORE_BYTES": "lots"})
    assert p.returncode != 0
    assert p.stderr.startswith("ceph-cluster: start ") and "CEPH_MEMSTORE_BYTES" in p.stderr


def test_start_failure_timeout_leaves_nothing():
    """A start that times out after the daemons were started (the pool never
    gets its 0 s to become usable) stops them before it exits."""
    d = ceph_tmpdir("cephfail")
    try:
        p = ceph_script("start", d, env={"CEPH_START_TIMEOUT": 0})
        assert p.returncode != 0
        lines = p.stderr.splitlines()
        assert len(lines) == 1, p.stderr
        assert re.match(r"ceph-cluster: start .*: pool pcfs not usable within 0 s", lines[0]), p.stderr
        # the daemons did start (their pid files are there) and are gone
        pids = []
        for name in ("mon.a", "osd.0"):
            pid, start = (d / "pids" / (name + ".pid")).read_text().split()
            pids.append(int(pid))
        assert not any(pid_runs(x) for x in pids)
        assert procs_of(d) == []
    finally:
        ceph_stop(d, purge=True)


# --------------------------------------------------------------------------
# librados facts (tests/ceph/rados_probe.c)
# --------------------------------------------------------------------------

def run_probe(*args, env, timeout=120):
    if not RADOS_PROBE.is_file():
        pytest.fail("%s was not built (librados-dev missing when meson ran?)" % RADOS_PROBE)
    # librados is not ours: leak reports from it in an ASan build are noise
    env = dict(env, ASAN_OPTIONS="detect_leaks=0:" + os.environ.get("ASAN_OPTIONS", ""))
    t0 = time.monotonic()
    p = subprocess.run([str(RADOS_PROBE)] + [str(a) for a in args], capture_output=True, text=True,
                       env=env, timeout=timeout)
    facts = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition(" ")
        facts[k] = v
    return p, facts, time.monotonic() - t0


# What the objfs RADOS backend is written against (librados 3.0.0, Ceph 16.2).
EXPECTED = {
    "connect": "0",
    "conf.osd_max_object_size": "134217728",
    "conf.osd_max_write_size": "90",
    # a missing object: -ENOENT for read, stat, remove (objfs reads zeros)
    "missing.read": "-2", "missing.stat": "-2", "missing.remove": "-2",
    "aio.read_missing_return": "-2",
    # a short object: reads return the bytes there are, 0 past the end
    "short.read_4096_at_0": "100", "short.read_bytes_ok": "1",
    "short.read_4096_at_50": "50", "short.read_4096_at_200": "0", "short.stat_size": "100",
    # a hole inside an object reads as zeros
    "hole.read_4096_at_0": "4096", "hole.read_is_zero": "1",
    # self-managed snaps
    "snap.create_s1": "0", "snap.create_s2": "0", "snap.s2_gt_s1": "1",
    "snap.set_write_ctx_s1": "0", "snap.set_write_ctx_s2": "0",
    "snap.set_write_ctx_ascending": "-22",           # snaps must be newest first
    "snap.write_ctx0": "0", "snap.write_ctx1": "0", "snap.write_ctx2": "0",
    "snap.write_ctx1_after_ctx2_ordersnap": "-85",   # EOLDSNAPC
    "snap.write_ctx1_after_ctx2_plain": "0",         # accepted silently without ORDERSNAP
    "snap.read_at_s1": "A", "snap.read_at_s2": "B", "snap.read_head": "C",
    "snap.stat_at_s1": "0", "snap.stat_at_s1_size": "4096",
    "snap.write_with_read_snap_set": "-30",           # EROFS
    # ... and what ORDERSNAP prevents: old-context data lost to the snapshot
    "misorder.write_ctx1_plain": "0", "misorder.read_at_s2": "P", "misorder.read_head": "X",
    # aio
    "aio.write_submit": "0", "aio.write_return": "0", "aio.write_callbacks": "1",
    "aio.write_op_submit": "0", "aio.write_op_return": "0",
    "aio.ctx_captured_at_submit": "-85",
    "aio.read_submit": "0", "aio.read_at_s1_return": "4096", "aio.read_at_s1_byte": "A",
    # remove under a snap context keeps the snaps; removed snaps read -ENOENT
    "snap.remove_head_fulltry": "0", "snap.after_remove_read_head_ret": "-2",
    "snap.after_remove_read_at_s2": "B", "snap.after_remove_read_at_s3": "E",
    "snap.remove_s1": "0", "snap.remove_s1_again": "0", "snap.read_at_removed_s1": "-2",
    "snap.remove_s2": "0", "snap.remove_s3": "0",
    # truncate of a missing object creates nothing
    "trunc.missing": "0", "trunc.missing_stat": "-2",
    # limits: -EFBIG past 128 MiB, -EMSGSIZE for a write over 90 MiB
    "limit.write_at_max_object_size": "-27", "limit.op_write_at_max_object_size": "-27",
    "limit.trunc_past_max_object_size": "-27",
    "limit.write_last_byte": "0", "limit.size_after_last_byte": "134217728",
    "limit.write_90MiB_plus_4KiB": "-90", "limit.write_full_90MiB_plus_4KiB": "-90",
    "limit.bigwrite_stat": "-2",
    "done": "ok",
}


def test_rados_probe(ceph_cluster):
    p, facts, _ = run_probe(ceph_cluster.pool, env=ceph_cluster.env())
    assert p.returncode == 0, "rados_probe rc %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
    wrong = {k: (facts.get(k), v) for k, v in EXPECTED.items() if facts.get(k) != v}
    assert not wrong, "facts (got, expected) that differ: %s\nfull output:\n%s" % (wrong, p.stdout)
    # the probe removed its objects and snaps; the OSD trims the clones of
    # removed snaps in the background (at once: no trim sleep, see
    # docs/ceph.md), so they leave the listing soon (bound: a generous 30 s)
    deadline = time.monotonic() + 30
    while True:
        left = [o for o in ceph_cluster.rados("ls").stdout.decode().split() if o.startswith("probe.")]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], "clones of removed snaps not trimmed within 30 s"


def test_connect_timeout(ceph_cluster, tmp_path):
    """An unreachable monitor: rados_connect() gives -ETIMEDOUT after
    client_mount_timeout (2 s here; the bound checked is a generous 20 s)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))            # bound, never listening: refused
    port = s.getsockname()[1]
    try:
        conf = tmp_path / "dead.conf"
        text = ceph_cluster.conf.read_text()
        text = re.sub(r"^mon_host = .*$", "mon_host = 127.0.0.1:%d" % port, text, flags=re.M)
        text = re.sub(r"^client_mount_timeout = .*$", "client_mount_timeout = 2", text, flags=re.M)
        conf.write_text(text)
        p, facts, secs = run_probe("--connect", env=dict(ceph_cluster.env(), CEPH_CONF=str(conf)))
        assert p.returncode == 1, p.stdout + p.stderr
        assert facts.get("connect") == "-110", p.stdout
        assert 1.5 < secs < 20, secs
    finally:
        s.close()


def osd_dump_flags(c):
    """(pool flags, osd.0 state words) from `ceph osd dump`."""
    p = subprocess.run(["ceph", "osd", "dump"], capture_output=True, text=True, env=c.env(),
                       timeout=60)
    assert p.returncode == 0, p.stderr
    pool = re.search(r"^pool \d+ '%s' .* flags (\S+)" % re.escape(c.pool), p.stdout, re.M)
    osd = re.search(r"^osd\.0 .* (\S+) [0-9a-f-]{36}$", p.stdout, re.M)
    return set(pool.group(1).split(",")), set(osd.group(1).split(","))


def wait_flags(c, want_full, secs=30):
    """Wait (bounded, generous) until the pool's 'full' flag is @want_full."""
    deadline = time.monotonic() + secs
    while True:
        pool, osd = osd_dump_flags(c)
        if ("full" in pool) == want_full or time.monotonic() > deadline:
            return pool, osd
        time.sleep(0.1)


FULL_MiB = 32


def test_full_cluster():
    """A small store (CEPH_MEMSTORE_BYTES 32 MiB) filled for real: FULL_TRY
    writes that add bytes get -ENOSPC once the pool is flagged full, in-place
    overwrites still work, plain writes and deletes wait until
    rados_osd_op_timeout (-ETIMEDOUT), FULL_TRY deletes work and free the
    space. Then the documented shortcut: `injectfull` on the OSD's admin
    socket flags the pool full without filling anything."""
    d = ceph_tmpdir("cephfull")
    try:
        c = ceph_start(d, env={"CEPH_MEMSTORE_BYTES": FULL_MiB * MiB, "CEPH_OSD_OP_TIMEOUT": 2})
        p, facts, _ = run_probe("--full", c.pool, FULL_MiB, env=c.env())
        assert p.returncode == 0, p.stdout + p.stderr
        want = {
            "full.fulltry_write_error": "-28", "full.fulltry_write_again": "-28",
            "full.fulltry_overwrite": "0", "full.fulltry_extend": "-28",
            "full.plain_write": "-110", "full.plain_remove": "-110",
            "full.fulltry_remove": "0", "full.write_after_free": "0", "done": "ok",
        }
        wrong = {k: (facts.get(k), v) for k, v in want.items() if facts.get(k) != v}
        assert not wrong, "facts (got, expected): %s\n%s" % (wrong, p.stdout)
        # memstore took more than its nominal size before the flag came
        assert int(facts["full.mib_written_before_error"]) >= FULL_MiB * 0.95
        # the waits end at rados_osd_op_timeout (2 s; generous upper bound)
        for k in ("full.plain_write_ms", "full.plain_remove_ms"):
            assert 1500 <= int(facts[k]) < 20000, (k, facts[k])

        asok = d / "run" / "ceph-osd.0.asok"
        env = c.env()
        for state, want_full in (("full", True), ("none", False)):
            q = subprocess.run(["ceph", "--admin-daemon", str(asok), "injectfull", state],
                               capture_output=True, text=True, env=env, timeout=60)
            assert q.returncode == 0, q.stderr
            pool, osd = wait_flags(c, want_full)
            assert ("full" in pool) == want_full, (state, pool, osd)
            assert ("full" in osd) == want_full, (state, pool, osd)
        obj = d / "probe.in"
        obj.write_bytes(b"not full any more\n")
        c.rados("put", "after-injectfull", obj)
    finally:
        ceph_stop(d, purge=True)
    assert procs_of(d) == []
