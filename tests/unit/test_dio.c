/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_dio.c - direct I/O (O_DIRECT) coherent with the page cache
 * through placeholder range locks (seed 002), through the public API only.
 *
 * 1. No stale data. The image file is filled with the 8 bytes "STALE!!\n"
 *    repeated BEFORE mke2fs (-E nodiscard), so every block the filesystem
 *    has not written holds the pattern. Direct writers (filling holes and
 *    extending), buffered readers, a direct reader, a buffered writer and a
 *    truncater then run at once on one file. Every byte ever written is a
 *    stamp naming its own file offset, so each byte of an 8-byte word read
 *    must be zero or what a stamp for exactly that offset holds there (see
 *    word_check); the pattern anywhere means a reader saw a block allocated
 *    but not yet written (or freed data).
 *    Then a deterministic single-threaded phase writes known data with
 *    direct and buffered writes (leaving holes), and the file is checked
 *    byte for byte buffered, direct, and by debugfs after unmount; e2fsck
 *    -fn must find nothing to fix.
 * 2. Coherence, one thread: a direct write over cached pages is seen by
 *    every later buffered read; buffered writes (fsynced or still dirty)
 *    are seen by direct reads; a random mix against a shadow copy. Then
 *    many threads: buffered and direct readers must never see a generation
 *    older than the newest direct write completed before their read began,
 *    nor a word go back to an older generation.
 * 3. The rules: alignment (-EINVAL, nothing changes), holes read as zeros,
 *    reads short at EOF, writes extending the file, pc_fdioalign, ramfs.
 * 4. Four direct writers on disjoint ranges of one preallocated file.
 *
 * Seeds: PC_TEST_SEED (default 20250101) is mixed into every test's seed,
 * printed at the start of each test and in every failure. The stress phases
 * last PC_DIO_STRESS_MS milliseconds (default 2000) each. PC_TEST_FILTER
 * runs only the tests whose "name/fs" matches (cmocka's pattern: '*', '?').
 * PC_DIO_ROLES, a bit mask of enum role (default all), picks which kinds of
 * thread test_no_stale starts (to narrow down a failure).
 *
 * Needs e2fsprogs (mke2fs, e2fsck, debugfs) on PATH; images live under
 * $PC_TEST_TMPDIR (default /tmp).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include "test_util.h"

#define KiB 1024u
#define MiB (1024u * 1024u)
#define PAGE 4096u

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

static char tmpdir[4200];
static char logpath[4300];
static uint64_t base_seed = 20250101;
static unsigned stress_ms = 2000;
static unsigned stress_roles = ~0u;	/* PC_DIO_ROLES: which roles of test_no_stale run */

static const unsigned char STALE[8] = { 'S', 'T', 'A', 'L', 'E', '!', '!', '\n' };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts))
		;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Deterministic bytes: byte @off of stream @seed (never all-STALE). */
static unsigned char pat(unsigned seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)seed << 32);
	x ^= x >> 29;
	return (unsigned char)(x * 0xbf58476d1ce4e5b9ULL >> 56);
}

static void fill(unsigned char *buf, unsigned seed, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(seed, off + i);
}

static uint64_t round_down(uint64_t x, uint64_t a) { return x / a * a; }
static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }
static bool is_pow2(unsigned x) { return x && !(x & (x - 1)); }

/* Page-aligned heap memory (direct I/O buffers). */
static void *aligned_alloc_or_null(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, PAGE, len ? len : PAGE))
		return NULL;
	return p;
}

/* Print a window of two buffers around the first difference. */
static void dump_diff(const unsigned char *got, const unsigned char *want, size_t len, size_t at)
{
	size_t lo = at > 8 ? at - 8 : 0, hi = at + 8 < len ? at + 8 : len;

	fprintf(stderr, "    got: ");
	for (size_t i = lo; i < hi; i++)
		fprintf(stderr, "%02x ", got[i]);
	fprintf(stderr, "\n   want: ");
	for (size_t i = lo; i < hi; i++)
		fprintf(stderr, "%02x ", want[i]);
	fprintf(stderr, "\n");
}

/* Index of the first differing byte, or -1. */
static long first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

/* ---- fixtures: which filesystem ---- */

struct fs_kind {
	const char *name;	/* image and message name */
	const char *mkfs;	/* mke2fs -t; NULL: ramfs */
	unsigned bs;		/* block size for mke2fs */
	bool hold;		/* pc_mount_opts.dio_hold_i_rwsem */
};

static const struct fs_kind k_ext4 = { "ext4_4k", "ext4", 4096, false };
static const struct fs_kind k_ext4_hold = { "ext4_4k_hold", "ext4", 4096, true };
static const struct fs_kind k_ext2 = { "ext2_1k", "ext2", 1024, false };
static const struct fs_kind k_ramfs = { "ramfs", NULL, 0, false };

struct fixture {
	const struct fs_kind *k;
	char img[4400];
	struct pc_mount *m;
	uint64_t seed;
	char tag[160];		/* "kind seed N" for messages */
};

static int setup_kind(void **state, const struct fs_kind *k)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->k = k;
	snprintf(fx->img, sizeof(fx->img), "%s/%s.img", tmpdir, k->name);
	*state = fx;
	return 0;
}

static int setup_ext4(void **state) { return setup_kind(state, &k_ext4); }
static int setup_ext4_hold(void **state) { return setup_kind(state, &k_ext4_hold); }
static int setup_ext2(void **state) { return setup_kind(state, &k_ext2); }
static int setup_ramfs(void **state) { return setup_kind(state, &k_ramfs); }

static int teardown_fx(void **state)
{
	struct fixture *fx = *state;

	if (fx->m)
		(void)pc_umount(fx->m);	/* a failed test left it mounted */
	if (fx->k->mkfs)
		unlink(fx->img);
	free(fx);
	return 0;
}

/* Per-test seed: the base seed mixed with the test and filesystem names. */
static void fx_seed(struct fixture *fx, const char *test)
{
	fx->seed = base_seed ^ str_hash(test) ^ (str_hash(fx->k->name) << 1);
	snprintf(fx->tag, sizeof(fx->tag), "%s/%s seed %" PRIu64, test, fx->k->name, fx->seed);
	fprintf(stderr, "[ %s ] (PC_TEST_SEED=%" PRIu64 ")\n", fx->tag, base_seed);
}

#define FX_FAIL(fx, fmt, ...) fail_msg("[%s] " fmt, (fx)->tag, ##__VA_ARGS__)

/* Fill the image file with the STALE pattern. */
static void make_stale_file(const char *img, size_t size)
{
	unsigned char *buf = malloc(MiB);
	FILE *f = fopen(img, "wb");

	assert_non_null(buf);
	assert_non_null(f);
	for (size_t i = 0; i < MiB; i += 8)
		memcpy(buf + i, STALE, 8);
	for (size_t done = 0; done < size; done += MiB)
		assert_int_equal(fwrite(buf, 1, MiB, f), MiB);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

/* Fraction (per mille) of the image's 8-byte words that hold the pattern. */
static unsigned stale_permille(const char *img)
{
	unsigned char *buf = malloc(MiB);
	FILE *f = fopen(img, "rb");
	uint64_t words = 0, stale = 0;
	size_t n;

	assert_non_null(buf);
	assert_non_null(f);
	while ((n = fread(buf, 1, MiB, f)) > 0) {
		for (size_t i = 0; i + 8 <= n; i += 8) {
			words++;
			stale += !memcmp(buf + i, STALE, 8);
		}
	}
	fclose(f);
	free(buf);
	return words ? (unsigned)(stale * 1000 / words) : 0;
}

/* Make the fixture's image (64 MiB). With @stale, the free blocks hold the
 * STALE pattern (checked: at least half of the image must). */
static void make_image(struct fixture *fx, bool stale)
{
	int st;

	if (!fx->k->mkfs)
		return;
	unlink(fx->img);
	if (stale) {
		make_stale_file(fx->img, 64 * MiB);
		st = tu_run("mke2fs -q -F -t %s -b %u -E nodiscard '%s' >'%s' 2>&1", fx->k->mkfs,
			 fx->k->bs, fx->img, logpath);
	} else {
		st = tu_run("mke2fs -q -F -t %s -b %u '%s' 64M >'%s' 2>&1", fx->k->mkfs, fx->k->bs,
			 fx->img, logpath);
	}
	if (st != 0)
		tu_show_file(logpath);
	assert_int_equal(st, 0);
	if (stale) {
		unsigned pm = stale_permille(fx->img);
		if (pm < 500)
			FX_FAIL(fx, "only %u/1000 of the fresh image holds the pattern: the test "
				"would prove nothing", pm);
	}
}

static void fx_mount(struct fixture *fx, size_t cache)
{
	struct pc_mount_opts opts = { .cache_size = cache, .dio_hold_i_rwsem = fx->k->hold };
	int err;

	assert_null(fx->m);
	if (fx->k->mkfs)
		err = pc_mount("ext4", fx->img, &opts, &fx->m);
	else
		err = pc_mount("ramfs", NULL, &opts, &fx->m);
	if (err) {
		fx->m = NULL;
		FX_FAIL(fx, "pc_mount: %d (%s)", err, pc_mount_error());
	}
}

static void fx_umount(struct fixture *fx)
{
	struct pc_mount *m = fx->m;
	int err;

	fx->m = NULL;
	err = pc_umount(m);
	if (err)
		FX_FAIL(fx, "pc_umount: %d", err);
}

/* e2fsck -fn must report a clean filesystem (no-op for ramfs). */
static void fx_fsck(struct fixture *fx)
{
	int st;

	if (!fx->k->mkfs)
		return;
	st = tu_run("e2fsck -fn '%s' >'%s' 2>&1", fx->img, logpath);
	if (st != 0) {
		fprintf(stderr, "e2fsck -fn %s exit %d:\n", fx->img, st);
		tu_show_file(logpath);
		FX_FAIL(fx, "e2fsck -fn exit status %d", st);
	}
}

/* debugfs must dump exactly @want (no-op for ramfs). */
static void fx_dump_equals(struct fixture *fx, const char *path, const unsigned char *want,
			   size_t len)
{
	char out[4500];
	struct stat st;
	unsigned char *got;
	FILE *f;
	long d;

	if (!fx->k->mkfs)
		return;
	snprintf(out, sizeof(out), "%s/dump.out", tmpdir);
	unlink(out);
	if (tu_run("debugfs -R 'dump %s %s' '%s' >'%s' 2>&1", path, out, fx->img, logpath) != 0 ||
	    stat(out, &st) != 0) {
		tu_show_file(logpath);
		FX_FAIL(fx, "debugfs could not dump %s", path);
	}
	if ((size_t)st.st_size != len)
		FX_FAIL(fx, "%s: debugfs size %lld, expected %zu", path, (long long)st.st_size, len);
	got = malloc(len ? len : 1);
	assert_non_null(got);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len, f), len);
	fclose(f);
	d = first_diff(got, want, len);
	if (d >= 0) {
		dump_diff(got, want, len, (size_t)d);
		free(got);
		FX_FAIL(fx, "%s: byte %ld differs on disk (debugfs)", path, d);
	}
	free(got);
}

