# SPDX-License-Identifier: LGPL-2.1-or-later
"""objfs through pcfs, on both object stores: the embedded directory store
(a host directory) and Ceph RADOS (a fresh pool of the session's test
cluster per test, `rados:POOL` with CEPH_CONF). Every test runs once per
backend; pcfs runs as a separate process each time, so every step after the
first is a remount with a cold cache.

The oracles are independent of objfs' reader where they can be: the host
tree (diff -r), the store itself (the files of DIR/obj, `rados ls/stat/get`)
for which objects exist, their sizes and their bytes, checked against the
CephFS striping arithmetic.

The RADOS variants need the cluster: without one they FAIL, unless
PCFS_NO_CEPH=1 (then skipped, like the other Ceph tests)."""
import hashlib
import os
import re
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PCFS, MiB, random_bytes, run_pcfs, sha256_file, tree_stats, write_random

BACKENDS = ["dir", "rados"]
DOC = Path("/usr/share/doc")
SUPER = "objfs.super"


class Source:
    """One objfs source: .src (what pcfs is given), .env (for pcfs), and
    the store's own view of its objects."""

    def __init__(self, backend, src, env, dir=None, pool=None, cluster=None):
        self.backend, self.src, self.env = backend, src, env
        self.dir, self.pool, self.cluster = dir, pool, cluster

    def pcfs(self, *args, ok=True, **kw):
        return run_pcfs(*args, ok=ok, env=self.env, **kw)

    def p(self, path):
        """SOURCE:PATH"""
        return "%s:%s" % (self.src, path)

    def mkfs(self, *opts):
        r = self.pcfs("mkfs", "objfs", self.src, *opts)
        assert r.text.startswith("objfs made on %s" % self.src), r.text
        return r

    def rados(self, *args, ok=True, input=None):
        argv = ["rados", "-p", self.pool] + [str(a) for a in args]
        p = subprocess.run(argv, capture_output=True, env=self.env, timeout=120, input=input)
        if ok:
            assert p.returncode == 0, "%s -> rc %d\n%s" % (
                " ".join(argv), p.returncode, p.stderr.decode("utf-8", "replace"))
        return p

    def objects(self):
        """The names of the objects in the store (heads)."""
        if self.backend == "dir":
            return set(os.listdir(self.dir / "obj"))
        return set(self.rados("ls").stdout.decode().split())

    def size(self, name):
        """The size of object @name, or None if it does not exist."""
        if self.backend == "dir":
            try:
                return os.stat(self.dir / "obj" / name).st_size
            except FileNotFoundError:
                return None
        p = self.rados("stat", name, ok=False)
        if p.returncode != 0:
            return None
        m = re.search(rb"size (\d+)", p.stdout)
        assert m, p.stdout
        return int(m.group(1))

    def get(self, name):
        if self.backend == "dir":
            return (self.dir / "obj" / name).read_bytes()
        with tempfile.NamedTemporaryFile() as f:
            self.rados("get", name, f.name)
            return Path(f.name).read_bytes()

    def put(self, name, data):
        if self.backend == "dir":
            (self.dir / "obj" / name).write_bytes(data)
            return
        with tempfile.NamedTemporaryFile() as f:
            Path(f.name).write_bytes(data)
            self.rados("put", name, f.name)

    def remove(self, name):
        if self.backend == "dir":
            (self.dir / "obj" / name).unlink()
        else:
            self.rados("rm", name)

    def ino(self, path):
        """The inode number of @path, from pcfs stat, as objfs names it (hex)."""
        r = self.pcfs("stat", self.p(path))
        return "%x" % int(re.search(r"Inode: (\d+)", r.text).group(1))

    def data_objects(self, ino):
        """{objno: size} of the data objects of inode @ino (hex string)."""
        out = {}
        for n in self.objects():
            m = re.fullmatch(r"([0-9a-f]+)\.([0-9a-f]{8})", n)
            if m and m.group(1) == ino:
                out[int(m.group(2), 16)] = self.size(n)
        return out


@pytest.fixture(params=BACKENDS)
def objfs(request, work):
    """An objfs Source, not yet made (no mkfs): a directory store path
    that does not exist yet, or rados:POOL of a fresh pool."""
    if request.param == "dir":
        return Source("dir", str(work / "store"), dict(os.environ), dir=work / "store")
    cluster = request.getfixturevalue("ceph_cluster")
    pool = request.getfixturevalue("ceph_pool")
    return Source("rados", "rados:" + pool, cluster.env(), pool=pool, cluster=cluster)


