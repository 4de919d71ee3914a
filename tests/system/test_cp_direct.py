# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcfs cp --direct: the image side through pc_open(O_DIRECT), the host side
with O_DIRECT, unaligned tails through a buffered descriptor. Files of
awkward sizes go in and out of ext2/3/4 images with 1, 2 and 4 KiB blocks;
debugfs dump is the oracle for what reached the image, e2fsck -fn must find
it clean, and what comes back out must be byte-identical."""
import os
import pty
import subprocess

import pytest

from conftest import (MiB, PCFS, assert_no_sanitizer_report, compare_trees, debugfs_ls, debugfs_stat,
                      dump, files_equal, fsck, random_bytes, rdump, write_random)

# around the 512-byte logical block (pc_fdioalign), the 1/2/4 KiB filesystem
# blocks, the 4 KiB page and the 1 MiB copy buffer
SIZES = [0, 1, 511, 512, 513, 1023, 1536, 4095, 4096, 4097, 4608, 8191,
         MiB - 1, MiB, MiB + 3, 2 * MiB - 512, 3 * MiB + 777, 5 * MiB]

COMBOS = [("ext4", 1024), ("ext4", 4096), ("ext2", 1024), ("ext3", 2048)]
COMBO_IDS = ["%s-%d" % c for c in COMBOS]


def make_files(d, seed):
    """One pseudo-random file per size in SIZES under @d; returns the paths."""
    d.mkdir()
    paths = []
    for i, s in enumerate(SIZES):
        p = d / ("f%08d" % s)
        if s > MiB:
            write_random(p, s, seed * 100 + i)
        else:
            p.write_bytes(random_bytes(s, seed * 100 + i))
        paths.append(p)
    return paths


def stats_line(err):
    for line in err.splitlines():
        if line.startswith("pcfs: cp: "):
            return line
    raise AssertionError("no 'pcfs: cp:' stats line in:\n%s" % err)


@pytest.mark.parametrize("fstype,bs", COMBOS, ids=COMBO_IDS)
def test_cp_direct_in_and_out(pcfs, image, work, fstype, bs):
    src = make_files(work / "src", 7)
    total = sum(SIZES)
    img = image(fstype, bs, "64M")
    pcfs("mkdir", "%s:/d" % img)

    r = pcfs("--stats", "cp", "--direct", *src, "%s:/d" % img)
    line = stats_line(r.err)
    assert "%d files" % len(SIZES) in line, line
    st = r.stats()
    # the data bypassed the page cache: only the unaligned tails (one page
    # each at most) and metadata were written back through it
    assert st["pages written back"] < total // 4096 // 4, st
    fsck(img)

    # what debugfs finds in the image: every byte, every size
    dumped = work / "dumped"
    dumped.mkdir()
    assert debugfs_ls(img, "/d") == {p.name for p in src}
    for p in src:
        out = dumped / p.name
        dump(img, "/d/" + p.name, out)
        assert out.stat().st_size == p.stat().st_size, p.name
        assert files_equal(p, out), "%s: contents differ (debugfs dump)" % p.name
        assert debugfs_stat(img, "/d/" + p.name)["size"] == p.stat().st_size

    # and back out with --direct: each file singly, then all into a directory
    back = work / "back"
    back.mkdir()
    for p in src:
        pcfs("cp", "--direct", "%s:/d/%s" % (img, p.name), back / p.name)
        assert files_equal(p, back / p.name), "%s: contents differ (cp --direct out)" % p.name
    back2 = work / "back2"
    back2.mkdir()
    pcfs("cp", "--direct", *["%s:/d/%s" % (img, p.name) for p in src], back2)
    for p in src:
        assert files_equal(p, back2 / p.name), "%s: contents differ (cp --direct out)" % p.name
    fsck(img)


@pytest.mark.parametrize("fstype,bs", [("ext4", 1024), ("ext4", 4096)], ids=["ext4-1024", "ext4-4096"])
def test_cp_direct_recursive(pcfs, image, work, fstype, bs):
    """cp -r --direct of a small tree with subdirectories, empty files and
    directories, symlinks; in, checked by rdump, and out again."""
    tree = work / "tree"
    make_files(tree, 11)
    (tree / "sub" / "deeper").mkdir(parents=True)
    for i, s in enumerate((1, 700, 4097, 65537, 1 * MiB + 1)):
        (tree / "sub" / ("s%d" % i)).write_bytes(random_bytes(s, 500 + i))
        (tree / "sub" / "deeper" / ("t%d" % i)).write_bytes(random_bytes(s + 512, 600 + i))
    (tree / "empty-dir").mkdir()
    os.symlink("f00004097", tree / "link")
    os.symlink("../../f00000001", tree / "sub" / "deeper" / "uplink")
    img = image(fstype, bs, "64M")

    r = pcfs("--stats", "cp", "-r", "--direct", tree, "%s:/t" % img)
    assert "2 symlinks" in stats_line(r.err)
    fsck(img)
    out = work / "rdump"
    out.mkdir()
    rdump(img, "/t", out)
    n = compare_trees(tree, out / "t", modes=0o022)
    assert n == len(SIZES) + 2 + 10 + 1 + 2   # files, sub/deeper, their files, empty-dir, links

    back = work / "back"
    pcfs("cp", "-r", "--direct", "%s:/t" % img, back)
    assert compare_trees(tree, back, modes=0o022) == n

    # -a --direct keeps modes and mtimes as well
    os.chmod(tree / "f00004095", 0o640)
    pcfs("cp", "-a", "--direct", tree, "%s:/a" % img)
    fsck(img)
    out2 = work / "rdump2"
    out2.mkdir()
    rdump(img, "/a", out2)
    compare_trees(tree, out2 / "a", modes="exact", mtimes=True)


def test_cp_direct_overwrite_and_image_to_image(pcfs, image, work):
    """--direct onto existing files (O_TRUNC: longer, shorter, empty) and
    between two images and within one."""
    a = image("ext4", 1024, "32M", name="a.img")
    b = image("ext4", 4096, "32M", name="b.img")
    for i, size in enumerate([3 * MiB + 5, 10001, 5 * MiB, 0, 4097, 2 * MiB + 511]):
        host = work / ("v%d" % i)
        host.write_bytes(random_bytes(size, 40 + i))
        pcfs("cp", "--direct", host, "%s:/f" % a)
        assert debugfs_stat(a, "/f")["size"] == size
        fsck(a)
        pcfs("cp", "--direct", "%s:/f" % a, "%s:/g" % b)
        pcfs("cp", "--direct", "%s:/g" % b, "%s:/h" % b)
        fsck(b)
        for img, path in ((a, "/f"), (b, "/g"), (b, "/h")):
            out = work / ("o%d%s" % (i, path.replace("/", "_")))
            dump(img, path, out)
            assert files_equal(host, out), "version %d (%d bytes), %s:%s" % (i, size, img.name, path)


def test_cp_direct_sparse_host_source(pcfs, image, work):
    """A sparse host file keeps its holes through --direct (extents are
    read and written aligned), and its bytes and size are exact."""
    src = work / "sparse"
    data = random_bytes(MiB + 5, 3)
    with open(src, "wb") as f:
        f.write(random_bytes(8192 + 100, 1))
        f.seek(16 * MiB)
        f.write(data)
        f.truncate(32 * MiB + 3)
    img = image("ext4", 4096, "64M")
    pcfs("cp", "--direct", src, "%s:/s" % img)
    fsck(img)
    out = work / "s.out"
    dump(img, "/s", out)
    assert files_equal(src, out)
    st = debugfs_stat(img, "/s")
    assert st["size"] == 32 * MiB + 3
    # 512-byte units: the data (rounded to 4 KiB) and some tree blocks, not 32 MiB
    assert st["blockcount"] * 512 < 2 * MiB, st
    back = work / "s.back"
    pcfs("cp", "--direct", "%s:/s" % img, back)
    assert files_equal(src, back)


def test_cp_direct_progress(pcfs_bin, image, work):
    """The progress line (stderr a terminal, a file of 64 MiB or more)
    works with --direct, in both directions."""
    big = write_random(work / "big", 64 * MiB + 1, 64)
    img = image("ext4", 4096, "128M")
    for args in ((big, "%s:/big" % img), ("%s:/big" % img, work / "big.back")):
        master, slave = pty.openpty()
        try:
            p = subprocess.run([str(PCFS), "cp", "--direct"] + [str(a) for a in args],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                               timeout=300)
            os.close(slave)
            slave = -1
            chunks = []
            while True:
                try:
                    b = os.read(master, 65536)
                except OSError:		# EIO: the terminal's other side is closed
                    break
                if not b:
                    break
                chunks.append(b)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        err = b"".join(chunks).decode("utf-8", "replace")
        assert_no_sanitizer_report(err)
        assert p.returncode == 0, "pcfs cp --direct %s -> %d\n%s" % (args, p.returncode, err)
        assert "100%" in err and "64.0/64.0 MiB" in err, err
    fsck(img)
    assert files_equal(big, work / "big.back")


def test_cp_direct_errors(pcfs, image, work):
    """Failures are one 'pcfs: ...' line and exit status 1, and the copy
    goes on with the other operands."""
    img = image("ext4", 4096, "16M")
    f = work / "f"
    f.write_bytes(random_bytes(4097, 9))
    g = work / "g"
    g.write_bytes(random_bytes(1, 10))
    r = pcfs("cp", "--direct", f, "%s:/no/such/dir" % img, ok=False)
    assert r.err.strip().splitlines() == ["pcfs: %s:/no/such/dir: No such file or directory" % img], r.err
    r = pcfs("cp", "--direct", "%s:/missing" % img, work / "x", ok=False)
    assert "No such file or directory" in r.err
    assert not (work / "x").exists()
    r = pcfs("--ro", "cp", "--direct", f, "%s:/f" % img, ok=False)
    assert "Read-only file system" in r.err
    # one bad source among good ones: the good ones are still copied
    pcfs("mkdir", "%s:/d" % img)
    r = pcfs("cp", "--direct", f, work / "nope", g, "%s:/d" % img, ok=False)
    assert len(r.err.strip().splitlines()) == 1 and "nope" in r.err, r.err
    assert debugfs_ls(img, "/d") == {"f", "g"}
    for p in (f, g):
        out = work / (p.name + ".out")
        dump(img, "/d/" + p.name, out)
        assert files_equal(p, out)
    # a bad option still gives the usage hint
    r = pcfs("cp", "--direct=yes", f, "%s:/z" % img, ok=False)
    assert "Try 'pcfs --help'" in r.err
    fsck(img)
