# SPDX-License-Identifier: LGPL-2.1-or-later
"""Huge sparse files cost the time of their data: pcfs cp (image -> host,
image -> image, host -> image) and pcfs cat skip holes with
SEEK_DATA/SEEK_HOLE (pc_lseek) and keep the copy sparse.

A 1 TiB file with a few MiB of data: before SEEK_DATA/SEEK_HOLE, copying it
out of an image read 1 TiB through the page cache (hours). The bound of
20 s is generous (it takes well under a second); the subprocess timeout
protects CI if it regresses. Outputs are never compared byte by byte over
their whole size (that is O(size) on the host too): their data ranges are
listed with SEEK_DATA/SEEK_HOLE, must cover every piece written, hold
exactly the model's bytes, and stay small (st_blocks)."""
import os
import subprocess
import time

import pytest

from conftest import GiB, MiB, PCFS, debugfs_stat, fsck, random_bytes

TiB = 1024 * GiB
BOUND_S = 20
TIMEOUT_S = int(os.environ.get("PC_SPARSE_TIMEOUT_S", "300"))  # test runs of old code: shorter


def make_host_sparse(path, size, pieces):
    """Host sparse file of @size with @pieces [(offset, length)] of
    pseudo-random bytes; returns {offset: bytes}."""
    data = {}
    with open(path, "wb") as f:
        f.truncate(size)
        for off, n in pieces:
            b = random_bytes(n, (off * 7) ^ n)
            f.seek(off)
            f.write(b)
            data[off] = b
    return data


def data_ranges(path):
    """[(start, end)] of the data of host file @path per SEEK_DATA/SEEK_HOLE."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        pos = 0
        while pos < size:
            try:
                d = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:     # ENXIO: only a hole is left
                break
            h = os.lseek(fd, d, os.SEEK_HOLE)
            out.append((d, h))
            pos = h
    finally:
        os.close(fd)
    return out


def check_sparse_copy(path, size, data, slack=4 * MiB):
    """@path has @size, holds @data's bytes where its data ranges are and
    zeros elsewhere in them, covers every piece, and stays sparse."""
    st = os.stat(path)
    assert st.st_size == size
    total = sum(len(b) for b in data.values())
    assert st.st_blocks * 512 <= total + slack, \
        "not sparse: %d bytes allocated for %d of data" % (st.st_blocks * 512, total)
    ranges = data_ranges(path)
    assert sum(e - s for s, e in ranges) <= total + slack, ranges
    for off, b in data.items():
        assert any(s <= off and off + len(b) <= e for s, e in ranges), \
            "piece [%d, %d) not inside one data range: %s" % (off, off + len(b), ranges)
    with open(path, "rb") as f:
        for s, e in ranges:
            f.seek(s)
            got = f.read(e - s)
            want = bytearray(e - s)
            for off, b in data.items():
                lo, hi = max(off, s), min(off + len(b), e)
                if lo < hi:
                    want[lo - s:hi - s] = b[lo - off:hi - off]
            assert got == bytes(want), "data range [%d, %d) differs" % (s, e)


def timed_pcfs(*args, stdout=None):
    argv = [str(PCFS)] + [str(a) for a in args]
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=TIMEOUT_S)
    el = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0, "%s -> rc %d: %s" % (" ".join(argv), p.returncode, err)
    assert "Sanitizer" not in err and "runtime error:" not in err, err
    return el


def pieces_for(size):
    return [(0, 4096), (100 * MiB + 123, MiB), (size // 2 + 12345, 70000),
            (size - 2 * MiB, 2 * MiB - 100)]


@pytest.fixture
def host_sparse_ok(work):
    p = work / "probe"
    with open(p, "wb") as f:
        f.truncate(GiB)
    if os.stat(p).st_blocks != 0:
        pytest.skip("the host filesystem under %s has no sparse files" % work)
    os.unlink(p)


@pytest.mark.parametrize("fstype,bs,size", [("ext4", 4096, TiB), ("ext2", 4096, TiB),
                                            ("ext2", 1024, 8 * GiB)],
                         ids=["ext4-4k-1T", "ext2-4k-1T", "ext2-1k-8G"])
def test_sparse_copy_out_in_time_of_data(pcfs, image, work, host_sparse_ok, fstype, bs, size):
    img = image(fstype, bs, "64M")
    host = work / "src"
    data = make_host_sparse(host, size, pieces_for(size))

    # host -> image: stays sparse (it would not fit otherwise)
    el = timed_pcfs("cp", host, "%s:/f" % img)
    assert el < BOUND_S, "host -> image of a %d-byte sparse file took %.1f s" % (size, el)
    st = debugfs_stat(img, "/f")
    assert st["size"] == size
    assert st["blockcount"] * 512 < 8 * MiB, st
    fsck(img)

    # image -> host
    out = work / "out"
    el = timed_pcfs("cp", "%s:/f" % img, out)
    assert el < BOUND_S, "image -> host of a %d-byte sparse file took %.1f s" % (size, el)
    check_sparse_copy(out, size, data)
    os.unlink(out)

    # the same with --direct
    el = timed_pcfs("cp", "--direct", "%s:/f" % img, out)
    assert el < BOUND_S, "cp --direct out took %.1f s" % el
    check_sparse_copy(out, size, data)
    os.unlink(out)

    # image -> same image, and image -> another image
    el = timed_pcfs("cp", "%s:/f" % img, "%s:/g" % img)
    assert el < BOUND_S, "image -> image took %.1f s" % el
    img2 = image("ext4", 4096, "64M", name="second")
    el = timed_pcfs("cp", "%s:/f" % img, "%s:/h" % img2)
    assert el < BOUND_S, "image -> other image took %.1f s" % el
    fsck(img)
    fsck(img2)
    for im, path in ((img, "/g"), (img2, "/h")):
        st = debugfs_stat(im, path)
        assert st["size"] == size
        assert st["blockcount"] * 512 < 8 * MiB, (im, path, st)
        back = work / "back"
        timed_pcfs("cp", "%s:%s" % (im, path), back)
        check_sparse_copy(back, size, data)
        os.unlink(back)

    # cat: holes are written as zeros without reading the image
    with open(os.devnull, "wb") as null:
        el = timed_pcfs("cat", "%s:/f" % img, stdout=null)
    assert el < BOUND_S, "cat of a %d-byte sparse file took %.1f s" % (size, el)


def test_sparse_cat_bytes(pcfs, image, work):
    """cat writes holes as zeros and data as data, to the byte (a file that
    starts and ends with holes, and a fully sparse one)."""
    img = image("ext4", 1024, "64M")
    size = 40 * MiB + 3
    pieces = [(5000, 3), (MiB - 1, 2), (17 * MiB + 4095, 8193), (30 * MiB, MiB)]
    host = work / "src"
    data = make_host_sparse(host, size, pieces)
    pcfs("cp", host, "%s:/f" % img)
    pcfs("truncate", "-s", "10M", "%s:/empty" % img)
    want = bytearray(size)
    for off, b in data.items():
        want[off:off + len(b)] = b
    assert pcfs("cat", "%s:/f" % img).out == bytes(want)
    assert pcfs("cat", "%s:/empty" % img).out == bytes(10 * MiB)
    # concatenated operands
    assert pcfs("cat", "%s:/empty" % img, "%s:/f" % img).out == bytes(10 * MiB) + bytes(want)
