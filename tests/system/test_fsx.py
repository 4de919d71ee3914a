# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcfsx, the model-based file exerciser (tests/fsx/pcfsx.c): thousands of
seeded random buffered and direct (O_DIRECT) reads and writes, truncates,
syncs, reopens and remounts on one file, every byte read compared with an
in-memory model. Against ramfs and ext2/3/4 images with 1 KiB and 4 KiB
blocks (and one 2 KiB run on the pread engine); e2fsck -fn must find the
image clean after every unmount (pcfsx --fsck) and at the end, and debugfs
must read back exactly the model's bytes. Also: a record/replay round trip,
a small cache (reclaim and writeback under the exerciser), a replayed
sequence pcfsx found (hole filled under writeback in a small cache), and a
check that pcfsx does notice a corrupted byte (the oracle itself is tested).
objfs (issue 9): a directory store and a RADOS pool, with snapshots in the
mix and the ordering checker on the store (see the section below).

A failing run prints the last 64 operations and the first bad offset with
the stamp of the write that should be there and of what was read; rerun it
by hand with --log FILE and replay that with --replay FILE (fresh image).

Environment:
  PCFSX        the pcfsx binary (default BUILD/tests/fsx/pcfsx)
  PCFSX_LONG=1 run 1,000,000 operations per run instead of a few thousand
               (hours in total; not for CI)
"""
import os
import re
import struct
import subprocess

import pytest

from conftest import BUILD, MiB, SANITIZER_MARKS, debugfs_stat, dump, fsck

PCFSX = os.environ.get("PCFSX", str(BUILD / "tests" / "fsx" / "pcfsx"))
LONG = os.environ.get("PCFSX_LONG", "") not in ("", "0")
# ops per run: a few thousand keeps the file well under a minute on 2 cores
# under ASan too; PCFSX_LONG=1 for the soak
OPS = 1000000 if LONG else 5000
TIMEOUT = None if LONG else 300

SUMMARY_RE = re.compile(r"^pcfsx: OK (?:seed (\d+)|replay \S+) fs (\S+): (\d+) ops in ([\d.]+) s:(.*)$", re.M)


@pytest.fixture(scope="module")
def pcfsx_bin():
    if not (os.path.isfile(PCFSX) and os.access(PCFSX, os.X_OK)):
        pytest.fail("pcfsx not found at %s (built by tests/fsx/meson.build: ninja -C build, or set PCFSX)" % PCFSX)
    return PCFSX


class Run:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    def __repr__(self):
        return "pcfsx %s -> rc %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.argv), self.rc, self.out, self.err[-20000:])

    def summary(self):
        """The summary line as a dict: ops, seconds, per-kind counts,
        'direct misaligned', 'short at EOF', 'final size'."""
        m = SUMMARY_RE.search(self.out)
        assert m, "no summary line: %r" % self
        d = {"seed": int(m.group(1)) if m.group(1) else None, "fs": m.group(2),
             "ops": int(m.group(3)), "seconds": float(m.group(4))}
        rest = m.group(5)
        for k, v in re.findall(r"\b([a-z]+) (\d+)\b", rest.split("(")[0]):
            d[k] = int(v)
        m2 = re.search(r"direct misaligned (\d+), short at EOF (\d+)", rest)
        d["misaligned"], d["short"] = int(m2.group(1)), int(m2.group(2))
        d["size"] = int(re.search(r"final size (\d+)", rest).group(1))
        d["align"] = tuple(int(x) for x in re.search(r"align mem (\d+) offset (\d+)", rest).groups())
        return d


def pcfsx(binary, *args, ok=True, timeout=TIMEOUT):
    """Run pcfsx; @ok True: must exit 0. Never may it die of a signal or
    print a sanitizer report."""
    argv = [str(a) for a in args]
    env = dict(os.environ)
    env.pop("PC_ENGINE", None)
    try:
        p = subprocess.run([binary] + argv, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        pytest.fail("pcfsx %s: timed out after %s s\nstderr:\n%s" % (
            " ".join(argv), timeout, (ex.stderr or b"").decode("utf-8", "replace")[-20000:]))
    r = Run(argv, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
    assert r.rc >= 0, "pcfsx killed by signal %d: %r" % (-r.rc, r)
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, "sanitizer report: %r" % r
    if ok:
        assert r.rc == 0, "pcfsx failed: %r" % r
    return r


def check_direct_ran(s, bs=None):
    """A run with direct I/O really did direct reads and writes, some of
    them misaligned (refused) and some stopping at EOF."""
    assert s["dread"] + s["dreadv"] > 0 and s["dwrite"] + s["dwritev"] > 0, s
    assert s["misaligned"] > 0, s
    assert s["short"] > 0, s
    assert s["align"][0] > 0 and s["align"][1] > 0, s


def check_image(img, work, model):
    """e2fsck clean; debugfs reads back exactly the model's bytes."""
    fsck(img)
    want = model.read_bytes()
    assert debugfs_stat(img, "/fsx.dat")["size"] == len(want)
    out = work / "dumped"
    dump(img, "/fsx.dat", out)
    got = out.read_bytes()
    if got != want:
        i = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
        pytest.fail("debugfs dump differs from the model at offset %d (sizes %d/%d)" % (i, len(got), len(want)))


