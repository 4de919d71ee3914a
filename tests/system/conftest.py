# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures and helpers for the pcfs system tests.

The oracles are e2fsprogs: mke2fs builds the images, debugfs reads them
back (dump/rdump/stat/ls) and e2fsck -fn must find them clean. pcfs is run
as a separate process each time, as a user would.

Environment:
  PCFS            the pcfs binary (default BUILD/tools/pcfs/pcfs)
  PCFS_BUILD_DIR  the meson build directory (default REPO/build)
  FAULT_FSYNC     the fault_fsync helper (default BUILD/tests/system/fault_fsync)
  PCFS_TEST_TMP   scratch directory on a real disk (default BUILD/pytest-tmp);
                  O_DIRECT needs a filesystem that supports it (not tmpfs).
"""
import ctypes
import filecmp
import hashlib
import os
import random
import re
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PCFS_BUILD_DIR", REPO / "build")).resolve()
PCFS = Path(os.environ.get("PCFS", BUILD / "tools" / "pcfs" / "pcfs"))
FAULT_FSYNC = Path(os.environ.get("FAULT_FSYNC", BUILD / "tests" / "system" / "fault_fsync"))
TMP_BASE = Path(os.environ.get("PCFS_TEST_TMP", BUILD / "pytest-tmp"))

MiB = 1 << 20
GiB = 1 << 30

# (fstype, blocksize): the nine combinations every image test runs over.
FS_COMBOS = [(t, b) for t in ("ext2", "ext3", "ext4") for b in (1024, 2048, 4096)]
FS_IDS = ["%s-%d" % c for c in FS_COMBOS]

# e2fsprogs live in /usr/sbin, which a non-root PATH may lack
for _d in ("/usr/sbin", "/sbin"):
    if _d not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = os.environ.get("PATH", "") + ":" + _d
E2FS_ENV = dict(os.environ, LC_ALL="C")


# --------------------------------------------------------------------------
# session setup
# --------------------------------------------------------------------------

def pytest_configure(config):
    # cp(1) semantics give new files mode & ~umask: make that predictable.
    os.umask(0o022)
    config.addinivalue_line(
        "markers", "bench: runs a benchmark driver in its smoke mode (deselect with -m 'not bench')")


def fs_type_of(path):
    """The filesystem type name of the filesystem holding @path."""
    out = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture(scope="session")
def tmp_base():
    """The session's scratch directory (wiped at the start)."""
    if TMP_BASE.exists():
        shutil.rmtree(TMP_BASE)
    TMP_BASE.mkdir(parents=True)
    return TMP_BASE


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def work(request, tmp_base):
    """A per-test scratch directory on a real disk; removed if the test
    passed, kept for inspection otherwise."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:120]
    d = tmp_base / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    yield d
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.passed:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# running pcfs
# --------------------------------------------------------------------------

class Result:
    def __init__(self, argv, rc, out, err):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def stats(self):
        return parse_stats(self.err)

    def __repr__(self):
        return "pcfs %s -> rc %d\nstderr:\n%s" % (" ".join(map(str, self.argv)), self.rc, self.err)


SANITIZER_MARKS = ("AddressSanitizer", "UndefinedBehaviorSanitizer", "ThreadSanitizer",
                   "LeakSanitizer", "runtime error:")


def assert_no_sanitizer_report(err):
    for mark in SANITIZER_MARKS:
        assert mark not in err, "sanitizer report:\n%s" % err


def run_pcfs(*args, ok=True, input=None, env=None, timeout=300, stdout=None):
    """Run pcfs with @args. @ok True: must exit 0; False: must exit non-zero
    with a "pcfs: " message; None: either. Never may it die of a signal."""
    argv = [str(a) for a in args]
    e = dict(os.environ)
    e.pop("PC_ENGINE", None)
    if env:
        e.update(env)
    try:
        p = subprocess.run([str(PCFS)] + argv, input=input, stdout=stdout or subprocess.PIPE,
                           stderr=subprocess.PIPE, env=e, timeout=timeout)
    except subprocess.TimeoutExpired as ex:
        pytest.fail("pcfs %s: timed out after %d s\nstderr:\n%s"
                    % (" ".join(argv), timeout, (ex.stderr or b"").decode("utf-8", "replace")))
    r = Result(argv, p.returncode, p.stdout if p.stdout is not None else b"",
               p.stderr.decode("utf-8", "replace"))
    assert r.rc >= 0, "pcfs killed by signal %d: %r" % (-r.rc, r)
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, "sanitizer report: %r" % r
    if ok is True:
        assert r.rc == 0, "expected success: %r" % r
    elif ok is False:
        assert r.rc != 0, "expected failure, got success: %r" % r
        assert re.search(r"^pcfs: .+", r.err, re.M), "no 'pcfs: ...' message: %r" % r
    return r


@pytest.fixture(scope="session")
def pcfs_bin():
    if not (PCFS.is_file() and os.access(PCFS, os.X_OK)):
        pytest.fail("pcfs binary not found at %s (build it: ninja -C build, or set PCFS)" % PCFS)
    return PCFS


@pytest.fixture
def pcfs(pcfs_bin):
    """Callable: pcfs(*args, ok=True|False|None, input=None, env=None)."""
    return run_pcfs


def parse_stats(err):
    """Parse the --stats block(s) pcfs prints on stderr into a dict:
    int counters, 'read bios'/'write bios' -> (count, avg KiB),
    'peak cache use' -> (peak MiB, size MiB), engine -> str, O_DIRECT -> str.
    With several images, the last block wins."""
    st = {}
    for line in err.splitlines():
        m = re.match(r"^\s+([A-Za-z_/ ]+?)\s{2,}(\S.*)$", line)
        if not m:
            continue
        key, val = m.group(1).strip(), m.group(2).strip()
        if key in ("read bios", "write bios"):
            n = int(re.match(r"(\d+)", val).group(1))
            a = re.search(r"avg\s+([\d.]+)\s*KiB", val)
            st[key] = (n, float(a.group(1)) if a else 0.0)
        elif key == "peak cache use":
            m2 = re.match(r"([\d.]+)\s*MiB\s+of\s+([\d.]+)\s*MiB", val)
            st[key] = (float(m2.group(1)), float(m2.group(2))) if m2 else val
        elif re.fullmatch(r"\d+(\s.*)?", val) and key not in ("engine", "O_DIRECT"):
            st[key] = int(val.split()[0])
        else:
            st[key] = val
    return st


# --------------------------------------------------------------------------
# e2fsprogs oracles
# --------------------------------------------------------------------------

def run(argv, ok=True, timeout=300, **kw):
    p = subprocess.run([str(a) for a in argv], capture_output=True, timeout=timeout,
                       env=E2FS_ENV, **kw)
    if ok:
        assert p.returncode == 0, "%s -> rc %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(map(str, argv)), p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))
    return p


def mkimage(path, fstype="ext4", bs=4096, size="64M", from_dir=None, extra=()):
    """mke2fs -q -F -t @fstype -b @bs [-d @from_dir] @path @size."""
    path = Path(path)
    if path.exists():
        path.unlink()
    argv = ["mke2fs", "-q", "-F", "-t", fstype, "-b", str(bs)]
    if from_dir is not None:
        argv += ["-d", str(from_dir)]
    argv += list(extra) + [str(path), str(size)]
    run(argv)
    return path


@pytest.fixture
def image(work):
    """Factory: image(fstype='ext4', bs=4096, size='64M', from_dir=None,
    extra=(), name=None) -> Path of a fresh image in the test's directory."""
    counter = [0]

    def make(fstype="ext4", bs=4096, size="64M", from_dir=None, extra=(), name=None):
        counter[0] += 1
        p = work / (name or "img%d-%s-%d.img" % (counter[0], fstype, bs))
        return mkimage(p, fstype, bs, size, from_dir, extra)
    return make


