/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_buffer.c - layer 7: buffer heads, the block device's
 * buffer cache, block_read/write_full_page, block_write_begin/end and
 * mpage reads and writes.
 *
 * A fake filesystem: one inode (struct pc_inode set up by hand, i_blkbits
 * 10 or 12) whose get_block (tfs_get_block) maps file blocks through a
 * table, with knobs for holes, discontiguous blocks, allocation (PC_BH_New,
 * sequential or fragmented), PC_BH_Boundary every N blocks, and failures. Data
 * lives on an image file filled with a known pattern ("stale" contents), so
 * every check is a byte comparison against the pattern, zeros or what was
 * written, read back through the library or straight from the image with
 * pread(2). Bio counts come from pc_bdev_get_stats.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pagecache/blkdev.h"
#include "pagecache/buffer_head.h"
#include "pagecache/filemap.h"
#include "pagecache/mm.h"
#include "pagecache/mpage.h"
#include "pagecache/vfs.h"
#include "pagecache/writeback.h"

#define IMG_SIZE	(16u << 20)	/* image bytes */
#define NBLK		16384		/* file blocks the fake fs can map */
#define PGSZ		((unsigned)PC_PAGE_SIZE)

/* ------------------------------------------------------------------------ */
/* the fake filesystem                                                       */
/* ------------------------------------------------------------------------ */

struct tfs {
	pthread_mutex_t lock;
	unsigned blkbits;
	pc_sector_t map[NBLK];	/* file block -> disk block + 1; 0: hole */
	bool alloc;		/* create=1 allocates holes */
	pc_sector_t next_free;	/* allocator cursor (disk blocks) */
	unsigned max_run;	/* longest run mapped/allocated at once (0: any) */
	unsigned alloc_gap;	/* disk blocks skipped after each allocation */
	unsigned boundary_every; /* runs end (PC_BH_Boundary) at multiples of this */
	long fail_block;	/* -1: none */
	int fail_err;
	bool fail_create_only;
	unsigned calls, create_calls;
	size_t max_req;		/* largest b_size asked for */
	bool meta_read;		/* each call reads a "metadata" page of the bdev
				 * cache first and waits for it (like an
				 * extent-tree lookup through the io_manager) */
	pc_pgoff_t meta_index;
};

struct env {
	char *path;
	int hostfd;
	struct pc_cache *cache;
	struct pc_block_device *bdev;
	struct pc_super_block *sb;
	struct pc_inode *inode;
	struct pc_address_space *mapping;
	struct tfs fs;
};

static struct env E;

static uint8_t pat(uint64_t devoff)
{
	uint64_t x = devoff * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;

	return (uint8_t)(x >> 56);
}

static int tfs_get_block(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh, int create)
{
	struct tfs *fs = &E.fs;
	unsigned bits = fs->blkbits;
	pc_sector_t want, n, disk;

	assert_true(inode == E.inode);
	assert_non_null(bh->b_page);
	assert_true(pc_PageLocked(bh->b_page));
	if (fs->meta_read) {
		int err = 0;
		struct pc_page *mp = pc_read_mapping_page(&E.bdev->bd_mapping, 64 + fs->meta_index++,
							  NULL, &err);

		assert_non_null(mp);
		pc_put_page(mp);
	}
	pthread_mutex_lock(&fs->lock);
	fs->calls++;
	if (create)
		fs->create_calls++;
	if (bh->b_size > fs->max_req)
		fs->max_req = bh->b_size;
	want = bh->b_size >> bits;
	if (want == 0)
		want = 1;
	if (iblock >= NBLK) {
		pthread_mutex_unlock(&fs->lock);
		return -EFBIG;
	}
	if (want > NBLK - iblock)
		want = NBLK - iblock;
	if (fs->max_run && want > fs->max_run)
		want = fs->max_run;
	if (fs->boundary_every) {
		pc_sector_t to_b = fs->boundary_every - (iblock % fs->boundary_every);

		if (want > to_b)
			want = to_b;
	}
	if (fs->fail_block >= 0 && (!fs->fail_create_only || create)) {
		if ((pc_sector_t)fs->fail_block == iblock) {
			int err = fs->fail_err;

			pthread_mutex_unlock(&fs->lock);
			return err;
		}
		if ((pc_sector_t)fs->fail_block > iblock && (pc_sector_t)fs->fail_block < iblock + want)
			want = (pc_sector_t)fs->fail_block - iblock;
	}

	if (fs->map[iblock] == 0) {
		if (!create || !fs->alloc) {
			for (n = 1; n < want && fs->map[iblock + n] == 0; n++)
				;
			bh->b_size = (size_t)n << bits;
			pthread_mutex_unlock(&fs->lock);
			return 0;	/* a hole */
		}
		disk = fs->next_free;
		for (n = 0; n < want && fs->map[iblock + n] == 0; n++)
			fs->map[iblock + n] = disk + n + 1;
		fs->next_free += n + fs->alloc_gap;
		pc_set_buffer_new(bh);
		/* the get_block contract: forget metadata aliases of new blocks */
		pc_clean_bdev_aliases(E.bdev, disk << bits >> 10, n << bits >> 10);
	} else {
		disk = fs->map[iblock] - 1;
		for (n = 1; n < want && fs->map[iblock + n] == fs->map[iblock] + n; n++)
			;
	}
	pc_map_bh(bh, E.bdev, disk);
	bh->b_size = (size_t)n << bits;
	if (fs->boundary_every && (iblock + n) % fs->boundary_every == 0)
		pc_set_buffer_boundary(bh);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Map file blocks [first, first+n) to disk blocks [disk, disk+n). */
static void tfs_map(pc_sector_t first, pc_sector_t n, pc_sector_t disk)
{
	for (pc_sector_t i = 0; i < n; i++)
		E.fs.map[first + i] = disk + i + 1;
}

static void tfs_reset_counts(void)
{
	E.fs.calls = E.fs.create_calls = 0;
	E.fs.max_req = 0;
}

/* ---- address_space operations of the fake fs ---- */

static int t_readpage(struct pc_file *file, struct pc_page *page)
{
	return pc_mpage_readpage(page, tfs_get_block);
}
static void t_readahead(struct pc_readahead_control *rac)
{
	pc_mpage_readahead(rac, tfs_get_block);
}
static int t_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	return pc_block_write_full_page(page, tfs_get_block, wbc);
}
static int t_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	return pc_mpage_writepages(mapping, wbc, tfs_get_block);
}
static int t_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			 unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	return pc_block_write_begin(mapping, pos, len, flags, pagep, tfs_get_block);
}

static const struct pc_address_space_operations t_aops = {
	.readpage = t_readpage,
	.readahead = t_readahead,
	.writepage = t_writepage,
	.writepages = t_writepages,
	.set_page_dirty = pc___set_page_dirty_buffers,
	.write_begin = t_write_begin,
	.write_end = pc_generic_write_end,
	.invalidatepage = pc_block_invalidatepage,
	.releasepage = pc_try_to_free_buffers,
};

/* ------------------------------------------------------------------------ */
/* fixtures                                                                  */
/* ------------------------------------------------------------------------ */