# (fstype, blocksize, seed, extra pcfsx arguments): each its own fixed seed
IMAGE_RUNS = [("ext2", 1024, 201, ()), ("ext2", 4096, 202, ()), ("ext3", 1024, 301, ()), ("ext3", 4096, 302, ()),
              ("ext4", 1024, 401, ()), ("ext4", 4096, 402, ()), ("ext4", 2048, 403, ("--engine", "2"))]
IMAGE_IDS = ["%s-%d%s" % (t, b, "-pread" if x else "") for t, b, _, x in IMAGE_RUNS]


def test_fsx_ramfs(pcfsx_bin):
    s = pcfsx(pcfsx_bin, "-N", OPS, "-S", 101, "--fs", "ramfs").summary()
    assert s["ops"] == OPS
    check_direct_ran(s)


@pytest.mark.parametrize("fstype,bs,seed,extra", IMAGE_RUNS, ids=IMAGE_IDS)
def test_fsx_image(pcfsx_bin, image, work, fstype, bs, seed, extra):
    """--fsck: e2fsck -fn after every unmount (the remount ops), too."""
    img = image(fstype, bs, "64M")
    model = work / "model"
    s = pcfsx(pcfsx_bin, "-N", OPS, "-S", seed, "--fs", fstype, "--image", img, "--fsck",
              "--model-out", model, *extra).summary()
    assert s["ops"] == OPS and s["seed"] == seed
    check_direct_ran(s)
    assert s["remount"] > 0, s
    check_image(img, work, model)


@pytest.mark.parametrize("fstype,bs", [("ext4", 4096), ("ext2", 1024)], ids=["ext4-4096", "ext2-1024"])
def test_fsx_small_cache(pcfsx_bin, image, work, fstype, bs):
    """A 1 MiB cache and a file of up to 4 MiB: reclaim and writeback of
    dirty pages run under the exerciser all the time."""
    img = image(fstype, bs, "64M")
    model = work / "model"
    s = pcfsx(pcfsx_bin, "-N", OPS, "-S", 501 + bs, "--fs", fstype, "--image", img, "--fsck", "--cache-size", 1 * MiB,
              "--filelen", 4 * MiB, "--maxlen", 256 * 1024, "--model-out", model).summary()
    check_direct_ran(s)
    check_image(img, work, model)


def test_fsx_dio_hold_i_rwsem(pcfsx_bin, image, work):
    """The same with direct writes keeping the inode lock (the pre-placeholder way)."""
    img = image("ext4", 4096, "64M")
    model = work / "model"
    s = pcfsx(pcfsx_bin, "-N", OPS, "-S", 601, "--fs", "ext4", "--image", img, "--fsck", "--dio-hold-i-rwsem",
              "--model-out", model).summary()
    check_direct_ran(s)
    check_image(img, work, model)


@pytest.mark.parametrize("fs", ["ramfs", "ext4"])
def test_fsx_buffered_only(pcfsx_bin, image, work, fs):
    """--no-direct: buffered I/O, truncate, sync and remounts only."""
    args = ["--fs", fs]
    model = work / "model"
    if fs != "ramfs":
        img = image("ext4", 1024, "64M")
        args += ["--image", img, "--model-out", model]
    s = pcfsx(pcfsx_bin, "-N", OPS, "-S", 701, "--no-direct", *args).summary()
    assert s["dread"] == s["dwrite"] == s["dreadv"] == s["dwritev"] == 0, s
    assert s["read"] > 0 and s["write"] > 0 and s["truncate"] > 0, s
    if fs != "ramfs":
        check_image(img, work, model)


