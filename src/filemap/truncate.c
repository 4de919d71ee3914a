/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/truncate.c - removing pages from the page cache: truncate,
 * hole punching and invalidation.
 *
 * Truncate runs with the inode lock held exclusive, after i_size was
 * changed, so no new page can appear past the new size through the write
 * path; readers that raced see the new i_size after their page lookup and
 * copy nothing past it (filemap.c, I6). Each page is locked, its writeback
 * waited for, its private data invalidated, its dirty state cancelled and
 * it is removed. Partial pages at the ends are zeroed in the cut range.
 */
#include <errno.h>
#include <limits.h>
#include <pagecache/filemap.h>
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>
#include "placeholder.h"

void pc_truncate_complete_page(struct pc_page *page)
{
	if (pc_PagePrivate(page))
		pc_do_invalidatepage(page, 0, PC_PAGE_SIZE);
	pc_cancel_dirty_page(page);
	pc_ClearPageMappedToDisk(page);
	pc_ClearPageUptodate(page);
	pc_delete_from_page_cache(page);
}

/* Zero [start, end) of a cached page and drop buffers fully inside it. */
static void truncate_partial_page(struct pc_address_space *mapping, pc_pgoff_t index, unsigned start,
				  unsigned end)
{
	struct pc_page *page = pc_find_lock_page(mapping, index);

	if (!page)
		return;
	pc_wait_on_page_writeback(page);
	pc_zero_user_segment(page, start, end);
	if (pc_PagePrivate(page))
		pc_do_invalidatepage(page, start, end - start);
	pc_unlock_page(page);
	pc_put_page(page);
}

PC_EXPORT void pc_truncate_inode_pages_range(struct pc_address_space *mapping, loff_t lstart,
					     loff_t lend)
{
	pc_pgoff_t start, end;	/* whole pages [start, end) */
	unsigned partial_start, partial_end;
	struct pc_pagevec pv;
	pc_pgoff_t index;

	/*
	 * Direct I/O still running in the range holds placeholders there: wait
	 * for it before removing pages, so that no page it lets a reader
	 * create after finishing escapes the removal, and before the caller
	 * frees blocks under it (seed 002). New direct I/O cannot start in the
	 * range: writers need the inode lock we hold, readers see the new
	 * i_size. The fence pairs with the one in pc_blockdev_direct_IO
	 * between inserting placeholders and reading i_size: either we see its
	 * placeholders or it sees our i_size (stored by the caller).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&mapping->nr_placeholders))
		pc_wait_on_placeholder_pages_range(mapping, (pc_pgoff_t)lstart >> PC_PAGE_SHIFT,
						   lend == -1 ? ~(pc_pgoff_t)0 : (pc_pgoff_t)lend >> PC_PAGE_SHIFT);
	if (!atomic_load(&mapping->nrpages))
		return;
	partial_start = lstart & ~PC_PAGE_MASK;
	start = (lstart + PC_PAGE_SIZE - 1) >> PC_PAGE_SHIFT;
	if (lend == -1) {
		end = ~(pc_pgoff_t)0;
		partial_end = 0;
	} else {
		end = (lend + 1) >> PC_PAGE_SHIFT;
		partial_end = (lend + 1) & ~PC_PAGE_MASK;
	}

	index = start;
	while (index < end) {
		if (!pc_pagevec_lookup_range_tag(&pv, mapping, &index, end - 1, -1))
			break;
		for (unsigned i = 0; i < pv.nr; i++) {
			struct pc_page *page = pv.pages[i];

			pc_lock_page(page);
			if (page->mapping != mapping || page->index >= end) {
				pc_unlock_page(page);
				continue;
			}
			pc_wait_on_page_writeback(page);
			pc_truncate_complete_page(page);
			pc_unlock_page(page);
		}
		pc_pagevec_release(&pv);
	}

	if (partial_start) {
		pc_pgoff_t pidx = start - 1;
		unsigned top = PC_PAGE_SIZE;
		if (start > end) {
			/* The range starts and ends inside one page. */
			top = partial_end;
		}
		truncate_partial_page(mapping, pidx, partial_start, top);
	}
	if (partial_end && !(partial_start && start > end))
		truncate_partial_page(mapping, end, 0, partial_end);
}

