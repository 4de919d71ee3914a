# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sparse files: holes read as zeros, data islands exact, in both
directions, including a 5 GiB file on a 256 MiB ext4 image."""
import re
import subprocess

import pytest

from conftest import (GiB, MiB, PCFS, assert_no_sanitizer_report, debugfs, debugfs_stat, dq, dump, files_equal,
                      fsck, random_bytes)


def make_sparse(path, size, islands):
    """Host sparse file of @size with (offset, length) @islands of
    pseudo-random data; returns {offset: bytes}."""
    data = {}
    with open(path, "wb") as f:
        f.truncate(size)
        for off, n in islands:
            b = random_bytes(n, off ^ n)
            f.seek(off)
            f.write(b)
            data[off] = b
    return data


_ZEROS = {}


def expected_chunk(off, n, data):
    """Bytes [off, off+n) of the sparse model."""
    buf = None
    for o, b in data.items():
        lo, hi = max(o, off), min(o + len(b), off + n)
        if lo < hi:
            if buf is None:
                buf = bytearray(n)
            buf[lo - off:hi - off] = b[lo - o:hi - o]
    if buf is None:
        if n not in _ZEROS:
            _ZEROS[n] = bytes(n)
        return _ZEROS[n]
    return bytes(buf)


def extents(img, path):
    """Leaf extents of an ext4 file per debugfs: [(lblk, pblk, count, uninit)]."""
    out = debugfs(img, "ex %s" % dq(path))
    ext = []
    for line in out.splitlines():
        m = re.match(r"^\s*\d+/\s*\d+\s+\d+/\s*\d+\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*-\s*(\d+)\s+(\d+)\s*(.*)$", line)
        if m:
            ext.append((int(m.group(1)), int(m.group(3)), int(m.group(5)), "Uninit" in m.group(6)))
    return ext


def verify_sparse_on_disk(img, path, bs, data, max_blocks):
    """Every initialised block the file maps, read raw from the image,
    holds the model's bytes; unmapped and unwritten blocks read as zeros by
    definition, so this checks the whole file. At most @max_blocks mapped."""
    ext = extents(img, path)
    assert ext, "no extents for %s" % path
    mapped = sum(n for _, _, n, u in ext if not u)
    assert mapped <= max_blocks, "%d blocks mapped, expected at most %d" % (mapped, max_blocks)
    covered = set()
    with open(img, "rb") as f:
        for lblk, pblk, n, uninit in ext:
            if uninit:
                continue
            f.seek(pblk * bs)
            raw = f.read(n * bs)
            for i in range(n):
                want = expected_chunk((lblk + i) * bs, bs, data)
                assert raw[i * bs:(i + 1) * bs] == want, "block %d (disk block %d) differs" % (lblk + i, pblk + i)
                covered.add(lblk + i)
    for off, b in data.items():
        for blk in range(off // bs, (off + len(b) - 1) // bs + 1):
            if expected_chunk(blk * bs, bs, data) != _ZEROS.get(bs, bytes(bs)):
                assert blk in covered, "data block %d not mapped" % blk


def stream_compare(argv, size, data, env=None):
    """Run @argv, compare its stdout with the sparse model chunk by chunk."""
    p = subprocess.Popen([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    off = 0
    chunk = 16 * MiB
    mismatch = None
    try:
        while True:
            b = p.stdout.read(chunk)
            if not b:
                break
            if mismatch is None and b != expected_chunk(off, len(b), data):
                want = expected_chunk(off, len(b), data)
                i = next(i for i in range(len(b)) if b[i] != want[i])
                mismatch = off + i
            off += len(b)
    finally:
        p.stdout.close()
        err = p.stderr.read().decode("utf-8", "replace")
        rc = p.wait()
    assert_no_sanitizer_report(err)
    assert rc == 0, "%s -> rc %d: %s" % (" ".join(map(str, argv)), rc, err)
    assert mismatch is None, "first differing byte at offset %d" % mismatch
    assert off == size, "read %d bytes, expected %d" % (off, size)


ISLANDS_10M = [(0, 100), (4096 * 3 - 7, 20), (1 * MiB + 123, 5000), (7 * MiB - 1, 1),
               (10 * MiB - 33, 33)]


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext3", 2048), ("ext4", 4096)],
                         ids=["ext2-1024", "ext3-2048", "ext4-4096"])
def test_sparse_through_pcfs(pcfs, image, work, fstype, bs):
    img = image(fstype, bs, "32M")
    host = work / "sparse"
    make_sparse(host, 10 * MiB, ISLANDS_10M)
    pcfs("cp", host, "%s:/sparse" % img)
    fsck(img)
    assert debugfs_stat(img, "/sparse")["size"] == 10 * MiB
    out = work / "dumped"
    dump(img, "/sparse", out)
    assert files_equal(host, out)
    assert pcfs("cat", "%s:/sparse" % img).out == host.read_bytes()
    back = work / "back"
    pcfs("cp", "%s:/sparse" % img, back)
    assert files_equal(host, back)


@pytest.mark.parametrize("fstype,bs", [("ext2", 1024), ("ext4", 1024), ("ext4", 4096)],
                         ids=["ext2-1024", "ext4-1024", "ext4-4096"])
def test_sparse_written_by_debugfs(pcfs, image, work, fstype, bs):
    """debugfs write keeps the holes; pcfs must read them as zeros. On
    ext2 with 1 KiB blocks the islands past 64 MiB need triple-indirect
    blocks."""
    img = image(fstype, bs, "32M")
    size = 80 * MiB
    islands = ISLANDS_10M + [(12 * 1024 - 3, 10), (268 * 1024 - 1, 2), (64 * MiB + 268 * 1024 + 12 * 1024, 4096),
                             (79 * MiB, 100000)]
    host = work / "sparse"
    data = make_sparse(host, size, islands)
    debugfs(img, "write %s /s" % dq(host), write=True)
    st = debugfs_stat(img, "/s")
    assert st["size"] == size
    assert st["blockcount"] * 512 < 4 * MiB, "debugfs did not keep the holes"
    stream_compare([PCFS, "cat", "%s:/s" % img], size, data)
    back = work / "back"
    pcfs("cp", "%s:/s" % img, back)
    assert files_equal(host, back)


FIVE_G = 5 * GiB
ISLANDS_5G = [(0, 4096), (4 * GiB - 4096, 8192), (4 * GiB + 100000, 77), (FIVE_G - 3 * MiB, 3 * MiB)]


def test_sparse_5g_read(pcfs, image, work):
    """A 5 GiB sparse file written by debugfs, read through pcfs cat."""
    img = image("ext4", 4096, "256M")
    host = work / "big"
    data = make_sparse(host, FIVE_G, ISLANDS_5G)
    debugfs(img, "write %s /big" % dq(host), write=True)
    assert debugfs_stat(img, "/big")["size"] == FIVE_G
    st = pcfs("stat", "%s:/big" % img).text
    assert str(FIVE_G) in st, st
    stream_compare([PCFS, "cat", "%s:/big" % img], FIVE_G, data)


def test_sparse_5g_write(pcfs, image, work):
    """A 5 GiB sparse file copied in by pcfs: it must keep the holes (it
    would not fit otherwise), debugfs reads it back exactly, e2fsck clean."""
    img = image("ext4", 4096, "256M")
    host = work / "big"
    data = make_sparse(host, FIVE_G, ISLANDS_5G)
    pcfs("cp", host, "%s:/big" % img)
    fsck(img)
    st = debugfs_stat(img, "/big")
    assert st["size"] == FIVE_G
    island_blocks = sum(n // 4096 + 2 for _, n in ISLANDS_5G)
    verify_sparse_on_disk(img, "/big", 4096, data, island_blocks)
