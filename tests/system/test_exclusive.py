# SPDX-License-Identifier: LGPL-2.1-or-later
"""Exclusive access to images and refusal of unclean ones (issue 7, items 1
and 3).

A read-write mount holds an OFD write lock on the image (a block device is
also opened O_EXCL), a read-only mount a shared one: one writer or many
readers. An image the kernel has mounted is refused, MMP is honoured, and a
read-write mount of an image that is not clean or has errors recorded is
refused unless --force. The holder of a mount is either pcfs itself or
BUILD/tests/system/hold_mount (mounts, says "mounted", waits for stdin).
Oracles: e2fsck -fn, debugfs, dumpe2fs.
"""
import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pytest

from conftest import BUILD, MiB, debugfs, debugfs_ls, dump, fsck, run, write_random

HOLD = BUILD / "tests" / "system" / "hold_mount"


@pytest.fixture(scope="module")
def hold_bin():
    if not (HOLD.is_file() and os.access(HOLD, os.X_OK)):
        pytest.fail("hold_mount not found at %s (ninja -C build)" % HOLD)
    return HOLD


class Holder:
    """hold_mount IMAGE rw|ro [FILE] running until release()."""

    def __init__(self, img, mode, path=None):
        argv = [str(HOLD), str(img), mode] + ([path] if path else [])
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.img = img
        self.line = self.p.stdout.readline().decode().strip()
        self.pid = self.p.pid

    @property
    def mounted(self):
        return self.line == "mounted"

    def release(self):
        out, err = self.p.communicate(b"\n", timeout=120)
        return self.p.returncode, out.decode() + err.decode()

    def kill(self):
        """kill -9 (a crash), then wait until the kernel has dropped the
        dead process's lock: with io_uring the file's last reference goes
        in a kernel worker shortly after the process is gone."""
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(timeout=60)
        wait_unlocked(self.img)


F_OFD_SETLK = 37


def wait_unlocked(img, timeout=10.0):
    """Wait until no one holds an OFD lock on @img (take and drop one)."""
    deadline = time.monotonic() + timeout
    fd = os.open(str(img), os.O_RDONLY)
    try:
        while True:
            try:
                fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0))
                fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_UNLCK, 0, 0, 0, 0))
                return
            except OSError:
                assert time.monotonic() < deadline, "%s still locked after %g s" % (img, timeout)
                time.sleep(0.01)
    finally:
        os.close(fd)


def held(img, mode, path=None):
    h = Holder(img, mode, path)
    assert h.mounted, "hold_mount %s %s: %s" % (img, mode, h.line)
    return h


def busy_msg(r, pid, mode):
    """pcfs failed with exactly one line naming the holder."""
    assert r.rc == 1, r
    lines = [l for l in r.err.splitlines() if l.startswith("pcfs: ")]
    assert len(lines) == 1, r
    want = r"Device or resource busy \(in use by process %d \(hold_mount\), which has it " \
           r"open %s\)" % (pid, mode)
    assert re.search(want, lines[0]), r


def fs_state(img):
    out = run(["dumpe2fs", "-h", img]).stdout.decode()
    return re.search(r"^Filesystem state:\s+(.*)$", out, re.M).group(1).strip()


def test_second_writer_refused(pcfs, hold_bin, image, work):
    img = image()
    f = work / "f"
    f.write_bytes(b"second\n")
    h = held(img, "rw", "/held")
    try:
        busy_msg(pcfs("cp", f, "%s:/second" % img, ok=False), h.pid, "read-write")
        # a reader is refused too: the writer's metadata is not stable
        busy_msg(pcfs("ls", img, ok=False), h.pid, "read-write")
        # a second mount in a library process (not pcfs) likewise
        h2 = Holder(img, "rw")
        assert h2.p.wait(timeout=60) == 1
        assert re.match(r"error 16 .*in use by process %d \(hold_mount\)" % h.pid, h2.line), \
            h2.line
    finally:
        rc, out = h.release()
    assert rc == 0, out
    fsck(img)
    names = debugfs_ls(img, "/")
    assert "held" in names and "second" not in names
    pcfs("cp", f, "%s:/second" % img)
    fsck(img)
    assert pcfs("cat", "%s:/held" % img).out == b"held\n"
    assert pcfs("cat", "%s:/second" % img).out == b"second\n"


