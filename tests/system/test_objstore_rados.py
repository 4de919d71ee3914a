# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Ceph RADOS object store (pc_objstore_open_rados) against the test
cluster (scripts/ceph-cluster.sh, docs/ceph.md), through
tests/ceph/test_rados_store.c. Each test gets a fresh pool (ceph_pool); the
destructive ones (full cluster, OSD killed) start a cluster of their own.

Every test here needs a cluster: without one it FAILS, unless
PCFS_NO_CEPH=1 (then skipped)."""
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BUILD, ceph_start, ceph_stop, ceph_tmpdir, no_ceph

pytestmark = pytest.mark.skipif(no_ceph(), reason="PCFS_NO_CEPH=1: this run has no Ceph cluster")

PROG = Path(os.environ.get("TEST_RADOS_STORE", BUILD / "tests" / "ceph" / "test_rados_store"))

# The model test's seed (printed; PCFS_RADOS_SEED=N reruns another one).
SEED = int(os.environ.get("PCFS_RADOS_SEED", "20261207"))
BATCHES = 300


def prog_argv(*args):
    if not PROG.is_file():
        pytest.fail("%s was not built (librados-dev missing when meson ran?)" % PROG)
    return [str(PROG)] + [str(a) for a in args]


def prog_env(env):
    # In the sysasan stage the sanitizer options (leak detection included)
    # come from the environment: the program and librados run clean.
    return dict(env)


def facts_of(out):
    facts = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        facts.setdefault(k, v)
    return facts


def run(*args, env, timeout=120):
    """Run test_rados_store ARGS; returns (CompletedProcess, facts)."""
    p = subprocess.run(prog_argv(*args), capture_output=True, text=True, env=prog_env(env),
                       timeout=timeout)
    return p, facts_of(p.stdout)


def ok(p):
    assert p.returncode == 0, "rc %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
    assert "FAIL" not in p.stdout, p.stdout


def rados(cluster, pool, *args, ok=True):
    argv = ["rados", "-p", pool] + [str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, env=cluster.env(), timeout=60)
    if ok:
        assert p.returncode == 0, "%s -> rc %d: %s" % (" ".join(argv), p.returncode, p.stderr)
    return p


def size_at(listsnaps, snap):
    """The object's size at @snap as `rados listsnaps --format=json` shows
    it (RADOS' rule: the first clone with id >= snap serves it if it lists
    the snap, else the object did not exist then; past every clone, head),
    or -1 if it did not exist."""
    clones = sorted((c for c in listsnaps["clones"] if c["id"] != "head"), key=lambda c: c["id"])
    head = [c for c in listsnaps["clones"] if c["id"] == "head"]
    for c in clones:
        if c["id"] >= snap:
            return c["size"] if snap in [s["id"] for s in c["snapshots"]] else -1
    return head[0]["size"] if head else -1


def test_model(ceph_cluster, ceph_pool, tmp_path):
    """The model-based random test (writes, zeros, truncates, removes, reads
    and stats in asynchronous batches under changing snap contexts; snap
    create and remove, also while a batch is in flight; every object read at every live snap and at head and
    compared byte for byte with the model), then the rados command line as a
    second reader: `rados get` of every object's head against the model's
    bytes, and `rados listsnaps` (clone ids, the snaps each clone serves,
    sizes) against the model's size of every object at every live snap. The
    CLI cannot read a self-managed snap's data (`rados -s` takes pool snap
    names only), so snap contents are checked by our reader alone."""
    out = tmp_path / "expected"
    out.mkdir()
    p, facts = run("model", ceph_pool, SEED, BATCHES, out, env=ceph_cluster.env())
    print(p.stdout.splitlines()[0])      # the seed
    ok(p)
    assert int(facts["ops"]) > 1000 and int(facts["snaps_created"]) >= 20, p.stdout
    assert int(facts["snaps_removed"]) >= 10 and int(facts["full_checks"]) >= 30, p.stdout
    assert int(facts["snap_steps_mid_batch"]) >= 10, p.stdout

    heads = [l.split() for l in p.stdout.splitlines() if l.startswith("head ")]
    expects = [l.split() for l in p.stdout.splitlines() if l.startswith("expect ")]
    assert len(heads) == 6 and expects, p.stdout
    checked_clones = 0
    for _, obj, size in heads:
        size = int(size)
        st = rados(ceph_cluster, ceph_pool, "stat", obj, ok=False)
        if size < 0:
            assert st.returncode != 0 and b"No such file" in st.stderr, (obj, st)
        else:
            assert st.returncode == 0, (obj, st.stderr)
            assert re.search(rb"size %d\b" % size, st.stdout), (obj, size, st.stdout)
            got = tmp_path / ("get." + obj)
            rados(ceph_cluster, ceph_pool, "get", obj, got)
            assert got.read_bytes() == (out / obj).read_bytes(), "head of %s differs" % obj
        ls = rados(ceph_cluster, ceph_pool, "listsnaps", obj, "--format=json", ok=False)
        if ls.returncode != 0:
            # never existed at any live snap nor at head
            assert size < 0 and all(int(e[3]) < 0 for e in expects if e[1] == obj), ls.stderr
            continue
        snaps = json.loads(ls.stdout)
        for _, o, snap, want in (e for e in expects if e[1] == obj):
            assert size_at(snaps, int(snap)) == int(want), (obj, snap, want, snaps)
        checked_clones += sum(1 for c in snaps["clones"] if c["id"] != "head")
    assert checked_clones > 0, "no clone seen: the model kept no snapshot?"


def test_concurrent_submitters(ceph_cluster, ceph_pool):
    """4 threads keep 8 writes each in flight while snapshots are taken
    every 50 ms (each a new context the writers pick up): no write fails
    (no -EOLDSNAPC: contexts stay ordered per object), and head holds what
    each thread wrote last."""
    p, facts = run("threads", ceph_pool, 4, 2, env=ceph_cluster.env())
    ok(p)
    assert int(facts["writes"]) > 500 and int(facts["snaps"]) >= 10, p.stdout
    assert facts["write_errors"] == "0", p.stdout


def test_ordersnap(ceph_cluster, ceph_pool):
    """A write, zero, truncate and remove with an older context after a newer
    one's write: -PC_EOLDSNAPC (85) passed on unchanged, and the object is
    untouched (every such op carries LIBRADOS_OPERATION_ORDERSNAP)."""
    p, facts = run("ordersnap", ceph_pool, env=ceph_cluster.env())
    ok(p)
    for op in ("write", "zero", "truncate", "remove", "null_ctx"):
        assert facts["ordersnap." + op] == "-85", (op, p.stdout)


def test_basic_limits_missing(ceph_cluster, ceph_pool):
    """Missing objects read as zeros (stat/remove -ENOENT), short reads and
    holes zero-fill, truncate and empty writes create, the size limits are
    refused before sending (-EFBIG, -EMSGSIZE, nothing created), bad requests
    -EINVAL without a callback, statfs, flush."""
    p, facts = run("basic", ceph_pool, env=ceph_cluster.env())
    ok(p)
    assert facts["name"] == "rados:" + ceph_pool
    assert facts["max_object_size"] == str(128 << 20)
    assert facts["max_write_size"] == str(90 << 20)
    assert facts["missing.read"] == "0" and facts["short.read"] == "100"
    assert facts["limit.write_past_max_object_size"] == "-27"
    assert facts["limit.truncate_past_max_object_size"] == "-27"
    assert facts["limit.write_over_max_write_size"] == "-90"


def test_lock(ceph_cluster, ceph_pool):
    """The exclusive lock: a second process gets -EBUSY and a message naming
    the holder (client, cookie, address, as `rados lock info` shows them);
    once the holder unlocks, the lock is free. A holder killed with SIGKILL
    leaves its lock, and the command the message suggests breaks it."""
    env = prog_env(ceph_cluster.env())
    for kill in (False, True):
        cookie = "holder-%s" % ("killed" if kill else "clean")
        holder = subprocess.Popen(prog_argv("lock-hold", ceph_pool, cookie), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
        try:
            lines = []
            for line in holder.stdout:
                lines.append(line)
                if line.strip() == "locked":
                    break
            assert lines and lines[-1].strip() == "locked", "".join(lines) + holder.stderr.read()
            p, facts = run("lock-try", ceph_pool, "second", env=ceph_cluster.env())
            assert facts["lock"] == "-16", p.stdout
            why = facts["why"]
            info = json.loads(rados(ceph_cluster, ceph_pool, "lock", "info", "pagecache.lock",
                                    "pagecache").stdout)
            (locker,) = info["lockers"]
            assert locker["cookie"] == cookie and info["type"] == "exclusive"
            assert ("locked by %s (cookie '%s'" % (locker["name"], cookie)) in why, why
            assert locker["addr"] in why, (locker, why)
            if kill:
                holder.send_signal(signal.SIGKILL)
                holder.wait(timeout=30)
                p, facts = run("lock-try", ceph_pool, "third", env=ceph_cluster.env())
                assert facts["lock"] == "-16", "a killed holder's lock is kept: " + p.stdout
                cmd = why.split("broken with: ", 1)[1]
                b = subprocess.run(cmd, shell=True, capture_output=True, env=ceph_cluster.env(),
                                   timeout=60)
                assert b.returncode == 0, (cmd, b.stderr)
            else:
                holder.stdin.close()
                assert holder.wait(timeout=30) == 0
                assert "unlock 0" in holder.stdout.read()
            p, facts = run("lock-try", ceph_pool, "second", env=ceph_cluster.env())
            assert facts["lock"] == "0" and "unlock 0" in p.stdout, p.stdout
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()


def test_open_failures(ceph_cluster, tmp_path):
    """An unreachable monitor fails the open with -ETIMEDOUT and a message
    naming the monitors, after the configured mount timeout (2 s here: the
    bound checked is a generous 1.5-15 s); a missing pool, configuration
    file or monitor list fails at once with -ENOENT and says which."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))            # bound, never listening: refused
    port = s.getsockname()[1]
    try:
        conf = tmp_path / "dead.conf"
        text = ceph_cluster.conf.read_text()
        conf.write_text(re.sub(r"^mon_host = .*$", "mon_host = 127.0.0.1:%d" % port, text,
                               flags=re.M))
        t0 = time.monotonic()
        p, facts = run("open", "pcfs", conf, 2, env=ceph_cluster.env(), timeout=60)
        secs = time.monotonic() - t0
        assert facts["open"] == "-110", p.stdout
        assert facts["why"] == ("rados:pcfs: no answer from the cluster's monitors "
                                "(mon_host 127.0.0.1:%d) within 2 s" % port), p.stdout
        assert 1.5 < secs < 15, secs
    finally:
        s.close()
    p, facts = run("open", "no-such-pool", env=ceph_cluster.env())
    assert facts["open"] == "-2" and "has no pool 'no-such-pool'" in facts["why"], p.stdout
    p, facts = run("open", "pcfs", tmp_path / "none.conf", env=ceph_cluster.env())
    assert facts["open"] == "-2" and "cannot read the configuration" in facts["why"], p.stdout
    nomon = tmp_path / "nomon.conf"
    nomon.write_text(re.sub(r"^mon_host = .*$", "", ceph_cluster.conf.read_text(), flags=re.M))
    p, facts = run("open", "pcfs", nomon, env=ceph_cluster.env())
    assert facts["open"] == "-2" and "no monitors configured" in facts["why"], p.stdout
    assert p.stderr == "", "the library printed: " + p.stderr