static const char *test_dir(void)
{
	const char *d = getenv("PC_TEST_TMPDIR");

	if (d && *d) {
		mkdir(d, 0755);
		if (access(d, W_OK) == 0)
			return d;
	}
	if (access("/var/tmp", W_OK) == 0)
		return "/var/tmp";
	return ".";
}

static int env_setup(unsigned blkbits)
{
	struct pc_cache_params params = { .size_bytes = 64u << 20 };
	char *buf;
	int fd;

	memset(&E, 0, sizeof(E));
	E.path = malloc(4096);
	assert_non_null(E.path);
	snprintf(E.path, 4096, "%s/pc_test_buffer.XXXXXX", test_dir());
	fd = mkstemp(E.path);
	assert_true(fd >= 0);
	/* fill the image with the pattern: the "stale" disk contents */
	buf = malloc(1u << 20);
	assert_non_null(buf);
	for (unsigned off = 0; off < IMG_SIZE; off += 1u << 20) {
		for (unsigned i = 0; i < (1u << 20); i++)
			buf[i] = (char)pat((uint64_t)off + i);
		assert_int_equal(pwrite(fd, buf, 1u << 20, off), 1 << 20);
	}
	free(buf);
	E.hostfd = fd;

	assert_int_equal(pc_cache_create(&params, &E.cache), 0);
	/* PC_TEST_ENGINE=pread|uring forces an engine (default: auto) */
	{
		const char *eng = getenv("PC_TEST_ENGINE");
		enum pc_engine_kind kind = PC_ENGINE_AUTO;

		if (eng && !strcmp(eng, "pread"))
			kind = PC_ENGINE_PREAD;
		else if (eng && !strcmp(eng, "uring"))
			kind = PC_ENGINE_URING;
		assert_int_equal(pc_bdev_open(E.path, kind, 0, &E.bdev), 0);
	}
	assert_int_equal(pc_bdev_attach_cache(E.bdev, E.cache), 0);
	assert_int_equal(E.bdev->bd_block_size, 1024);

	E.sb = calloc(1, sizeof(*E.sb));
	assert_non_null(E.sb);
	E.sb->s_blocksize_bits = blkbits;
	E.sb->s_blocksize = 1ul << blkbits;
	E.sb->s_maxbytes = LLONG_MAX;
	E.sb->s_bdev = E.bdev;
	E.sb->s_cache = E.cache;
	E.sb->s_bdi = NULL;	/* no flusher for the file: writeback is explicit */
	pthread_mutex_init(&E.sb->s_inode_lock, NULL);
	pthread_mutex_init(&E.sb->s_vfs_rename_mutex, NULL);
	pc_list_init(&E.sb->s_inodes);

	E.inode = calloc(1, sizeof(*E.inode));
	assert_non_null(E.inode);
	pc_inode_init_once(E.inode, E.sb);
	E.inode->i_ino = 12;
	E.inode->i_mode = S_IFREG | 0644;
	E.inode->i_blkbits = blkbits;
	E.inode->i_data.a_ops = &t_aops;
	E.mapping = E.inode->i_mapping;

	pthread_mutex_init(&E.fs.lock, NULL);
	E.fs.blkbits = blkbits;
	E.fs.fail_block = -1;
	/* file data starts 4 MiB into the device */
	E.fs.next_free = (4u << 20) >> blkbits;
	return 0;
}

static int setup10(void **state) { (void)state; return env_setup(10); }
static int setup12(void **state) { (void)state; return env_setup(12); }

static int env_teardown(void **state)
{
	(void)state;
	pc_truncate_inode_pages(E.mapping, 0);
	pc_address_space_destroy(E.mapping);
	pc_bdev_detach_cache(E.bdev);
	pc_bdev_close(E.bdev);
	pc_cache_destroy(E.cache);
	close(E.hostfd);
	unlink(E.path);
	free(E.path);
	free(E.inode);
	free(E.sb);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static struct pc_bdev_stats stats(void)
{
	struct pc_bdev_stats st;

	pc_bdev_get_stats(E.bdev, &st);
	return st;
}

/* Assert @len bytes at @p equal the disk pattern from device offset @devoff. */
static void check_pat(const uint8_t *p, uint64_t devoff, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != pat(devoff + i)) {
			fail_msg("%s: byte %zu is %02x, want pattern %02x (dev off %llu)", what, i, p[i],
				 pat(devoff + i), (unsigned long long)(devoff + i));
		}
	}
}

static void check_byte(const uint8_t *p, uint8_t v, size_t len, const char *what)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != v)
			fail_msg("%s: byte %zu is %02x, want %02x", what, i, p[i], v);
	}
}

/* Bytes straight from the image. */
static void host_read(void *buf, size_t len, uint64_t off)
{
	assert_int_equal(pread(E.hostfd, buf, len, (off_t)off), (ssize_t)len);
}

static uint64_t disk_off_of_file_block(pc_sector_t fblock)
{
	assert_true(E.fs.map[fblock] != 0);
	return (uint64_t)(E.fs.map[fblock] - 1) << E.fs.blkbits;
}

/* A page read through @readfn (page locked on entry, unlocked at completion),
 * waited for; returned referenced and unlocked. */
static struct pc_page *read_page_with(pc_pgoff_t index, int (*readfn)(struct pc_page *, pc_get_block_t))
{
	struct pc_page *page = pc_find_or_create_page(E.mapping, index, 0);

	assert_non_null(page);
	if (pc_PageUptodate(page)) {
		pc_unlock_page(page);
		return page;
	}
	assert_int_equal(readfn(page, tfs_get_block), 0);
	pc_wait_on_page_locked(page);
	return page;
}

/* Make a dirty, uptodate page without buffers at @index filled with @fill. */
static void dirty_page_nobuffers(pc_pgoff_t index, uint8_t fill)
{
	struct pc_page *page = pc_find_or_create_page(E.mapping, index, 0);

	assert_non_null(page);
	assert_false(pc_PagePrivate(page));
	memset(pc_page_address(page), fill, PGSZ);
	pc_SetPageUptodate(page);
	pc_set_page_dirty(page);
	pc_unlock_page(page);
	pc_put_page(page);
}

/* Put a not-uptodate page full of 0xFF at @index: a recycled frame still
 * holding someone else's bytes, which write_begin must never expose. */
static void poison_page(pc_pgoff_t index)
{
	struct pc_page *page = pc_find_or_create_page(E.mapping, index, 0);

	assert_non_null(page);
	assert_false(pc_PageUptodate(page));
	memset(pc_page_address(page), 0xFF, PGSZ);
	pc_unlock_page(page);
	pc_put_page(page);
}

/* Write @len bytes of @fill at @pos through write_begin/write_end. */
static int write_through_aops(loff_t pos, unsigned len, uint8_t fill, unsigned copied)
{
	struct pc_page *page = NULL;
	int ret;

	ret = t_write_begin(NULL, E.mapping, pos, len, 0, &page, NULL);
	if (ret)
		return ret;
	assert_non_null(page);
	assert_true(pc_PageLocked(page));
	memset((char *)pc_page_address(page) + (pos & (PGSZ - 1)), fill, copied);
	return pc_generic_write_end(NULL, E.mapping, pos, len, copied, page, NULL);
}