/* Alignment of @fd for direct I/O, checked for sanity. */
static void get_align(struct fixture *fx, int fd, unsigned *mem, unsigned *off)
{
	int err = pc_fdioalign(fd, mem, off);

	if (err)
		FX_FAIL(fx, "pc_fdioalign: %d", err);
	if (!is_pow2(*mem) || *mem > PAGE || !is_pow2(*off) || *off < 512 || *off > PAGE)
		FX_FAIL(fx, "pc_fdioalign: implausible mem_align %u offset_align %u", *mem, *off);
}

static int open_or_fail(struct fixture *fx, const char *path, int flags)
{
	int fd = pc_open(fx->m, path, flags, 0644);

	if (fd < 0)
		FX_FAIL(fx, "pc_open %s flags %#x: %d", path, flags, fd);
	return fd;
}

static off_t fsize(struct fixture *fx, int fd)
{
	struct stat st;
	int err = pc_fstat(fd, &st);

	if (err)
		FX_FAIL(fx, "pc_fstat: %d", err);
	return st.st_size;
}

/* Write all of @buf at @off with one call (a direct write is all or error). */
static void pwrite_full(struct fixture *fx, int fd, const void *buf, size_t len, off_t off,
			const char *what)
{
	ssize_t n = pc_pwrite(fd, buf, len, off);

	if (n != (ssize_t)len)
		FX_FAIL(fx, "%s pwrite off %lld len %zu returned %zd", what, (long long)off, len, n);
}

/*
 * Read [@off, @off+@len) into @buf (loops over short reads; for a direct
 * descriptor only while the short count stays aligned to @align). Returns
 * the bytes read (short only at EOF).
 */
static size_t pread_loop(struct fixture *fx, int fd, void *buf, size_t len, off_t off,
			 unsigned align, const char *what)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pc_pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0)
			FX_FAIL(fx, "%s pread off %lld len %zu: %zd", what, (long long)off + (long long)done,
				len - done, n);
		if (n == 0)
			break;
		done += (size_t)n;
		if (align && (size_t)n % align)
			break;	/* EOF inside a block */
	}
	return done;
}

/* The whole file must equal @want (@len bytes): its size, a buffered read
 * and (if @dfd >= 0) a direct read (aligned length, short at EOF). */
static void verify_both(struct fixture *fx, int bfd, int dfd, unsigned align,
			const unsigned char *want, size_t len, const char *when)
{
	size_t cap = round_up(len, PAGE) + PAGE;
	unsigned char *got = aligned_alloc_or_null(cap);
	size_t n;
	long d;

	assert_non_null(got);
	if ((size_t)fsize(fx, bfd) != len)
		FX_FAIL(fx, "%s: size %lld, expected %zu", when, (long long)fsize(fx, bfd), len);
	memset(got, 0xEE, cap);
	n = pread_loop(fx, bfd, got, cap, 0, 0, "buffered");
	if (n != len)
		FX_FAIL(fx, "%s: buffered read of the whole file gave %zu bytes, expected %zu", when,
			n, len);
	d = first_diff(got, want, len);
	if (d >= 0) {
		dump_diff(got, want, len, (size_t)d);
		FX_FAIL(fx, "%s: buffered read differs at byte %ld", when, d);
	}
	if (dfd >= 0) {
		memset(got, 0xEE, cap);
		n = pread_loop(fx, dfd, got, round_up(len, align) + align, 0, align, "direct");
		if (n != len)
			FX_FAIL(fx, "%s: direct read of the whole file gave %zu bytes, expected %zu",
				when, n, len);
		d = first_diff(got, want, len);
		if (d >= 0) {
			dump_diff(got, want, len, (size_t)d);
			FX_FAIL(fx, "%s: direct read differs at byte %ld", when, d);
		}
	}
	free(got);
}

/* ---- failures seen by worker threads ---- */

struct shared {
	_Atomic int stop;
	pthread_mutex_t lock;
	int failed;
	char msg[1024];
	bool has_bad;		/* a reader saw a bad word (test_no_stale) */
	uint64_t bad_off;	/* its file offset */
	uint64_t bad_origin;	/* the offset its stamp names (if it is one) */
};

static void shared_init(struct shared *sh)
{
	atomic_init(&sh->stop, 0);
	pthread_mutex_init(&sh->lock, NULL);
	sh->failed = 0;
	sh->msg[0] = 0;
}

static void sh_fail(struct shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sh_fail(struct shared *sh, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&sh->lock);
	if (!sh->failed) {
		sh->failed = 1;
		va_start(ap, fmt);
		vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
		va_end(ap);
		fprintf(stderr, "  worker failure: %s\n", sh->msg);
	}
	pthread_mutex_unlock(&sh->lock);
	atomic_store(&sh->stop, 1);
}

static bool sh_stopped(struct shared *sh, uint64_t deadline)
{
	return atomic_load_explicit(&sh->stop, memory_order_relaxed) || now_ns() >= deadline;
}

/* ------------------------------------------------------------------ */
/* stamps: every byte written in the stress phase names its offset     */
/* ------------------------------------------------------------------ */

#define TAG_DIRECT 0xD1
#define TAG_BUFFERED 0xB1

/* The 8-byte word at file offset @off (a multiple of 8): tag, writer id,
 * then off/8 in 48 bits little-endian. Never equal to STALE (tag). */
static void stamp_word(unsigned char *w, unsigned tag, unsigned id, uint64_t off)
{
	uint64_t q = off / 8;

	w[0] = (unsigned char)tag;
	w[1] = (unsigned char)id;
	for (int j = 0; j < 6; j++)
		w[2 + j] = (unsigned char)(q >> (8 * j));
}

static void stamp_fill(unsigned char *buf, size_t len, uint64_t off, unsigned tag, unsigned id)
{
	for (size_t i = 0; i < len; i += 8)
		stamp_word(buf + i, tag, id, off + i);
}

enum { WC_OK, WC_STALE, WC_BAD };

/*
 * Classify the word read at file offset @off (a multiple of 8). Valid:
 * every byte is zero or the byte a stamp for @off has there (tag, writer id
 * below 8, offset bytes). That admits whole stamps, zeros (holes, truncated
 * parts), a stamp cut by an unaligned truncate, and a word torn between a
 * hole's zeros and a stamp or between two writers' stamps by a buffered
 * read racing a buffered write (page copies are not atomic; Linux gives no
 * more). Stale disk contents and data from another offset are not valid.
 */
static int word_check(const unsigned char *w, uint64_t off)
{
	unsigned char e[8];

	if (!memcmp(w, STALE, 8))
		return WC_STALE;
	if (w[0] && w[0] != TAG_DIRECT && w[0] != TAG_BUFFERED)
		return WC_BAD;
	if (w[1] >= 8)
		return WC_BAD;
	stamp_word(e, w[0], w[1], off);
	for (int j = 2; j < 8; j++)
		if (w[j] && w[j] != e[j])
			return WC_BAD;
	return WC_OK;
}

/* Check every whole 8-byte word of @buf (@n bytes read at file offset
 * @off). Returns WC_OK or the first problem, with its file offset. */
static int scan_words(const unsigned char *buf, size_t n, uint64_t off, uint64_t *bad_off)
{
	size_t i = (size_t)(round_up(off, 8) - off);

	for (; i + 8 <= n; i += 8) {
		int r = word_check(buf + i, off + i);
		if (r != WC_OK) {
			*bad_off = off + i;
			return r;
		}
	}
	return WC_OK;
}

