/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_filemap.c - layers 2, 4 and 5 through a fake filesystem:
 * the generic write path (write_begin/copy/write_end, short copies), the
 * read path and readahead windows, write_cache_pages (ordering, the TOWRITE
 * livelock fix, range_cyclic), errseq reporting, truncate, and reclaim with
 * the flusher under a tiny cache.
 *
 * The fake filesystem ("fakefs") keeps its data in a malloc'd "disk" (a
 * flat byte array: file offset == disk offset) and has one regular inode,
 * set up with pc_inode_init_once() on a hand-made super_block. Its
 * address_space_operations copy between pages and the disk synchronously
 * and log what they were asked to do (writepage indexes, readahead
 * batches, zero-commit write_ends), so tests can assert on the calls as
 * well as on the bytes.
 *
 * FM_CHECK(fs, cond) counts each check and, on failure, dumps the fake
 * filesystem: i_size, pages, pool counters, and the operation logs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/uio.h>

#include <pagecache/errseq.h>
#include <pagecache/filemap.h>
#include <pagecache/iov_iter.h>
#include <pagecache/mm.h>
#include <pagecache/vfs.h>
#include <pagecache/writeback.h>
#include "test_util.h"

#define DISK_SIZE (32u << 20)
#define MAXLOG 20000

struct ra_batch {
	pc_pgoff_t index;
	unsigned count;
};

struct fakefs {
	struct pc_cache *cache;
	struct pc_backing_dev bdi;
	bool have_bdi;
	struct pc_super_block sb;
	struct pc_inode inode;
	struct pc_address_space *mapping;
	unsigned char *disk;

	pthread_mutex_t log_lock;	/* writepage may run in the flusher */
	pc_pgoff_t wp_log[MAXLOG];
	size_t wp_n;
	struct ra_batch ra_log[MAXLOG];
	size_t ra_n;
	_Atomic unsigned long readpage_calls, write_begin_calls, write_end_calls, zero_commits;
	_Atomic unsigned long writepage_calls;
	_Atomic unsigned long ra_bad;		/* readahead pages not as documented */

	_Atomic long long fail_index;	/* writepage of this index fails with -EIO */
	bool livelock;			/* writepage dirties a new page each call */
	pc_pgoff_t livelock_next, livelock_limit;
};

static struct fakefs *FS(struct pc_address_space *mapping)
{
	return pc_container_of(mapping->host, struct fakefs, inode);
}

static void fm_dump(struct fakefs *fs)
{
	struct pc_cache_stats st;

	if (!fs)
		return;
	pc_cache_get_stats(fs->cache, &st);
	fprintf(stderr, "  fakefs: i_size %lld nrpages %lu dirty-tagged %d writeback-tagged %d "
		"wb_err %#x writeback_index %" PRIu64 "\n",
		(long long)pc_i_size_read(&fs->inode), atomic_load(&fs->mapping->nrpages),
		pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_DIRTY),
		pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_WRITEBACK),
		(unsigned)atomic_load(&fs->mapping->wb_err),
		(uint64_t)atomic_load(&fs->mapping->writeback_index));
	fprintf(stderr, "  pool: pages %" PRIu64 " free %" PRIu64 " peak %" PRIu64 " dirty %" PRIu64
		" writeback %" PRIu64 " evictions %" PRIu64 " ra_pages %" PRIu64 " hits %" PRIu64
		" misses %" PRIu64 " written %" PRIu64 " throttled %" PRIu64 "\n",
		st.nr_pages, st.nr_free, st.peak_pages, st.nr_dirty, st.nr_writeback, st.evictions,
		st.readahead_pages, st.hits, st.misses, st.pages_written, st.dirty_throttled);
	fprintf(stderr, "  calls: readpage %lu write_begin %lu write_end %lu zero-commit %lu "
		"writepage %lu\n", atomic_load(&fs->readpage_calls),
		atomic_load(&fs->write_begin_calls), atomic_load(&fs->write_end_calls),
		atomic_load(&fs->zero_commits), atomic_load(&fs->writepage_calls));
	pthread_mutex_lock(&fs->log_lock);
	fprintf(stderr, "  writepage log (%zu):", fs->wp_n);
	for (size_t i = 0; i < fs->wp_n && i < 120; i++)
		fprintf(stderr, " %" PRIu64, (uint64_t)fs->wp_log[i]);
	fprintf(stderr, "%s\n  readahead log (%zu):", fs->wp_n > 120 ? " ..." : "", fs->ra_n);
	for (size_t i = 0; i < fs->ra_n && i < 60; i++)
		fprintf(stderr, " (%" PRIu64 ",%u)", (uint64_t)fs->ra_log[i].index,
			fs->ra_log[i].count);
	fprintf(stderr, "%s\n", fs->ra_n > 60 ? " ..." : "");
	pthread_mutex_unlock(&fs->log_lock);
}

#define FM_CHECK(fs, cond) TU_CHECK(cond, fm_dump(fs))

/* ------------------------------------------------------------------ */
/* The fake filesystem's address_space_operations                     */
/* ------------------------------------------------------------------ */

/* Fill @page from the disk: the file's bytes up to i_size, zeros past it. */
static void fs_fill_page(struct fakefs *fs, struct pc_page *page)
{
	loff_t isize = pc_i_size_read(&fs->inode);
	loff_t pos = (loff_t)page->index << PC_PAGE_SHIFT;
	size_t n = 0;

	if (isize > pos)
		n = (size_t)PC_MIN((loff_t)PC_PAGE_SIZE, isize - pos);
	if (pos >= (loff_t)DISK_SIZE)
		n = 0;
	else if (pos + (loff_t)n > (loff_t)DISK_SIZE)
		n = DISK_SIZE - (size_t)pos;
	memcpy(pc_page_address(page), fs->disk + pos, n);
	memset((char *)pc_page_address(page) + n, 0, PC_PAGE_SIZE - n);
}

static int fs_readpage(struct pc_file *file, struct pc_page *page)
{
	struct fakefs *fs = FS(page->mapping);

	(void)file;
	atomic_fetch_add(&fs->readpage_calls, 1);
	fs_fill_page(fs, page);
	pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return 0;
}

static void fs_readahead(struct pc_readahead_control *rac)
{
	struct fakefs *fs = FS(rac->mapping);
	struct pc_page *page;
	pc_pgoff_t expect = pc_readahead_index(rac);

	pthread_mutex_lock(&fs->log_lock);
	if (fs->ra_n < MAXLOG)
		fs->ra_log[fs->ra_n++] = (struct ra_batch){ pc_readahead_index(rac),
							    pc_readahead_count(rac) };
	pthread_mutex_unlock(&fs->log_lock);
	while ((page = pc_readahead_page(rac))) {
		if (page->index != expect++ || !pc_PageLocked(page) || pc_PageUptodate(page))
			atomic_fetch_add(&fs->ra_bad, 1);
		fs_fill_page(fs, page);
		pc_SetPageUptodate(page);
		pc_unlock_page(page);
		pc_put_page(page);
	}
}

static int fs_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			  unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	struct fakefs *fs = FS(mapping);
	struct pc_page *page;

	(void)file;
	(void)fsdata;
	atomic_fetch_add(&fs->write_begin_calls, 1);
	page = pc_grab_cache_page_write_begin(mapping, pos >> PC_PAGE_SHIFT, flags);
	if (!page)
		return -ENOMEM;
	if (!pc_PageUptodate(page) && len != PC_PAGE_SIZE) {
		/* A partial write: the rest of the page must come from the disk. */
		fs_fill_page(fs, page);
		pc_SetPageUptodate(page);
	}
	*pagep = page;
	return 0;
}

static int fs_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct fakefs *fs = FS(mapping);
	unsigned committed = copied;

	(void)file;
	(void)fsdata;
	atomic_fetch_add(&fs->write_end_calls, 1);
	if (!pc_PageUptodate(page)) {
		if (copied < len) {
			/* A short copy into a page with no valid data around it:
			 * nothing of it can be kept. */
			committed = 0;
			atomic_fetch_add(&fs->zero_commits, 1);
		} else {
			pc_SetPageUptodate(page);
		}
	}
	if (committed) {
		if (pos + committed > pc_i_size_read(&fs->inode))
			pc_i_size_write(&fs->inode, pos + committed);
		pc_set_page_dirty(page);
	}
	pc_unlock_page(page);
	pc_put_page(page);
	return (int)committed;
}

