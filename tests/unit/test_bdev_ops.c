/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_bdev_ops.c - user block devices (struct
 * pc_blockdev_operations, pc_bdev_create, pc_bio_endio) and the fault
 * wrapper built on them (pc_bdev_fault_wrap, pc_bdev_fault_arm).
 *
 * The device under test is a RAM disk written here with the public API
 * only. It completes bios either inside ->submit (synchronous) or from its
 * own completion thread (asynchronous). An ext4 image made by mke2fs is
 * read into it and mounted through pc_mount_opts.bdev; files are written
 * and read back through the cache (buffered and O_DIRECT), fsync must reach
 * ->flush (or a FLUSH bio), and after umount the RAM disk is written back to
 * a file that e2fsck -fn must find clean and debugfs must dump byte for
 * byte. The fault wrapper fails the chosen write and fsync reports -EIO.
 *
 * Needs e2fsprogs (mke2fs, e2fsck, debugfs); images under $PC_TEST_TMPDIR.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pagecache/pagecache.h>
#include <pagecache/blkdev.h>
#include "test_util.h"

/* ------------------------------------------------------------------ */
/* the RAM disk: public API only                                      */
/* ------------------------------------------------------------------ */

struct ramdisk {
	unsigned char *data;
	uint64_t size;
	bool async;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pc_bio *head, *tail;	/* queue for the completion thread */
	bool stop;
	_Atomic unsigned long submits, reads, writes, flush_bios, flush_calls, fua_writes;
	_Atomic unsigned long done_on_thread, done_in_submit;
	_Atomic bool destroyed;
};

static void ram_do(struct ramdisk *rd, struct pc_bio *bio)
{
	uint64_t pos = (uint64_t)bio->bi_sector * 512;
	unsigned i;

	switch (PC_BIO_OP(bio)) {
	case PC_REQ_OP_FLUSH:
		atomic_fetch_add(&rd->flush_bios, 1);
		return;
	case PC_REQ_OP_WRITE:
		atomic_fetch_add(&rd->writes, 1);
		if (bio->bi_opf & PC_REQ_FUA)
			atomic_fetch_add(&rd->fua_writes, 1);
		break;
	default:
		atomic_fetch_add(&rd->reads, 1);
		break;
	}
	/* The block layer checked the range: never past the end. */
	assert_true(pos + bio->bi_size <= rd->size);
	for (i = 0; i < bio->bi_vcnt; i++) {
		const struct pc_bio_vec *bv = &bio->bi_io_vec[i];
		char *mem = (char *)bv->bv_page->virtual + bv->bv_offset;

		if (PC_BIO_OP(bio) == PC_REQ_OP_WRITE)
			memcpy(rd->data + pos, mem, bv->bv_len);
		else
			memcpy(mem, rd->data + pos, bv->bv_len);
		pos += bv->bv_len;
	}
}

static void *ram_thread(void *arg)
{
	struct ramdisk *rd = arg;

	pthread_mutex_lock(&rd->lock);
	for (;;) {
		struct pc_bio *bio;

		while (!rd->head && !rd->stop)
			pthread_cond_wait(&rd->cond, &rd->lock);
		if (!rd->head)
			break;
		bio = rd->head;
		rd->head = bio->bi_next;
		if (!rd->head)
			rd->tail = NULL;
		bio->bi_next = NULL;
		/* Complete without our lock: bi_end_io may submit again. */
		pthread_mutex_unlock(&rd->lock);
		ram_do(rd, bio);
		atomic_fetch_add(&rd->done_on_thread, 1);
		pc_bio_endio(bio, 0);
		pthread_mutex_lock(&rd->lock);
	}
	pthread_mutex_unlock(&rd->lock);
	return NULL;
}