def op_lines(path):
    return [l for l in path.read_text().splitlines() if l and not l.startswith("#")]


def test_fsx_record_replay(pcfsx_bin, image, work):
    """--log records every op; --replay on a fresh image runs exactly the
    same ops and ends with the same file."""
    n = min(OPS, 3000)
    img1, img2 = image("ext4", 4096, "64M", name="rec.img"), image("ext4", 4096, "64M", name="rep.img")
    log1, log2, m1, m2 = work / "rec.log", work / "rep.log", work / "rec.model", work / "rep.model"
    s1 = pcfsx(pcfsx_bin, "-N", n, "-S", 801, "--fs", "ext4", "--image", img1, "--log", log1,
               "--model-out", m1).summary()
    ops = op_lines(log1)
    assert len(ops) == n
    s2 = pcfsx(pcfsx_bin, "--replay", log1, "--fs", "ext4", "--image", img2, "--log", log2,
               "--model-out", m2).summary()
    assert op_lines(log2) == ops
    for k in ("ops", "read", "write", "readv", "writev", "dread", "dwrite", "dreadv", "dwritev", "truncate",
              "remount", "misaligned", "short", "size"):
        assert s1[k] == s2[k], "%s: %s != %s" % (k, s1[k], s2[k])
    assert m1.read_bytes() == m2.read_bytes()
    check_image(img1, work, m1)
    check_image(img2, work, m2)
    # the same seed generates the same ops again
    img3 = image("ext4", 4096, "64M", name="again.img")
    log3 = work / "again.log"
    pcfsx(pcfsx_bin, "-N", n, "-S", 801, "--fs", "ext4", "--image", img3, "--log", log3)
    assert op_lines(log3) == ops


@pytest.mark.parametrize("fs", ["ramfs", "ext4"])
def test_fsx_detects_corruption(pcfsx_bin, image, work, fs):
    """The oracle works: one byte changed behind the model's back must be
    reported (exit 1) with the offset, the op that wrote it and the ring log."""
    args = ["--fs", fs, "--no-direct"]
    if fs != "ramfs":
        args += ["--image", image("ext4", 4096, "64M")]
    r = pcfsx(pcfsx_bin, "-N", 2000, "-S", 901, "--selftest-corrupt", 1000, "--log", work / "st.log", *args,
              ok=False)
    assert r.rc == 1, r
    m = re.search(r"selftest: changed the byte at offset (\d+)", r.err)
    assert m, r
    assert re.search(r"MISMATCH .*first bad offset %s .*1 bad bytes" % m.group(1), r.err), r
    assert re.search(r"offset %s was last written by op \d+" % m.group(1), r.err), r
    assert "last 64 operations" in r.err and "\n  1000 " in r.err, r
    assert "--replay" in r.err, r


def test_fsx_usage_errors(pcfsx_bin, work):
    assert pcfsx(pcfsx_bin, "--fs", "ext4", ok=False).rc == 2          # no --image
    assert pcfsx(pcfsx_bin, "--fs", "nosuchfs", ok=False).rc == 2
    assert pcfsx(pcfsx_bin, "--bogus", ok=False).rc == 2
    assert pcfsx(pcfsx_bin, "--fs", "ext4", "--image", work / "missing.img", ok=False).rc == 2
    bad = work / "bad.log"
    bad.write_text("1 frobnicate 0 0 1 0 0 0 0\n")
    assert pcfsx(pcfsx_bin, "--replay", bad, ok=False).rc == 2


@pytest.mark.parametrize("fstype,bs", [("ext2", 4096), ("ext3", 1024), ("ext4", 4096)],
                         ids=["ext2-4096", "ext3-1024", "ext4-4096"])
def test_fsx_fill_hole_small_cache(pcfsx_bin, image, work, fstype, bs):
    """A replayed three-op sequence (found by pcfsx): extend the file with
    ftruncate, fill the hole with one 2 MiB buffered write while writeback
    runs in a 1 MiB cache, fsync. i_blocks must count every block."""
    log = work / "ops.log"
    log.write_text("1 truncate 4194304 0 0 0 0 0 0\n"
                   "2 write 0 2097152 1 2097152 0 0 0\n"
                   "3 fsync 0 0 0 0 0 0 0\n")
    img = image(fstype, bs, "64M")
    model = work / "model"
    pcfsx(pcfsx_bin, "--replay", log, "--fs", fstype, "--image", img, "--no-direct", "--cache-size", 1 * MiB,
          "--maxlen", 4 * MiB, "--model-out", model, "--fsck")
    check_image(img, work, model)


