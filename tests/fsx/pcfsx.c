/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fsx/pcfsx.c - a model-based file exerciser (in the spirit of fsx)
 * for the public API of libpagecache (pagecache/pagecache.h).
 *
 * One file, two descriptors (one buffered, one O_DIRECT), a seeded
 * deterministic sequence of operations, and an in-memory model of the file
 * (its bytes and its size). Every byte any read returns is compared with the
 * model; the size reported by pc_fstat is compared after every operation.
 *
 * Operations: buffered pread/pwrite and preadv/pwritev (2-3 segments, any
 * buffer address), direct pread/pwrite and preadv/pwritev (mostly aligned
 * to what pc_fdioalign reports, including single 512-byte units; sometimes
 * deliberately misaligned: those must answer -EINVAL and change nothing),
 * ftruncate up and down, fsync, fdatasync, close+reopen of both
 * descriptors, unmount+mount (cold cache; not on ramfs, which would lose
 * the file) and full-file verification (everything read buffered AND
 * direct, pc_fstat size).
 *
 * Data: every 8-byte-aligned word of the file written by operation N at
 * offset O holds the stamp  [N:24 bits][O>>3:32 bits][check:8 bits]
 * (little endian; a write that starts or ends inside a word writes the
 * matching bytes of that word's stamp), so a wrong byte tells which
 * operation wrote it and for which offset. A per-byte "last writer" map
 * says which operation should have.
 *
 * On a mismatch (or an unexpected return value) the last RING_SIZE
 * operations, the first differing offset, expected and got bytes with
 * their stamps decoded are printed on stderr and the program exits 1.
 * --log FILE records every operation (one line each, written before it
 * runs); --replay FILE runs exactly those operations.
 *
 * The log: '#' lines are comments (the first gives the options of the
 * run); every other line is one op, "num kind off len nseg seg0 seg1 seg2
 * memoff" (kinds as in op_names; truncate: off = new size; fsync and
 * fdatasync: off = 1 for the direct descriptor). The stamps use num, so a
 * replay writes the same bytes. Replay with the same --fs, --cache-size,
 * --filelen and --no-direct options on a fresh image.
 *
 * Examples:
 *   pcfsx -N 20000 -S 7                           (ramfs)
 *   mke2fs -q -t ext4 -b 1024 /tmp/i.img 64M
 *   pcfsx -S 7 --fs ext4 --image /tmp/i.img --fsck --log /tmp/ops.log
 *   pcfsx --replay /tmp/ops.log --fs ext4 --image /tmp/fresh.img
 *   pcfsx -S 7 --fs objfs --store /tmp/store --cache-size 1M    (snapshots on)
 *   CEPH_CONF=/tmp/c/ceph.conf pcfsx -N 800 --fs objfs --store rados:pool
 *
 * objfs (--fs objfs --store DIR|rados:POOL): pcfsx opens the store itself
 * (a directory store is made, with an empty objfs, when DIR is missing or
 * empty; rados:POOL takes CEPH_CONF from the environment), puts the
 * ordering checker (pc_objstore_order_check_wrap) on top unless
 * --no-order-check, and mounts with pc_mount_opts.objstore; every unmount
 * (remount ops, the end) asserts pc_objstore_order_violations() == 0, and
 * the second summary line gives the count. With --snapshots (the default
 * on objfs) the mix also has: snapcreate (pc_mkdir "/.snap/fsx<num>" with
 * dirty pages in flight: no sync first; 30% of them start a burst of
 * write, snapshot, write, snapshot... so several snapshots fall between two
 * writebacks), snaprm (pc_rmdir, mostly the oldest; at --max-snapshots
 * live, default 8, a create becomes a removal of the oldest), snapverify
 * (pc_stat size and mode, every byte read buffered and, when objfs opens a
 * snapshot O_DIRECT, direct, against the model's copy taken at the
 * snapshot) and snapwrite (opening the snapshot's file for writing,
 * creating a file in the snapshot and pc_truncate must all give -EROFS).
 * After every remount, and at the end (before and after the cold mount),
 * "/.snap" must list exactly the live snapshots and each is verified. Log
 * lines of snapshot ops: "num snapcreate ID 0 0 0 0 0 0" (ID: the number
 * of the op that took it; the name is fsx<ID>). The store must hold no
 * snapshots at the start. Test hooks: --debug-corrupt-snapshot N (after op
 * N one byte of the newest snapshot's model changes: must exit 1),
 * --debug-order-violation (writes an object out of context order behind
 * objfs: must exit 1), --debug-fsync-before-snapverify (an fsync before
 * each snapshot verify, to tell a snapshot read that misses still-dirty
 * data from other failures). --snap-models-out DIR writes each live
 * snapshot's expected bytes at the end (test_fsx_objfs_rados compares them
 * with librados reads at the snapshot's id). One thread: concurrent writers are left to
 * the unit tests (TSan).
 *
 * Crash tests (tests/system/test_objfs_crash.py): --ack FILE writes, after
 * each successful fsync/fdatasync, "PCFSXACK NUM SIZE\n" and the model's
 * bytes to FILE (FILE.tmp renamed) and prints "ACK NUM SIZE" on stdout;
 * with --log the ops after NUM are known, so after a kill -9 a fresh mount
 * (--dump-to OUT: mount, copy the file out, unmount) must hold every
 * acknowledged byte no later op touched.
 *
 * The final state: a last full verify, unmount (pc_umount must return 0),
 * and for images a mount from cold and one more verify; the file stays in
 * the image (e2fsck -fn, debugfs dump against --model-out).
 *
 * Exit status: 0 success, 1 mismatch or unexpected result, 2 usage/setup.
 * Uses only the public API (pagecache.h, objfs.h, objstore.h), so it
 * builds wherever the library does (rados:POOL only with librados).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/objfs.h>
#include <pagecache/objstore.h>

#include "config.h"	/* PC_HAVE_RADOS */

#define RING_SIZE	64
#define MAX_SEGS	3
#define PAGE		4096u
#define ZEROED_BIT	0x80000000u	/* writer map: bytes zeroed (truncate/hole) by op */

enum op_kind {
	OP_READ, OP_WRITE, OP_READV, OP_WRITEV,
	OP_DREAD, OP_DWRITE, OP_DREADV, OP_DWRITEV,
	OP_TRUNCATE, OP_FSYNC, OP_FDATASYNC, OP_REOPEN, OP_REMOUNT, OP_VERIFY,
	OP_SNAPCREATE, OP_SNAPRM, OP_SNAPVERIFY, OP_SNAPWRITE,
	NR_OP_KINDS
};

static const char *const op_names[NR_OP_KINDS] = {
	[OP_READ] = "read", [OP_WRITE] = "write", [OP_READV] = "readv", [OP_WRITEV] = "writev",
	[OP_DREAD] = "dread", [OP_DWRITE] = "dwrite", [OP_DREADV] = "dreadv", [OP_DWRITEV] = "dwritev",
	[OP_TRUNCATE] = "truncate", [OP_FSYNC] = "fsync", [OP_FDATASYNC] = "fdatasync",
	[OP_REOPEN] = "reopen", [OP_REMOUNT] = "remount", [OP_VERIFY] = "verify",
	[OP_SNAPCREATE] = "snapcreate", [OP_SNAPRM] = "snaprm", [OP_SNAPVERIFY] = "snapverify",
	[OP_SNAPWRITE] = "snapwrite",
};

/*
 * One operation. @off/@len: file offset and total byte count (truncate:
 * @off is the new size). @nseg/@seg: the iovec lengths (vector kinds; the
 * plain kinds use one segment of @len). @memoff: the buffer address is a
 * page-aligned base plus @memoff (each segment has its own base).
 * @result: the return value (or the size after, for truncate), -errno.
 */
struct op {
	uint64_t num;
	enum op_kind kind;
	int64_t off;
	uint64_t len;
	int nseg;
	uint64_t seg[MAX_SEGS];
	unsigned memoff;
	int64_t result;
	bool done;
};

struct stats {
	unsigned long count[NR_OP_KINDS];
	unsigned long dbad;		/* misaligned direct ops (answered -EINVAL) */
	unsigned long dshort;		/* direct reads that had to stop at EOF */
	uint64_t bytes_read, bytes_written;
	unsigned long snap_created, snap_removed, snap_verified, snap_erofs;
	unsigned long snap_dio_ok;	/* direct reads of a snapshot that worked */
	unsigned long snap_unsynced;	/* snapshots taken with writes since the last sync */
	unsigned long snap_stacked;	/* ... with another snapshot taken since the last sync */
	int snap_dio_err;		/* the error an O_DIRECT open/read of a snapshot gave (0: none) */
	unsigned long acks;		/* --ack: fsyncs acknowledged */
};

/* ---- options ---- */

static struct {
	unsigned long nops;
	uint64_t seed;
	const char *fs;
	const char *image;
	const char *path;
	uint64_t maxlen;
	uint64_t filelen;
	bool direct;
	bool remount;
	size_t cache_size;
	int engine;
	bool dio_hold;
	bool quiet;
	const char *log;
	const char *replay;
	const char *model_out;
	unsigned op_timeout;
	uint64_t selftest_corrupt;
	bool fsck;
	const char *store;		/* objfs: a directory store or rados:POOL */
	bool order_check;
	int snapshots;			/* -1: default (on for objfs) */
	unsigned max_snaps;
	uint64_t corrupt_snapshot;	/* --debug-corrupt-snapshot N */
	const char *ack;		/* --ack FILE */
	const char *dump_to;		/* --dump-to FILE */
	bool sync_before_snapverify;	/* --debug-fsync-before-snapverify */
	bool order_selftest;		/* --debug-order-violation */
	const char *snap_models_out;	/* --snap-models-out DIR */
} opt = {
	.order_check = true,
	.snapshots = -1,
	.max_snaps = 8,
	.nops = 5000,
	.seed = 1,
	.fs = "ramfs",
	.path = "/fsx.dat",
	.maxlen = 128 * 1024,
	.filelen = 1024 * 1024,
	.direct = true,
	.remount = true,
	.op_timeout = 120,
};

/* ---- state ---- */

static struct pc_mount *mnt;
static struct pc_objstore *store;	/* objfs: the store pcfsx opened (order checker on top) */
static bool objfs;

/*
 * A live snapshot: its name is "fsx<id>" (id: the number of the op that
 * took it); @bytes/@size: the file as it was then (copy of the model),
 * @writer: the writer map then (for the diagnosis of a mismatch).
 */
struct snap {
	uint64_t id;
	unsigned char *bytes;
	uint32_t *writer;
	uint64_t size;
};
static struct snap *snaps;	/* oldest first */
/* since the last fsync/fdatasync/unmount: writes or truncates; snapshots */
static bool unsynced_writes;
static unsigned snaps_since_sync;
static unsigned nsnaps, snaps_cap;
static int fd_buf = -1, fd_dio = -1;
static unsigned mem_align = 1, off_align = 1;	/* from pc_fdioalign */
static bool have_direct;

static unsigned char *model;	/* the file's bytes; zero past msize */
static uint32_t *writer;	/* per byte: op that last defined it (| ZEROED_BIT) */
static uint64_t msize;		/* the file's size */
static uint64_t mcap;		/* bytes allocated for model/writer */

static unsigned char *iobuf[MAX_SEGS];	/* page-aligned, iobuf_len each */
static size_t iobuf_len;
static unsigned char *cmpbuf;		/* verify scratch */

static struct op ring[RING_SIZE];
static uint64_t ring_count;
static struct op *cur;			/* the op running now */
static FILE *logf;
static struct stats st;

/* ---- PRNG (splitmix64: deterministic across hosts) ---- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) (n > 0); the tiny modulo bias does not matter here. */
static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

/* Uniform in [lo, hi] (lo <= hi). */
static uint64_t rnd_range(uint64_t lo, uint64_t hi)
{
	return lo + rnd(hi - lo + 1);
}

static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* ---- stamps ---- */

static void stamp_word(uint64_t op, uint64_t word_off, unsigned char w[8])
{
	uint32_t pos = (uint32_t)(word_off >> 3);

	w[0] = op & 0xff;
	w[1] = (op >> 8) & 0xff;
	w[2] = (op >> 16) & 0xff;
	w[3] = pos & 0xff;
	w[4] = (pos >> 8) & 0xff;
	w[5] = (pos >> 16) & 0xff;
	w[6] = (pos >> 24) & 0xff;
	w[7] = 0xA5 ^ w[0] ^ w[1] ^ w[2] ^ w[3] ^ w[4] ^ w[5] ^ w[6];
}

/* Fill @n bytes for file offsets [@off, @off+@n) written by op @op. */
static void stamp_fill(unsigned char *dst, uint64_t op, uint64_t off, size_t n)
{
	unsigned char w[8];
	size_t i = 0;

	while (i < n) {
		uint64_t o = off + i;
		uint64_t base = o & ~7ull;
		size_t k = o - base;

		stamp_word(op, base, w);
		for (; k < 8 && i < n; k++, i++)
			dst[i] = w[k];
	}
}

/* Describe the 8-byte word of @buf holding file offset @o (buf[0] is file
 * offset @buf_off, @n bytes valid). */
static void describe_word(const char *what, const unsigned char *buf, uint64_t buf_off, size_t n, uint64_t o)
{
	uint64_t base = o & ~7ull;
	unsigned char w[8];
	bool all_zero = true;
	unsigned have = 0;

	for (unsigned k = 0; k < 8; k++) {
		if (base + k >= buf_off && base + k < buf_off + n) {
			w[k] = buf[base + k - buf_off];
			have |= 1u << k;
		} else {
			w[k] = 0;
		}
		if (w[k])
			all_zero = false;
	}
	fprintf(stderr, "  %s word @%" PRIu64 ":", what, base);
	for (unsigned k = 0; k < 8; k++) {
		if (have & (1u << k))
			fprintf(stderr, " %02x", w[k]);
		else
			fprintf(stderr, " --");
	}
	if (have != 0xff) {
		fprintf(stderr, "  (partial word)\n");
		return;
	}
	if (all_zero) {
		fprintf(stderr, "  = zeros (hole / truncated)\n");
		return;
	}
	unsigned char chk = 0xA5;

	for (unsigned k = 0; k < 7; k++)
		chk ^= w[k];
	uint64_t op = w[0] | (uint64_t)w[1] << 8 | (uint64_t)w[2] << 16;
	uint64_t pos = ((uint64_t)w[3] | (uint64_t)w[4] << 8 | (uint64_t)w[5] << 16 | (uint64_t)w[6] << 24) << 3;

	if (chk != w[7]) {
		/* bytes of several writes (a write began or ended inside the word) or garbage */
		fprintf(stderr, "  = mixed or not a stamp (check %02x, want %02x): op field %" PRIu64
			", offset field %" PRIu64 "%s\n", w[7], chk, op, pos,
			pos == base ? "" : " (not this offset)");
		return;
	}
	fprintf(stderr, "  = stamp of op %" PRIu64 " for offset %" PRIu64 "%s\n", op, pos,
		pos == base ? "" : "  <-- WRONG PLACE");
}

/* ---- logging ---- */

static void op_format(const struct op *o, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIu64 " %s %" PRId64 " %" PRIu64 " %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %u",
		 o->num, op_names[o->kind], o->off, o->len, o->nseg, o->seg[0], o->seg[1], o->seg[2],
		 o->memoff);
}

