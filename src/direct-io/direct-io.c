/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/direct-io/direct-io.c - direct I/O with placeholder range locks
 * (seed 002_eb967239d5b93735.txt; the contract is in direct-io.h).
 *
 * One call of pc_blockdev_direct_IO:
 *   1. check alignment (offset, length, every buffer: logical block size);
 *   2. lock the page range [pos, end) of the mapping: pages present are
 *      locked, placeholders fill the holes, dirty pages are written back
 *      and writeback waited for (pc_find_or_insert_placeholders, iowait);
 *   3. writes inside i_size with PC_DIO_DROP_I_MUTEX release the inode lock
 *      (the range lock now serialises against buffered I/O and truncate);
 *      reads re-read i_size now that the range is locked and stop there;
 *   4. walk the file in get_block runs: each mapping request is trimmed to
 *      the locked range, so get_block never allocates a block outside it
 *      (a buffered reader could otherwise map it before its data is
 *      written: the stale-data hole the seed's cover letter describes);
 *      mapped runs become bios built on the caller's memory (merged while
 *      disk-contiguous, up to PC_BIO_MAX_VECS pages), holes read as zeros,
 *      freshly allocated blocks the transfer covers only in part get their
 *      other part zeroed on disk in the same bio;
 *   5. a PC_BH_Boundary run submits its bio at the end of the run only (patch
 *      8: testing the bit for every block of a long run split the I/O);
 *   6. do the last bio on the calling thread (it would only wait for it),
 *      then wait for the others; a failed bio makes the result short,
 *      ending at the first failed byte;
 *   7. writes: extend i_size over what was written, mark the inode dirty,
 *      then drop the range's cached pages while still locked and release
 *      the range; reads release it. Then re-take the inode lock if it was
 *      dropped.
 *
 * The caller's memory is described to the block layer by page descriptors
 * made on the fly (struct pc_page with only ->virtual set), the analog of
 * get_user_pages: they live in the bio's context and never enter a
 * mapping, an LRU or the pool.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <pagecache/direct-io.h>
#include <pagecache/vfs.h>
#include <pagecache/writeback.h>

/* Bios one direct I/O keeps in flight at most (memory: ~18 KiB each). */
#define DIO_MAX_INFLIGHT 64

/* Zeros for the uncovered parts of newly allocated blocks. */
static char zero_page[PC_PAGE_SIZE] __attribute__((aligned(PC_PAGE_SIZE)));

struct dio;

/* Context of one bio: the descriptors of the memory it carries. */
struct dio_bio {
	struct dio *dio;
	loff_t file_pos;	/* first file byte of the data it carries */
	unsigned npages, maxpages;
	struct pc_page pages[];
};

struct dio {
	struct pc_inode *inode;
	struct pc_block_device *bdev;
	pc_get_block_t get_block;
	bool write;
	unsigned blkbits;		/* filesystem block size (log2) */
	/* the caller's memory, consumed in file order */
	const struct iovec *iov;
	unsigned long nr_segs;
	size_t iov_off;
	/* the bio being built */
	struct pc_bio *bio;
	struct dio_bio *db;
	pc_sector_t next_sector;
	loff_t cursor;			/* file position of the next data byte */
	bool new_blocks;		/* get_block allocated something */
	/* completion */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long inflight;
	bool waiting;
	loff_t fail_pos;		/* lowest file position of a failed bio */
	int err;			/* its error */
};

PC_EXPORT int pc_check_dio_alignment(const struct pc_iov_iter *iter, loff_t pos, unsigned align)
{
	uintptr_t mask = align - 1;
	size_t left = iter->count, off = iter->iov_offset;

	if (iter->type != PC_ITER_IOVEC && iter->type != PC_ITER_KVEC)
		return -EINVAL;
	if (((uintptr_t)pos | left) & mask)
		return -EINVAL;
	for (unsigned long s = 0; s < iter->nr_segs && left; s++, off = 0) {
		const struct iovec *v = &iter->iov[s];
		size_t len = v->iov_len - off;

		if (len > left)
			len = left;
		if (!len)
			continue;
		if (!v->iov_base || (((uintptr_t)v->iov_base + off) | len) & mask)
			return -EINVAL;
		left -= len;
	}
	return left ? -EINVAL : 0;
}

static void dio_end_io(struct pc_bio *bio)
{
	struct dio_bio *db = bio->bi_private;
	struct dio *dio = db->dio;

	pthread_mutex_lock(&dio->lock);
	if (bio->bi_status && db->file_pos < dio->fail_pos) {
		dio->fail_pos = db->file_pos;
		dio->err = bio->bi_status;
	}
	dio->inflight--;
	if (dio->waiting)
		pthread_cond_broadcast(&dio->cond);
	pthread_mutex_unlock(&dio->lock);
	free(db);
	pc_bio_put(bio);
}