def test_readers_share_writer_refused(pcfs, hold_bin, image, work):
    img = image()
    f = work / "f"
    f.write_bytes(b"x" * 5000)
    pcfs("cp", f, "%s:/f" % img)
    h = held(img, "ro")
    try:
        h2 = held(img, "ro")	# readers share
        try:
            assert pcfs("cat", "%s:/f" % img).out == b"x" * 5000
            r = pcfs("cp", f, "%s:/g" % img, ok=False)
            assert r.rc == 1
            assert re.search(r"in use by process (%d|%d) \(hold_mount\), which has it open "
                             r"read-only" % (h.pid, h2.pid), r.err), r
        finally:
            assert h2.release()[0] == 0
    finally:
        assert h.release()[0] == 0
    assert "g" not in debugfs_ls(img, "/")
    pcfs("cp", f, "%s:/g" % img)
    fsck(img)


def test_concurrent_pcfs_writers_lose_nothing(pcfs_bin, image, work):
    """The issue's case: two pcfs cp into one image at overlapping times.
    Each either copies its file (and it is on disk) or fails with the busy
    message; never both exit 0 with one file lost."""
    img = image(size="256M")
    srcs = []
    for i in range(2):
        s = work / ("big%d" % i)
        write_random(s, 48 * MiB, seed=i)
        srcs.append(s)
    procs = [subprocess.Popen([str(pcfs_bin), "cp", str(s), "%s:/%s" % (img, s.name)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for s in srcs]
    res = [(p.wait(timeout=300), p.stderr.read().decode()) for p in procs]
    ok = [i for i, (rc, _) in enumerate(res) if rc == 0]
    assert ok, res
    fsck(img)
    names = debugfs_ls(img, "/")
    for i, (rc, err) in enumerate(res):
        if rc == 0:
            assert srcs[i].name in names, (res, names)
            dump(img, "/" + srcs[i].name, work / "back")
            assert (work / "back").read_bytes() == srcs[i].read_bytes()
        else:
            assert rc == 1 and "in use by process" in err, res


def test_unclean_image_refused_rw(pcfs, image, work):
    img = image()
    f = work / "f"
    f.write_bytes(b"data\n")
    pcfs("cp", f, "%s:/f" % img)
    assert fs_state(img) == "clean"
    debugfs(img, "ssv state 0", write=True)
    r = pcfs("cp", f, "%s:/g" % img, ok=False)
    assert r.rc == 1
    assert re.search(r"^pcfs: %s: Structure needs cleaning \(the filesystem was not cleanly "
                     r"unmounted; run e2fsck -f, or use the force option\)$" % re.escape(str(img)),
                     r.err, re.M), r
    for cmd in (("mkdir", "%s:/d" % img), ("rm", "%s:/f" % img), ("mv", "%s:/f" % img,
                "%s:/h" % img), ("truncate", "-s", "1", "%s:/f" % img)):
        r = pcfs(*cmd, ok=False)
        assert "not cleanly unmounted" in r.err, r
    # read-only commands work
    assert pcfs("cat", "%s:/f" % img).out == b"data\n"
    assert pcfs("ls", img).text.split() == ["f", "lost+found"]
    # --force writes, and the image stays marked not clean
    pcfs("--force", "cp", f, "%s:/g" % img)
    assert fs_state(img) == "not clean"
    assert pcfs("cat", "%s:/g" % img).out == b"data\n"
    run(["e2fsck", "-fy", img], ok=None)
    fsck(img)
    assert fs_state(img) == "clean"
    pcfs("cp", f, "%s:/h" % img)
    assert fs_state(img) == "clean"
    fsck(img)


@pytest.mark.parametrize("ssv", [("state 3",), ("state 1", "error_count 1")],
                         ids=["error_fs", "error_count"])
def test_errors_recorded_refused_rw(pcfs, image, work, ssv):
    img = image()
    f = work / "f"
    f.write_bytes(b"data\n")
    for s in ssv:
        debugfs(img, "ssv " + s, write=True)
    r = pcfs("cp", f, "%s:/g" % img, ok=False)
    assert re.search(r"Structure needs cleaning \(the filesystem has errors recorded "
                     r"\(\d+\); run e2fsck -f, or use the force option\)", r.err), r
    pcfs("ls", img)
    pcfs("--force", "cp", f, "%s:/g" % img)
    # the errors stay recorded for e2fsck
    assert pcfs("cp", f, "%s:/h" % img, ok=False).rc == 1
    run(["e2fsck", "-fy", img], ok=None)
    pcfs("cp", f, "%s:/h" % img)
    fsck(img)


def test_crashed_writer_leaves_image_refused(pcfs, hold_bin, image, work):
    """kill -9 of a writer: the image is left not clean, and the next
    read-write mount is refused until e2fsck (the intended behaviour)."""
    img = image()
    f = work / "f"
    f.write_bytes(b"data\n")
    h = held(img, "rw", "/held")
    h.kill()
    r = pcfs("cp", f, "%s:/g" % img, ok=False)
    assert "not cleanly unmounted" in r.err, r
    run(["e2fsck", "-fy", img], ok=None)
    fsck(img)
    pcfs("cp", f, "%s:/g" % img)


def test_kernel_mount_pretended(pcfs, image, work):
    """libext2fs' EXT2FS_PRETEND_*_MOUNT: the kernel-mounted refusal without
    needing root."""
    img = image()
    f = work / "f"
    f.write_bytes(b"data\n")
    r = pcfs("cp", f, "%s:/g" % img, ok=False, env={"EXT2FS_PRETEND_RW_MOUNT": "1"})
    assert "Device or resource busy (mounted read-write by the kernel" in r.err, r
    r = pcfs("ls", img, ok=False, env={"EXT2FS_PRETEND_RW_MOUNT": "1"})
    assert "mounted read-write by the kernel" in r.err, r
    pcfs("ls", img, env={"EXT2FS_PRETEND_RO_MOUNT": "1"})
    r = pcfs("cp", f, "%s:/g" % img, ok=False, env={"EXT2FS_PRETEND_RO_MOUNT": "1"})
    assert "mounted read-only by the kernel" in r.err, r
    fsck(img)


def _can_loop_mount(work):
    if os.geteuid() != 0:
        return "needs root to loop-mount"
    probe = work / "probe.img"
    run(["mke2fs", "-q", "-F", "-t", "ext4", probe, "8M"])
    mnt = work / "probe-mnt"
    mnt.mkdir()
    p = subprocess.run(["mount", "-o", "loop", str(probe), str(mnt)], capture_output=True)
    if p.returncode != 0:
        return "mount -o loop failed: %s" % p.stderr.decode().strip()
    subprocess.run(["umount", str(mnt)], check=True)
    return None


def test_kernel_loop_mount_refused(pcfs, image, work):
    why = _can_loop_mount(work)
    if why:
        pytest.skip(why + " (the same path is tested with EXT2FS_PRETEND_*_MOUNT)")
    img = image()
    f = work / "f"
    f.write_bytes(b"data\n")
    mnt = work / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-o", "loop", str(img), str(mnt)], check=True)
    try:
        r = pcfs("cp", f, "%s:/g" % img, ok=False)
        assert "mounted read-write by the kernel on %s" % mnt in r.err, r
        r = pcfs("ls", img, ok=False)
        assert "mounted read-write by the kernel" in r.err, r
        loopdev = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(mnt)],
                                 capture_output=True, text=True).stdout.strip()
        r = pcfs("cp", f, "%s:/g" % loopdev, ok=False)
        assert "mounted read-write by the kernel" in r.err, r
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    subprocess.run(["mount", "-o", "loop,ro", str(img), str(mnt)], check=True)
    try:
        pcfs("ls", img)		# both readers: allowed
        r = pcfs("cp", f, "%s:/g" % img, ok=False)
        assert "mounted read-only by the kernel" in r.err, r
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    pcfs("cp", f, "%s:/g" % img)
    fsck(img)


