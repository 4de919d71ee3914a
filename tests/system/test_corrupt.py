# SPDX-License-Identifier: LGPL-2.1-or-later
"""Corrupt metadata: bounded work, clean failures, errors recorded in the
superblock, and interruptible long operations (issue 7, item 2).

Each image is made by mke2fs and corrupted with debugfs (set_inode_field),
then pcfs runs on it as a user would, under a subprocess timeout: a command
that used to run for minutes at full CPU must now fail at once with exit 1
and a message naming the corruption.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import PCFS, debugfs, debugfs_ls, debugfs_stat, dumpe2fs_header, run, run_pcfs

CORRUPT = re.compile(r"Structure needs cleaning \(corrupt filesystem: inode \d+: .+\)")


def populate(root):
    (root / "d1" / "d2").mkdir(parents=True)
    for i in range(40):
        (root / "d1" / ("f%d" % i)).write_text("file %d\n" % i)
    (root / "big").write_bytes(os.urandom(300000))
    (root / "d1" / "d2" / "h").write_text("hi\n")
    os.symlink("d1/f1", root / "sl")
    return root


@pytest.fixture
def src(work):
    return populate(work / "src")


# ---------------------------------------------------------------------------
# (a) a directory's size trusted as the amount of work
# ---------------------------------------------------------------------------

# ext4 with extents: 1 TiB; ext2 (indirect map): 8 GiB, under s_maxbytes
# so the size itself is not refused.
DIR_SIZE_CASES = [("ext4", 1024, 0xFFFFFFFFFF), ("ext4", 4096, 0xFFFFFFFFFF),
                  ("ext2", 1024, 8 << 30), ("ext3", 2048, 8 << 30)]


@pytest.mark.parametrize("fstype,bs,size", DIR_SIZE_CASES,
                         ids=["%s-%d" % c[:2] for c in DIR_SIZE_CASES])
def test_huge_directory_size_fails_at_once(image, src, work, fstype, bs, size):
    """A directory whose i_size claims far more blocks than it owns used to
    make cp -r / ls / rm -r walk every claimed block (minutes, full CPU);
    now the inode is refused when read: exit 1 with a corruption message."""
    img = image(fstype, bs, "8M", from_dir=src)
    debugfs(img, "sif /d1 size %d" % size, write=True)
    cases = [("ls", "-l", "%s:/d1" % img), ("cp", "-r", "%s:/" % img, str(work / "out")),
             ("rm", "-r", "%s:/d1" % img), ("cat", "%s:/d1/f1" % img)]
    for argv in cases:
        t0 = time.monotonic()
        r = run_pcfs(*argv, ok=False, timeout=20)
        took = time.monotonic() - t0
        print("pcfs %s: rc %d in %.2f s: %s" % (argv[0], r.rc, took, r.err.strip()))
        assert r.rc == 1, r
        assert CORRUPT.search(r.err), r
        assert "larger than the blocks it owns" in r.err, r
    # Everything else still reads.
    r = run_pcfs("cat", "%s:/d1/d2/h" % img, ok=None, timeout=20)
    assert r.rc == 1  # d1 itself is on the path: refused
    r = run_pcfs("cat", "%s:/sl" % img, ok=None, timeout=20)
    assert r.rc == 1
    assert run_pcfs("ls", "%s:/" % img, timeout=20).rc == 0


@pytest.mark.parametrize("bs", [1024, 4096])
def test_indirect_block_cycle_fails_at_once(image, src, work, bs):
    """A triple-indirect block whose every pointer names itself maps the
    same block at every level: a 64 GiB i_size then read as 64 GiB of
    "data" (cat ran until killed). The map names far more blocks than the
    inode's block count: refused on first use."""
    img = image("ext2", bs, "8M", from_dir=src)
    blk = 7 * 1024 * 1024 // bs  # a free block near the end
    with open(img, "r+b") as f:
        f.seek(blk * bs)
        f.write(blk.to_bytes(4, "little") * (bs // 4))
    debugfs(img, "sif /big block[TIND] %d" % blk, write=True)
    debugfs(img, "sif /big size %d" % (64 << 30), write=True)
    # rm records the error in the superblock: the truncate after it needs
    # --force to mount read-write (checked below) and then meets the map.
    for argv in (("cat", "%s:/big" % img), ("cp", "%s:/big" % img, str(work / "big")),
                 ("rm", "%s:/big" % img), ("--force", "truncate", "-s", "1000", "%s:/big" % img)):
        t0 = time.monotonic()
        r = run_pcfs(*argv, ok=False, timeout=20, stdout=subprocess.DEVNULL)
        print("pcfs %s: rc %d in %.2f s: %s" % (argv[0], r.rc, time.monotonic() - t0,
                                               r.err.strip()))
        assert r.rc == 1, r
        assert "names more blocks than its block count" in r.err, r
    r = run_pcfs("truncate", "-s", "1000", "%s:/big" % img, ok=False, timeout=20)
    assert r.rc == 1, r
    assert "errors recorded" in r.err and "e2fsck" in r.err, r


# ---------------------------------------------------------------------------
# (b) an error met while changing metadata
# ---------------------------------------------------------------------------

RM_CASES = [("ext2", 1024, "/d1/f1", "block[0]", 0xFFFFF),
            ("ext3", 4096, "/d1/f1", "block[0]", 0xFFFFF),
            ("ext2", 1024, "/big", "block[IND]", 5000000),
            ("ext2", 2048, "/big", "block[DIND]", 3)]


@pytest.mark.parametrize("fstype,bs,path,field,value", RM_CASES,
                         ids=["%s-%d-%s" % (c[0], c[1], c[3]) for c in RM_CASES])
def test_rm_with_corrupt_block_map_fails_and_records(image, src, fstype, bs, path, field, value):
    """Removing a file whose block map points outside the filesystem (or at
    the superblock) used to print libext2fs complaints to stderr, free
    whatever the bad pointers named, and exit 0. Now the unlink fails
    (exit 1, the file is still there), nothing is freed, and the error is
    recorded in the superblock the way the kernel's ext4_error does."""
    img = image(fstype, bs, "8M", from_dir=src)
    ino = debugfs_stat(img, path)["inode"]
    debugfs(img, "sif %s %s %d" % (path, field, value), write=True)
    before = dumpe2fs_header(img)
    assert before.get("FS Error count") is None
    r = run_pcfs("rm", "%s:%s" % (img, path), ok=False, timeout=30)
    print(r.err)
    assert r.rc == 1, r
    assert CORRUPT.search(r.err), r
    assert "inode %d" % ino in r.err, r
    assert "ext2fs_" not in r.err and "pagecache ext4" not in r.err, r  # nothing printed by the library
    assert os.path.basename(path) in debugfs_ls(img, os.path.dirname(path) or "/")
    h = dumpe2fs_header(img)
    assert h["Filesystem state"] == "clean with errors", h
    assert int(h["FS Error count"]) >= 1, h
    assert int(h["First error inode #"]) == ino, h
    assert h["First error err"] == "EFSCORRUPTED", h
    assert h.get("First error function"), h
    assert int(h["Last error inode #"]) == ino, h
    # e2fsck sees the recorded errors and repairs the image.
    p = run(["e2fsck", "-fy", str(img)], ok=False)
    assert p.returncode in (1, 2), p
    p = run(["e2fsck", "-fn", str(img)], ok=False)
    assert p.returncode == 0, p.stdout.decode()
    h = dumpe2fs_header(img)
    assert h["Filesystem state"] == "clean", h


def test_unlink_then_free_of_open_corrupt_file_reports(image, src):
    """truncate of a file whose map is corrupt fails with the message and
    changes nothing (no partial free)."""
    img = image("ext2", 1024, "8M", from_dir=src)
    ino = debugfs_stat(img, "/big")["inode"]
    debugfs(img, "sif /big block[IND] 5000000", write=True)
    r = run_pcfs("truncate", "-s", "0", "%s:/big" % img, ok=False, timeout=30)
    assert r.rc == 1 and CORRUPT.search(r.err), r
    assert debugfs_stat(img, "/big")["size"] == 300000
    h = dumpe2fs_header(img)
    assert h["Filesystem state"] == "clean with errors", h
    assert int(h["Last error inode #"]) == ino, h


# ---------------------------------------------------------------------------
# (c) SIGINT and SIGTERM stop long operations within a second
# ---------------------------------------------------------------------------

def long_listing_image(work, src):
    """A 64 GiB (sparse, < 1 MiB on disk) ext4 image whose /d1 claims 16M
    blocks of size and block count (consistent with each other, within the
    filesystem): listing it walks 16M block-map lookups, ~8 s."""
    img = work / "huge.img"
    run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-N", "1024",
         "-O", "^resize_inode,sparse_super2,^has_journal", "-d", str(src), str(img), "64G"])
    debugfs(img, "sif /d1 size %d" % (16000000 * 4096), write=True)
    debugfs(img, "sif /d1 blocks %d" % (16000000 * 8), write=True)
    return img


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("cmd", ["ls", "rm"])
def test_signal_stops_long_listing(work, src, sig, cmd):
    img = long_listing_image(work, src)
    fsck_before = run(["e2fsck", "-fn", str(img)], ok=False)
    argv = ["ls", "-l", "%s:/d1" % img] if cmd == "ls" else ["rm", "-r", "%s:/d1" % img]
    p = subprocess.Popen([str(PCFS)] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("pcfs %s still running 60 s after %s" % (cmd, sig.name))
    took = time.monotonic() - t0
    print("pcfs %s: exit %d %.3f s after %s" % (cmd, p.returncode, took, sig.name))
    assert p.returncode in (1, 130), err
    assert took < 5.0, "pcfs %s took %.2f s to stop after %s" % (cmd, took, sig.name)
    assert b"interrupted" in err.lower() or b"Interrupted" in err, err
    # Nothing changed: e2fsck says what it said before (only /d1's bad
    # size), and d1's files are all there.
    fsck_after = run(["e2fsck", "-fn", str(img)], ok=False)
    assert fsck_after.returncode == fsck_before.returncode
    assert fsck_after.stdout == fsck_before.stdout
    assert len([n for n in debugfs_ls(img, "/d1") if n.startswith("f")]) == 40
