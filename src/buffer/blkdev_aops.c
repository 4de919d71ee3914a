/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/buffer/blkdev_aops.c - the block device's own address_space (the
 * buffer cache for metadata): pc_def_blk_aops, getblk/bread/brelse,
 * clean_bdev_aliases, sync_blockdev, set_blocksize.
 *
 * The device's mapping has no inode (host == NULL). Page @index of it holds
 * bytes [index * PAGE_SIZE, (index + 1) * PAGE_SIZE) of the device; its
 * buffers are bd_block_size bytes and buffer i of page @index is device
 * block (index << (PAGE_SHIFT - bits)) + i, mapped 1:1 (blkdev_get_block).
 *
 * References: every buffer head handed out by pc___getblk/pc___bread holds
 * one b_count reference and one reference on its page (so the page stays
 * in memory and its ring cannot be freed); pc_brelse drops both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pagecache/buffer_head.h"
#include "pagecache/blkdev.h"
#include "pagecache/filemap.h"
#include "pagecache/writeback.h"
#include "buffer_internal.h"

/* ---- the 1:1 get_block of the device ---- */

/*
 * Map device block @iblock (units of bd_block_size) to itself. The device
 * is found through bh->b_page's mapping (the callers in this layer always
 * set b_page). Maps as many blocks as asked, up to the end of the device.
 * -EIO past the end of the device.
 */
static int blkdev_get_block(struct pc_inode *inode, pc_sector_t iblock, struct pc_buffer_head *bh,
			    int create)
{
	struct pc_block_device *bdev;
	unsigned bits;
	pc_sector_t nblocks, want;

	if (!bh->b_page || !bh->b_page->mapping || bh->b_page->mapping->host)
		return -EIO;
	bdev = pc_mapping_bdev(bh->b_page->mapping);
	bits = pc_ilog2_u(bdev->bd_block_size);
	nblocks = bdev->bd_size >> bits;
	if (iblock >= nblocks)
		return -EIO;
	want = bh->b_size >> bits;
	if (want == 0)
		want = 1;
	if (want > nblocks - iblock)
		want = nblocks - iblock;
	pc_map_bh(bh, bdev, iblock);
	bh->b_size = (size_t)want << bits;
	return 0;
}

static int blkdev_readpage(struct pc_file *file, struct pc_page *page)
{
	return pc_block_read_full_page(page, blkdev_get_block);
}

static int blkdev_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	return pc_block_write_full_page(page, blkdev_get_block, wbc);
}

static int blkdev_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			      unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	return pc_block_write_begin(mapping, pos, len, flags, pagep, blkdev_get_block);
}

static int blkdev_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			    unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	return pc_generic_write_end(file, mapping, pos, len, copied, page, fsdata);
}

const struct pc_address_space_operations pc_def_blk_aops = {
	.readpage = blkdev_readpage,
	.writepage = blkdev_writepage,
	.set_page_dirty = pc___set_page_dirty_buffers,
	.write_begin = blkdev_write_begin,
	.write_end = blkdev_write_end,
	.invalidatepage = pc_block_invalidatepage,
	.releasepage = pc_try_to_free_buffers,
};

/* ---- attach / detach / block size ---- */

int pc_bdev_attach_cache(struct pc_block_device *bdev, struct pc_cache *cache)
{
	char name[32];
	const char *base;
	int err;

	if (!bdev || !cache)
		return -EINVAL;
	if (bdev->bd_mapping_ready)
		return -EBUSY;
	if (bdev->bd_block_size < 512 || bdev->bd_block_size > PC_PAGE_SIZE ||
	    (bdev->bd_block_size & (bdev->bd_block_size - 1)))
		bdev->bd_block_size = 1024;

	base = bdev->bd_path ? strrchr(bdev->bd_path, '/') : NULL;
	base = base ? base + 1 : (bdev->bd_path ? bdev->bd_path : "bdev");
	snprintf(name, sizeof(name), "bdev:%s", base);
	err = pc_bdi_init(&bdev->bd_bdi, cache, name);
	if (err)
		return err;
	pc_address_space_init(&bdev->bd_mapping, NULL, cache, &pc_def_blk_aops, &bdev->bd_bdi);
	bdev->bd_mapping_ready = true;
	return 0;
}

