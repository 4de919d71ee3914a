/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/buffer/buffer.c - layer 7a: buffer heads and the per-block helpers of
 * the write_begin/write_end protocol (seed 001), block_read_full_page and
 * block_write_full_page.
 *
 * Invariants
 *  1. A page's buffer ring is one malloc'd array: page->private points at
 *     element 0 (the head), b_this_page links the elements in order and
 *     wraps. It is created (pc_create_empty_buffers) and freed
 *     (pc_try_to_free_buffers) only with the page locked, and never while a
 *     buffer is locked, dirty or referenced, or the page is under writeback.
 *     The ring holds no page reference.
 *  2. PC_BH_Lock is a sleeping bit lock. Sleepers wait in a hashed table of
 *     (mutex, condvar, waiter count) buckets keyed by the buffer's address;
 *     an unlock with no waiter in its bucket is one atomic operation.
 *  3. A page read through buffers (pc_block_read_full_page) stays locked
 *     until its last PC_BH_Async_Read buffer completes; a page written through
 *     buffers (pc_block_write_full_page) stays PC_PG_writeback until its last
 *     PC_BH_Async_Write buffer completes. "Last" is decided under a mutex
 *     hashed by page (the kernel's BH_Uptodate_Lock on the first buffer),
 *     so exactly one completion finishes the page.
 *  4. No stale data: a buffer that get_block just allocated (PC_BH_New) is
 *     zeroed wherever the caller does not write before it can become
 *     uptodate; a short copy into a page that is not uptodate commits
 *     nothing (pc_block_write_end returns 0) and the new buffers it touched
 *     are zeroed; the part of the EOF page past the size is zeroed before
 *     every write.
 *  5. A write error is never dropped: the buffer gets PC_BH_Write_EIO, the
 *     page PC_PG_error and the mapping the error (errseq). Buffers stay
 *     uptodate (the cached data is still the newest copy).
 *
 * Lock order: page lock -> buffer lock -> (page completion mutex -> wait
 * bucket mutex). Completions run on engine threads and only take the two
 * leaf mutexes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pagecache/buffer_head.h"
#include "pagecache/blkdev.h"
#include "pagecache/filemap.h"
#include "pagecache/vfs.h"
#include "pagecache/writeback.h"
#include "buffer_internal.h"

/* ------------------------------------------------------------------------ */
/* wait table for PC_BH_Lock                                                    */
/* ------------------------------------------------------------------------ */

#define BH_WAIT_BITS 8
#define BH_WAIT_SIZE (1u << BH_WAIT_BITS)

struct bh_wait_bucket {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	_Atomic unsigned waiters;
} __attribute__((aligned(64)));

static struct bh_wait_bucket bh_wait_table[BH_WAIT_SIZE] = {
	[0 ... BH_WAIT_SIZE - 1] = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }
};

