/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/mpage/mpage.c - layer 7b: multi-page block I/O (seed 003).
 *
 * Reads: pages without buffers whose blocks are contiguous on disk (holes
 * only at the end of a page) go into the largest bio of disk-contiguous
 * pages; everything else ("confused": a page with buffers, a hole followed
 * by data, discontiguous blocks, a get_block error) falls back to
 * pc_block_read_full_page after the bio built so far is submitted. One
 * get_block call maps the rest of the readahead batch; the result is
 * reused for the following pages (map_bh caching). A PC_BH_Boundary run ends
 * its bio at once so the metadata read the next mapping needs is not
 * queued behind it.
 *
 * Writes: pages whose buffers are all mapped, dirty and contiguous (or that
 * have no buffers) go into bios of up to PC_BIO_MAX_VECS pages; others go
 * to the mapping's writepage (pc_block_write_full_page). A page without
 * buffers starts a run: the dirty pages without buffers that follow it are
 * locked too (trylock, ascending; at most MPAGE_MAX_RUN pages, not past
 * i_size, nor past the wbc range or, for WB_SYNC_NONE, its nr_to_write) and
 * one get_block(create=1) call is asked for the blocks of the whole run, so
 * it can allocate one large extent; its answer serves every page of the run
 * while they stay locked (never a page unlocked since: a truncate cannot
 * make it stale). Pages with blocksize == PAGE_SIZE never get buffer heads
 * on this path. The part of the EOF page past i_size is zeroed before every
 * write.
 *
 * Completion (mpage_end_io, engine thread): reads set PC_PG_uptodate or
 * PC_PG_error and unlock each page; writes set PC_PG_error and record the error
 * on the mapping on failure, and end each page's writeback.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pagecache/mpage.h"
#include "pagecache/blkdev.h"
#include "pagecache/filemap.h"
#include "pagecache/vfs.h"
#include "pagecache/writeback.h"
#include "../buffer/buffer_internal.h"

/* Most pages one get_block(create=1) call is asked to map (8 MiB of 4 KiB pages). */
#define MPAGE_MAX_RUN 2048

static void mpage_end_io(struct pc_bio *bio)
{
	int status = bio->bi_status;
	bool write = PC_BIO_OP(bio) == PC_REQ_OP_WRITE;
	unsigned i;

	for (i = 0; i < bio->bi_vcnt; i++) {
		struct pc_page *page = bio->bi_io_vec[i].bv_page;

		if (!write) {
			if (!status) {
				pc_SetPageUptodate(page);
			} else {
				pc_ClearPageUptodate(page);
				pc_SetPageError(page);
			}
			pc_unlock_page(page);
		} else {
			if (status) {
				struct pc_address_space *mapping = page->mapping;

				pc_SetPageError(page);
				if (mapping)
					pc_mapping_set_error(mapping, status);
			}
			pc_end_page_writeback(page);
		}
	}
	pc_bio_put(bio);
}

static struct pc_bio *mpage_bio_submit(struct pc_bio *bio)
{
	pc_submit_bio(bio);
	return NULL;
}

/*
 * Plugging: the bios of a readahead batch or a writepages pass are queued
 * on this thread's plug and dispatched together. get_block (and the
 * per-buffer fallbacks, which call it) may read metadata and sleep on that
 * read; a read queued behind our own plug would never be dispatched, so the
 * plug is finished before those calls and started again after them (when
 * it is the thread's outermost plug; a caller's plug is the caller's to
 * flush). get_block is called once per mapped run, so this costs little.
 */
static inline void mpage_unplug(struct pc_blk_plug *plug)
{
	if (plug)
		pc_blk_finish_plug(plug);
}

static inline void mpage_replug(struct pc_blk_plug *plug)
{
	if (plug)
		pc_blk_start_plug(plug);
}