PC_EXPORT void pc_truncate_inode_pages(struct pc_address_space *mapping, loff_t lstart)
{
	pc_truncate_inode_pages_range(mapping, lstart, -1);
}

PC_EXPORT void pc_truncate_pagecache(struct pc_inode *inode, loff_t newsize)
{
	PC_ASSERT_INODE_LOCKED(inode);
	pc_truncate_inode_pages(inode->i_mapping, newsize);
}

PC_EXPORT void pc_truncate_setsize(struct pc_inode *inode, loff_t newsize)
{
	loff_t old = pc_i_size_read(inode);

	PC_ASSERT_INODE_LOCKED(inode);
	pc_i_size_write(inode, newsize);
	if (newsize > old) {
		/* Growing: the old EOF page's tail must read (and be written) as
		 * zeros; it already is (writeback and write_begin zero past EOF). */
		pc_truncate_partial_page(inode->i_mapping, old);
	}
	pc_truncate_pagecache(inode, newsize);
}

PC_EXPORT int pc_truncate_partial_page(struct pc_address_space *mapping, loff_t from)
{
	unsigned off = from & ~PC_PAGE_MASK;

	if (off)
		truncate_partial_page(mapping, from >> PC_PAGE_SHIFT, off, PC_PAGE_SIZE);
	return 0;
}

PC_EXPORT int pc_invalidate_inode_pages2_range(struct pc_address_space *mapping, pc_pgoff_t start,
					       pc_pgoff_t end)
{
	struct pc_pagevec pv;
	pc_pgoff_t index = start;
	int ret = 0;

	while (index <= end) {
		if (!pc_pagevec_lookup_range_tag(&pv, mapping, &index, end, -1))
			break;
		for (unsigned i = 0; i < pv.nr; i++) {
			struct pc_page *page = pv.pages[i];

			pc_lock_page(page);
			if (page->mapping != mapping) {
				pc_unlock_page(page);
				continue;
			}
			pc_wait_on_page_writeback(page);
			if (pc_PageDirty(page)) {
				int err = pc_write_one_page(page);	/* unlocks */
				if (err)
					ret = err;
				pc_lock_page(page);
				pc_wait_on_page_writeback(page);
				if (page->mapping != mapping) {
					pc_unlock_page(page);
					continue;
				}
			}
			if (pc_PageDirty(page) || (pc_PagePrivate(page) && !pc_try_to_release_page(page))) {
				ret = ret ? ret : -EBUSY;
				pc_unlock_page(page);
				continue;
			}
			pc_ClearPageUptodate(page);
			pc_delete_from_page_cache(page);
			pc_unlock_page(page);
		}
		pc_pagevec_release(&pv);
	}
	return ret;
}

PC_EXPORT unsigned long pc_invalidate_mapping_pages(struct pc_address_space *mapping, pc_pgoff_t start,
						    pc_pgoff_t end)
{
	struct pc_pagevec pv;
	pc_pgoff_t index = start;
	unsigned long count = 0;

	while (index <= end) {
		if (!pc_pagevec_lookup_range_tag(&pv, mapping, &index, end, -1))
			break;
		for (unsigned i = 0; i < pv.nr; i++) {
			struct pc_page *page = pv.pages[i];

			if (!pc_trylock_page(page))
				continue;
			if (page->mapping == mapping && !pc_PageDirty(page) && !pc_PageWriteback(page) &&
			    (!pc_PagePrivate(page) || pc_try_to_release_page(page))) {
				pc_delete_from_page_cache(page);
				count++;
			}
			pc_unlock_page(page);
		}
		pc_pagevec_release(&pv);
	}
	return count;
}