static inline unsigned ptr_hash(const void *p, unsigned bits)
{
	uint64_t v = (uint64_t)(uintptr_t)p >> 4;

	return (unsigned)((v * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static inline struct bh_wait_bucket *bh_bucket(const struct pc_buffer_head *bh)
{
	return &bh_wait_table[ptr_hash(bh, BH_WAIT_BITS)];
}

/* Sleep until PC_BH_Lock is clear (@take: and take it). */
static void bh_wait_slow(struct pc_buffer_head *bh, bool take)
{
	struct bh_wait_bucket *b = bh_bucket(bh);

	/* The I/O we would wait for may sit in this thread's plug. */
	pc_blk_flush_plug();
	pthread_mutex_lock(&b->lock);
	atomic_fetch_add(&b->waiters, 1);
	for (;;) {
		if (take) {
			if (!pc_test_set_buffer_locked(bh))
				break;
		} else if (!pc_buffer_locked(bh)) {
			break;
		}
		pthread_cond_wait(&b->cond, &b->lock);
	}
	atomic_fetch_sub(&b->waiters, 1);
	pthread_mutex_unlock(&b->lock);
}

void pc_lock_buffer(struct pc_buffer_head *bh)
{
	if (pc_likely(!pc_test_set_buffer_locked(bh)))
		return;
	bh_wait_slow(bh, true);
}

static inline bool trylock_buffer(struct pc_buffer_head *bh)
{
	return !pc_test_set_buffer_locked(bh);
}

void pc_unlock_buffer(struct pc_buffer_head *bh)
{
	struct bh_wait_bucket *b = bh_bucket(bh);

	PC_BUG_ON(!pc_buffer_locked(bh));
	/* seq_cst clear, then seq_cst read of the waiter count: a sleeper
	 * either is counted here or re-tests the bit after this clear. */
	pc_clear_buffer_locked(bh);
	if (atomic_load(&b->waiters)) {
		pthread_mutex_lock(&b->lock);
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
}

void pc_wait_on_buffer(struct pc_buffer_head *bh)
{
	if (!pc_buffer_locked(bh))
		return;
	bh_wait_slow(bh, false);
}

/* ------------------------------------------------------------------------ */
/* per-page completion mutex (the kernel's BH_Uptodate_Lock)                 */
/* ------------------------------------------------------------------------ */

#define BH_PAGE_LOCK_BITS 7
#define BH_PAGE_LOCK_SIZE (1u << BH_PAGE_LOCK_BITS)

static pthread_mutex_t bh_page_locks[BH_PAGE_LOCK_SIZE] = {
	[0 ... BH_PAGE_LOCK_SIZE - 1] = PTHREAD_MUTEX_INITIALIZER
};

static inline pthread_mutex_t *page_completion_lock(const struct pc_page *page)
{
	return &bh_page_locks[ptr_hash(page, BH_PAGE_LOCK_BITS)];
}

/* ------------------------------------------------------------------------ */
/* buffer rings                                                              */
/* ------------------------------------------------------------------------ */

static struct pc_buffer_head *alloc_buffer_ring(unsigned n)
{
	/* The kernel allocates page buffers with __GFP_NOFAIL; we cannot wait
	 * for memory that may never come: fail, and every caller returns
	 * -ENOMEM up the stack with the page as it was. */
	return calloc(n, sizeof(struct pc_buffer_head));
}

int pc_create_empty_buffers(struct pc_page *page, unsigned long blocksize, unsigned long b_state)
{
	unsigned n, i;
	struct pc_buffer_head *bhs;
	char *base = pc_page_address(page);

	PC_BUG_ON(!pc_PageLocked(page));
	PC_BUG_ON(pc_PagePrivate(page));
	PC_BUG_ON(blocksize < 512 || blocksize > PC_PAGE_SIZE || (blocksize & (blocksize - 1)));

	n = (unsigned)(PC_PAGE_SIZE / blocksize);
	bhs = alloc_buffer_ring(n);
	if (!bhs)
		return -ENOMEM;
	if (pc_PageUptodate(page))
		b_state |= 1UL << PC_BH_Uptodate;
	if (pc_PageDirty(page))
		b_state |= 1UL << PC_BH_Dirty;
	for (i = 0; i < n; i++) {
		struct pc_buffer_head *bh = &bhs[i];

		atomic_init(&bh->b_state, b_state);
		bh->b_this_page = &bhs[(i + 1) % n];
		bh->b_page = page;
		bh->b_blocknr = 0;
		bh->b_size = blocksize;
		bh->b_data = base + (size_t)i * blocksize;
		bh->b_bdev = NULL;
		bh->b_end_io = NULL;
		bh->b_private = NULL;
		atomic_init(&bh->b_count, 0);
	}
	page->private = (unsigned long)(uintptr_t)bhs;
	pc_SetPagePrivate(page);	/* seq_cst: private is visible first */
	return 0;
}

struct pc_buffer_head *pc_create_page_buffers(struct pc_page *page, struct pc_inode *inode,
					      unsigned long b_state)
{
	PC_BUG_ON(!pc_PageLocked(page));
	if (!pc_page_has_buffers(page)) {
		unsigned bits = inode ? inode->i_blkbits : pc_mapping_blkbits(page->mapping);

		if (pc_create_empty_buffers(page, 1UL << bits, b_state))
			return NULL;
	}
	return pc_page_buffers(page);
}

static inline bool buffer_busy(const struct pc_buffer_head *bh)
{
	unsigned long st = atomic_load(&((struct pc_buffer_head *)bh)->b_state);

	return atomic_load(&((struct pc_buffer_head *)bh)->b_count) != 0 ||
	       (st & ((1UL << PC_BH_Dirty) | (1UL << PC_BH_Lock)));
}

bool pc_try_to_free_buffers(struct pc_page *page)
{
	struct pc_buffer_head *head, *bh;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!pc_page_has_buffers(page))
		return true;
	if (pc_PageWriteback(page))
		return false;
	head = pc_page_buffers(page);
	bh = head;
	do {
		if (buffer_busy(bh))
			return false;
		bh = bh->b_this_page;
	} while (bh != head);

	pc_ClearPagePrivate(page);
	page->private = 0;
	free(head);
	/*
	 * Clean buffers on a dirty page: the filesystem wrote them by hand
	 * (pc_sync_dirty_buffer). Clean the page too, or writeback would keep
	 * visiting a page with nothing to write.
	 */
	if (pc_PageDirty(page) && page->mapping)
		pc_cancel_dirty_page(page);
	return true;
}

/* Forget a buffer's disk mapping and dirtiness (truncate). */
static void discard_buffer(struct pc_buffer_head *bh)
{
	pc_lock_buffer(bh);
	pc_clear_buffer_dirty(bh);
	bh->b_bdev = NULL;
	atomic_fetch_and(&bh->b_state, ~((1UL << PC_BH_Mapped) | (1UL << PC_BH_Req) | (1UL << PC_BH_New) |
					 (1UL << PC_BH_Delay) | (1UL << PC_BH_Unwritten) |
					 (1UL << PC_BH_Boundary)));
	pc_unlock_buffer(bh);
}

void pc_block_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	struct pc_buffer_head *head, *bh, *next;
	unsigned curr_off = 0, stop = offset + length;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!pc_page_has_buffers(page))
		return;
	if (stop > PC_PAGE_SIZE || stop < length)
		return;

	head = pc_page_buffers(page);
	bh = head;
	do {
		unsigned next_off = curr_off + (unsigned)bh->b_size;

		next = bh->b_this_page;
		if (next_off > stop)
			break;
		if (offset <= curr_off)
			discard_buffer(bh);
		curr_off = next_off;
		bh = next;
	} while (bh != head);

	/* The whole page is going: try to drop the ring (may fail if a
	 * buffer is still referenced; it then goes with a later release). */
	if (offset == 0 && length == PC_PAGE_SIZE)
		pc_try_to_free_buffers(page);
}

bool pc___set_page_dirty_buffers(struct pc_page *page)
{
	if (pc_page_has_buffers(page)) {
		struct pc_buffer_head *head = pc_page_buffers(page), *bh = head;

		do {
			pc_set_buffer_dirty(bh);
			bh = bh->b_this_page;
		} while (bh != head);
	}
	return pc___set_page_dirty_nobuffers(page);
}

void pc_mark_buffer_dirty(struct pc_buffer_head *bh)
{
	if (pc_buffer_dirty(bh))
		return;
	if (!pc_test_set_buffer_dirty(bh)) {
		struct pc_page *page = bh->b_page;

		if (page && !pc_PageDirty(page))
			pc___set_page_dirty_nobuffers(page);
	}
}

/* ------------------------------------------------------------------------ */
/* I/O                                                                       */
/* ------------------------------------------------------------------------ */

static void end_bio_bh_io_sync(struct pc_bio *bio)
{
	struct pc_buffer_head *bh = bio->bi_private;
	int uptodate = bio->bi_status == 0;

	pc_bio_put(bio);
	bh->b_end_io(bh, uptodate);
}

int pc_submit_bh(enum pc_req_op op, unsigned op_flags, struct pc_buffer_head *bh)
{
	struct pc_bio *bio;
	unsigned off;

	if (!bh || !bh->b_end_io)
		return -EINVAL;
	PC_BUG_ON(!pc_buffer_locked(bh));
	if (!pc_buffer_mapped(bh) || !bh->b_bdev || !bh->b_page || bh->b_size < PC_SECTOR_SIZE ||
	    bh->b_size > PC_PAGE_SIZE || (bh->b_size & (PC_SECTOR_SIZE - 1)) ||
	    (op != PC_REQ_OP_READ && op != PC_REQ_OP_WRITE)) {
		bh->b_end_io(bh, 0);
		return -EINVAL;
	}
	if (pc_test_set_buffer_req(bh) && op == PC_REQ_OP_WRITE)
		pc_clear_buffer_write_io_error(bh);

	off = (unsigned)((char *)bh->b_data - (char *)pc_page_address(bh->b_page));
	bio = pc_bio_alloc(bh->b_bdev, 1);
	if (pc_unlikely(!bio)) {
		/* Nothing reached the device: b_end_io sees PC_BH_NoMem (a
		 * write keeps its data dirty, see buffer_write_failed). */
		pc_set_buffer_nomem(bh);
		bh->b_end_io(bh, 0);
		return -ENOMEM;
	}
	bio->bi_sector = bh->b_blocknr * (bh->b_size >> PC_SECTOR_SHIFT);
	bio->bi_opf = (unsigned)op | op_flags;
	bio->bi_end_io = end_bio_bh_io_sync;
	bio->bi_private = bh;
	if (pc_bio_add_page(bio, bh->b_page, (unsigned)bh->b_size, off) != bh->b_size) {
		pc_bio_put(bio);
		bh->b_end_io(bh, 0);
		return -EINVAL;
	}
	pc_submit_bio(bio);
	return 0;
}

/* Completion of a synchronous read (pc_bh_read_sync, block_write_begin). */
static void end_buffer_read_sync(struct pc_buffer_head *bh, int uptodate)
{
	pc_clear_buffer_nomem(bh);
	if (uptodate)
		pc_set_buffer_uptodate(bh);
	else
		pc_clear_buffer_uptodate(bh);
	/* Drop the I/O's reference before the unlock wakes the waiter, so it
	 * sees only its own. Still safe: a locked buffer's ring is never
	 * freed, and the unlock touches nothing of bh after clearing PC_BH_Lock. */
	pc_put_bh(bh);
	pc_unlock_buffer(bh);
}

static void buffer_write_failed(struct pc_buffer_head *bh, int err)
{
	struct pc_page *page = bh->b_page;
	struct pc_address_space *mapping = page ? page->mapping : NULL;

	if (pc_test_clear_buffer_nomem(bh)) {
		/* No bio (pc_submit_bh): the disk was not touched. Keep the
		 * data dirty (buffer and page) for a later writeback and
		 * report -ENOMEM to fsync; nothing is lost. */
		pc_mark_buffer_dirty(bh);
		/* Not PC_PG_error/PC_BH_Write_EIO: a waiter would turn those into
		 * -EIO, and the next write-back may well succeed. */
		if (mapping)
			pc_mapping_set_error(mapping, -ENOMEM);
		return;
	}

	pc_set_buffer_write_io_error(bh);
	if (page)
		pc_SetPageError(page);
	if (mapping)
		pc_mapping_set_error(mapping, err);
}

/* Completion of a synchronous (or fire-and-forget) buffer write. */
static void end_buffer_write_sync(struct pc_buffer_head *bh, int uptodate)
{
	if (uptodate)
		pc_set_buffer_uptodate(bh);
	else
		buffer_write_failed(bh, -EIO);
	pc_put_bh(bh);		/* before the unlock: see end_buffer_read_sync */
	pc_unlock_buffer(bh);
}

void pc_write_dirty_buffer_async(struct pc_buffer_head *bh)
{
	if (!trylock_buffer(bh))
		return;
	if (!pc_buffer_mapped(bh) || !pc_test_clear_buffer_dirty(bh)) {
		pc_unlock_buffer(bh);
		return;
	}
	pc_get_bh(bh);
	pc_clear_buffer_write_io_error(bh);
	bh->b_end_io = end_buffer_write_sync;
	pc_submit_bh(PC_REQ_OP_WRITE, 0, bh);
}

int pc_bh_read_sync(struct pc_buffer_head *bh)
{
	int ret;

	pc_lock_buffer(bh);
	if (pc_buffer_uptodate(bh)) {
		pc_unlock_buffer(bh);
		return 0;
	}
	if (!pc_buffer_mapped(bh)) {
		pc_unlock_buffer(bh);
		return -EIO;
	}
	pc_get_bh(bh);
	bh->b_end_io = end_buffer_read_sync;
	ret = pc_submit_bh(PC_REQ_OP_READ, PC_REQ_SYNC, bh);
	pc_wait_on_buffer(bh);
	if (ret == -ENOMEM)
		return ret;
	return pc_buffer_uptodate(bh) ? 0 : -EIO;
}

int pc_sync_dirty_buffer(struct pc_buffer_head *bh)
{
	int ret;

	pc_lock_buffer(bh);
	if (!pc_test_clear_buffer_dirty(bh)) {
		pc_unlock_buffer(bh);
		return 0;
	}
	if (!pc_buffer_mapped(bh)) {
		pc_set_buffer_dirty(bh);
		pc_unlock_buffer(bh);
		return -EIO;
	}
	pc_get_bh(bh);
	pc_clear_buffer_write_io_error(bh);
	bh->b_end_io = end_buffer_write_sync;
	ret = pc_submit_bh(PC_REQ_OP_WRITE, PC_REQ_SYNC, bh);
	pc_wait_on_buffer(bh);
	if (ret == -ENOMEM)
		return ret;	/* still dirty */
	return pc_buffer_write_io_error(bh) ? -EIO : 0;
}

/* ---- page reads through buffers ---- */

static void end_buffer_async_read(struct pc_buffer_head *bh, int uptodate)
{
	struct pc_page *page = bh->b_page;
	pthread_mutex_t *lock = page_completion_lock(page);
	struct pc_buffer_head *tmp;
	bool page_uptodate = true;

	if (uptodate) {
		pc_set_buffer_uptodate(bh);
	} else {
		pc_clear_buffer_uptodate(bh);
		pc_SetPageError(page);
	}

	pthread_mutex_lock(lock);
	pc_clear_buffer_async_read(bh);
	pc_unlock_buffer(bh);
	tmp = bh;
	do {
		if (!pc_buffer_uptodate(tmp))
			page_uptodate = false;
		if (pc_buffer_async_read(tmp)) {
			pthread_mutex_unlock(lock);
			return;		/* another buffer of the page is in flight */
		}
		tmp = tmp->b_this_page;
	} while (tmp != bh);
	pthread_mutex_unlock(lock);

	/* Every buffer is uptodate: so is the page. Otherwise some block
	 * failed (read error or get_block error): leave it !uptodate, with
	 * PC_PG_error, for the reader to report -EIO. */
	if (page_uptodate)
		pc_SetPageUptodate(page);
	else
		pc_SetPageError(page);
	pc_unlock_page(page);
}

int pc_block_read_full_page(struct pc_page *page, pc_get_block_t get_block)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_inode *inode = mapping->host;
	struct pc_buffer_head *head, *bh, *arr[PC_MAX_BUF_PER_PAGE];
	struct pc_blk_plug plug;
	unsigned blocksize, bbits, nr = 0, i = 0;
	pc_sector_t iblock, lblock;
	bool fully_mapped = true, failed = false, nomem = false;
	loff_t size;

	PC_BUG_ON(!pc_PageLocked(page));
	head = pc_create_page_buffers(page, inode, 0);
	if (!head) {
		pc_unlock_page(page);
		return -ENOMEM;
	}
	blocksize = (unsigned)head->b_size;
	bbits = pc_ilog2_u(blocksize);
	iblock = (pc_sector_t)page->index << (PC_PAGE_SHIFT - bbits);
	size = pc_mapping_size(mapping);
	lblock = ((pc_sector_t)size + blocksize - 1) >> bbits;

	bh = head;
	do {
		if (pc_buffer_uptodate(bh))
			continue;
		if (!pc_buffer_mapped(bh)) {
			int err = 0;

			fully_mapped = false;
			if (iblock < lblock) {
				bh->b_size = blocksize;
				err = get_block(inode, iblock, bh, 0);
				bh->b_size = blocksize;
				if (err) {
					pc_clear_buffer_mapped(bh);
					pc_SetPageError(page);
					failed = true;
					if (err == -ENOMEM)
						nomem = true;	/* say why */
				} else if (pc_buffer_unwritten(bh)) {
					/* allocated, reads as zeros: never read it */
					pc_buf_zero(page, i * blocksize, (i + 1) * blocksize);
					pc_set_buffer_uptodate(bh);
					continue;
				}
			}
			if (!pc_buffer_mapped(bh)) {
				/* a hole, past EOF, or failed: zeros */
				pc_buf_zero(page, i * blocksize, (i + 1) * blocksize);
				if (!err)
					pc_set_buffer_uptodate(bh);
				continue;
			}
			/* get_block may have filled the buffer itself */
			if (pc_buffer_uptodate(bh))
				continue;
		}
		arr[nr++] = bh;
	} while (i++, iblock++, (bh = bh->b_this_page) != head);

	if (fully_mapped)
		pc_SetPageMappedToDisk(page);

	if (nr == 0) {
		if (!failed)
			pc_SetPageUptodate(page);
		pc_unlock_page(page);
		return nomem ? -ENOMEM : 0;
	}

	/* Stage two: lock the buffers and mark them in flight. */
	for (i = 0; i < nr; i++) {
		bh = arr[i];
		pc_lock_buffer(bh);
		bh->b_end_io = end_buffer_async_read;
		pc_set_buffer_async_read(bh);
	}

	/*
	 * Stage three: start the I/O. Re-check uptodate under the buffer lock:
	 * a reader of the same block may have brought it uptodate meanwhile.
	 * The page is unlocked by whichever completion comes last.
	 */
	pc_blk_start_plug(&plug);
	for (i = 0; i < nr; i++) {
		bh = arr[i];
		if (pc_buffer_uptodate(bh))
			end_buffer_async_read(bh, 1);
		else if (pc_submit_bh(PC_REQ_OP_READ, 0, bh) == -ENOMEM)
			nomem = true;	/* the page ends !uptodate: say why */
	}
	pc_blk_finish_plug(&plug);
	return nomem ? -ENOMEM : 0;
}