static void ram_submit(struct pc_block_device *bdev, struct pc_bio *list)
{
	struct ramdisk *rd = bdev->bd_private;

	while (list) {
		struct pc_bio *bio = list;

		list = bio->bi_next;
		bio->bi_next = NULL;
		atomic_fetch_add(&rd->submits, 1);
		if (!rd->async) {
			ram_do(rd, bio);
			atomic_fetch_add(&rd->done_in_submit, 1);
			pc_bio_endio(bio, 0);
			continue;
		}
		pthread_mutex_lock(&rd->lock);
		if (rd->tail)
			rd->tail->bi_next = bio;
		else
			rd->head = bio;
		rd->tail = bio;
		pthread_cond_signal(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
	}
}

static int ram_flush(struct pc_block_device *bdev)
{
	struct ramdisk *rd = bdev->bd_private;

	atomic_fetch_add(&rd->flush_calls, 1);
	return 0;
}

static void ram_destroy(struct pc_block_device *bdev)
{
	struct ramdisk *rd = bdev->bd_private;

	if (rd->async) {
		pthread_mutex_lock(&rd->lock);
		rd->stop = true;
		pthread_cond_signal(&rd->cond);
		pthread_mutex_unlock(&rd->lock);
		pthread_join(rd->thread, NULL);
	}
	atomic_store(&rd->destroyed, true);
}

static const struct pc_blockdev_operations ram_ops = {
	.name = "ramdisk",
	.submit = ram_submit,
	.flush = ram_flush,
	.destroy = ram_destroy,
};

static struct ramdisk *ram_new(uint64_t size, bool async)
{
	struct ramdisk *rd = calloc(1, sizeof(*rd));

	assert_non_null(rd);
	rd->data = calloc(1, size);
	assert_non_null(rd->data);
	rd->size = size;
	rd->async = async;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_cond_init(&rd->cond, NULL);
	if (async)
		assert_int_equal(pthread_create(&rd->thread, NULL, ram_thread, rd), 0);
	return rd;
}

static void ram_free(struct ramdisk *rd)
{
	pthread_cond_destroy(&rd->cond);
	pthread_mutex_destroy(&rd->lock);
	free(rd->data);
	free(rd);
}

/* ------------------------------------------------------------------ */
/* image files                                                        */
/* ------------------------------------------------------------------ */

#define IMG_SIZE (32u << 20)

static const char *tmpdir(void)
{
	const char *d = getenv("PC_TEST_TMPDIR");

	if (!d || !*d)
		d = "/tmp";
	mkdir(d, 0755);
	return d;
}

static void img_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "%s/bdev_ops-%d-%s.img", tmpdir(), (int)getpid(), what);
}

/* mke2fs an image file and load it into @rd. */
static void load_fresh_ext4(struct ramdisk *rd, unsigned bs)
{
	char img[512], log[600];
	FILE *f;

	img_path(img, sizeof(img), "src");
	snprintf(log, sizeof(log), "%s.log", img);
	unlink(img);
	assert_int_equal(tu_run("mke2fs -q -F -t ext4 -b %u '%s' %uk >'%s' 2>&1", bs, img,
				IMG_SIZE >> 10, log), 0);
	f = fopen(img, "rb");
	assert_non_null(f);
	assert_int_equal(fread(rd->data, 1, rd->size, f), rd->size);
	fclose(f);
	unlink(img);
	unlink(log);
}

/* Write @rd back to a file and check it with e2fsck -fn; returns the path. */
static void store_and_fsck(struct ramdisk *rd, char *img, size_t len)
{
	FILE *f;

	img_path(img, len, "back");
	f = fopen(img, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(rd->data, 1, rd->size, f), rd->size);
	assert_int_equal(fclose(f), 0);
	if (tu_run("e2fsck -fn '%s' >'%s.fsck' 2>&1", img, img) != 0) {
		char log[600];

		snprintf(log, sizeof(log), "%s.fsck", img);
		tu_show_file(log);
		fail_msg("e2fsck -fn found problems in the RAM disk's image");
	}
	{
		char log[600];

		snprintf(log, sizeof(log), "%s.fsck", img);
		unlink(log);
	}
}

/* debugfs dump of @path in @img equals @want. */
static void check_dump(const char *img, const char *path, const unsigned char *want, size_t len)
{
	char out[600];
	unsigned char *got = malloc(len + 1);
	FILE *f;

	assert_non_null(got);
	snprintf(out, sizeof(out), "%s.dump", img);
	assert_int_equal(tu_run("debugfs -R 'dump %s %s' '%s' >/dev/null 2>&1", path, out, img), 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len + 1, f), len);
	fclose(f);
	unlink(out);
	assert_memory_equal(got, want, len);
	free(got);
}

static struct pc_mount *mount_on(struct pc_block_device *bdev)
{
	struct pc_mount_opts opts;
	struct pc_mount *m = NULL;
	int err;

