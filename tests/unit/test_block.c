/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_block.c - layer 6: block devices, bios, engines, plugs.
 *
 * Every test runs twice, once per engine ("uring" and "pread" groups), on
 * image files in $PC_TEST_TMPDIR (set by meson test) or /var/tmp: a disk
 * filesystem where O_DIRECT works (/tmp may be tmpfs). One test also uses
 * /dev/shm (tmpfs) and the forced buffered fallback. Pages are fake struct pc_page objects over
 * aligned_alloc'd frames, so the test needs nothing from the mm layer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* setenv, aligned_alloc with older -std */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pagecache/blkdev.h"
#include "pagecache/mm.h"

static enum pc_engine_kind g_engine;

/* ---- fixtures ---- */

static const char *test_dir(void)
{
	const char *d = getenv("PC_TEST_TMPDIR");	/* set by meson test */

	if (d && *d) {
		mkdir(d, 0755);
		if (access(d, W_OK) == 0)
			return d;
	}
	if (access("/var/tmp", W_OK) == 0)
		return "/var/tmp";
	return ".";
}

/* Create an image of @size bytes (sparse, reads as zeros) in @dir. */
static char *make_image_in(const char *dir, off_t size)
{
	char *path = malloc(4096);
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/pc_test_block.XXXXXX", dir);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

static char *make_image(off_t size)
{
	return make_image_in(test_dir(), size);
}

static void drop_image(char *path)
{
	unlink(path);
	free(path);
}

static struct pc_block_device *open_dev(const char *path, unsigned flags)
{
	struct pc_block_device *bdev = NULL;

	assert_int_equal(pc_bdev_open(path, g_engine, flags, &bdev), 0);
	assert_non_null(bdev);
	assert_string_equal(bdev->bd_engine_name, g_engine == PC_ENGINE_URING ? "uring" : "pread");
	return bdev;
}

static struct pc_page *fake_page(void)
{
	struct pc_page *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->virtual = aligned_alloc(PC_PAGE_SIZE, PC_PAGE_SIZE);
	assert_non_null(p->virtual);
	memset(p->virtual, 0, PC_PAGE_SIZE);
	atomic_store(&p->refcount, 1);
	return p;
}

static void free_page(struct pc_page *p)
{
	free(p->virtual);
	free(p);
}

static uint8_t pat(uint64_t devoff, unsigned seed)
{
	uint64_t x = devoff * 0x9E3779B97F4A7C15ull + seed * 0x632BE59BD9B4E019ull;

	return (uint8_t)(x >> 56);
}

/* Fill @len bytes at @buf with the pattern of device offset @devoff. */
static void fill(void *buf, uint64_t devoff, size_t len, unsigned seed)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = pat(devoff + i, seed);
}

static void check(const void *buf, uint64_t devoff, size_t len, unsigned seed)
{
	const uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		if (b[i] != pat(devoff + i, seed))
			fail_msg("byte at device offset %llu: got %#x want %#x",
				 (unsigned long long)(devoff + i), b[i], pat(devoff + i, seed));
	}
}

/* Independent check through the host file. */
static void check_host(const char *path, uint64_t off, size_t len, unsigned seed)
{
	uint8_t *buf = malloc(len);
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	check(buf, off, len, seed);
	close(fd);
	free(buf);
}

static bool host_is_zero(const char *path, uint64_t off, size_t len)
{
	uint8_t *buf = calloc(1, len);
	int fd = open(path, O_RDONLY);
	bool zero = true;
	ssize_t n;

	assert_true(fd >= 0);
	n = pread(fd, buf, len, (off_t)off);
	assert_true(n >= 0);
	for (ssize_t i = 0; i < n; i++)
		zero &= buf[i] == 0;
	close(fd);
	free(buf);
	return zero;
}

static struct pc_bio *one_page_bio(struct pc_block_device *bdev, struct pc_page *pg, unsigned opf,
				   uint64_t devoff)
{
	struct pc_bio *bio = pc_bio_alloc(bdev, 1);

	bio->bi_opf = opf;
	bio->bi_sector = devoff >> PC_SECTOR_SHIFT;
	assert_int_equal(pc_bio_add_page(bio, pg, PC_PAGE_SIZE, 0), PC_PAGE_SIZE);
	return bio;
}

/* Synchronous one-page I/O; returns the status. */
static int page_io(struct pc_block_device *bdev, struct pc_page *pg, unsigned opf, uint64_t devoff)
{
	struct pc_bio *bio = one_page_bio(bdev, pg, opf, devoff);
	int st = pc_submit_bio_wait(bio);

	pc_bio_put(bio);
	return st;
}

/* ---- asynchronous completion tracking ---- */

struct tracker {
	pthread_mutex_t m;
	pthread_cond_t c;
	long outstanding;
	long errors;
	int last_err;
	long completed;
};

static void tracker_init(struct tracker *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->m, NULL);
	pthread_cond_init(&t->c, NULL);
}

static void tracker_add(struct tracker *t, long n)
{
	pthread_mutex_lock(&t->m);
	t->outstanding += n;
	pthread_mutex_unlock(&t->m);
}

static void tracker_done(struct tracker *t, int status)
{
	pthread_mutex_lock(&t->m);
	if (status) {
		t->errors++;
		t->last_err = status;
	}
	t->completed++;
	t->outstanding--;
	pthread_cond_broadcast(&t->c);
	pthread_mutex_unlock(&t->m);
}