/* ---- page writes through buffers ---- */

static void end_buffer_async_write(struct pc_buffer_head *bh, int uptodate)
{
	struct pc_page *page = bh->b_page;
	pthread_mutex_t *lock = page_completion_lock(page);
	struct pc_buffer_head *tmp;

	if (uptodate)
		pc_set_buffer_uptodate(bh);
	else
		buffer_write_failed(bh, -EIO);

	pthread_mutex_lock(lock);
	pc_clear_buffer_async_write(bh);
	pc_unlock_buffer(bh);
	tmp = bh->b_this_page;
	while (tmp != bh) {
		if (pc_buffer_async_write(tmp)) {
			pthread_mutex_unlock(lock);
			return;
		}
		tmp = tmp->b_this_page;
	}
	pthread_mutex_unlock(lock);
	pc_end_page_writeback(page);
}

static inline void mark_buffer_async_write(struct pc_buffer_head *bh)
{
	bh->b_end_io = end_buffer_async_write;
	pc_set_buffer_async_write(bh);
}

static int __block_write_full_page(struct pc_inode *inode, struct pc_page *page,
				   pc_get_block_t get_block, struct pc_writeback_control *wbc)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_buffer_head *head, *bh, *next;
	unsigned blocksize, bbits, write_flags;
	pc_sector_t block, last_block;
	int nr_underway = 0, err = 0;
	loff_t size = pc_mapping_size(mapping);

	write_flags = wbc->sync_mode == PC_WB_SYNC_ALL ? PC_REQ_SYNC : 0;
	head = pc_create_page_buffers(page, inode, (1UL << PC_BH_Dirty) | (1UL << PC_BH_Uptodate));
	if (!head) {
		/* Nothing written: the page stays dirty for a later pass. */
		pc_redirty_page_for_writepage(wbc, page);
		if (mapping)
			pc_mapping_set_error(mapping, -ENOMEM);
		pc_unlock_page(page);
		return -ENOMEM;
	}
	blocksize = (unsigned)head->b_size;
	bbits = pc_ilog2_u(blocksize);
	block = (pc_sector_t)page->index << (PC_PAGE_SHIFT - bbits);
	last_block = ((pc_sector_t)size - 1) >> bbits;

	/* Map every dirty buffer to disk (allocating as needed). */
	bh = head;
	do {
		if (block > last_block) {
			/* past EOF (the bdev's last partial page, or a racing
			 * truncate): nothing there to write */
			pc_clear_buffer_dirty(bh);
			pc_set_buffer_uptodate(bh);
		} else if ((!pc_buffer_mapped(bh) || pc_buffer_delay(bh)) && pc_buffer_dirty(bh)) {
			bh->b_size = blocksize;
			err = get_block(inode, block, bh, 1);
			bh->b_size = blocksize;
			if (err)
				goto recover;
			if (!pc_buffer_mapped(bh)) {
				err = -EIO;
				goto recover;
			}
			pc_clear_buffer_delay(bh);
			/* get_block forgot the bdev aliases of new blocks */
			pc_clear_buffer_new(bh);
		}
		bh = bh->b_this_page;
		block++;
	} while (bh != head);

	/* Lock the dirty mapped buffers and mark them for async write. */
	do {
		if (!pc_buffer_mapped(bh))
			continue;
		if (wbc->sync_mode != PC_WB_SYNC_NONE) {
			pc_lock_buffer(bh);
		} else if (!trylock_buffer(bh)) {
			/* Busy: leave it dirty and the page dirty for a later
			 * pass. Not pc_redirty_page_for_writepage: the buffer
			 * set_page_dirty would dirty every buffer, also ones
			 * that are not uptodate. */
			wbc->pages_skipped++;
			pc___set_page_dirty_nobuffers(page);
			continue;
		}
		if (pc_test_clear_buffer_dirty(bh))
			mark_buffer_async_write(bh);
		else
			pc_unlock_buffer(bh);
	} while ((bh = bh->b_this_page) != head);

	PC_BUG_ON(pc_PageWriteback(page));
	pc_set_page_writeback(page);

	do {
		next = bh->b_this_page;
		if (pc_buffer_async_write(bh)) {
			pc_submit_bh(PC_REQ_OP_WRITE, write_flags, bh);
			nr_underway++;
		}
		bh = next;
	} while (bh != head);
	pc_unlock_page(page);
	err = 0;
