/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_seek.c - pc_lseek SEEK_DATA / SEEK_HOLE.
 *
 * Each test keeps a model of the file: MUST, the byte ranges written
 * (which must be reported as data), and MAY, the ranges the filesystem may
 * report as data: MUST rounded out to whole 4 KiB pages (the coarsest
 * granularity of the block map and of delayed allocation), plus, for
 * unwritten extents, the pages the test read into the cache (Linux's
 * rule). Every probe offset (each range's edges and their neighbours, the
 * size, random offsets) is checked against lseek(2)'s contract:
 *   SEEK_DATA(off) = d: off <= d < size, no MUST byte in [off, d), d in
 *                       MAY; -ENXIO only when no MUST byte follows off;
 *   SEEK_HOLE(off) = h: off <= h <= size, h not in MUST, [off, h) in MAY;
 *   both -ENXIO for off >= size.
 * A filesystem reporting everything as data fails (d in MAY), one losing
 * data fails (MUST). Files go up to 1 TiB (8 GiB on ext2 with 1 KiB
 * blocks, whose indirect map stops at 16 GiB), in every state: dirty
 * delayed-allocation pages only, after fsync, cold after a remount, with
 * hole pages read into the cache, after truncate down and up, after
 * direct I/O writes, and with unwritten extents made by debugfs fallocate.
 * Images are checked with e2fsck afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include "test_util.h"

#define PG 4096LL
#define MAXR 512

struct range { int64_t lo, hi; };
struct set { struct range r[MAXR]; int n; };

struct model {
	struct set must, may;
	int64_t size;
};

static char tmpdir[4200];
static char logpath[4300];

/* ---- interval sets (sorted, merged) ---- */

static void set_add(struct set *s, int64_t lo, int64_t hi)
{
	struct set out = { .n = 0 };
	int i = 0;

	if (lo >= hi)
		return;
	while (i < s->n && s->r[i].hi < lo)
		out.r[out.n++] = s->r[i++];
	while (i < s->n && s->r[i].lo <= hi) {
		if (s->r[i].lo < lo)
			lo = s->r[i].lo;
		if (s->r[i].hi > hi)
			hi = s->r[i].hi;
		i++;
	}
	assert_true(out.n < MAXR);
	out.r[out.n++] = (struct range){ lo, hi };
	assert_true(out.n + (s->n - i) <= MAXR);
	while (i < s->n)
		out.r[out.n++] = s->r[i++];
	*s = out;
}

static void set_clip(struct set *s, int64_t size)
{
	struct set out = { .n = 0 };

	for (int i = 0; i < s->n; i++) {
		if (s->r[i].lo >= size)
			break;
		out.r[out.n] = s->r[i];
		if (out.r[out.n].hi > size)
			out.r[out.n].hi = size;
		out.n++;
	}
	*s = out;
}

static bool set_has(const struct set *s, int64_t x)
{
	for (int i = 0; i < s->n; i++)
		if (x >= s->r[i].lo && x < s->r[i].hi)
			return true;
	return false;
}

/* Smallest y >= x in @s, or INT64_MAX. */
static int64_t set_next_in(const struct set *s, int64_t x)
{
	for (int i = 0; i < s->n; i++)
		if (s->r[i].hi > x)
			return s->r[i].lo > x ? s->r[i].lo : x;
	return INT64_MAX;
}

/* Smallest y >= x not in @s. */
static int64_t set_next_out(const struct set *s, int64_t x)
{
	for (int i = 0; i < s->n; i++)
		if (x >= s->r[i].lo && x < s->r[i].hi)
			x = s->r[i].hi;
	return x;
}

static void model_write(struct model *md, int64_t off, int64_t len)
{
	set_add(&md->must, off, off + len);
	set_add(&md->may, off & ~(PG - 1), (off + len + PG - 1) & ~(PG - 1));
	if (off + len > md->size)
		md->size = off + len;
}

static void model_truncate(struct model *md, int64_t size)
{
	if (size < md->size) {
		/* the block (page) holding the new EOF stays allocated */
		set_clip(&md->must, size);
		set_clip(&md->may, (size + PG - 1) & ~(PG - 1));
	}
	md->size = size;
}

static void model_dump(const struct model *md)
{
	fprintf(stderr, "  size %lld\n  MUST:", (long long)md->size);
	for (int i = 0; i < md->must.n; i++)
		fprintf(stderr, " [%lld,%lld)", (long long)md->must.r[i].lo, (long long)md->must.r[i].hi);
	fprintf(stderr, "\n  MAY: ");
	for (int i = 0; i < md->may.n; i++)
		fprintf(stderr, " [%lld,%lld)", (long long)md->may.r[i].lo, (long long)md->may.r[i].hi);
	fprintf(stderr, "\n");
}