/* ------------------------------------------------------------------------ */
/* buffer locks                                                              */
/* ------------------------------------------------------------------------ */

struct lock_arg {
	struct pc_buffer_head *bh;
	_Atomic int stage;
};

static void *locker(void *p)
{
	struct lock_arg *a = p;

	atomic_store(&a->stage, 1);
	pc_lock_buffer(a->bh);		/* blocks until the main thread unlocks */
	atomic_store(&a->stage, 2);
	pc_unlock_buffer(a->bh);
	return NULL;
}

static void test_buffer_lock_wait(void **state)
{
	struct pc_buffer_head bh;
	struct lock_arg a;
	pthread_t t;
	struct timespec ts = { 0, 50 * 1000000 };

	(void)state;
	memset(&bh, 0, sizeof(bh));
	a.bh = &bh;
	atomic_init(&a.stage, 0);
	pc_lock_buffer(&bh);
	assert_true(pc_buffer_locked(&bh));
	assert_int_equal(pthread_create(&t, NULL, locker, &a), 0);
	while (atomic_load(&a.stage) == 0)
		nanosleep(&ts, NULL);
	nanosleep(&ts, NULL);
	assert_int_equal(atomic_load(&a.stage), 1);	/* still waiting */
	pc_unlock_buffer(&bh);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&a.stage), 2);
	assert_false(pc_buffer_locked(&bh));
	pc_wait_on_buffer(&bh);		/* unlocked: returns at once */
}

/* ------------------------------------------------------------------------ */
/* the block device's buffer cache                                           */
/* ------------------------------------------------------------------------ */

static void test_bdev_bread_roundtrip(void **state)
{
	struct pc_buffer_head *bh, *bh2;
	uint8_t buf[1024];
	int err = 1;

	(void)state;
	bh = pc___bread(E.bdev, 100, &err);
	assert_non_null(bh);
	assert_int_equal(err, 0);
	assert_int_equal(bh->b_size, 1024);
	assert_int_equal(bh->b_blocknr, 100);
	assert_true(pc_buffer_uptodate(bh));
	assert_true(pc_buffer_mapped(bh));
	assert_int_equal(atomic_load(&bh->b_count), 1);
	check_pat((uint8_t *)bh->b_data, 100 * 1024, 1024, "bread 100");

	/* same block again: the same buffer, one more reference */
	bh2 = pc___bread(E.bdev, 100, &err);
	assert_ptr_equal(bh, bh2);
	assert_int_equal(atomic_load(&bh->b_count), 2);
	pc_brelse(bh2);

	/* modify, dirty, write synchronously */
	memset(bh->b_data, 0xC3, 16);
	pc_mark_buffer_dirty(bh);
	assert_true(pc_buffer_dirty(bh));
	assert_true(pc_PageDirty(bh->b_page));
	assert_int_equal(pc_sync_dirty_buffer(bh), 0);
	assert_false(pc_buffer_dirty(bh));
	host_read(buf, sizeof(buf), 100 * 1024);
	check_byte(buf, 0xC3, 16, "synced head");
	check_pat(buf + 16, 100 * 1024 + 16, 1024 - 16, "synced tail");
	pc_brelse(bh);

	/* getblk without read, fill, dirty, release; sync_blockdev writes it */
	bh = pc___getblk(E.bdev, 101, &err);
	assert_non_null(bh);
	assert_int_equal(bh->b_blocknr, 101);
	memset(bh->b_data, 0x5A, 1024);
	pc_set_buffer_uptodate(bh);
	pc_mark_buffer_dirty(bh);
	pc_brelse(bh);
	assert_int_equal(pc_sync_blockdev(E.bdev), 0);
	host_read(buf, sizeof(buf), 101 * 1024);
	check_byte(buf, 0x5A, 1024, "getblk 101 written");
	host_read(buf, sizeof(buf), 102 * 1024);
	check_pat(buf, 102 * 1024, 1024, "neighbour 102 untouched");
	host_read(buf, sizeof(buf), 103 * 1024);
	check_pat(buf, 103 * 1024, 1024, "neighbour 103 untouched");

	/* past the end of the device */
	assert_null(pc___bread(E.bdev, IMG_SIZE / 1024, &err));
	assert_int_equal(err, -EINVAL);
	assert_null(pc___getblk(E.bdev, IMG_SIZE / 1024 + 5, &err));
	assert_int_equal(err, -EINVAL);
	/* the last block is fine */
	bh = pc___bread(E.bdev, IMG_SIZE / 1024 - 1, &err);
	assert_non_null(bh);
	check_pat((uint8_t *)bh->b_data, IMG_SIZE - 1024, 1024, "last block");
	pc_brelse(bh);
}

static void test_bdev_read_error(void **state)
{
	struct pc_buffer_head *bh;
	int err = 0;

	(void)state;
	pc_bdev_inject_fault(E.bdev, PC_REQ_OP_READ, 1, 1, -EIO);
	bh = pc___bread(E.bdev, 300, &err);
	assert_null(bh);
	assert_int_equal(err, -EIO);
	/* the next read works and sees the data */
	bh = pc___bread(E.bdev, 300, &err);
	assert_non_null(bh);
	check_pat((uint8_t *)bh->b_data, 300 * 1024, 1024, "after read error");
	pc_brelse(bh);

	/* a failed synchronous write is reported */
	bh = pc___bread(E.bdev, 301, &err);
	assert_non_null(bh);
	memset(bh->b_data, 1, 1024);
	pc_mark_buffer_dirty(bh);
	pc_bdev_inject_fault(E.bdev, PC_REQ_OP_WRITE, 1, 1, -EIO);
	assert_int_equal(pc_sync_dirty_buffer(bh), -EIO);
	assert_true(pc_buffer_write_io_error(bh));
	assert_true(pc_errseq_check(&E.bdev->bd_mapping.wb_err, 0) < 0);
	pc_brelse(bh);
}

static void test_bdev_clean_aliases(void **state)
{
	struct pc_buffer_head *bh;
	uint8_t buf[1024], newdata[1024];
	int err;

	(void)state;
	bh = pc___bread(E.bdev, 200, &err);
	assert_non_null(bh);
	pc_brelse(bh);
	/* the block is rewritten behind the cache's back (file data) */
	memset(newdata, 0x77, sizeof(newdata));
	assert_int_equal(pwrite(E.hostfd, newdata, 1024, 200 * 1024), 1024);
	bh = pc___bread(E.bdev, 200, &err);
	check_pat((uint8_t *)bh->b_data, 200 * 1024, 1024, "cached copy before clean");
	pc_brelse(bh);

	pc_clean_bdev_aliases(E.bdev, 200, 1);
	bh = pc___getblk(E.bdev, 200, &err);
	assert_non_null(bh);
	assert_false(pc_buffer_uptodate(bh));
	assert_false(pc_PageUptodate(bh->b_page));
	pc_brelse(bh);
	bh = pc___bread(E.bdev, 200, &err);
	assert_non_null(bh);
	check_byte((uint8_t *)bh->b_data, 0x77, 1024, "re-read after clean");
	pc_brelse(bh);

	/* a dirty metadata buffer over a block that became file data is
	 * never written back */
	bh = pc___bread(E.bdev, 201, &err);
	memset(bh->b_data, 0x11, 1024);
	pc_mark_buffer_dirty(bh);
	pc_brelse(bh);
	pc_clean_bdev_aliases(E.bdev, 200, 4);
	bh = pc___getblk(E.bdev, 201, &err);
	assert_false(pc_buffer_dirty(bh));
	pc_brelse(bh);
	assert_int_equal(pc_sync_blockdev(E.bdev), 0);
	host_read(buf, sizeof(buf), 201 * 1024);
	check_pat(buf, 201 * 1024, 1024, "cleaned dirty buffer not written");
}