/* Wait up to @secs for outstanding to reach 0; returns what is left. */
static long tracker_wait(struct tracker *t, int secs)
{
	struct timespec dl;
	long left;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += secs;
	pthread_mutex_lock(&t->m);
	while (t->outstanding > 0) {
		if (pthread_cond_timedwait(&t->c, &t->m, &dl) == ETIMEDOUT)
			break;
	}
	left = t->outstanding;
	pthread_mutex_unlock(&t->m);
	return left;
}

static long tracker_outstanding(struct tracker *t)
{
	long n;

	pthread_mutex_lock(&t->m);
	n = t->outstanding;
	pthread_mutex_unlock(&t->m);
	return n;
}

static void tracker_destroy(struct tracker *t)
{
	pthread_cond_destroy(&t->c);
	pthread_mutex_destroy(&t->m);
}

static void track_end_io(struct pc_bio *bio)
{
	struct tracker *t = bio->bi_private;
	int st = bio->bi_status;

	pc_bio_put(bio);
	tracker_done(t, st);
}

static void submit_tracked(struct tracker *t, struct pc_bio *bio)
{
	bio->bi_end_io = track_end_io;
	bio->bi_private = t;
	tracker_add(t, 1);
	pc_submit_bio(bio);
}

/* ---- tests ---- */