static void dump_ring(void)
{
	uint64_t first = ring_count > RING_SIZE ? ring_count - RING_SIZE : 0;
	char line[256];

	fprintf(stderr, "pcfsx: last %" PRIu64 " operations (num kind off len nseg seg0 seg1 seg2 memoff -> result):\n",
		ring_count - first);
	for (uint64_t i = first; i < ring_count; i++) {
		const struct op *o = &ring[i % RING_SIZE];

		op_format(o, line, sizeof(line));
		if (o->done)
			fprintf(stderr, "  %s -> %" PRId64 "%s\n", line, o->result,
				o->result < 0 ? " (error)" : "");
		else
			fprintf(stderr, "  %s -> (running)\n", line);
	}
}

static const struct op *ring_find(uint64_t num)
{
	uint64_t first = ring_count > RING_SIZE ? ring_count - RING_SIZE : 0;

	for (uint64_t i = first; i < ring_count; i++)
		if (ring[i % RING_SIZE].num == num)
			return &ring[i % RING_SIZE];
	return NULL;
}

static void finish_log(void)
{
	if (logf) {
		fflush(logf);
		fclose(logf);
		logf = NULL;
	}
}

static void print_setup(FILE *f, const char *prefix)
{
	fprintf(f, "%sseed=%" PRIu64 " fs=%s image=%s file=%s filelen=%" PRIu64 " maxlen=%" PRIu64
		" direct=%d remount=%d cache_size=%zu engine=%d dio_hold=%d mem_align=%u offset_align=%u\n",
		prefix, opt.seed, opt.fs, opt.image ? opt.image : "-", opt.path, opt.filelen, opt.maxlen,
		opt.direct, opt.remount, opt.cache_size, opt.engine, opt.dio_hold, mem_align, off_align);
}

static void die_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A failure of the library under test: dump what we know, exit 1. */
static void die_fail(const char *fmt, ...)
{
	va_list ap;
	char line[256];

	finish_log();
	fflush(stdout);
	fprintf(stderr, "pcfsx: FAILURE: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (cur) {
		op_format(cur, line, sizeof(line));
		fprintf(stderr, "pcfsx: in op: %s\n", line);
	}
	print_setup(stderr, "pcfsx: setup: ");
	fprintf(stderr, "pcfsx: model size %" PRIu64 "\n", msize);
	dump_ring();
	if (opt.log)
		fprintf(stderr, "pcfsx: replay with: --replay %s (same --fs/--image options, fresh image)\n", opt.log);
	fflush(stderr);
	_exit(1);
}