static void test_bdev_set_blocksize(void **state)
{
	struct pc_buffer_head *bh;
	int err;

	(void)state;
	assert_int_equal(pc_set_blocksize(E.bdev, 0), -EINVAL);
	assert_int_equal(pc_set_blocksize(E.bdev, 768), -EINVAL);
	assert_int_equal(pc_set_blocksize(E.bdev, 2 * PGSZ), -EINVAL);
	assert_int_equal(pc_set_blocksize(E.bdev, 256), -EINVAL);

	bh = pc___bread(E.bdev, 7, &err);
	memset(bh->b_data, 0x42, 1024);
	pc_mark_buffer_dirty(bh);
	pc_brelse(bh);
	/* changing the size writes back the dirty buffer first */
	assert_int_equal(pc_set_blocksize(E.bdev, 4096), 0);
	assert_int_equal(E.bdev->bd_block_size, 4096);
	bh = pc___bread(E.bdev, 1, &err);
	assert_non_null(bh);
	assert_int_equal(bh->b_size, 4096);
	check_pat((uint8_t *)bh->b_data, 4096, 3072, "4k block 1 head");
	check_byte((uint8_t *)bh->b_data + 3072, 0x42, 1024, "4k block 1 holds the 1k write");
	pc_brelse(bh);
	assert_int_equal(pc_set_blocksize(E.bdev, 1024), 0);
}

/* ------------------------------------------------------------------------ */
/* per-buffer reads                                                          */
/* ------------------------------------------------------------------------ */

static void test_block_read_full_page(void **state)
{
	const pc_sector_t base = 3000;
	struct pc_page *page;
	uint8_t *p;

	(void)state;
	/* 1 KiB blocks; file block 1 is a hole; size 3 pages + 1500 bytes */
	tfs_map(0, 16, base);
	E.fs.map[1] = 0;
	pc_i_size_write(E.inode, 3 * PGSZ + 1500);

	page = read_page_with(0, pc_block_read_full_page);
	assert_true(pc_PageUptodate(page));
	assert_false(pc_PageError(page));
	assert_true(pc_PagePrivate(page));
	p = pc_page_address(page);
	check_pat(p, base * 1024, 1024, "block 0");
	check_byte(p + 1024, 0, 1024, "hole block 1");
	check_pat(p + 2048, (base + 2) * 1024, 2048, "blocks 2-3");
	pc_put_page(page);

	/* EOF page: blocks 12, 13 mapped, 14-15 past EOF are zeros */
	page = read_page_with(3, pc_block_read_full_page);
	assert_true(pc_PageUptodate(page));
	p = pc_page_address(page);
	check_pat(p, (base + 12) * 1024, 1500, "eof page data");
	check_byte(p + 2048, 0, 2048, "eof page past EOF");
	pc_put_page(page);

	/* wholly past EOF: zeros without any get_block */
	tfs_reset_counts();
	page = read_page_with(6, pc_block_read_full_page);
	assert_true(pc_PageUptodate(page));
	check_byte(pc_page_address(page), 0, PGSZ, "page past EOF");
	assert_int_equal(E.fs.calls, 0);
	pc_put_page(page);

	/* get_block failure: the page is not uptodate and says so */
	E.fs.fail_block = 9;
	E.fs.fail_err = -EIO;
	page = read_page_with(2, pc_block_read_full_page);
	assert_false(pc_PageUptodate(page));
	assert_true(pc_PageError(page));
	pc_put_page(page);
	E.fs.fail_block = -1;

	/* a read I/O error */
	pc_i_size_write(E.inode, 8 * PGSZ);
	tfs_map(16, 16, base + 16);
	pc_bdev_inject_fault(E.bdev, PC_REQ_OP_READ, 1, 1, -EIO);
	page = read_page_with(4, pc_block_read_full_page);
	assert_false(pc_PageUptodate(page));
	assert_true(pc_PageError(page));
	pc_put_page(page);
}

/* ------------------------------------------------------------------------ */
/* mpage reads                                                               */
/* ------------------------------------------------------------------------ */

static void check_file_page(pc_pgoff_t index, const char *what)
{
	struct pc_page *page = pc_find_get_page(E.mapping, index);
	unsigned bpp = PGSZ >> E.fs.blkbits, bs = 1u << E.fs.blkbits;
	loff_t size = pc_i_size_read(E.inode);
	char msg[96];

	assert_non_null(page);
	pc_wait_on_page_locked(page);
	assert_true(pc_PageUptodate(page));
	for (unsigned b = 0; b < bpp; b++) {
		pc_sector_t fb = (pc_sector_t)index * bpp + b;
		loff_t off = (loff_t)fb << E.fs.blkbits;
		const uint8_t *p = (uint8_t *)pc_page_address(page) + b * bs;

		snprintf(msg, sizeof(msg), "%s: page %llu block %u", what, (unsigned long long)index, b);
		if (off >= size || E.fs.map[fb] == 0) {
			check_byte(p, 0, bs, msg);
		} else {
			size_t valid = (size_t)PC_MIN((loff_t)bs, size - off);

			check_pat(p, disk_off_of_file_block(fb), valid, msg);
		}
	}
	pc_put_page(page);
}

static void readahead_contig(unsigned npages, loff_t size)
{
	struct pc_bdev_stats before, after;

	tfs_map(0, (pc_sector_t)npages * (PGSZ >> E.fs.blkbits), (2u << 20) >> E.fs.blkbits);
	pc_i_size_write(E.inode, size);
	tfs_reset_counts();
	before = stats();
	pc_force_page_cache_readahead(E.mapping, NULL, 0, npages);
	for (pc_pgoff_t i = 0; i < npages; i++) {
		struct pc_page *page = pc_find_get_page(E.mapping, i);

		assert_non_null(page);
		pc_wait_on_page_locked(page);
		/* blocksize == PAGE_SIZE or not: no buffer heads on this path */
		assert_false(pc_PagePrivate(page));
		pc_put_page(page);
		check_file_page(i, "readahead");
	}
	after = stats();
	if (E.fs.boundary_every || E.fs.meta_read)
		return;
	assert_true(after.read_bytes - before.read_bytes <= (uint64_t)npages * PGSZ);
	/* one get_block per readahead batch (batches are <= 2 MiB) */
	assert_true(E.fs.calls >= 1 && E.fs.calls <= 2);
	assert_true(E.fs.max_req >= (size_t)PC_MIN((loff_t)npages * PGSZ, size) - PGSZ);
	/* bios of up to 1 MiB, nothing read twice */
	assert_true(after.read_bios - before.read_bios <= (npages + 255) / 256 + 1);
}