static struct pc_bio *mpage_alloc(struct pc_block_device *bdev, pc_sector_t first_sector,
				  unsigned nr_vecs, unsigned opf)
{
	struct pc_bio *bio = pc_bio_alloc(bdev, nr_vecs);

	if (!bio)
		return NULL;
	bio->bi_sector = first_sector;
	bio->bi_opf = opf;
	bio->bi_end_io = mpage_end_io;
	return bio;
}

/* ------------------------------------------------------------------------ */
/* reads                                                                     */
/* ------------------------------------------------------------------------ */

struct mpage_readpage_args {
	struct pc_bio *bio;
	struct pc_page *page;
	unsigned nr_pages;		/* pages of the batch from this one on */
	pc_sector_t last_block_in_bio;
	struct pc_buffer_head map_bh;	/* the last get_block result */
	pc_sector_t first_logical_block;	/* file block map_bh starts at */
	pc_get_block_t get_block;
	struct pc_blk_plug *plug;	/* ours, suspended around get_block */
	int err;			/* -ENOMEM from the buffer path */
};

/*
 * get_block filled the block itself (PC_BH_Uptodate): record the mapping in
 * the page's buffers so block_read_full_page does not call get_block again
 * (or, for a one-block page, just mark the page uptodate).
 */
static void map_buffer_to_page(struct pc_page *page, struct pc_buffer_head *bh, unsigned page_block,
			       unsigned blkbits)
{
	struct pc_buffer_head *page_bh, *head;
	unsigned block = 0;

	if (!pc_page_has_buffers(page)) {
		if (blkbits == PC_PAGE_SHIFT && pc_buffer_uptodate(bh)) {
			pc_SetPageUptodate(page);
			return;
		}
		/* No memory: leave it; block_read_full_page maps again. */
		if (pc_create_empty_buffers(page, 1UL << blkbits, 0))
			return;
	}
	head = pc_page_buffers(page);
	page_bh = head;
	do {
		if (block == page_block) {
			atomic_store(&page_bh->b_state, atomic_load(&bh->b_state));
			page_bh->b_bdev = bh->b_bdev;
			page_bh->b_blocknr = bh->b_blocknr;
			break;
		}
		page_bh = page_bh->b_this_page;
		block++;
	} while (page_bh != head);
}

static struct pc_bio *do_mpage_readpage(struct mpage_readpage_args *args)
{
	struct pc_page *page = args->page;
	struct pc_address_space *mapping = page->mapping;
	struct pc_inode *inode = mapping->host;
	const unsigned blkbits = pc_mapping_blkbits(mapping);
	const unsigned blocks_per_page = (unsigned)(PC_PAGE_SIZE >> blkbits);
	const unsigned blocksize = 1u << blkbits;
	struct pc_buffer_head *map_bh = &args->map_bh;
	struct pc_bio *bio = args->bio;
	pc_sector_t blocks[PC_MAX_BUF_PER_PAGE];
	pc_sector_t block_in_file, last_block, last_block_in_file, nblocks, relative_block;
	unsigned page_block, first_hole = blocks_per_page, length;
	struct pc_block_device *bdev = NULL;
	bool fully_mapped = true, fresh;
	loff_t size;

	if (pc_page_has_buffers(page))
		goto confused;

	block_in_file = (pc_sector_t)page->index << (PC_PAGE_SHIFT - blkbits);
	last_block = block_in_file + (pc_sector_t)args->nr_pages * blocks_per_page;
	size = pc_mapping_size(mapping);
	last_block_in_file = ((pc_sector_t)size + blocksize - 1) >> blkbits;
	if (last_block > last_block_in_file)
		last_block = last_block_in_file;
	page_block = 0;

	/* Map blocks using the result of the previous get_block call first. */
	nblocks = map_bh->b_size >> blkbits;
	if (pc_buffer_mapped(map_bh) && block_in_file > args->first_logical_block &&
	    block_in_file < args->first_logical_block + nblocks) {
		pc_sector_t map_offset = block_in_file - args->first_logical_block;
		pc_sector_t last = nblocks - map_offset;

		for (relative_block = 0;; relative_block++) {
			if (relative_block == last) {
				pc_clear_buffer_mapped(map_bh);
				break;
			}
			if (page_block == blocks_per_page)
				break;
			blocks[page_block] = map_bh->b_blocknr + map_offset + relative_block;
			page_block++;
			block_in_file++;
		}
		bdev = map_bh->b_bdev;
	}