def obj_stats(err):
    """The object counters of pcfs --stats on objfs: {"object writes":
    (count, bytes), ...}; bytes only for reads and writes (else 0)."""
    st = {}
    for line in err.splitlines():
        m = re.match(r"^\s+((?:object|store|snapshots) [a-z]+)\s+(\d+)(?: \(avg [\d.]+ KiB, "
                     r"([\d.]+) MiB in all\))?$", line)
        if m:
            st[m.group(1)] = (int(m.group(2)), float(m.group(3) or 0) * MiB)
    return st


def one_line_error(r, src):
    """@r failed with exactly one line on stderr, about @src."""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, "expected one line: %r" % r
    assert lines[0].startswith("pcfs: %s" % src), r.err
    return lines[0]


# --------------------------------------------------------------------------


def test_mkfs(objfs, work):
    # Before mkfs: a RADOS pool is there but empty, a directory is not a
    # store at all.
    if objfs.backend == "rados":
        r = objfs.pcfs("ls", objfs.p("/"), ok=False)
        line = one_line_error(r, objfs.src)
        assert "run 'pcfs mkfs objfs %s'" % objfs.src in line, line
    else:
        r = objfs.pcfs("ls", objfs.p("/"), ok=False)
        assert "not IMAGE" in r.err, r
    objfs.mkfs()
    made = objfs.objects()
    assert {SUPER, "1.inode", "1.dir"} <= made, made
    assert objfs.pcfs("ls", "-a", objfs.p("/")).text.split() == [".", ".."]
    assert objfs.pcfs("ls", objfs.src).text == ""       # a bare SOURCE is its root
    assert "Filesystem" in objfs.pcfs("df", objfs.src).text

    # A second mkfs is refused and changes nothing.
    objfs.pcfs("mkdir", objfs.p("/keep"))
    super_before = objfs.get(SUPER)
    r = objfs.pcfs("mkfs", "objfs", objfs.src, ok=False)
    assert "already holds an objfs filesystem" in one_line_error(r, objfs.src)
    assert objfs.get(SUPER) == super_before
    assert objfs.pcfs("ls", objfs.p("/")).text.split() == ["keep"]

    # A store without the superblock object holds no filesystem.
    objfs.remove(SUPER)
    r = objfs.pcfs("ls", objfs.p("/"), ok=False)
    assert "run 'pcfs mkfs objfs %s'" % objfs.src in one_line_error(r, objfs.src)
    r = objfs.pcfs("--stats", "ls", objfs.p("/"), ok=False)      # pcfs opens the store itself
    assert "run 'pcfs mkfs objfs %s'" % objfs.src in one_line_error(r, objfs.src)

    if objfs.backend == "dir":
        # a non-empty directory that is not a store is not taken over
        other = work / "notempty"
        other.mkdir()
        (other / "f").write_bytes(b"x")
        r = run_pcfs("mkfs", "objfs", other, ok=False)
        one_line_error(r, str(other))
        assert os.listdir(other) == ["f"]


def test_mkfs_layout(objfs):
    """--object-size/--stripe-unit/--stripe-count reach the store: a 2 MiB
    file over 64 KiB units dealt round-robin over 4 objects of 1 MiB lands
    as 512 KiB in each of objects 0-3, in CephFS's order."""
    for bad in (["--stripe-unit=5000"], ["--object-size=1M", "--stripe-unit=3M"],
                ["--stripe-count=0"], ["--object-size=2G"]):
        r = run_pcfs("mkfs", "objfs", objfs.src, *bad, ok=False, env=objfs.env)
        assert "pcfs: " in r.err
    objfs.mkfs("--object-size=1M", "--stripe-unit=64K", "--stripe-count=4")
    data = random_bytes(2 * MiB, 11)
    with tempfile.NamedTemporaryFile() as f:
        Path(f.name).write_bytes(data)
        objfs.pcfs("cp", f.name, objfs.p("/f"))
    ino = objfs.ino("/f")
    assert objfs.data_objects(ino) == {0: 512 * 1024, 1: 512 * 1024, 2: 512 * 1024,
                                       3: 512 * 1024}
    su = 64 * 1024
    for objno in range(4):
        want = b"".join(data[(stripe * 4 + objno) * su:(stripe * 4 + objno + 1) * su]
                        for stripe in range(8))
        assert objfs.get("%s.%08x" % (ino, objno)) == want, "object %d" % objno
    assert objfs.pcfs("cat", objfs.p("/f")).out == data