static void test_open_basic(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_bdev_stats st;

	assert_int_equal(bdev->bd_size, 1 << 20);
	assert_true(bdev->bd_logical_block_size == 512 || bdev->bd_logical_block_size == 4096);
	assert_int_equal(bdev->bd_block_size, 1024);
	assert_false(bdev->bd_mapping_ready);
	assert_false(bdev->bd_readonly);
	assert_true(bdev->bd_fd >= 0);
	assert_string_equal(bdev->bd_path, path);
	/* /var/tmp is a disk filesystem here: O_DIRECT should be on; either
	 * way the note must say why it is off. */
	if (bdev->bd_direct)
		assert_string_equal(bdev->bd_direct_note, "");
	else
		assert_true(strlen(bdev->bd_direct_note) > 0);
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.read_bios + st.write_bios + st.flushes + st.errors, 0);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct pc_block_device *bdev = NULL;
	char *path;
	int fd;

	assert_int_equal(pc_bdev_open("/nonexistent/pc_test_block", g_engine, 0, &bdev), -ENOENT);
	assert_null(bdev);
	path = make_image(1000);	/* under 1 KiB */
	assert_int_equal(pc_bdev_open(path, g_engine, 0, &bdev), -EINVAL);
	assert_null(bdev);
	drop_image(path);
	/* 1 KiB + 100: accepted, size rounded down to 512 */
	path = make_image(1124);
	assert_int_equal(pc_bdev_open(path, g_engine, 0, &bdev), 0);
	assert_int_equal(bdev->bd_size, 1024);
	pc_bdev_close(bdev);
	bdev = NULL;
	assert_int_equal(pc_bdev_open(path, (enum pc_engine_kind)42, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_open(NULL, g_engine, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_open(path, g_engine, 0, NULL), -EINVAL);
	/* not a file or block device */
	assert_true(pc_bdev_open("/dev/null", g_engine, 0, &bdev) < 0);
	assert_true(pc_bdev_open(test_dir(), g_engine, PC_BDEV_RDONLY, &bdev) < 0);
	assert_null(bdev);
	/* PC_ENGINE=pread is honoured for AUTO only */
	setenv("PC_ENGINE", "pread", 1);
	assert_int_equal(pc_bdev_open(path, PC_ENGINE_AUTO, 0, &bdev), 0);
	assert_string_equal(bdev->bd_engine_name, "pread");
	pc_bdev_close(bdev);
	assert_int_equal(pc_bdev_open(path, g_engine, 0, &bdev), 0);
	assert_string_equal(bdev->bd_engine_name, g_engine == PC_ENGINE_URING ? "uring" : "pread");
	pc_bdev_close(bdev);
	unsetenv("PC_ENGINE");
	/* a missing file stays missing (O_CREAT is never used) */
	fd = open("/nonexistent/pc_test_block", O_RDONLY);
	assert_true(fd < 0);
	drop_image(path);
}

static void test_rw_roundtrip(void **state)
{
	(void)state;
	enum { N = 64 };
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg[N];
	struct tracker t;

	tracker_init(&t);
	for (int i = 0; i < N; i++) {
		pg[i] = fake_page();
		fill(pg[i]->virtual, (uint64_t)i * 8192, PC_PAGE_SIZE, 1);
		submit_tracked(&t, one_page_bio(bdev, pg[i], PC_REQ_OP_WRITE, (uint64_t)i * 8192));
	}
	assert_int_equal(tracker_wait(&t, 30), 0);
	assert_int_equal(t.errors, 0);
	for (int i = 0; i < N; i++) {
		check_host(path, (uint64_t)i * 8192, PC_PAGE_SIZE, 1);
		assert_true(host_is_zero(path, (uint64_t)i * 8192 + 4096, 4096));
		memset(pg[i]->virtual, 0xEE, PC_PAGE_SIZE);
		assert_int_equal(page_io(bdev, pg[i], PC_REQ_OP_READ, (uint64_t)i * 8192), 0);
		check(pg[i]->virtual, (uint64_t)i * 8192, PC_PAGE_SIZE, 1);
		/* the gap between written pages reads as zeros */
		memset(pg[i]->virtual, 0xEE, PC_PAGE_SIZE);
		assert_int_equal(page_io(bdev, pg[i], PC_REQ_OP_READ | PC_REQ_SYNC | PC_REQ_META,
					 (uint64_t)i * 8192 + 4096), 0);
		assert_true(host_is_zero(path, (uint64_t)i * 8192 + 4096, 4096));
		for (unsigned k = 0; k < PC_PAGE_SIZE; k++)
			assert_int_equal(((uint8_t *)pg[i]->virtual)[k], 0);
		free_page(pg[i]);
	}
	tracker_destroy(&t);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_multiseg(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	unsigned lbs = bdev->bd_logical_block_size;
	struct pc_page *pg[8];
	struct pc_bio *bio;
	uint64_t base = 64 * 1024;
	uint32_t total = 0;
	/* segments as (offset, length) in units of lbs within 4 KiB pages */
	const unsigned per_page = PC_PAGE_SIZE / lbs;
	unsigned seg_off[8], seg_len[8];

	for (int i = 0; i < 8; i++) {
		pg[i] = fake_page();
		seg_off[i] = (i % per_page) * lbs;
		seg_len[i] = PC_PAGE_SIZE - seg_off[i];
		if (seg_len[i] > lbs && (i & 1))
			seg_len[i] -= lbs;
	}
	/* write: each segment gets the pattern of where it lands */
	bio = pc_bio_alloc(bdev, 8);
	bio->bi_opf = PC_REQ_OP_WRITE;
	bio->bi_sector = base >> 9;
	for (int i = 0; i < 8; i++) {
		fill((char *)pg[i]->virtual + seg_off[i], base + total, seg_len[i], 2);
		assert_int_equal(pc_bio_add_page(bio, pg[i], seg_len[i], seg_off[i]), seg_len[i]);
		total += seg_len[i];
	}
	assert_int_equal(bio->bi_vcnt, 8);
	assert_int_equal(bio->bi_size, total);
	assert_int_equal(total % lbs, 0);
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	pc_bio_put(bio);
	check_host(path, base, total, 2);
	assert_true(host_is_zero(path, base + total, 4096));

	/* read back with a different split: whole pages, then check */
	for (int i = 0; i < 8; i++)
		memset(pg[i]->virtual, 0x5A, PC_PAGE_SIZE);
	bio = pc_bio_alloc(bdev, 8);
	bio->bi_opf = PC_REQ_OP_READ;
	bio->bi_sector = base >> 9;
	for (uint32_t done = 0, i = 0; done < total; i++) {
		unsigned len = PC_MIN(PC_PAGE_SIZE, total - done);

		assert_int_equal(pc_bio_add_page(bio, pg[i], len, 0), len);
		done += len;
	}
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	for (uint32_t done = 0, i = 0; done < total; i++) {
		unsigned len = PC_MIN(PC_PAGE_SIZE, total - done);

		check(pg[i]->virtual, base + done, len, 2);
		done += len;
	}
	pc_bio_put(bio);

	/* contiguous pieces of one page merge into one segment */
	bio = pc_bio_alloc(bdev, 2);
	assert_int_equal(pc_bio_add_page(bio, pg[0], lbs, 0), lbs);
	assert_int_equal(pc_bio_add_page(bio, pg[0], PC_PAGE_SIZE - lbs, lbs), PC_PAGE_SIZE - lbs);
	assert_int_equal(bio->bi_vcnt, 1);
	assert_int_equal(bio->bi_io_vec[0].bv_len, PC_PAGE_SIZE);
	assert_int_equal(pc_bio_add_page(bio, pg[1], PC_PAGE_SIZE, 0), PC_PAGE_SIZE);
	assert_int_equal(pc_bio_add_page(bio, pg[2], PC_PAGE_SIZE, 0), 0);	/* full */
	/* invalid segments are refused */
	assert_int_equal(pc_bio_add_page(bio, NULL, 512, 0), 0);
	pc_bio_put(bio);
	bio = pc_bio_alloc(bdev, 2);
	assert_int_equal(pc_bio_add_page(bio, pg[0], 0, 0), 0);
	assert_int_equal(pc_bio_add_page(bio, pg[0], 4096, 512), 0);
	assert_int_equal(pc_bio_add_page(bio, pg[0], 512, 4096), 0);
	assert_int_equal(pc_bio_add_page(NULL, pg[0], 512, 0), 0);
	assert_int_equal(bio->bi_vcnt, 0);
	pc_bio_put(bio);
	pc_bio_put(NULL);

	for (int i = 0; i < 8; i++)
		free_page(pg[i]);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_large_bio(void **state)
{
	(void)state;
	enum { N = PC_BIO_MAX_VECS };
	char *path = make_image(4 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page **pg = calloc(N + 1, sizeof(*pg));
	struct pc_bio *bio;
	uint64_t base = 1 << 20;

	for (int i = 0; i <= N; i++)
		pg[i] = fake_page();
	bio = pc_bio_alloc(bdev, 100000);	/* clamped */
	assert_int_equal(bio->bi_max_vecs, PC_BIO_MAX_VECS);
	bio->bi_opf = PC_REQ_OP_WRITE;
	bio->bi_sector = base >> 9;
	for (int i = 0; i < N; i++) {
		fill(pg[i]->virtual, base + (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 3);
		assert_int_equal(pc_bio_add_page(bio, pg[i], PC_PAGE_SIZE, 0), PC_PAGE_SIZE);
	}
	assert_int_equal(pc_bio_add_page(bio, pg[N], PC_PAGE_SIZE, 0), 0);
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	check_host(path, base, (size_t)N * PC_PAGE_SIZE, 3);
	for (int i = 0; i < N; i++)
		memset(pg[i]->virtual, 0, PC_PAGE_SIZE);
	bio->bi_opf = PC_REQ_OP_READ;
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	for (int i = 0; i < N; i++)
		check(pg[i]->virtual, base + (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 3);
	pc_bio_put(bio);

	/* a caller-built segment array longer than one engine window
	 * (PC_BIO_MAX_VECS): transferred in several pieces */
	{
		enum { SEGS = PC_BIO_MAX_VECS + 44 };
		struct pc_bio_vec *vec = calloc(SEGS, sizeof(*vec));
		uint32_t seg = 2048;

		bio = pc_bio_alloc(bdev, 0);
		bio->bi_io_vec = vec;
		bio->bi_vcnt = SEGS;
		bio->bi_max_vecs = SEGS;
		bio->bi_size = SEGS * seg;
		bio->bi_sector = base >> 9;
		bio->bi_opf = PC_REQ_OP_WRITE;
		for (int i = 0; i < SEGS; i++) {
			vec[i].bv_page = pg[i / 2];
			vec[i].bv_offset = (i % 2) * seg;
			vec[i].bv_len = seg;
			fill((char *)pg[i / 2]->virtual + vec[i].bv_offset, base + (uint64_t)i * seg, seg, 12);
		}
		if (bdev->bd_direct && bdev->bd_logical_block_size > seg) {
			pc_bio_put(bio);
			free(vec);
			goto out;
		}
		assert_int_equal(pc_submit_bio_wait(bio), 0);
		check_host(path, base, (size_t)SEGS * seg, 12);
		for (int i = 0; i <= N; i++)
			memset(pg[i]->virtual, 0, PC_PAGE_SIZE);
		bio->bi_opf = PC_REQ_OP_READ;
		assert_int_equal(pc_submit_bio_wait(bio), 0);
		for (int i = 0; i < SEGS; i++)
			check((char *)pg[i / 2]->virtual + vec[i].bv_offset, base + (uint64_t)i * seg, seg, 12);
		pc_bio_put(bio);
		free(vec);
	}
out:
	for (int i = 0; i <= N; i++)
		free_page(pg[i]);
	free(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_plug(void **state)
{
	(void)state;
	enum { N = 200 };
	char *path = make_image(2 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg[N];
	struct pc_blk_plug plug, inner;
	struct pc_bdev_stats st;
	struct tracker t;
	const struct timespec ms50 = { 0, 50 * 1000 * 1000 };

	tracker_init(&t);
	/* many bios under one plug: all complete, data right */
	pc_blk_start_plug(&plug);
	for (int i = 0; i < N; i++) {
		pg[i] = fake_page();
		fill(pg[i]->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 4);
		submit_tracked(&t, one_page_bio(bdev, pg[i], PC_REQ_OP_WRITE, (uint64_t)i * PC_PAGE_SIZE));
	}
	pc_blk_finish_plug(&plug);
	assert_int_equal(tracker_wait(&t, 30), 0);
	assert_int_equal(t.errors, 0);
	check_host(path, 0, (size_t)N * PC_PAGE_SIZE, 4);

	pc_blk_start_plug(&plug);
	for (int i = 0; i < N; i++) {
		memset(pg[i]->virtual, 0, PC_PAGE_SIZE);
		submit_tracked(&t, one_page_bio(bdev, pg[i], PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE));
	}
	pc_blk_finish_plug(&plug);
	assert_int_equal(tracker_wait(&t, 30), 0);
	for (int i = 0; i < N; i++)
		check(pg[i]->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 4);

	/* a plug holds bios back until finish; a nested plug does nothing */
	pc_blk_start_plug(&plug);
	pc_blk_start_plug(&inner);
	for (int i = 0; i < 5; i++)
		submit_tracked(&t, one_page_bio(bdev, pg[i], PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE));
	assert_null(inner.head);
	assert_int_equal(plug.count, 5);
	pc_blk_finish_plug(&inner);
	nanosleep(&ms50, NULL);
	assert_int_equal(tracker_outstanding(&t), 5);
	pc_blk_finish_plug(&plug);
	assert_int_equal(tracker_wait(&t, 30), 0);

	/* PC_BLK_PLUG_MAX queued bios go out without finish */
	pc_blk_start_plug(&plug);
	for (int i = 0; i < PC_BLK_PLUG_MAX + 3; i++)
		submit_tracked(&t, one_page_bio(bdev, pg[i], PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE));
	assert_int_equal(plug.count, 3);
	nanosleep(&ms50, NULL);
	pthread_mutex_lock(&t.m);
	while (t.outstanding > 3)
		pthread_cond_wait(&t.c, &t.m);
	pthread_mutex_unlock(&t.m);
	nanosleep(&ms50, NULL);
	assert_int_equal(tracker_outstanding(&t), 3);
	/* pc_submit_bio_wait inside a plug dispatches the plug, no deadlock */
	assert_int_equal(page_io(bdev, pg[0], PC_REQ_OP_READ, 0), 0);
	assert_int_equal(plug.count, 0);
	assert_int_equal(tracker_wait(&t, 30), 0);
	/* explicit flush */
	submit_tracked(&t, one_page_bio(bdev, pg[1], PC_REQ_OP_READ, PC_PAGE_SIZE));
	pc_blk_flush_plug();
	assert_int_equal(tracker_wait(&t, 30), 0);
	pc_blk_finish_plug(&plug);
	pc_blk_flush_plug();	/* no plug: no-op */
	check(pg[1]->virtual, PC_PAGE_SIZE, PC_PAGE_SIZE, 4);

	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.write_bios, N);
	assert_int_equal(st.read_bios, N + 5 + PC_BLK_PLUG_MAX + 3 + 2);
	assert_int_equal(st.errors, 0);
	for (int i = 0; i < N; i++)
		free_page(pg[i]);
	tracker_destroy(&t);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_out_of_range(void **state)
{
	(void)state;
	const off_t size = (1 << 20) + 100;	/* tail beyond the last sector is ignored */
	char *path = make_image(size);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg = fake_page();
	struct pc_bdev_stats st;
	struct stat sb;
	struct pc_bio *bio;

	assert_int_equal(bdev->bd_size, 1 << 20);
	fill(pg->virtual, 0, PC_PAGE_SIZE, 5);
	/* straddling the end */
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, (1 << 20) - 2048), -EIO);
	/* entirely past the end, and far past it (sector overflow) */
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 1 << 20), -EIO);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 64ull << 30), -EIO);
	bio = one_page_bio(bdev, pg, PC_REQ_OP_WRITE, 0);
	bio->bi_sector = UINT64_MAX - 3;
	assert_int_equal(pc_submit_bio_wait(bio), -EIO);
	bio->bi_opf = PC_REQ_OP_READ;
	assert_int_equal(pc_submit_bio_wait(bio), -EIO);
	pc_bio_put(bio);
	/* empty read/write */
	bio = pc_bio_alloc(bdev, 1);
	bio->bi_opf = PC_REQ_OP_READ;
	assert_int_equal(pc_submit_bio_wait(bio), -EIO);
	bio->bi_opf = PC_REQ_OP_WRITE;
	assert_int_equal(pc_submit_bio_wait(bio), -EIO);
	pc_bio_put(bio);
	/* the last page is fine */
	fill(pg->virtual, (1 << 20) - PC_PAGE_SIZE, PC_PAGE_SIZE, 5);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, (1 << 20) - PC_PAGE_SIZE), 0);

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, size);
	assert_true(host_is_zero(path, (1 << 20) - 2 * PC_PAGE_SIZE, PC_PAGE_SIZE));
	assert_true(host_is_zero(path, 1 << 20, 100));
	check_host(path, (1 << 20) - PC_PAGE_SIZE, PC_PAGE_SIZE, 5);
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.errors, 7);
	assert_int_equal(st.write_bios, 1);
	assert_int_equal(st.write_bytes, PC_PAGE_SIZE);
	assert_int_equal(st.read_bios, 0);
	free_page(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_invalid_bios(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg = fake_page();
	struct pc_bio *bio;
	void *saved;

	bio = pc_bio_alloc(bdev, 2);
	bio->bi_opf = PC_REQ_OP_WRITE;
	assert_int_equal(pc_bio_add_page(bio, pg, 100, 0), 100);	/* not a sector multiple */
	assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	pc_bio_put(bio);

	bio = one_page_bio(bdev, pg, PC_REQ_OP_READ, 0);
	bio->bi_size -= 512;			/* does not match the segments */
	assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	bio->bi_size += 512;
	bio->bi_opf = 7;			/* unknown op */
	assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	bio->bi_opf = PC_REQ_OP_READ;
	saved = pg->virtual;
	pg->virtual = NULL;
	assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	pg->virtual = saved;
	bio->bi_bdev = NULL;
	assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	bio->bi_bdev = bdev;
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	pc_submit_bio(NULL);
	assert_int_equal(pc_submit_bio_wait(NULL), -EINVAL);
	if (bdev->bd_direct && bdev->bd_logical_block_size > 512) {
		bio->bi_sector = 1;		/* misaligned for O_DIRECT */
		assert_int_equal(pc_submit_bio_wait(bio), -EINVAL);
	}
	pc_bio_put(bio);
	free_page(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_readonly(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev;
	struct pc_page *pg = fake_page();
	struct pc_bdev_stats st;
	struct pc_bio *bio;
	int fd;

	fd = open(path, O_WRONLY);
	fill(pg->virtual, 8192, PC_PAGE_SIZE, 6);
	assert_int_equal(pwrite(fd, pg->virtual, PC_PAGE_SIZE, 8192), PC_PAGE_SIZE);
	close(fd);

	bdev = open_dev(path, PC_BDEV_RDONLY);
	assert_true(bdev->bd_readonly);
	memset(pg->virtual, 0x11, PC_PAGE_SIZE);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 0), -EROFS);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE | PC_REQ_FUA, 8192), -EROFS);
	bio = pc_bio_alloc(bdev, 0);
	bio->bi_opf = PC_REQ_OP_FLUSH;
	assert_int_equal(pc_submit_bio_wait(bio), -EROFS);
	pc_bio_put(bio);
	assert_int_equal(pc_blkdev_issue_flush(bdev), -EROFS);
	assert_true(host_is_zero(path, 0, PC_PAGE_SIZE));
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_READ, 8192), 0);
	check(pg->virtual, 8192, PC_PAGE_SIZE, 6);
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.read_bios, 1);
	assert_int_equal(st.write_bios, 0);
	assert_int_equal(st.errors, 4);
	free_page(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_fault_injection(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg = fake_page();
	struct pc_bdev_stats st;
	struct tracker t;
	int expect[8] = { 0, 0, -EIO, -EIO, 0, 0, 0, 0 };

	/* the 3rd write and the next one fail, then it is disarmed */
	pc_bdev_inject_fault(bdev, PC_REQ_OP_WRITE, 3, 2, -EIO);
	for (int i = 0; i < 8; i++) {
		fill(pg->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 7);
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, (uint64_t)i * PC_PAGE_SIZE), expect[i]);
		/* reads do not count against a write fault */
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE), 0);
	}
	for (int i = 0; i < 8; i++) {
		if (expect[i])
			assert_true(host_is_zero(path, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE));
		else
			check_host(path, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 7);
	}
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.injected_faults, 2);
	assert_int_equal(st.errors, 2);
	assert_int_equal(st.write_bios, 6);

	/* asynchronous submission: the fault completes on the submitter */
	tracker_init(&t);
	pc_bdev_inject_fault(bdev, PC_REQ_OP_READ, 1, 1, -ENOSPC);
	submit_tracked(&t, one_page_bio(bdev, pg, PC_REQ_OP_READ, 0));
	assert_int_equal(tracker_outstanding(&t), 0);
	assert_int_equal(t.last_err, -ENOSPC);
	submit_tracked(&t, one_page_bio(bdev, pg, PC_REQ_OP_READ, 0));
	assert_int_equal(tracker_wait(&t, 30), 0);
	assert_int_equal(t.errors, 1);
	tracker_destroy(&t);

	/* disarming, and a positive err means -EIO */
	pc_bdev_inject_fault(bdev, PC_REQ_OP_WRITE, 2, 1, -EIO);
	pc_bdev_inject_fault(bdev, PC_REQ_OP_WRITE, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 0), 0);
	pc_bdev_inject_fault(bdev, PC_REQ_OP_WRITE, 1, 0, 5);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 0), -EIO);
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, 0), 0);
	pc_bdev_inject_fault(bdev, (enum pc_req_op)9, 1, 1, -EIO);	/* ignored */

	/* flushes: bios and pc_blkdev_issue_flush share the counter */
	pc_bdev_inject_fault(bdev, PC_REQ_OP_FLUSH, 2, 2, -EIO);
	assert_int_equal(pc_blkdev_issue_flush(bdev), 0);
	assert_int_equal(pc_blkdev_issue_flush(bdev), -EIO);
	{
		struct pc_bio *bio = pc_bio_alloc(bdev, 0);

		bio->bi_opf = PC_REQ_OP_FLUSH;
		assert_int_equal(pc_submit_bio_wait(bio), -EIO);
		assert_int_equal(pc_submit_bio_wait(bio), 0);
		pc_bio_put(bio);
	}
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.injected_faults, 2 + 1 + 1 + 2);
	assert_int_equal(st.flushes, 4);
	free_page(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_flush_fua(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg = fake_page();
	struct pc_bdev_stats st;
	struct pc_bio *bio;
	const unsigned flags[4] = { PC_REQ_FUA, PC_REQ_PREFLUSH, PC_REQ_FUA | PC_REQ_PREFLUSH,
				    PC_REQ_SYNC | PC_REQ_META };

	assert_int_equal(pc_blkdev_issue_flush(bdev), 0);
	bio = pc_bio_alloc(bdev, 0);
	bio->bi_opf = PC_REQ_OP_FLUSH;
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	pc_bio_put(bio);
	for (int i = 0; i < 4; i++) {
		fill(pg->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 8);
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE | flags[i], (uint64_t)i * PC_PAGE_SIZE), 0);
		check_host(path, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 8);
	}
	/* FUA/PREFLUSH on a read are ignored */
	assert_int_equal(page_io(bdev, pg, PC_REQ_OP_READ | PC_REQ_FUA | PC_REQ_PREFLUSH, 0), 0);
	check(pg->virtual, 0, PC_PAGE_SIZE, 8);
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.flushes, 2);
	assert_int_equal(st.write_bios, 4);
	assert_int_equal(st.errors, 0);
	free_page(pg);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void test_stats(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct pc_page *pg[2] = { fake_page(), fake_page() };
	struct pc_bdev_stats st;
	struct pc_bio *bio;

	for (int i = 0; i < 10; i++)
		assert_int_equal(page_io(bdev, pg[0], PC_REQ_OP_WRITE, (uint64_t)i * PC_PAGE_SIZE), 0);
	bio = pc_bio_alloc(bdev, 2);
	bio->bi_opf = PC_REQ_OP_READ;
	pc_bio_add_page(bio, pg[0], PC_PAGE_SIZE, 0);
	pc_bio_add_page(bio, pg[1], PC_PAGE_SIZE, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pc_submit_bio_wait(bio), 0);
	pc_bio_put(bio);
	assert_int_equal(page_io(bdev, pg[0], PC_REQ_OP_READ, 1 << 20), -EIO);
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.write_bios, 10);
	assert_int_equal(st.write_bytes, 10 * PC_PAGE_SIZE);
	assert_int_equal(st.read_bios, 3);
	assert_int_equal(st.read_bytes, 3 * 2 * PC_PAGE_SIZE);
	assert_int_equal(st.flushes, 0);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.injected_faults, 0);
	free_page(pg[0]);
	free_page(pg[1]);
	pc_bdev_close(bdev);
	drop_image(path);
}