	/* Then more get_block calls until the page is done. */
	map_bh->b_page = page;
	while (page_block < blocks_per_page) {
		atomic_store(&map_bh->b_state, 0);
		map_bh->b_size = 0;

		if (block_in_file < last_block) {
			int err;

			map_bh->b_size = (size_t)(last_block - block_in_file) << blkbits;
			mpage_unplug(args->plug);
			err = args->get_block(inode, block_in_file, map_bh, 0);
			mpage_replug(args->plug);
			if (err)
				goto confused;
			args->first_logical_block = block_in_file;
			/* allocated but unwritten reads as zeros: a hole */
			if (pc_buffer_unwritten(map_bh))
				pc_clear_buffer_mapped(map_bh);
		}

		if (!pc_buffer_mapped(map_bh)) {
			fully_mapped = false;
			if (first_hole == blocks_per_page)
				first_hole = page_block;
			page_block++;
			block_in_file++;
			continue;
		}

		/* get_block filled the block itself: let the buffer path
		 * finish the page without mapping it again */
		if (pc_buffer_uptodate(map_bh)) {
			map_buffer_to_page(page, map_bh, page_block, blkbits);
			goto confused;
		}

		if (first_hole != blocks_per_page)
			goto confused;		/* hole -> non-hole */

		/* Contiguous blocks? */
		if (page_block && blocks[page_block - 1] != map_bh->b_blocknr - 1)
			goto confused;
		nblocks = map_bh->b_size >> blkbits;
		if (nblocks == 0) {
			/* a get_block that maps less than a block: one block */
			nblocks = 1;
			map_bh->b_size = blocksize;
		}
		for (relative_block = 0;; relative_block++) {
			if (relative_block == nblocks) {
				pc_clear_buffer_mapped(map_bh);
				break;
			} else if (page_block == blocks_per_page) {
				break;
			}
			blocks[page_block] = map_bh->b_blocknr + relative_block;
			page_block++;
			block_in_file++;
		}
		bdev = map_bh->b_bdev;
	}

	if (first_hole != blocks_per_page) {
		pc_buf_zero(page, first_hole << blkbits, PC_PAGE_SIZE);
		if (first_hole == 0) {
			pc_SetPageUptodate(page);
			pc_unlock_page(page);
			goto out;
		}
	} else if (fully_mapped) {
		pc_SetPageMappedToDisk(page);
	}
	if (!bdev)
		goto confused;

	/* This page will go to a bio. Must the bio be sent off first? */
	if (bio && (args->last_block_in_bio != blocks[0] - 1 || bio->bi_bdev != bdev))
		bio = mpage_bio_submit(bio);

alloc_new:
	fresh = false;
	if (bio == NULL) {
		bio = mpage_alloc(bdev, blocks[0] << (blkbits - PC_SECTOR_SHIFT),
				  PC_MIN(args->nr_pages, (unsigned)PC_BIO_MAX_VECS), PC_REQ_OP_READ);
		if (!bio)
			goto confused;	/* no memory: the buffer path, or an error */
		fresh = true;
	}

	length = first_hole << blkbits;
	if (pc_bio_add_page(bio, page, length, 0) < length) {
		if (fresh) {
			pc_bio_put(bio);
			bio = NULL;
			goto confused;
		}
		bio = mpage_bio_submit(bio);
		goto alloc_new;
	}