/* Dirty a fresh page at @index (used by the livelock writepage). */
static void fs_dirty_new_page(struct fakefs *fs, pc_pgoff_t index)
{
	struct pc_page *page = pc_find_or_create_page(fs->mapping, index, 0);

	if (!page)
		return;
	memset(pc_page_address(page), 0x5c, PC_PAGE_SIZE);
	pc_SetPageUptodate(page);
	pc_set_page_dirty(page);
	pc_unlock_page(page);
	pc_put_page(page);
}

static int fs_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	struct fakefs *fs = FS(page->mapping);
	loff_t pos = (loff_t)page->index << PC_PAGE_SHIFT;
	bool fail = (long long)page->index == atomic_load(&fs->fail_index);

	(void)wbc;
	atomic_fetch_add(&fs->writepage_calls, 1);
	pthread_mutex_lock(&fs->log_lock);
	if (fs->wp_n < MAXLOG)
		fs->wp_log[fs->wp_n++] = page->index;
	pthread_mutex_unlock(&fs->log_lock);

	if (fail) {
		pc_mapping_set_error(page->mapping, -EIO);
		pc_SetPageError(page);
	} else if (pos < (loff_t)DISK_SIZE) {
		memcpy(fs->disk + pos, pc_page_address(page),
		       PC_MIN((size_t)PC_PAGE_SIZE, DISK_SIZE - (size_t)pos));
	}
	pc_set_page_writeback(page);
	pc_unlock_page(page);
	pc_end_page_writeback(page);
	/* Bounded, so that a broken write_cache_pages fails the test instead
	 * of hanging it. */
	if (fs->livelock && fs->livelock_next < fs->livelock_limit)
		fs_dirty_new_page(fs, fs->livelock_next++);
	return fail ? -EIO : 0;
}

static const struct pc_address_space_operations fs_aops = {
	.readpage = fs_readpage,
	.readahead = fs_readahead,
	.write_begin = fs_write_begin,
	.write_end = fs_write_end,
	.writepage = fs_writepage,
};

static const struct pc_super_operations fs_sops;	/* nothing */

/* ------------------------------------------------------------------ */
/* Setup                                                              */
/* ------------------------------------------------------------------ */

static struct fakefs *fs_create(size_t cache_pages, bool with_flusher)
{
	struct pc_cache_params p = { .size_bytes = cache_pages * PC_PAGE_SIZE };
	struct fakefs *fs = calloc(1, sizeof(*fs));

	assert_non_null(fs);
	fs->disk = calloc(1, DISK_SIZE);
	assert_non_null(fs->disk);
	assert_int_equal(pc_cache_create(&p, &fs->cache), 0);
	if (with_flusher) {
		assert_int_equal(pc_bdi_init(&fs->bdi, fs->cache, "fakefs"), 0);
		fs->have_bdi = true;
	}
	pthread_mutex_init(&fs->log_lock, NULL);
	atomic_store(&fs->fail_index, -1);

	fs->sb.s_op = &fs_sops;
	fs->sb.s_blocksize = PC_PAGE_SIZE;
	fs->sb.s_blocksize_bits = PC_PAGE_SHIFT;
	fs->sb.s_maxbytes = (loff_t)DISK_SIZE;
	fs->sb.s_bdi = with_flusher ? &fs->bdi : NULL;
	fs->sb.s_cache = fs->cache;
	pthread_mutex_init(&fs->sb.s_inode_lock, NULL);
	pthread_mutex_init(&fs->sb.s_vfs_rename_mutex, NULL);
	pc_list_init(&fs->sb.s_inodes);

	pc_inode_init_once(&fs->inode, &fs->sb);
	fs->inode.i_ino = 12;
	fs->inode.i_mode = S_IFREG | 0644;
	atomic_store(&fs->inode.i_count, 1);	/* ours, for the whole test */
	pc_inode_set_ops(&fs->inode, NULL, NULL, &fs_aops);
	fs->mapping = fs->inode.i_mapping;
	assert_ptr_equal(fs->mapping, &fs->inode.i_data);
	assert_ptr_equal(fs->mapping->a_ops, &fs_aops);
	return fs;
}

static void fs_destroy(struct fakefs *fs)
{
	if (fs->have_bdi) {
		pc_inode_io_list_del(&fs->inode);
		pc_bdi_destroy(&fs->bdi);
	}
	pc_truncate_inode_pages(fs->mapping, 0);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 0);
	pc_address_space_destroy(fs->mapping);
	pc_rwsem_destroy(&fs->inode.i_rwsem);
	pthread_mutex_destroy(&fs->inode.i_lock);
	pthread_mutex_destroy(&fs->sb.s_inode_lock);
	pthread_mutex_destroy(&fs->sb.s_vfs_rename_mutex);
	pthread_mutex_destroy(&fs->log_lock);
	pc_cache_destroy(fs->cache);
	free(fs->disk);
	free(fs);
}

/* "Open" the file: what the VFS does for a struct pc_file. */
static struct pc_file *fs_open(struct fakefs *fs)
{
	struct pc_file *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->f_inode = &fs->inode;
	f->f_mapping = fs->mapping;
	f->f_flags = O_RDWR;
	pthread_mutex_init(&f->f_pos_lock, NULL);
	pc_file_ra_state_init(&f->f_ra, fs->mapping);
	f->f_wb_err = pc_errseq_sample(&fs->mapping->wb_err);
	atomic_store(&f->f_count, 1);
	return f;
}

static void fs_close(struct pc_file *f)
{
	pthread_mutex_destroy(&f->f_pos_lock);
	free(f);
}

static void fs_clear_logs(struct fakefs *fs)
{
	pthread_mutex_lock(&fs->log_lock);
	fs->wp_n = 0;
	fs->ra_n = 0;
	pthread_mutex_unlock(&fs->log_lock);
}

/* Buffered write of @iov at @pos through pc_generic_file_write_iter. */
static ssize_t fs_writev(struct pc_file *f, const struct iovec *iov, unsigned nseg, loff_t pos,
			 unsigned flags, long long fault_at, bool sticky, loff_t *newpos)
{
	struct pc_kiocb iocb = { .ki_filp = f, .ki_pos = pos, .ki_flags = flags };
	struct pc_iov_iter it;
	size_t total = 0;
	ssize_t r;

	for (unsigned i = 0; i < nseg; i++)
		total += iov[i].iov_len;
	pc_iov_iter_init(&it, PC_WRITE, iov, nseg, total);
	if (fault_at >= 0)
		pc_iov_iter_set_fault(&it, fault_at, sticky);
	r = pc_generic_file_write_iter(&iocb, &it);
	if (newpos)
		*newpos = iocb.ki_pos;
	return r;
}

static ssize_t fs_pwrite(struct pc_file *f, const void *buf, size_t len, loff_t pos)
{
	struct iovec iov = { (void *)buf, len };
	return fs_writev(f, &iov, 1, pos, 0, -1, false, NULL);
}

static ssize_t fs_preadv(struct pc_file *f, const struct iovec *iov, unsigned nseg, loff_t pos)
{
	struct pc_kiocb iocb = { .ki_filp = f, .ki_pos = pos };
	struct pc_iov_iter it;
	size_t total = 0;
	ssize_t r;

	for (unsigned i = 0; i < nseg; i++)
		total += iov[i].iov_len;
	pc_iov_iter_init(&it, PC_READ, iov, nseg, total);
	r = pc_generic_file_read_iter(&iocb, &it);
	if (r > 0 && iocb.ki_pos != pos + r)
		return -10000;	/* ki_pos not advanced by what was read */
	return r;
}

static ssize_t fs_pread(struct pc_file *f, void *buf, size_t len, loff_t pos)
{
	struct iovec iov = { buf, len };
	return fs_preadv(f, &iov, 1, pos);
}

/* Put @len bytes of pattern @seed straight on the disk and set i_size:
 * a file that exists on disk and has no cached page. */
static void fs_make_file(struct fakefs *fs, size_t len, unsigned seed)
{
	pc_truncate_inode_pages(fs->mapping, 0);
	tu_fill(fs->disk, 0, len, seed);
	memset(fs->disk + len, 0, DISK_SIZE - len);
	pc_i_size_write(&fs->inode, (loff_t)len);
}

