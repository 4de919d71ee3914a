# SPDX-License-Identifier: LGPL-2.1-or-later
"""Errors: injected write faults reach the exit status and fsync (errseq),
corrupt images and images needing journal recovery are refused without
being modified, read-only mounts refuse writes, ENOSPC leaves a clean
filesystem, and damaged images never crash pcfs."""
import os
import random
import subprocess

import pytest

from conftest import (FAULT_FSYNC, MiB, assert_no_sanitizer_report, debugfs, debugfs_ls, dump, fsck,
                      random_bytes, run_pcfs, sha256_file, uring_available, write_random)


@pytest.mark.parametrize("fault", ["5", "1", "3:1000000"])
def test_fault_write_cp(pcfs, image, work, fault):
    img = image("ext4", 4096, "64M")
    f = write_random(work / "f", 16 * MiB, 6)
    r = pcfs("--fault-write=%s" % fault, "cp", f, "%s:/f" % img, ok=False)
    assert "Input/output error" in r.err, r


def test_fault_write_beyond_last_bio_is_harmless(pcfs, image, work):
    """A fault armed for a bio that never comes changes nothing."""
    img = image("ext4", 4096, "64M")
    f = write_random(work / "f", 1 * MiB, 7)
    pcfs("--fault-write=100000", "cp", f, "%s:/f" % img)
    fsck(img)
    assert pcfs("cat", "%s:/f" % img).out == f.read_bytes()


def test_fault_write_stats_count_errors(pcfs, image, work):
    img = image("ext4", 4096, "64M")
    f = write_random(work / "f", 8 * MiB, 8)
    r = pcfs("--stats", "--fault-write=2:3", "cp", f, "%s:/f" % img, ok=False)
    assert r.stats().get("I/O errors", 0) >= 1, r.err


@pytest.fixture(scope="module")
def fault_fsync_bin():
    if not (FAULT_FSYNC.is_file() and os.access(FAULT_FSYNC, os.X_OK)):
        pytest.fail("%s not built (tests/system/meson.build)" % FAULT_FSYNC)
    return FAULT_FSYNC


@pytest.mark.parametrize("fstype,bs,engine", [("ext4", 4096, "0"), ("ext2", 1024, "2"), ("ext3", 4096, "1")],
                         ids=["ext4-4096-auto", "ext2-1024-pread", "ext3-4096-uring"])
def test_fsync_reports_eio_once_per_file(fault_fsync_bin, image, fstype, bs, engine):
    if engine == "1" and not uring_available():
        engine = "2"
    img = image(fstype, bs, "32M")
    p = subprocess.run([str(fault_fsync_bin), str(img), engine], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, "fault_fsync rc %d\n%s%s" % (p.returncode, p.stdout, p.stderr)
    assert "0 failed" in p.stdout
    fsck(img)
    # the last, successful write (fault_fsync.c fill(buf, LEN, 4)) is on disk
    want = bytes(((i * 131 + 4 * 7919) >> 3) & 0xFF for i in range(65536))
    dumped = img.parent / "dumped"
    dump(img, "/fault_fsync.dat", dumped)
    assert dumped.read_bytes() == want


def zero_superblock(img):
    with open(img, "r+b") as f:
        f.seek(1024)
        f.write(bytes(1024))


def test_corrupt_superblock_refused(pcfs, image, work):
    img = image("ext4", 4096, "16M")
    zero_superblock(img)
    before = sha256_file(img)
    (work / "x").write_bytes(b"x")
    for argv in (["ls", "%s:/" % img], ["cat", "%s:/x" % img], ["cp", work / "x", "%s:/x" % img],
                 ["mkdir", "%s:/d" % img], ["df", img]):
        r = pcfs(*argv, ok=False)
        assert str(img) in r.err, r
    assert sha256_file(img) == before, "a refused image was modified"


def test_garbage_image_refused(pcfs, work):
    img = work / "garbage.img"
    img.write_bytes(random_bytes(4 * MiB, 11))
    before = sha256_file(img)
    pcfs("ls", "%s:/" % img, ok=False)
    (work / "x").write_bytes(b"x")
    pcfs("cp", work / "x", "%s:/x" % img, ok=False)
    assert sha256_file(img) == before
    tiny = work / "tiny.img"
    tiny.write_bytes(b"")
    pcfs("ls", "%s:/" % tiny, ok=False)


@pytest.mark.parametrize("fstype", ["ext3", "ext4"])
def test_needs_recovery_refused_rw(pcfs, image, work, fstype):
    img = image(fstype, 4096, "32M")
    f = work / "f"
    f.write_bytes(b"hello\n")
    pcfs("cp", f, "%s:/f" % img)
    debugfs(img, "feature needs_recovery", write=True)
    before = sha256_file(img)
    for argv in (["cp", f, "%s:/g" % img], ["mkdir", "%s:/d" % img], ["rm", "%s:/f" % img],
                 ["truncate", "-s", "0", "%s:/f" % img]):
        r = pcfs(*argv, ok=False)
        assert str(img) in r.err, r
    assert sha256_file(img) == before, "an image needing recovery was modified"
    # read-only access still works and changes nothing
    assert pcfs("--ro", "cat", "%s:/f" % img).out == b"hello\n"
    assert "f" in pcfs("--ro", "ls", "%s:/" % img).text.split()
    assert sha256_file(img) == before


def test_ro_option_refuses_writes(pcfs, image, work):
    img = image("ext4", 4096, "16M")
    f = work / "f"
    f.write_bytes(b"data\n")
    pcfs("cp", f, "%s:/f" % img)
    before = sha256_file(img)
    for argv in (["cp", f, "%s:/g" % img], ["mkdir", "%s:/d" % img], ["rm", "%s:/f" % img],
                 ["mv", "%s:/f" % img, "%s:/h" % img], ["ln", "-s", "f", "%s:/l" % img],
                 ["truncate", "-s", "1", "%s:/f" % img]):
        r = pcfs("--ro", *argv, ok=False)
        assert "Read-only file system" in r.err, r
    assert sha256_file(img) == before
    assert pcfs("--ro", "cat", "%s:/f" % img).out == b"data\n"


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 4096)], ids=["ext2-1024", "ext4-4096"])
def test_enospc_leaves_clean_fs(pcfs, image, work, fstype, bs):
    img = image(fstype, bs, "16M")
    big = write_random(work / "big", 24 * MiB, 12)
    r = pcfs("cp", big, "%s:/big" % img, ok=False)
    assert "No space left on device" in r.err, r
    fsck(img)
    # the space can be reclaimed and used again
    pcfs("rm", "%s:/big" % img, ok=None)
    assert "big" not in debugfs_ls(img, "/")
    small = write_random(work / "small", 4 * MiB, 13)
    pcfs("cp", small, "%s:/small" % img)
    assert pcfs("cat", "%s:/small" % img).out == small.read_bytes()
    fsck(img)