static void roundtrip_on(const char *path, unsigned flags, bool expect_direct)
{
	struct pc_block_device *bdev = open_dev(path, flags);
	struct pc_page *pg = fake_page();

	if (!expect_direct) {
		assert_false(bdev->bd_direct);
		assert_int_equal(bdev->bd_logical_block_size, 512);
	}
	if (!bdev->bd_direct)
		assert_true(strlen(bdev->bd_direct_note) > 0);
	else
		assert_string_equal(bdev->bd_direct_note, "");
	for (int i = 0; i < 16; i++) {
		fill(pg->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 9);
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_WRITE, (uint64_t)i * PC_PAGE_SIZE), 0);
	}
	assert_int_equal(pc_blkdev_issue_flush(bdev), 0);
	for (int i = 0; i < 16; i++) {
		memset(pg->virtual, 0, PC_PAGE_SIZE);
		assert_int_equal(page_io(bdev, pg, PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE), 0);
		check(pg->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 9);
	}
	check_host(path, 0, 16 * PC_PAGE_SIZE, 9);
	free_page(pg);
	pc_bdev_close(bdev);
}

static void test_buffered_fallbacks(void **state)
{
	(void)state;
	char *path = make_image(1 << 20);

	roundtrip_on(path, PC_BDEV_NO_DIRECT, false);
	/* a host that refuses O_DIRECT at open (the tmpfs case on older kernels) */
	{
		struct pc_block_device *bdev = open_dev(path, PC_BDEV_TEST_REFUSE_DIRECT);

		assert_false(bdev->bd_direct);
		assert_non_null(strstr(bdev->bd_direct_note, "refused"));
		pc_bdev_close(bdev);
	}
	roundtrip_on(path, PC_BDEV_TEST_REFUSE_DIRECT, false);
	drop_image(path);

	/* real tmpfs: whatever the kernel says about O_DIRECT, I/O works */
	if (access("/dev/shm", W_OK) == 0) {
		path = make_image_in("/dev/shm", 1 << 20);
		roundtrip_on(path, 0, true);
		drop_image(path);
	}
}