# --------------------------------------------------------------------------
# objfs (issue 9): pcfsx opens the store itself (a directory store, or
# rados:POOL), puts the ordering checker on top (every object write: no
# older snap context after a newer one; a violation fails the run at the
# next unmount) and mounts with pc_mount_opts.objstore. Snapshots are in the
# mix: taken with dirty pages in flight (no sync first), in bursts of
# write+snapshot (several between two writebacks), removed, verified byte
# for byte (buffered and O_DIRECT) and by pc_stat size, /.snap listed, and
# writes into a snapshot refused with -EROFS; after every remount (cold
# cache) every live snapshot is verified again.
# --------------------------------------------------------------------------

OBJFS_RE = re.compile(r"^pcfsx: objfs store (\S+): snapshots created (\d+) removed (\d+) verified (\d+) "
                      r"erofs-checked (\d+) live (\d+); snapshot direct reads (\d+) \(([^)]*)\); "
                      r"order violations (\d+)", re.M)

OBJFS_OPS = min(OPS, 3000)


def objfs_summary(r):
    """The objfs line of a run: a dict of its numbers."""
    m = OBJFS_RE.search(r.out)
    assert m, "no objfs summary line: %r" % r
    keys = ("created", "removed", "verified", "erofs", "live", "direct_reads")
    d = {k: int(m.group(i + 2)) for i, k in enumerate(keys)}
    d["direct"] = m.group(8)
    d["violations"] = int(m.group(9))
    m = re.search(r"snapshots with unsynced writes (\d+), with another since the last sync (\d+)", r.out)
    assert m, r
    d["unsynced"], d["stacked"] = int(m.group(1)), int(m.group(2))
    return d


def check_objfs_run(r, remounts=True):
    s, o = r.summary(), objfs_summary(r)
    assert s["fs"] == "objfs", s
    assert o["violations"] == 0, o
    assert o["created"] > 0 and o["verified"] > 0 and o["removed"] > 0 and o["erofs"] > 0, o
    assert s["snapcreate"] + s["snaprm"] == o["created"] + o["removed"], (s, o)
    # snapshots taken with writes not yet synced (dirty pages in flight,
    # unless the flusher or reclaim was quicker), and several between two
    # syncs
    assert o["unsynced"] > 0 and o["stacked"] > 0, o
    if remounts:
        assert s["remount"] > 0, s
    check_direct_ran(s)
    # objfs reads a snapshot with O_DIRECT too (if it stops doing so, this
    # says so rather than silently checking less)
    assert o["direct"] == "supported" and o["direct_reads"] > 0, o
    return s, o


@pytest.mark.parametrize("seed", [1101, 1102])
def test_fsx_objfs_snapshots(pcfsx_bin, work, seed):
    """objfs on a directory store, snapshots in the mix, a few thousand ops."""
    r = pcfsx(pcfsx_bin, "-N", OBJFS_OPS, "-S", seed, "--fs", "objfs", "--store", work / "store",
              "--log", work / "ops.log")
    check_objfs_run(r)


def test_fsx_objfs_snapshot_of_dirty_page(pcfsx_bin, work):
    """A case pcfsx found, replayed: bytes written (dirty, no sync), a
    snapshot, the snapshot read at once (before writeback), then another
    snapshot over a newer dirty page and both read. Before h-snapfs's
    6ed98fd (a snapshot read first writes back the head's older contexts)
    the snapshot read zeros."""
    log = work / "ops.log"
    log.write_text("1 write 0 100 1 100 0 0 0\n"
                   "2 snapcreate 2 0 0 0 0 0 0\n"
                   "3 snapverify 2 0 0 0 0 0 0\n"
                   "4 write 0 50 1 50 0 0 0\n"
                   "5 snapcreate 5 0 0 0 0 0 0\n"
                   "6 write 20 50 1 50 0 0 0\n"
                   "7 snapverify 5 0 0 0 0 0 0\n"
                   "8 snapverify 2 0 0 0 0 0 0\n")
    pcfsx(pcfsx_bin, "--replay", log, "--fs", "objfs", "--store", work / "store")