#define CHECK(cond, what, off, got)							\
	TU_CHECK(cond, (fprintf(stderr, "  %s: %s at offset %lld returned %lld\n", ctx,	\
				what, (long long)(off), (long long)(got)),		\
			model_dump(md)))

/* Check SEEK_DATA and SEEK_HOLE at @off against the model. */
static void probe(int fd, const struct model *md, int64_t off, const char *ctx)
{
	off_t d, h;

	if (off < 0)
		return;
	d = pc_lseek(fd, off, SEEK_DATA);
	h = pc_lseek(fd, off, SEEK_HOLE);
	if (off >= md->size) {
		CHECK(d == -ENXIO, "SEEK_DATA past EOF", off, d);
		CHECK(h == -ENXIO, "SEEK_HOLE past EOF", off, h);
		return;
	}
	if (d == -ENXIO) {
		CHECK(set_next_in(&md->must, off) >= md->size, "SEEK_DATA missed data", off, d);
	} else {
		CHECK(d >= off && d < md->size, "SEEK_DATA out of range", off, d);
		CHECK(set_next_in(&md->must, off) >= d, "SEEK_DATA skipped data", off, d);
		CHECK(set_has(&md->may, d), "SEEK_DATA landed in a hole", off, d);
	}
	CHECK(h >= off && h <= md->size, "SEEK_HOLE out of range", off, h);
	CHECK(h == md->size || !set_has(&md->must, h), "SEEK_HOLE landed in data", off, h);
	CHECK(h == off || set_next_out(&md->may, off) >= h, "SEEK_HOLE skipped a hole", off, h);
}

/* Probe every interesting offset, and the file position rule. */
static void check_model(int fd, const struct model *md, const char *ctx, unsigned seed)
{
	struct tu_rng rng = { seed };
	const struct set *sets[2] = { &md->must, &md->may };
	static const int64_t deltas[] = { -PG - 1, -PG, -1, 0, 1, PG - 1, PG };
	off_t d;

	for (int s = 0; s < 2; s++)
		for (int i = 0; i < sets[s]->n; i++)
			for (size_t k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
				probe(fd, md, sets[s]->r[i].lo + deltas[k], ctx);
				probe(fd, md, sets[s]->r[i].hi + deltas[k], ctx);
			}
	for (size_t k = 0; k < sizeof(deltas) / sizeof(deltas[0]); k++) {
		probe(fd, md, deltas[k], ctx);
		probe(fd, md, md->size + deltas[k], ctx);
	}
	for (int i = 0; i < 40 && md->size > 0; i++)
		probe(fd, md, (int64_t)tu_rand_below(&rng, (uint64_t)md->size), ctx);
	probe(fd, md, INT64_MAX, ctx);
	TU_CHECK(pc_lseek(fd, -1, SEEK_DATA) == -ENXIO, );
	TU_CHECK(pc_lseek(fd, -1, SEEK_HOLE) == -ENXIO, );
	/* The position moves to the answer. */
	if (md->size > 0) {
		d = pc_lseek(fd, 0, SEEK_HOLE);
		TU_CHECK(d >= 0 && pc_lseek(fd, 0, SEEK_CUR) == d, );
	}
}

static void write_all(int fd, int64_t off, int64_t len, unsigned seed)
{
	unsigned char buf[65536];

	while (len > 0) {
		size_t n = len < (int64_t)sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t w;

		tu_fill(buf, (uint64_t)off, n, seed);
		w = pc_pwrite(fd, buf, n, off);
		if (w <= 0)
			fail_msg("pc_pwrite %zu at %lld: %zd", n, (long long)off, w);
		off += w;
		len -= w;
	}
}

static void mwrite(int fd, struct model *md, int64_t off, int64_t len)
{
	write_all(fd, off, len, 3);
	model_write(md, off, len);
}

/* Read [off, off+len) and compare with the model's bytes (zeros in holes). */
static void read_check(int fd, const struct model *md, int64_t off, int64_t len)
{
	unsigned char got[8192], want[8192];

	while (len > 0) {
		size_t n = len < (int64_t)sizeof(got) ? (size_t)len : sizeof(got);
		ssize_t r = pc_pread(fd, got, n, off);

		if (off >= md->size) {
			assert_int_equal(r, 0);
			return;
		}
		assert_true(r > 0);
		tu_fill(want, (uint64_t)off, (size_t)r, 3);
		for (ssize_t i = 0; i < r; i++)
			if (!set_has(&md->must, off + i))
				want[i] = 0;
		assert_memory_equal(got, want, (size_t)r);
		off += r;
		len -= r;
	}
}