	relative_block = block_in_file - args->first_logical_block;
	nblocks = map_bh->b_size >> blkbits;
	if ((pc_buffer_boundary(map_bh) && relative_block == nblocks) || first_hole != blocks_per_page)
		bio = mpage_bio_submit(bio);
	else
		args->last_block_in_bio = blocks[blocks_per_page - 1];
out:
	return bio;

confused:
	if (bio)
		bio = mpage_bio_submit(bio);
	if (!pc_PageUptodate(page)) {
		int err;

		mpage_unplug(args->plug);
		err = pc_block_read_full_page(page, args->get_block);
		if (err == -ENOMEM)
			args->err = err;
		mpage_replug(args->plug);
	} else {
		pc_unlock_page(page);
	}
	goto out;
}

void pc_mpage_readahead(struct pc_readahead_control *rac, pc_get_block_t get_block)
{
	struct mpage_readpage_args args;
	struct pc_blk_plug plug;
	struct pc_page *page;
	pc_pgoff_t end;

	memset(&args, 0, sizeof(args));
	args.get_block = get_block;
	args.plug = &plug;
	/* one past the last page of the batch, however the consumer counts */
	end = pc_readahead_index(rac) + pc_readahead_count(rac);

	pc_blk_start_plug(&plug);
	while ((page = pc_readahead_page(rac))) {
		args.page = page;
		args.nr_pages = end > page->index ? (unsigned)PC_MIN(end - page->index, (pc_pgoff_t)UINT_MAX) : 1;
		args.bio = do_mpage_readpage(&args);
		pc_put_page(page);
	}
	if (args.bio)
		mpage_bio_submit(args.bio);
	pc_blk_finish_plug(&plug);
}

int pc_mpage_readpage(struct pc_page *page, pc_get_block_t get_block)
{
	struct mpage_readpage_args args;

	memset(&args, 0, sizeof(args));
	args.page = page;
	args.nr_pages = 1;
	args.get_block = get_block;
	args.bio = do_mpage_readpage(&args);
	if (args.bio)
		mpage_bio_submit(args.bio);
	return args.err;
}

/* ------------------------------------------------------------------------ */
/* writes                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Writing a run of pages without buffers.
 *
 * The page write_cache_pages hands us (locked, dirty bit cleared) starts a
 * run: the following pages that are dirty, uptodate, without buffers, not
 * under writeback and that we can lock without waiting (trylock, ascending
 * index: the lock order) are locked too, up to MPAGE_MAX_RUN pages, i_size,
 * the wbc range and (WB_SYNC_NONE) nr_to_write. Then get_block(create=1) is
 * asked for the blocks of the whole run at once, and every page of the run
 * goes into the bio while still locked: a mapping is never used for a page
 * that was unlocked since get_block returned it, so a concurrent truncate
 * (which locks each page) can never make it stale. Pages of the run after a
 * "confused" one are unlocked untouched (still dirty) for write_cache_pages
 * to visit later. The extra pages are counted in wbc->nr_to_write.
 */
struct mpage_data {
	struct pc_bio *bio;
	pc_sector_t last_block_in_bio;
	pc_get_block_t get_block;
	bool use_writepage;		/* confused pages: a_ops->writepage */
	struct pc_blk_plug *plug;	/* ours, suspended around get_block */
	struct pc_page **run;		/* MPAGE_MAX_RUN slots, or NULL */
};

/* The current get_block(create=1) answer while a run is mapped. */
struct mpage_map {
	bool valid;
	pc_sector_t first;			/* file block it starts at */
	pc_sector_t len;			/* blocks */
	pc_sector_t blocknr;		/* disk block of @first */
	struct pc_block_device *bdev;
	bool boundary;			/* PC_BH_Boundary on its last block */
};

/* The buffers we are about to write are clean from now on. */
static void clean_buffers(struct pc_page *page, unsigned first_unmapped)
{
	struct pc_buffer_head *head, *bh;
	unsigned n = 0;

	if (!pc_page_has_buffers(page))
		return;
	head = pc_page_buffers(page);
	bh = head;
	do {
		if (n++ == first_unmapped)
			break;
		pc_clear_buffer_dirty(bh);
		bh = bh->b_this_page;
	} while (bh != head);
}