@pytest.mark.parametrize("fstype,bs", [("ext4", 1024), ("ext2", 1024)], ids=["ext4-1024", "ext2-1024"])
def test_damaged_images_never_crash(pcfs_bin, image, work, trees, fstype, bs):
    """Flip bits in the metadata of a populated image (ext4: checksummed;
    ext2: nothing catches the damage but pcfs itself): every command may
    fail, but with a message, without a crash or a hang, and read-only
    commands never modify the image."""
    src = trees["small"] / "extras"
    clean = image(fstype, bs, "16M", from_dir=src, name="clean.img")
    size = os.path.getsize(clean)
    files = ["sizes/f0000001", "sizes/f0004097", "sizes/f1048579", "big3m", "with space",
             "d00/d01/d02/d03/d04/d05/d06/d07/d08/d09/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/leaf"]
    for seed in range(10):
        img = work / ("damaged%d.img" % seed)
        data = bytearray(clean.read_bytes())
        rng = random.Random(seed)
        for _ in range(40):
            off = rng.randrange(2048, 2 * MiB)     # past the superblock: get past mount
            data[off] ^= 1 << rng.randrange(8)
        img.write_bytes(bytes(data))
        before = sha256_file(img)
        for argv in (["ls", "-l", "-a", "%s:/" % img], ["ls", "-l", "%s:/sizes" % img],
                     ["ls", "-l", "%s:/many" % img], ["cat"] + ["%s:/%s" % (img, f) for f in files],
                     ["stat", "%s:/links/slow" % img], ["df", img]):
            r = run_pcfs(*argv, ok=None, timeout=30, stdout=subprocess.DEVNULL)
            if r.rc != 0:
                assert r.err.startswith("pcfs: ") or "\npcfs: " in r.err, r
        assert sha256_file(img) == before, "seed %d: a read-only command modified the image" % seed
        assert os.path.getsize(img) == size
        img.unlink()


@pytest.mark.parametrize("delay", [0.05, 0.3])
def test_interrupted_copy_leaves_clean_fs(pcfs_bin, image, work, random200, delay):
    """SIGINT in the middle of a copy: pcfs stops, unmounts (writing back
    what it has) and says so; the image stays consistent for e2fsck
    whenever the signal lands."""
    import signal
    import time
    img = image("ext4", 4096, "256M")
    p = subprocess.Popen([str(pcfs_bin), "--cache-size=8M", "cp", str(random200), "%s:/big" % img],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    err = err.decode("utf-8", "replace")
    assert_no_sanitizer_report(err)
    assert p.returncode in (0, 1), "rc %d: %s" % (p.returncode, err)
    if p.returncode == 1:
        assert "interrupted" in err, err
    fsck(img)
