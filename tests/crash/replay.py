#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Power-cut replay and checker for a pagecache write log (tests/crash/README.md).

The log comes from a mount made with pc_mount_opts.log_writes (or pcfs
--log-writes=FILE); BASE is a copy of the image taken before that mount.
The log holds, in order: every write the device completed (sector, data,
flags), FLUSH_ISSUE/FLUSH_DONE pairs, and MARK entries written by the
workload (tests/crash/crash_workload.c) to say what it was promised.

Durability model (the one of dm-log-writes and of real disks with a
volatile write cache): a flush makes durable exactly the writes logged
before its FLUSH_ISSUE, once its FLUSH_DONE (status 0) is logged; a FUA
write is durable when logged. At a crash point (a position in the log), the
durable writes are on the disk; every other write logged before the point
may be there, be missing, or be torn (only a prefix of its sectors written,
at the log's sector granularity); later writes to a sector replace earlier
ones.

States checked:
  flush points    after every FLUSH_DONE, every write so far applied;
  between points  a seeded random position, each non-durable write so far
                  kept, dropped or torn (seeded: a point is reproduced by
                  --seed and its number, see --only).
For every state: `e2fsck -fy` must succeed (exit 0 or 1; a primary
superblock torn between its two sectors fails its checksum, and is then
repaired from the first backup superblock, `e2fsck -b`) and a second
`e2fsck -fn` must find nothing; then the library mounts the repaired image
read-write (crash_workload verify) and reads the files. Every file whose
last acknowledgement (fsync, fdatasync, pc_sync) precedes the point and
that was not touched after it must be at its acknowledged path with its
inode number and exactly its acknowledged bytes; a file changed after its
acknowledgement must still be found (at its acknowledged path, a later
rename target, or lost+found) and keep the bytes no later operation
touched; unlinked files are not checked. In a state with torn writes a
directory block may be torn too (this client has no journal), so an
untouched file may then also be found in lost+found, with exact contents.

Exit status: 0 all states passed, 1 some state failed (each failure is
printed with the command that reproduces it), 2 bad usage or log.
"""
import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

HDR = struct.Struct("<8sIIQI36x")
ENT = struct.Struct("<IIQQIIQiI")
ENT_MAGIC = 0x45474F4C
T_WRITE, T_FLUSH_ISSUE, T_FLUSH_DONE, T_MARK, T_WRITE_ERR = 1, 2, 3, 4, 5
REQ_FUA = 1 << 8

for _d in ("/usr/sbin", "/sbin"):
    if _d not in os.environ.get("PATH", "").split(":"):
        os.environ["PATH"] = os.environ.get("PATH", "") + ":" + _d


class LogError(Exception):
    pass


def read_log(path):
    """Returns (header dict, events). An event is a tuple:
    ("W", sector, data, fua) | ("I", id) | ("D", id, status) | ("M", bytes)."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < HDR.size:
        raise LogError("log too short")
    magic, version, sector_size, dev_size, lbs = HDR.unpack_from(buf, 0)
    if magic != b"PCLOGW01" or version != 1:
        raise LogError("not a pagecache write log (magic %r version %d)" % (magic, version))
    hdr = dict(sector_size=sector_size, dev_size=dev_size, lbs=lbs)
    events = []
    off = HDR.size
    seq = 0
    while off < len(buf):
        if off + ENT.size > len(buf):
            raise LogError("truncated entry at byte %d" % off)
        magic, typ, eseq, sector, ln, flags, eid, status, _ = ENT.unpack_from(buf, off)
        if magic != ENT_MAGIC or eseq != seq:
            raise LogError("bad entry at byte %d (magic %#x seq %d, want %d)" % (off, magic, eseq, seq))
        off += ENT.size
        data = buf[off:off + ln]
        if len(data) != ln:
            raise LogError("truncated data at byte %d" % off)
        off += ln
        seq += 1
        if typ == T_WRITE:
            if sector * sector_size + ln > dev_size:
                raise LogError("write past the device at entry %d" % eseq)
            events.append(("W", sector, data, bool(flags & REQ_FUA)))
        elif typ == T_FLUSH_ISSUE:
            events.append(("I", eid))
        elif typ == T_FLUSH_DONE:
            events.append(("D", eid, status))
        elif typ == T_MARK:
            events.append(("M", data))
        elif typ == T_WRITE_ERR:
            raise LogError("the log has a failed write (entry %d, status %d): its content "
                           "is unknown, this checker does not model it" % (eseq, status))
        else:
            raise LogError("unknown entry type %d" % typ)
    return hdr, events


class FileModel:
    """What the workload was promised about one file (see crash_workload.c)."""

    def __init__(self, fid, path):
        self.fid = fid
        self.path = path
        self.ack = None          # (ino, path, bytes, how, event index)
        self.reset()

    def reset(self):
        self.modified = False
        self.touched = []        # [start, end) byte ranges written since the ack
        self.minsize = None      # smallest size truncated to since the ack
        self.paths = []          # paths it had since the ack (renames)
        self.unlinked = False


class Model:
    def __init__(self):
        self.files = {}

    def apply(self, payload, idx):
        nl = payload.index(b"\n")
        words = payload[:nl].decode().split(" ")
        op = words[0]
        if op == "create":
            self.files[int(words[1])] = FileModel(int(words[1]), words[2])
            return
        if op in ("sync", "mkdir", "dirfsync", "end"):
            return
        f = self.files[int(words[1])]
        if op == "ack":
            ino, path, size, how = int(words[2]), words[3], int(words[4]), words[5]
            data = payload[nl + 1:]
            if len(data) != size:
                raise LogError("ack mark of %s: %d bytes, says %d" % (path, len(data), size))
            f.ack = (ino, path, data, how, idx)
            f.path = path
            f.reset()
            f.paths = [path]
            return
        f.modified = True
        if op == "dirty":
            off, ln = int(words[2]), int(words[3])
            f.touched.append((off, off + ln))
        elif op == "trunc":
            size = int(words[2])
            f.minsize = size if f.minsize is None else min(f.minsize, size)
        elif op == "rename":
            f.path = words[2]
            f.paths.append(words[2])
        elif op == "unlink":
            f.unlinked = True
        else:
            raise LogError("unknown mark %r" % op)

    def expectations(self):
        """[(file, candidate paths)] for the acknowledged files worth checking."""
        out = []
        for f in self.files.values():
            if f.ack is None or f.unlinked:
                continue
            ino = f.ack[0]
            cands = list(dict.fromkeys(f.paths + ["/lost+found/#%d" % ino]))
            out.append((f, cands))
        return out


def stable_ranges(f):
    """Byte ranges of the acknowledged content no later operation touched."""
    size = len(f.ack[2])
    if f.minsize is not None:
        size = min(size, f.minsize)
    ranges = [(0, size)]
    for (a, b) in f.touched:
        nxt = []
        for (s, e) in ranges:
            if b <= s or a >= e:
                nxt.append((s, e))
                continue
            if s < a:
                nxt.append((s, a))
            if b < e:
                nxt.append((b, e))
        ranges = nxt
    return ranges


def parse_verify(out):
    res = {}
    pos = 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        path, err, ino, size = out[pos:nl].decode().split("\t")
        pos = nl + 1
        size = int(size)
        res[path] = (int(err), int(ino), out[pos:pos + size])
        pos += size
    return res


def check_files(model, verify_out, torn):
    """Returns a list of failure strings."""
    fails = []
    for f, cands in model.expectations():
        ino, apath, data, how, _ = f.ack
        found = [(p, verify_out.get(p)) for p in cands]
        found = [(p, r) for (p, r) in found if r and r[0] == 0 and r[1] == ino]
        if not f.modified:
            allowed = [apath] + (["/lost+found/#%d" % ino] if torn else [])
            hit = [(p, r) for (p, r) in found if p in allowed]
            if not hit:
                seen = verify_out.get(apath)
                fails.append("file %d (ino %d, %s by %s): not found at %s (lookup gave %s)"
                             % (f.fid, ino, apath, how, apath,
                                "error %d" % seen[0] if seen and seen[0] else
                                "inode %d" % seen[1] if seen else "nothing"))
                continue
            p, r = hit[0]
            if r[2] != data:
                fails.append("file %d (ino %d) at %s, acknowledged by %s: content differs "
                             "(%d bytes, want %d%s)" % (f.fid, ino, p, how, len(r[2]), len(data),
                                                        first_diff(r[2], data)))
            continue
        if not found:
            fails.append("file %d (ino %d, acknowledged at %s by %s, changed since): not found "
                          "at any of %s" % (f.fid, ino, apath, how, ", ".join(cands)))
            continue
        p, r = found[0]
        for (s, e) in stable_ranges(f):
            if r[2][s:e] != data[s:e]:
                fails.append("file %d (ino %d) at %s: bytes [%d, %d) acknowledged by %s and "
                             "never written since differ%s" % (f.fid, ino, p, s, e, how,
                                                               first_diff(r[2][s:e], data[s:e], s)))
                break
    return fails


def first_diff(a, b, base=0):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return "; first difference at byte %d" % (base + i)
    if len(a) != len(b):
        return "; one is a prefix of the other"
    return ""


class Replayer:
    def __init__(self, args):
        self.args = args
        self.hdr, self.events = read_log(args.log)
        with open(args.base, "rb") as f:
            self.base = f.read()
        if len(self.base) < self.hdr["dev_size"]:
            raise LogError("base image smaller than the logged device")
        self.ss = self.hdr["sector_size"]
        self.tear_unit = args.tear_unit or self.ss
        self.lock = threading.Lock()
        self.failures = []
        self.counts = {"flush": 0, "between": 0, "torn_states": 0, "backup_sb": 0}
        self.backup_sb = backup_superblock(args.base)

    def points(self):
        """[(event position, kind, rng seed)], sorted by position. Position p
        means: the crash came after events[0:p]."""
        n = len(self.events)
        pts = []
        for i, ev in enumerate(self.events):
            if ev[0] == "D":
                pts.append((i + 1, "flush", None))
        rng = random.Random(self.args.seed)
        for j in range(self.args.between):
            pts.append((rng.randint(1, n), "between", "%d:%d" % (self.args.seed, j)))
        if self.args.only is not None:
            pts = [p for p in pts if p[2] == self.args.only or
                   (p[1] == "flush" and str(p[0]) == self.args.only)]
        pts.sort(key=lambda p: (p[0], p[1]))
        return pts

    def run(self):
        a = self.args
        t0 = time.time()
        pts = self.points()
        work = tempfile.mkdtemp(prefix="pc-replay-", dir=a.tmpdir)
        durable = bytearray(self.base)
        model = Model()
        writes = []              # (sector, data, fua) of every write so far
        issue_at = {}            # flush id -> number of writes before its issue
        ndurable = 0             # writes[0:ndurable] are in `durable`
        pos = 0
        slots = list(range(a.jobs))
        slot_cv = threading.Condition()
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs)
        futs = []
        try:
            for (p, kind, seed) in pts:
                while pos < p:
                    ev = self.events[pos]
                    if ev[0] == "W":
                        writes.append(ev[1:])
                    elif ev[0] == "I":
                        issue_at[ev[1]] = len(writes)
                    elif ev[0] == "D":
                        if ev[2] == 0 and not a.ignore_flushes:
                            upto = issue_at.get(ev[1], 0)
                            while ndurable < upto:
                                self.apply(durable, writes[ndurable])
                                ndurable += 1
                    elif ev[0] == "M":
                        model.apply(ev[1], pos)
                    pos += 1
                pending = writes[ndurable:]
                img, desc, torn = self.make_state(durable, pending, kind, seed)
                with slot_cv:
                    while not slots:
                        slot_cv.wait()
                    slot = slots.pop()
                path = os.path.join(work, "state%d.img" % slot)
                with open(path, "wb") as f:
                    f.write(img)
                exp = snapshot_model(model)
                label = "%s point at event %d%s" % (kind, p, " (seed %s)" % seed if seed else "")
                self.counts[kind] += 1
                self.counts["torn_states"] += bool(torn)

                def done(fut, slot=slot):
                    with slot_cv:
                        slots.append(slot)
                        slot_cv.notify()
                fut = pool.submit(self.check_state, path, exp, torn, label, desc, kind, p, seed)
                fut.add_done_callback(done)
                futs.append(fut)
                if a.max_failures and len(self.failures) >= a.max_failures:
                    break
            for fut in futs:
                fut.result()
            if a.final and self.args.only is None and not a.ignore_flushes:
                self.check_final(writes + [e[1:] for e in self.events[pos:] if e[0] == "W"])
        finally:
            pool.shutdown(wait=True)
            shutil.rmtree(work, ignore_errors=True)
        dt = time.time() - t0
        summary = dict(log=a.log, events=len(self.events), writes=sum(e[0] == "W" for e in self.events),
                       flush_points=self.counts["flush"], between_points=self.counts["between"],
                       torn_states=self.counts["torn_states"],
                       repaired_from_backup_sb=self.counts["backup_sb"], failures=len(self.failures),
                       seconds=round(dt, 1))
        for fl in self.failures[:a.show]:
            print(fl, flush=True)
        print("SUMMARY " + json.dumps(summary), flush=True)
        return 1 if self.failures else 0

    def apply(self, img, w, nbytes=None):
        sector, data, _ = w
        off = sector * self.ss
        if nbytes is None:
            nbytes = len(data)
        img[off:off + nbytes] = data[:nbytes]

    def make_state(self, durable, pending, kind, seed):
        img = bytearray(durable)
        if kind == "flush":
            for w in pending:
                self.apply(img, w)
            return img, "%d non-durable writes all kept" % len(pending), False
        rng = random.Random(seed)
        policy = rng.choices(["keep", "drop", "mix"], weights=[2, 2, 6])[0]
        kept = dropped = 0
        torn = []
        for i, w in enumerate(pending):
            if w[2]:            # FUA: durable
                self.apply(img, w)
                continue
            units = len(w[1]) // self.tear_unit
            c = policy if policy != "mix" else rng.choices(
                ["keep", "drop", "tear"], weights=[45, 45, 10 if units > 1 else 0])[0]
            if c == "keep":
                self.apply(img, w)
                kept += 1
            elif c == "drop":
                dropped += 1
            else:
                n = rng.randint(1, units - 1) * self.tear_unit
                self.apply(img, w, n)
                torn.append("sector %d: %d of %d bytes" % (w[0], n, len(w[1])))
        desc = "%d non-durable writes: %d kept, %d dropped, %d torn (%s) [policy %s]" % (
            len(pending), kept, dropped, len(torn), "; ".join(torn[:4]), policy)
        return img, desc, bool(torn)

    def fail(self, label, desc, kind, p, seed, what, path):
        a = self.args
        only = seed if kind == "between" else str(p)
        repro = ("%s %s --log %s --base %s --workload %s --seed %d --between %d --only %s"
                 % (sys.executable, os.path.abspath(__file__), a.log, a.base, a.workload,
                    a.seed, a.between, only))
        msg = "FAIL %s: %s\n  state: %s\n  reproduce: %s" % (label, what, desc, repro)
        with self.lock:
            self.failures.append(msg)
            nkeep = len(self.failures)
        if a.keep_failed and nkeep <= 5:
            dst = os.path.join(a.keep_failed, "failed-%s.img" % only.replace(":", "-"))
            os.makedirs(a.keep_failed, exist_ok=True)
            shutil.copyfile(path, dst)

    def check_state(self, path, exp, torn, label, desc, kind, p, seed):
        # The original (unrepaired) state is saved for a failure report.
        keep = None
        if self.args.keep_failed:
            keep = path + ".orig"
            shutil.copyfile(path, keep)
        try:
            self._check_state(path, exp, torn, label, desc, kind, p, seed, keep)
        finally:
            if keep:
                try:
                    os.unlink(keep)
                except OSError:
                    pass

    def _check_state(self, path, exp, torn, label, desc, kind, p, seed, keep):
        fail = lambda what: self.fail(label, desc, kind, p, seed, what, keep or path)
        env = dict(os.environ, LC_ALL="C")
        r = subprocess.run(["e2fsck", "-fy", path], capture_output=True, text=True, env=env)
        if (r.returncode == 8 and "Superblock checksum does not match" in r.stdout + r.stderr
                and self.backup_sb):
            # A torn primary superblock (1 KiB: two sectors): what an
            # administrator does, and what e2fsck itself tries when the
            # geometry is the default one: repair from a backup.
            with self.lock:
                self.counts["backup_sb"] += 1
            r = subprocess.run(["e2fsck", "-fy", "-b", str(self.backup_sb[0]), "-B",
                                str(self.backup_sb[1]), path], capture_output=True, text=True, env=env)
        if r.returncode not in (0, 1):
            fail("e2fsck -fy exit %d:\n%s" % (r.returncode, tail(r.stdout + r.stderr)))
            return
        r = subprocess.run(["e2fsck", "-fn", path], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            fail("second e2fsck -fn after repair exit %d:\n%s" % (r.returncode, tail(r.stdout)))
            return
        paths = []
        for f, cands in exp.expectations():
            paths.extend(cands)
        r = subprocess.run([self.args.workload, "verify", path], input="\n".join(paths).encode() + b"\n",
                           capture_output=True)
        if r.returncode != 0:
            fail("the library cannot mount/read/unmount the repaired image (exit %d): %s"
                 % (r.returncode, r.stderr.decode(errors="replace").strip()))
            return
        for what in check_files(exp, parse_verify(r.stdout), torn):
            fail(what)

    def check_final(self, writes):
        """All writes applied to BASE must give the image the workload left:
        proves the log holds every write the library made."""
        img = bytearray(self.base)
        for w in writes:
            self.apply(img, w)
        with open(self.args.final, "rb") as f:
            final = f.read()
        if bytes(img[:self.hdr["dev_size"]]) != final[:self.hdr["dev_size"]]:
            diff = next(i for i in range(len(final)) if img[i] != final[i])
            with self.lock:
                self.failures.append("FAIL final image: BASE plus every logged write differs from "
                                     "the image the workload left (first at byte %d): the log "
                                     "misses writes" % diff)


def backup_superblock(image):
    """(block, block size) of the first backup superblock of @image, or None."""
    r = subprocess.run(["dumpe2fs", image], capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C"))
    bs = re.search(r"^Block size:\s+(\d+)", r.stdout, re.M)
    sb = re.search(r"Backup superblock at (\d+)", r.stdout)
    return (int(sb.group(1)), int(bs.group(1))) if sb and bs else None


def snapshot_model(model):
    """A frozen copy of the model's expectations for a worker thread."""
    m = Model()
    for fid, f in model.files.items():
        g = FileModel(fid, f.path)
        g.ack = f.ack
        g.modified = f.modified
        g.touched = list(f.touched)
        g.minsize = f.minsize
        g.paths = list(f.paths)
        g.unlinked = f.unlinked
        m.files[fid] = g
    return m


def tail(s, n=15):
    lines = s.strip().splitlines()
    return "\n".join("    " + line for line in lines[-n:])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True, help="the write log")
    ap.add_argument("--base", required=True, help="copy of the image before the logged mount")
    ap.add_argument("--workload", required=True, help="crash_workload binary (for 'verify')")
    ap.add_argument("--final", help="the image after the workload: checked against BASE + all writes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--between", type=int, default=100, help="seeded points between flushes")
    ap.add_argument("--only", help="check one point: a flush point's event position or a "
                                   "between point's SEED:N")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tear-unit", type=int, default=0, help="bytes (default: the log's sector size)")
    ap.add_argument("--ignore-flushes", action="store_true",
                    help="self-test: pretend no flush ever completed (must produce failures)")
    ap.add_argument("--max-failures", type=int, default=0, help="stop after this many (0: never)")
    ap.add_argument("--show", type=int, default=20, help="failures printed")
    ap.add_argument("--keep-failed", help="directory for the unrepaired images of the first failures")
    ap.add_argument("--tmpdir", default=None)
    a = ap.parse_args(argv)
    try:
        return Replayer(a).run()
    except LogError as e:
        print("replay: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