static void test_mpage_readahead_contig(void **state)
{
	(void)state;
	readahead_contig(100, 100 * (loff_t)PGSZ);
}

static void test_mpage_readahead_eof(void **state)
{
	(void)state;
	/* last page: 100 bytes of data, the rest of its blocks past EOF */
	readahead_contig(64, 63 * (loff_t)PGSZ + 100);
}

static void test_mpage_readahead_confused(void **state)
{
	struct pc_page *page;
	const pc_sector_t base = 5000;

	(void)state;
	/* 1 KiB blocks, 6 pages:
	 *   page 0 contiguous, page 1 blocks reversed (discontiguous),
	 *   page 2 hole then data, page 3 data then hole (zeroed by mpage),
	 *   page 4 contiguous, page 5 all hole */
	tfs_map(0, 4, base);
	for (unsigned b = 0; b < 4; b++)
		E.fs.map[4 + b] = base + 100 + (3 - b) + 1;
	tfs_map(9, 3, base + 200);
	tfs_map(12, 2, base + 300);
	tfs_map(16, 4, base + 400);
	pc_i_size_write(E.inode, 6 * (loff_t)PGSZ);

	pc_force_page_cache_readahead(E.mapping, NULL, 0, 6);
	for (pc_pgoff_t i = 0; i < 6; i++)
		check_file_page(i, "confused");
	/* the confused ones went through buffers, the others did not */
	page = pc_find_get_page(E.mapping, 1);
	assert_true(pc_PagePrivate(page));
	pc_put_page(page);
	page = pc_find_get_page(E.mapping, 2);
	assert_true(pc_PagePrivate(page));
	pc_put_page(page);
	page = pc_find_get_page(E.mapping, 3);
	assert_false(pc_PagePrivate(page));
	pc_put_page(page);
	page = pc_find_get_page(E.mapping, 4);
	assert_false(pc_PagePrivate(page));
	pc_put_page(page);

	/* a single page through pc_mpage_readpage */
	tfs_map(24, 4, base + 500);
	pc_i_size_write(E.inode, 7 * (loff_t)PGSZ);
	tfs_reset_counts();
	page = read_page_with(6, pc_mpage_readpage);
	assert_true(pc_PageUptodate(page));
	assert_false(pc_PagePrivate(page));
	assert_int_equal(E.fs.calls, 1);
	pc_put_page(page);
	check_file_page(6, "readpage");
}

static void test_mpage_readahead_boundary(void **state)
{
	struct pc_bdev_stats before, after;

	(void)state;
	/* 4 KiB blocks, 16 contiguous pages, PC_BH_Boundary every 4 blocks:
	 * every boundary ends the bio (4 bios) although the disk is contiguous */
	tfs_map(0, 16, 1000);
	pc_i_size_write(E.inode, 16 * (loff_t)PGSZ);
	E.fs.boundary_every = 4;
	before = stats();
	pc_force_page_cache_readahead(E.mapping, NULL, 0, 16);
	for (pc_pgoff_t i = 0; i < 16; i++)
		check_file_page(i, "boundary");
	after = stats();
	assert_int_equal(after.read_bios - before.read_bios, 4);
	assert_int_equal(after.read_bytes - before.read_bytes, 16 * (uint64_t)PGSZ);

	/* without boundaries: one bio */
	pc_truncate_inode_pages(E.mapping, 0);
	E.fs.boundary_every = 0;
	before = stats();
	pc_force_page_cache_readahead(E.mapping, NULL, 0, 16);
	for (pc_pgoff_t i = 0; i < 16; i++)
		check_file_page(i, "no boundary");
	after = stats();
	assert_int_equal(after.read_bios - before.read_bios, 1);
}

static void test_mpage_read_error(void **state)
{
	struct pc_page *page;

	(void)state;
	tfs_map(0, 32, 1000);
	pc_i_size_write(E.inode, 8 * (loff_t)PGSZ);
	pc_bdev_inject_fault(E.bdev, PC_REQ_OP_READ, 1, 1, -EIO);
	pc_force_page_cache_readahead(E.mapping, NULL, 0, 8);
	page = pc_find_get_page(E.mapping, 0);
	assert_non_null(page);
	pc_wait_on_page_locked(page);
	assert_false(pc_PageUptodate(page));
	assert_true(pc_PageError(page));
	pc_put_page(page);
}

static void writepages_big(unsigned npages, loff_t size, unsigned max_run, unsigned gap);

/* get_block sleeping on a metadata read while mpage holds its plug must
 * not deadlock (the read would sit in the plug forever). */
static void test_get_block_metadata_read(void **state)
{
	(void)state;
	alarm(120);	/* a deadlock kills the test instead of hanging it */
	E.fs.meta_read = true;
	E.fs.boundary_every = 16;	/* several get_block calls per batch */
	readahead_contig(64, 64 * (loff_t)PGSZ);
	pc_truncate_inode_pages(E.mapping, 0);
	memset(E.fs.map, 0, sizeof(E.fs.map));
	E.fs.boundary_every = 0;
	writepages_big(64, 64 * (loff_t)PGSZ, 16, 1);
	assert_true(E.fs.meta_index >= 8);
	alarm(0);
}

/* ------------------------------------------------------------------------ */
/* write_begin / write_end                                                   */
/* ------------------------------------------------------------------------ */

static void test_write_begin_end_new_buffers(void **state)
{
	struct pc_page *page;
	uint8_t *p, buf[4096];
	int err;

	(void)state;
	E.fs.alloc = true;
	poison_page(0);
	poison_page(1);
	poison_page(2);

	/* (a) 100 bytes inside block 1 of an empty file: the rest of the new
	 * block is zeroed, blocks not touched are not allocated */
	assert_int_equal(write_through_aops(1500, 100, 0xAB, 100), 100);
	assert_int_equal(pc_i_size_read(E.inode), 1600);
	assert_true(E.fs.map[1] != 0);
	assert_true(E.fs.map[0] == 0 && E.fs.map[2] == 0 && E.fs.map[3] == 0);
	page = pc_find_get_page(E.mapping, 0);
	p = pc_page_address(page);
	check_byte(p + 1024, 0, 476, "new block head zeroed");
	check_byte(p + 1500, 0xAB, 100, "written bytes");
	check_byte(p + 1600, 0, 448, "new block tail zeroed");
	assert_false(pc_PageUptodate(page));	/* blocks 0, 2, 3 never read */
	assert_true(pc_PageDirty(page));
	pc_put_page(page);

	/* the whole page reads back right: holes as zeros */
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	host_read(buf, 1024, disk_off_of_file_block(1));
	check_byte(buf, 0, 476, "disk: new block head");
	check_byte(buf + 476, 0xAB, 100, "disk: data");
	check_byte(buf + 576, 0, 448, "disk: new block tail (EOF)");

	/* (b) a short copy into a page that is not uptodate commits nothing
	 * and leaves no stale bytes in the new blocks */
	err = write_through_aops(PGSZ + 1000, 2000, 0xCD, 500);
	assert_int_equal(err, 0);
	assert_int_equal(pc_i_size_read(E.inode), 1600);
	page = pc_find_get_page(E.mapping, 1);
	p = pc_page_address(page);
	check_byte(p, 0, 3072, "short copy: new blocks 4-6 all zero");
	pc_put_page(page);
	/* retry, full copy */
	assert_int_equal(write_through_aops(PGSZ + 1000, 2000, 0xCD, 2000), 2000);
	assert_int_equal(pc_i_size_read(E.inode), PGSZ + 3000);
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	for (pc_sector_t fb = 4; fb <= 6; fb++) {
		host_read(buf, 1024, disk_off_of_file_block(fb));
		for (unsigned i = 0; i < 1024; i++) {
			unsigned off = (unsigned)((fb - 4) * 1024 + i);
			uint8_t want = (off >= 1000 && off < 3000) ? 0xCD : 0;

			if (buf[i] != want)
				fail_msg("disk block %llu byte %u: %02x want %02x", (unsigned long long)fb, i,
					 buf[i], want);
		}
	}

	/* (c) the review's case: allocation of the second block fails; the
	 * first, new, block must read as zeros, not stale disk data */
	pc_i_size_write(E.inode, 3 * (loff_t)PGSZ);
	E.fs.fail_block = 9;
	E.fs.fail_err = -ENOSPC;
	E.fs.fail_create_only = true;
	err = write_through_aops(2 * (loff_t)PGSZ + 1023, 1025, 0xEF, 1025);
	assert_int_equal(err, -ENOSPC);
	E.fs.fail_block = -1;
	assert_true(E.fs.map[8] != 0);
	page = pc_read_mapping_page(E.mapping, 2, NULL, &err);
	assert_non_null(page);
	check_byte(pc_page_address(page), 0, 1024, "block of a failed write_begin");
	pc_put_page(page);
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	host_read(buf, 1024, disk_off_of_file_block(8));
	check_byte(buf, 0, 1024, "disk: block of a failed write_begin");
}