def doc_entries(backend):
    """What of /usr/share/doc a tree test copies: all of it (~120 MiB,
    5400 files) on the directory store; on RADOS every other top-level entry
    (about half: ~2700 files), since each file costs RADOS round trips
    (mostly rm -r: a few synchronous requests per file) and the whole tree
    took ~40 s there on the loaded 2-core test machine."""
    names = sorted(os.listdir(DOC))
    return names if backend == "dir" else names[::2]


def test_tree_copy_and_rm(objfs, work):
    """/usr/share/doc (or a large part of it) in and out (diff -r), then
    rm -r leaves only what mkfs made in the store."""
    objfs.mkfs()
    # Mount once so that RADOS' lock object exists in both listings.
    objfs.pcfs("ls", objfs.p("/"))
    after_mkfs = objfs.objects()
    names = doc_entries(objfs.backend)
    t0 = time.monotonic()
    if len(names) == len(os.listdir(DOC)):
        r = objfs.pcfs("--stats", "cp", "-r", DOC, objfs.p("/doc"), timeout=600)
    else:
        objfs.pcfs("mkdir", objfs.p("/doc"))
        r = objfs.pcfs("--stats", "cp", "-r", *[DOC / n for n in names], objfs.p("/doc"),
                       timeout=600)
    st = r.stats()
    t1 = time.monotonic()
    out = work / "out"
    objfs.pcfs("cp", "-r", objfs.p("/doc"), out, timeout=600)
    t2 = time.monotonic()
    assert sorted(os.listdir(out)) == names
    # diff -r: equal, except that the entries not copied are "Only in" DOC
    p = subprocess.run(["diff", "-r", "--no-dereference", str(DOC), str(out)],
                       capture_output=True, text=True)
    left_out = sorted(set(os.listdir(DOC)) - set(names))
    assert p.stderr == "" and p.returncode == (1 if left_out else 0), p.stdout[-3000:] + p.stderr
    assert sorted(p.stdout.splitlines()) == ["Only in %s: %s" % (DOC, n) for n in left_out], \
        p.stdout[-3000:]
    files = dirs = links = nbytes = 0
    for n in names:
        if (DOC / n).is_dir() and not (DOC / n).is_symlink():
            f, d, l, b = tree_stats(DOC / n)
            files, dirs, links, nbytes = files + f, dirs + d + 1, links + l, nbytes + b
        elif (DOC / n).is_symlink():
            links += 1
        else:
            files, nbytes = files + 1, nbytes + (DOC / n).stat().st_size
    print("%s: %d files, %d dirs, %d symlinks, %.1f MiB: in %.1f s, out %.1f s"
          % (objfs.backend, files, dirs, links, nbytes / MiB, t1 - t0, t2 - t1))
    assert obj_stats(r.err)["object writes"][0] > 0 and st["pages written back"] > 0, r.err
    assert len(objfs.objects()) > files     # an inode object per file, and data
    shutil_rm(out)

    t3 = time.monotonic()
    objfs.pcfs("rm", "-r", objfs.p("/doc"), timeout=600)
    print("%s: rm -r %.1f s" % (objfs.backend, time.monotonic() - t3))
    assert objfs.pcfs("ls", "-a", objfs.p("/")).text.split() == [".", ".."]
    assert objfs.objects() == after_mkfs
    if objfs.backend == "dir":
        assert os.listdir(objfs.dir / "snap") == []


def shutil_rm(path):
    subprocess.run(["rm", "-rf", str(path)], check=True)


def test_holes(objfs, work):
    """A sparse file: data at the start, across the first object boundary
    and in the last byte, holes between. The objects wholly in holes are
    never written; cat and cp out give the same bytes."""
    objfs.mkfs()
    size = 13 * MiB
    src = work / "sparse"
    parts = [(0, random_bytes(4096, 1)), (4 * MiB - 2048, random_bytes(8192, 2)),
             (size - 1, b"Z")]
    with open(src, "wb") as f:
        f.truncate(size)
        for off, b in parts:
            f.seek(off)
            f.write(b)
    want = src.read_bytes()
    objfs.pcfs("cp", src, objfs.p("/sparse"))
    ino = objfs.ino("/sparse")
    objs = objfs.data_objects(ino)
    # object 2 (8-12 MiB) is all hole: never written; 3 holds the last byte
    assert set(objs) == {0, 1, 3}, objs
    assert objs[3] == 1 * MiB and objs[1] < 64 * 1024, objs
    for objno in (0, 1, 3):     # each object, zero-filled to its end, is its range
        b = objfs.get("%s.%08x" % (ino, objno))
        rng = want[objno * 4 * MiB:(objno + 1) * 4 * MiB]
        assert b + bytes(len(rng) - len(b)) == rng, "object %d" % objno
    assert objfs.pcfs("cat", objfs.p("/sparse")).out == want
    out = work / "out"
    objfs.pcfs("cp", objfs.p("/sparse"), out)
    assert out.read_bytes() == want
    # cp skips the holes: the copy out is sparse too
    assert os.stat(out).st_blocks * 512 < 4 * MiB, os.stat(out)