/* ---- images ---- */

struct spec {
	const char *type;
	unsigned bs;
	int64_t big;	/* size of the big sparse file */
};

static const struct spec spec_ext2_1k = { "ext2", 1024, 8LL << 30 };
static const struct spec spec_ext2_4k = { "ext2", 4096, 1LL << 40 };
static const struct spec spec_ext4_1k = { "ext4", 1024, 1LL << 40 };
static const struct spec spec_ext4_4k = { "ext4", 4096, 1LL << 40 };

static void img_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s.img", tmpdir, name);
}

static void make_image(const char *img, const struct spec *sp)
{
	int st = tu_run("mke2fs -q -F -t %s -b %u '%s' 64M >'%s' 2>&1", sp->type, sp->bs, img,
			logpath);
	if (st != 0)
		tu_show_file(logpath);
	assert_int_equal(st, 0);
}

static void fsck_clean(const char *img)
{
	int st = tu_run("e2fsck -fn '%s' >'%s' 2>&1", img, logpath);

	if (st != 0)
		tu_show_file(logpath);
	assert_int_equal(st, 0);
}

static struct pc_mount *mount_img(const char *img)
{
	struct pc_mount_opts opts = { .cache_size = 32u << 20 };
	struct pc_mount *m = NULL;
	int err = pc_mount("ext4", img, &opts, &m);

	if (err)
		fail_msg("pc_mount %s: %d (%s)", img, err, pc_mount_error());
	return m;
}

/* ---- tests ---- */

/* Islands of data at the start, middle and end of a big sparse file, in
 * every state of the cache and the block map. */