static void test_write_begin_partial_read(void **state)
{
	struct pc_page *page;
	uint8_t *p;

	(void)state;
	/* existing data: a partial overwrite reads the rest of the block */
	tfs_map(0, 8, 7000);
	pc_i_size_write(E.inode, 2 * (loff_t)PGSZ);
	assert_int_equal(write_through_aops(100, 10, 0x99, 10), 10);
	page = pc_find_get_page(E.mapping, 0);
	p = pc_page_address(page);
	check_pat(p, 7000 * 1024, 100, "read-before-write head");
	check_byte(p + 100, 0x99, 10, "written");
	check_pat(p + 110, 7000 * 1024 + 110, 1024 - 110, "read-before-write tail");
	pc_put_page(page);
	assert_int_equal(pc_i_size_read(E.inode), 2 * (loff_t)PGSZ);

	/* a whole-block overwrite does not read */
	assert_int_equal(write_through_aops(PGSZ + 1024, 1024, 0x98, 1024), 1024);
	page = pc_find_get_page(E.mapping, 1);
	p = pc_page_address(page);
	check_byte(p + 1024, 0x98, 1024, "whole block");
	pc_put_page(page);

	/* block_truncate_page zeroes the tail of the block holding EOF */
	assert_int_equal(pc_block_truncate_page(E.mapping, 1500, tfs_get_block), 0);
	pc_i_size_write(E.inode, 1500);
	page = pc_find_get_page(E.mapping, 0);
	p = pc_page_address(page);
	check_pat(p + 1024, 7001 * 1024, 1500 - 1024, "truncate page keeps head");
	check_byte(p + 1500, 0, 2048 - 1500, "truncate page zeroes tail");
	pc_put_page(page);
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	{
		uint8_t buf[1024];

		host_read(buf, 1024, 7001 * 1024);
		check_pat(buf, 7001 * 1024, 476, "disk: truncated block head");
		check_byte(buf + 476, 0, 548, "disk: truncated block tail");
	}
}

/* ------------------------------------------------------------------------ */
/* buffer rings                                                              */
/* ------------------------------------------------------------------------ */

static void test_buffer_rings(void **state)
{
	struct pc_page *page;
	struct pc_buffer_head *head, *bh;
	unsigned n = 0;

	(void)state;
	page = pc_find_or_create_page(E.mapping, 3, 0);
	assert_non_null(page);
	pc_SetPageUptodate(page);
	head = pc_create_page_buffers(page, E.inode, 0);
	assert_true(pc_PagePrivate(page));
	bh = head;
	do {
		assert_ptr_equal(bh->b_page, page);
		assert_int_equal(bh->b_size, 1024);
		assert_ptr_equal(bh->b_data, (char *)pc_page_address(page) + n * 1024);
		assert_true(pc_buffer_uptodate(bh));	/* inherited from the page */
		n++;
		bh = bh->b_this_page;
	} while (bh != head);
	assert_int_equal(n, 4);
	assert_ptr_equal(pc_create_page_buffers(page, E.inode, 0), head);

	/* busy buffers keep the ring */
	pc_get_bh(head->b_this_page);
	assert_false(pc_try_to_free_buffers(page));
	pc_put_bh(head->b_this_page);
	pc_set_buffer_dirty(head);
	assert_false(pc_try_to_free_buffers(page));
	pc_clear_buffer_dirty(head);
	assert_true(pc_try_to_free_buffers(page));
	assert_false(pc_PagePrivate(page));

	/* set_page_dirty on buffers dirties all of them */
	head = pc_create_page_buffers(page, E.inode, 0);
	assert_true(pc_set_page_dirty(page));
	bh = head;
	do {
		assert_true(pc_buffer_dirty(bh));
		bh = bh->b_this_page;
	} while (bh != head);
	/* invalidating the second half forgets those buffers only */
	pc_map_bh(head, E.bdev, 1);
	pc_map_bh(head->b_this_page->b_this_page->b_this_page, E.bdev, 4);
	pc_block_invalidatepage(page, 2048, 2048);
	assert_true(pc_PagePrivate(page));
	assert_true(pc_buffer_dirty(head) && pc_buffer_mapped(head));
	bh = head->b_this_page->b_this_page->b_this_page;
	assert_false(pc_buffer_dirty(bh));
	assert_false(pc_buffer_mapped(bh));
	/* the whole page: the ring goes */
	pc_block_invalidatepage(page, 0, PGSZ);
	assert_false(pc_PagePrivate(page));
	pc_cancel_dirty_page(page);
	pc_unlock_page(page);
	pc_put_page(page);
}

/* ------------------------------------------------------------------------ */
/* writeback                                                                 */
/* ------------------------------------------------------------------------ */

/* @npages dirty pages without buffers (page i filled with 0x10 + i), size
 * @size; writeback must give bios of 1 MiB and correct bytes, EOF tail zero. */