/* Compare the file, read through the cache, with @want (size and bytes). */
static void check_file(struct fakefs *fs, struct pc_file *f, const unsigned char *want, size_t size)
{
	unsigned char *buf = malloc(size + 8192);
	ssize_t r;
	long d;

	assert_non_null(buf);
	FM_CHECK(fs, pc_i_size_read(&fs->inode) == (loff_t)size);
	r = fs_pread(f, buf, size + 8192, 0);
	FM_CHECK(fs, r == (ssize_t)size);
	d = tu_first_diff(buf, want, size);
	if (d >= 0)
		tu_dump_diff("file via cache", buf, want, size, d);
	FM_CHECK(fs, d < 0);
	free(buf);
}

static void check_disk(struct fakefs *fs, const unsigned char *want, size_t size)
{
	long d = tu_first_diff(fs->disk, want, size);
	if (d >= 0)
		tu_dump_diff("disk", fs->disk, want, size, d);
	FM_CHECK(fs, d < 0);
}

static struct pc_cache_stats stats(struct fakefs *fs)
{
	struct pc_cache_stats st;
	pc_cache_get_stats(fs->cache, &st);
	return st;
}

/* ------------------------------------------------------------------ */
/* (1) perform_write                                                  */
/* ------------------------------------------------------------------ */

#define MODEL_MAX (1u << 20)

static void test_perform_write(void **state)
{
	struct fakefs *fs = fs_create(16384, false);
	struct pc_file *f = fs_open(fs);
	unsigned char *model = calloc(1, MODEL_MAX), *src = malloc(MODEL_MAX), *buf = malloc(MODEL_MAX);
	size_t size = 0;
	struct tu_rng rng = { 42 };
	loff_t newpos;

	(void)state;
	assert_non_null(model);
	assert_non_null(src);
	assert_non_null(buf);

	/* Hand-picked unaligned cases first. */
	{
		static const struct { loff_t pos; size_t len; } cases[] = {
			{ 4095, 1 }, { 0, 1 }, { 4096, 4096 }, { 100, 10000 }, { 12287, 2 },
			{ 20000, 3 * 4096 + 17 }, { 8191, 4097 },
		};
		for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			tu_fill(src, (uint64_t)cases[k].pos, cases[k].len, 100 + k);
			ssize_t r = fs_writev(f, &(struct iovec){ src, cases[k].len }, 1, cases[k].pos,
					      0, -1, false, &newpos);
			FM_CHECK(fs, r == (ssize_t)cases[k].len);
			FM_CHECK(fs, newpos == cases[k].pos + (loff_t)cases[k].len);
			memcpy(model + cases[k].pos, src, cases[k].len);
			size = PC_MAX(size, (size_t)cases[k].pos + cases[k].len);
			FM_CHECK(fs, pc_i_size_read(&fs->inode) == (loff_t)size);
		}
		check_file(fs, f, model, size);
	}

	/* Random multi-segment writes (zero-length segments included) and
	 * random multi-segment reads, against the model. */
	for (unsigned op = 0; op < 300; op++) {
		loff_t pos = (loff_t)tu_rand_below(&rng, 600000);
		size_t len = 1 + tu_rand_below(&rng, 70000);
		unsigned nseg = 1 + (unsigned)tu_rand_below(&rng, 8);
		struct iovec iov[8];
		size_t left = len, off = 0;

		tu_fill(src, (uint64_t)pos, len, 1000 + op);
		for (unsigned s = 0; s < nseg; s++) {
			size_t l = s + 1 == nseg ? left : tu_rand_below(&rng, left + 1);
			if (tu_rand_below(&rng, 5) == 0 && s + 1 < nseg)
				l = 0;
			iov[s] = (struct iovec){ src + off, l };
			off += l;
			left -= l;
		}
		ssize_t r = fs_writev(f, iov, nseg, pos, 0, -1, false, &newpos);
		FM_CHECK(fs, r == (ssize_t)len);
		FM_CHECK(fs, newpos == pos + (loff_t)len);
		memcpy(model + pos, src, len);
		size = PC_MAX(size, (size_t)pos + len);
		FM_CHECK(fs, pc_i_size_read(&fs->inode) == (loff_t)size);

		/* read a random range back, in up to 3 segments */
		{
			loff_t rpos = (loff_t)tu_rand_below(&rng, size + 5000);
			size_t rlen = 1 + tu_rand_below(&rng, 50000);
			size_t want = rpos >= (loff_t)size ? 0 : PC_MIN(rlen, size - (size_t)rpos);
			struct iovec riov[3];
			size_t a = tu_rand_below(&rng, rlen + 1), b = tu_rand_below(&rng, rlen - a + 1);
			riov[0] = (struct iovec){ buf, a };
			riov[1] = (struct iovec){ buf + a, b };
			riov[2] = (struct iovec){ buf + a + b, rlen - a - b };
			memset(buf, 0xee, rlen);
			r = fs_preadv(f, riov, 3, rpos);
			FM_CHECK(fs, r == (ssize_t)want);
			if (want)
				FM_CHECK(fs, tu_first_diff(buf, model + rpos, want) < 0);
			if (want < rlen)
				FM_CHECK(fs, buf[want] == 0xee);	/* nothing past EOF */
		}
	}
	check_file(fs, f, model, size);
	FM_CHECK(fs, stats(fs).nr_dirty > 0);
	FM_CHECK(fs, pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_DIRTY));

	/* Everything reaches the disk; nothing stays dirty. */
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	check_disk(fs, model, size);
	FM_CHECK(fs, stats(fs).nr_dirty == 0 && stats(fs).nr_writeback == 0);
	FM_CHECK(fs, !pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_DIRTY));
	/* The tail of the EOF page is zero on disk. */
	{
		size_t end = (size + PC_PAGE_SIZE - 1) & PC_PAGE_MASK;
		for (size_t i = size; i < end; i++)
			FM_CHECK(fs, fs->disk[i] == 0);
	}

	/* O_APPEND writes at i_size, whatever ki_pos says. */
	tu_fill(src, size, 5000, 77);
	FM_CHECK(fs, fs_writev(f, &(struct iovec){ src, 5000 }, 1, 3, PC_IOCB_APPEND, -1, false,
			       &newpos) == 5000);
	FM_CHECK(fs, newpos == (loff_t)(size + 5000));
	memcpy(model + size, src, 5000);
	size += 5000;
	check_file(fs, f, model, size);

	/* O_DSYNC: on the disk when the write returns. */
	tu_fill(src, 777, 9000, 78);
	FM_CHECK(fs, fs_writev(f, &(struct iovec){ src, 9000 }, 1, 777, PC_IOCB_DSYNC, -1, false,
			       NULL) == 9000);
	memcpy(model + 777, src, 9000);
	FM_CHECK(fs, tu_first_diff(fs->disk + 777, src, 9000) < 0);
	FM_CHECK(fs, !pc_page_tagged(fs->mapping, 777 >> PC_PAGE_SHIFT, PC_TAG_DIRTY));

	/* pc_generic_perform_write directly (caller holds the inode lock),
	 * over a kvec iterator. */
	{
		struct pc_iov_iter it;
		struct iovec kv[2] = { { src, 3000 }, { src + 3000, 3000 } };
		tu_fill(src, 50000, 6000, 79);
		pc_iov_iter_kvec(&it, PC_WRITE, kv, 2, 6000);
		pc_inode_lock(&fs->inode);
		FM_CHECK(fs, pc_generic_perform_write(f, &it, 50000) == 6000);
		pc_inode_unlock(&fs->inode);
		FM_CHECK(fs, pc_iov_iter_count(&it) == 0);
		memcpy(model + 50000, src, 6000);
		check_file(fs, f, model, size);
	}

	/* Past s_maxbytes: -EFBIG, nothing written; a write crossing it is clipped. */
	FM_CHECK(fs, fs_pwrite(f, src, 10, (loff_t)DISK_SIZE) == -EFBIG);
	FM_CHECK(fs, fs_pwrite(f, src, 100, (loff_t)DISK_SIZE - 10) == 10);
	FM_CHECK(fs, pc_i_size_read(&fs->inode) == (loff_t)DISK_SIZE);
	/* A zero-length write does nothing. */
	FM_CHECK(fs, fs_pwrite(f, src, 0, 5) == 0);

	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	check_disk(fs, model, size);
	fs_close(f);
	fs_destroy(fs);
	free(model);
	free(src);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* (2) short copies                                                   */
/* ------------------------------------------------------------------ */

