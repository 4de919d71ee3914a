# SPDX-License-Identifier: LGPL-2.1-or-later
"""pcfs truncate up and down against a Python model of the file: the
cut-off part reads as zeros when the file grows again (the EOF block's
tail is zeroed on disk), debugfs sees the size, e2fsck stays clean."""
import pytest

from conftest import GiB, MiB, debugfs, debugfs_stat, dq, dump, fsck, random_bytes

# Sizes chosen to cross block and page boundaries in both directions:
# shrink into the middle of a block, then grow past it (the tail must be
# zero), shrink to 0, 1, around 4 KiB and around the indirect-block limits.
SEQUENCE = [1 * MiB + 7, 4095, 5000, 9000, 0, 12345, 1, 3 * 4096 + 1, 3 * 4096 - 1,
            300 * 1024 + 3, 12 * 1024 + 1, 70000, 70000, 2 * MiB, 8191]


def resize(model, size):
    if size <= len(model):
        del model[size:]
    else:
        model.extend(bytes(size - len(model)))


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 4096), ("ext4", 1024), ("ext4", 4096)],
                         ids=["ext2-1024", "ext3-4096", "ext4-1024", "ext4-4096"])
def test_truncate_sequence(pcfs, image, work, fstype, bs):
    img = image(fstype, bs, "32M")
    host = work / "f"
    model = bytearray(random_bytes(100000, 9))
    host.write_bytes(model)
    pcfs("cp", host, "%s:/f" % img)
    for step, size in enumerate(SEQUENCE):
        pcfs("truncate", "-s", str(size), "%s:/f" % img)
        resize(model, size)
        got = pcfs("cat", "%s:/f" % img).out
        assert len(got) == size, "step %d: size %d, expected %d" % (step, len(got), size)
        assert got == bytes(model), "step %d (size %d): contents differ" % (step, size)
        assert debugfs_stat(img, "/f")["size"] == size
        fsck(img)
        if step in (1, 4, 7):
            # rewrite the whole file with data so later growth has old
            # blocks to expose if the tail is not zeroed
            model = bytearray(random_bytes(len(model) + 50000, 100 + step))
            host.write_bytes(model)
            pcfs("cp", host, "%s:/f" % img)
    out = work / "dumped"
    dump(img, "/f", out)
    assert out.read_bytes() == bytes(model)


def test_truncate_suffixes_and_create(pcfs, image, work):
    img = image("ext4", 4096, "32M")
    pcfs("truncate", "-s", "1M", "%s:/new" % img)
    assert debugfs_stat(img, "/new")["size"] == MiB
    assert pcfs("cat", "%s:/new" % img).out == bytes(MiB)
    pcfs("truncate", "-s", "3K", "%s:/new" % img)
    assert debugfs_stat(img, "/new")["size"] == 3072
    pcfs("truncate", "-s", "5G", "%s:/new" % img)
    st = debugfs_stat(img, "/new")
    assert st["size"] == 5 * GiB
    assert st["blockcount"] * 512 < MiB, "growing made blocks instead of a hole"
    pcfs("truncate", "-s", str(4 * GiB + 1), "%s:/new" % img)
    assert debugfs_stat(img, "/new")["size"] == 4 * GiB + 1
    fsck(img)
    pcfs("mkdir", "%s:/d" % img)
    pcfs("truncate", "-s", "10", "%s:/d" % img, ok=False)
    pcfs("truncate", "-s", "-5", "%s:/new" % img, ok=False)
    assert debugfs_stat(img, "/new")["size"] == 4 * GiB + 1
    fsck(img)


def physical_block(img, path, lblk):
    out = debugfs(img, "bmap %s %d" % (dq(path), lblk)).strip()
    return int(out)


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 4096)], ids=["ext2-1024", "ext4-4096"])
def test_eof_block_tail_zero_on_disk(pcfs, image, work, fstype, bs):
    """After truncating into the middle of a block that held data, the
    part of that block past EOF is zero on the disk itself (not only when
    read through the cache), and so is the tail of an odd-sized copy."""
    img = image(fstype, bs, "16M")
    host = work / "f"
    host.write_bytes(random_bytes(8 * bs, 21))
    pcfs("cp", host, "%s:/f" % img)
    cut = 2 * bs + bs // 3
    pblk = physical_block(img, "/f", 2)
    assert pblk > 0
    pcfs("truncate", "-s", str(cut), "%s:/f" % img)
    with open(img, "rb") as f:
        f.seek(pblk * bs)
        raw = f.read(bs)
    assert raw[:bs // 3] == host.read_bytes()[2 * bs:cut], "data before EOF changed on disk"
    assert raw[bs // 3:] == bytes(bs - bs // 3), "stale bytes past EOF on disk"
    fsck(img)

    # blocks that held data, freed: a new file may get them
    junk = work / "junk"
    junk.write_bytes(random_bytes(64 * bs, 23))
    pcfs("cp", junk, "%s:/junk" % img)
    pcfs("rm", "%s:/junk" % img)
    odd = work / "odd"
    odd.write_bytes(random_bytes(3 * bs + 77, 22))
    pcfs("cp", odd, "%s:/odd" % img)
    pblk = physical_block(img, "/odd", 3)
    with open(img, "rb") as f:
        f.seek(pblk * bs)
        raw = f.read(bs)
    assert raw[:77] == odd.read_bytes()[3 * bs:]
    assert raw[77:] == bytes(bs - 77), "stale bytes past EOF on disk"