	memset(&opts, 0, sizeof(opts));
	opts.cache_size = 16u << 20;
	opts.bdev = bdev;
	err = pc_mount("ext4", NULL, &opts, &m);
	if (err)
		fail_msg("pc_mount on the user device: %d (%s)", err, pc_mount_error());
	return m;
}

/* ------------------------------------------------------------------ */
/* tests                                                              */
/* ------------------------------------------------------------------ */

#define BIG (3u << 20)		/* buffered file: 3 MiB + a tail */
#define BIG_LEN (BIG + 1234)
#define DIO (256u << 10)	/* direct file */

static void ext4_on_ramdisk(bool async, unsigned lbs, unsigned fsbs)
{
	struct ramdisk *rd = ram_new(IMG_SIZE, async);
	struct pc_block_device *bdev;
	unsigned char *buf = malloc(BIG_LEN), *back = malloc(BIG_LEN), *dbuf = NULL, *dback = NULL;
	unsigned long flushes, writes;
	struct pc_mount_stats st;
	struct pc_mount *m;
	char img[512];
	int fd;

	assert_non_null(buf);
	assert_non_null(back);
	assert_int_equal(posix_memalign((void **)&dbuf, 4096, DIO), 0);
	assert_int_equal(posix_memalign((void **)&dback, 4096, DIO), 0);
	load_fresh_ext4(rd, fsbs);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, "ramdisk", rd->size, lbs, 0, &bdev), 0);
	assert_ptr_equal(bdev->bd_private, rd);
	assert_int_equal(bdev->bd_size, rd->size);
	assert_int_equal(bdev->bd_logical_block_size, lbs);

	m = mount_on(bdev);
	pc_mount_get_stats(m, &st);
	assert_string_equal(st.engine, "ramdisk");
	/* one mount per device */
	{
		struct pc_mount_opts o = { .bdev = bdev };
		struct pc_mount *m2;

		assert_int_equal(pc_mount("ext4", NULL, &o, &m2), -EBUSY);
	}

	/* buffered write, fsync reaches the device's flush */
	tu_fill(buf, 0, BIG_LEN, 7);
	fd = pc_open(m, "/big", O_CREAT | O_RDWR | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, buf, BIG_LEN, 0), BIG_LEN);
	flushes = atomic_load(&rd->flush_calls) + atomic_load(&rd->flush_bios);
	writes = atomic_load(&rd->writes);
	assert_int_equal(pc_fsync(fd), 0);
	assert_true(atomic_load(&rd->writes) > writes);
	assert_true(atomic_load(&rd->flush_calls) + atomic_load(&rd->flush_bios) > flushes);
	assert_int_equal(pc_close(fd), 0);

	/* O_DIRECT: the write reaches the device before any fsync */
	tu_fill(dbuf, 0, DIO, 9);
	fd = pc_open(m, "/direct", O_CREAT | O_RDWR | O_DIRECT, 0644);
	assert_true(fd >= 0);
	writes = atomic_load(&rd->writes);
	assert_int_equal(pc_pwrite(fd, dbuf, DIO, 0), DIO);
	assert_true(atomic_load(&rd->writes) > writes);
	memset(dback, 0, DIO);
	assert_int_equal(pc_pread(fd, dback, DIO, 0), DIO);
	assert_memory_equal(dback, dbuf, DIO);
	assert_int_equal(pc_close(fd), 0);
	assert_int_equal(pc_umount(m), 0);

	/* remount: reads come from the RAM disk, through the cache */
	m = mount_on(bdev);
	{
		unsigned long reads = atomic_load(&rd->reads);

		fd = pc_open(m, "/big", O_RDONLY, 0);
		assert_true(fd >= 0);
		memset(back, 0, BIG_LEN);
		assert_int_equal(pc_pread(fd, back, BIG_LEN, 0), BIG_LEN);
		assert_memory_equal(back, buf, BIG_LEN);
		assert_true(atomic_load(&rd->reads) > reads);
		assert_int_equal(pc_close(fd), 0);
	}
	assert_int_equal(pc_umount(m), 0);
	assert_false(atomic_load(&rd->destroyed));	/* borrowed by the mount */

	if (async) {
		assert_true(atomic_load(&rd->done_on_thread) > 0);
		assert_int_equal(atomic_load(&rd->done_in_submit), 0);
	} else {
		assert_true(atomic_load(&rd->done_in_submit) > 0);
	}
	pc_bdev_close(bdev);
	assert_true(atomic_load(&rd->destroyed));

	store_and_fsck(rd, img, sizeof(img));
	check_dump(img, "/big", buf, BIG_LEN);
	check_dump(img, "/direct", dbuf, DIO);
	unlink(img);
	ram_free(rd);
	free(buf);
	free(back);
	free(dbuf);
	free(dback);
}