def debugfs(img, request, write=False, ok=True):
    """Run one debugfs request; returns its stdout (str). debugfs exits 0
    even when the request fails, so with @ok its stderr must hold nothing
    but the version banner."""
    argv = ["debugfs"] + (["-w"] if write else []) + ["-R", request, str(img)]
    p = run(argv)
    err = "\n".join(l for l in p.stderr.decode("utf-8", "replace").splitlines()
                    if not l.startswith("debugfs "))
    if ok:
        assert not err.strip(), "debugfs -R %r %s: %s" % (request, img, err)
    return p.stdout.decode("utf-8", "replace")


def dq(path):
    """Quote a path for a debugfs request."""
    return '"%s"' % path


def debugfs_stat(img, path):
    """debugfs stat of @path: dict with type, mode, size, links, blockcount,
    fast_link (target of a fast symlink or None), inode."""
    out = debugfs(img, "stat %s" % dq(path))
    d = {}
    m = re.search(r"Inode:\s*(\d+)\s+Type:\s*(\S+)\s+Mode:\s*(\d+)", out)
    assert m, "debugfs stat %s: %s" % (path, out)
    d["inode"], d["type"], d["mode"] = int(m.group(1)), m.group(2), int(m.group(3), 8)
    d["size"] = int(re.search(r"Size:\s*(\d+)", out).group(1))
    d["links"] = int(re.search(r"Links:\s*(\d+)", out).group(1))
    d["blockcount"] = int(re.search(r"Blockcount:\s*(\d+)", out).group(1))
    m = re.search(r'Fast link dest:\s*"(.*)"', out)
    d["fast_link"] = m.group(1) if m else None
    m = re.search(r"mtime:\s*0x([0-9a-f]+)", out)
    d["mtime"] = int(m.group(1), 16) if m else None
    return d