static void die_setup(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_setup(const char *fmt, ...)
{
	va_list ap;

	finish_log();
	fprintf(stderr, "pcfsx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* ---- the model ---- */

static void model_reserve(uint64_t size)
{
	if (size <= mcap)
		return;
	uint64_t ncap = mcap ? mcap : PAGE;

	while (ncap < size)
		ncap *= 2;
	unsigned char *nm = realloc(model, ncap);
	uint32_t *nw = nm ? realloc(writer, ncap * sizeof(*writer)) : NULL;

	if (!nm || !nw)
		die_setup("out of memory for a %" PRIu64 "-byte model", ncap);
	memset(nm + mcap, 0, ncap - mcap);
	memset(nw + mcap, 0, (ncap - mcap) * sizeof(*nw));
	model = nm;
	writer = nw;
	mcap = ncap;
}

/* Bytes [@off, @off+@n) now hold what op @num wrote. */
static void model_write(uint64_t num, uint64_t off, uint64_t n)
{
	if (!n)
		return;
	model_reserve(off + n);
	if (off > msize) {	/* a hole: zeros (already), note who made it */
		for (uint64_t i = msize; i < off; i++)
			writer[i] = (uint32_t)num | ZEROED_BIT;
	}
	stamp_fill(model + off, num, off, n);
	for (uint64_t i = 0; i < n; i++)
		writer[off + i] = (uint32_t)num;
	if (off + n > msize)
		msize = off + n;
}

static void model_truncate(uint64_t num, uint64_t size)
{
	model_reserve(size);
	if (size < msize) {
		memset(model + size, 0, msize - size);
		for (uint64_t i = size; i < msize; i++)
			writer[i] = (uint32_t)num | ZEROED_BIT;
	} else {
		for (uint64_t i = msize; i < size; i++)
			writer[i] = (uint32_t)num | ZEROED_BIT;
	}
	msize = size;
}

/*
 * Compare @n bytes @got read from file offset @off with the model; on a
 * difference report and exit 1. @how names the read ("buffered read").
 */
static void check_bytes_vs(const char *how, const unsigned char *got, uint64_t off, size_t n,
			   const unsigned char *want_base, const uint32_t *writer);

static void check_bytes(const char *how, const unsigned char *got, uint64_t off, size_t n)
{
	model_reserve(off + n);
	check_bytes_vs(how, got, off, n, model, writer);
}

/* As check_bytes, against @want_base/@writer (a snapshot's copy of the
 * model; both hold at least @off + @n entries). */
static void check_bytes_vs(const char *how, const unsigned char *got, uint64_t off, size_t n,
			   const unsigned char *want_base, const uint32_t *writer)
{
	const unsigned char *want = want_base + off;

	if (!memcmp(got, want, n))
		return;
	size_t first = 0, last = 0, count = 0;

	for (size_t i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			if (!count)
				first = i;
			last = i;
			count++;
		}
	}
	uint64_t o = off + first;
	uint32_t w = writer[o];

	finish_log();
	fprintf(stderr, "pcfsx: MISMATCH (%s of [%" PRIu64 ", +%zu)): first bad offset %" PRIu64
		" (0x%" PRIx64 "), expected %02x got %02x; %zu bad bytes, last bad offset %" PRIu64 "\n",
		how, off, n, o, o, want[first], got[first], count, off + last);
	if (!w)
		fprintf(stderr, "  offset %" PRIu64 " was never written (should be zero)\n", o);
	else if (w & ZEROED_BIT)
		fprintf(stderr, "  offset %" PRIu64 " was last zeroed (truncate or hole) by op %u\n", o,
			w & ~ZEROED_BIT);
	else
		fprintf(stderr, "  offset %" PRIu64 " was last written by op %u\n", o, w);
	if (w) {
		const struct op *lw = ring_find(w & ~ZEROED_BIT);
		char line[256];

		if (lw) {
			op_format(lw, line, sizeof(line));
			fprintf(stderr, "  that op: %s\n", line);
		} else {
			fprintf(stderr, "  that op is older than the ring (see --log)\n");
		}
	}
	describe_word("expected", want, off, n, o);
	describe_word("got     ", got, off, n, o);
	/* the runs of bad bytes, briefly */
	unsigned runs = 0;

	for (size_t i = first; i <= last && runs < 16;) {
		if (got[i] == want[i]) {
			i++;
			continue;
		}
		size_t j = i;

		while (j <= last && got[j] != want[j])
			j++;
		fprintf(stderr, "  bad run [%" PRIu64 ", %" PRIu64 ") (%zu bytes)\n", off + i, off + j, j - i);
		runs++;
		i = j;
	}
	die_fail("data mismatch at offset %" PRIu64, o);
}

/* ---- descriptors and mounts ---- */

static void open_fds(bool create)
{
	int flags = O_RDWR | (create ? O_CREAT | O_TRUNC : 0);
	int fd = pc_open(mnt, opt.path, flags, 0644);

	if (fd < 0)
		die_fail("pc_open(%s, buffered): %s", opt.path, strerror(-fd));
	fd_buf = fd;
	if (!opt.direct)
		return;
	fd = pc_open(mnt, opt.path, O_RDWR | O_DIRECT, 0);
	if (fd < 0) {
		if (create)
			die_setup("pc_open(%s, O_DIRECT): %s (no direct I/O here? use --no-direct)", opt.path,
				  strerror(-fd));
		die_fail("pc_open(%s, O_DIRECT): %s", opt.path, strerror(-fd));
	}
	fd_dio = fd;
	unsigned ma = 0, oa = 0;
	int err = pc_fdioalign(fd_dio, &ma, &oa);

	if (err < 0) {
		if (create)
			die_setup("pc_fdioalign: %s", strerror(-err));
		die_fail("pc_fdioalign: %s", strerror(-err));
	}
	if (!ma || !oa || (ma & (ma - 1)) || (oa & (oa - 1)) || ma > PAGE || oa > 65536)
		die_fail("pc_fdioalign: odd alignment mem %u offset %u", ma, oa);
	if (have_direct && (ma != mem_align || oa != off_align))
		die_fail("pc_fdioalign changed: mem %u offset %u, was %u %u", ma, oa, mem_align, off_align);
	mem_align = ma;
	off_align = oa;
	have_direct = true;
}

static void close_fds(void)
{
	int err;

	if (fd_dio >= 0 && (err = pc_close(fd_dio)) < 0)
		die_fail("pc_close(direct): %s", strerror(-err));
	if (fd_buf >= 0 && (err = pc_close(fd_buf)) < 0)
		die_fail("pc_close(buffered): %s", strerror(-err));
	fd_dio = fd_buf = -1;
}

static void do_mount(bool first)
{
	struct pc_mount_opts mo = {
		.cache_size = opt.cache_size,
		.engine = opt.engine,
		.dio_hold_i_rwsem = opt.dio_hold,
	};
	bool ramfs = !strcmp(opt.fs, "ramfs");

	mo.objstore = store;
	int err = pc_mount(opt.fs, ramfs ? NULL : opt.image, &mo, &mnt);

	if (err < 0) {
		if (first)
			die_setup("pc_mount(%s, %s): %s: %s", opt.fs, opt.image ? opt.image : "NULL", strerror(-err),
				  pc_mount_error());
		die_fail("remount: pc_mount(%s, %s): %s: %s", opt.fs, opt.image ? opt.image : "NULL",
			 strerror(-err), pc_mount_error());
	}
}

/* --fsck: the unmounted image must be clean for e2fsck -fn (its output
 * is shown only when it is not). */
static void run_fsck(void)
{
	char cmd[PATH_MAX + 128], out[8192];
	size_t got = 0;
	FILE *p;

	for (const char *q = opt.image; *q; q++)
		if (*q == '\'')
			die_setup("--fsck: the image path must not contain a quote");
	snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/usr/sbin:/sbin\" LC_ALL=C e2fsck -fn '%s' 2>&1", opt.image);
	fflush(stdout);
	fflush(stderr);
	p = popen(cmd, "r");
	if (!p)
		die_setup("--fsck: cannot run e2fsck");
	for (size_t n; (n = fread(out + got, 1, sizeof(out) - 1 - got, p)) > 0;)
		got += n;
	out[got] = 0;
	while (fgetc(p) != EOF)	/* drain what did not fit */
		;
	int rc = pclose(p);

	if (rc == -1 || !WIFEXITED(rc))
		die_setup("--fsck: cannot run e2fsck");
	if (WEXITSTATUS(rc) != 0) {
		fprintf(stderr, "%s", out);
		die_fail("e2fsck -fn found the unmounted image damaged (exit %d, output above)", WEXITSTATUS(rc));
	}
}

/* The ordering checker's count (0 without one); the first violation
 * described into @buf. */
static unsigned long order_violations(char *buf, size_t len)
{
	if (buf && len)
		buf[0] = 0;
	if (!store || !opt.order_check)
		return 0;
	return pc_objstore_order_violations(store, buf, len);
}

static void check_order(const char *when)
{
	char why[512];
	unsigned long v = order_violations(why, sizeof(why));

	if (v)
		die_fail("%s: the ordering checker saw %lu write(s) of an older snap context after a newer "
			 "one on the same object; the first: %s", when, v, why);
}

static void do_umount(void)
{
	int err = pc_umount(mnt);

	mnt = NULL;
	if (err)
		die_fail("pc_umount returned %d (%s)", err, strerror(-err));
	check_order("after pc_umount");
	if (opt.fsck && strcmp(opt.fs, "ramfs"))
		run_fsck();
}

/*
 * objfs: open the store opt.store names (a directory store, made when the
 * directory is missing or empty; or rados:POOL, CEPH_CONF from the
 * environment), make an objfs on it unless it holds one, and put the
 * ordering checker on top (unless --no-order-check). pcfsx owns the
 * store: every mount borrows it (pc_mount_opts.objstore).
 */
static void open_store(void)
{
	struct pc_objstore *os = NULL;
	char why[512] = "";
	int err;

	if (!strncmp(opt.store, "rados:", 6)) {
#if PC_HAVE_RADOS
		struct pc_rados_opts ro = { .size = sizeof(ro), .why = why, .whylen = sizeof(why) };

		err = pc_objstore_open_rados(opt.store + 6, &ro, &os);
		if (err)
			die_setup("pc_objstore_open_rados(%s): %s: %s", opt.store + 6, strerror(-err), why);
#else
		die_setup("--store %s: this build has no RADOS support (built without librados)", opt.store);
#endif
	} else {
		err = pc_objstore_open_dir(opt.store, PC_OBJSTORE_DIR_CREATE, &os);
		if (err) {
			pc_objstore_dir_strerror(NULL, why, sizeof(why));
			die_setup("pc_objstore_open_dir(%s): %s: %s", opt.store, strerror(-err), why);
		}
	}
	err = pc_objfs_mkfs(os, NULL, why, sizeof(why));
	if (err && err != -EEXIST) {
		pc_objstore_close(os);
		die_setup("pc_objfs_mkfs(%s): %s: %s", opt.store, strerror(-err), why);
	}
	if (opt.order_check) {
		struct pc_objstore *w;

		err = pc_objstore_order_check_wrap(os, &w);
		if (err) {
			pc_objstore_close(os);
			die_setup("pc_objstore_order_check_wrap: %s", strerror(-err));
		}
		os = w;
	}
	store = os;
}

/*
 * --debug-order-violation: write object "fsx.ordertest" with a context of
 * seq 2, then with one of seq 1, straight to the store: the ordering
 * checker must refuse the second (-PC_EOLDSNAPC) and count it, so the run
 * fails at the next unmount (checks that pcfsx's check is wired up).
 */
static void order_selftest(void)
{
	static unsigned char byte = 0x5A;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct pc_snap_context *sc2 = pc_snap_context_alloc(2, NULL, 0);
	struct pc_snap_context *sc1 = pc_snap_context_alloc(1, NULL, 0);
	struct pc_obj_req req = { .op = PC_OBJ_WRITE, .oid = "fsx.ordertest", .len = 1, .iov = &iov, .iovcnt = 1 };

	if (!sc1 || !sc2)
		die_setup("pc_snap_context_alloc failed");
	req.snapc = sc2;
	int64_t r2 = pc_objstore_exec(store, &req);

	req.snapc = sc1;
	int64_t r1 = pc_objstore_exec(store, &req);

	pc_snap_context_put(sc1);
	pc_snap_context_put(sc2);
	fprintf(stderr, "pcfsx: selftest: a write with context seq 2 returned %" PRId64 ", then one with seq 1 %"
		PRId64 " (-PC_EOLDSNAPC is %d)\n", r2, r1, -PC_EOLDSNAPC);
}

/* ---- checking helpers ---- */

static void check_size(const char *when)
{
	struct stat sb;
	int err = pc_fstat(fd_buf, &sb);

	if (err < 0)
		die_fail("pc_fstat: %s", strerror(-err));
	if ((uint64_t)sb.st_size != msize)
		die_fail("%s: pc_fstat size %lld, model size %" PRIu64, when, (long long)sb.st_size, msize);
	if (!S_ISREG(sb.st_mode))
		die_fail("%s: pc_fstat mode %o is not a regular file", when, (unsigned)sb.st_mode);
}

/* Expected return of a read of @len at @off: stops at EOF. */
static uint64_t read_expect(int64_t off, uint64_t len)
{
	if ((uint64_t)off >= msize)
		return 0;
	return len < msize - off ? len : msize - off;
}

/* Build the iovecs of @o in iobuf; fills segments with stamps if @fill. */
static int build_iov(const struct op *o, struct iovec *iov, bool fill)
{
	int n = (o->kind == OP_READV || o->kind == OP_WRITEV || o->kind == OP_DREADV || o->kind == OP_DWRITEV)
		? o->nseg : 1;
	uint64_t pos = o->off;

	for (int i = 0; i < n; i++) {
		uint64_t l = n == 1 ? o->len : o->seg[i];

		if (o->memoff + l > iobuf_len) {
			fprintf(stderr, "pcfsx: op %" PRIu64 ": segment of %" PRIu64 " bytes at +%u exceeds the %zu-byte buffer\n",
				o->num, l, o->memoff, iobuf_len);
			exit(2);
		}
		iov[i].iov_base = iobuf[i] + o->memoff;
		iov[i].iov_len = l;
		if (fill)
			stamp_fill(iov[i].iov_base, o->num, pos, l);
		else
			memset(iov[i].iov_base, 0xEE, l);	/* poison: must be overwritten */
		pos += l;
	}
	return n;
}

static bool direct_aligned(const struct op *o, const struct iovec *iov, int n)
{
	if ((uint64_t)o->off % off_align || o->len % off_align)
		return false;
	for (int i = 0; i < n; i++) {
		if ((uintptr_t)iov[i].iov_base % mem_align || iov[i].iov_len % off_align)
			return false;
	}
	return true;
}

/* Compare the bytes a read returned (spread over @iov) with the model. */
static void check_read(const char *how, const struct iovec *iov, int n, int64_t off, uint64_t got)
{
	uint64_t pos = off;

	for (int i = 0; i < n && got; i++) {
		uint64_t l = iov[i].iov_len < got ? iov[i].iov_len : got;

		check_bytes(how, iov[i].iov_base, pos, l);
		pos += l;
		got -= l;
	}
}

/* ---- the operations ---- */

/* A refused (misaligned) direct op changed nothing: a read left the
 * caller's buffers alone, a write left the file's bytes in its range as
 * the model has them (read back through the buffered descriptor). */
static void check_refused(const struct op *o, const struct iovec *iov, int n, bool write)
{
	if (!write) {
		for (int i = 0; i < n; i++) {
			const unsigned char *b = iov[i].iov_base;

			for (size_t j = 0; j < iov[i].iov_len; j++)
				if (b[j] != 0xEE)
					die_fail("refused direct read changed the caller's buffer (segment %d, byte %zu)",
						 i, j);
		}
		return;
	}
	uint64_t lo = (uint64_t)o->off & ~(uint64_t)(PAGE - 1);
	uint64_t len = o->off + o->len + PAGE - lo;

	if (len > iobuf_len)
		len = iobuf_len;
	ssize_t ret = pc_pread(fd_buf, cmpbuf, len, lo);
	uint64_t exp = read_expect(lo, len);

	if (ret < 0 || (uint64_t)ret != exp)
		die_fail("after a refused direct write: buffered pread of %" PRIu64 " at %" PRIu64
			 " returned %zd, expected %" PRIu64, len, lo, ret, exp);
	check_bytes("read-back after a refused direct write", cmpbuf, lo, ret);
}

static void do_rw(struct op *o)
{
	struct iovec iov[MAX_SEGS];
	bool write = o->kind == OP_WRITE || o->kind == OP_WRITEV || o->kind == OP_DWRITE || o->kind == OP_DWRITEV;
	bool direct = o->kind >= OP_DREAD && o->kind <= OP_DWRITEV;
	bool vec = o->kind == OP_READV || o->kind == OP_WRITEV || o->kind == OP_DREADV || o->kind == OP_DWRITEV;
	int n = build_iov(o, iov, write);
	int fd = direct ? fd_dio : fd_buf;
	ssize_t ret;

	if (direct && !have_direct)
		die_setup("op %" PRIu64 ": direct op but direct I/O is off (--no-direct?)", o->num);
	if (vec)
		ret = write ? pc_pwritev(fd, iov, n, o->off) : pc_preadv(fd, iov, n, o->off);
	else if (write)
		ret = pc_pwrite(fd, iov[0].iov_base, iov[0].iov_len, o->off);
	else
		ret = pc_pread(fd, iov[0].iov_base, iov[0].iov_len, o->off);
	o->result = ret;

	if (direct && !direct_aligned(o, iov, n)) {
		st.dbad++;
		/* A misaligned read at or past EOF may be answered 0 before the
		 * alignment is checked (Linux has done both). */
		if (ret == -EINVAL || (!write && ret == 0 && (uint64_t)o->off >= msize)) {
			check_refused(o, iov, n, write);
			return;
		}
		die_fail("misaligned direct %s (mem_align %u, offset_align %u) returned %zd, expected -EINVAL",
			 write ? "write" : "read", mem_align, off_align, ret);
	}
	if (write) {
		unsynced_writes = true;
		if (ret < 0)
			die_fail("%s: %s", op_names[o->kind], strerror((int)-ret));
		if ((uint64_t)ret != o->len)
			die_fail("%s: short write %zd of %" PRIu64, op_names[o->kind], ret, o->len);
		model_write(o->num, o->off, o->len);
		st.bytes_written += ret;
	} else {
		uint64_t want = read_expect(o->off, o->len);

		if (ret < 0)
			die_fail("%s: %s", op_names[o->kind], strerror((int)-ret));
		if ((uint64_t)ret != want)
			die_fail("%s of %" PRIu64 " at %" PRId64 ": returned %zd, expected %" PRIu64 " (model size %" PRIu64 ")",
				 op_names[o->kind], o->len, o->off, ret, want, msize);
		if (direct && want < o->len)
			st.dshort++;
		check_read(direct ? "direct read" : "buffered read", iov, n, o->off, ret);
		st.bytes_read += ret;
	}
}

/* Read the whole file buffered (random chunking) and direct (aligned). */
static void verify_all(const char *when)
{
	uint64_t pos = 0;
	/* chunk sizes from a PRNG of their own, so that the main sequence
	 * does not depend on the file size and a replay reads the same way */
	uint64_t saved = rng_state;

	rng_state = msize * 0x9E3779B97F4A7C15ull + (cur ? cur->num : 0);
	uint64_t chunks[64];

	for (int i = 0; i < 64; i++)
		chunks[i] = rnd_range(1, iobuf_len);
	rng_state = saved;

	check_size(when);
	/* buffered, in chunks of up to iobuf_len ending at random places */
	for (unsigned ci = 0; pos < msize + 1; ci++) {
		uint64_t want = chunks[ci % 64];
		ssize_t ret = pc_pread(fd_buf, cmpbuf, want, pos);
		uint64_t exp = read_expect(pos, want);

		if (ret < 0)
			die_fail("verify (%s): buffered pread at %" PRIu64 ": %s", when, pos, strerror((int)-ret));
		if ((uint64_t)ret != exp)
			die_fail("verify (%s): buffered pread of %" PRIu64 " at %" PRIu64 " returned %zd, expected %" PRIu64,
				 when, want, pos, ret, exp);
		if (!ret)
			break;
		check_bytes("verify buffered read", cmpbuf, pos, ret);
		pos += ret;
	}
	if (!have_direct)
		return;
	pos = 0;
	uint64_t chunk = (iobuf_len / off_align) * off_align;

	if ((uintptr_t)cmpbuf % mem_align)
		die_setup("verify buffer misaligned");
	for (;;) {
		ssize_t ret = pc_pread(fd_dio, cmpbuf, chunk, pos);
		uint64_t exp = read_expect(pos, chunk);

		if (ret < 0)
			die_fail("verify (%s): direct pread at %" PRIu64 ": %s", when, pos, strerror((int)-ret));
		if ((uint64_t)ret != exp)
			die_fail("verify (%s): direct pread of %" PRIu64 " at %" PRIu64 " returned %zd, expected %" PRIu64,
				 when, chunk, pos, ret, exp);
		if (!ret)
			break;
		check_bytes("verify direct read", cmpbuf, pos, ret);
		pos += ret;
		if ((uint64_t)ret < chunk)
			break;
	}
}

/* ---- snapshots (objfs: /.snap/NAME) ---- */

static void snap_path(uint64_t id, const char *tail, char *buf, size_t len)
{
	snprintf(buf, len, "/.snap/fsx%" PRIu64 "%s", id, tail);
}

static int snap_find(uint64_t id)
{
	for (unsigned i = 0; i < nsnaps; i++)
		if (snaps[i].id == id)
			return (int)i;
	return -1;
}

/* Take snapshot fsx<id> (dirty pages may be in flight: no sync first) and
 * keep a copy of the model as it is now. */
static void snap_create(struct op *o)
{
	char path[PATH_MAX];
	uint64_t id = o->off;

	if (snap_find(id) >= 0)
		die_setup("op %" PRIu64 ": snapshot fsx%" PRIu64 " exists already", o->num, id);
	snap_path(id, "", path, sizeof(path));
	int err = pc_mkdir(mnt, path, 0755);

	o->result = err;
	if (err)
		die_fail("pc_mkdir(%s) (take a snapshot): %s", path, strerror(-err));
	if (nsnaps == snaps_cap) {
		unsigned ncap = snaps_cap ? snaps_cap * 2 : 8;
		struct snap *ns = realloc(snaps, ncap * sizeof(*ns));

		if (!ns)
			die_setup("out of memory");
		snaps = ns;
		snaps_cap = ncap;
	}
	struct snap *sn = &snaps[nsnaps];
	uint64_t cap = msize ? msize : 1;

	sn->id = id;
	sn->size = msize;
	sn->bytes = malloc(cap);
	sn->writer = malloc(cap * sizeof(*sn->writer));
	if (!sn->bytes || !sn->writer)
		die_setup("out of memory for a snapshot of %" PRIu64 " bytes", msize);
	if (msize) {
		memcpy(sn->bytes, model, msize);
		memcpy(sn->writer, writer, msize * sizeof(*writer));
	}
	nsnaps++;
	st.snap_created++;
	if (unsynced_writes)
		st.snap_unsynced++;
	if (snaps_since_sync++)
		st.snap_stacked++;
}

static void snap_free(unsigned i)
{
	free(snaps[i].bytes);
	free(snaps[i].writer);
	memmove(&snaps[i], &snaps[i + 1], (nsnaps - i - 1) * sizeof(*snaps));
	nsnaps--;
}

static void snap_remove(struct op *o)
{
	char path[PATH_MAX];
	int i = snap_find(o->off);
	struct stat sb;

	if (i < 0)
		die_setup("op %" PRIu64 ": no live snapshot fsx%" PRId64, o->num, o->off);
	snap_path(o->off, "", path, sizeof(path));
	int err = pc_rmdir(mnt, path);

	o->result = err;
	if (err)
		die_fail("pc_rmdir(%s) (remove a snapshot): %s", path, strerror(-err));
	err = pc_stat(mnt, path, &sb);
	if (err != -ENOENT)
		die_fail("pc_stat(%s) after its removal returned %d (%s), expected -ENOENT", path, err,
			 err ? strerror(-err) : "found");
	snap_free((unsigned)i);
	st.snap_removed++;
}

/* Read all of the snapshot's file through @fd in chunks (direct: aligned
 * chunks of the largest multiple of @align that fits) and compare. */
static void snap_read_all(const struct snap *sn, int fd, bool direct, unsigned align, const char *when)
{
	uint64_t pos = 0;
	uint64_t chunk = direct ? (iobuf_len / align) * align : 0;
	unsigned ci = 0;
	char how[96];

	snprintf(how, sizeof(how), "%s read of snapshot fsx%" PRIu64, direct ? "direct" : "buffered", sn->id);
	for (;; ci++) {
		uint64_t want = direct ? chunk : 1 + (sn->id * 7919 + ci * 104729) % iobuf_len;
		ssize_t ret = pc_pread(fd, cmpbuf, want, pos);
		uint64_t exp = pos >= sn->size ? 0 : (want < sn->size - pos ? want : sn->size - pos);

		if (ret < 0)
			die_fail("%s (%s): pc_pread at %" PRIu64 ": %s", how, when, pos, strerror((int)-ret));
		if ((uint64_t)ret != exp)
			die_fail("%s (%s): pc_pread of %" PRIu64 " at %" PRIu64 " returned %zd, expected %" PRIu64
				 " (snapshot size %" PRIu64 ")", how, when, want, pos, ret, exp, sn->size);
		if (!ret)
			break;
		check_bytes_vs(how, cmpbuf, pos, ret, sn->bytes, sn->writer);
		pos += ret;
		if ((uint64_t)ret < want)	/* at EOF (a direct read stops there) */
			break;
	}
}

/* Verify snapshot @sn: pc_stat size and mode, every byte read buffered
 * and (when objfs lets a snapshot be opened O_DIRECT) direct. */
static void snap_verify_one(const struct snap *sn, const char *when)
{
	char path[PATH_MAX];
	struct stat sb;
	int err;

	snap_path(sn->id, opt.path, path, sizeof(path));
	if (opt.sync_before_snapverify && fd_buf >= 0 && (err = pc_fsync(fd_buf)))
		die_fail("pc_fsync before a snapshot verify: %s", strerror(-err));
	err = pc_stat(mnt, path, &sb);
	if (err)
		die_fail("snapshot verify (%s): pc_stat(%s): %s", when, path, strerror(-err));
	if ((uint64_t)sb.st_size != sn->size || !S_ISREG(sb.st_mode))
		die_fail("snapshot verify (%s): pc_stat(%s): size %lld mode %o, the snapshot's model: size %"
			 PRIu64 ", a regular file", when, path, (long long)sb.st_size, (unsigned)sb.st_mode, sn->size);
	int fd = pc_open(mnt, path, O_RDONLY, 0);

	if (fd < 0)
		die_fail("snapshot verify (%s): pc_open(%s, O_RDONLY): %s", when, path, strerror(-fd));
	err = pc_fstat(fd, &sb);
	if (err || (uint64_t)sb.st_size != sn->size)
		die_fail("snapshot verify (%s): pc_fstat(%s): %d, size %lld, expected %" PRIu64, when, path, err,
			 (long long)sb.st_size, sn->size);
	snap_read_all(sn, fd, false, 1, when);
	if ((err = pc_close(fd)) < 0)
		die_fail("pc_close(%s): %s", path, strerror(-err));

	if (opt.direct && !st.snap_dio_err) {
		fd = pc_open(mnt, path, O_RDONLY | O_DIRECT, 0);
		if (fd < 0) {
			/* objfs may not offer O_DIRECT on a snapshot: noted in the summary */
			st.snap_dio_err = fd;
		} else {
			unsigned ma = 0, oa = 0;

			err = pc_fdioalign(fd, &ma, &oa);
			if (err || !oa || oa > 65536 || (oa & (oa - 1)) || ma > PAGE)
				die_fail("pc_fdioalign(%s): %d, mem %u offset %u", path, err, ma, oa);
			snap_read_all(sn, fd, true, oa, when);
			st.snap_dio_ok++;
			if ((err = pc_close(fd)) < 0)
				die_fail("pc_close(%s, direct): %s", path, strerror(-err));
		}
	}
	st.snap_verified++;
}

/* "/.snap" must list exactly the live snapshots. */
static void snap_check_list(const char *when)
{
	struct pc_dir *d;
	struct pc_dirent de;
	unsigned found = 0;
	int err = pc_opendir(mnt, "/.snap", &d);

	if (err)
		die_fail("%s: pc_opendir(/.snap): %s", when, strerror(-err));
	while ((err = pc_readdir(d, &de)) > 0) {
		uint64_t id;
		char tail;

		if (!strcmp(de.d_name, ".") || !strcmp(de.d_name, ".."))
			continue;
		if (sscanf(de.d_name, "fsx%" SCNu64 "%c", &id, &tail) != 1 || snap_find(id) < 0)
			die_fail("%s: /.snap lists \"%s\", not a live snapshot of this run (%u live)", when,
				 de.d_name, nsnaps);
		found++;
	}
	pc_closedir(d);
	if (err < 0)
		die_fail("%s: pc_readdir(/.snap): %s", when, strerror(-err));
	if (found != nsnaps)
		die_fail("%s: /.snap lists %u snapshots, %u are live", when, found, nsnaps);
}

static void snap_verify_all(const char *when)
{
	if (!opt.snapshots)
		return;
	snap_check_list(when);
	for (unsigned i = 0; i < nsnaps; i++)
		snap_verify_one(&snaps[i], when);
}

/* A snapshot is read-only: opening its file for writing, creating in it,
 * truncating it, all -EROFS, and nothing changed. */
static void snap_erofs(struct op *o)
{
	char path[PATH_MAX], npath[PATH_MAX];
	int i = snap_find(o->off);
	int err;

	if (i < 0)
		die_setup("op %" PRIu64 ": no live snapshot fsx%" PRId64, o->num, o->off);
	snap_path(o->off, opt.path, path, sizeof(path));
	snap_path(o->off, "/fsx-new", npath, sizeof(npath));
	static const int flags[] = { O_RDWR, O_WRONLY, O_WRONLY | O_TRUNC };

	for (unsigned k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		int fd = pc_open(mnt, path, flags[k], 0);

		if (fd >= 0)
			pc_close(fd);
		if (fd != -EROFS)
			die_fail("pc_open(%s, flags 0%o) on a snapshot returned %d (%s), expected -EROFS", path,
				 (unsigned)flags[k], fd, fd < 0 ? strerror(-fd) : "opened");
	}
	int fd = pc_open(mnt, npath, O_WRONLY | O_CREAT, 0644);

	if (fd >= 0)
		pc_close(fd);
	if (fd != -EROFS)
		die_fail("pc_open(%s, O_CREAT) in a snapshot returned %d, expected -EROFS", npath, fd);
	if ((err = pc_truncate(mnt, path, 0)) != -EROFS)
		die_fail("pc_truncate(%s) of a snapshot returned %d, expected -EROFS", path, err);
	o->result = -EROFS;
	st.snap_erofs++;
	snap_verify_one(&snaps[i], "after refused writes");
}

/* --debug-corrupt-snapshot: one byte of the newest non-empty snapshot's
 * model changes (as if the library had returned a wrong byte), then that
 * snapshot is verified: pcfsx must notice (exit 1). */
static void selftest_corrupt_snapshot(void)
{
	for (unsigned i = nsnaps; i-- > 0;) {
		struct snap *sn = &snaps[i];

		if (!sn->size)
			continue;
		uint64_t at = sn->size / 2;

		sn->bytes[at] ^= 0x5A;
		fprintf(stderr, "pcfsx: selftest: changed the model of snapshot fsx%" PRIu64 " at offset %" PRIu64
			"\n", sn->id, at);
		snap_verify_one(sn, "selftest");
		die_setup("selftest: the corrupted byte of snapshot fsx%" PRIu64 " was not noticed", sn->id);
	}
	die_setup("selftest: no live non-empty snapshot after op %" PRIu64 ": pick another op",
		  opt.corrupt_snapshot);
}

/* ---- --ack: the state an fsync acknowledged ---- */

/*
 * After each successful fsync/fdatasync: FILE gets (write to FILE.tmp,
 * rename) a line "PCFSXACK NUM SIZE\n" and the SIZE bytes of the model;
 * then "ACK NUM SIZE" is printed on stdout and flushed. A process killed at
 * any moment leaves FILE holding the state of the last ACK line (or the
 * one being written, which was acknowledged too).
 */
static void write_ack(uint64_t num)
{
	char tmp[PATH_MAX];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", opt.ack);
	f = fopen(tmp, "w");
	if (!f)
		die_setup("cannot create %s: %s", tmp, strerror(errno));
	fprintf(f, "PCFSXACK %" PRIu64 " %" PRIu64 "\n", num, msize);
	if ((msize && fwrite(model, 1, msize, f) != msize) || fclose(f))
		die_setup("cannot write %s", tmp);
	if (rename(tmp, opt.ack))
		die_setup("cannot rename %s: %s", tmp, strerror(errno));
	printf("ACK %" PRIu64 " %" PRIu64 "\n", num, msize);
	fflush(stdout);
	st.acks++;
}

static void run_op(struct op *o)
{
	int err, fd;

	cur = o;
	switch (o->kind) {
	case OP_READ: case OP_WRITE: case OP_READV: case OP_WRITEV:
	case OP_DREAD: case OP_DWRITE: case OP_DREADV: case OP_DWRITEV:
		do_rw(o);
		break;
	case OP_TRUNCATE:
		if (o->off < 0)
			die_setup("op %" PRIu64 ": negative truncate size", o->num);
		err = pc_ftruncate(fd_buf, o->off);
		o->result = err;
		if (err)
			die_fail("pc_ftruncate(%" PRId64 "): %s", o->off, strerror(-err));
		model_truncate(o->num, o->off);
		o->result = o->off;
		unsynced_writes = true;
		break;
	case OP_FSYNC:
	case OP_FDATASYNC:
		/* sync through either descriptor: same file */
		fd = o->off && have_direct ? fd_dio : fd_buf;
		err = o->kind == OP_FSYNC ? pc_fsync(fd) : pc_fdatasync(fd);
		o->result = err;
		if (err)
			die_fail("%s: %s", op_names[o->kind], strerror(-err));
		if (opt.ack)
			write_ack(o->num);
		unsynced_writes = false;
		snaps_since_sync = 0;
		break;
	case OP_REOPEN:
		close_fds();
		open_fds(false);
		o->result = 0;
		break;
	case OP_REMOUNT:
		if (!strcmp(opt.fs, "ramfs"))
			die_setup("op %" PRIu64 ": remount on ramfs would lose the file", o->num);
		close_fds();
		do_umount();
		unsynced_writes = false;
		snaps_since_sync = 0;
		do_mount(false);
		open_fds(false);
		o->result = 0;
		verify_all("after remount");
		snap_verify_all("after remount");
		break;
	case OP_VERIFY:
		verify_all("verify op");
		o->result = 0;
		break;
	case OP_SNAPCREATE:
		snap_create(o);
		break;
	case OP_SNAPRM:
		snap_remove(o);
		break;
	case OP_SNAPVERIFY:
		if ((err = snap_find(o->off)) < 0)
			die_setup("op %" PRIu64 ": no live snapshot fsx%" PRId64, o->num, o->off);
		snap_verify_one(&snaps[err], "snapverify op");
		o->result = 0;
		break;
	case OP_SNAPWRITE:
		snap_erofs(o);
		break;
	default:
		die_setup("bad op kind %d", (int)o->kind);
	}
	check_size(op_names[o->kind]);
	st.count[o->kind]++;
	o->done = true;
	cur = NULL;
}

/* --selftest-corrupt: one byte of the file changes without the model
 * knowing (as a library bug would do it), then everything is verified. */
static void selftest_corrupt(void)
{
	if (!msize)
		die_setup("selftest: the file is empty after op %" PRIu64 ": pick another op", opt.selftest_corrupt);
	uint64_t at = msize / 2;

	/* prefer a byte some write defined (not a hole) */
	for (uint64_t i = 0; i < msize; i++) {
		uint64_t j = (msize / 2 + i) % msize;

		if (writer[j] && !(writer[j] & ZEROED_BIT)) {
			at = j;
			break;
		}
	}
	unsigned char b = model[at] ^ 0x5A;
	static struct op fake = { .kind = OP_VERIFY };

	if (pc_pwrite(fd_buf, &b, 1, at) != 1)
		die_setup("selftest: pc_pwrite failed");
	fprintf(stderr, "pcfsx: selftest: changed the byte at offset %" PRIu64 " behind the model\n", at);
	fake.num = ring_count + 1;
	cur = &fake;
	verify_all("selftest");
	die_setup("selftest: the corrupted byte at %" PRIu64 " was not noticed", at);
}

/* ---- random op generation ---- */

static uint64_t last_off;

/* A length: mostly small, sometimes up to maxlen; at least @min. */
static uint64_t gen_len(void)
{
	unsigned r = rnd(100);

	if (r < 2)
		return 0;
	if (r < 30)
		return rnd_range(1, 64);
	if (r < 65)
		return rnd_range(1, opt.maxlen < 8192 ? opt.maxlen : 8192);
	return rnd_range(1, opt.maxlen);
}

/* An offset in [0, limit]: uniform, near EOF, near a page boundary, or near the last op's. */
static uint64_t gen_off(uint64_t limit)
{
	uint64_t o;

	switch (rnd(8)) {
	case 0: case 1:		/* near the previous op: overlap on purpose */
		o = last_off + rnd(65536);
		o = o >= 32768 ? o - 32768 : 0;
		break;
	case 2:			/* near EOF */
		o = msize + rnd(16384);
		o = o >= 8192 ? o - 8192 : 0;
		break;
	case 3:			/* around a page boundary */
		o = rnd(limit / PAGE + 1) * PAGE + rnd(17);
		o = o >= 8 ? o - 8 : 0;
		break;
	default:
		o = rnd(limit + 1);
	}
	return o > limit ? limit : o;
}

/* Split @len into @n segments (some may be empty). */
static void split_segs(struct op *o, int n, uint64_t unit)
{
	uint64_t left = o->len / unit;

	o->nseg = n;
	for (int i = 0; i < n - 1; i++) {
		uint64_t s = rnd(left + 1);

		o->seg[i] = s * unit;
		left -= s;
	}
	o->seg[n - 1] = left * unit + o->len % unit;
}

static void gen_buffered(struct op *o, bool write, bool vec)
{
	uint64_t len = gen_len();
	uint64_t off;

	if (write) {
		if (len > opt.filelen)
			len = opt.filelen;
		off = gen_off(opt.filelen - len);
	} else {
		off = gen_off(msize + 4096 > opt.filelen ? msize + 4096 : opt.filelen);
	}
	o->kind = write ? (vec ? OP_WRITEV : OP_WRITE) : (vec ? OP_READV : OP_READ);
	o->off = off;
	o->len = len;
	o->memoff = chance(50) ? 0 : rnd(PAGE);
	if (vec)
		split_segs(o, 2 + (int)rnd(2), 1);
	else
		o->nseg = 1, o->seg[0] = len;
}

static void gen_direct(struct op *o, bool write)
{
	uint64_t a = off_align;
	uint64_t maxunits = opt.maxlen / a ? opt.maxlen / a : 1;
	uint64_t fileunits = opt.filelen / a;
	uint64_t units, off;
	bool vec = chance(20);
	unsigned r = rnd(100);

	if (r < 25)
		units = 1;		/* one unit: sub-block on most images */
	else if (r < 60)
		units = rnd_range(1, maxunits < 16 ? maxunits : 16);
	else
		units = rnd_range(1, maxunits);
	if (units > fileunits)
		units = fileunits;
	if (write) {
		off = gen_off(opt.filelen - units * a) / a;
	} else {
		uint64_t lim = (msize + 8192) / a;

		if (lim < fileunits)
			lim = fileunits;
		off = gen_off(lim * a) / a;
		if (chance(15) && msize) {	/* straddle EOF on purpose */
			uint64_t eofu = msize / a;

			off = eofu > 2 ? eofu - rnd(3) : 0;
		}
	}
	o->kind = write ? (vec ? OP_DWRITEV : OP_DWRITE) : (vec ? OP_DREADV : OP_DREAD);
	o->off = off * a;
	o->len = units * a;
	/* buffer: page-aligned or only mem_align-aligned */
	o->memoff = chance(50) ? 0 : (unsigned)(rnd(PAGE / mem_align) * mem_align);
	if (vec)
		split_segs(o, 2 + (int)rnd(2), a);
	else
		o->nseg = 1, o->seg[0] = o->len;

	/* sometimes deliberately misaligned: must fail with -EINVAL */
	if (chance(8)) {
		switch (rnd(4)) {
		case 0:
			if (a > 1) {
				o->off += rnd_range(1, a - 1);
				break;
			}
			/* fall through */
		case 1:
			if (a > 1) {
				uint64_t d = rnd_range(1, a - 1);

				if (o->nseg == 1 && o->len > d && chance(50)) {
					o->len -= d;
					o->seg[0] = o->len;
				} else {
					o->len += d;
					o->seg[o->nseg - 1] += d;
				}
				break;
			}
			/* fall through */
		case 2:
			if (mem_align > 1) {
				o->memoff = (unsigned)(rnd(PAGE / mem_align) * mem_align + rnd_range(1, mem_align - 1));
				break;
			}
			/* fall through */
		case 3:
			/* misaligned segment lengths with an aligned total */
			if (a > 1 && o->len >= 2 * a) {
				uint64_t d = rnd_range(1, a - 1);

				o->kind = write ? OP_DWRITEV : OP_DREADV;
				o->nseg = 2;
				o->seg[0] = a + d;
				o->seg[1] = o->len - o->seg[0];
				o->seg[2] = 0;
			}
			break;
		}
	}
}

static unsigned snap_burst;	/* ops left in a burst of writes and snapshots */

/* A snapshot op of kind @k on a live snapshot (or a create when none is
 * live; a create at the cap removes the oldest instead). */
static void gen_snap(struct op *o, int k)
{
	if (k != OP_SNAPCREATE && !nsnaps)
		k = OP_SNAPCREATE;
	if (k == OP_SNAPCREATE && nsnaps >= opt.max_snaps) {
		o->kind = OP_SNAPRM;
		o->off = (int64_t)snaps[0].id;
		return;
	}
	o->kind = (enum op_kind)k;
	if (k == OP_SNAPCREATE) {
		o->off = (int64_t)o->num;
		/* sometimes a burst: write, snapshot, write, snapshot... with no
		 * writeback between (several snapshots between two writebacks) */
		if (!snap_burst && chance(30))
			snap_burst = 2 * (unsigned)rnd_range(1, 3);
		return;
	}
	/* remove: mostly the oldest; verify/write: any */
	unsigned i = k == OP_SNAPRM && chance(50) ? 0 : (unsigned)rnd(nsnaps);

	o->off = (int64_t)snaps[i].id;
}

static void gen_op(struct op *o)
{
	/* weights per kind (direct kinds 0 without direct I/O) */
	unsigned w[NR_OP_KINDS] = {
		[OP_READ] = 14, [OP_WRITE] = 16, [OP_READV] = 5, [OP_WRITEV] = 6,
		[OP_DREAD] = 14, [OP_DWRITE] = 16,
		[OP_TRUNCATE] = 6, [OP_FSYNC] = 2, [OP_FDATASYNC] = 2, [OP_REOPEN] = 1,
		[OP_REMOUNT] = 1, [OP_VERIFY] = 1,
		[OP_SNAPCREATE] = 4, [OP_SNAPRM] = 1, [OP_SNAPVERIFY] = 2, [OP_SNAPWRITE] = 1,
	};
	unsigned total = 0, r;
	int k;

	if (!opt.snapshots)
		w[OP_SNAPCREATE] = w[OP_SNAPRM] = w[OP_SNAPVERIFY] = w[OP_SNAPWRITE] = 0;
	if (snap_burst) {
		memset(o->seg, 0, sizeof(o->seg));
		o->nseg = 0;
		o->off = 0;
		o->len = 0;
		o->memoff = 0;
		if (snap_burst-- % 2 == 0) {
			gen_buffered(o, true, false);
			last_off = o->off;
		} else {
			gen_snap(o, OP_SNAPCREATE);
		}
		return;
	}

	if (!have_direct)
		w[OP_DREAD] = w[OP_DWRITE] = 0;
	if (!opt.remount)
		w[OP_REMOUNT] = 0;
	for (k = 0; k < NR_OP_KINDS; k++)
		total += w[k];
	/* remount and verify are rarer than one in a hundred */
	r = rnd(total * 4);
	if (r >= total) {
		r = rnd(total - w[OP_REMOUNT] - w[OP_VERIFY]);
		for (k = 0; k < NR_OP_KINDS; k++) {
			if (k == OP_REMOUNT || k == OP_VERIFY)
				continue;
			if (r < w[k])
				break;
			r -= w[k];
		}
	} else {
		for (k = 0; k < NR_OP_KINDS; k++) {
			if (r < w[k])
				break;
			r -= w[k];
		}
	}
	memset(o->seg, 0, sizeof(o->seg));
	o->nseg = 0;
	o->off = 0;
	o->len = 0;
	o->memoff = 0;
	switch (k) {
	case OP_READ: case OP_WRITE: case OP_READV: case OP_WRITEV:
		gen_buffered(o, k == OP_WRITE || k == OP_WRITEV, k == OP_READV || k == OP_WRITEV);
		break;
	case OP_DREAD: case OP_DWRITE:
		gen_direct(o, k == OP_DWRITE);
		break;
	case OP_TRUNCATE:
		o->kind = OP_TRUNCATE;
		switch (rnd(5)) {
		case 0:
			o->off = msize / 2;
			break;
		case 1:
			o->off = (uint64_t)msize > 4096 ? msize - rnd(4096) : 0;
			break;
		case 2:
			o->off = rnd(opt.filelen / PAGE + 1) * PAGE;
			break;
		case 3:
			o->off = chance(30) ? 0 : rnd(opt.filelen + 1);
			break;
		default:
			o->off = msize + rnd(65536);
		}
		if ((uint64_t)o->off > opt.filelen)
			o->off = opt.filelen;
		break;
	case OP_FSYNC: case OP_FDATASYNC:
		o->kind = (enum op_kind)k;
		o->off = have_direct ? (int64_t)rnd(2) : 0;	/* which descriptor */
		break;
	case OP_SNAPCREATE: case OP_SNAPRM: case OP_SNAPVERIFY: case OP_SNAPWRITE:
		gen_snap(o, k);
		break;
	default:
		o->kind = (enum op_kind)k;
	}
	if (o->kind != OP_TRUNCATE && o->kind != OP_FSYNC && o->kind != OP_FDATASYNC &&
	    o->kind < OP_SNAPCREATE && o->len)
		last_off = o->off;
}

/* ---- replay ---- */

static bool parse_op(const char *line, struct op *o)
{
	char name[32];
	unsigned long long num, len, s0, s1, s2;
	long long off;
	int nseg;
	unsigned memoff;

	if (sscanf(line, "%llu %31s %lld %llu %d %llu %llu %llu %u", &num, name, &off, &len, &nseg, &s0, &s1,
		   &s2, &memoff) != 9)
		return false;
	memset(o, 0, sizeof(*o));
	for (int k = 0; k < NR_OP_KINDS; k++) {
		if (!strcmp(name, op_names[k])) {
			o->kind = (enum op_kind)k;
			goto found;
		}
	}
	return false;
found:
	if (nseg < 0 || nseg > MAX_SEGS || off < 0)
		return false;
	o->num = num;
	o->off = off;
	o->len = len;
	o->nseg = nseg;
	o->seg[0] = s0;
	o->seg[1] = s1;
	o->seg[2] = s2;
	o->memoff = memoff;
	if ((o->kind == OP_READV || o->kind == OP_WRITEV || o->kind == OP_DREADV || o->kind == OP_DWRITEV) &&
	    (nseg < 1 || s0 + s1 + s2 != len))
		return false;
	return true;
}

/* Read every op of a --log file; *@longest: the most bytes one buffer
 * (memoff + a segment) needs. Exits 2 on a malformed file. */
static struct op *read_replay(const char *path, size_t *count, uint64_t *longest)
{
	FILE *f = fopen(path, "r");
	struct op *ops = NULL;
	size_t n = 0, cap = 0;
	char line[512];
	unsigned long lineno = 0;

	if (!f)
		die_setup("cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			struct op *no = realloc(ops, cap * sizeof(*ops));

			if (!no)
				die_setup("out of memory reading %s", path);
			ops = no;
		}
		if (!parse_op(line, &ops[n]))
			die_setup("%s:%lu: bad op line: %s", path, lineno, line);
		struct op *o = &ops[n];
		uint64_t need = o->memoff + o->len;

		if (o->len > ((uint64_t)1 << 30) || o->memoff > PAGE)
			die_setup("%s:%lu: op too large", path, lineno);
		if (need > *longest)
			*longest = need;
		n++;
	}
	fclose(f);
	if (!n)
		die_setup("%s: no operations", path);
	*count = n;
	return ops;
}