/* What __mpage_writepage learned about a page's disk blocks. */
struct mpage_blocks {
	pc_sector_t blocks[PC_MAX_BUF_PER_PAGE];
	unsigned first_unmapped;	/* blocks mapped from the start */
	struct pc_block_device *bdev;
	bool boundary;			/* the last mapped block is a boundary */
	pc_sector_t boundary_block;
	struct pc_block_device *boundary_bdev;
};

/*
 * Put a locked page whose blocks are known (@mb) into the bio, then set
 * writeback and unlock it. Returns false, page untouched and still locked,
 * if it cannot go into a bio (the caller's confused path).
 */
static bool mpage_add_page(struct mpage_data *mpd, struct pc_page *page,
			   struct pc_writeback_control *wbc, const struct mpage_blocks *mb,
			   unsigned blkbits, loff_t i_size)
{
	const unsigned blocks_per_page = (unsigned)(PC_PAGE_SIZE >> blkbits);
	const unsigned op_flags = wbc->sync_mode == PC_WB_SYNC_ALL ? PC_REQ_SYNC : 0;
	pc_pgoff_t end_index = (pc_pgoff_t)(i_size >> PC_PAGE_SHIFT);
	struct pc_bio *bio = mpd->bio;
	unsigned length;
	bool fresh;

	if (!mb->bdev || !mb->first_unmapped)
		return false;
	if (page->index >= end_index) {
		/*
		 * The page straddles i_size: zero the part past it on every
		 * write, so the tail of the last block on disk reads as zeros
		 * whatever the page held beyond EOF.
		 */
		unsigned offset = (unsigned)(i_size & (loff_t)(PC_PAGE_SIZE - 1));

		if (page->index > end_index || !offset)
			return false;
		pc_buf_zero(page, offset, PC_PAGE_SIZE);
	}

	/* This page will go to a bio. Must the bio be sent off first? */
	if (bio && (mpd->last_block_in_bio != mb->blocks[0] - 1 || bio->bi_bdev != mb->bdev))
		bio = mpage_bio_submit(bio);

alloc_new:
	fresh = false;
	if (bio == NULL) {
		bio = mpage_alloc(mb->bdev, mb->blocks[0] << (blkbits - PC_SECTOR_SHIFT), PC_BIO_MAX_VECS,
				  PC_REQ_OP_WRITE | op_flags);
		if (!bio) {
			mpd->bio = NULL;
			return false;	/* no memory: the confused path */
		}
		fresh = true;
	}
	/* Add the page before cleaning its buffers: the confused path must
	 * still find them dirty. */
	length = mb->first_unmapped << blkbits;
	if (pc_bio_add_page(bio, page, length, 0) < length) {
		if (fresh) {
			pc_bio_put(bio);
			mpd->bio = NULL;
			return false;
		}
		bio = mpage_bio_submit(bio);
		goto alloc_new;
	}

	clean_buffers(page, mb->first_unmapped);
	PC_BUG_ON(pc_PageWriteback(page));
	pc_set_page_writeback(page);
	pc_unlock_page(page);
	if (mb->boundary || mb->first_unmapped != blocks_per_page) {
		bio = mpage_bio_submit(bio);
		if (mb->boundary_block)
			pc_write_boundary_block(mb->boundary_bdev, mb->boundary_block, 1u << blkbits);
	} else {
		mpd->last_block_in_bio = mb->blocks[blocks_per_page - 1];
	}
	mpd->bio = bio;
	return true;
}

/* Is @page (locked by us) fit to join a run? */
static bool mpage_run_page_ok(struct pc_page *page, struct pc_address_space *mapping, pc_pgoff_t index)
{
	return page->mapping == mapping && page->index == index && pc_PageDirty(page) &&
	       pc_PageUptodate(page) && !pc_PagePrivate(page) && !pc_PageWriteback(page);
}

/* Lock the pages that follow @page into mpd->run[1..]; returns the run length. */
static unsigned mpage_gather_run(struct mpage_data *mpd, struct pc_page *page,
				 struct pc_writeback_control *wbc, loff_t i_size)
{
	struct pc_address_space *mapping = page->mapping;
	pc_pgoff_t index = page->index, limit, idx;
	unsigned n = 1;