static void test_ext4_async_ramdisk(void **state)
{
	(void)state;
	ext4_on_ramdisk(true, 512, 4096);
}

static void test_ext4_sync_ramdisk(void **state)
{
	(void)state;
	ext4_on_ramdisk(false, 4096, 4096);
}

static void test_ext4_async_ramdisk_1k(void **state)
{
	(void)state;
	ext4_on_ramdisk(true, 512, 1024);
}

/* Argument checks, and what the block layer keeps away from ->submit. */
static void test_create_contract(void **state)
{
	static const struct pc_blockdev_operations no_submit = { .name = "x" };
	struct ramdisk *rd = ram_new(1 << 20, false);
	struct pc_block_device *bdev, *ro;
	struct pc_page page = { 0 };
	struct pc_bio *bio;
	void *mem = NULL;

	(void)state;
	assert_int_equal(pc_bdev_create(NULL, rd, NULL, 1 << 20, 512, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_create(&no_submit, rd, NULL, 1 << 20, 512, 0, &bdev), -EINVAL);
	assert_null(bdev);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, 512, 512, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, 1 << 20, 3000, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, 1 << 20, 8192, 0, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, 1 << 20, 512, PC_BDEV_EXCL, &bdev), -EINVAL);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, 1 << 20, 512, 0, NULL), -EINVAL);
	assert_int_equal(pc_bdev_fault_arm(NULL, PC_REQ_OP_WRITE, 1, 1, -EIO), -EINVAL);
	assert_int_equal(pc_bdev_fault_wrap(NULL, &bdev), -EINVAL);

	assert_int_equal(pc_bdev_create(&ram_ops, rd, NULL, (1 << 20) + 100, 512, 0, &bdev), 0);
	assert_int_equal(bdev->bd_size, 1 << 20);		/* rounded down to 512 */
	assert_string_equal(bdev->bd_path, "user");
	assert_string_equal(bdev->bd_engine_name, "ramdisk");
	/* not a fault wrapper */
	assert_int_equal(pc_bdev_fault_arm(bdev, PC_REQ_OP_WRITE, 1, 1, -EIO), -EINVAL);

	assert_int_equal(posix_memalign(&mem, 4096, 4096), 0);
	page.virtual = mem;
	memset(mem, 0xab, 4096);
	/* in range: reaches the device */
	bio = pc_bio_alloc(bdev, 1);
	bio->bi_opf = PC_REQ_OP_WRITE | PC_REQ_FUA;
	bio->bi_sector = (1 << 20) / 512 - 8;
	assert_int_equal(pc_bio_add_page(bio, &page, 4096, 0), 4096);
	assert_int_equal(pc_submit_bio_wait(bio), 0);
	assert_int_equal(atomic_load(&rd->writes), 1);
	assert_int_equal(atomic_load(&rd->fua_writes), 1);
	assert_int_equal(rd->data[(1 << 20) - 1], 0xab);
	/* past the end: -EIO, never reaches ->submit */
	bio->bi_sector = (1 << 20) / 512 - 4;
	assert_int_equal(pc_submit_bio_wait(bio), -EIO);
	/* pc_submit_bio_direct on a user device */
	bio->bi_sector = 0;
	bio->bi_opf = PC_REQ_OP_READ;
	assert_int_equal(pc_submit_bio_direct(bio), 0);
	assert_int_equal(atomic_load(&rd->submits), 2);
	pc_bio_put(bio);
	assert_int_equal(pc_blkdev_issue_flush(bdev), 0);
	assert_int_equal(atomic_load(&rd->flush_calls), 1);
	pc_bdev_close(bdev);
	assert_true(atomic_load(&rd->destroyed));

	/* read-only: writes and flushes fail before the device */
	atomic_store(&rd->destroyed, false);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, "ro", 1 << 20, 512, PC_BDEV_RDONLY, &ro), 0);
	bio = pc_bio_alloc(ro, 1);
	bio->bi_opf = PC_REQ_OP_WRITE;
	assert_int_equal(pc_bio_add_page(bio, &page, 4096, 0), 4096);
	assert_int_equal(pc_submit_bio_wait(bio), -EROFS);
	pc_bio_put(bio);
	assert_int_equal(pc_blkdev_issue_flush(ro), -EROFS);
	assert_int_equal(atomic_load(&rd->submits), 2);
	assert_int_equal(atomic_load(&rd->flush_calls), 1);
	/* ramfs has no block device */
	{
		struct pc_mount_opts o = { .bdev = ro };
		struct pc_mount *m;

		assert_int_equal(pc_mount("ramfs", NULL, &o, &m), -EINVAL);
	}
	pc_bdev_close(ro);
	free(mem);
	ram_free(rd);
}