def debugfs_ls(img, path):
    """Names in directory @path according to debugfs (ls -l), without . and .."""
    out = debugfs(img, "ls -l %s" % dq(path))
    names = set()
    for line in out.splitlines():
        # "  12   40755 (2)      0      0    1024 20-Nov-2026 23:47 name"
        m = re.match(r"^\s*\d+\s+\d+\s+\(\d+\)\s+\d+\s+\d+\s+\d+\s+\S+\s+\S+\s(.*)$", line)
        if m and m.group(1) not in (".", ".."):
            names.add(m.group(1))
    return names


def rdump(img, path, outdir):
    """debugfs rdump @path into @outdir (which must exist)."""
    debugfs(img, "rdump %s %s" % (dq(path), dq(outdir)))


def dump(img, path, out):
    debugfs(img, "dump -p %s %s" % (dq(path), dq(out)))


def fsck(img):
    """e2fsck -fn must exit 0."""
    p = run(["e2fsck", "-fn", str(img)], ok=False)
    assert p.returncode == 0, "e2fsck -fn %s -> rc %d\n%s%s" % (
        img, p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))


def dumpe2fs_header(img):
    out = run(["dumpe2fs", "-h", str(img)]).stdout.decode("utf-8", "replace")
    d = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


# --------------------------------------------------------------------------
# host files and trees
# --------------------------------------------------------------------------

def random_bytes(n, seed):
    return random.Random(seed).randbytes(n)


