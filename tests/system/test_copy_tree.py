# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcfs cp -r of real trees into images of every type and block size,
checked file by file against debugfs (rdump) and with e2fsck -fn."""
import os

import pytest

from conftest import (FS_COMBOS, FS_IDS, MiB, compare_trees, debugfs_ls, debugfs_stat, files_equal,
                      fsck, random_bytes, rdump, sha256_file, tree_stats, write_random)

SLOW_TARGET = "/" + "/".join(["a-rather-long-directory-name"] * 6) + "/target"


@pytest.mark.parametrize("fstype,bs", FS_COMBOS, ids=FS_IDS)
def test_cp_tree_in_and_out(pcfs, image, work, trees, fstype, bs):
    big = (fstype, bs) == ("ext4", 4096)
    src = trees["big" if big else "small"]
    files, dirs, links, nbytes = tree_stats(src)
    img = image(fstype, bs, "128M" if big else "48M")

    pcfs("cp", "-r", src, "%s:/tree" % img)
    fsck(img)

    # every entry, byte for byte, as debugfs sees it
    out = work / "rdump"
    out.mkdir()
    rdump(img, "/tree", out)
    n = compare_trees(src, out / "tree", modes=0o022)
    assert n == files + dirs + links
    assert n >= (2000 if big else 200)

    # symlinks: fast (in the inode) and slow (in a block)
    st = debugfs_stat(img, "/tree/extras/links/fast")
    assert st["type"] == "symlink" and st["fast_link"] == "../sizes/f0004096"
    st = debugfs_stat(img, "/tree/extras/links/slow")
    assert st["type"] == "symlink" and st["size"] == len(SLOW_TARGET)
    assert st["fast_link"] is None, "a %d-byte target must not be a fast symlink" % len(SLOW_TARGET)
    assert os.readlink(out / "tree/extras/links/slow") == SLOW_TARGET
    ls = pcfs("ls", "-l", "%s:/tree/extras/links" % img).text
    assert "fast -> ../sizes/f0004096" in ls
    assert "slow -> " + SLOW_TARGET in ls
    assert "dangling -> does-not-exist" in ls
    assert "todir -> ../sizes" in ls
    assert debugfs_stat(img, "/tree/extras/links/todir")["type"] == "symlink"

    # the directory with many entries, as debugfs lists it
    assert debugfs_ls(img, "/tree/extras/many") == set(os.listdir(src / "extras/many"))

    # and back out through pcfs
    back = work / "back"
    pcfs("cp", "-r", "%s:/tree" % img, back)
    assert compare_trees(src, back, modes=0o022) == n


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 4096)], ids=["ext2-1024", "ext4-4096"])
def test_cp_preserve(pcfs, image, work, trees, fstype, bs):
    """cp -r -p keeps modes and mtimes (checked through debugfs rdump,
    which applies the inode's mode and times to what it dumps)."""
    src = trees["small"]
    img = image(fstype, bs, "48M")
    pcfs("cp", "-r", "-p", src / "extras", "%s:/x" % img)
    fsck(img)
    out = work / "rdump"
    out.mkdir()
    rdump(img, "/x", out)
    compare_trees(src / "extras", out / "x", modes="exact", mtimes=True)
    st = debugfs_stat(img, "/x/modes/m640")
    assert st["mode"] & 0o7777 == 0o640
    assert st["mtime"] == int(os.lstat(src / "extras/modes/m640").st_mtime)


def test_cp_without_p_applies_umask(pcfs, image, work, trees):
    src = trees["small"] / "extras" / "modes"
    img = image("ext4", 4096, "16M")
    pcfs("cp", "-r", src, "%s:/m" % img)
    assert debugfs_stat(img, "/m/m666")["mode"] & 0o7777 == 0o644
    assert debugfs_stat(img, "/m/m600")["mode"] & 0o7777 == 0o600
    assert debugfs_stat(img, "/m/m755")["mode"] & 0o7777 == 0o755
    assert debugfs_stat(img, "/m/d700")["type"] == "directory"


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 2048), ("ext4", 4096)],
                         ids=["ext2-1024", "ext3-2048", "ext4-4096"])