static void test_short_copy_nonsticky(void **state)
{
	struct fakefs *fs = fs_create(4096, false);
	struct pc_file *f = fs_open(fs);
	unsigned char src[8192], want[16384];
	unsigned long z0, we0;
	loff_t newpos;

	(void)state;
	/* A full-page write to a new page, in two iovec segments; the copy
	 * faults at byte 3000, in the second segment (fault_in_readable only
	 * checks the current segment, so it does not see it coming). */
	tu_fill(src, 0, 4096, 11);
	z0 = atomic_load(&fs->zero_commits);
	we0 = atomic_load(&fs->write_end_calls);
	{
		struct iovec iov[2] = { { src, 2048 }, { src + 2048, 2048 } };
		FM_CHECK(fs, fs_writev(f, iov, 2, 0, 0, 3000, false, &newpos) == 4096);
	}
	FM_CHECK(fs, newpos == 4096);
	/* write_end saw copied (3000) < len on a !uptodate page and committed
	 * 0, once; the retry went one segment at a time: 2048 + 2048. */
	FM_CHECK(fs, atomic_load(&fs->zero_commits) - z0 == 1);
	FM_CHECK(fs, atomic_load(&fs->write_end_calls) - we0 == 3);
	check_file(fs, f, src, 4096);

	/* The same into an uptodate page: write_end keeps the short copy
	 * (3000 bytes) and the loop goes on from there; no zero commit. */
	tu_fill(src, 0, 4096, 12);
	z0 = atomic_load(&fs->zero_commits);
	we0 = atomic_load(&fs->write_end_calls);
	{
		struct iovec iov[2] = { { src, 2048 }, { src + 2048, 2048 } };
		FM_CHECK(fs, fs_writev(f, iov, 2, 0, 0, 3000, false, NULL) == 4096);
	}
	FM_CHECK(fs, atomic_load(&fs->zero_commits) - z0 == 0);
	FM_CHECK(fs, atomic_load(&fs->write_end_calls) - we0 == 2);
	check_file(fs, f, src, 4096);

	/* A multi-page unaligned write (file bytes 1000..9191) that faults in
	 * its third segment while filling the whole of page 1, a new page:
	 * page 0 (uptodate) takes 3096 bytes; page 1 commits 0, then the
	 * one-segment retries take 404, then 1500 up to the fault (page now
	 * uptodate), whereupon fault_in clears it; page 2 takes the last 1000. */
	memcpy(want, src, 4096);
	tu_fill(src, 0, 8192, 13);
	z0 = atomic_load(&fs->zero_commits);
	we0 = atomic_load(&fs->write_end_calls);
	{
		struct iovec iov[3] = { { src, 3500 }, { src + 3500, 1000 }, { src + 4500, 3692 } };
		FM_CHECK(fs, fs_writev(f, iov, 3, 1000, 0, 5000, false, NULL) == 8192);
	}
	FM_CHECK(fs, atomic_load(&fs->zero_commits) - z0 == 1);
	FM_CHECK(fs, atomic_load(&fs->write_end_calls) - we0 == 6);
	memcpy(want + 1000, src, 8192);
	check_file(fs, f, want, 9192);

	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	check_disk(fs, want, 9192);
	fs_close(f);
	fs_destroy(fs);
}

/*
 * Sticky faults: the write stops. What was committed before is kept; the
 * call returns it, or -EFAULT if nothing was; no byte at or past the fault
 * changes, in the cache or on disk, and i_size only covers what was written.
 */
static void test_short_copy_sticky(void **state)
{
	enum { FSIZE = 16384 };
	struct fakefs *fs = fs_create(4096, false);
	struct pc_file *f = fs_open(fs);
	unsigned char src[16384], want[32768];
	unsigned long z0;

	(void)state;
	struct sticky_case {
		const char *name;
		bool cached;		/* file pages cached and uptodate first */
		loff_t pos;
		unsigned nseg;
		size_t seg[2];
		long long fault;
		ssize_t ret;		/* expected result */
		unsigned long zero_commits;
	} cases[] = {
		/* one segment: fault_in_readable refuses the page holding the fault */
		{ "one segment, cached", true, 0, 1, { 12288, 0 }, 5000, 4096, 0 },
		{ "one segment, not cached", false, 0, 1, { 12288, 0 }, 5000, 4096, 0 },
		/* fault at once: nothing written */
		{ "fault at 0", true, 100, 1, { 5000, 0 }, 0, -EFAULT, 0 },
		{ "fault at 0, past EOF", false, FSIZE + 10, 1, { 5000, 0 }, 0, -EFAULT, 0 },
		/* two segments, the fault in the second: the copy stops short at
		 * it; an uptodate page keeps the short copy (exactly up to the
		 * fault) ... */
		{ "two segments, cached", true, 0, 2, { 4596, 7692 }, 5000, 5000, 0 },
		/* ... a new page commits 0, the one-segment retry writes the rest
		 * of the first segment, then the fault stops it */
		{ "two segments, not cached", false, 0, 2, { 4596, 7692 }, 5000, 4596, 1 },
		{ "two segments, past EOF", false, FSIZE, 2, { 4596, 7692 }, 5000, 4596, 1 },
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sticky_case *c = &cases[k];
		struct iovec iov[2];
		size_t total = c->seg[0] + c->seg[1];
		size_t newsize;
		ssize_t r;

		fprintf(stderr, "  sticky case: %s\n", c->name);
		fs_make_file(fs, FSIZE, 20 + k);
		memset(want, 0, sizeof(want));
		tu_fill(want, 0, FSIZE, 20 + k);
		if (c->cached) {
			check_file(fs, f, want, FSIZE);	/* reads every page in */
			FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == FSIZE / PC_PAGE_SIZE);
		}
		tu_fill(src, (uint64_t)c->pos, total, 40 + k);
		iov[0] = (struct iovec){ src, c->seg[0] };
		iov[1] = (struct iovec){ src + c->seg[0], c->seg[1] };
		z0 = atomic_load(&fs->zero_commits);
		r = fs_writev(f, iov, c->nseg, c->pos, 0, c->fault, true, NULL);
		FM_CHECK(fs, r == c->ret);
		FM_CHECK(fs, atomic_load(&fs->zero_commits) - z0 == c->zero_commits);
		if (r > 0)
			memcpy(want + c->pos, src, (size_t)r);
		newsize = PC_MAX((size_t)FSIZE, r > 0 ? (size_t)c->pos + (size_t)r : 0);
		check_file(fs, f, want, newsize);
		FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
		check_disk(fs, want, newsize);
	}
	fs_close(f);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* (3) readahead                                                      */
/* ------------------------------------------------------------------ */

/* The window sizes readahead.c produces for a sequential reader. */
static unsigned model_init_ra(unsigned long req, unsigned long max)
{
	unsigned long n = 1;
	while (n < req)
		n <<= 1;
	if (n <= max / 32)
		n *= 4;
	else if (n <= max / 4)
		n *= 2;
	else
		n = max;
	return (unsigned)PC_MIN(n, max);
}
static unsigned model_next_ra(unsigned long cur, unsigned long max)
{
	if (cur < max / 16)
		return (unsigned)(4 * cur);
	if (cur <= max / 2)
		return (unsigned)(2 * cur);
	return (unsigned)max;
}