def test_block_device_exclusive(pcfs, hold_bin, image, work):
    if os.geteuid() != 0:
        pytest.skip("needs root for a loop device")
    img = image()
    p = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip("losetup failed: %s" % p.stderr.strip())
    dev = p.stdout.strip()
    f = work / "f"
    f.write_bytes(b"data\n")
    try:
        h = held(dev, "rw", "/held")
        try:
            busy_msg(pcfs("cp", f, "%s:/g" % dev, ok=False), h.pid, "read-write")
        finally:
            assert h.release()[0] == 0
        # another program holding the device O_EXCL (as the kernel does)
        fd = os.open(dev, os.O_RDONLY | os.O_EXCL)
        try:
            r = pcfs("cp", f, "%s:/g" % dev, ok=False)
            assert "Device or resource busy" in r.err, r
            r = pcfs("ls", dev, ok=False)
            assert "held exclusively by another program" in r.err, r
        finally:
            os.close(fd)
        pcfs("cp", f, "%s:/g" % dev)
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)
    fsck(img)
    assert set(debugfs_ls(img, "/")) >= {"held", "g"}


def mmp_seq(img):
    out = run(["debugfs", "-R", "dump_mmp", img]).stdout.decode()
    return re.search(r"^sequence:\s+(\w+)", out, re.M).group(1)