	mpd->run[0] = page;
	/* pages holding data: index <= (i_size - 1) >> PAGE_SHIFT */
	limit = (pc_pgoff_t)((i_size - 1) >> PC_PAGE_SHIFT) + 1;
	if (limit > index + MPAGE_MAX_RUN)
		limit = index + MPAGE_MAX_RUN;
	if (!wbc->range_cyclic && wbc->range_end >= 0 &&
	    limit > (pc_pgoff_t)(wbc->range_end >> PC_PAGE_SHIFT) + 1)
		limit = (pc_pgoff_t)(wbc->range_end >> PC_PAGE_SHIFT) + 1;
	if (wbc->sync_mode == PC_WB_SYNC_NONE && wbc->nr_to_write > 0 &&
	    limit > index + (pc_pgoff_t)wbc->nr_to_write)
		limit = index + (pc_pgoff_t)wbc->nr_to_write;

	for (idx = index + 1; idx < limit; idx++) {
		struct pc_page *p;

		if (!pc_page_tagged(mapping, idx, PC_TAG_DIRTY))
			break;
		p = pc_find_get_page(mapping, idx);
		if (!p)
			break;
		if (!pc_trylock_page(p)) {
			pc_put_page(p);
			break;
		}
		if (!mpage_run_page_ok(p, mapping, idx)) {
			pc_unlock_page(p);
			pc_put_page(p);
			break;
		}
		mpd->run[n++] = p;
	}
	return n;
}

/* Unlock and release run pages [from, n): left dirty for a later visit. */
static void mpage_release_run(struct mpage_data *mpd, unsigned from, unsigned n)
{
	for (unsigned i = from; i < n; i++) {
		pc_unlock_page(mpd->run[i]);
		pc_put_page(mpd->run[i]);
	}
}

/*
 * Find the disk blocks of a locked page without buffers through @map,
 * calling get_block(create=1) for [block, @end_block) when @map does not
 * cover the block. false if the page is confused (discontiguous, or
 * get_block failed / mapped nothing).
 */
static bool mpage_map_page(struct mpage_data *mpd, struct mpage_map *map, struct pc_page *page,
			   pc_sector_t end_block, unsigned blkbits, loff_t i_size, struct mpage_blocks *mb)
{
	struct pc_inode *inode = page->mapping->host;
	const unsigned blocks_per_page = (unsigned)(PC_PAGE_SIZE >> blkbits);
	pc_sector_t block_in_file = (pc_sector_t)page->index << (PC_PAGE_SHIFT - blkbits);
	pc_sector_t last_block = ((pc_sector_t)i_size - 1) >> blkbits;
	unsigned page_block;

	memset(mb, 0, sizeof(*mb));
	for (page_block = 0; page_block < blocks_per_page;) {
		pc_sector_t blocknr;
		bool bnd;

		if (!map->valid || block_in_file < map->first ||
		    block_in_file >= map->first + map->len) {
			struct pc_buffer_head map_bh;
			pc_sector_t want = end_block > block_in_file ? end_block - block_in_file : 1;
			int err;

			memset(&map_bh, 0, sizeof(map_bh));
			map_bh.b_page = page;
			map_bh.b_size = (size_t)want << blkbits;
			map->valid = false;
			mpage_unplug(mpd->plug);
			err = mpd->get_block(inode, block_in_file, &map_bh, 1);
			mpage_replug(mpd->plug);
			if (err || !pc_buffer_mapped(&map_bh) || !map_bh.b_bdev ||
			    (map_bh.b_size >> blkbits) == 0)
				return false;
			/* PC_BH_New: get_block already forgot the bdev aliases */
			map->valid = true;
			map->first = block_in_file;
			map->len = PC_MIN((pc_sector_t)(map_bh.b_size >> blkbits), want);
			map->blocknr = map_bh.b_blocknr;
			map->bdev = map_bh.b_bdev;
			map->boundary = pc_buffer_boundary(&map_bh);
		}
		blocknr = map->blocknr + (block_in_file - map->first);
		bnd = map->boundary && block_in_file == map->first + map->len - 1;
		if (page_block && blocknr != mb->blocks[page_block - 1] + 1)
			return false;
		if (mb->bdev && map->bdev != mb->bdev)
			return false;
		mb->blocks[page_block++] = blocknr;
		mb->boundary = bnd;
		if (bnd) {
			mb->boundary_block = blocknr;
			mb->boundary_bdev = map->bdev;
		}
		mb->bdev = map->bdev;
		if (block_in_file == last_block)
			break;
		block_in_file++;
	}
	mb->first_unmapped = page_block;
	return true;
}