static void test_readahead_sequential(void **state)
{
	enum { FSIZE = 16u << 20, NPAGES = FSIZE / 4096 };
	struct fakefs *fs = fs_create(8192, false);
	struct pc_file *f = fs_open(fs);
	unsigned char buf[4096], want[4096];
	struct pc_cache_stats st0, st1;
	unsigned max = f->f_ra.ra_pages;

	(void)state;
	FM_CHECK(fs, max == PC_DEFAULT_RA_PAGES);
	FM_CHECK(fs, max == 512);
	fs_make_file(fs, FSIZE, 5);
	fs_clear_logs(fs);
	st0 = stats(fs);
	for (loff_t pos = 0; pos < FSIZE; pos += 4096) {
		ssize_t r = fs_pread(f, buf, 4096, pos);
		FM_CHECK(fs, r == 4096);
		tu_fill(want, (uint64_t)pos, 4096, 5);
		if (memcmp(buf, want, 4096)) {
			long d = tu_first_diff(buf, want, 4096);
			tu_dump_diff("page", buf, want, 4096, d);
			FM_CHECK(fs, d < 0);
		}
	}
	FM_CHECK(fs, fs_pread(f, buf, 4096, FSIZE) == 0);	/* EOF */
	st1 = stats(fs);

	/* The windows ramp up 4, 16, 64, 128, 256, 512, 512, ... contiguous,
	 * the last one clipped at EOF. */
	{
		static const unsigned ramp[] = { 4, 16, 64, 128, 256, 512, 512 };
		pc_pgoff_t next = 0;
		unsigned size = model_init_ra(1, max);
		size_t i;

		FM_CHECK(fs, fs->ra_n >= 7);
		for (i = 0; i < 7; i++)
			FM_CHECK(fs, fs->ra_log[i].count == ramp[i]);
		for (i = 0; i < fs->ra_n; i++) {
			unsigned want_n = (unsigned)PC_MIN((pc_pgoff_t)size, NPAGES - next);
			FM_CHECK(fs, fs->ra_log[i].index == next);
			FM_CHECK(fs, fs->ra_log[i].count == want_n);
			next += want_n;
			size = model_next_ra(size, max);
		}
		FM_CHECK(fs, next == NPAGES);
	}
	FM_CHECK(fs, st1.readahead_pages - st0.readahead_pages == NPAGES);
	FM_CHECK(fs, atomic_load(&fs->readpage_calls) == 0);	/* all through readahead */
	FM_CHECK(fs, atomic_load(&fs->ra_bad) == 0);
	FM_CHECK(fs, st1.hits + st1.misses - st0.hits - st0.misses == NPAGES);

	/* One big read on a cold cache: the first window covers the request
	 * (1 MiB = 256 pages -> 512 with max 512). */
	pc_truncate_inode_pages(fs->mapping, 0);
	fs_close(f);
	f = fs_open(fs);
	fs_clear_logs(fs);
	{
		unsigned char *big = malloc(1u << 20), *bw = malloc(1u << 20);
		assert_non_null(big);
		assert_non_null(bw);
		FM_CHECK(fs, fs_pread(f, big, 1u << 20, 0) == (ssize_t)(1u << 20));
		tu_fill(bw, 0, 1u << 20, 5);
		FM_CHECK(fs, memcmp(big, bw, 1u << 20) == 0);
		FM_CHECK(fs, fs->ra_n >= 1);
		FM_CHECK(fs, fs->ra_log[0].index == 0 && fs->ra_log[0].count == model_init_ra(256, max));
		free(big);
		free(bw);
	}

	/* With readahead off (ra_pages 0), a miss reads exactly the request. */
	pc_truncate_inode_pages(fs->mapping, 0);
	fs_close(f);
	f = fs_open(fs);
	f->f_ra.ra_pages = 0;
	fs_clear_logs(fs);
	{
		unsigned char b2[65536], w2[65536];
		FM_CHECK(fs, fs_pread(f, b2, sizeof(b2), 40960) == (ssize_t)sizeof(b2));
		tu_fill(w2, 40960, sizeof(w2), 5);
		FM_CHECK(fs, memcmp(b2, w2, sizeof(b2)) == 0);
		FM_CHECK(fs, fs->ra_n == 1);
		FM_CHECK(fs, fs->ra_log[0].index == 10 && fs->ra_log[0].count == 16);
	}
	fs_close(f);
	fs_destroy(fs);
}

static void test_readahead_random(void **state)
{
	enum { FSIZE = 16u << 20 };
	static const pc_pgoff_t where[] = { 3000, 100, 2000, 700, 3900, 1500, 2600, 50, 1234 };
	const unsigned n = sizeof(where) / sizeof(where[0]);
	struct fakefs *fs = fs_create(8192, false);
	struct pc_file *f = fs_open(fs);
	unsigned char buf[4096], want[4096];
	struct pc_cache_stats st0, st1;

	(void)state;
	fs_make_file(fs, FSIZE, 6);
	fs_clear_logs(fs);
	st0 = stats(fs);
	for (unsigned i = 0; i < n; i++) {
		loff_t pos = (loff_t)where[i] << PC_PAGE_SHIFT;
		FM_CHECK(fs, fs_pread(f, buf, 4096, pos) == 4096);
		tu_fill(want, (uint64_t)pos, 4096, 6);
		FM_CHECK(fs, memcmp(buf, want, 4096) == 0);
	}
	st1 = stats(fs);
	/* Random reads read only what was asked: one page each. */
	FM_CHECK(fs, fs->ra_n == n);
	for (unsigned i = 0; i < n && i < fs->ra_n; i++) {
		FM_CHECK(fs, fs->ra_log[i].index == where[i]);
		FM_CHECK(fs, fs->ra_log[i].count == 1);
	}
	FM_CHECK(fs, st1.readahead_pages - st0.readahead_pages == n);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == n);
	FM_CHECK(fs, atomic_load(&fs->ra_bad) == 0);

	/* Reading them again hits the cache: no I/O at all. */
	fs_clear_logs(fs);
	for (unsigned i = 0; i < n; i++)
		FM_CHECK(fs, fs_pread(f, buf, 4096, (loff_t)where[i] << PC_PAGE_SHIFT) == 4096);
	FM_CHECK(fs, fs->ra_n == 0);
	FM_CHECK(fs, atomic_load(&fs->readpage_calls) == 0);
	FM_CHECK(fs, stats(fs).hits - st1.hits == n);

	/* An unaligned read straddling two uncached pages of a random spot. */
	fs_clear_logs(fs);
	{
		unsigned char b2[100], w2[100];
		loff_t pos = (3333 << PC_PAGE_SHIFT) - 50;
		FM_CHECK(fs, fs_pread(f, b2, 100, pos) == 100);
		tu_fill(w2, (uint64_t)pos, 100, 6);
		FM_CHECK(fs, memcmp(b2, w2, 100) == 0);
		FM_CHECK(fs, fs->ra_n >= 1 && fs->ra_log[0].index == 3332);
	}
	fs_close(f);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* (4) write_cache_pages                                              */
/* ------------------------------------------------------------------ */

static int cmp_pgoff(const void *a, const void *b)
{
	pc_pgoff_t x = *(const pc_pgoff_t *)a, y = *(const pc_pgoff_t *)b;
	return x < y ? -1 : x > y;
}

/* Dirty one whole page with a pattern (through the write path). */
static void dirty_page(struct fakefs *fs, struct pc_file *f, pc_pgoff_t idx, unsigned seed)
{
	unsigned char b[4096];
	tu_fill(b, idx << PC_PAGE_SHIFT, 4096, seed);
	FM_CHECK(fs, fs_pwrite(f, b, 4096, (loff_t)idx << PC_PAGE_SHIFT) == 4096);
}