static void run_islands(const struct spec *sp, const char *name)
{
	const int64_t big = sp->big;
	char img[4400], ctx[128];
	struct model md = { .size = 0 }, sparse = { .size = 0 }, empty = { .size = 0 };
	struct pc_mount *m;
	int fd, fd2, g, e;
	unsigned mem_align = 0, off_align = 0;
	unsigned char *dbuf = NULL;

	img_path(img, sizeof(img), name);
	make_image(img, sp);
	m = mount_img(img);
	fd = pc_open(m, "/f", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);

	/* Delayed allocation only: nothing has a block yet. */
	mwrite(fd, &md, 0, 100);
	mwrite(fd, &md, 3 * PG - 7, 20);
	mwrite(fd, &md, (1 << 20) + 123, 5000);
	mwrite(fd, &md, big / 2 + PG + 1, 70000);
	mwrite(fd, &md, big - 5 * PG, PG);
	assert_int_equal(pc_ftruncate(fd, big), 0);
	model_truncate(&md, big);
	snprintf(ctx, sizeof(ctx), "%s dirty", name);
	check_model(fd, &md, ctx, 1);

	/* A fully sparse file and an empty one. */
	g = pc_open(m, "/sparse", O_CREAT | O_RDWR, 0644);
	assert_true(g >= 0);
	assert_int_equal(pc_ftruncate(g, big), 0);
	model_truncate(&sparse, big);
	TU_CHECK(pc_lseek(g, 0, SEEK_DATA) == -ENXIO, );
	TU_CHECK(pc_lseek(g, 0, SEEK_HOLE) == 0, );
	TU_CHECK(pc_lseek(g, big - 1, SEEK_HOLE) == big - 1, );
	check_model(g, &sparse, "fully sparse", 2);
	e = pc_open(m, "/empty", O_CREAT | O_RDWR, 0644);
	assert_true(e >= 0);
	TU_CHECK(pc_lseek(e, 0, SEEK_DATA) == -ENXIO, );
	TU_CHECK(pc_lseek(e, 0, SEEK_HOLE) == -ENXIO, );
	check_model(e, &empty, "empty", 3);

	/* On disk. */
	assert_int_equal(pc_fsync(fd), 0);
	snprintf(ctx, sizeof(ctx), "%s after fsync", name);
	check_model(fd, &md, ctx, 4);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_close(g), 0);
	assert_int_equal(pc_close(e), 0);
	assert_int_equal(pc_umount(m), 0);
	fsck_clean(img);

	/* Cold, then with hole pages read into the cache (zeros: not data). */
	m = mount_img(img);
	fd = pc_open(m, "/f", O_RDWR, 0);
	assert_true(fd >= 0);
	snprintf(ctx, sizeof(ctx), "%s cold", name);
	check_model(fd, &md, ctx, 5);
	read_check(fd, &md, 0, 2 << 20);
	read_check(fd, &md, big / 2 - (1 << 20), 2 << 20);
	read_check(fd, &md, big - (1 << 20), 1 << 20);
	snprintf(ctx, sizeof(ctx), "%s holes cached", name);
	check_model(fd, &md, ctx, 6);

	/* New delayed data among allocated blocks. */
	mwrite(fd, &md, (2 << 20) + 10, 10);
	mwrite(fd, &md, big / 4, 3 * PG);
	snprintf(ctx, sizeof(ctx), "%s mixed", name);
	check_model(fd, &md, ctx, 7);

	/* Truncate through an island, then grow again. */
	assert_int_equal(pc_ftruncate(fd, big / 2 + PG + 1001), 0);
	model_truncate(&md, big / 2 + PG + 1001);
	snprintf(ctx, sizeof(ctx), "%s truncated down", name);
	check_model(fd, &md, ctx, 8);
	assert_int_equal(pc_ftruncate(fd, big - 3), 0);
	model_truncate(&md, big - 3);
	snprintf(ctx, sizeof(ctx), "%s truncated up", name);
	check_model(fd, &md, ctx, 9);

	/* Direct I/O: a descriptor with O_DIRECT seeks the same way, and a
	 * direct write into a hole is data at once. */
	fd2 = pc_open(m, "/f", O_RDWR | O_DIRECT, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(pc_fdioalign(fd2, &mem_align, &off_align), 0);
	snprintf(ctx, sizeof(ctx), "%s O_DIRECT", name);
	check_model(fd2, &md, ctx, 10);
	assert_int_equal(posix_memalign((void **)&dbuf, 4096, 2 * PG), 0);
	tu_fill(dbuf, 3 << 20, 2 * PG, 3);
	assert_int_equal(pc_pwrite(fd2, dbuf, 2 * PG, 3 << 20), 2 * PG);
	model_write(&md, 3 << 20, 2 * PG);
	free(dbuf);
	check_model(fd2, &md, ctx, 11);
	check_model(fd, &md, ctx, 12);
	assert_int_equal(pc_fsync(fd), 0);
	snprintf(ctx, sizeof(ctx), "%s final fsync", name);
	check_model(fd, &md, ctx, 13);
	read_check(fd, &md, 0, 4 << 20);
	assert_int_equal(pc_close(fd2), 0);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	fsck_clean(img);

	m = mount_img(img);
	fd = pc_open(m, "/f", O_RDONLY, 0);
	assert_true(fd >= 0);
	snprintf(ctx, sizeof(ctx), "%s remounted", name);
	check_model(fd, &md, ctx, 14);
	/* SEEK_DATA/SEEK_HOLE on a directory: -EINVAL. */
	g = pc_open(m, "/", O_RDONLY | O_DIRECTORY, 0);
	assert_true(g >= 0);
	TU_CHECK(pc_lseek(g, 0, SEEK_DATA) == -EINVAL, );
	assert_int_equal(pc_close(g), 0);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	unlink(img);
}

static void test_islands_ext2_1k(void **state) { (void)state; run_islands(&spec_ext2_1k, "ext2-1k"); }
static void test_islands_ext2_4k(void **state) { (void)state; run_islands(&spec_ext2_4k, "ext2-4k"); }
static void test_islands_ext4_1k(void **state) { (void)state; run_islands(&spec_ext4_1k, "ext4-1k"); }
static void test_islands_ext4_4k(void **state) { (void)state; run_islands(&spec_ext4_4k, "ext4-4k"); }

/* Unwritten extents (debugfs fallocate): holes, unless their pages are in
 * the cache; written parts become data, before and after writeback. */