static void word_hex(char *out, const unsigned char *w)
{
	for (int j = 0; j < 8; j++)
		sprintf(out + 3 * j, "%02x ", w[j]);
}

/* Report a bad scan from a worker. */
static void report_scan(struct shared *sh, const char *who, int kind, const unsigned char *buf,
			uint64_t read_off, size_t read_len, ssize_t got, uint64_t bad_off)
{
	const unsigned char *w = buf + (bad_off - read_off);
	char hex[32];
	uint64_t q = 0;

	for (int j = 0; j < 6; j++)
		q |= (uint64_t)w[2 + j] << (8 * j);
	pthread_mutex_lock(&sh->lock);
	if (!sh->failed && !sh->has_bad) {
		sh->has_bad = true;
		sh->bad_off = bad_off;
		sh->bad_origin = w[0] == TAG_DIRECT || w[0] == TAG_BUFFERED ? q * 8 : bad_off;
	}
	pthread_mutex_unlock(&sh->lock);
	word_hex(hex, w);
	sh_fail(sh, "%s: %s at file offset %" PRIu64 " (read off %" PRIu64 " len %zu returned %zd): %s",
		who, kind == WC_STALE ? "STALE disk contents (unwritten block exposed)"
				     : "a word that no writer wrote there",
		bad_off, read_off, read_len, got, hex);
}

/* ------------------------------------------------------------------ */
/* 1. no stale data                                                   */
/* ------------------------------------------------------------------ */

enum role { R_DWRITE, R_BREAD, R_DREAD, R_BWRITE, R_TRUNC, R_NROLES };
static const char *const role_name[R_NROLES] = { "direct writer", "buffered reader",
						  "direct reader", "buffered writer", "truncater" };

/* What the writers and the truncater did (for failure reports). */
struct oplog {
	uint64_t t0, t1;	/* ns since the start: call and return */
	uint64_t off, len;	/* truncates: off = the new size, len 0 */
	int64_t ret;
	uint8_t role, id;
};
#define OPLOG_CAP (1u << 16)

struct stress {
	struct shared sh;
	struct oplog *log;	/* OPLOG_CAP entries, a ring */
	_Atomic unsigned long nlog;
	uint64_t t_start;
	struct pc_mount *m;
	const char *path;
	unsigned align;
	uint64_t range;		/* the file stays within [0, range) */
	uint64_t deadline;
	uint64_t seed;
	_Atomic unsigned long ops[R_NROLES];
	_Atomic unsigned long bytes_checked;
};

struct worker {
	struct stress *s;
	enum role role;
	int id;
	pthread_t th;
};

#define STRESS_MAX_IO (64 * KiB)

static void oplog_add(struct stress *s, enum role role, int id, uint64_t t0, uint64_t off,
		      uint64_t len, int64_t ret)
{
	unsigned long i = atomic_fetch_add(&s->nlog, 1) % OPLOG_CAP;

	s->log[i] = (struct oplog){ .t0 = t0 - s->t_start, .t1 = now_ns() - s->t_start, .off = off,
				    .len = len, .ret = ret, .role = (uint8_t)role, .id = (uint8_t)id };
}

/* After the threads are joined: print the writes that covered @off and the
 * truncates that cut at or below it, oldest first (the last 40). */
static void oplog_print(struct stress *s, uint64_t off, const char *what)
{
	unsigned long n = atomic_load(&s->nlog), first = n > OPLOG_CAP ? n - OPLOG_CAP : 0;
	unsigned long *hits = malloc(sizeof(*hits) * OPLOG_CAP), nh = 0;

	if (!hits)
		return;
	for (unsigned long i = first; i < n; i++) {
		const struct oplog *e = &s->log[i % OPLOG_CAP];
		bool covers = e->len && e->off <= off && off < e->off + e->len;
		bool cuts = !e->len && e->off <= off + 8;
		if (covers || cuts)
			hits[nh++] = i;
	}
	fprintf(stderr, "  history of file offset %" PRIu64 " (%s): %lu writes/truncates touched it%s\n",
		off, what, nh, nh > 40 ? ", the last 40:" : ":");
	for (unsigned long k = nh > 40 ? nh - 40 : 0; k < nh; k++) {
		const struct oplog *e = &s->log[hits[k] % OPLOG_CAP];
		if (e->len)
			fprintf(stderr, "    %9.3f-%9.3f ms  %s %u: write [%" PRIu64 ", %" PRIu64
				") returned %" PRId64 "\n", e->t0 / 1e6, e->t1 / 1e6, role_name[e->role],
				e->id, e->off, e->off + e->len, e->ret);
		else
			fprintf(stderr, "    %9.3f-%9.3f ms  %s %u: ftruncate to %" PRIu64
				" returned %" PRId64 "\n", e->t0 / 1e6, e->t1 / 1e6, role_name[e->role],
				e->id, e->off, e->ret);
	}
	free(hits);
}

static void *stress_thread(void *p)
{
	struct worker *w = p;
	struct stress *s = w->s;
	uint64_t seed = s->seed * 31 + (uint64_t)w->id * 0x1234567 + (uint64_t)w->role;
	bool direct = w->role == R_DWRITE || w->role == R_DREAD;
	unsigned char *buf = aligned_alloc_or_null(STRESS_MAX_IO + PAGE);
	const unsigned a = s->align;
	char who[64];
	int fd;

	snprintf(who, sizeof(who), "%s %d", role_name[w->role], w->id);
	if (!buf) {
		sh_fail(&s->sh, "%s: out of memory", who);
		return NULL;
	}
	fd = pc_open(s->m, s->path, O_RDWR | (direct ? O_DIRECT : 0), 0);
	if (fd < 0) {
		sh_fail(&s->sh, "%s: pc_open: %d", who, fd);
		free(buf);
		return NULL;
	}
	while (!sh_stopped(&s->sh, s->deadline)) {
		uint64_t off, bad = 0, t0;
		size_t len;
		ssize_t n;
		struct stat st;
		int r;

		switch (w->role) {
		case R_DWRITE:
			len = a * (1 + (size_t)rnd_below(&seed, STRESS_MAX_IO / a));
			if (w->id == 0 && rnd_below(&seed, 3) == 0) {
				/* extend: from the block holding EOF */
				if ((r = pc_fstat(fd, &st)) != 0) {
					sh_fail(&s->sh, "%s: pc_fstat: %d", who, r);
					break;
				}
				off = round_down((uint64_t)st.st_size, a);
			} else {
				off = round_down(rnd_below(&seed, s->range), a);
			}
			if (off + len > s->range)
				len = (size_t)(s->range - off);
			if (!len)
				break;
			stamp_fill(buf, len, off, TAG_DIRECT, (unsigned)w->id);
			t0 = now_ns();
			n = pc_pwrite(fd, buf, len, (off_t)off);
			oplog_add(s, w->role, w->id, t0, off, len, n);
			if (n != (ssize_t)len)
				sh_fail(&s->sh, "%s: pwrite off %" PRIu64 " len %zu returned %zd", who, off,
					len, n);
			break;
		case R_BWRITE:
			off = round_down(rnd_below(&seed, s->range), 8);
			len = 8 * (1 + (size_t)rnd_below(&seed, STRESS_MAX_IO / 8));
			if (off + len > s->range)
				len = (size_t)(s->range - off);
			if (!len)
				break;
			stamp_fill(buf, len, off, TAG_BUFFERED, (unsigned)w->id);
			t0 = now_ns();
			n = pc_pwrite(fd, buf, len, (off_t)off);
			oplog_add(s, w->role, w->id, t0, off, len, n);
			if (n != (ssize_t)len)
				sh_fail(&s->sh, "%s: pwrite off %" PRIu64 " len %zu returned %zd", who, off,
					len, n);
			break;
		case R_BREAD:
		case R_DREAD:
			if (w->role == R_DREAD) {
				off = round_down(rnd_below(&seed, s->range + PAGE), a);
				len = a * (1 + (size_t)rnd_below(&seed, STRESS_MAX_IO / a));
			} else {
				off = rnd_below(&seed, s->range + PAGE);
				len = 1 + (size_t)rnd_below(&seed, STRESS_MAX_IO);
			}
			memset(buf, 0xEE, len);
			n = pc_pread(fd, buf, len, (off_t)off);
			if (n < 0 || (size_t)n > len) {
				sh_fail(&s->sh, "%s: pread off %" PRIu64 " len %zu returned %zd", who, off,
					len, n);
				break;
			}
			r = scan_words(buf, (size_t)n, off, &bad);
			if (r != WC_OK)
				report_scan(&s->sh, who, r, buf, off, len, n, bad);
			atomic_fetch_add(&s->bytes_checked, (unsigned long)n);
			break;
		case R_TRUNC:
			off = rnd_below(&seed, s->range);
			t0 = now_ns();
			r = pc_ftruncate(fd, (off_t)off);
			oplog_add(s, w->role, w->id, t0, off, 0, r);
			if (r != 0) {
				sh_fail(&s->sh, "%s: ftruncate down to %" PRIu64 ": %d", who, off, r);
				break;
			}
			sleep_us(2000);
			if (rnd_below(&seed, 2)) {
				uint64_t up = off + rnd_below(&seed, s->range - off);
				t0 = now_ns();
				r = pc_ftruncate(fd, (off_t)up);
				oplog_add(s, w->role, w->id, t0, up, 0, r);
				if (r != 0) {
					sh_fail(&s->sh, "%s: ftruncate up to %" PRIu64 ": %d", who, up, r);
					break;
				}
			}
			sleep_us(8000);
			break;
		default:
			break;
		}
		atomic_fetch_add(&s->ops[w->role], 1);
	}
	pc_close(fd);
	free(buf);
	return NULL;
}