static void test_eof_zero_fill(void **state)
{
	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		char *path = make_image(64 * 1024);
		struct pc_block_device *bdev = open_dev(path, pass ? PC_BDEV_NO_DIRECT : 0);
		struct pc_page *pg[2] = { fake_page(), fake_page() };
		struct pc_bio *bio;
		uint8_t *buf = malloc(64 * 1024);
		int fd;

		fill(buf, 0, 64 * 1024, 10);
		fd = open(path, O_WRONLY);
		assert_int_equal(pwrite(fd, buf, 64 * 1024, 0), 64 * 1024);
		/* the image shrinks behind the device's back */
		assert_int_equal(ftruncate(fd, 16 * 1024), 0);
		close(fd);
		/* entirely past host EOF, inside bd_size: zeros */
		memset(pg[0]->virtual, 0x55, PC_PAGE_SIZE);
		assert_int_equal(page_io(bdev, pg[0], PC_REQ_OP_READ, 32 * 1024), 0);
		for (unsigned k = 0; k < PC_PAGE_SIZE; k++)
			assert_int_equal(((uint8_t *)pg[0]->virtual)[k], 0);
		/* straddling host EOF: data, then zeros */
		memset(pg[0]->virtual, 0x55, PC_PAGE_SIZE);
		memset(pg[1]->virtual, 0x55, PC_PAGE_SIZE);
		bio = pc_bio_alloc(bdev, 2);
		bio->bi_opf = PC_REQ_OP_READ;
		bio->bi_sector = (12 * 1024) >> 9;
		pc_bio_add_page(bio, pg[0], PC_PAGE_SIZE, 0);
		pc_bio_add_page(bio, pg[1], PC_PAGE_SIZE, 0);
		assert_int_equal(pc_submit_bio_wait(bio), 0);
		check(pg[0]->virtual, 12 * 1024, PC_PAGE_SIZE, 10);
		for (unsigned k = 0; k < PC_PAGE_SIZE; k++)
			assert_int_equal(((uint8_t *)pg[1]->virtual)[k], 0);
		pc_bio_put(bio);
		free(buf);
		free_page(pg[0]);
		free_page(pg[1]);
		pc_bdev_close(bdev);
		drop_image(path);
	}
}