/* Wait until at most @max bios are in flight. */
static void dio_wait(struct dio *dio, long max)
{
	pthread_mutex_lock(&dio->lock);
	if (dio->inflight > max) {
		pthread_mutex_unlock(&dio->lock);
		pc_blk_flush_plug();	/* what we wait for may sit in our plug */
		pthread_mutex_lock(&dio->lock);
		dio->waiting = true;
		while (dio->inflight > max)
			pthread_cond_wait(&dio->cond, &dio->lock);
		dio->waiting = false;
	}
	pthread_mutex_unlock(&dio->lock);
}

static void dio_submit(struct dio *dio)
{
	struct pc_bio *bio = dio->bio;

	if (!bio)
		return;
	dio->bio = NULL;
	dio->db = NULL;
	dio_wait(dio, DIO_MAX_INFLIGHT - 1);
	pthread_mutex_lock(&dio->lock);
	dio->inflight++;
	pthread_mutex_unlock(&dio->lock);
	pc_submit_bio(bio);
}

/*
 * The last bio of the transfer: the caller would only sleep until it
 * completes, so do it on this thread (pc_submit_bio_direct) while the
 * earlier ones complete on the engine. For the common single-bio direct
 * I/O this removes the hand-off to the engine thread and back.
 */
static void dio_submit_last(struct dio *dio)
{
	struct pc_bio *bio = dio->bio;
	struct dio_bio *db = dio->db;
	int status;

	if (!bio)
		return;
	dio->bio = NULL;
	dio->db = NULL;
	pc_blk_flush_plug();	/* the earlier bios go first */
	status = pc_submit_bio_direct(bio);
	if (status) {
		pthread_mutex_lock(&dio->lock);
		if (db->file_pos < dio->fail_pos) {
			dio->fail_pos = db->file_pos;
			dio->err = status;
		}
		pthread_mutex_unlock(&dio->lock);
	}
	free(db);
	pc_bio_put(bio);
}

/* Start a bio at @sector able to carry about @bytes (for sizing). */
static int dio_new_bio(struct dio *dio, pc_sector_t sector, size_t bytes)
{
	unsigned maxpages = (unsigned)PC_MIN((size_t)PC_BIO_MAX_VECS, (bytes >> PC_PAGE_SHIFT) + 2);
	struct dio_bio *db = malloc(sizeof(*db) + maxpages * sizeof(struct pc_page));

	if (!db)
		return -ENOMEM;
	db->dio = dio;
	db->file_pos = dio->cursor;
	db->npages = 0;
	db->maxpages = maxpages;
	dio->bio = pc_bio_alloc(dio->bdev, maxpages);
	if (!dio->bio) {
		free(db);
		return -ENOMEM;
	}
	dio->bio->bi_sector = sector;
	dio->bio->bi_opf = (dio->write ? PC_REQ_OP_WRITE : PC_REQ_OP_READ) | PC_REQ_SYNC;
	dio->bio->bi_end_io = dio_end_io;
	dio->bio->bi_private = db;
	dio->db = db;
	dio->next_sector = sector;
	return 0;
}

/*
 * Add memory [@addr, @addr+@len) (sector-aligned length, within one page
 * of memory or not) to go to/from the device at @sector. @more: bytes that
 * will probably follow, to size a new bio.
 */
static int dio_add_mem(struct dio *dio, pc_sector_t sector, char *addr, size_t len, size_t more)
{
	while (len) {
		uintptr_t a = (uintptr_t)addr;
		unsigned off = a & (PC_PAGE_SIZE - 1);
		unsigned seg = (unsigned)PC_MIN(len, (size_t)(PC_PAGE_SIZE - off));
		struct pc_page *pg;
		int err;

		if (dio->bio && (dio->next_sector != sector || dio->db->npages == dio->db->maxpages))
			dio_submit(dio);
		if (!dio->bio) {
			err = dio_new_bio(dio, sector, len + more);
			if (err)
				return err;
		}
		pg = &dio->db->pages[dio->db->npages++];
		memset(pg, 0, sizeof(*pg));
		pg->virtual = (void *)(a - off);
		if (pc_bio_add_page(dio->bio, pg, seg, off) != seg)
			return -EINVAL;	/* cannot happen: checked sizes */
		addr += seg;
		len -= seg;
		sector += seg >> PC_SECTOR_SHIFT;
		dio->next_sector = sector;
	}
	return 0;
}

/* Move @len bytes of the caller's memory to/from @sector. */
static int dio_add_user(struct dio *dio, pc_sector_t sector, size_t len)
{
	while (len) {
		const struct iovec *v = dio->iov;
		size_t n = PC_MIN(len, v->iov_len - dio->iov_off);
		int err;

		if (!n) {
			dio->iov++;
			dio->nr_segs--;
			dio->iov_off = 0;
			continue;
		}
		err = dio_add_mem(dio, sector, (char *)v->iov_base + dio->iov_off, n, len - n);
		if (err)
			return err;
		dio->iov_off += n;
		dio->cursor += (loff_t)n;
		sector += n >> PC_SECTOR_SHIFT;
		len -= n;
	}
	return 0;
}