def test_mmp(pcfs, hold_bin, image, work):
    """MMP: a read-write mount claims the block (about 11 s: libext2fs
    waits 2 * 5 + 1 s), releases it at unmount; one left claimed by a crash
    is refused with the node named until tune2fs -E clear_mmp."""
    img = image(size="32M", extra=("-O", "mmp", "-E", "mmp_update_interval=1"))
    f = work / "f"
    f.write_bytes(b"mmp\n")
    t0 = time.monotonic()
    pcfs("cp", f, "%s:/f" % img)
    took = time.monotonic() - t0
    assert took >= 10, "MMP wait skipped? cp took %.1f s" % took
    assert mmp_seq(img) == "ff4d4d50"		# EXT4_MMP_SEQ_CLEAN
    fsck(img)
    h = held(img, "rw", "/held")			# another 11 s
    try:
        assert mmp_seq(img) == "e24d4d50"	# EXT4_MMP_SEQ_FSCK while held
        busy_msg(pcfs("cp", f, "%s:/g" % img, ok=False), h.pid, "read-write")
    finally:
        h.kill()					# a crash: the block stays claimed
    r = pcfs("cp", f, "%s:/g" % img, ok=False)
    assert r.rc == 1
    assert re.search(r"multiple mount protection: in use .* on node '%s', device '.*'; "
                     r"if it is not, run tune2fs -f -E clear_mmp" % re.escape(socket.gethostname()),
                     r.err), r
    assert "g" not in debugfs_ls(img, "/")
    pcfs("ls", img)				# read-only: MMP not consulted
    run(["tune2fs", "-f", "-E", "clear_mmp", img])
    run(["e2fsck", "-fy", img], ok=None)		# the crash left it not clean
    fsck(img)
    assert mmp_seq(img) == "ff4d4d50"
    assert pcfs("cat", "%s:/f" % img).out == b"mmp\n"


def test_pcfs_read_then_write_same_image(pcfs, image, work):
    """pcfs mounts an image read-only for the source side of cp, then
    remounts it read-write for the destination: the shared lock is dropped
    before the write lock is taken, and its own marking does not trip the
    clean check."""
    img = image()
    f = work / "f"
    f.write_bytes(b"twice\n")
    pcfs("cp", f, "%s:/a" % img)
    pcfs("cp", "%s:/a" % img, "%s:/b" % img)
    assert fs_state(img) == "clean"
    fsck(img)
    assert pcfs("cat", "%s:/b" % img).out == b"twice\n"


def test_mmp_live_other_node(pcfs, image, work):
    """Another node's live mount (the kernel's kmmpd bumps mmp_seq every
    update interval): the mount sees the sequence change during its wait
    and is refused naming that node (about 11 s). The other node is played
    by a thread writing the MMP block (no metadata_csum: no checksum)."""
    import threading
    img = image(size="32M", extra=("-O", "mmp,^metadata_csum", "-E", "mmp_update_interval=1"))
    out = run(["debugfs", "-R", "dump_mmp", img]).stdout.decode()
    off = int(re.search(r"^block_number:\s+(\d+)", out, re.M).group(1)) * 4096
    fd = os.open(str(img), os.O_RDWR)
    os.pwrite(fd, b"othernode".ljust(64, b"\0") + b"/dev/sdz".ljust(32, b"\0"), off + 16)
    stop = threading.Event()

    def node():
        seq = 1000
        while not stop.is_set():
            seq += 1
            os.pwrite(fd, struct.pack("<I", seq), off + 4)
            os.fsync(fd)
            stop.wait(0.2)
    t = threading.Thread(target=node)
    t.start()
    try:
        f = work / "f"
        f.write_bytes(b"x\n")
        r = pcfs("cp", f, "%s:/g" % img, ok=False)
    finally:
        stop.set()
        t.join()
        os.close(fd)
    assert "Device or resource busy (multiple mount protection: in use (mounted) on node " \
           "'othernode', device '/dev/sdz')" in r.err, r
    assert "g" not in debugfs_ls(img, "/")
    fsck(img)