def test_fsx_objfs_small_cache(pcfsx_bin, work):
    """A 1 MiB cache, a file of up to 4 MiB and snapshots: reclaim must
    write back in snapshot order (the ordering checker) and make progress,
    and snapshots read right whatever reclaim wrote back before."""
    r = pcfsx(pcfsx_bin, "-N", 2000, "-S", 1202, "--fs", "objfs", "--store", work / "store",
              "--cache-size", 1 * MiB, "--filelen", 4 * MiB, "--maxlen", 256 * 1024)
    check_objfs_run(r)


def test_fsx_objfs_no_snapshots(pcfsx_bin, work):
    """--no-snapshots: the plain data path of objfs (O_DIRECT, truncate,
    remount), still under the ordering checker."""
    r = pcfsx(pcfsx_bin, "-N", OBJFS_OPS, "-S", 1301, "--fs", "objfs", "--store", work / "store", "--no-snapshots")
    s, o = r.summary(), objfs_summary(r)
    assert o["created"] == 0 and s["snapcreate"] == 0 and o["violations"] == 0, (s, o)
    assert s["remount"] > 0, s
    check_direct_ran(s)


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for x in data:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def parse_snaps_table(data):
    """objfs's snapshot table (docs/objfs.md, fs/objfs/snap.c): (generation,
    {name: snap id}), or None if @data is not a whole, valid table."""
    if len(data) < 40 or data[:8] != b"OBJFSSNP":
        return None
    _version, count, gen, _seq = struct.unpack_from("<IIQQ", data, 8)
    off, names = 32, {}
    for _ in range(count):
        if off + 9 > len(data):
            return None
        sid, n = struct.unpack_from("<Q", data, off)[0], data[off + 8]
        names[data[off + 9:off + 9 + n].decode()] = sid
        off += 9 + n
    if off + 8 > len(data) or struct.unpack_from("<Q", data, off)[0] != fnv1a64(data[:off]):
        return None
    return gen, names


