# SPDX-License-Identifier: LGPL-2.1-or-later
"""Namespace operations: mv, rm -r, mkdir -p, ln -s, ls, stat, df, and
their error messages; checked with debugfs and e2fsck."""
import os
import re

import pytest

from conftest import (MiB, compare_trees, debugfs_ls, debugfs_stat, dumpe2fs_header, fsck, random_bytes,
                      rdump)


def free_counts(img):
    h = dumpe2fs_header(img)
    return int(h["Free blocks"]), int(h["Free inodes"])


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 2048), ("ext4", 4096)],
                         ids=["ext2-1024", "ext3-2048", "ext4-4096"])
def test_mv(pcfs, image, work, trees, fstype, bs):
    src = trees["small"] / "extras"
    img = image(fstype, bs, "48M")
    pcfs("cp", "-r", src, "%s:/t" % img)

    # rename a file within a directory and across directories
    pcfs("mv", "%s:/t/sizes/f0004096" % img, "%s:/t/sizes/renamed" % img)
    names = debugfs_ls(img, "/t/sizes")
    assert "renamed" in names and "f0004096" not in names
    pcfs("mv", "%s:/t/sizes/renamed" % img, "%s:/moved" % img)
    assert "renamed" not in debugfs_ls(img, "/t/sizes")
    assert pcfs("cat", "%s:/moved" % img).out == (src / "sizes/f0004096").read_bytes()

    # into an existing directory: lands under its own name
    pcfs("mv", "%s:/t/big3m" % img, "%s:/t/modes" % img)
    assert "big3m" in debugfs_ls(img, "/t/modes") and "big3m" not in debugfs_ls(img, "/t")

    # rename a whole directory; its '..' must follow (e2fsck checks)
    pcfs("mv", "%s:/t/many" % img, "%s:/many2" % img)
    assert "many" not in debugfs_ls(img, "/t") and "many2" in debugfs_ls(img, "/")
    out = work / "out"
    out.mkdir()
    rdump(img, "/many2", out)
    compare_trees(src / "many", out / "many2")

    # replace an existing file (rename(2) semantics); the old inode is freed
    pcfs("mv", "%s:/t/sizes/f0000001" % img, "%s:/t/sizes/f0065537" % img)
    assert pcfs("cat", "%s:/t/sizes/f0065537" % img).out == (src / "sizes/f0000001").read_bytes()
    assert "f0000001" not in debugfs_ls(img, "/t/sizes")
    fsck(img)

    # refusals: missing source, directory into its own subdirectory
    r = pcfs("mv", "%s:/t/nope" % img, "%s:/t/nope2" % img, ok=False)
    assert "No such file or directory" in r.err
    pcfs("mv", "%s:/t" % img, "%s:/t/links/inside" % img, ok=False)
    fsck(img)
    assert debugfs_stat(img, "/t")["type"] == "directory"
    assert "t" in debugfs_ls(img, "/")


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 2048), ("ext4", 4096)],
                         ids=["ext2-1024", "ext3-2048", "ext4-4096"])
def test_rm(pcfs, image, work, trees, fstype, bs):
    src = trees["small"]
    img = image(fstype, bs, "48M")
    blocks0, inodes0 = free_counts(img)
    pcfs("cp", "-r", src, "%s:/t" % img)
    (work / "keep").write_bytes(b"keep me\n")
    pcfs("cp", work / "keep", "%s:/keep" % img)
    blocks_keep = free_counts(img)
    assert blocks_keep[0] < blocks0 and blocks_keep[1] < inodes0

    r = pcfs("rm", "%s:/t/linux" % img, ok=False)
    assert "Is a directory" in r.err
    r = pcfs("rm", "%s:/t/nothing" % img, ok=False)
    assert "No such file or directory" in r.err
    pcfs("rm", "%s:/t/extras/big3m" % img, "%s:/t/extras/links/fast" % img)
    names = debugfs_ls(img, "/t/extras")
    assert "big3m" not in names and "sizes" in names
    assert "fast" not in debugfs_ls(img, "/t/extras/links")
    assert os.path.exists(src / "extras/sizes/f0004096"), "rm of a symlink must not touch its target"
    assert "f0004096" in debugfs_ls(img, "/t/extras/sizes")
    fsck(img)

    pcfs("rm", "-r", "%s:/t" % img)
    assert debugfs_ls(img, "/") == {"lost+found", "keep"}
    fsck(img)
    pcfs("rm", "%s:/keep" % img)
    assert free_counts(img) == (blocks0, inodes0), "space not given back"
    fsck(img)


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 4096)], ids=["ext2-1024", "ext4-4096"])
def test_mkdir(pcfs, image, fstype, bs):
    img = image(fstype, bs, "16M")
    root_links = debugfs_stat(img, "/")["links"]
    pcfs("mkdir", "-p", "%s:/a/b/c" % img)
    for p in ("/a", "/a/b", "/a/b/c"):
        assert debugfs_stat(img, p)["type"] == "directory"
    assert debugfs_stat(img, "/a/b/c")["links"] == 2
    assert debugfs_stat(img, "/a/b")["links"] == 3
    assert debugfs_stat(img, "/")["links"] == root_links + 1
    pcfs("mkdir", "-p", "%s:/a/b/c" % img)            # exists: fine with -p
    r = pcfs("mkdir", "%s:/a/b" % img, ok=False)
    assert "File exists" in r.err
    r = pcfs("mkdir", "%s:/x/y" % img, ok=False)
    assert "No such file or directory" in r.err
    pcfs("mkdir", "%s:/m1" % img, "%s:/m2" % img, "%s:/a/m3" % img)
    assert {"a", "m1", "m2", "lost+found"} == debugfs_ls(img, "/")
    assert "m3" in debugfs_ls(img, "/a")
    # a directory with enough entries to need several blocks
    many = ["%s:/a/d%04d" % (img, i) for i in range(300)]
    pcfs("mkdir", *many)
    assert len(debugfs_ls(img, "/a")) == 302
    assert debugfs_stat(img, "/a")["links"] == 2 + 302     # b, m3 and d0000..d0299
    fsck(img)