done:
	if (nr_underway == 0) {
		/* Nothing was dirty after all (or every buffer was busy):
		 * the writeback is over at once. */
		pc_end_page_writeback(page);
	}
	return err;

recover:
	/*
	 * get_block failed (-ENOSPC, -EIO, -EUCLEAN...). Blocks mapped so far
	 * may already be part of the file: write those so no stale data
	 * shows, drop the dirtiness of the rest (it cannot be written), and
	 * record the error on the page and the mapping.
	 */
	bh = head;
	do {
		if (pc_buffer_mapped(bh) && pc_buffer_dirty(bh) && !pc_buffer_delay(bh)) {
			pc_lock_buffer(bh);
			mark_buffer_async_write(bh);
		} else {
			pc_clear_buffer_dirty(bh);
		}
	} while ((bh = bh->b_this_page) != head);
	pc_SetPageError(page);
	PC_BUG_ON(pc_PageWriteback(page));
	if (mapping)
		pc_mapping_set_error(mapping, err);
	pc_set_page_writeback(page);
	do {
		next = bh->b_this_page;
		if (pc_buffer_async_write(bh)) {
			pc_clear_buffer_dirty(bh);
			pc_submit_bh(PC_REQ_OP_WRITE, write_flags, bh);
			nr_underway++;
		}
		bh = next;
	} while (bh != head);
	pc_unlock_page(page);
	goto done;
}