def write_random(path, size, seed, chunk=4 * MiB):
    """A file of @size pseudo-random bytes (fixed @seed)."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(rng.randbytes(n))
            left -= n
    return Path(path)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def files_equal(a, b):
    return filecmp.cmp(str(a), str(b), shallow=False)


def compare_trees(src, dst, modes=None, mtimes=False, ignore=("lost+found",)):
    """Assert that @dst holds the same tree as @src: same names (both ways),
    types, file bytes and symlink targets. @modes: None (not checked),
    'exact', or an umask (file and directory modes must be src & ~umask).
    @mtimes: whole-second mtimes of files and directories equal.
    Returns the number of entries compared."""
    src, dst = Path(src), Path(dst)
    n = 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        if rel == Path("."):
            dirnames[:] = [d for d in dirnames if d not in ignore]
        want = set(dirnames) | set(filenames)
        got = set(os.listdir(dst / rel))
        if rel == Path("."):
            got -= set(ignore)
        assert want == got, "directory %s: missing %s, extra %s" % (
            rel, sorted(want - got)[:10], sorted(got - want)[:10])
        for name in sorted(want):
            s, d = Path(dirpath) / name, dst / rel / name
            ss, ds = os.lstat(s), os.lstat(d)
            assert stat.S_IFMT(ss.st_mode) == stat.S_IFMT(ds.st_mode), "%s: type differs" % (rel / name)
            if stat.S_ISLNK(ss.st_mode):
                assert os.readlink(s) == os.readlink(d), "%s: symlink target differs" % (rel / name)
            elif stat.S_ISREG(ss.st_mode):
                assert ss.st_size == ds.st_size, "%s: size %d != %d" % (rel / name, ds.st_size, ss.st_size)
                assert files_equal(s, d), "%s: contents differ" % (rel / name)
            if not stat.S_ISLNK(ss.st_mode):
                if modes == "exact":
                    assert stat.S_IMODE(ss.st_mode) == stat.S_IMODE(ds.st_mode), \
                        "%s: mode %o != %o" % (rel / name, stat.S_IMODE(ds.st_mode), stat.S_IMODE(ss.st_mode))
                elif modes is not None:
                    assert stat.S_IMODE(ss.st_mode) & ~modes == stat.S_IMODE(ds.st_mode), \
                        "%s: mode %o, expected %o" % (rel / name, stat.S_IMODE(ds.st_mode),
                                                      stat.S_IMODE(ss.st_mode) & ~modes)
                if mtimes:
                    assert int(ss.st_mtime) == int(ds.st_mtime), "%s: mtime %d != %d" % (
                        rel / name, int(ds.st_mtime), int(ss.st_mtime))
            n += 1
    return n


def make_extras(root, many=200, seed=1):
    """Synthetic entries that the real trees lack: odd sizes around block
    and page boundaries, a multi-MiB file (indirect/extent trees), empty
    files, unusual modes, fast/slow/dangling/dir symlinks, a deep path, long
    names, a directory with @many entries (htree on ext3/4 with small
    blocks)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    sizes = [0, 1, 511, 512, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 4097,
             8191, 12289, 65535, 65537, 131072 + 17, 1 * MiB + 3]
    d = root / "sizes"
    d.mkdir()
    for i, s in enumerate(sizes):
        (d / ("f%07d" % s)).write_bytes(random_bytes(s, seed * 1000 + i))
    write_random(root / "big3m", 3 * MiB + 777, seed * 1000 + 99)
    modes = root / "modes"
    modes.mkdir()
    for m in (0o600, 0o640, 0o644, 0o666, 0o700, 0o755, 0o444):
        f = modes / ("m%o" % m)
        f.write_bytes(b"mode %o\n" % m)
        os.chmod(f, m)
    sd = modes / "d700"
    sd.mkdir()
    (sd / "inside").write_bytes(b"x" * 10)
    os.chmod(sd, 0o700)
    ln = root / "links"
    ln.mkdir()
    os.symlink("../sizes/f0004096", ln / "fast")
    os.symlink("/" + "/".join(["a-rather-long-directory-name"] * 6) + "/target", ln / "slow")
    os.symlink("does-not-exist", ln / "dangling")
    os.symlink("../sizes", ln / "todir")
    deep = root
    for i in range(24):
        deep = deep / ("d%02d" % i)
    deep.mkdir(parents=True)
    (deep / "leaf").write_bytes(b"deep leaf\n")
    (root / ("n" * 255)).write_bytes(b"long name\n")
    (root / "with space").write_bytes(b"space\n")
    (root / "empty-dir").mkdir()
    md = root / "many"
    md.mkdir()
    rng = random.Random(seed)
    for i in range(many):
        (md / ("entry-%05d.txt" % i)).write_bytes(rng.randbytes(rng.randrange(0, 3000)))
    return root


def copy_real_tree(src, dst, limit=None):
    """Copy the real tree @src (symlinks kept) into @dst; with @limit, only
    the first @limit regular files of its top directory, sorted."""
    src, dst = Path(src), Path(dst)
    if limit is None:
        shutil.copytree(src, dst, symlinks=True)
        return dst
    dst.mkdir(parents=True)
    names = sorted(n for n in os.listdir(src) if (src / n).is_file() and not (src / n).is_symlink())
    for n in names[:limit]:
        shutil.copy2(src / n, dst / n)
    return dst


REAL_TREE = Path("/usr/include/linux")