def test_truncate(objfs, work):
    objfs.mkfs()
    src = write_random(work / "f", 10 * MiB, 3)
    data = src.read_bytes()
    objfs.pcfs("cp", src, objfs.p("/f"))
    ino = objfs.ino("/f")
    assert objfs.data_objects(ino) == {0: 4 * MiB, 1: 4 * MiB, 2: 2 * MiB}

    # down, into the middle of object 1: object 2 goes, object 1 is cut
    objfs.pcfs("truncate", "-s", str(5 * MiB + 1000), objfs.p("/f"))
    assert objfs.data_objects(ino) == {0: 4 * MiB, 1: 1 * MiB + 1000}
    assert objfs.pcfs("cat", objfs.p("/f")).out == data[:5 * MiB + 1000]

    # up: the bytes that appear are zeros (not the old data of object 1)
    objfs.pcfs("truncate", "-s", "9M", objfs.p("/f"))
    got = objfs.pcfs("cat", objfs.p("/f")).out
    assert len(got) == 9 * MiB
    assert got == data[:5 * MiB + 1000] + bytes(9 * MiB - (5 * MiB + 1000))
    r = objfs.pcfs("stat", objfs.p("/f"))
    assert re.search(r"Size: %d\b" % (9 * MiB), r.text), r.text

    # to zero, and a new file made by truncate
    objfs.pcfs("truncate", "-s", "0", objfs.p("/f"))
    assert objfs.pcfs("cat", objfs.p("/f")).out == b""
    assert all(s in (0, None) for s in objfs.data_objects(ino).values()), objfs.data_objects(ino)
    objfs.pcfs("truncate", "-s", "3M", objfs.p("/new"))
    assert objfs.pcfs("cat", objfs.p("/new")).out == bytes(3 * MiB)


def test_rename(objfs, work):
    objfs.mkfs()
    a, b, c = random_bytes(5000, 4), random_bytes(70000, 5), random_bytes(3, 6)
    for name, data in (("a", a), ("b", b), ("c", c)):
        (work / name).write_bytes(data)
    objfs.pcfs("mkdir", "-p", objfs.p("/d1/sub"), objfs.p("/d2"))
    objfs.pcfs("cp", work / "a", work / "b", work / "c", objfs.p("/d1/sub"))
    objfs.pcfs("ln", "-s", "sub/a2", objfs.p("/d1/link"))     # dangling until a is renamed
    # plain rename, into a directory, replacing a file, a whole directory
    objfs.pcfs("mv", objfs.p("/d1/sub/a"), objfs.p("/d1/sub/a2"))
    objfs.pcfs("mv", objfs.p("/d1/sub/b"), objfs.p("/d2"))
    objfs.pcfs("mv", objfs.p("/d1/sub/c"), objfs.p("/d2/b"))
    objfs.pcfs("mv", objfs.p("/d1"), objfs.p("/d2/moved"))
    r = objfs.pcfs("mv", objfs.p("/d2"), objfs.p("/d2/moved/sub"), ok=False)
    assert "subdirectory of itself" in r.err

    assert objfs.pcfs("ls", objfs.p("/")).text.split() == ["d2"]
    assert objfs.pcfs("ls", objfs.p("/d2")).text.split() == ["b", "moved"]
    assert objfs.pcfs("ls", objfs.p("/d2/moved")).text.split() == ["link", "sub"]
    assert objfs.pcfs("ls", objfs.p("/d2/moved/sub")).text.split() == ["a2"]
    assert objfs.pcfs("cat", objfs.p("/d2/b")).out == c
    assert objfs.pcfs("cat", objfs.p("/d2/moved/sub/a2")).out == a
    assert objfs.pcfs("cat", objfs.p("/d2/moved/link")).out == a     # relative link follows
    out = work / "out"
    objfs.pcfs("cp", "-r", objfs.p("/d2"), out)
    assert (out / "b").read_bytes() == c and os.readlink(out / "moved" / "link") == "sub/a2"