int pc_block_write_full_page(struct pc_page *page, pc_get_block_t get_block,
			     struct pc_writeback_control *wbc)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_inode *inode = mapping->host;
	loff_t size = pc_mapping_size(mapping);
	pc_pgoff_t end_index = (pc_pgoff_t)(size >> PC_PAGE_SHIFT);
	unsigned offset;

	PC_BUG_ON(!pc_PageLocked(page));
	if (page->index < end_index)
		return __block_write_full_page(inode, page, get_block, wbc);

	offset = (unsigned)(size & (PC_PAGE_SIZE - 1));
	if (page->index >= end_index + 1 || !offset) {
		/* Wholly past EOF (truncate raced with writeback): its dirty
		 * unmapped buffers must not be written; make them freeable. */
		pc_do_invalidatepage(page, 0, PC_PAGE_SIZE);
		pc_unlock_page(page);
		return 0;
	}
	/* The EOF page: zero the part past the size on every write, so the
	 * tail of the last block on disk is always zero. */
	pc_buf_zero(page, offset, PC_PAGE_SIZE);
	return __block_write_full_page(inode, page, get_block, wbc);
}

/* ------------------------------------------------------------------------ */
/* write_begin / write_end                                                   */
/* ------------------------------------------------------------------------ */

void pc_page_zero_new_buffers(struct pc_page *page, unsigned from, unsigned to)
{
	struct pc_buffer_head *head, *bh;
	unsigned block_start = 0, block_end;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!pc_page_has_buffers(page))
		return;
	head = pc_page_buffers(page);
	bh = head;
	do {
		block_end = block_start + (unsigned)bh->b_size;
		if (pc_buffer_new(bh) && block_end > from && block_start < to) {
			if (!pc_PageUptodate(page)) {
				/* The parts outside [from, to) were zeroed by
				 * write_begin; zero the part inside that the
				 * copy did not fill. The block is then all
				 * zeros or written data: never stale. */
				unsigned start = PC_MAX(from, block_start);
				unsigned end = PC_MIN(to, block_end);

				pc_buf_zero(page, start, end);
				pc_set_buffer_uptodate(bh);
			}
			pc_clear_buffer_new(bh);
			pc_mark_buffer_dirty(bh);
		}
		block_start = block_end;
		bh = bh->b_this_page;
	} while (bh != head);
}