def test_cp_overwrite(pcfs, image, work, fstype, bs):
    """Copying onto an existing file replaces its contents (O_TRUNC):
    shorter, longer, empty; freed blocks go back (e2fsck clean)."""
    img = image(fstype, bs, "32M")
    sizes = [3 * MiB + 5, 10000, 5 * MiB + 1, 0, 4097]
    for i, size in enumerate(sizes):
        host = work / ("v%d" % i)
        host.write_bytes(random_bytes(size, 40 + i))
        pcfs("cp", host, "%s:/f" % img)
        fsck(img)
        out = work / ("o%d" % i)
        pcfs("cp", "%s:/f" % img, out)
        assert files_equal(host, out), "after copying version %d (%d bytes)" % (i, size)
        assert debugfs_stat(img, "/f")["size"] == size


def test_cp_many_sources_into_dir(pcfs, image, work):
    img = image("ext4", 2048, "32M")
    names = []
    for i in range(5):
        p = work / ("src%d.bin" % i)
        p.write_bytes(random_bytes(1000 * i + 3, 60 + i))
        names.append(p)
    pcfs("mkdir", "%s:/dst" % img)
    pcfs("cp", *names, "%s:/dst" % img)
    assert debugfs_ls(img, "/dst") == {p.name for p in names}
    cat = pcfs("cat", *["%s:/dst/%s" % (img, p.name) for p in names]).out
    assert cat == b"".join(p.read_bytes() for p in names)
    # a directory copied into an existing directory lands under its name
    d = work / "sub"
    d.mkdir()
    (d / "inner").write_bytes(b"inner\n")
    pcfs("cp", "-r", d, "%s:/dst" % img)
    assert pcfs("cat", "%s:/dst/sub/inner" % img).out == b"inner\n"
    # several sources into something that is not a directory: refused
    pcfs("cp", names[0], names[1], "%s:/dst/src0.bin" % img, ok=False)
    # a directory without -r: refused
    pcfs("cp", d, "%s:/d2" % img, ok=False)
    fsck(img)


def test_cp_image_to_image(pcfs, image, work, trees):
    src = trees["small"] / "extras"
    a = image("ext2", 1024, "48M", from_dir=src, name="a.img")
    b = image("ext4", 4096, "48M", name="b.img")
    ha = sha256_file(a)
    pcfs("cp", "-r", "%s:/sizes" % a, "%s:/copy" % b)
    assert sha256_file(a) == ha, "the source image changed"
    fsck(b)
    out = work / "out"
    out.mkdir()
    rdump(b, "/copy", out)
    compare_trees(src / "sizes", out / "copy")
    # and within one image
    pcfs("cp", "%s:/copy/f0004097" % b, "%s:/again" % b)
    assert pcfs("cat", "%s:/again" % b).out == (src / "sizes/f0004097").read_bytes()
    fsck(b)


def test_cp_large_file_fragmented_free_space(pcfs, image, work):
    """Fill an image with small files, delete every other one, then copy a
    file that must be spread over the holes left."""
    img = image("ext4", 1024, "24M")
    d = work / "small"
    d.mkdir()
    for i in range(400):
        (d / ("s%03d" % i)).write_bytes(random_bytes(20 * 1024, 1000 + i))
    pcfs("cp", "-r", d, "%s:/small" % img)
    pcfs("rm", *["%s:/small/s%03d" % (img, i) for i in range(0, 400, 2)])
    big = write_random(work / "big", 3 * MiB + 100, 77)
    pcfs("cp", big, "%s:/big" % img)
    fsck(img)
    out = work / "big.out"
    pcfs("cp", "%s:/big" % img, out)
    assert files_equal(big, out)
    kept = ["s%03d" % i for i in range(1, 400, 2)]
    got = pcfs("cat", *["%s:/small/%s" % (img, n) for n in kept]).out
    assert got == b"".join((d / n).read_bytes() for n in kept)
    assert debugfs_ls(img, "/small") == set(kept)