/* Read the whole file buffered and direct: same bytes, every word valid. */
static void stale_scan_file(struct fixture *fx, struct stress *s, int bfd, int dfd, unsigned a,
			    const char *when)
{
	size_t len = (size_t)fsize(fx, bfd), cap = round_up(len, PAGE) + 2 * PAGE;
	unsigned char *b1 = aligned_alloc_or_null(cap), *b2 = aligned_alloc_or_null(cap);
	uint64_t bad = 0;
	char hex[32];
	size_t n1, n2;
	long d;
	int r;

	assert_non_null(b1);
	assert_non_null(b2);
	n1 = pread_loop(fx, bfd, b1, cap, 0, 0, "buffered");
	n2 = pread_loop(fx, dfd, b2, round_up(len, a) + a, 0, a, "direct");
	if (n1 != len || n2 != len)
		FX_FAIL(fx, "%s: size %zu, buffered read %zu, direct read %zu bytes", when, len, n1, n2);
	r = scan_words(b1, n1, 0, &bad);
	if (r != WC_OK) {
		oplog_print(s, bad, "the bad word");
		word_hex(hex, b1 + bad);
		FX_FAIL(fx, "%s: buffered read of the whole file: %s at %" PRIu64 ": %s", when,
			r == WC_STALE ? "STALE pattern" : "invalid word", bad, hex);
	}
	r = scan_words(b2, n2, 0, &bad);
	if (r != WC_OK) {
		oplog_print(s, bad, "the bad word");
		word_hex(hex, b2 + bad);
		FX_FAIL(fx, "%s: direct read of the whole file: %s at %" PRIu64 ": %s", when,
			r == WC_STALE ? "STALE pattern" : "invalid word", bad, hex);
	}
	d = first_diff(b1, b2, len);
	if (d >= 0) {
		size_t end = (size_t)d, ndiff = 0;
		unsigned char *b3 = aligned_alloc_or_null(cap);
		const char *after;

		for (size_t i = (size_t)d; i < len; i++)
			if (b1[i] != b2[i]) {
				ndiff++;
				end = i + 1;
			}
		dump_diff(b2, b1, len, (size_t)d);
		oplog_print(s, (uint64_t)d, "the first difference");
		/* Tell a dirty page the direct read did not write back from a
		 * cache and disk that disagree for good: fsync, read again. */
		assert_non_null(b3);
		assert_int_equal(pc_fsync(bfd), 0);
		pread_loop(fx, dfd, b3, round_up(len, a) + a, 0, a, "direct");
		after = !memcmp(b3, b1, len) ? "after fsync the direct read agrees with the cache "
					      "(a dirty page was not written back before the direct read)"
					    : !memcmp(b3, b2, len) ? "after fsync the disk still differs "
					      "from the cache (clean page not matching the disk)"
					    : "after fsync the direct read gives yet other data";
		FX_FAIL(fx, "%s: direct read (got) and buffered read (want) differ first at byte %ld, "
			"%zu bytes differ in [%ld, %zu) of a %zu-byte file; %s", when, d, ndiff, d,
			end, len, after);
	}
	free(b1);
	free(b2);
}