int pc___block_write_begin(struct pc_page *page, loff_t pos, unsigned len,
			   pc_get_block_t get_block)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_inode *inode = mapping->host;
	unsigned from = (unsigned)(pos & (PC_PAGE_SIZE - 1));
	unsigned to = from + len;
	unsigned blocksize, bbits, block_start, block_end;
	struct pc_buffer_head *head, *bh, *wait[PC_MAX_BUF_PER_PAGE];
	unsigned nr_wait = 0, i;
	pc_sector_t block;
	int err = 0;

	PC_BUG_ON(!pc_PageLocked(page));
	PC_BUG_ON(from > PC_PAGE_SIZE || to > PC_PAGE_SIZE || from > to);

	head = pc_create_page_buffers(page, inode, 0);
	if (!head)
		return -ENOMEM;
	blocksize = (unsigned)head->b_size;
	bbits = pc_ilog2_u(blocksize);
	block = (pc_sector_t)page->index << (PC_PAGE_SHIFT - bbits);

	for (bh = head, block_start = 0; bh != head || !block_start;
	     block++, block_start = block_end, bh = bh->b_this_page) {
		block_end = block_start + blocksize;
		if (block_end <= from || block_start >= to) {
			if (pc_PageUptodate(page) && !pc_buffer_uptodate(bh))
				pc_set_buffer_uptodate(bh);
			continue;
		}
		pc_clear_buffer_new(bh);
		if (!pc_buffer_mapped(bh)) {
			bh->b_size = blocksize;
			err = get_block(inode, block, bh, 1);
			bh->b_size = blocksize;
			if (err)
				break;
			if (!pc_buffer_mapped(bh)) {
				err = -EIO;
				break;
			}
			if (pc_buffer_new(bh)) {
				if (pc_PageUptodate(page)) {
					/* the page holds the valid (zero)
					 * contents of the former hole */
					pc_clear_buffer_new(bh);
					pc_set_buffer_uptodate(bh);
					pc_mark_buffer_dirty(bh);
					continue;
				}
				/* new block: zero what the write will not cover */
				if (block_end > to)
					pc_buf_zero(page, to, block_end);
				if (block_start < from)
					pc_buf_zero(page, block_start, from);
				continue;
			}
		}
		if (pc_PageUptodate(page)) {
			if (!pc_buffer_uptodate(bh))
				pc_set_buffer_uptodate(bh);
			continue;
		}
		if (!pc_buffer_uptodate(bh) && pc_buffer_unwritten(bh)) {
			/* allocated but reads as zeros: no read, zero the
			 * parts the write does not cover */
			if (block_end > to)
				pc_buf_zero(page, to, block_end);
			if (block_start < from)
				pc_buf_zero(page, block_start, from);
			continue;
		}
		if (!pc_buffer_uptodate(bh) && !pc_buffer_delay(bh) &&
		    (block_start < from || block_end > to)) {
			/* partially overwritten: read the rest */
			pc_lock_buffer(bh);
			if (pc_buffer_uptodate(bh)) {
				pc_unlock_buffer(bh);
				continue;
			}
			pc_get_bh(bh);
			bh->b_end_io = end_buffer_read_sync;
			pc_submit_bh(PC_REQ_OP_READ, PC_REQ_SYNC, bh);
			wait[nr_wait++] = bh;
		}
	}

	/* Let the reads we issued complete. */
	for (i = 0; i < nr_wait; i++) {
		pc_wait_on_buffer(wait[i]);
		if (!pc_buffer_uptodate(wait[i]) && !err)
			err = -EIO;
	}
	if (pc_unlikely(err))
		pc_page_zero_new_buffers(page, from, to);
	return err;
}