/* The confused path: the bio so far goes out, the page goes to writepage. */
static int mpage_confused(struct mpage_data *mpd, struct pc_page *page,
			  struct pc_writeback_control *wbc)
{
	struct pc_address_space *mapping = page->mapping;
	int ret;

	/*
	 * Background writeback and a page whose blocks are still delayed
	 * (dirtied after the filesystem mapped this pass's delayed runs):
	 * leave it dirty for the next pass, which maps it with its
	 * neighbours in one long run, instead of writing it block by block
	 * and cutting the bio being built.
	 */
	if (wbc->sync_mode == PC_WB_SYNC_NONE && pc_page_has_buffers(page)) {
		struct pc_buffer_head *head = pc_page_buffers(page), *bh = head;
		bool delayed = false;
		do {
			delayed |= pc_buffer_delay(bh);
			bh = bh->b_this_page;
		} while (bh != head);
		if (delayed) {
			wbc->pages_skipped++;
			pc___set_page_dirty_nobuffers(page);
			pc_unlock_page(page);
			return 0;
		}
	}
	if (mpd->bio)
		mpd->bio = mpage_bio_submit(mpd->bio);
	mpage_unplug(mpd->plug);
	if (mpd->use_writepage && mapping->a_ops->writepage)
		ret = mapping->a_ops->writepage(page, wbc);
	else
		ret = pc_block_write_full_page(page, mpd->get_block, wbc);
	mpage_replug(mpd->plug);
	/* the caller holds the inode, so the mapping is stable */
	if (ret < 0)
		pc_mapping_set_error(mapping, ret);
	return ret;
}