/* A hole being read: zero @len bytes of the caller's memory. */
static void dio_zero_user(struct dio *dio, size_t len)
{
	while (len) {
		const struct iovec *v = dio->iov;
		size_t n = PC_MIN(len, v->iov_len - dio->iov_off);

		if (!n) {
			dio->iov++;
			dio->nr_segs--;
			dio->iov_off = 0;
			continue;
		}
		memset((char *)v->iov_base + dio->iov_off, 0, n);
		dio->iov_off += n;
		dio->cursor += (loff_t)n;
		len -= n;
	}
}

/* Zero @len bytes on the device at @sector (parts of new blocks). */
static int dio_zero_disk(struct dio *dio, pc_sector_t sector, size_t len)
{
	while (len) {
		size_t n = PC_MIN(len, sizeof(zero_page));
		int err = dio_add_mem(dio, sector, zero_page, n, 0);

		if (err)
			return err;
		sector += n >> PC_SECTOR_SHIFT;
		len -= n;
	}
	return 0;
}

/*
 * Transfer file bytes [@pos, @xfer_end) with the page range ending at byte
 * @lock_end (exclusive) locked. Returns 0 or the error that stopped the
 * mapping (bios already submitted still complete).
 */
static int dio_map_and_submit(struct dio *dio, loff_t pos, loff_t xfer_end, loff_t lock_end,
			      bool create)
{
	const loff_t bsize = (loff_t)1 << dio->blkbits;
	loff_t cur = pos;
	int err = 0;

	while (cur < xfer_end) {
		pc_sector_t fblk = (pc_sector_t)(cur >> dio->blkbits);
		loff_t blk_start = (loff_t)fblk << dio->blkbits;
		loff_t want_end = PC_MIN((xfer_end + bsize - 1) & ~(bsize - 1), lock_end);
		struct pc_buffer_head bh;
		loff_t run_end;
		size_t mapped;

		memset(&bh, 0, sizeof(bh));
		bh.b_size = (size_t)(want_end - blk_start);
		err = dio->get_block(dio->inode, fblk, &bh, create);
		if (err)
			break;
		mapped = bh.b_size ? bh.b_size : (size_t)bsize;
		/* Never let a mapping reach past the locked range (seed 002). */
		if (blk_start + (loff_t)mapped > lock_end)
			mapped = (size_t)(lock_end - blk_start);
		run_end = PC_MIN(blk_start + (loff_t)mapped, xfer_end);
		if (run_end <= cur) {
			err = -EIO;	/* a get_block that mapped nothing */
			break;
		}
		if (pc_buffer_mapped(&bh)) {
			pc_sector_t base = (pc_sector_t)bh.b_blocknr << (dio->blkbits - PC_SECTOR_SHIFT);
			bool fresh = dio->write && pc_buffer_new(&bh);

			if (fresh) {
				dio->new_blocks = true;
				/* The head of the first new block we do not write. */
				if (cur > blk_start) {
					err = dio_zero_disk(dio, base, (size_t)(cur - blk_start));
					if (err)
						break;
				}
			}
			err = dio_add_user(dio, base + ((pc_sector_t)(cur - blk_start) >> PC_SECTOR_SHIFT),
					   (size_t)(run_end - cur));
			if (err)
				break;
			if (fresh && (run_end & (bsize - 1))) {
				/* ... and the tail of the last one. */
				loff_t tail_end = (run_end + bsize - 1) & ~(bsize - 1);

				err = dio_zero_disk(dio, base + ((pc_sector_t)(run_end - blk_start) >> PC_SECTOR_SHIFT),
						    (size_t)(tail_end - run_end));
				if (err)
					break;
			}
			/*
			 * The next get_block will read metadata: send what we have
			 * first. Only once per run (patch 8), never per block.
			 */
			if (pc_buffer_boundary(&bh)) {
				dio_submit(dio);
				pc_blk_flush_plug();
			}
		} else if (dio->write) {
			err = create ? -EIO : -ENOTBLK;
			break;
		} else {
			dio_zero_user(dio, (size_t)(run_end - cur));
		}
		cur = run_end;
	}
	dio_submit_last(dio);
	return err;
}