def test_fsx_objfs_rados(pcfsx_bin, ceph_cluster, ceph_pool, work):
    """objfs on RADOS (a pool of the memstore cluster; ORDERSNAP is the
    second ordering check: an -85 fails the run). Fewer ops: memstore keeps
    every clone in RAM. Then, without our reader: the rados CLI must list
    self-managed snapshot clones of the file's data object, and reading
    that object with librados at each live snapshot's id (the id from
    objfs's snapshot table, read with rados get) and at head must give the
    model's bytes. The reads at a snap id use Ceph's Python binding
    (python3-rados, a dependency of ceph-common): the rados CLI's --snapid
    only accepts pool snapshots ("snapid N doesn't exist in pool")."""
    models = work / "snapmodels"
    models.mkdir()
    argv = ["-N", 800, "-S", 1401, "--fs", "objfs", "--store", "rados:" + ceph_pool, "--filelen", 512 * 1024,
            "--snap-models-out", models, "--model-out", work / "head.model"]
    argv = [str(a) for a in argv]
    p = subprocess.run([pcfsx_bin] + argv, capture_output=True, env=ceph_cluster.env(), timeout=300)
    r = Run(argv, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
    assert r.rc == 0, "pcfsx on RADOS failed: %r" % r
    check_objfs_run(r)

    def rados(*a, ok=True):
        p = subprocess.run(["rados", "-p", ceph_pool] + [str(x) for x in a], capture_output=True,
                           env=ceph_cluster.env(), timeout=60)
        if ok:
            assert p.returncode == 0, "rados %s: %s" % (" ".join(map(str, a)), p.stderr.decode())
        return p
    objs = rados("ls").stdout.decode().split()
    data = [o for o in objs if re.fullmatch(r"[0-9a-f]+\.[0-9a-f]{8}", o)]
    # a 512 KiB file in 4 MiB objects: one data object
    assert len(data) == 1, objs
    obj = data[0]
    clones = re.findall(r"^\d+\s", rados("listsnaps", obj).stdout.decode(), re.M)
    assert clones, "no snapshot clone of %s" % obj
    tables = []
    for suffix in ("a", "b"):
        out = work / ("snaps." + suffix)
        if rados("get", "objfs.snaps." + suffix, out, ok=False).returncode == 0:
            t = parse_snaps_table(out.read_bytes())
            if t:
                tables.append(t)
    assert tables, "no valid objfs.snaps.a/b in the pool"
    names = max(tables)[1]
    live = sorted(f.name for f in models.iterdir())
    assert live and sorted(names) == live, (sorted(names), live)

    try:
        import rados as librados
    except ImportError:
        pytest.fail("python3-rados (Ceph's Python binding, a dependency of ceph-common) is missing")
    cluster = librados.Rados(conffile=str(ceph_cluster.conf))
    cluster.connect(timeout=30)
    try:
        ioctx = cluster.open_ioctx(ceph_pool)

        def check(what, snapid, want):
            ioctx.set_read(snapid)
            try:
                got = ioctx.read(obj, 1 << 20)
            except librados.ObjectNotFound:
                got = b""       # the file had no data object then: all zeros
            assert len(got) <= len(want) or not got[len(want):].strip(b"\0"), what
            got = got[:len(want)] + bytes(max(0, len(want) - len(got)))
            assert got == want, "librados read of %s at %s differs from the model at byte %d" % (
                obj, what, next(i for i in range(len(want)) if got[i] != want[i]))
        for name in live:
            check("snapshot %s (snap id %d)" % (name, names[name]), names[name], (models / name).read_bytes())
        check("head", librados.LIBRADOS_SNAP_HEAD, (work / "head.model").read_bytes())
        ioctx.close()
    finally:
        cluster.shutdown()


def test_fsx_objfs_detects_snapshot_corruption(pcfsx_bin, work):
    """The snapshot oracle works: one byte of a snapshot's model changed
    must be reported (exit 1) at that offset of that snapshot."""
    r = pcfsx(pcfsx_bin, "-N", 2000, "-S", 1501, "--fs", "objfs", "--store", work / "store",
              "--debug-corrupt-snapshot", 600, ok=False)
    assert r.rc == 1, r
    m = re.search(r"selftest: changed the model of snapshot (fsx\d+) at offset (\d+)", r.err)
    assert m, r
    assert re.search(r"MISMATCH \(buffered read of snapshot %s .*first bad offset %s .*1 bad bytes"
                     % (m.group(1), m.group(2)), r.err), r


def test_fsx_objfs_detects_order_violation(pcfsx_bin, work):
    """The ordering check is wired up: a write of an older context after a
    newer one, straight to the store, fails the run at the next unmount."""
    r = pcfsx(pcfsx_bin, "-N", 500, "-S", 1601, "--fs", "objfs", "--store", work / "store", "--no-snapshots",
              "--debug-order-violation", ok=False)
    assert r.rc == 1, r
    assert "the ordering checker saw 1 write(s)" in r.err, r
    assert "object fsx.ordertest: WRITE with context seq 1 after WRITE with context seq 2" in r.err, r
    r = pcfsx(pcfsx_bin, "-N", 500, "-S", 1601, "--fs", "objfs", "--store", work / "store2", "--no-snapshots",
              "--no-order-check", "--debug-order-violation")
    assert "order violations 0 (no checker)" in r.out, r


def test_fsx_objfs_record_replay(pcfsx_bin, work):
    """Snapshot ops are logged and replayed: the same ops, the same file."""
    log1, log2, m1, m2 = work / "rec.log", work / "rep.log", work / "m1", work / "m2"
    s1 = pcfsx(pcfsx_bin, "-N", 1500, "-S", 1701, "--fs", "objfs", "--store", work / "s1", "--log", log1,
               "--model-out", m1).summary()
    ops = op_lines(log1)
    assert any(" snapcreate " in l for l in ops) and any(" snaprm " in l for l in ops)
    s2 = pcfsx(pcfsx_bin, "--replay", log1, "--fs", "objfs", "--store", work / "s2", "--log", log2,
               "--model-out", m2).summary()
    assert op_lines(log2) == ops
    for k in ("ops", "write", "truncate", "snapcreate", "snaprm", "snapverify", "snapwrite", "size"):
        assert s1[k] == s2[k], "%s: %s != %s" % (k, s1[k], s2[k])
    assert m1.read_bytes() == m2.read_bytes()


def test_fsx_objfs_usage_errors(pcfsx_bin, work):
    assert pcfsx(pcfsx_bin, "--fs", "objfs", ok=False).rc == 2                       # no --store
    assert pcfsx(pcfsx_bin, "--fs", "ext4", "--image", work / "x", "--snapshots", ok=False).rc == 2
    assert pcfsx(pcfsx_bin, "--fs", "ramfs", "--store", work / "s", ok=False).rc == 2