void pc_bdev_detach_cache(struct pc_block_device *bdev)
{
	if (!bdev || !bdev->bd_mapping_ready)
		return;
	pc_sync_blockdev(bdev);
	pc_truncate_inode_pages(&bdev->bd_mapping, 0);
	bdev->bd_mapping_ready = false;
	pc_bdi_destroy(&bdev->bd_bdi);
	pc_address_space_destroy(&bdev->bd_mapping);
}

int pc_set_blocksize(struct pc_block_device *bdev, unsigned size)
{
	if (!bdev || size < 512 || size > PC_PAGE_SIZE || (size & (size - 1)))
		return -EINVAL;
	/* With O_DIRECT every I/O must be aligned to the logical block size. */
	if (bdev->bd_direct && size < bdev->bd_logical_block_size)
		return -EINVAL;
	if (size == bdev->bd_block_size)
		return 0;
	if (bdev->bd_mapping_ready) {
		pc_filemap_write_and_wait(&bdev->bd_mapping);
		pc_truncate_inode_pages(&bdev->bd_mapping, 0);
	}
	bdev->bd_block_size = size;
	return 0;
}

/* ---- getblk / bread / brelse ---- */

/* Map the not-yet-mapped buffers of a bdev page 1:1 (page locked). */
static void init_page_buffers(struct pc_page *page, struct pc_block_device *bdev, unsigned bits)
{
	struct pc_buffer_head *head = pc_page_buffers(page), *bh = head;
	pc_sector_t block = (pc_sector_t)page->index << (PC_PAGE_SHIFT - bits);
	bool uptodate = pc_PageUptodate(page);

	do {
		if (!pc_buffer_mapped(bh)) {
			pc_map_bh(bh, bdev, block);
			if (uptodate)
				pc_set_buffer_uptodate(bh);
		}
		block++;
		bh = bh->b_this_page;
	} while (bh != head);
}

struct pc_buffer_head *pc___getblk(struct pc_block_device *bdev, pc_sector_t block, int *err)
{
	struct pc_buffer_head *head, *bh;
	struct pc_page *page;
	unsigned bits, n;
	pc_pgoff_t index;

	if (!bdev || !bdev->bd_mapping_ready) {
		*err = -EINVAL;
		return NULL;
	}
	bits = pc_ilog2_u(bdev->bd_block_size);
	if (block >= (bdev->bd_size >> bits)) {
		*err = -EINVAL;
		return NULL;
	}
	index = (pc_pgoff_t)(block >> (PC_PAGE_SHIFT - bits));
	page = pc_find_or_create_page(&bdev->bd_mapping, index, 0);
	if (!page) {
		*err = -ENOMEM;
		return NULL;
	}

	if (pc_page_has_buffers(page) && pc_page_buffers(page)->b_size != bdev->bd_block_size &&
	    !pc_try_to_free_buffers(page)) {
		/* buffers of the old block size are still in use */
		pc_unlock_page(page);
		pc_put_page(page);
		*err = -EBUSY;
		return NULL;
	}
	head = pc_create_page_buffers(page, NULL, 0);
	if (!head) {
		pc_unlock_page(page);
		pc_put_page(page);
		*err = -ENOMEM;
		return NULL;
	}
	init_page_buffers(page, bdev, bits);

	bh = head;
	for (n = (unsigned)(block & ((1u << (PC_PAGE_SHIFT - bits)) - 1)); n; n--)
		bh = bh->b_this_page;
	pc_get_bh(bh);
	pc_unlock_page(page);
	/* the page reference from find_or_create_page now belongs to bh */
	*err = 0;
	return bh;
}

struct pc_buffer_head *pc___bread(struct pc_block_device *bdev, pc_sector_t block, int *err)
{
	struct pc_buffer_head *bh = pc___getblk(bdev, block, err);
	int ret;

	if (!bh)
		return NULL;
	if (pc_buffer_uptodate(bh))
		return bh;
	ret = pc_bh_read_sync(bh);
	if (ret) {
		pc_brelse(bh);
		*err = ret;
		return NULL;
	}
	return bh;
}

void pc_brelse(struct pc_buffer_head *bh)
{
	struct pc_page *page;

	if (!bh)
		return;
	page = bh->b_page;
	PC_BUG_ON(atomic_load(&bh->b_count) <= 0);
	pc_put_bh(bh);
	pc_put_page(page);
}

/* ---- aliases, boundary writes, sync ---- */