int pc_block_write_begin(struct pc_address_space *mapping, loff_t pos, unsigned len,
			 unsigned flags, struct pc_page **pagep, pc_get_block_t get_block)
{
	pc_pgoff_t index = (pc_pgoff_t)(pos >> PC_PAGE_SHIFT);
	struct pc_page *page;
	int status;

	*pagep = NULL;
	page = pc_grab_cache_page_write_begin(mapping, index, flags);
	if (!page)
		return -ENOMEM;

	status = pc___block_write_begin(page, pos, len, get_block);
	if (pc_unlikely(status)) {
		pc_unlock_page(page);
		pc_put_page(page);
		return status;
	}
	*pagep = page;
	return 0;
}

/* Mark the buffers in [from, to) uptodate and dirty; the page is uptodate
 * if every buffer is. Clears PC_BH_New everywhere. */
static void block_commit_write(struct pc_page *page, unsigned from, unsigned to)
{
	struct pc_buffer_head *head, *bh;
	unsigned block_start = 0, block_end;
	bool partial = false;

	if (!pc_page_has_buffers(page)) {
		if (to > from)
			pc_set_page_dirty(page);
		return;
	}
	head = pc_page_buffers(page);
	bh = head;
	do {
		block_end = block_start + (unsigned)bh->b_size;
		if (from >= to || block_end <= from || block_start >= to) {
			if (!pc_buffer_uptodate(bh))
				partial = true;
		} else {
			pc_set_buffer_uptodate(bh);
			pc_mark_buffer_dirty(bh);
		}
		pc_clear_buffer_new(bh);
		block_start = block_end;
		bh = bh->b_this_page;
	} while (bh != head);

	/* Every buffer uptodate: a read of this page need not go to disk. */
	if (!partial)
		pc_SetPageUptodate(page);
}