/* ---- concurrency: many submitters, more bios than engine slots, and
 * bi_end_io callbacks that submit (chains and fan-out) ---- */

struct conc_arg {
	struct pc_block_device *bdev;
	struct tracker *t;
	int id, n;
	struct pc_page **pg;
};

static void *conc_writer(void *p)
{
	struct conc_arg *a = p;
	struct pc_blk_plug plug;

	for (int i = 0; i < a->n; i++) {
		uint64_t off = ((uint64_t)a->id * a->n + i) * PC_PAGE_SIZE;

		if (i % 50 == 0)
			pc_blk_start_plug(&plug);
		fill(a->pg[i]->virtual, off, PC_PAGE_SIZE, 11);
		submit_tracked(a->t, one_page_bio(a->bdev, a->pg[i], PC_REQ_OP_WRITE, off));
		if (i % 50 == 49 || i == a->n - 1)
			pc_blk_finish_plug(&plug);
	}
	return NULL;
}

struct chain {
	struct tracker *t;
	struct pc_page *pg;
	int hops, fanout;
	struct pc_page **fan_pages;
};

static void chain_end_io(struct pc_bio *bio)
{
	struct chain *c = bio->bi_private;
	struct pc_block_device *bdev = bio->bi_bdev;
	uint64_t off = (uint64_t)bio->bi_sector << PC_SECTOR_SHIFT;
	int st = bio->bi_status;

	pc_bio_put(bio);
	if (st == 0 && c->fanout) {
		/* from the engine thread: more bios than the engine has slots */
		int n = c->fanout;

		c->fanout = 0;
		tracker_add(c->t, n);
		for (int i = 0; i < n; i++) {
			struct pc_bio *b = one_page_bio(bdev, c->fan_pages[i], PC_REQ_OP_READ,
							(uint64_t)i * PC_PAGE_SIZE);

			b->bi_end_io = track_end_io;
			b->bi_private = c->t;
			pc_submit_bio(b);
		}
	}
	if (st == 0 && c->hops > 0) {
		struct pc_bio *b = one_page_bio(bdev, c->pg, PC_REQ_OP_READ, off);

		c->hops--;
		b->bi_end_io = chain_end_io;
		b->bi_private = c;
		pc_submit_bio(b);
		return;
	}
	tracker_done(c->t, st);
}