static void writepages_big(unsigned npages, loff_t size, unsigned max_run, unsigned gap)
{
	struct pc_bdev_stats before, after;
	uint64_t bios, bytes;
	unsigned bits = E.fs.blkbits;
	uint8_t *buf = malloc(PGSZ);

	assert_non_null(buf);
	E.fs.alloc = true;
	E.fs.max_run = max_run;
	E.fs.alloc_gap = gap;
	pc_i_size_write(E.inode, size);
	for (pc_pgoff_t i = 0; i < npages; i++)
		dirty_page_nobuffers(i, (uint8_t)(0x10 + i));
	tfs_reset_counts();
	before = stats();
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	after = stats();
	bios = after.write_bios - before.write_bios;
	bytes = after.write_bytes - before.write_bytes;
	assert_true(bytes == (uint64_t)(((size + (1 << bits) - 1) >> bits) << bits));

	if (!max_run) {
		/* one get_block for the whole run, one 1 MiB bio per 256 pages */
		assert_int_equal(E.fs.create_calls, 1);
		assert_true(E.fs.max_req >= (size_t)size - (1u << bits));
		assert_int_equal(bios, (npages + 255) / 256);
		assert_true(bytes / bios >= 512 * 1024);
	} else {
		assert_true(bios >= bytes / ((uint64_t)max_run << bits));
	}

	/* every page on disk, and nothing of the page past EOF */
	for (pc_pgoff_t i = 0; i < npages; i++) {
		for (unsigned b = 0; b < (PGSZ >> bits); b++) {
			pc_sector_t fb = ((pc_sector_t)i << (PC_PAGE_SHIFT - bits)) + b;
			loff_t off = (loff_t)fb << bits;
			char msg[64];

			if (off >= size) {
				assert_true(E.fs.map[fb] == 0);	/* not allocated */
				continue;
			}
			host_read(buf, 1u << bits, disk_off_of_file_block(fb));
			snprintf(msg, sizeof(msg), "page %llu block %u", (unsigned long long)i, b);
			if (size - off >= (1 << bits)) {
				check_byte(buf, (uint8_t)(0x10 + i), 1u << bits, msg);
			} else {
				check_byte(buf, (uint8_t)(0x10 + i), (size_t)(size - off), msg);
				check_byte(buf + (size - off), 0, (1u << bits) - (size_t)(size - off),
					   "EOF tail on disk");
			}
		}
		{
			struct pc_page *page = pc_find_get_page(E.mapping, i);

			assert_false(pc_PageDirty(page));
			assert_false(pc_PageWriteback(page));
			/* no buffer heads made (pages straddling two extents of a
			 * fragmented 1 KiB-block file go through the buffers) */
			if (!max_run || bits == PC_PAGE_SHIFT)
				assert_false(pc_PagePrivate(page));
			pc_put_page(page);
		}
	}
	free(buf);
}

static void test_mpage_writepages_big12(void **state)
{
	(void)state;
	writepages_big(512, 512 * (loff_t)PGSZ - 1000, 0, 0);
}

static void test_mpage_writepages_big10(void **state)
{
	(void)state;
	writepages_big(512, 512 * (loff_t)PGSZ - 3000, 0, 0);
}

static void test_mpage_writepages_fragmented(void **state)
{
	(void)state;
	/* extents of 37 blocks with a 1-block gap: pages straddling a gap are
	 * confused and go through block_write_full_page; data still exact */
	writepages_big(100, 100 * (loff_t)PGSZ, 37, 1);
}

static void test_mpage_writepages_fragmented10(void **state)
{
	(void)state;
	writepages_big(100, 100 * (loff_t)PGSZ - 5000, 37, 1);
}

struct wb_arg {
	int ret;
};

static void *writeback_thread(void *p)
{
	struct wb_arg *a = p;

	a->ret = pc_filemap_write_and_wait(E.mapping);
	return NULL;
}

static void test_mpage_writepages_locked_page(void **state)
{
	struct pc_page *held;
	struct wb_arg a = { .ret = 1 };
	struct timespec ts = { 0, 200 * 1000000 };
	uint8_t buf[4096];
	pthread_t t;

	(void)state;
	/* 4 KiB blocks: a page locked by someone else ends the run (trylock);
	 * write_cache_pages waits for it, then a new run starts after it */
	E.fs.alloc = true;
	pc_i_size_write(E.inode, 256 * (loff_t)PGSZ);
	for (pc_pgoff_t i = 0; i < 256; i++)
		dirty_page_nobuffers(i, (uint8_t)(0x80 + i));
	held = pc_find_lock_page(E.mapping, 100);
	assert_non_null(held);
	tfs_reset_counts();
	assert_int_equal(pthread_create(&t, NULL, writeback_thread, &a), 0);
	/* wait (up to 20 s) for the run before the held page to be mapped */
	for (int tries = 0; tries < 100; tries++) {
		bool mapped;

		pthread_mutex_lock(&E.fs.lock);
		mapped = E.fs.map[99] != 0;
		pthread_mutex_unlock(&E.fs.lock);
		if (mapped)
			break;
		nanosleep(&ts, NULL);
	}
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&E.fs.lock);
	assert_true(E.fs.map[99] != 0);		/* the run before it was mapped */
	assert_true(E.fs.map[100] == 0);	/* but not the held page */
	pthread_mutex_unlock(&E.fs.lock);
	assert_true(pc_PageDirty(held));		/* not touched while we hold it */
	pc_unlock_page(held);
	pthread_join(t, NULL);
	pc_put_page(held);
	assert_int_equal(a.ret, 0);
	assert_int_equal(E.fs.create_calls, 2);
	for (pc_pgoff_t i = 0; i < 256; i++) {
		host_read(buf, PGSZ, disk_off_of_file_block(i));
		check_byte(buf, (uint8_t)(0x80 + i), PGSZ, "page around a locked one");
	}
}

static void test_mpage_writepages_buffers(void **state)
{
	struct pc_bdev_stats before, after;
	uint8_t buf[4096];

	(void)state;
	/* pages written through write_begin/write_end carry mapped buffers,
	 * allocated block by block: still one big bio */
	E.fs.alloc = true;
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(write_through_aops((loff_t)i * PGSZ, PGSZ, (uint8_t)i, PGSZ), (int)PGSZ);
	assert_int_equal(pc_i_size_read(E.inode), 256 * (loff_t)PGSZ);
	before = stats();
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	after = stats();
	assert_int_equal(after.write_bios - before.write_bios, 1);
	assert_int_equal(after.write_bytes - before.write_bytes, 256 * (uint64_t)PGSZ);
	for (unsigned i = 0; i < 256; i += 17) {
		host_read(buf, 1024, disk_off_of_file_block((pc_sector_t)i * 4 + 3));
		check_byte(buf, (uint8_t)i, 1024, "written through buffers");
	}
	/* a partly dirty page with mapped buffers: only its dirty block goes */
	assert_int_equal(write_through_aops(5 * (loff_t)PGSZ + 2048, 1024, 0xEE, 1024), 1024);
	before = stats();
	assert_int_equal(pc_filemap_write_and_wait(E.mapping), 0);
	after = stats();
	assert_int_equal(after.write_bytes - before.write_bytes, 1024);
	host_read(buf, 1024, disk_off_of_file_block(5 * 4 + 2));
	check_byte(buf, 0xEE, 1024, "partly dirty page");
	host_read(buf, 1024, disk_off_of_file_block(5 * 4 + 1));
	check_byte(buf, 5, 1024, "clean neighbour");
}