@pytest.fixture(scope="session")
def trees(tmp_base):
    """Session trees: 'big' (all of /usr/include/linux + extras + 1500 small
    files: thousands of entries) and 'small' (60 headers + extras)."""
    assert REAL_TREE.is_dir(), "%s missing (linux-libc-dev)" % REAL_TREE
    base = tmp_base / "trees"
    big = base / "big"
    copy_real_tree(REAL_TREE, big / "linux")
    make_extras(big / "extras", many=1500, seed=1)
    small = base / "small"
    copy_real_tree(REAL_TREE, small / "linux", limit=60)
    make_extras(small / "extras", many=150, seed=2)
    return {"big": big, "small": small}


@pytest.fixture(scope="session")
def random200(tmp_base):
    """A 200 MiB pseudo-random file (seed 200), made once per session."""
    p = tmp_base / "random200.bin"
    write_random(p, 200 * MiB, 200)
    return p


def uring_available():
    """True if io_uring_setup works here (it may be disabled or filtered)."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = (ctypes.c_char * 120)()
    fd = libc.syscall(425, 4, params)
    if fd >= 0:
        os.close(fd)
        return True
    return False


def tree_stats(root):
    """(files, dirs, symlinks, bytes) under @root."""
    f = d = l = b = 0
    for dirpath, dirnames, filenames in os.walk(root):
        d += len(dirnames)
        for n in filenames:
            st = os.lstat(os.path.join(dirpath, n))
            if stat.S_ISLNK(st.st_mode):
                l += 1
            else:
                f += 1
                b += st.st_size
    return f, d, l, b


# --------------------------------------------------------------------------
# a Ceph cluster (scripts/ceph-cluster.sh, docs/ceph.md)
# --------------------------------------------------------------------------

CEPH_SCRIPT = REPO / "scripts" / "ceph-cluster.sh"
RADOS_PROBE = Path(os.environ.get("RADOS_PROBE", BUILD / "tests" / "ceph" / "rados_probe"))


def no_ceph():
    """True if this run was told to do without Ceph (PCFS_NO_CEPH=1)."""
    return os.environ.get("PCFS_NO_CEPH") == "1"


class CephCluster:
    """A running cluster started by scripts/ceph-cluster.sh in @dir: conf
    (DIR/ceph.conf), pool, mon_addr, pids {'mon.a': pid, 'osd.0': pid};
    env() is os.environ plus CEPH_CONF for clients (rados, librados)."""

    def __init__(self, dir):
        self.dir = Path(dir)
        kv = {}
        for line in (self.dir / "cluster.env").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                kv[k] = v
        self.conf = Path(kv["CEPH_CONF"])
        self.pool = kv["CEPH_POOL"]
        self.mon_addr = kv["CEPH_MON_ADDR"]
        self.pids = {"mon.a": int(kv["CEPH_MON_PID"]), "osd.0": int(kv["CEPH_OSD_PID"])}
        if "CEPH_MDS_PID" in kv:        # start --mds: a CephFS and its MDS
            self.pids["mds.a"] = int(kv["CEPH_MDS_PID"])
        self.fs_name = kv.get("CEPH_FS_NAME")

    def env(self, **extra):
        e = dict(os.environ, CEPH_CONF=str(self.conf))
        e.pop("CEPH_ARGS", None)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def rados(self, *args, ok=True, timeout=60, input=None):
        """rados -p POOL ARGS... against this cluster; returns the
        CompletedProcess (bytes); with @ok it must exit 0."""
        argv = ["rados", "-p", self.pool] + [str(a) for a in args]
        p = subprocess.run(argv, capture_output=True, env=self.env(), timeout=timeout, input=input)
        if ok:
            assert p.returncode == 0, "%s -> rc %d\n%s" % (
                " ".join(argv), p.returncode, p.stderr.decode("utf-8", "replace"))
        return p

    def ceph(self, *args, timeout=60):
        """The ceph CLI against this cluster; must exit 0; returns stdout (str)."""
        argv = ["ceph"] + [str(a) for a in args]
        p = subprocess.run(argv, capture_output=True, text=True, env=self.env(), timeout=timeout,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, "%s -> rc %d\n%s" % (" ".join(argv), p.returncode, p.stderr)
        return p.stdout

    def make_pool(self, name, pg_num=8, timeout=60):
        """Create pool @name (size 1, like the main pool) and wait until a
        put/get round trip works in it; returns @name."""
        self.ceph("osd", "pool", "create", name, pg_num, pg_num, "replicated")
        self.ceph("osd", "pool", "application", "enable", name, "rados")
        deadline = time.monotonic() + timeout
        while True:
            p = subprocess.run(["rados", "-p", name, "put", "pool-ready", "/dev/null",
                                "--rados-osd-op-timeout", "5"],
                               capture_output=True, env=self.env(), timeout=30)
            if p.returncode == 0:
                break
            assert time.monotonic() < deadline, "pool %s not usable within %d s: %s" % (
                name, timeout, p.stderr.decode("utf-8", "replace"))
            time.sleep(0.1)
        subprocess.run(["rados", "-p", name, "rm", "pool-ready"], capture_output=True,
                       env=self.env(), timeout=30)
        return name

    def remove_pool(self, name):
        """Delete pool @name and everything in it (mon_allow_pool_delete is on)."""
        self.ceph("osd", "pool", "rm", name, name, "--yes-i-really-really-mean-it")

    def pools(self):
        return self.ceph("osd", "pool", "ls").split()

    def __repr__(self):
        return "CephCluster(%s, pool %s, mon %s, pids %s)" % (self.dir, self.pool, self.mon_addr, self.pids)


def ceph_script(*args, env=None, timeout=300):
    """Run scripts/ceph-cluster.sh ARGS...; returns the CompletedProcess (text)."""
    e = dict(os.environ)
    if env:
        e.update({k: str(v) for k, v in env.items()})
    return subprocess.run(["bash", str(CEPH_SCRIPT)] + [str(a) for a in args], capture_output=True,
                          text=True, env=e, timeout=timeout, stdin=subprocess.DEVNULL)


def ceph_start(dir, env=None, mds=False):
    """Start a cluster in @dir (@mds: with an MDS and a CephFS, start
    --mds); returns a CephCluster, or calls pytest.fail with the script's
    message."""
    p = ceph_script("start", *(["--mds"] if mds else []), dir, env=env)
    if p.returncode != 0:
        pytest.fail("scripts/ceph-cluster.sh start %s failed (rc %d): %s"
                    % (dir, p.returncode, (p.stderr.strip() or p.stdout.strip())[-2000:]))
    return CephCluster(dir)


def ceph_stop(dir, purge=False):
    """Stop the cluster in @dir (if its pid files are there); returns the
    CompletedProcess."""
    return ceph_script("stop", *(["--purge"] if purge else []), dir)


def ceph_tmpdir(name):
    """A fresh, short directory for a cluster (admin socket paths must stay
    under 108 bytes, so not under a deep build directory)."""
    return Path(tempfile.mkdtemp(prefix="pcfs-%s-" % name, dir=os.environ.get("PCFS_CEPH_TMP", "/tmp")))


@pytest.fixture(scope="session")
def ceph_cluster(request):
    """A one-OSD memstore cluster for the whole session (pool 'pcfs',
    CEPH_MEMSTORE_BYTES 1 GiB unless set), always stopped at the end; its
    directory is removed if no test failed, kept otherwise. A test that
    needs it and cannot get it FAILS, unless PCFS_NO_CEPH=1 (then it is
    skipped)."""
    if no_ceph():
        pytest.skip("PCFS_NO_CEPH=1: this run has no Ceph cluster")
    d = ceph_tmpdir("ceph")

    def fin():
        keep = request.session.testsfailed > 0
        p = ceph_stop(d, purge=not keep)
        if p.returncode != 0:
            print("ceph_cluster teardown: stop %s: rc %d %s" % (d, p.returncode, p.stderr))
        elif keep:
            print("ceph_cluster: kept %s for inspection" % d)
    request.addfinalizer(fin)
    return ceph_start(d)


@pytest.fixture
def ceph_pool(request, ceph_cluster):
    """A fresh pool of its own for one test (objfs names objects by inode
    number, so two filesystems must not share a pool), removed after the
    test. Yields its name."""
    name = "t-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    if name in ceph_cluster.pools():
        ceph_cluster.remove_pool(name)
    ceph_cluster.make_pool(name)
    yield name
    ceph_cluster.remove_pool(name)