def test_small_cache_200m(objfs, work, random200):
    """200 MiB in and out through a 4 MiB cache: writeback and readahead
    under reclaim; --stats counts the object requests."""
    objfs.mkfs()
    r = objfs.pcfs("--cache-size=4M", "--stats", "cp", random200, objfs.p("/big"), timeout=600)
    st = r.stats()
    assert st["pages written back"] >= 200 * MiB // 4096, r.err
    assert st["peak cache use"][0] <= 4.0, r.err
    n, nbytes = obj_stats(r.err)["object writes"]
    assert abs(nbytes - 200 * MiB) < 2 * MiB, r.err     # the data (+ a little metadata)
    ino = objfs.ino("/big")
    assert objfs.data_objects(ino) == {i: 4 * MiB for i in range(50)}

    out = work / "big.out"
    r = objfs.pcfs("--cache-size=4M", "--stats", "cp", objfs.p("/big"), out, timeout=600)
    st = r.stats()
    assert st["peak cache use"][0] <= 4.0, r.err
    n, nbytes = obj_stats(r.err)["object reads"]
    assert nbytes >= 200 * MiB - MiB, r.err
    assert sha256_file(out) == sha256_file(random200)


def test_remount(objfs, work):
    """What one pcfs process wrote, modes and times included, another one
    reads back (nothing is kept between processes but the store)."""
    objfs.mkfs()
    f = work / "f"
    f.write_bytes(random_bytes(123457, 7))
    os.chmod(f, 0o640)
    os.utime(f, (1_600_000_000, 1_600_000_000))
    objfs.pcfs("mkdir", objfs.p("/d"))
    objfs.pcfs("cp", "-p", f, objfs.p("/d/f"))
    objfs.pcfs("ln", "-s", "/some/target", objfs.p("/d/l"))
    r = objfs.pcfs("stat", objfs.p("/d/f"))
    assert "Size: 123457 " in r.text and "(0640/-rw-r-----)" in r.text, r.text
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_600_000_000))
    assert "Modify: %s.000000000" % when in r.text, r.text
    assert objfs.pcfs("cat", objfs.p("/d/f")).out == f.read_bytes()
    assert "l -> /some/target" in objfs.pcfs("ls", "-l", objfs.p("/d")).text
    # overwrite with a shorter file (O_TRUNC), then read from a new process
    f.write_bytes(b"short\n")
    objfs.pcfs("cp", f, objfs.p("/d/f"))
    assert objfs.pcfs("cat", objfs.p("/d/f")).out == b"short\n"
    out = work / "out"
    objfs.pcfs("cp", "-rp", objfs.p("/d"), out)
    assert (out / "f").read_bytes() == b"short\n"