static void test_writepage_get_block_errors(void **state)
{
	struct pc_bdev_stats before, after;
	struct pc_page *page;
	int err;

	(void)state;
	E.fs.alloc = true;
	pc_i_size_write(E.inode, 8 * (loff_t)PGSZ);

	/* -ENOSPC while mapping a dirty page: error returned and recorded,
	 * page not left dirty-looping or under writeback, no crash */
	for (pc_pgoff_t i = 0; i < 4; i++)
		dirty_page_nobuffers(i, 0x21);
	E.fs.fail_block = 2 * 4;	/* page 2 */
	E.fs.fail_err = -ENOSPC;
	E.fs.fail_create_only = true;
	err = pc_filemap_write_and_wait(E.mapping);
	assert_true(err == -ENOSPC || err == -EIO);
	assert_true(pc_errseq_check(&E.mapping->wb_err, 0) < 0);
	page = pc_find_get_page(E.mapping, 2);
	assert_true(pc_PageError(page));
	assert_false(pc_PageWriteback(page));
	pc_put_page(page);
	/* pages before it were written */
	{
		uint8_t buf[1024];

		host_read(buf, 1024, disk_off_of_file_block(4));
		check_byte(buf, 0x21, 1024, "page before the failure");
	}

	/* -EUCLEAN: the mapping would point outside the device; nothing of
	 * that page may be written */
	E.fs.fail_block = 5 * 4;
	E.fs.fail_err = -EUCLEAN;
	dirty_page_nobuffers(5, 0x22);
	before = stats();
	err = pc_filemap_write_and_wait(E.mapping);
	after = stats();
	assert_true(err < 0);
	assert_int_equal(after.write_bytes - before.write_bytes, 0);
	E.fs.fail_block = -1;
}

static void test_writepage_io_error(void **state)
{
	struct pc_page *page;
	int err;

	(void)state;
	E.fs.alloc = true;
	pc_i_size_write(E.inode, 8 * (loff_t)PGSZ);
	for (pc_pgoff_t i = 0; i < 8; i++)
		dirty_page_nobuffers(i, 0x31);
	pc_bdev_inject_fault(E.bdev, PC_REQ_OP_WRITE, 1, 1, -EIO);
	err = pc_filemap_write_and_wait(E.mapping);
	assert_int_equal(err, -EIO);
	assert_int_equal(pc_errseq_check(&E.mapping->wb_err, 0), -EIO);
	page = pc_find_get_page(E.mapping, 0);
	assert_true(pc_PageError(page));
	assert_false(pc_PageWriteback(page));
	pc_put_page(page);
}

static void test_block_write_full_page_eof(void **state)
{
	struct pc_writeback_control wbc = { .sync_mode = PC_WB_SYNC_ALL, .nr_to_write = 1 };
	struct pc_page *page;
	uint8_t buf[1024];

	(void)state;
	/* 1 KiB blocks; EOF at 1200 in page 0: blocks 0-1 written (the tail
	 * of block 1 past EOF zeroed), blocks 2-3 past EOF never written */
	E.fs.alloc = true;
	pc_i_size_write(E.inode, 1200);
	dirty_page_nobuffers(0, 0x44);
	page = pc_find_lock_page(E.mapping, 0);
	assert_true(pc_clear_page_dirty_for_io(page));
	assert_int_equal(pc_block_write_full_page(page, tfs_get_block, &wbc), 0);
	pc_wait_on_page_writeback(page);
	assert_false(pc_PageLocked(page));
	assert_true(E.fs.map[0] && E.fs.map[1]);
	assert_true(!E.fs.map[2] && !E.fs.map[3]);
	host_read(buf, 1024, disk_off_of_file_block(1));
	check_byte(buf, 0x44, 176, "EOF block data");
	check_byte(buf + 176, 0, 1024 - 176, "EOF block tail");
	check_byte((uint8_t *)pc_page_address(page) + 1200, 0, PGSZ - 1200, "page past EOF zeroed");
	pc_put_page(page);

	/* a page wholly past EOF is dropped, not written */
	dirty_page_nobuffers(3, 0x45);
	page = pc_find_lock_page(E.mapping, 3);
	assert_true(pc_clear_page_dirty_for_io(page));
	tfs_reset_counts();
	assert_int_equal(pc_block_write_full_page(page, tfs_get_block, &wbc), 0);
	assert_false(pc_PageLocked(page));
	assert_false(pc_PageWriteback(page));
	assert_int_equal(E.fs.calls, 0);
	pc_put_page(page);

	/* pc_mpage_writepage on a single page */
	pc_i_size_write(E.inode, 8 * (loff_t)PGSZ);
	dirty_page_nobuffers(6, 0x46);
	page = pc_find_lock_page(E.mapping, 6);
	assert_true(pc_clear_page_dirty_for_io(page));
	assert_int_equal(pc_mpage_writepage(page, tfs_get_block, &wbc), 0);
	pc_wait_on_page_writeback(page);
	host_read(buf, 1024, disk_off_of_file_block(6 * 4 + 3));
	check_byte(buf, 0x46, 1024, "mpage_writepage");
	pc_put_page(page);
}

static void test_bdev_pages_through_aops(void **state)
{
	struct pc_page *page;
	uint8_t buf[4096];
	int err;

	(void)state;
	/* the buffer cache's own a_ops: read a device page, write through
	 * write_begin/write_end, write it back */
	page = pc_read_mapping_page(&E.bdev->bd_mapping, 10, NULL, &err);
	assert_non_null(page);
	check_pat(pc_page_address(page), 10 * (uint64_t)PGSZ, PGSZ, "bdev page");
	pc_put_page(page);
	{
		struct pc_page *wp = NULL;
		const struct pc_address_space_operations *a = E.bdev->bd_mapping.a_ops;

		assert_ptr_equal(a, &pc_def_blk_aops);
		assert_int_equal(a->write_begin(NULL, &E.bdev->bd_mapping, 10 * (loff_t)PGSZ + 512, 100, 0,
						&wp, NULL),
				 0);
		memset((char *)pc_page_address(wp) + 512, 0x66, 100);
		assert_int_equal(a->write_end(NULL, &E.bdev->bd_mapping, 10 * (loff_t)PGSZ + 512, 100, 100,
					      wp, NULL),
				 100);
	}
	assert_int_equal(pc_sync_blockdev(E.bdev), 0);
	host_read(buf, sizeof(buf), 10 * (uint64_t)PGSZ);
	check_pat(buf, 10 * (uint64_t)PGSZ, 512, "bdev write head");
	check_byte(buf + 512, 0x66, 100, "bdev write");
	check_pat(buf + 612, 10 * (uint64_t)PGSZ + 612, PGSZ - 612, "bdev write tail");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_buffer_lock_wait, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_bdev_bread_roundtrip, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_bdev_read_error, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_bdev_clean_aliases, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_bdev_set_blocksize, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_bdev_pages_through_aops, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_buffer_rings, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_block_read_full_page, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_contig, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_contig, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_eof, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_eof, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_confused, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_readahead_boundary, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_read_error, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_get_block_metadata_read, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_write_begin_end_new_buffers, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_write_begin_partial_read, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_big12, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_big10, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_fragmented, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_fragmented10, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_locked_page, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_mpage_writepages_buffers, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_writepage_get_block_errors, setup10, env_teardown),
		cmocka_unit_test_setup_teardown(test_writepage_io_error, setup12, env_teardown),
		cmocka_unit_test_setup_teardown(test_block_write_full_page_eof, setup10, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