static int __mpage_writepage(struct pc_page *page, struct pc_writeback_control *wbc, void *data)
{
	struct mpage_data *mpd = data;
	struct pc_address_space *mapping = page->mapping;
	const unsigned blkbits = pc_mapping_blkbits(mapping);
	const unsigned blocks_per_page = (unsigned)(PC_PAGE_SIZE >> blkbits);
	const loff_t i_size = pc_mapping_size(mapping);
	struct mpage_blocks mb;
	struct mpage_map map = { .valid = false };
	struct pc_page *single[1], **run = single;
	pc_sector_t end_block;
	pc_pgoff_t end_index;
	unsigned n, i;

	if (pc_page_has_buffers(page)) {
		struct pc_buffer_head *head = pc_page_buffers(page);
		struct pc_buffer_head *bh = head;
		unsigned page_block = 0;

		/* If they are all mapped, dirty and contiguous, do it. */
		memset(&mb, 0, sizeof(mb));
		mb.first_unmapped = blocks_per_page;
		do {
			if (pc_buffer_locked(bh))
				goto confused;
			if (!pc_buffer_mapped(bh)) {
				/* an unmapped dirty buffer needs get_block */
				if (pc_buffer_dirty(bh))
					goto confused;
				if (mb.first_unmapped == blocks_per_page)
					mb.first_unmapped = page_block;
				continue;
			}
			if (mb.first_unmapped != blocks_per_page)
				goto confused;	/* hole -> non-hole */
			if (!pc_buffer_dirty(bh) || !pc_buffer_uptodate(bh) || pc_buffer_delay(bh))
				goto confused;
			if (page_block && bh->b_blocknr != mb.blocks[page_block - 1] + 1)
				goto confused;
			if (mb.bdev && bh->b_bdev != mb.bdev)
				goto confused;
			mb.blocks[page_block++] = bh->b_blocknr;
			mb.boundary = pc_buffer_boundary(bh);
			if (mb.boundary) {
				mb.boundary_block = bh->b_blocknr;
				mb.boundary_bdev = bh->b_bdev;
			}
			mb.bdev = bh->b_bdev;
		} while ((bh = bh->b_this_page) != head);

		/* all unmapped (a page read over a hole): writepage maps it */
		if (!mpage_add_page(mpd, page, wbc, &mb, blkbits, i_size))
			goto confused;
		return 0;
	}

	/* The page has no buffers: map it (and the run after it) to disk. */
	if (!pc_PageUptodate(page) || i_size <= 0)
		goto confused;
	end_index = (pc_pgoff_t)(i_size >> PC_PAGE_SHIFT);
	if (page->index > end_index ||
	    (page->index == end_index && !(i_size & (loff_t)(PC_PAGE_SIZE - 1))))
		goto confused;	/* wholly past EOF: writepage drops it */

	if (mpd->run) {
		n = mpage_gather_run(mpd, page, wbc, i_size);
		run = mpd->run;
	} else {
		single[0] = page;
		n = 1;
	}

	end_block = (pc_sector_t)(page->index + n) << (PC_PAGE_SHIFT - blkbits);
	if (end_block > (((pc_sector_t)i_size - 1) >> blkbits) + 1)
		end_block = (((pc_sector_t)i_size - 1) >> blkbits) + 1;

	for (i = 0; i < n; i++) {
		struct pc_page *p = run[i];

		if (!mpage_map_page(mpd, &map, p, end_block, blkbits, i_size, &mb))
			break;
		/* the first page's dirty bit was cleared by write_cache_pages;
		 * ours is set (checked under the lock we hold) */
		if (i > 0 && !pc_clear_page_dirty_for_io(p))
			break;
		if (!mpage_add_page(mpd, p, wbc, &mb, blkbits, i_size)) {
			if (i > 0)
				pc___set_page_dirty_nobuffers(p);
			break;
		}
		if (i > 0) {
			wbc->nr_to_write--;
			pc_put_page(p);
		}
	}
	if (i == n)
		return 0;
	/* run[i] is confused: the rest of the run stays dirty for later */
	mpage_release_run(mpd, i ? i : 1, n);
	if (i > 0)
		return 0;
	/* page itself is confused */

confused:
	return mpage_confused(mpd, page, wbc);
}

int pc_mpage_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc,
			pc_get_block_t get_block)
{
	struct mpage_data mpd;
	struct pc_blk_plug plug;
	int ret;

	if (!get_block)
		return pc_generic_writepages(mapping, wbc);

	memset(&mpd, 0, sizeof(mpd));
	mpd.get_block = get_block;
	mpd.use_writepage = true;
	mpd.plug = &plug;
	/* without the run array each page is mapped on its own: slower, correct */
	mpd.run = malloc(MPAGE_MAX_RUN * sizeof(*mpd.run));

	pc_blk_start_plug(&plug);
	ret = pc_write_cache_pages(mapping, wbc, __mpage_writepage, &mpd);
	if (mpd.bio)
		mpage_bio_submit(mpd.bio);
	pc_blk_finish_plug(&plug);
	free(mpd.run);
	return ret;
}

int pc_mpage_writepage(struct pc_page *page, pc_get_block_t get_block,
		       struct pc_writeback_control *wbc)
{
	struct mpage_data mpd;
	int ret;

	memset(&mpd, 0, sizeof(mpd));
	mpd.get_block = get_block;
	mpd.use_writepage = false;	/* confused: pc_block_write_full_page */
	ret = __mpage_writepage(page, wbc, &mpd);
	if (mpd.bio)
		mpage_bio_submit(mpd.bio);
	return ret;
}