def test_second_writer_refused(objfs):
    """While one pcfs holds the store (a cat blocked on a full pipe), a
    second one is refused at once with one line naming the holder."""
    objfs.mkfs()
    data = random_bytes(2 * MiB, 8)
    with tempfile.NamedTemporaryFile() as f:
        Path(f.name).write_bytes(data)
        objfs.pcfs("cp", f.name, objfs.p("/f"))
    holder = subprocess.Popen([str(PCFS), "cat", objfs.p("/f")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=objfs.env)
    try:
        first = holder.stdout.read(1)       # mounted and reading; then blocked
        assert first == data[:1]
        t0 = time.monotonic()
        r = objfs.pcfs("mkdir", objfs.p("/x"), ok=False)
        assert time.monotonic() - t0 < 10      # refused, not waited for (generous bound)
        line = one_line_error(r, objfs.src)
        assert "Device or resource busy" in line, line
        if objfs.backend == "dir":
            assert "in use by process %d (pcfs)" % holder.pid in line, line
        else:
            assert "locked by client." in line and "objfs-%d-" % holder.pid in line, line
        rest = holder.stdout.read()
    finally:
        if holder.poll() is None:
            holder.stdout.read()
        holder.wait(timeout=60)
    assert holder.returncode == 0, holder.stderr.read()
    assert first + rest == data
    objfs.pcfs("mkdir", objfs.p("/x"))      # the holder is gone: works again
    assert objfs.pcfs("ls", objfs.p("/")).text.split() == ["f", "x"]


@pytest.mark.parametrize("how", ["garbage", "short", "bad-root"])
def test_corrupt_superblock(objfs, how):
    """A corrupt superblock (or root inode) object: every command fails with
    one clean line, nothing crashes, and nothing is written."""
    objfs.mkfs()
    objfs.pcfs("mkdir", objfs.p("/d"))
    if how == "garbage":
        objfs.put(SUPER, random_bytes(48, 9))
    elif how == "short":
        objfs.put(SUPER, objfs.get(SUPER)[:20])
    else:
        good = objfs.get("1.inode")
        objfs.put("1.inode", bytes(8) + good[8:])
    before = {n: objfs.get(n) for n in (SUPER, "1.inode", "1.dir")}
    for args in (["ls", objfs.p("/")], ["mkdir", objfs.p("/e")], ["cat", objfs.p("/d")],
                 ["--stats", "df", objfs.src]):
        r = objfs.pcfs(*args, ok=False)
        line = one_line_error(r, objfs.src)
        assert re.search(r"Invalid argument|Structure needs cleaning", line), line
    after = {n: objfs.get(n) for n in before}
    assert after == before


def test_corrupt_store_superblock(work):
    """The directory store's own superblock (pcstore) corrupt: one line."""
    src = work / "store"
    run_pcfs("mkfs", "objfs", src)
    (src / "pcstore").write_bytes(random_bytes(100, 10))
    for args in (["ls", "%s:/" % src], ["--stats", "ls", "%s:/" % src]):
        r = run_pcfs(*args, ok=False)
        line = one_line_error(r, str(src))
        assert "Structure needs cleaning" in line and "pcstore" in line, line


def test_snap_usage(image, work):
    """What pcfs snap refuses before asking the filesystem (these hold with
    and without snapshots in objfs; the snapshot tests themselves come with
    objfs' /.snap)."""
    src = str(work / "store")
    run_pcfs("mkfs", "objfs", src)
    for args in (["create", src], ["rm", src], ["ls"], ["ls", src, "x"], ["make", src, "s"]):
        r = run_pcfs("snap", *args, ok=False)
        assert "usage: pcfs snap" in r.err, r
    r = run_pcfs("snap", "create", src + ":/sub", "s", ok=False)
    assert "whole filesystem" in one_line_error(r, src + ":/sub")
    img = image()
    r = run_pcfs("snap", "create", img, "s", ok=False)
    assert "need an objfs source" in one_line_error(r, str(img))
    assert run_pcfs("ls", "-a", src + ":/").text.split() == [".", ".."]


def test_operands(work):
    """How operands are told apart: a directory is a store only with its
    pcstore; "rados:" always starts a RADOS source and needs a pool name."""
    plain = work / "plain"
    plain.mkdir()
    r = run_pcfs("ls", "%s:/" % plain, ok=False)
    assert "not IMAGE" in one_line_error(r, "%s:/" % plain)
    for args in (["ls", "rados:"], ["cat", "rados::/f"], ["cp", plain, "rados::/x"]):
        r = run_pcfs(*args, ok=False)
        assert "no pool name" in r.err, r
    store = work / "st:ore"     # a ':' in the store's own path: the shortest prefix wins
    run_pcfs("mkfs", "objfs", store)
    (work / "f").write_bytes(b"colon\n")
    run_pcfs("cp", work / "f", "%s:/a:b" % store)
    assert run_pcfs("ls", "%s:/" % store).text.split() == ["a:b"]
    assert run_pcfs("cat", "%s:/a:b" % store).out == b"colon\n"


def test_ceph_conf_option(ceph_cluster, ceph_pool, work):
    """--ceph-conf names the cluster, over CEPH_CONF; a missing file is one
    line."""
    env = ceph_cluster.env(CEPH_CONF=str(work / "nonexistent.conf"))
    src = "rados:" + ceph_pool
    r = run_pcfs("--ceph-conf=%s" % ceph_cluster.conf, "mkfs", "objfs", src, env=env)
    assert r.text.startswith("objfs made on " + src)
    run_pcfs("--ceph-conf=%s" % ceph_cluster.conf, "mkdir", src + ":/d", env=env)
    assert run_pcfs("ls", src + ":/", env=ceph_cluster.env()).text.split() == ["d"]
    r = run_pcfs("ls", src + ":/", ok=False, env=env)          # CEPH_CONF alone: missing
    assert "nonexistent.conf" in one_line_error(r, src)
    r = run_pcfs("--ceph-conf=%s" % (work / "other.conf"), "ls", src, ok=False,
                 env=ceph_cluster.env())
    assert "other.conf" in one_line_error(r, src)