int pc_block_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
		       unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	unsigned start = (unsigned)(pos & (PC_PAGE_SIZE - 1));

	PC_BUG_ON(!pc_PageLocked(page));
	if (pc_unlikely(copied < len)) {
		/*
		 * A short copy into a page that is not uptodate: the bytes not
		 * copied may sit in blocks that were never read (the whole
		 * block was to be overwritten). Commit nothing; the caller
		 * retries. New buffers in the range are zeroed, never stale.
		 */
		if (!pc_PageUptodate(page))
			copied = 0;
		pc_page_zero_new_buffers(page, start + copied, start + len);
	}
	block_commit_write(page, start, start + copied);
	return (int)copied;
}

int pc_generic_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			 unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_inode *inode = mapping->host;
	bool size_changed = false;
	int ret;

	ret = pc_block_write_end(file, mapping, pos, len, copied, page, fsdata);
	/* i_size only grows here, under the page lock (and the caller's
	 * exclusive inode lock), so a readpage of this page never sees an
	 * i_size that covers bytes not yet in it. */
	if (inode && ret > 0 && pos + ret > pc_i_size_read(inode)) {
		pc_i_size_write(inode, pos + ret);
		size_changed = true;
	}
	pc_unlock_page(page);
	pc_put_page(page);
	if (size_changed)
		pc_mark_inode_dirty(inode);
	return ret;
}

int pc_block_truncate_page(struct pc_address_space *mapping, loff_t from, pc_get_block_t get_block)
{
	struct pc_inode *inode = mapping->host;
	pc_pgoff_t index = (pc_pgoff_t)(from >> PC_PAGE_SHIFT);
	unsigned offset = (unsigned)(from & (PC_PAGE_SIZE - 1));
	unsigned blkbits = pc_mapping_blkbits(mapping);
	unsigned blocksize = 1u << blkbits, length, pos;
	struct pc_buffer_head *bh;
	struct pc_page *page;
	pc_sector_t iblock;
	int err = 0;

	if (!offset)
		return 0;
	length = offset & (blocksize - 1);
	if (!length)
		return 0;	/* on a block boundary: nothing to zero */
	length = blocksize - length;
	iblock = (pc_sector_t)index << (PC_PAGE_SHIFT - blkbits);

	page = pc_find_or_create_page(mapping, index, 0);
	if (!page)
		return -ENOMEM;

	bh = pc_create_page_buffers(page, inode, 0);
	if (!bh) {
		err = -ENOMEM;
		goto out_unlock;
	}
	/* Find the buffer that contains "offset" */
	pos = blocksize;
	while (offset >= pos) {
		bh = bh->b_this_page;
		iblock++;
		pos += blocksize;
	}

	if (!pc_buffer_mapped(bh)) {
		bh->b_size = blocksize;
		err = get_block(inode, iblock, bh, 0);
		bh->b_size = blocksize;
		if (err)
			goto out_unlock;
		/* a hole: nothing on disk to zero */
		if (!pc_buffer_mapped(bh))
			goto out_unlock;
	}
	if (pc_PageUptodate(page))
		pc_set_buffer_uptodate(bh);
	if (!pc_buffer_uptodate(bh) && !pc_buffer_delay(bh) && !pc_buffer_unwritten(bh)) {
		err = pc_bh_read_sync(bh);
		if (err)
			goto out_unlock;
	}
	pc_buf_zero(page, offset, offset + length);
	if (pc_buffer_unwritten(bh) && !pc_buffer_uptodate(bh)) {
		/* the rest of an unwritten block reads as zeros too */
		pc_buf_zero(page, pos - blocksize, offset);
		pc_set_buffer_uptodate(bh);
	}
	pc_mark_buffer_dirty(bh);
	err = 0;
out_unlock:
	pc_unlock_page(page);
	pc_put_page(page);
	return err;
}