static void test_no_stale(void **state)
{
	struct fixture *fx = *state;
	static const struct { enum role role; int id; } plan[] = {
		{ R_DWRITE, 0 }, { R_DWRITE, 1 }, { R_BREAD, 2 }, { R_BREAD, 3 },
		{ R_DREAD, 4 },  { R_BWRITE, 5 }, { R_TRUNC, 6 },
	};
	enum { NT = sizeof(plan) / sizeof(plan[0]) };
	const uint64_t range = 12 * MiB;
	struct stress *s = calloc(1, sizeof(*s));
	struct worker w[NT];
	unsigned char *shadow, *chunk;
	uint64_t seed, pos;
	unsigned mem, a;
	size_t final;
	int bfd, dfd, started = 0;

	assert_non_null(s);
	fx_seed(fx, "no_stale");
	make_image(fx, true);
	fx_mount(fx, 8 * MiB);	/* smaller than the file: eviction and writeback too */
	bfd = open_or_fail(fx, "/f", O_CREAT | O_RDWR);
	dfd = open_or_fail(fx, "/f", O_RDWR | O_DIRECT);
	get_align(fx, dfd, &mem, &a);
	fprintf(stderr, "  %s: direct I/O alignment: memory %u, offset %u\n", fx->k->name, mem, a);

	shared_init(&s->sh);
	s->log = calloc(OPLOG_CAP, sizeof(*s->log));
	assert_non_null(s->log);
	s->t_start = now_ns();
	s->m = fx->m;
	s->path = "/f";
	s->align = a;
	s->range = range;
	s->seed = fx->seed;
	s->deadline = now_ns() + (uint64_t)stress_ms * 1000000ull;
	for (int i = 0; i < NT; i++) {
		if (!(stress_roles & (1u << plan[i].role)))
			continue;
		w[started] = (struct worker){ .s = s, .role = plan[i].role, .id = plan[i].id };
		if (pthread_create(&w[started].th, NULL, stress_thread, &w[started]) != 0) {
			sh_fail(&s->sh, "pthread_create failed");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	fprintf(stderr, "  ops: %lu direct writes, %lu buffered reads, %lu direct reads, "
		"%lu buffered writes, %lu truncates; %lu bytes checked\n",
		atomic_load(&s->ops[R_DWRITE]), atomic_load(&s->ops[R_BREAD]),
		atomic_load(&s->ops[R_DREAD]), atomic_load(&s->ops[R_BWRITE]),
		atomic_load(&s->ops[R_TRUNC]), atomic_load(&s->bytes_checked));
	if (s->sh.failed) {
		if (s->sh.has_bad) {
			oplog_print(s, s->sh.bad_off, "where the bad word was read");
			if (s->sh.bad_origin != s->sh.bad_off)
				oplog_print(s, s->sh.bad_origin, "the offset its stamp names");
		}
		FX_FAIL(fx, "%s", s->sh.msg);
	}
	for (int r = 0; r < R_NROLES; r++)
		if ((stress_roles & (1u << r)) && atomic_load(&s->ops[r]) == 0)
			FX_FAIL(fx, "the %s made no progress in %u ms", role_name[r], stress_ms);

	/* Quiescent: the whole file, both ways, then after fsync. */
	stale_scan_file(fx, s, bfd, dfd, a, "after the stress");
	assert_int_equal(pc_fsync(bfd), 0);
	stale_scan_file(fx, s, bfd, dfd, a, "after fsync");
	free(s->log);
	s->log = NULL;

	/* Deterministic model phase: empty the file, then write known data,
	 * leaving holes, alternating direct and (unaligned) buffered writes. */
	shadow = calloc(1, range);
	chunk = aligned_alloc_or_null(256 * KiB + PAGE);
	assert_non_null(shadow);
	assert_non_null(chunk);
	assert_int_equal(pc_ftruncate(bfd, 0), 0);
	seed = fx->seed + 7;
	for (pos = 0; pos < range;) {
		uint64_t len = a * (1 + rnd_below(&seed, 256 * KiB / a)), op = rnd_below(&seed, 5);
		if (pos + len > range)
			len = range - pos;
		if (op == 0) {
			/* hole */
		} else if (op <= 2) {
			fill(chunk, (unsigned)pos, pos, len);
			pwrite_full(fx, dfd, chunk, len, (off_t)pos, "model direct");
			memcpy(shadow + pos, chunk, len);
		} else {
			uint64_t lo = pos + rnd_below(&seed, len / 2);
			uint64_t hi = pos + len - rnd_below(&seed, len / 2);
			fill(chunk, (unsigned)pos + 1, lo, hi - lo);
			pwrite_full(fx, bfd, chunk, hi - lo, (off_t)lo, "model buffered");
			memcpy(shadow + lo, chunk, hi - lo);
		}
		pos += len;
	}
	final = range - 777;	/* unaligned size: the EOF block's tail */
	assert_int_equal(pc_ftruncate(bfd, (off_t)final), 0);
	verify_both(fx, bfd, dfd, a, shadow, final, "model phase");
	/* Overwrite a few ranges directly over pages the verify cached. */
	for (int i = 0; i < 16; i++) {
		uint64_t off = round_down(rnd_below(&seed, final - 64 * KiB), a);
		size_t len = a * (1 + (size_t)rnd_below(&seed, 64 * KiB / a));
		fill(chunk, 1000u + (unsigned)i, off, len);
		pwrite_full(fx, dfd, chunk, len, (off_t)off, "model overwrite");
		memcpy(shadow + off, chunk, len);
	}
	verify_both(fx, bfd, dfd, a, shadow, final, "model overwrite");
	assert_int_equal(pc_fsync(dfd), 0);
	assert_int_equal(pc_close(dfd), 0);
	assert_int_equal(pc_close(bfd), 0);
	fx_umount(fx);
	fx_fsck(fx);
	fx_dump_equals(fx, "/f", shadow, final);
	free(shadow);
	free(chunk);
	pthread_mutex_destroy(&s->sh.lock);
	free(s);
}

/* ------------------------------------------------------------------ */
/* 2. coherence, single thread                                        */
/* ------------------------------------------------------------------ */

#define COH_FILE (1 * MiB)

/* A fresh mount with "/c" of COH_FILE known bytes (fsynced), the shadow in
 * *@shadow, descriptors *@bfd (buffered) and *@dfd (direct). */
static void coh_setup(struct fixture *fx, const char *test, unsigned char **shadow, int *bfd,
		      int *dfd, unsigned *align)
{
	unsigned mem;

	fx_seed(fx, test);
	make_image(fx, false);
	fx_mount(fx, 48 * MiB);	/* big enough that cached pages stay cached */
	*shadow = malloc(COH_FILE);
	assert_non_null(*shadow);
	fill(*shadow, 1, 0, COH_FILE);
	*bfd = open_or_fail(fx, "/c", O_CREAT | O_RDWR);
	pwrite_full(fx, *bfd, *shadow, COH_FILE, 0, "initial");
	assert_int_equal(pc_fsync(*bfd), 0);
	*dfd = open_or_fail(fx, "/c", O_RDWR | O_DIRECT);
	get_align(fx, *dfd, &mem, align);
	if (mem > *align)
		FX_FAIL(fx, "memory alignment %u above offset alignment %u", mem, *align);
}

static void coh_finish(struct fixture *fx, unsigned char *shadow, int bfd, int dfd,
		       unsigned align, size_t size)
{
	verify_both(fx, bfd, dfd, align, shadow, size, "final");
	assert_int_equal(pc_close(dfd), 0);
	assert_int_equal(pc_close(bfd), 0);
	fx_umount(fx);
	fx_fsck(fx);
	fx_dump_equals(fx, "/c", shadow, size);
	free(shadow);
}

/* Buffered read of [@off, @off+@len) must equal @shadow there. */
static void check_range(struct fixture *fx, int fd, unsigned align, const unsigned char *shadow,
			uint64_t off, size_t len, const char *what, int iter)
{
	unsigned char *got = aligned_alloc_or_null(len + PAGE);
	size_t n;
	long d;

	assert_non_null(got);
	memset(got, 0xEE, len);
	n = pread_loop(fx, fd, got, len, (off_t)off, align, what);
	if (n != len)
		FX_FAIL(fx, "iteration %d: %s of [%" PRIu64 ", +%zu) returned %zu bytes", iter, what,
			off, len, n);
	d = first_diff(got, shadow + off, len);
	if (d >= 0) {
		dump_diff(got, shadow + off, len, (size_t)d);
		FX_FAIL(fx, "iteration %d: %s of [%" PRIu64 ", +%zu): file byte %" PRIu64
			" is stale (see dump)", iter, what, off, len, off + (uint64_t)d);
	}
	free(got);
}

/* A random aligned range inside the file: sub-page when the alignment
 * allows, up to 4 pages. */
static void rand_aligned(uint64_t *seed, unsigned a, uint64_t *off, size_t *len)
{
	*len = a * (1 + (size_t)rnd_below(seed, 4 * PAGE / a));
	*off = round_down(rnd_below(seed, COH_FILE - *len + 1), a);
}

/* (a) A page cached by a buffered read, then changed by a direct write:
 * every later buffered read returns the new data. */
static void test_cached_then_direct(void **state)
{
	struct fixture *fx = *state;
	unsigned char *shadow, *buf = aligned_alloc_or_null(4 * PAGE);
	uint64_t seed, off;
	unsigned a;
	size_t len;
	int bfd, dfd;

	assert_non_null(buf);
	coh_setup(fx, "cached_then_direct", &shadow, &bfd, &dfd, &a);
	seed = fx->seed;
	for (int i = 0; i < 400; i++) {
		uint64_t lo, hi;

		rand_aligned(&seed, a, &off, &len);
		/* Cache the pages around the range (and check them). */
		lo = off >= PAGE ? round_down(off, PAGE) - PAGE : 0;
		hi = round_up(off + len, PAGE) + PAGE;
		if (hi > COH_FILE)
			hi = COH_FILE;
		check_range(fx, bfd, 0, shadow, lo, (size_t)(hi - lo), "buffered read (before)", i);
		fill(buf, 100u + (unsigned)i, off, len);
		pwrite_full(fx, dfd, buf, len, (off_t)off, "direct");
		memcpy(shadow + off, buf, len);
		check_range(fx, bfd, 0, shadow, lo, (size_t)(hi - lo), "buffered read (after)", i);
		check_range(fx, bfd, 0, shadow, off, len, "buffered read of the range", i);
		if (i % 8 == 0)
			check_range(fx, dfd, a, shadow, round_down(lo, a), (size_t)(hi - round_down(lo, a)),
				    "direct read", i);
	}
	free(buf);
	coh_finish(fx, shadow, bfd, dfd, a, COH_FILE);
}

/* (b)/(c) A buffered write (then fsync if @sync), then a direct read of the
 * aligned range around it returns it. */
static void buffered_then_direct(void **state, bool sync)
{
	struct fixture *fx = *state;
	unsigned char *shadow, *buf = malloc(20000);
	uint64_t seed;
	unsigned a;
	int bfd, dfd;

	assert_non_null(buf);
	coh_setup(fx, sync ? "buffered_fsync_then_direct" : "buffered_dirty_then_direct", &shadow,
		  &bfd, &dfd, &a);
	seed = fx->seed;
	for (int i = 0; i < 300; i++) {
		size_t len = 1 + (size_t)rnd_below(&seed, 20000);
		uint64_t off = rnd_below(&seed, COH_FILE - len + 1), lo, hi;

		fill(buf, 200u + (unsigned)i, off, len);
		pwrite_full(fx, bfd, buf, len, (off_t)off, "buffered");
		memcpy(shadow + off, buf, len);
		if (sync)
			assert_int_equal(pc_fsync(bfd), 0);
		lo = round_down(off, a);
		hi = round_up(off + len, a);
		check_range(fx, dfd, a, shadow, lo, (size_t)(hi - lo), "direct read", i);
		/* and a cached read still agrees */
		if (i % 16 == 0)
			check_range(fx, bfd, 0, shadow, lo, (size_t)(hi - lo), "buffered read", i);
	}
	free(buf);
	coh_finish(fx, shadow, bfd, dfd, a, COH_FILE);
}

static void test_buffered_fsync_then_direct(void **state) { buffered_then_direct(state, true); }
static void test_buffered_dirty_then_direct(void **state) { buffered_then_direct(state, false); }

/* Random mix of every operation against a shadow copy, ending with the
 * image checked by e2fsck and debugfs. */
static void test_coherence_mix(void **state)
{
	struct fixture *fx = *state;
	unsigned char *shadow, *buf = aligned_alloc_or_null(64 * KiB + PAGE);
	uint64_t seed;
	size_t size = COH_FILE;
	unsigned a;
	int bfd, dfd;

	assert_non_null(buf);
	coh_setup(fx, "coherence_mix", &shadow, &bfd, &dfd, &a);
	seed = fx->seed;
	for (int i = 0; i < 600; i++) {
		uint64_t op = rnd_below(&seed, 100), off;
		size_t len;
		ssize_t n;

		if (op < 30) {		/* direct write, maybe extending */
			len = a * (1 + (size_t)rnd_below(&seed, 64 * KiB / a));
			off = round_down(rnd_below(&seed, COH_FILE - len + 1), a);
			fill(buf, 300u + (unsigned)i, off, len);
			pwrite_full(fx, dfd, buf, len, (off_t)off, "direct");
			memcpy(shadow + off, buf, len);
			if (off > size)	/* the gap was a hole */
				memset(shadow + size, 0, (size_t)(off - size));
			if (off + len > size)
				size = (size_t)(off + len);
		} else if (op < 55) {	/* buffered write */
			len = 1 + (size_t)rnd_below(&seed, 64 * KiB);
			off = rnd_below(&seed, COH_FILE - len + 1);
			fill(buf, 300u + (unsigned)i, off, len);
			pwrite_full(fx, bfd, buf, len, (off_t)off, "buffered");
			if (off > size)
				memset(shadow + size, 0, (size_t)(off - size));
			memcpy(shadow + off, buf, len);
			if (off + len > size)
				size = (size_t)(off + len);
		} else if (op < 70) {	/* buffered read */
			len = 1 + (size_t)rnd_below(&seed, 64 * KiB);
			off = rnd_below(&seed, size + 1);
			if (off + len > size)
				len = size - off;
			if (len)
				check_range(fx, bfd, 0, shadow, off, len, "buffered read", i);
		} else if (op < 85) {	/* direct read, maybe across EOF */
			len = a * (1 + (size_t)rnd_below(&seed, 64 * KiB / a));
			off = round_down(rnd_below(&seed, size + a), a);
			memset(buf, 0xEE, len);
			n = pc_pread(dfd, buf, len, (off_t)off);
			{
				size_t want = off >= size ? 0 : (size_t)(size - off) < len ?
								 (size_t)(size - off) : len;
				long d;
				if (n != (ssize_t)want)
					FX_FAIL(fx, "iteration %d: direct read [%" PRIu64 ", +%zu) of a %zu-byte "
						"file returned %zd, expected %zu", i, off, len, size, n, want);
				d = first_diff(buf, shadow + off, want);
				if (d >= 0) {
					dump_diff(buf, shadow + off, want, (size_t)d);
					FX_FAIL(fx, "iteration %d: direct read: file byte %" PRIu64 " differs",
						i, off + (uint64_t)d);
				}
			}
		} else if (op < 92) {	/* truncate (unaligned, down or up) */
			size_t ns = (size_t)rnd_below(&seed, COH_FILE);
			assert_int_equal(pc_ftruncate(bfd, (off_t)ns), 0);
			if (ns > size)
				memset(shadow + size, 0, ns - size);
			size = ns;
		} else if (op < 96) {
			assert_int_equal(pc_fsync(rnd_below(&seed, 2) ? bfd : dfd), 0);
		} else {
			if ((size_t)fsize(fx, dfd) != size)
				FX_FAIL(fx, "iteration %d: size %lld, expected %zu", i,
					(long long)fsize(fx, dfd), size);
		}
	}
	free(buf);
	coh_finish(fx, shadow, bfd, dfd, a, size);
}

/* ------------------------------------------------------------------ */
/* 2'. generations: readers never go back in time                     */
/* ------------------------------------------------------------------ */

#define GEN_RANGE (64 * KiB)
#define GEN_WORDS (GEN_RANGE / 8)

struct gen_ctx {
	struct shared sh;
	struct pc_mount *m;
	unsigned align;
	uint64_t deadline;
	uint64_t seed;
	_Atomic uint32_t started;	/* the writer began generation started */
	_Atomic uint32_t completed;	/* pc_pwrite of generation completed returned */
	_Atomic unsigned long reads;
};

struct gen_reader {
	struct gen_ctx *c;
	int id;
	bool direct;
	pthread_t th;
};

static uint64_t gen_word(uint32_t gen, uint32_t idx)
{
	return ((uint64_t)(idx ^ 0x5A5A5A5Au) << 32) | gen;
}

static void gen_fill(unsigned char *buf, uint32_t gen)
{
	for (uint32_t i = 0; i < GEN_WORDS; i++) {
		uint64_t v = gen_word(gen, i);
		memcpy(buf + 8 * (size_t)i, &v, 8);
	}
}

static void *gen_writer(void *p)
{
	struct gen_ctx *c = p;
	unsigned char *buf = aligned_alloc_or_null(GEN_RANGE);
	uint32_t g = 0;
	int fd;

	if (!buf) {
		sh_fail(&c->sh, "writer: out of memory");
		return NULL;
	}
	fd = pc_open(c->m, "/g", O_RDWR | O_DIRECT, 0);
	if (fd < 0) {
		sh_fail(&c->sh, "writer: pc_open: %d", fd);
		free(buf);
		return NULL;
	}
	while (!sh_stopped(&c->sh, c->deadline)) {
		ssize_t n;

		g++;
		gen_fill(buf, g);
		atomic_store(&c->started, g);
		n = pc_pwrite(fd, buf, GEN_RANGE, 0);
		if (n != GEN_RANGE) {
			sh_fail(&c->sh, "writer: generation %u: pwrite returned %zd", g, n);
			break;
		}
		atomic_store(&c->completed, g);
	}
	pc_close(fd);
	free(buf);
	return NULL;
}

static void *gen_reader_thread(void *p)
{
	struct gen_reader *r = p;
	struct gen_ctx *c = r->c;
	uint64_t seed = c->seed * 17 + (uint64_t)r->id;
	unsigned char *buf = aligned_alloc_or_null(GEN_RANGE);
	uint32_t *seen = calloc(GEN_WORDS, sizeof(*seen));
	const char *kind = r->direct ? "direct" : "buffered";
	int fd;

	if (!buf || !seen) {
		sh_fail(&c->sh, "reader %d: out of memory", r->id);
		free(buf);
		free(seen);
		return NULL;
	}
	fd = pc_open(c->m, "/g", O_RDONLY | (r->direct ? O_DIRECT : 0), 0);
	if (fd < 0) {
		sh_fail(&c->sh, "reader %d: pc_open: %d", r->id, fd);
		free(buf);
		free(seen);
		return NULL;
	}
	while (!sh_stopped(&c->sh, c->deadline)) {
		uint64_t off, len;
		uint32_t g0, g1;
		ssize_t n;

		if (r->direct) {
			len = c->align * (1 + rnd_below(&seed, GEN_RANGE / c->align));
			off = round_down(rnd_below(&seed, GEN_RANGE - len + 1), c->align);
		} else if (rnd_below(&seed, 4) == 0) {
			off = 0;
			len = GEN_RANGE;
		} else {	/* sub-page pieces too (8-byte words) */
			len = 8 * (1 + rnd_below(&seed, GEN_WORDS));
			off = round_down(rnd_below(&seed, GEN_RANGE - len + 1), 8);
		}
		g0 = atomic_load(&c->completed);
		n = pc_pread(fd, buf, (size_t)len, (off_t)off);
		g1 = atomic_load(&c->started);
		if (n != (ssize_t)len) {
			sh_fail(&c->sh, "%s reader %d: pread off %" PRIu64 " len %" PRIu64 " returned %zd",
				kind, r->id, off, len, n);
			break;
		}
		for (uint64_t i = 0; i < len; i += 8) {
			uint32_t idx = (uint32_t)((off + i) / 8), gen;
			uint64_t v;

			memcpy(&v, buf + i, 8);
			gen = (uint32_t)v;
			if (v != gen_word(gen, idx)) {
				sh_fail(&c->sh, "%s reader %d: word at file offset %" PRIu64
					" is %016" PRIx64 ", not a stamp of that offset", kind, r->id,
					off + i, v);
				break;
			}
			if (gen < g0) {
				sh_fail(&c->sh, "%s reader %d: file offset %" PRIu64 " shows generation %u "
					"but generation %u had completed before the read began "
					"(read off %" PRIu64 " len %" PRIu64 ")", kind, r->id, off + i, gen,
					g0, off, len);
				break;
			}
			if (gen > g1) {
				sh_fail(&c->sh, "%s reader %d: file offset %" PRIu64 " shows generation %u, "
					"never started (newest started %u)", kind, r->id, off + i, gen, g1);
				break;
			}
			if (gen < seen[idx]) {
				sh_fail(&c->sh, "%s reader %d: file offset %" PRIu64 " went back from "
					"generation %u to %u (completed before this read: %u)", kind, r->id,
					off + i, seen[idx], gen, g0);
				break;
			}
			seen[idx] = gen;
		}
		atomic_fetch_add(&c->reads, 1);
	}
	pc_close(fd);
	free(buf);
	free(seen);
	return NULL;
}

static void test_generations(void **state)
{
	struct fixture *fx = *state;
	enum { NR = 3 };
	struct gen_ctx *c = calloc(1, sizeof(*c));
	struct gen_reader rd[NR];
	unsigned char *buf = aligned_alloc_or_null(GEN_RANGE);
	pthread_t wth;
	unsigned mem;
	int bfd, dfd, started = 0;
	bool writer = false;

	assert_non_null(c);
	assert_non_null(buf);
	fx_seed(fx, "generations");
	make_image(fx, false);
	fx_mount(fx, 32 * MiB);
	bfd = open_or_fail(fx, "/g", O_CREAT | O_RDWR);
	gen_fill(buf, 0);
	pwrite_full(fx, bfd, buf, GEN_RANGE, 0, "generation 0");
	assert_int_equal(pc_fsync(bfd), 0);
	dfd = open_or_fail(fx, "/g", O_RDWR | O_DIRECT);

	shared_init(&c->sh);
	c->m = fx->m;
	get_align(fx, dfd, &mem, &c->align);
	c->seed = fx->seed;
	c->deadline = now_ns() + (uint64_t)stress_ms * 1000000ull;
	for (int i = 0; i < NR; i++) {
		rd[i] = (struct gen_reader){ .c = c, .id = i, .direct = i == NR - 1 };
		if (pthread_create(&rd[i].th, NULL, gen_reader_thread, &rd[i]) != 0) {
			sh_fail(&c->sh, "pthread_create failed");
			break;
		}
		started++;
	}
	if (!c->sh.failed) {
		if (pthread_create(&wth, NULL, gen_writer, c) == 0)
			writer = true;
		else
			sh_fail(&c->sh, "pthread_create failed");
	}
	if (writer)
		pthread_join(wth, NULL);
	for (int i = 0; i < started; i++)
		pthread_join(rd[i].th, NULL);
	fprintf(stderr, "  %u generations written, %lu reads checked\n", atomic_load(&c->completed),
		atomic_load(&c->reads));
	if (c->sh.failed)
		FX_FAIL(fx, "%s", c->sh.msg);
	if (atomic_load(&c->completed) < 2 || atomic_load(&c->reads) < 10)
		FX_FAIL(fx, "too little progress: %u generations, %lu reads",
			atomic_load(&c->completed), atomic_load(&c->reads));
	/* Quiescent: the last generation, both ways and on disk. */
	gen_fill(buf, atomic_load(&c->completed));
	verify_both(fx, bfd, dfd, c->align, buf, GEN_RANGE, "after the generations");
	assert_int_equal(pc_close(dfd), 0);
	assert_int_equal(pc_close(bfd), 0);
	fx_umount(fx);
	fx_fsck(fx);
	fx_dump_equals(fx, "/g", buf, GEN_RANGE);
	free(buf);
	pthread_mutex_destroy(&c->sh.lock);
	free(c);
}

/* ------------------------------------------------------------------ */
/* 3. the rules                                                       */
/* ------------------------------------------------------------------ */

static void test_rules(void **state)
{
	struct fixture *fx = *state;
	const size_t fsz = 64 * KiB;
	unsigned char *shadow = calloc(1, 4 * MiB);
	unsigned char *buf = aligned_alloc_or_null(256 * KiB + 2 * PAGE);
	unsigned mem = 99, a = 99;
	struct iovec iov[2];
	size_t size;
	ssize_t n;
	int bfd, dfd, dir;
	long d;

	assert_non_null(shadow);
	assert_non_null(buf);
	fx_seed(fx, "rules");
	make_image(fx, false);
	fx_mount(fx, 32 * MiB);

	/* O_DIRECT open and pc_fdioalign. */
	fill(shadow, 7, 0, fsz);
	bfd = open_or_fail(fx, "/r", O_CREAT | O_RDWR);
	pwrite_full(fx, bfd, shadow, fsz, 0, "initial");
	assert_int_equal(pc_fsync(bfd), 0);	/* blocks and block map on disk */
	dfd = open_or_fail(fx, "/r", O_RDWR | O_DIRECT);
	get_align(fx, dfd, &mem, &a);
	fprintf(stderr, "  %s: direct I/O alignment: memory %u, offset %u\n", fx->k->name, mem, a);
	if (!fx->k->mkfs && (mem != 512 || a != 512))
		FX_FAIL(fx, "ramfs: pc_fdioalign gave memory %u offset %u, documented 512/512", mem, a);
	{
		unsigned m2 = 0, a2 = 0;
		assert_int_equal(pc_fdioalign(bfd, &m2, &a2), 0);	/* a buffered fd too */
		assert_int_equal(m2, mem);
		assert_int_equal(a2, a);
	}
	assert_int_equal(pc_fdioalign(dfd, NULL, &a), -EFAULT);
	assert_int_equal(pc_fdioalign(dfd, &mem, NULL), -EFAULT);
	assert_int_equal(pc_fdioalign(12345, &mem, &a), -EBADF);
	assert_int_equal(pc_mkdir(fx->m, "/d", 0755), 0);
	dir = open_or_fail(fx, "/d", O_RDONLY | O_DIRECTORY);
	{
		unsigned m2 = 77, a2 = 77;
		assert_int_equal(pc_fdioalign(dir, &m2, &a2), -EINVAL);
		assert_int_equal(m2, 0);
		assert_int_equal(a2, 0);
	}
	assert_int_equal(pc_close(dir), 0);

	/* Unaligned offset, length, buffer, iovec: -EINVAL, nothing changes. */
	fill(buf, 9, 0, 2 * a + 1);
	assert_int_equal(pc_pwrite(dfd, buf, a, (off_t)a + 1), -EINVAL);
	assert_int_equal(pc_pwrite(dfd, buf, a + 1, (off_t)a), -EINVAL);
	assert_int_equal(pc_pwrite(dfd, buf, a - 1, 0), -EINVAL);
	if (mem > 1)
		assert_int_equal(pc_pwrite(dfd, buf + mem / 2, a, 0), -EINVAL);
	assert_int_equal(pc_pwrite(dfd, buf, a, (off_t)fsz - 1), -EINVAL);	/* unaligned, extending */
	iov[0] = (struct iovec){ buf, a };
	iov[1] = (struct iovec){ buf + PAGE, a / 2 };
	assert_int_equal(pc_pwritev(dfd, iov, 2, 0), -EINVAL);
	if (mem > 1) {
		iov[1] = (struct iovec){ buf + PAGE + mem / 2, a };
		assert_int_equal(pc_pwritev(dfd, iov, 2, 0), -EINVAL);
	}
	assert_int_equal((size_t)fsize(fx, dfd), fsz);
	verify_both(fx, bfd, -1, a, shadow, fsz, "after refused direct writes");
	memset(buf, 0xEE, 2 * a + PAGE);
	assert_int_equal(pc_pread(dfd, buf, a, 1), -EINVAL);
	assert_int_equal(pc_pread(dfd, buf, a + 1, 0), -EINVAL);
	if (mem > 1)
		assert_int_equal(pc_pread(dfd, buf + mem / 2, a, 0), -EINVAL);
	iov[0] = (struct iovec){ buf, a };
	iov[1] = (struct iovec){ buf + PAGE, a - 8 };
	assert_int_equal(pc_preadv(dfd, iov, 2, 0), -EINVAL);
	for (size_t i = 0; i < 2 * a + PAGE; i++)
		if (buf[i] != 0xEE)
			FX_FAIL(fx, "a refused direct read changed buffer byte %zu", i);

	/* Aligned I/O, one call and with iovecs, coherent with the cache. */
	fill(buf, 11, 0, 3 * a);
	assert_int_equal(pc_pwrite(dfd, buf, 3 * a, (off_t)a), (ssize_t)(3 * a));
	memcpy(shadow + a, buf, 3 * a);
	fill(buf, 12, 0, a);
	fill(buf + PAGE, 12, a, a);
	iov[0] = (struct iovec){ buf, a };
	iov[1] = (struct iovec){ buf + PAGE, a };	/* separate pages: any mem_align */
	assert_int_equal(pc_pwritev(dfd, iov, 2, (off_t)(8 * a)), (ssize_t)(2 * a));
	memcpy(shadow + 8 * a, buf, a);
	memcpy(shadow + 9 * a, buf + PAGE, a);
	/* "When a direct write returns, its data has reached the device": the
	 * blocks were allocated and fsynced before, so debugfs reading the
	 * image while it is still mounted must see the overwrites already
	 * (checked before any direct read, which would write back first). */
	fx_dump_equals(fx, "/r", shadow, fsz);
	verify_both(fx, bfd, dfd, a, shadow, fsz, "after aligned direct writes");
	memset(buf, 0, PAGE + a);
	assert_int_equal(pc_preadv(dfd, iov, 2, (off_t)a), (ssize_t)(2 * a));
	assert_memory_equal(buf, shadow + a, a);
	assert_memory_equal(buf + PAGE, shadow + 2 * a, a);
	assert_int_equal(pc_pwrite(dfd, buf, 0, 0), 0);
	assert_int_equal(pc_pread(dfd, buf, 0, 0), 0);

	/* Direct write extending the file (past a hole): size, hole zeros. */
	fill(buf, 13, 0, 2 * a);
	pwrite_full(fx, dfd, buf, 2 * a, (off_t)(fsz + 64 * KiB), "extending");
	memcpy(shadow + fsz + 64 * KiB, buf, 2 * a);
	size = fsz + 64 * KiB + 2 * a;
	if ((size_t)fsize(fx, bfd) != size)
		FX_FAIL(fx, "after an extending direct write the size is %lld, expected %zu",
			(long long)fsize(fx, bfd), size);
	verify_both(fx, bfd, dfd, a, shadow, size, "after an extending direct write");
	/* fsync makes the size and block map durable: debugfs, still mounted. */
	assert_int_equal(pc_fsync(dfd), 0);
	fx_dump_equals(fx, "/r", shadow, size);

	/* A hole read directly gives zeros (fresh file, all hole). */
	{
		int hfd = open_or_fail(fx, "/hole", O_CREAT | O_RDWR | O_DIRECT);
		assert_int_equal(pc_ftruncate(hfd, 2 * MiB), 0);
		memset(buf, 0xEE, 256 * KiB);
		n = pc_pread(hfd, buf, 256 * KiB, 1 * MiB);
		if (n != 256 * KiB)
			FX_FAIL(fx, "direct read of a hole returned %zd", n);
		for (size_t i = 0; i < 256 * KiB; i++)
			if (buf[i])
				FX_FAIL(fx, "direct read of a hole: byte %zu is 0x%02x", i, buf[i]);
		/* data in the middle of the hole; both sides still zeros */
		fill(buf, 14, 0, a);
		pwrite_full(fx, hfd, buf, a, (off_t)(1 * MiB + 8 * a), "into a hole");
		memset(buf, 0xEE, 32 * a);
		assert_int_equal(pc_pread(hfd, buf, 32 * a, 1 * MiB), (ssize_t)(32 * a));
		for (size_t i = 0; i < 32 * a; i++) {
			unsigned char want = i >= 8 * a && i < 9 * a ? pat(14, i - 8 * a) : 0;
			if (buf[i] != want)
				FX_FAIL(fx, "hole with one block: byte %zu is 0x%02x, expected 0x%02x", i,
					buf[i], want);
		}
		assert_int_equal((size_t)fsize(fx, hfd), 2 * MiB);
		assert_int_equal(pc_close(hfd), 0);
	}

	/* Reads past EOF are short: a 10000-byte file. */
	assert_int_equal(pc_ftruncate(bfd, 10000), 0);
	size = 10000;
	n = pc_pread(dfd, buf, round_up(size, a) + 4 * a, 0);
	if (n != (ssize_t)size)
		FX_FAIL(fx, "direct read of a %zu-byte file returned %zd", size, n);
	d = first_diff(buf, shadow, size);
	if (d >= 0)
		FX_FAIL(fx, "direct read up to EOF differs at byte %ld", d);
	n = pc_pread(dfd, buf, 4 * a, (off_t)round_down(size, a));
	if (n != (ssize_t)(size - round_down(size, a)))
		FX_FAIL(fx, "direct read of the EOF block returned %zd, expected %zu", n,
			(size_t)(size - round_down(size, a)));
	assert_memory_equal(buf, shadow + round_down(size, a), (size_t)n);
	assert_int_equal(pc_pread(dfd, buf, a, (off_t)round_up(size, a)), 0);
	assert_int_equal(pc_pread(dfd, buf, a, (off_t)round_up(size, a) + 16 * a), 0);
	memset(shadow + size, 0, 4 * MiB - size);

	/* A direct write at EOF's block of an unaligned file: the size grows to
	 * the end of the write, the bytes before it are kept. */
	fill(buf, 15, 0, a);
	pwrite_full(fx, dfd, buf, a, (off_t)round_up(size, a), "after EOF");
	memcpy(shadow + round_up(size, a), buf, a);
	size = round_up(size, a) + a;
	verify_both(fx, bfd, dfd, a, shadow, size, "after a direct write past an unaligned EOF");

	assert_int_equal(pc_close(dfd), 0);
	assert_int_equal(pc_close(bfd), 0);
	fx_umount(fx);
	fx_fsck(fx);
	fx_dump_equals(fx, "/r", shadow, size);
	free(shadow);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* 4. parallel direct writers on disjoint ranges                      */
/* ------------------------------------------------------------------ */

#define PAR_THREADS 4
#define PAR_FILE (8 * MiB)
#define PAR_WRITES 120

struct par_arg {
	struct pc_mount *m;
	struct shared *sh;
	unsigned align;
	int id;
	uint64_t seed;
	unsigned char *shadow;	/* the whole file's shadow; this thread owns its quarter */
	pthread_t th;
};

static void *par_writer(void *p)
{
	struct par_arg *pa = p;
	const uint64_t part = PAR_FILE / PAR_THREADS, base = part * (uint64_t)pa->id;
	unsigned char *buf = aligned_alloc_or_null(256 * KiB);
	uint64_t seed = pa->seed;
	int fd;

	if (!buf) {
		sh_fail(pa->sh, "writer %d: out of memory", pa->id);
		return NULL;
	}
	fd = pc_open(pa->m, "/p", O_RDWR | O_DIRECT, 0);
	if (fd < 0) {
		sh_fail(pa->sh, "writer %d: pc_open: %d", pa->id, fd);
		free(buf);
		return NULL;
	}
	for (int i = 0; i < PAR_WRITES && !atomic_load(&pa->sh->stop); i++) {
		size_t len = pa->align * (1 + (size_t)rnd_below(&seed, 256 * KiB / pa->align));
		uint64_t off = base + round_down(rnd_below(&seed, part - len + 1), pa->align);
		ssize_t n;

		fill(buf, 1000u * (unsigned)pa->id + (unsigned)i, off, len);
		n = pc_pwrite(fd, buf, len, (off_t)off);
		if (n != (ssize_t)len) {
			sh_fail(pa->sh, "writer %d: pwrite off %" PRIu64 " len %zu returned %zd", pa->id,
				off, len, n);
			break;
		}
		memcpy(pa->shadow + off, buf, len);
		/* and read it straight back */
		if (i % 10 == 0) {
			memset(buf, 0xEE, len);
			n = pc_pread(fd, buf, len, (off_t)off);
			if (n != (ssize_t)len || memcmp(buf, pa->shadow + off, len)) {
				sh_fail(pa->sh, "writer %d: direct read back of off %" PRIu64 " len %zu "
					"(returned %zd) differs", pa->id, off, len, n);
				break;
			}
		}
	}
	pc_close(fd);
	free(buf);
	return NULL;
}

/* @prealloc: 0 = pc_fallocate (falls back to 1 if unsupported), 1 =
 * buffered data fsynced, 2 = buffered data left dirty in the cache. */
static void parallel_writers(void **state, int prealloc, const char *name)
{
	struct fixture *fx = *state;
	unsigned char *shadow = calloc(1, PAR_FILE);
	struct par_arg pa[PAR_THREADS];
	struct shared sh;
	unsigned mem, a;
	int bfd, dfd, started = 0;

	assert_non_null(shadow);
	fx_seed(fx, name);
	make_image(fx, false);
	fx_mount(fx, 64 * MiB);
	bfd = open_or_fail(fx, "/p", O_CREAT | O_RDWR);
	if (prealloc == 0) {
		int err = pc_fallocate(bfd, 0, 0, PAR_FILE);
		if (err == -EOPNOTSUPP) {
			fprintf(stderr, "  pc_fallocate: -EOPNOTSUPP; preallocating with fsynced data\n");
			prealloc = 1;
		} else if (err) {
			FX_FAIL(fx, "pc_fallocate: %d", err);
		} else if ((size_t)fsize(fx, bfd) != PAR_FILE) {
			FX_FAIL(fx, "size after pc_fallocate: %lld", (long long)fsize(fx, bfd));
		}
	}
	if (prealloc != 0) {
		fill(shadow, 5, 0, PAR_FILE);
		pwrite_full(fx, bfd, shadow, PAR_FILE, 0, "prefill");
		if (prealloc == 1)
			assert_int_equal(pc_fsync(bfd), 0);
	}
	dfd = open_or_fail(fx, "/p", O_RDWR | O_DIRECT);
	get_align(fx, dfd, &mem, &a);

	shared_init(&sh);
	for (int i = 0; i < PAR_THREADS; i++) {
		pa[i] = (struct par_arg){ .m = fx->m, .sh = &sh, .align = a, .id = i,
					  .seed = fx->seed * 13 + (uint64_t)i, .shadow = shadow };
		if (pthread_create(&pa[i].th, NULL, par_writer, &pa[i]) != 0) {
			sh_fail(&sh, "pthread_create failed");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(pa[i].th, NULL);
	if (sh.failed)
		FX_FAIL(fx, "%s", sh.msg);
	verify_both(fx, bfd, dfd, a, shadow, PAR_FILE, "after the parallel direct writes");
	assert_int_equal(pc_fsync(bfd), 0);
	assert_int_equal(pc_close(dfd), 0);
	assert_int_equal(pc_close(bfd), 0);
	fx_umount(fx);
	fx_fsck(fx);
	fx_dump_equals(fx, "/p", shadow, PAR_FILE);
	pthread_mutex_destroy(&sh.lock);
	free(shadow);
}

static void test_parallel_fallocated(void **state) { parallel_writers(state, 0, "parallel_fallocated"); }
static void test_parallel_synced(void **state) { parallel_writers(state, 1, "parallel_synced"); }
static void test_parallel_dirty(void **state) { parallel_writers(state, 2, "parallel_dirty"); }

/* ------------------------------------------------------------------ */

/* A test on one filesystem, named "test/fs" in cmocka's output. */
#define T(fn, kind)								\
	{ .name = #fn "/" #kind, .test_func = fn, .setup_func = setup_##kind,	\
	  .teardown_func = teardown_fx, .initial_state = NULL }

int main(void)
{
	const char *e;
	int failed;

	if ((e = getenv("PC_TEST_SEED")) && *e)
		base_seed = strtoull(e, NULL, 0);
	if ((e = getenv("PC_DIO_STRESS_MS")) && *e)
		stress_ms = (unsigned)strtoul(e, NULL, 0);
	if ((e = getenv("PC_DIO_ROLES")) && *e)
		stress_roles = (unsigned)strtoul(e, NULL, 0);
	if ((e = getenv("PC_TEST_FILTER")) && *e)
		cmocka_set_test_filter(e);	/* e.g. "test_no_stale*" */
	int rc = tu_make_tmpdir("dio", "mke2fs e2fsck debugfs", tmpdir, sizeof(tmpdir), logpath,
				 sizeof(logpath));

	if (rc)
		return rc;

	const struct CMUnitTest tests[] = {
		T(test_rules, ext4),
		T(test_rules, ext2),
		T(test_rules, ramfs),
		T(test_cached_then_direct, ext4),
		T(test_cached_then_direct, ext2),
		T(test_cached_then_direct, ramfs),
		T(test_buffered_fsync_then_direct, ext4),
		T(test_buffered_fsync_then_direct, ext2),
		T(test_buffered_dirty_then_direct, ext4),
		T(test_buffered_dirty_then_direct, ext2),
		T(test_buffered_dirty_then_direct, ramfs),
		T(test_coherence_mix, ext4),
		T(test_coherence_mix, ext2),
		T(test_coherence_mix, ramfs),
		T(test_generations, ext4),
		T(test_generations, ext4_hold),
		T(test_generations, ext2),
		T(test_parallel_fallocated, ext4),
		T(test_parallel_synced, ext2),
		T(test_parallel_dirty, ext4),
		T(test_parallel_dirty, ext2),
		T(test_no_stale, ext4),
		T(test_no_stale, ext4_hold),
		T(test_no_stale, ext2),
	};
	failed = cmocka_run_group_tests(tests, NULL, NULL);

	tu_run("rm -rf '%s'", tmpdir);
	return failed ? 1 : 0;
}