static bool log_equals(struct fakefs *fs, const pc_pgoff_t *want, size_t n)
{
	if (fs->wp_n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (fs->wp_log[i] != want[i])
			return false;
	return true;
}

static void test_write_cache_pages(void **state)
{
	enum { NDIRTY = 100 };
	struct fakefs *fs = fs_create(8192, false);
	struct pc_file *f = fs_open(fs);
	struct tu_rng rng = { 4 };
	pc_pgoff_t set[NDIRTY], order[NDIRTY];
	size_t n = 0;

	(void)state;
	/* 100 distinct pages in [0, 1000), dirtied in a random order. */
	while (n < NDIRTY) {
		pc_pgoff_t x = tu_rand_below(&rng, 1000);
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= set[i] == x;
		if (!dup)
			set[n++] = x;
	}
	memcpy(order, set, sizeof(set));
	qsort(set, NDIRTY, sizeof(set[0]), cmp_pgoff);
	for (size_t i = 0; i < NDIRTY; i++)
		dirty_page(fs, f, order[i], 1);
	FM_CHECK(fs, stats(fs).nr_dirty == NDIRTY);

	/* WB_SYNC_ALL writes each exactly once, in ascending index order. */
	fs_clear_logs(fs);
	FM_CHECK(fs, pc_filemap_fdatawrite_range(fs->mapping, 0, LLONG_MAX, PC_WB_SYNC_ALL) == 0);
	FM_CHECK(fs, log_equals(fs, set, NDIRTY));
	FM_CHECK(fs, stats(fs).nr_dirty == 0);
	FM_CHECK(fs, !pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_DIRTY));
	FM_CHECK(fs, !pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_TOWRITE));
	for (size_t i = 0; i < NDIRTY; i++) {
		unsigned char w[4096];
		tu_fill(w, set[i] << PC_PAGE_SHIFT, 4096, 1);
		FM_CHECK(fs, memcmp(fs->disk + (set[i] << PC_PAGE_SHIFT), w, 4096) == 0);
	}
	/* Nothing dirty: nothing written. */
	fs_clear_logs(fs);
	FM_CHECK(fs, pc_filemap_fdatawrite_range(fs->mapping, 0, LLONG_MAX, PC_WB_SYNC_ALL) == 0);
	FM_CHECK(fs, fs->wp_n == 0);

	/* A byte range selects the pages that overlap it. */
	for (size_t i = 0; i < NDIRTY; i++)
		dirty_page(fs, f, order[i], 2);
	fs_clear_logs(fs);
	{
		loff_t lo = ((loff_t)set[20] << PC_PAGE_SHIFT) + 4095;	/* last byte of set[20] */
		loff_t hi = ((loff_t)set[60] << PC_PAGE_SHIFT);		/* first byte of set[60] */
		FM_CHECK(fs, pc_filemap_fdatawrite_range(fs->mapping, lo, hi, PC_WB_SYNC_ALL) == 0);
		FM_CHECK(fs, log_equals(fs, set + 20, 41));
		FM_CHECK(fs, stats(fs).nr_dirty == NDIRTY - 41);
	}
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	FM_CHECK(fs, stats(fs).nr_dirty == 0);

	/* The TOWRITE livelock fix: every writepage dirties a new page (inside
	 * the range being synced); the WB_SYNC_ALL pass still ends after
	 * exactly the pages that were dirty when it started. */
	for (size_t i = 0; i < NDIRTY; i++)
		dirty_page(fs, f, order[i], 3);
	fs_clear_logs(fs);
	fs->livelock = true;
	fs->livelock_next = 5000;
	fs->livelock_limit = 6000;
	FM_CHECK(fs, pc_filemap_fdatawrite_range(fs->mapping, 0, LLONG_MAX, PC_WB_SYNC_ALL) == 0);
	fs->livelock = false;
	FM_CHECK(fs, log_equals(fs, set, NDIRTY));
	FM_CHECK(fs, fs->livelock_next == 5000 + NDIRTY);
	FM_CHECK(fs, stats(fs).nr_dirty == NDIRTY);	/* the new ones */
	FM_CHECK(fs, pc_page_tagged(fs->mapping, 5000, PC_TAG_DIRTY));
	FM_CHECK(fs, pc_page_tagged(fs->mapping, 5000 + NDIRTY - 1, PC_TAG_DIRTY));
	FM_CHECK(fs, !pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_TOWRITE));
	fs_clear_logs(fs);
	FM_CHECK(fs, pc_filemap_fdatawrite_range(fs->mapping, 0, LLONG_MAX, PC_WB_SYNC_ALL) == 0);
	FM_CHECK(fs, fs->wp_n == NDIRTY);
	FM_CHECK(fs, fs->wp_log[0] == 5000 && fs->wp_log[NDIRTY - 1] == 5000 + NDIRTY - 1);
	FM_CHECK(fs, stats(fs).nr_dirty == 0);

	/* range_cyclic, WB_SYNC_NONE, 10 pages a call: resumes where it stopped. */
	for (size_t i = 0; i < NDIRTY; i++)
		dirty_page(fs, f, order[i], 4);
	atomic_store(&fs->mapping->writeback_index, 0);
	for (size_t round = 0; round < 9; round++) {
		struct pc_writeback_control wbc = { .nr_to_write = 10, .sync_mode = PC_WB_SYNC_NONE,
						    .range_cyclic = 1 };
		fs_clear_logs(fs);
		FM_CHECK(fs, pc_do_writepages(fs->mapping, &wbc) == 0);
		FM_CHECK(fs, wbc.nr_to_write == 0);
		FM_CHECK(fs, log_equals(fs, set + round * 10, 10));
		FM_CHECK(fs, atomic_load(&fs->mapping->writeback_index) == set[round * 10 + 9] + 1);
	}
	FM_CHECK(fs, stats(fs).nr_dirty == 10);
	/* Redirty the first five: the next call finishes the tail, then wraps. */
	for (size_t i = 0; i < 5; i++)
		dirty_page(fs, f, set[i], 5);
	{
		struct pc_writeback_control wbc = { .nr_to_write = 12, .sync_mode = PC_WB_SYNC_NONE,
						    .range_cyclic = 1 };
		pc_pgoff_t want[12];
		memcpy(want, set + 90, 10 * sizeof(pc_pgoff_t));
		want[10] = set[0];
		want[11] = set[1];
		fs_clear_logs(fs);
		FM_CHECK(fs, pc_do_writepages(fs->mapping, &wbc) == 0);
		FM_CHECK(fs, log_equals(fs, want, 12));
		FM_CHECK(fs, atomic_load(&fs->mapping->writeback_index) == set[1] + 1);
	}
	{
		struct pc_writeback_control wbc = { .nr_to_write = 10, .sync_mode = PC_WB_SYNC_NONE,
						    .range_cyclic = 1 };
		fs_clear_logs(fs);
		FM_CHECK(fs, pc_do_writepages(fs->mapping, &wbc) == 0);
		FM_CHECK(fs, log_equals(fs, set + 2, 3));
		FM_CHECK(fs, wbc.nr_to_write == 7);
	}
	FM_CHECK(fs, stats(fs).nr_dirty == 0);
	fs_close(f);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* Lookups and invalidation                                           */
/* ------------------------------------------------------------------ */

static void test_lookups_and_invalidate(void **state)
{
	static const pc_pgoff_t where[] = { 1, 5, 6, 100, 101, 102, 1000 };
	const unsigned n = sizeof(where) / sizeof(where[0]);
	struct fakefs *fs = fs_create(4096, false);
	struct pc_file *f = fs_open(fs);
	struct pc_page *pages[64];
	struct pc_pagevec pv;
	pc_pgoff_t start;
	unsigned got;

	(void)state;
	for (unsigned i = 0; i < n; i++)
		dirty_page(fs, f, where[i], 30);
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	dirty_page(fs, f, 5, 31);
	dirty_page(fs, f, 101, 31);
	FM_CHECK(fs, stats(fs).nr_dirty == 2);

	/* Batches of 3 from 0: the cursor moves past each batch. */
	start = 0;
	got = pc_find_get_pages_range(fs->mapping, &start, ~(pc_pgoff_t)0, 3, pages);
	FM_CHECK(fs, got == 3 && start == 7);
	FM_CHECK(fs, pages[0]->index == 1 && pages[1]->index == 5 && pages[2]->index == 6);
	for (unsigned i = 0; i < got; i++)
		pc_put_page(pages[i]);
	got = pc_find_get_pages_range(fs->mapping, &start, ~(pc_pgoff_t)0, 3, pages);
	FM_CHECK(fs, got == 3 && start == 103);
	FM_CHECK(fs, pages[0]->index == 100 && pages[2]->index == 102);
	for (unsigned i = 0; i < got; i++) {
		FM_CHECK(fs, pages[i]->mapping == fs->mapping);
		FM_CHECK(fs, pc_page_count(pages[i]) >= 2);	/* ours + the tree's */
		pc_put_page(pages[i]);
	}
	got = pc_find_get_pages_range(fs->mapping, &start, ~(pc_pgoff_t)0, 3, pages);
	FM_CHECK(fs, got == 1 && start == 1001 && pages[0]->index == 1000);
	pc_put_page(pages[0]);
	got = pc_find_get_pages_range(fs->mapping, &start, ~(pc_pgoff_t)0, 3, pages);
	FM_CHECK(fs, got == 0);
	/* An inclusive end. */
	start = 0;
	got = pc_find_get_pages_range(fs->mapping, &start, 100, 64, pages);
	FM_CHECK(fs, got == 4 && pages[3]->index == 100 && start == 101);
	for (unsigned i = 0; i < got; i++)
		pc_put_page(pages[i]);
	/* Tagged lookups. */
	start = 0;
	got = pc_find_get_pages_range_tag(fs->mapping, &start, ~(pc_pgoff_t)0, PC_TAG_DIRTY, 64, pages);
	FM_CHECK(fs, got == 2 && pages[0]->index == 5 && pages[1]->index == 101);
	for (unsigned i = 0; i < got; i++) {
		FM_CHECK(fs, pc_PageDirty(pages[i]));
		pc_put_page(pages[i]);
	}
	FM_CHECK(fs, pc_page_tagged(fs->mapping, 5, PC_TAG_DIRTY));
	FM_CHECK(fs, !pc_page_tagged(fs->mapping, 6, PC_TAG_DIRTY));
	pc_pagevec_init(&pv);
	start = 6;
	FM_CHECK(fs, pc_pagevec_lookup_range_tag(&pv, fs->mapping, &start, 101, -1) == 3);
	FM_CHECK(fs, pv.nr == 3 && pv.pages[0]->index == 6 && pv.pages[2]->index == 101);
	pc_pagevec_release(&pv);
	FM_CHECK(fs, pv.nr == 0);
	/* find_lock_page: locked, the right page; absent: NULL. */
	{
		struct pc_page *pg = pc_find_lock_page(fs->mapping, 100);
		FM_CHECK(fs, pg && pc_PageLocked(pg) && pg->index == 100);
		pc_unlock_page(pg);
		pc_put_page(pg);
		FM_CHECK(fs, pc_find_lock_page(fs->mapping, 99) == NULL);
		FM_CHECK(fs, pc_find_get_page(fs->mapping, 99) == NULL);
	}

	/* invalidate_mapping_pages drops the clean pages, keeps the dirty. */
	FM_CHECK(fs, pc_invalidate_mapping_pages(fs->mapping, 0, ~(pc_pgoff_t)0) == n - 2);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 2);
	FM_CHECK(fs, pc_find_get_page(fs->mapping, 6) == NULL);
	FM_CHECK(fs, stats(fs).nr_dirty == 2);
	/* invalidate_inode_pages2 writes the dirty ones back, then drops them. */
	fs_clear_logs(fs);
	FM_CHECK(fs, pc_invalidate_inode_pages2_range(fs->mapping, 0, ~(pc_pgoff_t)0) == 0);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 0);
	FM_CHECK(fs, stats(fs).nr_dirty == 0);
	FM_CHECK(fs, fs->wp_n == 2 && fs->wp_log[0] == 5 && fs->wp_log[1] == 101);
	{
		unsigned char w[4096];
		tu_fill(w, 101 << PC_PAGE_SHIFT, 4096, 31);
		FM_CHECK(fs, memcmp(fs->disk + (101 << PC_PAGE_SHIFT), w, 4096) == 0);
		/* and a read brings the written data back from the disk */
		unsigned char b[4096];
		FM_CHECK(fs, fs_pread(f, b, 4096, 101 << PC_PAGE_SHIFT) == 4096);
		FM_CHECK(fs, memcmp(b, w, 4096) == 0);
	}
	fs_close(f);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* (5) errseq                                                         */
