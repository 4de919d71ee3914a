#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bench/ceph_fuse_snap.py - the cost of a CephFS snapshot taken through
ceph-fuse with data still dirty (bench/ceph_bench.sh runs it).

Usage: ceph_fuse_snap.py MNT ASOK MIB NAME

Writes MIB MiB of random bytes (4 MiB writes) to MNT/snapdirty.NAME
without fsync, then times mkdir(MNT/.snap/NAME) alone, then fsync of the
file. Around the mkdir it reads ceph-fuse's ObjectCacher counters through
its admin socket ASOK (ceph-fuse --admin-socket ASOK; the protocol is a
JSON command ended by a NUL byte, answered by a 4-byte big-endian length
and JSON), so it can say what ceph-fuse did with the dirty data: how much
was still dirty (written - flushed) just before the mkdir, and how much it
sent to the OSDs while the mkdir ran (data_flushed grows when
ObjectCacher::bh_write sends a write, not when the OSD acknowledges it;
its flusher thread runs meanwhile too: the figure is what was sent during
the mkdir, whoever sent it).
Afterwards it removes the snapshot and the file.

Prints one line:
  snap NAME mib MIB mkdir_ms X dirty_before_mib D flushed_during_mib F fsync_ms Y
Exit status 0, or 1 with a message on stderr.
"""
import json
import os
import socket
import struct
import sys
import time


def asok(path, prefix):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
        s.sendall(json.dumps({"prefix": prefix}).encode() + b"\0")
        hdr = b""
        while len(hdr) < 4:
            b = s.recv(4 - len(hdr))
            if not b:
                raise OSError("admin socket %s closed" % path)
            hdr += b
        n = struct.unpack(">I", hdr)[0]
        buf = b""
        while len(buf) < n:
            b = s.recv(n - len(buf))
            if not b:
                raise OSError("admin socket %s closed" % path)
            buf += b
    finally:
        s.close()
    return json.loads(buf)


def objectcacher(path):
    """(bytes written into the cache, bytes flushed from it) so far."""
    d = asok(path, "perf dump")
    oc = d.get("objectcacher-libcephfs")
    if oc is None:
        raise OSError("no objectcacher-libcephfs counters in 'perf dump' of %s" % path)
    return oc["data_written"], oc["data_flushed"]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    mnt, sock, mib, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    path = os.path.join(mnt, "snapdirty." + name)
    snap = os.path.join(mnt, ".snap", name)
    chunk = os.urandom(4 << 20)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        left = mib << 20
        while left > 0:
            n = os.write(fd, chunk[:min(left, len(chunk))])
            left -= n
        w0, f0 = objectcacher(sock)
        t0 = time.monotonic()
        os.mkdir(snap)
        t1 = time.monotonic()
        w1, f1 = objectcacher(sock)
        t2 = time.monotonic()
        os.fsync(fd)
        t3 = time.monotonic()
    finally:
        os.close(fd)
    print("snap %s mib %d mkdir_ms %.3f dirty_before_mib %.1f flushed_during_mib %.1f fsync_ms %.3f"
          % (name, mib, (t1 - t0) * 1e3, (w0 - f0) / 1048576.0, (f1 - f0) / 1048576.0,
             (t3 - t2) * 1e3))
    sys.stdout.flush()
    # the snapshot first: a file unlinked while a snapshot holds it stays
    # as a stray until the MDS looks at it again
    os.rmdir(snap)
    os.unlink(path)


if __name__ == "__main__":
    try:
        main()
    except OSError as e:
        print("ceph_fuse_snap: %s" % e, file=sys.stderr)
        sys.exit(1)
