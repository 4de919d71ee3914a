# SPDX-License-Identifier: LGPL-2.1-or-later
"""The cache under pressure (4 MiB cache, 200 MiB file), both I/O engines,
O_DIRECT and its buffered fallback on tmpfs, readahead, --stats."""
import mmap
import os
import shutil

import pytest

from conftest import (MiB, debugfs_stat, dump, files_equal, fs_type_of, fsck, mkimage, run_pcfs,
                      uring_available, write_random)

URING = uring_available()


def direct_io_works(directory):
    """Whether the host filesystem of @directory accepts O_DIRECT reads."""
    p = os.path.join(str(directory), ".odirect-probe")
    with open(p, "wb") as f:
        f.write(b"\0" * 8192)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
    except OSError:
        os.unlink(p)
        return False
    try:
        buf = mmap.mmap(-1, 4096)
        os.preadv(fd, [buf], 0)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
        os.unlink(p)


def engine_args(engine):
    return [] if engine == "auto" else ["--engine=%s" % engine]


@pytest.mark.parametrize("engine", ["pread", "uring"])
def test_small_cache_big_file(pcfs, image, work, random200, engine):
    """200 MiB through a 4 MiB cache: reclaim and writeback must keep the
    cache within budget and the bytes exact, in and out."""
    img = image("ext4", 4096, "256M")
    args = ["--cache-size=4M", "--stats"] + engine_args(engine)
    if engine == "uring" and not URING:
        r = run_pcfs(*args, "cp", random200, "%s:/big" % img, ok=False)
        assert "not supported" in r.err.lower() or "uring" in r.err.lower(), r
        return

    r = pcfs(*args, "cp", random200, "%s:/big" % img)
    st = r.stats()
    assert st["engine"] == engine, r.err
    assert st["evictions"] > 0, r.err
    peak, size = st["peak cache use"]
    assert size <= 4.0 and peak <= 4.0, r.err
    assert st["pages written back"] >= 200 * MiB // 4096, r.err
    assert st["write bios"][0] > 0
    assert st["I/O errors"] == 0
    fsck(img)
    assert debugfs_stat(img, "/big")["size"] == 200 * MiB
    dumped = work / "dumped"
    dump(img, "/big", dumped)
    assert files_equal(random200, dumped), "image contents differ (debugfs dump)"
    dumped.unlink()

    out = work / "out"
    r = pcfs(*args, "cp", "%s:/big" % img, out)
    st = r.stats()
    assert st["engine"] == engine
    assert st["evictions"] > 0, r.err
    peak, size = st["peak cache use"]
    assert peak <= 4.0, r.err
    assert st["readahead pages"] > 0, r.err
    assert st["read bios"][0] > 0
    assert files_equal(random200, out), "copied-out file differs"


def test_engine_from_environment(pcfs, image, work):
    img = image("ext4", 4096, "16M")
    f = write_random(work / "f", 3 * MiB, 1)
    r = pcfs("--stats", "cp", f, "%s:/f" % img, env={"PC_ENGINE": "pread"})
    assert r.stats()["engine"] == "pread", r.err
    r = pcfs("--stats", "cat", "%s:/f" % img, env={"PC_ENGINE": "uring"})
    assert r.stats()["engine"] == ("uring" if URING else "pread"), r.err
    assert r.out == f.read_bytes()
    r = pcfs("--stats", "cat", "%s:/f" % img)
    assert r.stats()["engine"] == ("uring" if URING else "pread"), "auto picks io_uring when it works"
    r = pcfs("--engine=bogus", "ls", img, ok=False)


def test_o_direct_on_real_disk(pcfs, image, work):
    img = image("ext4", 4096, "16M")
    f = write_random(work / "f", 2 * MiB + 5, 2)
    expect = "on" if direct_io_works(work) else "off"
    r = pcfs("--stats", "cp", f, "%s:/f" % img)
    assert r.stats()["O_DIRECT"].split()[0] == expect, r.err
    r = pcfs("--stats", "--no-direct", "cat", "%s:/f" % img)
    assert r.stats()["O_DIRECT"].split()[0] == "off", r.err
    assert r.out == f.read_bytes()