/* ---- watchdog ---- */

static void on_alarm(int sig)
{
	(void)sig;
	/* not async-signal-safe; best effort on a hang */
	fprintf(stderr, "pcfsx: FAILURE: an operation took more than %u s (hang?)\n", opt.op_timeout);
	if (cur) {
		char line[256];

		op_format(cur, line, sizeof(line));
		fprintf(stderr, "pcfsx: in op: %s\n", line);
	}
	dump_ring();
	if (logf)
		fflush(logf);
	_exit(1);
}

/* --dump-to: copy the file's bytes out of a fresh mount. */
static int dump_file(void)
{
	int fd = pc_open(mnt, opt.path, O_RDONLY, 0);
	FILE *f;
	uint64_t pos = 0;

	if (fd < 0)
		die_fail("--dump-to: pc_open(%s): %s", opt.path, strerror(-fd));
	f = fopen(opt.dump_to, "w");
	if (!f)
		die_setup("cannot create %s: %s", opt.dump_to, strerror(errno));
	for (;;) {
		ssize_t ret = pc_pread(fd, cmpbuf, iobuf_len, pos);

		if (ret < 0)
			die_fail("--dump-to: pc_pread at %" PRIu64 ": %s", pos, strerror((int)-ret));
		if (!ret)
			break;
		if (fwrite(cmpbuf, 1, ret, f) != (size_t)ret)
			die_setup("cannot write %s", opt.dump_to);
		pos += ret;
	}
	if (fclose(f))
		die_setup("cannot write %s", opt.dump_to);
	pc_close(fd);
	do_umount();
	unsigned long v = order_violations(NULL, 0);

	pc_objstore_close(store);
	printf("pcfsx: dumped %s: %" PRIu64 " bytes; order violations %lu\n", opt.path, pos, v);
	return 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pcfsx [options]\n"
		"  -N OPS            operations to run (default 5000)\n"
		"  -S SEED           PRNG seed (default 1)\n"
		"  --fs ramfs|ext4|objfs  filesystem (ext2/ext3 are aliases of ext4; default ramfs)\n"
		"  --image PATH      the image for ext2/3/4 (made by mke2fs)\n"
		"  --store DIR|rados:POOL  objfs: a directory store (made, with an objfs, when\n"
		"                    missing or empty) or a RADOS pool (CEPH_CONF); pcfsx opens it\n"
		"                    and mounts it with pc_mount_opts.objstore\n"
		"  --no-order-check  objfs: no ordering checker on the store (by default every\n"
		"                    object write is checked: no older snap context after a newer\n"
		"                    one; a violation fails the run)\n"
		"  --snapshots, --no-snapshots  objfs: snapshot create/remove/verify and\n"
		"                    read-only checks in the mix (default on for objfs; the\n"
		"                    store must hold no snapshots at the start)\n"
		"  --max-snapshots N live snapshots kept (default 8; the oldest is removed)\n"
		"  --debug-corrupt-snapshot N  after op N, change one byte of the newest\n"
		"                    snapshot's model and verify it (must exit 1)\n"
		"  --debug-fsync-before-snapverify  fsync the file before each snapshot\n"
		"                    verify (diagnosis: a failure that goes away with it is a\n"
		"                    snapshot read missing data dirty at snapshot time)\n"
		"  --debug-order-violation  write an object with an older snap context after a\n"
		"                    newer one behind objfs's back (the run must then fail)\n"
		"  --snap-models-out DIR  at the end, write each live snapshot's expected\n"
		"                    file contents to DIR/fsx<ID> (DIR must exist)\n"
		"  --ack FILE        after each fsync/fdatasync: FILE gets \"PCFSXACK NUM SIZE\\n\"\n"
		"                    and the model's bytes (written to FILE.tmp, renamed), then\n"
		"                    \"ACK NUM SIZE\" is printed on stdout (kill -9 tests)\n"
		"  --dump-to FILE    only mount (no ops, no O_TRUNC), copy the file's bytes to\n"
		"                    FILE, unmount\n"
		"  --file PATH       the file inside the mount (default /fsx.dat)\n"
		"  --maxlen BYTES    longest read/write (default 131072)\n"
		"  --filelen BYTES   largest file size (default 1048576)\n"
		"  --no-direct       no O_DIRECT descriptor and no direct ops\n"
		"  --no-remount      no unmount/mount ops (implied by ramfs)\n"
		"  --cache-size BYTES  private page cache size (small values stress reclaim)\n"
		"  --engine 0|1|2    I/O engine: auto, io_uring, pread\n"
		"  --dio-hold-i-rwsem  direct writes keep the inode lock (old behaviour)\n"
		"  --log FILE        write every op, one line each, as it runs\n"
		"  --replay FILE     run the ops of FILE instead of random ones\n"
		"  --model-out FILE  write the expected final contents of the file\n"
		"  --op-timeout SEC  fail if one op takes longer (default 120, 0 none)\n"
		"  --fsck            run e2fsck -fn on the image after every unmount\n"
		"  --selftest-corrupt N  after op N, change one byte of the file behind the\n"
		"                    model's back (checks that pcfsx notices: must exit 1)\n"
		"  -q                quiet: only the summary line\n"
		"exit status: 0 ok, 1 mismatch or unexpected result, 2 usage or setup error\n");
}