/* ------------------------------------------------------------------ */

#define ES_CHECK(e, cond) \
	TU_CHECK(cond, fprintf(stderr, "  errseq value %#x\n", (unsigned)atomic_load(e)))

static void test_errseq_unit(void **state)
{
	pc_errseq_t e = 0;
	uint32_t a, b, c, v;

	(void)state;
	/* No error yet. */
	a = pc_errseq_sample(&e);
	ES_CHECK(&e, a == 0);
	ES_CHECK(&e, pc_errseq_check(&e, a) == 0);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == 0);
	b = pc_errseq_sample(&e);

	/* Invalid errors are ignored. */
	v = atomic_load(&e);
	pc_errseq_set(&e, 0);
	pc_errseq_set(&e, 5);
	pc_errseq_set(&e, -5000);
	ES_CHECK(&e, atomic_load(&e) == v);

	/* First error: everyone sampled before sees it once. */
	pc_errseq_set(&e, -EIO);
	ES_CHECK(&e, pc_errseq_check(&e, a) == -EIO);
	ES_CHECK(&e, pc_errseq_check(&e, a) == -EIO);	/* check does not consume */
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == 0);
	ES_CHECK(&e, pc_errseq_check(&e, a) == 0);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &b) == -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &b) == 0);
	/* A sampler after it was seen does not see it. */
	c = pc_errseq_sample(&e);
	ES_CHECK(&e, c != 0);
	ES_CHECK(&e, pc_errseq_check(&e, c) == 0);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &c) == 0);

	/* The same error again, after it was seen: a new event for all. */
	pc_errseq_set(&e, -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &b) == -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &c) == -EIO);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == 0);

	/* Two errors before anyone looks: the latest is reported, once. */
	pc_errseq_set(&e, -EIO);
	v = pc_errseq_set(&e, -ENOSPC);
	ES_CHECK(&e, v == atomic_load(&e));
	/* Repeating an unseen error changes nothing. */
	ES_CHECK(&e, pc_errseq_set(&e, -ENOSPC) == v);
	ES_CHECK(&e, atomic_load(&e) == v);
	/* An opener now (error unseen) must still get it. */
	{
		uint32_t d = pc_errseq_sample(&e);
		ES_CHECK(&e, pc_errseq_check_and_advance(&e, &d) == -ENOSPC);
	}
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == -ENOSPC);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &b) == -ENOSPC);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == 0);
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &b) == 0);

	/* Many errors in a row: the counter never makes a cursor miss one. */
	for (int i = 0; i < 5000; i++) {
		pc_errseq_set(&e, i % 2 ? -EIO : -ENOSPC);
		ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == (i % 2 ? -EIO : -ENOSPC));
	}
	ES_CHECK(&e, pc_errseq_check_and_advance(&e, &a) == 0);
}

static void test_errseq_fsync(void **state)
{
	struct fakefs *fs = fs_create(4096, false);
	struct pc_file *f1 = fs_open(fs), *f2 = fs_open(fs), *f3, *f4;
	unsigned char want[4 * 4096];

	(void)state;
	for (pc_pgoff_t i = 0; i < 4; i++)
		dirty_page(fs, f1, i, 8);
	tu_fill(want, 0, sizeof(want), 8);
	atomic_store(&fs->fail_index, 2);

	/* f1 fsyncs: the failure is reported to it, once. */
	FM_CHECK(fs, pc_file_write_and_wait_range(f1, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f1, 0, LLONG_MAX) == 0);
	/* The other pages did reach the disk. */
	FM_CHECK(fs, memcmp(fs->disk, want, 2 * 4096) == 0);
	FM_CHECK(fs, memcmp(fs->disk + 3 * 4096, want + 3 * 4096, 4096) == 0);
	{
		struct pc_page *pg = pc_find_get_page(fs->mapping, 2);
		FM_CHECK(fs, pg != NULL);
		FM_CHECK(fs, pc_PageError(pg));
		pc_put_page(pg);
	}
	/* f2, open before the error, sees it too, once. */
	FM_CHECK(fs, pc_file_write_and_wait_range(f2, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f2, 0, LLONG_MAX) == 0);
	/* f3, opened after it was seen: nothing to report. */
	f3 = fs_open(fs);
	FM_CHECK(fs, pc_file_write_and_wait_range(f3, 0, LLONG_MAX) == 0);
	/* The super_block keeps every error of the filesystem. */
	FM_CHECK(fs, pc_errseq_check(&fs->sb.s_wb_err, 0) == -EIO);

	/* A second failure: all three see it once. A mapping-level
	 * write_and_wait over it reports it as well. */
	dirty_page(fs, f1, 2, 9);
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == -EIO);
	f4 = fs_open(fs);	/* opened while the error is unseen by any file */
	FM_CHECK(fs, pc_file_write_and_wait_range(f3, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f3, 0, LLONG_MAX) == 0);
	FM_CHECK(fs, pc_file_write_and_wait_range(f1, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f2, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f4, 0, LLONG_MAX) == -EIO);
	FM_CHECK(fs, pc_file_write_and_wait_range(f1, 0, LLONG_MAX) == 0);
	FM_CHECK(fs, pc_file_write_and_wait_range(f2, 0, LLONG_MAX) == 0);
	FM_CHECK(fs, pc_file_write_and_wait_range(f4, 0, LLONG_MAX) == 0);

	/* Success again: nothing reported. */
	atomic_store(&fs->fail_index, -1);
	dirty_page(fs, f1, 2, 10);
	FM_CHECK(fs, pc_file_write_and_wait_range(f1, 0, LLONG_MAX) == 0);
	FM_CHECK(fs, pc_file_write_and_wait_range(f2, 0, LLONG_MAX) == 0);
	tu_fill(want + 2 * 4096, 2 * 4096, 4096, 10);
	FM_CHECK(fs, memcmp(fs->disk, want, sizeof(want)) == 0);

	fs_close(f1);
	fs_close(f2);
	fs_close(f3);
	fs_close(f4);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* (6) truncate                                                       */