static void test_concurrency(void **state)
{
	(void)state;
	enum { THREADS = 4, PER = 300, FAN = 600, CHAINS = 8 };
	char *path = make_image((THREADS * PER + 16) * (off_t)PC_PAGE_SIZE);
	struct pc_block_device *bdev = open_dev(path, 0);
	struct conc_arg args[THREADS];
	pthread_t th[THREADS];
	struct tracker t;
	struct chain ch[CHAINS];
	struct pc_page *fan[FAN];
	struct pc_bdev_stats st;

	tracker_init(&t);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct conc_arg){ .bdev = bdev, .t = &t, .id = i, .n = PER };
		args[i].pg = calloc(PER, sizeof(struct pc_page *));
		for (int k = 0; k < PER; k++)
			args[i].pg[k] = fake_page();
		assert_int_equal(pthread_create(&th[i], NULL, conc_writer, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(tracker_wait(&t, 60), 0);
	assert_int_equal(t.errors, 0);
	check_host(path, 0, (size_t)THREADS * PER * PC_PAGE_SIZE, 11);

	/* chains of reads resubmitted from bi_end_io, one of them fanning out */
	for (int i = 0; i < FAN; i++)
		fan[i] = fake_page();
	tracker_add(&t, CHAINS);
	for (int i = 0; i < CHAINS; i++) {
		struct pc_bio *b;

		ch[i] = (struct chain){ .t = &t, .pg = fake_page(), .hops = 20,
					.fanout = i == 0 ? FAN : 0, .fan_pages = fan };
		b = one_page_bio(bdev, ch[i].pg, PC_REQ_OP_READ, (uint64_t)i * PC_PAGE_SIZE);
		b->bi_end_io = chain_end_io;
		b->bi_private = &ch[i];
		pc_submit_bio(b);
	}
	assert_int_equal(tracker_wait(&t, 60), 0);
	assert_int_equal(t.errors, 0);
	for (int i = 0; i < FAN; i++) {
		check(fan[i]->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 11);
		free_page(fan[i]);
	}
	for (int i = 0; i < CHAINS; i++) {
		check(ch[i].pg->virtual, (uint64_t)i * PC_PAGE_SIZE, PC_PAGE_SIZE, 11);
		free_page(ch[i].pg);
	}
	pc_bdev_get_stats(bdev, &st);
	assert_int_equal(st.write_bios, THREADS * PER);
	assert_int_equal(st.read_bios, FAN + CHAINS * 21);

	/* close waits for bios still in flight */
	for (int k = 0; k < PER; k++)
		submit_tracked(&t, one_page_bio(bdev, args[0].pg[k], PC_REQ_OP_READ,
						(uint64_t)k * PC_PAGE_SIZE));
	pc_bdev_close(bdev);
	assert_int_equal(tracker_outstanding(&t), 0);
	assert_int_equal(t.errors, 0);

	for (int i = 0; i < THREADS; i++) {
		for (int k = 0; k < PER; k++)
			free_page(args[i].pg[k]);
		free(args[i].pg);
	}
	tracker_destroy(&t);
	drop_image(path);
}

#define BLOCK_TESTS(prefix)						\
	cmocka_unit_test(test_open_basic),				\
	cmocka_unit_test(test_open_errors),				\
	cmocka_unit_test(test_rw_roundtrip),				\
	cmocka_unit_test(test_multiseg),				\
	cmocka_unit_test(test_large_bio),				\
	cmocka_unit_test(test_plug),					\
	cmocka_unit_test(test_out_of_range),				\
	cmocka_unit_test(test_invalid_bios),				\
	cmocka_unit_test(test_readonly),				\
	cmocka_unit_test(test_fault_injection),				\
	cmocka_unit_test(test_flush_fua),				\
	cmocka_unit_test(test_stats),					\
	cmocka_unit_test(test_buffered_fallbacks),			\
	cmocka_unit_test(test_eof_zero_fill),				\
	cmocka_unit_test(test_concurrency)

static bool uring_available(void)
{
	struct pc_block_device *bdev;
	char *path = make_image(1 << 20);
	int err = pc_bdev_open(path, PC_ENGINE_URING, 0, &bdev);

	if (!err)
		pc_bdev_close(bdev);
	drop_image(path);
	return err == 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = { BLOCK_TESTS() };
	int fails = 0;

	unsetenv("PC_ENGINE");
	if (uring_available()) {
		g_engine = PC_ENGINE_URING;
		fails += cmocka_run_group_tests_name("block/uring", tests, NULL, NULL);
	} else {
		fprintf(stderr, "io_uring unavailable here: skipping the uring group\n");
	}
	g_engine = PC_ENGINE_PREAD;
	fails += cmocka_run_group_tests_name("block/pread", tests, NULL, NULL);
	return fails ? 1 : 0;
}