PC_EXPORT ssize_t pc_blockdev_direct_IO(struct pc_kiocb *iocb, struct pc_inode *inode,
					struct pc_block_device *bdev, struct pc_iov_iter *iter,
					pc_get_block_t get_block, unsigned flags)
{
	struct pc_address_space *mapping = inode->i_mapping;
	const bool write = iter->dir == PC_WRITE;
	loff_t pos = iocb->ki_pos, end, xfer_end, lock_end, isize;
	size_t count = pc_iov_iter_count(iter);
	pc_pgoff_t first, last;
	bool relock = false;
	struct pc_blk_plug plug;
	struct dio dio;
	ssize_t ret;
	int err;

	if (write)
		PC_ASSERT_INODE_LOCKED(inode);	/* writes: held exclusive on entry */
	if (!count)
		return 0;
	err = pc_check_dio_alignment(iter, pos, bdev->bd_logical_block_size);
	if (err)
		return err;
	if (pos > LLONG_MAX - (loff_t)count)
		return -EFBIG;
	end = pos + (loff_t)count;
	if (!write && pos >= pc_i_size_read(inode))
		return 0;

	first = (pc_pgoff_t)pos >> PC_PAGE_SHIFT;
	last = (pc_pgoff_t)(end - 1) >> PC_PAGE_SHIFT;
	lock_end = ((loff_t)last + 1) << PC_PAGE_SHIFT;
	if (flags & PC_DIO_PLACEHOLDERS) {
		err = pc_find_or_insert_placeholders(mapping, first, last, true);
	} else {
		err = pc_filemap_write_and_wait_range(mapping, pos, end - 1);
	}
	if (err)
		return err;

	/* i_size now that the range is locked: a truncate that shrank the
	 * file before we locked is visible, one after waits for us. The fence
	 * pairs with truncate's between storing i_size and looking for
	 * placeholders (a reader holds no inode lock to order them). */
	atomic_thread_fence(memory_order_seq_cst);
	isize = pc_i_size_read(inode);
	xfer_end = end;
	if (!write) {
		unsigned lbs = bdev->bd_logical_block_size;

		if (pos >= isize) {
			ret = 0;
			goto out_unlock_range;
		}
		if (isize < end)
			xfer_end = PC_MIN(end, (isize + lbs - 1) & ~(loff_t)(lbs - 1));
	} else if ((flags & PC_DIO_DROP_I_MUTEX) && end <= isize) {
		pc_inode_unlock(inode);
		relock = true;
	}

	memset(&dio, 0, sizeof(dio));
	dio.inode = inode;
	dio.bdev = bdev;
	dio.get_block = get_block;
	dio.write = write;
	dio.blkbits = inode->i_blkbits;
	dio.iov = iter->iov;
	dio.nr_segs = iter->nr_segs;
	dio.iov_off = iter->iov_offset;
	dio.cursor = pos;
	dio.fail_pos = LLONG_MAX;
	pthread_mutex_init(&dio.lock, NULL);
	pthread_cond_init(&dio.cond, NULL);

	pc_blk_start_plug(&plug);
	err = dio_map_and_submit(&dio, pos, xfer_end, lock_end, write && (flags & PC_DIO_CREATE));
	pc_blk_finish_plug(&plug);
	dio_wait(&dio, 0);
	pthread_mutex_destroy(&dio.lock);
	pthread_cond_destroy(&dio.cond);

	/* Bytes done: up to the first failed bio, or where mapping stopped. */
	{
		loff_t done_end = PC_MIN(dio.cursor, dio.fail_pos);

		if (!write)
			done_end = PC_MIN(done_end, isize);
		ret = done_end > pos ? (ssize_t)(done_end - pos) : 0;
		if (!ret)
			ret = dio.fail_pos != LLONG_MAX ? dio.err : err;
	}
	if (write && (ret > 0 || dio.new_blocks)) {
		unsigned dirty = dio.new_blocks ? PC_I_DIRTY_DATASYNC | PC_I_DIRTY_SYNC : 0;

		/* The I/O is complete: publish the new size before unlocking
		 * the range, so a reader that waited on it sees the data. Only
		 * a write that kept the inode lock may: one that dropped it was
		 * inside i_size, and a smaller size now means a truncate ran
		 * after it (and waits for its range): serially, the truncate
		 * comes second and its size stands. */
		if (ret > 0 && !relock && pos + ret > pc_i_size_read(inode)) {
			pc_i_size_write(inode, pos + ret);
			dirty |= PC_I_DIRTY_DATASYNC | PC_I_DIRTY_SYNC;
		}
		if (dirty)
			pc___mark_inode_dirty(inode, dirty);
	}
	if (ret > 0)
		pc_iov_iter_advance(iter, (size_t)ret);

out_unlock_range:
	if (flags & PC_DIO_PLACEHOLDERS) {
		pc_remove_placeholder_pages(mapping, first, last, write);
	} else if (write && atomic_load(&mapping->nrpages)) {
		int e = pc_invalidate_inode_pages2_range(mapping, first, last);
		if (e && ret >= 0 && !ret)
			ret = e;
	}
	if (relock)
		pc_inode_lock(inode);
	return ret;
}