/* ------------------------------------------------------------------ */

static void test_truncate(void **state)
{
	struct fakefs *fs = fs_create(4096, false);
	struct pc_file *f = fs_open(fs);
	unsigned char src[20000], buf[20000], want[20000];
	struct pc_page *pg;

	(void)state;
	tu_fill(src, 0, 10000, 7);
	FM_CHECK(fs, fs_pwrite(f, src, 10000, 0) == 10000);
	FM_CHECK(fs, stats(fs).nr_dirty == 3);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 3);

	/* Shrink to 5000: page 2 (dirty) goes and its dirty count with it. */
	pc_inode_lock(&fs->inode);
	pc_truncate_setsize(&fs->inode, 5000);
	pc_inode_unlock(&fs->inode);
	FM_CHECK(fs, pc_i_size_read(&fs->inode) == 5000);
	FM_CHECK(fs, pc_find_get_page(fs->mapping, 2) == NULL);
	FM_CHECK(fs, !pc_page_tagged(fs->mapping, 2, PC_TAG_DIRTY));
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 2);
	FM_CHECK(fs, stats(fs).nr_dirty == 2);
	FM_CHECK(fs, fs_pread(f, buf, sizeof(buf), 0) == 5000);
	FM_CHECK(fs, memcmp(buf, src, 5000) == 0);
	FM_CHECK(fs, fs_pread(f, buf, 10, 5000) == 0);
	FM_CHECK(fs, fs_pread(f, buf, 10, 9000) == 0);
	/* The EOF page is zeroed past the new size. */
	pg = pc_find_get_page(fs->mapping, 1);
	FM_CHECK(fs, pg != NULL);
	for (size_t i = 5000 - 4096; i < PC_PAGE_SIZE; i++)
		FM_CHECK(fs, ((unsigned char *)pc_page_address(pg))[i] == 0);
	pc_put_page(pg);

	/* Grow to 8192: the gap reads as zeros. */
	pc_inode_lock(&fs->inode);
	pc_truncate_setsize(&fs->inode, 8192);
	pc_inode_unlock(&fs->inode);
	memcpy(want, src, 5000);
	memset(want + 5000, 0, 8192 - 5000);
	check_file(fs, f, want, 8192);
	FM_CHECK(fs, pc_find_get_page(fs->mapping, 2) == NULL);
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	check_disk(fs, want, 8192);
	FM_CHECK(fs, stats(fs).nr_dirty == 0);

	/* Punch a hole [4196, 12338] (inclusive) in a 5-page file: page 2
	 * goes, page 1 is zeroed from 100, page 3 up to 50 inclusive. */
	tu_fill(src, 0, 20000, 8);
	FM_CHECK(fs, fs_pwrite(f, src, 20000, 0) == 20000);
	memcpy(want, src, 20000);
	memset(want + 4196, 0, 12339 - 4196);
	pc_inode_lock(&fs->inode);
	pc_truncate_inode_pages_range(fs->mapping, 4196, 12338);
	pc_inode_unlock(&fs->inode);
	FM_CHECK(fs, pc_find_get_page(fs->mapping, 2) == NULL);
	FM_CHECK(fs, stats(fs).nr_dirty == 4);
	/* what a filesystem's punch_hole would do to its blocks */
	memset(fs->disk + 8192, 0, 4096);
	check_file(fs, f, want, 20000);
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	/* pages 1 and 3 were dirty, so their zeroed parts went out too */
	check_disk(fs, want, 20000);
	check_file(fs, f, want, 20000);

	/* Truncate to 0: no page left, no dirty page. */
	FM_CHECK(fs, fs_pwrite(f, src, 20000, 0) == 20000);
	pc_inode_lock(&fs->inode);
	pc_truncate_setsize(&fs->inode, 0);
	pc_inode_unlock(&fs->inode);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) == 0);
	FM_CHECK(fs, stats(fs).nr_dirty == 0);
	FM_CHECK(fs, !pc_page_tree_tagged(&fs->mapping->tree, PC_TAG_DIRTY));
	FM_CHECK(fs, fs_pread(f, buf, 100, 0) == 0);
	fs_close(f);
	fs_destroy(fs);
}

/* ------------------------------------------------------------------ */
/* (7) reclaim + writeback under a tiny cache                         */
/* ------------------------------------------------------------------ */

static void test_tiny_cache_writeback(void **state)
{
	enum { TOTAL = 4u << 20, CHUNK = 64u << 10, NPAGES = 128 };
	struct fakefs *fs = fs_create(NPAGES, true);
	struct pc_file *f = fs_open(fs);
	unsigned char *src = malloc(TOTAL), *buf = malloc(TOTAL);
	struct pc_cache_stats st;

	(void)state;
	assert_non_null(src);
	assert_non_null(buf);
	tu_fill(src, 0, TOTAL, 9);
	for (size_t pos = 0; pos < TOTAL; pos += CHUNK)
		FM_CHECK(fs, fs_pwrite(f, src + pos, CHUNK, (loff_t)pos) == CHUNK);
	FM_CHECK(fs, pc_i_size_read(&fs->inode) == TOTAL);
	FM_CHECK(fs, pc_filemap_write_and_wait(fs->mapping) == 0);
	check_disk(fs, src, TOTAL);
	st = stats(fs);
	FM_CHECK(fs, st.evictions > 0);
	FM_CHECK(fs, st.peak_pages <= NPAGES);
	FM_CHECK(fs, st.nr_dirty == 0 && st.nr_writeback == 0);
	FM_CHECK(fs, atomic_load(&fs->mapping->nrpages) <= NPAGES);
	FM_CHECK(fs, atomic_load(&fs->writepage_calls) >= TOTAL / PC_PAGE_SIZE);

	/* Read it all back through the tiny cache, in one call and in 4 KiB
	 * reads. Readahead windows must fit the pool: a window the pool
	 * cannot hold evicts its own pages before they are read, and the
	 * same data is read over and over (I/O amplification). */
	{
		uint64_t ra0 = stats(fs).readahead_pages;
		FM_CHECK(fs, fs_pread(f, buf, TOTAL, 0) == TOTAL);
		FM_CHECK(fs, memcmp(buf, src, TOTAL) == 0);
		FM_CHECK(fs, stats(fs).readahead_pages - ra0 <= 3 * (TOTAL / PC_PAGE_SIZE));
	}
	{
		struct pc_file *g = fs_open(fs);
		uint64_t ra0 = stats(fs).readahead_pages;
		for (size_t pos = 0; pos < TOTAL; pos += PC_PAGE_SIZE) {
			FM_CHECK(fs, fs_pread(g, buf, PC_PAGE_SIZE, (loff_t)pos) == PC_PAGE_SIZE);
			FM_CHECK(fs, memcmp(buf, src + pos, PC_PAGE_SIZE) == 0);
		}
		FM_CHECK(fs, stats(fs).readahead_pages - ra0 <= 3 * (TOTAL / PC_PAGE_SIZE));
		fs_close(g);
	}
	FM_CHECK(fs, stats(fs).peak_pages <= NPAGES);
	fprintf(stderr, "  tiny cache: evictions %" PRIu64 " throttled %" PRIu64
		" alloc waits %" PRIu64 " writepages %lu readahead pages %" PRIu64 "\n",
		stats(fs).evictions, stats(fs).dirty_throttled, stats(fs).alloc_waits,
		atomic_load(&fs->writepage_calls), stats(fs).readahead_pages);
	fs_close(f);
	fs_destroy(fs);
	free(src);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perform_write),
		cmocka_unit_test(test_short_copy_nonsticky),
		cmocka_unit_test(test_short_copy_sticky),
		cmocka_unit_test(test_readahead_sequential),
		cmocka_unit_test(test_readahead_random),
		cmocka_unit_test(test_write_cache_pages),
		cmocka_unit_test(test_lookups_and_invalidate),
		cmocka_unit_test(test_errseq_unit),
		cmocka_unit_test(test_errseq_fsync),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_tiny_cache_writeback),
	};
	int rc = cmocka_run_group_tests_name("filemap", tests, NULL, NULL);
	tu_report("test_filemap");
	return rc;
}