def test_symlink(pcfs, image, work):
    img = image("ext4", 1024, "16M")
    pcfs("ln", "-s", "target/file", "%s:/short" % img)
    long_target = "/".join(["component%03d" % i for i in range(30)])
    pcfs("ln", "-s", long_target, "%s:/long" % img)
    st = debugfs_stat(img, "/short")
    assert st["type"] == "symlink" and st["fast_link"] == "target/file"
    st = debugfs_stat(img, "/long")
    assert st["type"] == "symlink" and st["size"] == len(long_target) and st["fast_link"] is None
    out = work / "out"
    out.mkdir()
    rdump(img, "/", out)
    assert os.readlink(out / "long") == long_target
    ls = pcfs("ls", "-l", "%s:/" % img).text
    assert re.search(r"\bshort -> target/file$", ls, re.M), ls
    assert re.search(r"\blong -> %s$" % re.escape(long_target), ls, re.M), ls
    r = pcfs("ln", "-s", "x", "%s:/short" % img, ok=False)
    assert "File exists" in r.err
    # copying a symlink out keeps it a symlink
    pcfs("cp", "-r", "%s:/short" % img, work / "copied")
    assert os.readlink(work / "copied") == "target/file"
    fsck(img)


def test_ls(pcfs, image, work, trees):
    src = trees["small"] / "extras"
    img = image("ext3", 4096, "48M", from_dir=src)
    names = set(pcfs("ls", "%s:/sizes" % img).text.split())
    assert names == set(os.listdir(src / "sizes"))
    names_a = set(pcfs("ls", "-a", "%s:/sizes" % img).text.split())
    assert names_a == names | {".", ".."}
    # a bare image is its root
    root = pcfs("ls", img).text.split("\n")
    assert set(filter(None, root)) == set(os.listdir(src)) | {"lost+found"}
    # -l shows sizes
    lsl = pcfs("ls", "-l", "%s:/sizes" % img).text
    for line in lsl.splitlines():
        m = re.search(r"(f\d{7})$", line)
        if m:
            assert re.search(r"\b%d\b" % int(m.group(1)[1:]), line), line
    assert len([l for l in lsl.splitlines() if re.search(r"f\d{7}$", l)]) == len(names)
    # a file operand shows the file
    assert "f0000512" in pcfs("ls", "-l", "%s:/sizes/f0000512" % img).text
    r = pcfs("ls", "%s:/nowhere" % img, ok=False)
    assert "No such file or directory" in r.err


def test_stat(pcfs, image, work):
    img = image("ext4", 4096, "16M")
    f = work / "f"
    f.write_bytes(random_bytes(12345, 1))
    pcfs("cp", f, "%s:/f" % img)
    pcfs("mkdir", "%s:/d" % img)
    pcfs("ln", "-s", "f", "%s:/l" % img)
    for path, size_, kind in (("/f", 12345, r"regular"), ("/d", None, r"directory"), ("/l", 1, r"link")):
        out = pcfs("stat", "%s:%s" % (img, path)).text
        st = debugfs_stat(img, path)
        assert re.search(r"\b%d\b" % st["inode"], out), "inode %d not in:\n%s" % (st["inode"], out)
        assert re.search(r"\b%d\b" % st["size"], out), "size %d not in:\n%s" % (st["size"], out)
        assert re.search(kind, out, re.I), "%s not in:\n%s" % (kind, out)
        assert re.search(r"\b%d\b" % st["links"], out)
        assert re.search(r"%o\b" % (st["mode"] & 0o7777), out), "mode %o not in:\n%s" % (st["mode"], out)
        if size_ is not None:
            assert st["size"] == size_
    r = pcfs("stat", "%s:/missing" % img, ok=False)
    assert "No such file or directory" in r.err


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 4096)], ids=["ext2-1024", "ext4-4096"])
def test_df(pcfs, image, work, fstype, bs):
    img = image(fstype, bs, "64M")
    data = work / "data"
    data.write_bytes(random_bytes(8 * MiB, 3))
    pcfs("cp", data, "%s:/data" % img)
    h = dumpe2fs_header(img)
    bsize = int(h["Block size"])
    total_kib = int(h["Block count"]) * bsize // 1024
    avail_kib = (int(h["Free blocks"]) - int(h["Reserved block count"])) * bsize // 1024
    out = pcfs("df", img).text
    lines = [l.split() for l in out.splitlines() if l.strip()]
    header, row = lines[0], lines[-1]
    assert header[0] == "Filesystem" and row[0] == str(img), out
    cols = dict(zip(header[1:], row[1:]))
    for c in ("1K-blocks", "Used", "Available", "Inodes", "IFree"):
        assert c in cols, "df has no %s column:\n%s" % (c, out)
    kb, used, avail = int(cols["1K-blocks"]), int(cols["Used"]), int(cols["Available"])
    # total: the block count, less at most the metadata overhead
    assert 0.75 * total_kib <= kb <= total_kib, (out, total_kib)
    # available: free less the root reserve, as dumpe2fs counts them, give
    # or take 3% of the size (reserves for metadata)
    slack = max(bsize // 1024, total_kib * 3 // 100)
    assert abs(avail - avail_kib) <= slack, (out, avail_kib)
    assert used >= 8 * 1024 and used + avail <= kb, out
    assert int(cols["Inodes"]) == int(h["Inode count"]), out
    assert int(cols["IFree"]) == int(h["Free inodes"]), out