static void run_unwritten(const struct spec *sp, const char *name)
{
	const int64_t bs = sp->bs, size = 400 * bs;
	char img[4400], ctx[128];
	struct model md = { .size = size };
	struct pc_mount *m;
	int fd;

	img_path(img, sizeof(img), name);
	make_image(img, sp);
	/* blocks [10, 30) and [100, 300) unwritten; block 350 written. */
	assert_int_equal(tu_run("debugfs -w -f - '%s' >'%s' 2>&1 <<EOF\n"
				"write /dev/null /u\nfallocate /u 10 29\nfallocate /u 100 299\n"
				"sif /u size %lld\nEOF",
				img, logpath, (long long)size), 0);
	m = mount_img(img);
	fd = pc_open(m, "/u", O_RDWR, 0);
	assert_true(fd >= 0);
	snprintf(ctx, sizeof(ctx), "%s unwritten cold", name);
	check_model(fd, &md, ctx, 20);
	TU_CHECK(pc_lseek(fd, 0, SEEK_DATA) == -ENXIO, );
	TU_CHECK(pc_lseek(fd, 10 * bs, SEEK_HOLE) == 10 * bs, );

	/* Pages of an unwritten extent read into the cache may be data
	 * (readahead may have read more of the extent than asked). */
	read_check(fd, &md, 100 * bs, 8 * bs);
	set_add(&md.may, (100 * bs) & ~(PG - 1), (300 * bs + PG - 1) & ~(PG - 1));
	snprintf(ctx, sizeof(ctx), "%s unwritten cached", name);
	check_model(fd, &md, ctx, 21);

	/* Written (delayed conversion), then written back (converted). */
	mwrite(fd, &md, 15 * bs + 3, 100);
	mwrite(fd, &md, 200 * bs, 3 * bs);
	mwrite(fd, &md, 350 * bs, bs);
	snprintf(ctx, sizeof(ctx), "%s unwritten dirty", name);
	check_model(fd, &md, ctx, 22);
	assert_int_equal(pc_fsync(fd), 0);
	snprintf(ctx, sizeof(ctx), "%s unwritten fsynced", name);
	check_model(fd, &md, ctx, 23);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	fsck_clean(img);

	md.may = (struct set){ .n = 0 };
	for (int i = 0; i < md.must.n; i++)
		set_add(&md.may, md.must.r[i].lo & ~(PG - 1),
			(md.must.r[i].hi + PG - 1) & ~(PG - 1));
	m = mount_img(img);
	fd = pc_open(m, "/u", O_RDONLY, 0);
	assert_true(fd >= 0);
	snprintf(ctx, sizeof(ctx), "%s unwritten remounted", name);
	check_model(fd, &md, ctx, 24);
	read_check(fd, &md, 0, size);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	unlink(img);
}

static void test_unwritten_ext4_1k(void **state) { (void)state; run_unwritten(&spec_ext4_1k, "unw-1k"); }
static void test_unwritten_ext4_4k(void **state) { (void)state; run_unwritten(&spec_ext4_4k, "unw-4k"); }

/* Writeback racing with the search: a flusher thread syncs the file over
 * and over while new delayed data is written and looked for at once.
 * Writeback allocates a page's blocks and then clears its dirty and
 * delayed flags; a search that trusted the block map it read before the
 * cache would miss data in between. */
struct syncer {
	int fd;
	_Atomic bool stop;
	int err;
};

static void *syncer_fn(void *arg)
{
	struct syncer *sy = arg;

	while (!atomic_load(&sy->stop)) {
		int err = pc_fdatasync(sy->fd);
		if (err && !sy->err)
			sy->err = err;
	}
	return NULL;
}