void pc_clean_bdev_aliases(struct pc_block_device *bdev, pc_sector_t block, pc_sector_t len)
{
	struct pc_address_space *mapping;
	struct pc_page *pages[16];
	unsigned bits, shift, n, i;
	pc_pgoff_t index, end_index;
	pc_sector_t end;

	if (!bdev || !bdev->bd_mapping_ready || !len)
		return;
	mapping = &bdev->bd_mapping;
	/* The common case on the data path: no metadata cached at all. */
	if (atomic_load_explicit(&mapping->nrpages, memory_order_relaxed) == 0)
		return;
	bits = pc_ilog2_u(bdev->bd_block_size);
	shift = PC_PAGE_SHIFT - bits;
	end = block + len;
	if (end < block)
		end = ~(pc_sector_t)0;
	index = (pc_pgoff_t)(block >> shift);
	end_index = (pc_pgoff_t)((end - 1) >> shift);

	while (index <= end_index) {
		n = pc_find_get_pages_range(mapping, &index, end_index, 16, pages);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			struct pc_page *page = pages[i];
			struct pc_buffer_head *head, *bh;
			pc_sector_t b;
			bool cleared = false;

			if (!pc_page_has_buffers(page) && !pc_PageUptodate(page) && !pc_PageDirty(page)) {
				/* nothing cached in it */
				pc_put_page(page);
				continue;
			}
			pc_lock_page(page);
			if (page->mapping != mapping) {
				pc_unlock_page(page);
				pc_put_page(page);
				continue;
			}
			head = pc_create_page_buffers(page, NULL, 0);
			if (!head) {
				/* No memory for buffers: a page without
				 * buffers is never written as a whole by the
				 * library, so drop its cached contents if it
				 * is clean (a stale alias must not be read). */
				if (!pc_PageDirty(page))
					pc_ClearPageUptodate(page);
				pc_unlock_page(page);
				pc_put_page(page);
				continue;
			}
			init_page_buffers(page, bdev, bits);
			b = (pc_sector_t)page->index << shift;
			bh = head;
			do {
				if (b >= block && b < end) {
					pc_clear_buffer_dirty(bh);
					/* a write of the old contents may be in
					 * flight: it must land before the data */
					pc_wait_on_buffer(bh);
					pc_clear_buffer_dirty(bh);
					pc_clear_buffer_uptodate(bh);
					pc_clear_buffer_req(bh);
					cleared = true;
				}
				b++;
				bh = bh->b_this_page;
			} while (bh != head);
			if (cleared)
				pc_ClearPageUptodate(page);
			pc_unlock_page(page);
			pc_put_page(page);
		}
		if (index == 0)
			break;	/* wrapped past the last index */
	}
}

void pc_write_boundary_block(struct pc_block_device *bdev, pc_sector_t block, unsigned blocksize)
{
	struct pc_address_space *mapping;
	struct pc_buffer_head *bh;
	struct pc_page *page;
	unsigned bits, n;

	if (!bdev || !bdev->bd_mapping_ready || blocksize != bdev->bd_block_size)
		return;
	mapping = &bdev->bd_mapping;
	if (atomic_load_explicit(&mapping->nrpages, memory_order_relaxed) == 0)
		return;
	bits = pc_ilog2_u(blocksize);
	block++;
	if (block >= (bdev->bd_size >> bits))
		return;
	page = pc_find_get_page(mapping, (pc_pgoff_t)(block >> (PC_PAGE_SHIFT - bits)));
	if (!page)
		return;
	/* Best effort and never blocking: we are in the middle of writeback. */
	if (pc_trylock_page(page)) {
		if (page->mapping == mapping && pc_page_has_buffers(page)) {
			bh = pc_page_buffers(page);
			for (n = (unsigned)(block & ((1u << (PC_PAGE_SHIFT - bits)) - 1)); n; n--)
				bh = bh->b_this_page;
			if (pc_buffer_dirty(bh) && pc_buffer_mapped(bh) && pc_buffer_uptodate(bh))
				pc_write_dirty_buffer_async(bh);
		}
		pc_unlock_page(page);
	}
	pc_put_page(page);
}

int pc_sync_blockdev(struct pc_block_device *bdev)
{
	int err = 0, err2;

	if (!bdev)
		return -EINVAL;
	if (bdev->bd_mapping_ready)
		err = pc_filemap_write_and_wait(&bdev->bd_mapping);
	if (bdev->bd_readonly)
		return err;
	err2 = pc_blkdev_issue_flush(bdev);
	return err ? err : err2;
}