def test_full_then_osd_killed():
    """On a cluster of the test's own: (1) flagged full (`injectfull full`),
    a new write and an extending write get -ENOSPC at once (FULL_TRY; the
    bound checked is 5 s, measured ~1 ms), truncate and remove still work;
    (2) not full again, the OSD is killed with SIGKILL while 32 writes are in
    flight: every request completes with -ETIMEDOUT within the op timeout
    (3 s; checked < 10 s), none hangs, and close returns."""
    d = ceph_tmpdir("cephrs")
    try:
        c = ceph_start(d, env={"CEPH_MEMSTORE_BYTES": 256 << 20})
        asok = d / "run" / "ceph-osd.0.asok"

        def injectfull(state, want):
            q = subprocess.run(["ceph", "--admin-daemon", str(asok), "injectfull", state],
                               capture_output=True, text=True, env=c.env(), timeout=60)
            assert q.returncode == 0, q.stderr
            deadline = time.monotonic() + 30
            while True:
                dump = c.ceph("osd", "dump")
                m = re.search(r"^pool \d+ '%s' .* flags (\S+)" % re.escape(c.pool), dump, re.M)
                if ("full" in m.group(1).split(",")) == want:
                    return
                assert time.monotonic() < deadline, "pool full flag not %s in 30 s" % want
                time.sleep(0.1)

        full = subprocess.Popen(prog_argv("full", c.pool), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=prog_env(c.env()))
        try:
            assert full.stdout.readline().strip() == "ready", full.stderr.read()
            injectfull("full", True)
            out, err = full.communicate("go\n", timeout=60)
        finally:
            if full.poll() is None:
                full.kill()
                full.wait()
        f = facts_of(out)
        assert f["full.write_new"] == "-28" and f["full.extend"] == "-28", out + err
        assert int(f["full.write_new_ms"]) < 5000 and int(f["full.extend_ms"]) < 5000, out
        assert f["full.truncate"] == "0" and f["full.remove"] == "0", out
        injectfull("none", False)

        kill = subprocess.Popen(prog_argv("osdkill", c.pool, 3, 60), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=prog_env(c.env()))
        try:
            assert kill.stdout.readline().strip() == "writing", kill.stderr.read()
            os.kill(c.pids["osd.0"], signal.SIGKILL)
            t0 = time.monotonic()
            out, err = kill.communicate(timeout=60)
            secs = time.monotonic() - t0
        finally:
            if kill.poll() is None:
                kill.kill()
                kill.wait()
        f = facts_of(out)
        assert kill.returncode == 0, out + err
        errors = int(f["errors"])
        assert errors > 0 and f.get("error.-110") == str(errors), out
        assert int(f["max_latency_ms"]) < 10000 and secs < 15, (secs, out)
    finally:
        ceph_stop(d, purge=True)