static void run_vs_writeback(const struct spec *sp, const char *name)
{
	const int64_t span = 64LL << 20;
	struct model md = { .size = 0 };
	struct tu_rng rng = { 77 };
	struct syncer sy = { .fd = -1 };
	pthread_t th;
	char img[4400];
	struct pc_mount *m;
	int fd;

	img_path(img, sizeof(img), name);
	make_image(img, sp);
	m = mount_img(img);
	fd = pc_open(m, "/w", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_ftruncate(fd, span), 0);
	model_truncate(&md, span);
	sy.fd = fd;
	assert_int_equal(pthread_create(&th, NULL, syncer_fn, &sy), 0);
	for (int i = 0; i < 150; i++) {
		int64_t off = (int64_t)tu_rand_below(&rng, (uint64_t)(span / PG)) * PG;
		int64_t before = off - (int64_t)tu_rand_below(&rng, 8) * PG - 1;

		if (before < 0)
			before = 0;
		mwrite(fd, &md, off + 7, 100);
		/* right after the write, and again while writeback runs */
		for (int k = 0; k < 3; k++) {
			probe(fd, &md, before, name);
			probe(fd, &md, off, name);
			probe(fd, &md, off + 107, name);
		}
	}
	atomic_store(&sy.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(sy.err, 0);
	check_model(fd, &md, name, 40);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	fsck_clean(img);
	unlink(img);
}

static void test_vs_writeback_ext2_1k(void **state) { (void)state; run_vs_writeback(&spec_ext2_1k, "wb-ext2-1k"); }
static void test_vs_writeback_ext4_4k(void **state) { (void)state; run_vs_writeback(&spec_ext4_4k, "wb-ext4-4k"); }

/* A block map pointing outside the device: -EUCLEAN, not a wrong answer
 * (ext4: the first extent's start; ext2: the first direct pointer). */
static void run_corrupt(const struct spec *sp, const char *name, const char *sif)
{
	char img[4400], host[4400];
	struct pc_mount *m;
	int fd;
	FILE *f;

	img_path(img, sizeof(img), name);
	make_image(img, sp);
	snprintf(host, sizeof(host), "%s/data", tmpdir);
	f = fopen(host, "wb");
	assert_non_null(f);
	for (int i = 0; i < 3 * 4096; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	assert_int_equal(tu_run("debugfs -w -R 'write %s /f' '%s' >'%s' 2>&1 && "
				"debugfs -w -R 'sif /f %s' '%s' >>'%s' 2>&1",
				host, img, logpath, sif, img, logpath), 0);
	m = mount_img(img);
	fd = pc_open(m, "/f", O_RDONLY, 0);
	assert_true(fd >= 0);
	TU_CHECK(pc_lseek(fd, 0, SEEK_DATA) == -EUCLEAN, tu_show_file(logpath));
	TU_CHECK(pc_lseek(fd, 0, SEEK_HOLE) == -EUCLEAN, tu_show_file(logpath));
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
	unlink(img);
}

static void test_corrupt_ext4(void **state)
{
	(void)state;
	/* i_block[4] of an extent inode: the first extent's length and the
	 * high 16 bits of its start */
	run_corrupt(&spec_ext4_4k, "bad-ext4", "block[4] 0xffff0003");
}

static void test_corrupt_ext2(void **state)
{
	(void)state;
	run_corrupt(&spec_ext2_1k, "bad-ext2", "block[0] 0xfffffff0");
}

/* ramfs: the written pages are data; pages of holes that were only read
 * are not. */
static void test_ramfs(void **state)
{
	const int64_t big = 1LL << 40;
	struct model md = { .size = 0 };
	struct pc_mount_opts opts = { .cache_size = 16u << 20 };
	struct pc_mount *m = NULL;
	int fd;

	(void)state;
	assert_int_equal(pc_mount("ramfs", NULL, &opts, &m), 0);
	fd = pc_open(m, "/f", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	TU_CHECK(pc_lseek(fd, 0, SEEK_DATA) == -ENXIO, );
	mwrite(fd, &md, PG + 5, 10);
	mwrite(fd, &md, (1 << 20), 3 * PG);
	mwrite(fd, &md, big / 2, 100);
	assert_int_equal(pc_ftruncate(fd, big), 0);
	model_truncate(&md, big);
	check_model(fd, &md, "ramfs", 30);
	read_check(fd, &md, 0, 2 << 20);
	check_model(fd, &md, "ramfs holes read", 31);
	assert_int_equal(pc_ftruncate(fd, (1 << 20) + PG + 1), 0);
	model_truncate(&md, (1 << 20) + PG + 1);
	check_model(fd, &md, "ramfs truncated", 32);
	assert_int_equal(pc_ftruncate(fd, big), 0);
	model_truncate(&md, big);
	check_model(fd, &md, "ramfs grown", 33);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);
}

int main(void)
{

	int rc = tu_make_tmpdir("seek", "mke2fs e2fsck debugfs", tmpdir, sizeof(tmpdir), logpath,
				 sizeof(logpath));

	if (rc)
		return rc;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ramfs),
		cmocka_unit_test(test_islands_ext2_1k),
		cmocka_unit_test(test_islands_ext2_4k),
		cmocka_unit_test(test_islands_ext4_1k),
		cmocka_unit_test(test_islands_ext4_4k),
		cmocka_unit_test(test_unwritten_ext4_1k),
		cmocka_unit_test(test_unwritten_ext4_4k),
		cmocka_unit_test(test_corrupt_ext4),
		cmocka_unit_test(test_corrupt_ext2),
		cmocka_unit_test(test_vs_writeback_ext2_1k),
		cmocka_unit_test(test_vs_writeback_ext4_4k),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	tu_report("test_seek");
	tu_run("rm -rf '%s'", tmpdir);
	return failed ? 1 : 0;
}