static uint64_t parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		goto bad;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		goto bad;
	return v;
bad:
	fprintf(stderr, "pcfsx: bad %s: %s\n", what, s);
	usage(stderr);
	exit(2);
}

enum {
	OPT_FS = 256, OPT_IMAGE, OPT_FILE, OPT_MAXLEN, OPT_FILELEN, OPT_NO_DIRECT, OPT_NO_REMOUNT,
	OPT_CACHE, OPT_ENGINE, OPT_DIO_HOLD, OPT_LOG, OPT_REPLAY, OPT_MODEL_OUT, OPT_TIMEOUT,
	OPT_SELFTEST, OPT_FSCK, OPT_STORE, OPT_NO_ORDER, OPT_SNAPS, OPT_NO_SNAPS, OPT_MAX_SNAPS,
	OPT_CORRUPT_SNAP, OPT_ACK, OPT_DUMP_TO, OPT_SYNC_SNAPVERIFY, OPT_ORDER_SELFTEST, OPT_SNAP_MODELS,
};

static const struct option long_opts[] = {
	{ "fs", required_argument, NULL, OPT_FS },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "file", required_argument, NULL, OPT_FILE },
	{ "maxlen", required_argument, NULL, OPT_MAXLEN },
	{ "filelen", required_argument, NULL, OPT_FILELEN },
	{ "no-direct", no_argument, NULL, OPT_NO_DIRECT },
	{ "no-remount", no_argument, NULL, OPT_NO_REMOUNT },
	{ "cache-size", required_argument, NULL, OPT_CACHE },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "dio-hold-i-rwsem", no_argument, NULL, OPT_DIO_HOLD },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "model-out", required_argument, NULL, OPT_MODEL_OUT },
	{ "op-timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "selftest-corrupt", required_argument, NULL, OPT_SELFTEST },
	{ "fsck", no_argument, NULL, OPT_FSCK },
	{ "store", required_argument, NULL, OPT_STORE },
	{ "no-order-check", no_argument, NULL, OPT_NO_ORDER },
	{ "snapshots", no_argument, NULL, OPT_SNAPS },
	{ "no-snapshots", no_argument, NULL, OPT_NO_SNAPS },
	{ "max-snapshots", required_argument, NULL, OPT_MAX_SNAPS },
	{ "debug-corrupt-snapshot", required_argument, NULL, OPT_CORRUPT_SNAP },
	{ "ack", required_argument, NULL, OPT_ACK },
	{ "dump-to", required_argument, NULL, OPT_DUMP_TO },
	{ "debug-fsync-before-snapverify", no_argument, NULL, OPT_SYNC_SNAPVERIFY },
	{ "debug-order-violation", no_argument, NULL, OPT_ORDER_SELFTEST },
	{ "snap-models-out", required_argument, NULL, OPT_SNAP_MODELS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int c;

	while ((c = getopt_long(argc, argv, "N:S:qh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'N': opt.nops = parse_num(optarg, "-N"); break;
		case 'S': opt.seed = parse_num(optarg, "-S"); break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_FS: opt.fs = optarg; break;
		case OPT_IMAGE: opt.image = optarg; break;
		case OPT_FILE: opt.path = optarg; break;
		case OPT_MAXLEN: opt.maxlen = parse_num(optarg, "--maxlen"); break;
		case OPT_FILELEN: opt.filelen = parse_num(optarg, "--filelen"); break;
		case OPT_NO_DIRECT: opt.direct = false; break;
		case OPT_NO_REMOUNT: opt.remount = false; break;
		case OPT_CACHE: opt.cache_size = parse_num(optarg, "--cache-size"); break;
		case OPT_ENGINE: opt.engine = (int)parse_num(optarg, "--engine"); break;
		case OPT_DIO_HOLD: opt.dio_hold = true; break;
		case OPT_LOG: opt.log = optarg; break;
		case OPT_REPLAY: opt.replay = optarg; break;
		case OPT_MODEL_OUT: opt.model_out = optarg; break;
		case OPT_TIMEOUT: opt.op_timeout = (unsigned)parse_num(optarg, "--op-timeout"); break;
		case OPT_SELFTEST: opt.selftest_corrupt = parse_num(optarg, "--selftest-corrupt"); break;
		case OPT_FSCK: opt.fsck = true; break;
		case OPT_STORE: opt.store = optarg; break;
		case OPT_NO_ORDER: opt.order_check = false; break;
		case OPT_SNAPS: opt.snapshots = 1; break;
		case OPT_NO_SNAPS: opt.snapshots = 0; break;
		case OPT_MAX_SNAPS: opt.max_snaps = (unsigned)parse_num(optarg, "--max-snapshots"); break;
		case OPT_CORRUPT_SNAP: opt.corrupt_snapshot = parse_num(optarg, "--debug-corrupt-snapshot"); break;
		case OPT_ACK: opt.ack = optarg; break;
		case OPT_DUMP_TO: opt.dump_to = optarg; break;
		case OPT_SYNC_SNAPVERIFY: opt.sync_before_snapverify = true; break;
		case OPT_ORDER_SELFTEST: opt.order_selftest = true; break;
		case OPT_SNAP_MODELS: opt.snap_models_out = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pcfsx: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	bool ramfs = !strcmp(opt.fs, "ramfs");

	objfs = !strcmp(opt.fs, "objfs");
	if (!ramfs && !objfs && strcmp(opt.fs, "ext4") && strcmp(opt.fs, "ext3") && strcmp(opt.fs, "ext2"))
		die_setup("unknown --fs %s (ramfs, ext2, ext3, ext4, objfs)", opt.fs);
	if (objfs) {
		if (!opt.store)
			die_setup("--fs objfs needs --store DIR or --store rados:POOL");
		if (opt.image)
			die_setup("--fs objfs takes --store, not --image");
		if (opt.fsck)
			die_setup("--fsck is for ext2/3/4 images");
		opt.image = opt.store;	/* the mount's label */
		if (opt.snapshots < 0)
			opt.snapshots = 1;
	} else {
		if (opt.store)
			die_setup("--store is for --fs objfs");
		if (opt.snapshots > 0)
			die_setup("--snapshots needs --fs objfs");
		opt.snapshots = 0;
	}
	if (opt.max_snaps < 1)
		die_setup("--max-snapshots must be at least 1");
	if (opt.corrupt_snapshot && !opt.snapshots)
		die_setup("--debug-corrupt-snapshot needs snapshots");
	if (!ramfs && !opt.image)
		die_setup("--fs %s needs --image PATH", opt.fs);
	if (ramfs)
		opt.remount = false;
	if (opt.engine < 0 || opt.engine > 2)
		die_setup("--engine must be 0, 1 or 2");
	if (opt.filelen < PAGE || opt.filelen > ((uint64_t)1 << 34))
		die_setup("--filelen must be between 4096 and 16 GiB");
	if (opt.maxlen < 1 || opt.maxlen > 64 * 1024 * 1024)
		die_setup("--maxlen must be between 1 and 64 MiB");
	if (opt.maxlen > opt.filelen)
		opt.maxlen = opt.filelen;

	struct op *replay_ops = NULL;
	size_t replay_n = 0;
	uint64_t longest = opt.maxlen;	/* longest segment + its memoff */

	if (opt.replay) {
		replay_ops = read_replay(opt.replay, &replay_n, &longest);
		opt.nops = replay_n;
	}
	if (opt.log && !(logf = fopen(opt.log, "w")))
		die_setup("cannot create %s: %s", opt.log, strerror(errno));

	/* buffers: one per segment, page-aligned, room for the longest
	 * transfer plus a page of misalignment and an alignment unit */
	iobuf_len = ((longest + PAGE - 1) / PAGE + 2) * PAGE + 65536;
	for (int i = 0; i < MAX_SEGS; i++) {
		iobuf[i] = aligned_alloc(PAGE, iobuf_len);
		if (!iobuf[i])
			die_setup("out of memory");
	}
	cmpbuf = aligned_alloc(PAGE, iobuf_len);
	if (!cmpbuf)
		die_setup("out of memory");
	model_reserve(opt.filelen);
	rng_state = opt.seed;

	if (objfs)
		open_store();
	do_mount(true);
	if (opt.dump_to)
		return dump_file();
	if (opt.order_selftest) {
		if (!objfs)
			die_setup("--debug-order-violation needs --fs objfs");
		order_selftest();
	}
	open_fds(true);
	if (opt.snapshots)
		snap_check_list("start (the store must hold no snapshots)");
	check_size("open");
	if (logf) {
		print_setup(logf, "# pcfsx ");
		fprintf(logf, "# num kind off len nseg seg0 seg1 seg2 memoff\n");
		fflush(logf);
	}
	if (!opt.quiet)
		print_setup(stdout, "pcfsx: ");
	fflush(stdout);
	if (opt.op_timeout)
		signal(SIGALRM, on_alarm);

	double t0 = now();
	uint64_t n = 0;
	char line[256];

	while (n < opt.nops) {
		struct op *o = &ring[ring_count % RING_SIZE];

		if (replay_ops) {
			*o = replay_ops[n];
			if ((o->kind >= OP_DREAD && o->kind <= OP_DWRITEV) && !have_direct)
				die_setup("op %" PRIu64 " of %s is a direct op: run without --no-direct", o->num,
					  opt.replay);
			if (o->kind == OP_REMOUNT && ramfs)
				die_setup("op %" PRIu64 " of %s is a remount: not on ramfs", o->num, opt.replay);
			if (o->kind >= OP_SNAPCREATE && !opt.snapshots)
				die_setup("op %" PRIu64 " of %s is a snapshot op: objfs with snapshots only", o->num,
					  opt.replay);
		} else {
			memset(o, 0, sizeof(*o));
			o->num = n + 1;
			gen_op(o);
		}
		o->done = false;
		o->result = 0;
		ring_count++;
		if (logf) {
			op_format(o, line, sizeof(line));
			fprintf(logf, "%s\n", line);
			fflush(logf);
		}
		if (opt.op_timeout)
			alarm(opt.op_timeout);
		run_op(o);
		n++;
		if (opt.selftest_corrupt && n == opt.selftest_corrupt)
			selftest_corrupt();
		if (opt.corrupt_snapshot && n == opt.corrupt_snapshot)
			selftest_corrupt_snapshot();
		if (!opt.quiet && opt.nops >= 100000 && n % (opt.nops / 10) == 0) {
			printf("pcfsx: %" PRIu64 " ops, %.1f s\n", n, now() - t0);
			fflush(stdout);
		}
	}
	if (opt.op_timeout)
		alarm(0);

	/* final: full verify, then unmount (file stays for e2fsck); for images,
	 * mount again and verify from a cold cache */
	struct op fin = { .num = n + 1, .kind = OP_VERIFY };

	ring[ring_count++ % RING_SIZE] = fin;
	cur = &ring[(ring_count - 1) % RING_SIZE];
	if (opt.op_timeout)
		alarm(opt.op_timeout * 4);
	verify_all("final");
	snap_verify_all("final");
	close_fds();
	do_umount();
	if (!ramfs) {
		do_mount(false);
		open_fds(false);
		verify_all("final, after remount");
		snap_verify_all("final, after remount");
		close_fds();
		do_umount();
	}
	unsigned long violations = order_violations(NULL, 0);

	pc_objstore_close(store);
	store = NULL;
	cur->done = true;
	cur = NULL;
	alarm(0);
	double t1 = now();

	if (opt.model_out) {
		FILE *mf = fopen(opt.model_out, "w");

		if (!mf || (msize && fwrite(model, 1, msize, mf) != msize) || fclose(mf)) {
			fprintf(stderr, "pcfsx: cannot write %s\n", opt.model_out);
			return 2;
		}
	}
	for (unsigned i = 0; opt.snap_models_out && i < nsnaps; i++) {
		char path[PATH_MAX];
		FILE *mf;

		snprintf(path, sizeof(path), "%s/fsx%" PRIu64, opt.snap_models_out, snaps[i].id);
		mf = fopen(path, "w");
		if (!mf || (snaps[i].size && fwrite(snaps[i].bytes, 1, snaps[i].size, mf) != snaps[i].size) ||
		    fclose(mf)) {
			fprintf(stderr, "pcfsx: cannot write %s\n", path);
			return 2;
		}
	}
	finish_log();
	free(replay_ops);

	if (opt.replay)
		printf("pcfsx: OK replay %s fs %s: %" PRIu64 " ops in %.2f s:", opt.replay, opt.fs, n, t1 - t0);
	else
		printf("pcfsx: OK seed %" PRIu64 " fs %s: %" PRIu64 " ops in %.2f s:", opt.seed, opt.fs, n, t1 - t0);
	for (int k = 0; k < NR_OP_KINDS; k++)
		printf(" %s %lu", op_names[k], st.count[k]);
	printf(" (direct misaligned %lu, short at EOF %lu); %.1f MiB read, %.1f MiB written; final size %" PRIu64
	       "; align mem %u offset %u\n", st.dbad, st.dshort, st.bytes_read / 1048576.0,
	       st.bytes_written / 1048576.0, msize, have_direct ? mem_align : 0, have_direct ? off_align : 0);
	if (objfs)
		printf("pcfsx: objfs store %s: snapshots created %lu removed %lu verified %lu erofs-checked %lu "
		       "live %u; snapshot direct reads %lu (%s); order violations %lu%s; fsync acks %lu; "
		       "snapshots with unsynced writes %lu, with another since the last sync %lu\n",
		       opt.store, st.snap_created, st.snap_removed, st.snap_verified, st.snap_erofs, nsnaps,
		       st.snap_dio_ok, st.snap_dio_err ? strerror(-st.snap_dio_err) : "supported", violations,
		       opt.order_check ? "" : " (no checker)", st.acks, st.snap_unsynced, st.snap_stacked);
	while (nsnaps)
		snap_free(nsnaps - 1);
	free(snaps);

	for (int i = 0; i < MAX_SEGS; i++)
		free(iobuf[i]);
	free(cmpbuf);
	free(model);
	free(writer);
	return 0;
}