/* The fault wrapper on the RAM disk: the chosen write fails, fsync says so
 * once, the next fsync is clean; a failed flush is reported too. */
static void test_fault_wrapper(void **state)
{
	struct ramdisk *rd = ram_new(IMG_SIZE, true);
	struct pc_block_device *inner, *wrap;
	struct pc_bdev_stats bs;
	unsigned char *buf = malloc(1 << 20);
	struct pc_mount *m;
	char img[512];
	int fd;

	(void)state;
	assert_non_null(buf);
	load_fresh_ext4(rd, 4096);
	assert_int_equal(pc_bdev_create(&ram_ops, rd, "ramdisk", rd->size, 512, 0, &inner), 0);
	assert_int_equal(pc_bdev_fault_wrap(inner, &wrap), 0);
	assert_int_equal(wrap->bd_size, inner->bd_size);
	assert_string_equal(wrap->bd_engine_name, "ramdisk");
	m = mount_on(wrap);

	tu_fill(buf, 0, 1 << 20, 1);
	fd = pc_open(m, "/f", O_CREAT | O_RDWR, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pc_pwrite(fd, buf, 1 << 20, 0), 1 << 20);
	assert_int_equal(pc_fsync(fd), 0);

	/* the first write bio from now on fails */
	tu_fill(buf, 0, 1 << 20, 2);
	assert_int_equal(pc_pwrite(fd, buf, 1 << 20, 0), 1 << 20);
	assert_int_equal(pc_bdev_fault_arm(wrap, PC_REQ_OP_WRITE, 1, 1, -EIO), 0);
	assert_int_equal(pc_fsync(fd), -EIO);
	assert_int_equal(pc_fsync(fd), 0);
	pc_bdev_get_stats(wrap, &bs);
	assert_true(bs.errors >= 1);
	assert_int_equal(bs.injected_faults, 1);

	/* a failed device flush reaches fsync too */
	tu_fill(buf, 0, 1 << 20, 3);
	assert_int_equal(pc_pwrite(fd, buf, 1 << 20, 0), 1 << 20);
	assert_int_equal(pc_bdev_fault_arm(wrap, PC_REQ_OP_FLUSH, 1, 1, -EIO), 0);
	assert_int_equal(pc_fsync(fd), -EIO);
	assert_int_equal(pc_bdev_fault_arm(wrap, PC_REQ_OP_FLUSH, 0, 0, 0), 0);

	/* and a clean write after the faults is durable */
	tu_fill(buf, 0, 1 << 20, 4);
	assert_int_equal(pc_pwrite(fd, buf, 1 << 20, 0), 1 << 20);
	assert_int_equal(pc_fsync(fd), 0);
	assert_int_equal(pc_close(fd), 0);
	(void)pc_umount(m);	/* the mount's own cursor may still report the fault */
	assert_false(atomic_load(&rd->destroyed));
	pc_bdev_close(wrap);		/* owns the inner device */
	assert_true(atomic_load(&rd->destroyed));

	store_and_fsck(rd, img, sizeof(img));
	check_dump(img, "/f", buf, 1 << 20);
	unlink(img);
	ram_free(rd);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_contract),
		cmocka_unit_test(test_ext4_async_ramdisk),
		cmocka_unit_test(test_ext4_sync_ramdisk),
		cmocka_unit_test(test_ext4_async_ramdisk_1k),
		cmocka_unit_test(test_fault_wrapper),
	};

	if (tu_run("{ command -v mke2fs && command -v e2fsck && command -v debugfs; } >/dev/null") != 0) {
		fprintf(stderr, "e2fsprogs missing: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests_name("bdev_ops", tests, NULL, NULL);
}