def test_tmpfs_buffered_fallback(pcfs, work):
    """An image on tmpfs (/dev/shm): where the host refuses O_DIRECT (tmpfs
    before Linux 6.6) pcfs falls back to buffered host I/O, says so in
    --stats, and works; where tmpfs accepts O_DIRECT, --stats must say "on".
    The fallback is also forced with pcfs --test-refuse-direct (the block
    layer's PC_BDEV_TEST_REFUSE_DIRECT flag), so it runs on every kernel."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or fs_type_of(shm) != "tmpfs":
        pytest.skip("/dev/shm is not a tmpfs here")
    d = os.path.join(shm, "pcfs-test-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    try:
        expect = "on" if direct_io_works(d) else "off"
        img = os.path.join(d, "t.img")
        mkimage(img, "ext4", 4096, "32M")
        f = write_random(work / "f", 10 * MiB + 3, 3)
        r = pcfs("--stats", "cp", f, "%s:/f" % img)
        assert r.stats()["O_DIRECT"].split()[0] == expect, r.err
        fsck(img)
        out = work / "out"
        r = pcfs("--stats", "--test-refuse-direct", "cp", "%s:/f" % img, out)
        assert r.stats()["O_DIRECT"].split()[0] == "off", r.err
        assert files_equal(f, out)
        g = write_random(work / "g", 7 * MiB + 5, 4)
        r = pcfs("--stats", "--test-refuse-direct", "cp", g, "%s:/g" % img)
        assert r.stats()["O_DIRECT"].split()[0] == "off", r.err
        fsck(img)
        for name, src in (("/f", f), ("/g", g)):
            dumped = work / "dumped"
            dump(img, name, dumped)
            assert files_equal(src, dumped), name
            dumped.unlink()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_readahead_window(pcfs, image, work):
    """Sequential reads are served by readahead; --ra caps the read size."""
    img = image("ext4", 4096, "96M")
    f = write_random(work / "f", 64 * MiB, 4)
    pcfs("cp", f, "%s:/f" % img)
    r = pcfs("--stats", "cp", "%s:/f" % img, work / "o1")
    st = r.stats()
    assert st["readahead pages"] >= (64 * MiB // 4096) // 2, r.err
    default_avg = st["read bios"][1]
    r = pcfs("--stats", "--ra=128", "cp", "%s:/f" % img, work / "o2")
    st = r.stats()
    assert st["read bios"][1] <= 128.0 + 0.5, r.err
    assert st["readahead pages"] > 0, r.err
    assert default_avg > st["read bios"][1], "the default 2 MiB window gives larger reads than --ra=128"
    assert files_equal(f, work / "o1") and files_equal(f, work / "o2")


def test_stats_counters_sane(pcfs, image, work):
    """A second read of the same file in one process is all cache hits:
    pcfs cat of the same file twice on the command line."""
    img = image("ext4", 4096, "32M")
    f = write_random(work / "f", 8 * MiB, 5)
    pcfs("cp", f, "%s:/f" % img)
    r1 = pcfs("--stats", "cat", "%s:/f" % img)
    r2 = pcfs("--stats", "cat", "%s:/f" % img, "%s:/f" % img)
    assert r2.out == f.read_bytes() * 2
    s1, s2 = r1.stats(), r2.stats()
    # the second pass adds (about) one hit per page and no disk read
    assert s2["cache hits"] >= s1["cache hits"] + 0.99 * (8 * MiB // 4096), (r1.err, r2.err)
    assert s2["read bios"][0] == s1["read bios"][0], (r1.err, r2.err)
    assert s2["pages written back"] == 0 and s2["write bios"][0] == 0, r2.err
