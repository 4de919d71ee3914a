/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/filemap.c - the page cache proper and generic file I/O.
 *
 * Numbered invariants (every test defends one of them):
 *  I1. A page is in at most one mapping's tree, at index page->index, and
 *      the tree holds exactly one reference on it while it is there.
 *  I2. page->mapping changes only with the page locked: removal
 *      (pc_delete_from_page_cache, pc_remove_mapping) clears it under the
 *      tree lock; insertion (pc_filemap_add_page) sets it just before
 *      taking the tree lock, on a locked page nobody else can see yet, and
 *      a failed insertion clears it the same way.
 *  I3. PC_PG_writeback <=> WRITEBACK mark: both change together under the
 *      tree lock (pc_set_page_writeback, pc_end_page_writeback).
 *      DIRTY mark => PC_PG_dirty, but not the reverse: pc_set_page_dirty sets
 *      PC_PG_dirty first (atomically, no lock: pc_TestSetPageDirty) and sets the
 *      mark afterwards under the tree lock, only if the page is still in
 *      this mapping; every clear of PC_PG_dirty on a page in a mapping
 *      (pc_clear_page_dirty_for_io, pc_cancel_dirty_page, removal) clears
 *      the mark in the same tree-lock section. So a page may be seen
 *      PC_PG_dirty without its mark for a moment, never marked while clean.
 *      Pages outside any mapping change the bits alone. The pool's
 *      nr_dirty counts DIRTY marks set (and pages cleaned with the mark
 *      on), nr_writeback the PC_PG_writeback transitions; both are atomics.
 *  I4. A page leaves the cache only locked and not under writeback; it is
 *      cleaned as it leaves (truncate cancels the dirty state and clears
 *      PC_PG_dirty under the tree lock: dirty data in a truncated range is
 *      discarded). Reclaim (pc_remove_mapping) takes only clean pages and
 *      freezes the refcount from exactly 2 (tree + reclaim) to 0 so no
 *      lock-free lookup can resurrect the page.
 *  I5. PC_PG_uptodate is set only after the data is in the page (release).
 *      It is cleared only with the page locked: by truncate/invalidate as
 *      they remove the page, by a failed read (the page was not uptodate
 *      before), and where the page's contents are given up without
 *      removing it: the block device mapping dropping a clean stale alias
 *      (src/buffer/blkdev_aops.c) and ext4 discarding a delayed-allocation
 *      page whose blocks cannot be allocated. Lock-free readers copied
 *      data the page really held; the read fast path rechecks page->seq,
 *      which only removal bumps.
 *  I6. A reader copies only from an uptodate page and only bytes below the
 *      i_size it read after the page became uptodate: it never shows data
 *      past EOF or a page still being read.
 *  I7. No caller's buffer is copied while holding a lock the copy might
 *      need: write_begin locks the page, the copy is "atomic" (may stop
 *      short), write_end commits only what was copied.
 *
 * Page state machine (function behind each transition):
 *   free --pc_page_alloc--> allocated (ref 1)
 *   allocated --pc_add_to_page_cache_lru--> cached, locked, !uptodate
 *   cached !uptodate --readpage/readahead I/O end: pc_SetPageUptodate+unlock--> clean
 *   clean --write_end: pc_set_page_dirty--> dirty
 *   dirty --pc_clear_page_dirty_for_io + pc_set_page_writeback--> writeback
 *   writeback --pc_end_page_writeback--> clean (or dirty, if redirtied)
 *   clean --pc_delete_from_page_cache (truncate, invalidate)--> unhashed
 *           --last pc_put_page--> free
 *   clean --pc_remove_mapping (reclaim: refcount frozen to 0)--> free
 *           (src/mm/vmscan.c frees the frame at once)
 *
 * Lock order (outer first; docs/locking.md has the whole graph):
 *   inode i_rwsem -> page lock (ascending index) -> mapping->tree_lock.
 *   The tree lock is a leaf: nothing is taken inside it (the pool's
 *   lru_lock/free_lock are taken after it is dropped: pc_lru_cache_add,
 *   pc_put_page, pc_rotate_reclaimable_page; dirty/writeback accounting
 *   is atomic). The edges, with the function that creates each:
 *   pc_generic_perform_write: i_rwsem -> write_begin's page lock;
 *   write_cache_pages: page lock -> (writepage) filesystem lock;
 *   pc_remove_mapping, pc_delete_from_page_cache: page lock -> tree_lock;
 *   pc_set_page_dirty: page lock -> tree_lock, dropped; then
 *     pc___mark_inode_dirty: i_lock, dropped; then bdi list_lock (the
 *     three are never nested there).
 *   Debug builds assert the "tree lock held" contracts of the placeholder
 *   helpers and the "inode lock held" ones of the write and truncate paths
 *   (PC_ASSERT_HELD, pagecache/lock.h).
 */
#include <errno.h>
#include <unistd.h>
#include <limits.h>
#include <string.h>
#include "rcu_internal.h"
#include "placeholder.h"
#include <pagecache/filemap.h>
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>
#include <pagecache/buffer_head.h>

static bool filemap_remove_mapping_hook(struct pc_page *page);

PC_EXPORT void pc_address_space_init(struct pc_address_space *mapping, struct pc_inode *host,
				     struct pc_cache *cache,
				     const struct pc_address_space_operations *a_ops,
				     struct pc_backing_dev *bdi)
{
	static const struct pc_address_space_operations empty_aops;
	struct pc_cache_hooks hooks = { .remove_mapping = filemap_remove_mapping_hook };

	memset(mapping, 0, sizeof(*mapping));
	mapping->host = host;
	mapping->cache = cache;
	pc_page_tree_init(&mapping->tree);
	pc_mutex_init(&mapping->tree_lock);
	mapping->a_ops = a_ops ? a_ops : &empty_aops;
	mapping->bdi = bdi;
	if (cache)
		pc_cache_set_hooks(cache, &hooks);
}

PC_EXPORT void pc_address_space_destroy(struct pc_address_space *mapping)
{
	PC_BUG_ON(atomic_load(&mapping->nrpages) != 0);
	pc_page_tree_destroy(&mapping->tree);
	pc_mutex_destroy(&mapping->tree_lock);
}

PC_EXPORT void pc_pagevec_release(struct pc_pagevec *pv)
{
	for (unsigned i = 0; i < pv->nr; i++)
		pc_put_page(pv->pages[i]);
	pv->nr = 0;
}

PC_EXPORT void pc_zero_user_segment(struct pc_page *page, unsigned start, unsigned end)
{
	if (end > start)
		memset((char *)pc_page_address(page) + start, 0, end - start);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                            */
/* ------------------------------------------------------------------ */

PC_EXPORT struct pc_page *pc_find_get_page(struct pc_address_space *mapping, pc_pgoff_t index)
{
	struct pc_page *page;
	void *_Atomic *slot;

	pc_rcu_lock();
repeat:
	page = NULL;
	slot = pc_page_tree_lookup_slot(&mapping->tree, index);
	if (slot) {
		page = atomic_load_explicit(slot, memory_order_acquire);
		if (page) {
			if (pc_unlikely((uintptr_t)page & PC_TREE_ENTRY_SPECIAL)) {
				page = NULL;	/* placeholders are never returned */
			} else {
				if (!pc_page_get_speculative(page))
					goto repeat;
				if (pc_unlikely(page != atomic_load_explicit(slot, memory_order_acquire))) {
					pc_put_page(page);
					goto repeat;
				}
			}
		}
	}
	pc_rcu_unlock();
	return page;
}

PC_EXPORT bool pc_page_tagged(struct pc_address_space *mapping, pc_pgoff_t index, unsigned tag)
{
	bool r;
	pc_rcu_lock();
	r = pc_page_tree_tag_get(&mapping->tree, index, tag);
	pc_rcu_unlock();
	return r;
}

PC_EXPORT struct pc_page *pc_find_lock_page(struct pc_address_space *mapping, pc_pgoff_t index)
{
	struct pc_page *page;

	for (;;) {
		page = pc_find_get_page(mapping, index);
		if (!page) {
			struct pc_placeholder *ph = NULL;

			if (pc_likely(!atomic_load_explicit(&mapping->nr_placeholders,
							    memory_order_relaxed)))
				return NULL;
			/* A hole under someone's range lock: wait for it (seed 002). */
			pc_mutex_lock(&mapping->tree_lock);
			ph = pc_placeholder_covering(mapping, index);
			if (ph)
				pc_placeholder_get(ph);
			pc_mutex_unlock(&mapping->tree_lock);
			if (!ph)
				return NULL;
			pc_placeholder_wait_put(ph);
			continue;
		}
		pc_lock_page(page);
		if (pc_likely(page->mapping == mapping && page->index == index))
			return page;
		/* Truncated or reclaimed while we slept: look again. */
		pc_unlock_page(page);
		pc_put_page(page);
	}
}

PC_EXPORT struct pc_page *pc_find_or_create_page(struct pc_address_space *mapping, pc_pgoff_t index,
						 unsigned gfp)
{
	struct pc_page *page;
	int err;

	for (;;) {
		page = pc_find_lock_page(mapping, index);
		if (page)
			return page;
		page = pc_page_alloc(mapping->cache, gfp);
		if (!page)
			return NULL;
		pc_set_bit(PC_PG_locked, page);	/* new page: nobody else sees it */
		err = pc_add_to_page_cache_lru(page, mapping, index);
		if (!err)
			return page;
		pc_clear_bit(PC_PG_locked, page);
		pc_put_page(page);
		if (err != -EEXIST)
			return NULL;
	}
}

PC_EXPORT struct pc_page *pc_grab_cache_page_write_begin(struct pc_address_space *mapping,
							 pc_pgoff_t index, unsigned flags)
{
	struct pc_page *page;

	(void)flags;
	/* Fast path: the page is cached (rewrites, appends within a page). */
	page = pc_find_lock_page(mapping, index);
	if (!page)
		page = pc_find_or_create_page(mapping, index, 0);
	if (page)
		pc_wait_on_page_writeback(page);
	return page;
}

static unsigned find_get_entries(struct pc_address_space *mapping, pc_pgoff_t *start, pc_pgoff_t end,
				 int tag, unsigned nr, struct pc_page **pages)
{
	void *entries[PC_PAGEVEC_SIZE * 2];
	pc_pgoff_t idx[PC_PAGEVEC_SIZE * 2];
	unsigned got = 0, n;
	pc_pgoff_t next = *start;

	if (nr > PC_PAGEVEC_SIZE * 2)
		nr = PC_PAGEVEC_SIZE * 2;
	if (next > end)
		return 0;
	pc_rcu_lock();
	do {
		n = tag < 0 ? pc_page_tree_gang_lookup(&mapping->tree, next, end, entries, idx, nr)
			    : pc_page_tree_gang_lookup_tag(&mapping->tree, next, end, tag, entries,
							   idx, nr);
		for (unsigned i = 0; i < n; i++) {
			struct pc_page *page = entries[i];
			void *_Atomic *slot;

			if ((uintptr_t)page & PC_TREE_ENTRY_SPECIAL)
				continue;
			if (!pc_page_get_speculative(page))
				continue;	/* being freed: it is leaving the tree */
			slot = pc_page_tree_lookup_slot(&mapping->tree, idx[i]);
			if (!slot || atomic_load_explicit(slot, memory_order_acquire) != page) {
				pc_put_page(page);
				continue;
			}
			pages[got++] = page;
		}
		if (n) {
			if (idx[n - 1] == end) {
				/* The range is exhausted. With end == ~0 (a placeholder
				 * may sit in that slot) next must not wrap to 0. */
				next = end == ~(pc_pgoff_t)0 ? end : end + 1;
				break;
			}
			next = idx[n - 1] + 1;
		}
	} while (!got && n && next <= end);
	pc_rcu_unlock();
	*start = n ? next : end;
	return got;
}

PC_EXPORT unsigned pc_find_get_pages_range(struct pc_address_space *mapping, pc_pgoff_t *start,
					   pc_pgoff_t end, unsigned nr, struct pc_page **pages)
{
	return find_get_entries(mapping, start, end, -1, nr, pages);
}

PC_EXPORT unsigned pc_find_get_pages_range_tag(struct pc_address_space *mapping, pc_pgoff_t *index,
					       pc_pgoff_t end, unsigned tag, unsigned nr,
					       struct pc_page **pages)
{
	return find_get_entries(mapping, index, end, (int)tag, nr, pages);
}

PC_EXPORT unsigned pc_pagevec_lookup_range_tag(struct pc_pagevec *pv, struct pc_address_space *mapping,
					       pc_pgoff_t *start, pc_pgoff_t end, int tag)
{
	pv->nr = find_get_entries(mapping, start, end, tag, PC_PAGEVEC_SIZE, pv->pages);
	return pv->nr;
}

/*
 * SEEK_DATA/SEEK_HOLE over the cached pages of [start, end): pages come
 * referenced from the lock-free gang lookup, 32 at a time, in ascending
 * order; a gap between two of them (or before the first) is a hole.
 */
PC_EXPORT loff_t pc_mapping_seek_hole_data(struct pc_address_space *mapping, loff_t start,
					   loff_t end, int whence, unsigned long data_flags)
{
	struct pc_page *pages[PC_PAGEVEC_SIZE];
	pc_pgoff_t index, last;
	loff_t pos = start, found = -1;
	unsigned nr;

	if (start < 0 || start >= end)
		return end;
	if (!atomic_load_explicit(&mapping->nrpages, memory_order_relaxed))
		return whence == SEEK_HOLE ? start : end;
	index = (pc_pgoff_t)start >> PC_PAGE_SHIFT;
	last = (pc_pgoff_t)(end - 1) >> PC_PAGE_SHIFT;
	while (found < 0 && index <= last &&
	       (nr = pc_find_get_pages_range(mapping, &index, last, PC_PAGEVEC_SIZE, pages)) > 0) {
		for (unsigned i = 0; i < nr; i++) {
			struct pc_page *page = pages[i];
			/* Referenced, so never reused; truncate may be taking it
			 * out of the mapping meanwhile (a racy, atomic read). */
			loff_t pstart = (loff_t)__atomic_load_n(&page->index, __ATOMIC_RELAXED)
					<< PC_PAGE_SHIFT;
			loff_t pend = pstart + PC_PAGE_SIZE;
			bool data = __atomic_load_n(&page->mapping, __ATOMIC_RELAXED) == mapping &&
				    (atomic_load_explicit(&page->flags, memory_order_acquire) & data_flags);

			if (found < 0) {
				if (pstart < pos)
					pstart = pos;
				if (whence == SEEK_DATA) {
					if (data)
						found = pstart;
				} else if (pstart > pos || !data) {
					found = pstart > pos ? pos : pstart;
				} else {
					pos = pend;
				}
			}
			pc_put_page(page);
		}
		if (index == 0)
			break;		/* wrapped past the last index */
	}
	if (found < 0)
		found = whence == SEEK_DATA ? end : pos;
	return found < start ? start : found > end ? end : found;
}

/* ------------------------------------------------------------------ */
/* Insertion and removal                                              */
/* ------------------------------------------------------------------ */

int pc_filemap_add_page(struct pc_page *page, struct pc_address_space *mapping, pc_pgoff_t index,
			bool wait)
{
	int err;

	PC_BUG_ON(!pc_PageLocked(page));
	pc_get_page(page);		/* the tree's reference */
	page->mapping = mapping;
	page->index = index;
	for (;;) {
		struct pc_placeholder *ph = NULL;

		pc_mutex_lock(&mapping->tree_lock);
		/* P2: never instantiate a page under someone's range lock. */
		if (pc_unlikely(atomic_load_explicit(&mapping->nr_placeholders, memory_order_relaxed)))
			ph = pc_placeholder_covering(mapping, index);
		if (ph) {
			err = -EEXIST;
			if (wait)
				pc_placeholder_get(ph);
		} else {
			err = pc_page_tree_insert(&mapping->tree, index, page);
			if (!err)
				atomic_fetch_add(&mapping->nrpages, 1);
		}
		pc_mutex_unlock(&mapping->tree_lock);
		if (!ph || !wait)
			break;
		pc_placeholder_wait_put(ph);
	}
	if (err) {
		page->mapping = NULL;
		atomic_fetch_sub(&page->refcount, 1);
		return err;
	}
	pc_lru_cache_add(page);
	return 0;
}

PC_EXPORT int pc_add_to_page_cache_lru(struct pc_page *page, struct pc_address_space *mapping,
				       pc_pgoff_t index)
{
	return pc_filemap_add_page(page, mapping, index, true);
}

static void account_clean(struct pc_address_space *mapping, struct pc_page *page)
{
	if (pc_TestClearPageDirty(page))
		pc_cache_account_dirty(mapping->cache, -1);
}

PC_EXPORT void pc_delete_from_page_cache(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!mapping)
		return;
	pc_mutex_lock(&mapping->tree_lock);
	pc_page_tree_delete(&mapping->tree, page->index);
	atomic_fetch_add_explicit(&page->seq, 1, memory_order_release);
	page->mapping = NULL;
	atomic_fetch_sub(&mapping->nrpages, 1);
	account_clean(mapping, page);
	pc_mutex_unlock(&mapping->tree_lock);
	pc_put_page(page);		/* the tree's reference */
}

PC_EXPORT bool pc_try_to_release_page(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	PC_BUG_ON(!pc_PageLocked(page));
	if (pc_PageWriteback(page))
		return false;
	if (mapping && mapping->a_ops->releasepage)
		return mapping->a_ops->releasepage(page);
	return pc_try_to_free_buffers(page);
}

PC_EXPORT void pc_do_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	struct pc_address_space *mapping = page->mapping;

	if (mapping && mapping->a_ops->invalidatepage)
		mapping->a_ops->invalidatepage(page, offset, length);
	else if (pc_PagePrivate(page))
		pc_block_invalidatepage(page, offset, length);
}

PC_EXPORT bool pc_remove_mapping(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!mapping || pc_PageDirty(page) || pc_PageWriteback(page))
		return false;
	if (pc_PagePrivate(page) && !pc_try_to_release_page(page))
		return false;
	pc_mutex_lock(&mapping->tree_lock);
	/* Only the tree and our caller may hold references (I4). */
	if (pc_PageDirty(page) || !pc_page_ref_freeze(page, 2)) {
		pc_mutex_unlock(&mapping->tree_lock);
		return false;
	}
	pc_page_tree_delete(&mapping->tree, page->index);
	atomic_fetch_add_explicit(&page->seq, 1, memory_order_release);
	page->mapping = NULL;
	atomic_fetch_sub(&mapping->nrpages, 1);
	pc_mutex_unlock(&mapping->tree_lock);
	return true;
}

static bool filemap_remove_mapping_hook(struct pc_page *page)
{
	return pc_remove_mapping(page);
}

/* ------------------------------------------------------------------ */
/* Dirty and writeback state                                          */
/* ------------------------------------------------------------------ */

void pc_bdi_mark_mapping_dirty(struct pc_backing_dev *bdi, struct pc_address_space *mapping);

PC_EXPORT bool pc___set_page_dirty_nobuffers(struct pc_page *page)
{
	struct pc_address_space *mapping;

	if (pc_TestSetPageDirty(page))
		return false;
	mapping = page->mapping;
	if (!mapping)
		return true;
	pc_mutex_lock(&mapping->tree_lock);
	if (page->mapping == mapping) {
		pc_page_tree_tag_set(&mapping->tree, page->index, PC_TAG_DIRTY);
		pc_cache_account_dirty(mapping->cache, 1);
	}
	pc_mutex_unlock(&mapping->tree_lock);
	if (mapping->host)
		pc___mark_inode_dirty(mapping->host, PC_I_DIRTY_PAGES);
	else if (mapping->bdi)
		pc_bdi_mark_mapping_dirty(mapping->bdi, mapping);
	return true;
}

PC_EXPORT bool pc_set_page_dirty(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	if (mapping && mapping->a_ops->set_page_dirty)
		return mapping->a_ops->set_page_dirty(page);
	return pc___set_page_dirty_nobuffers(page);
}

PC_EXPORT bool pc_clear_page_dirty_for_io(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!pc_PageDirty(page))
		return false;
	if (!mapping)
		return pc_TestClearPageDirty(page);
	pc_mutex_lock(&mapping->tree_lock);
	bool was = pc_TestClearPageDirty(page);
	if (was) {
		pc_page_tree_tag_clear(&mapping->tree, page->index, PC_TAG_DIRTY);
		pc_cache_account_dirty(mapping->cache, -1);
	}
	pc_mutex_unlock(&mapping->tree_lock);
	return was;
}

PC_EXPORT void pc_redirty_page_for_writepage(struct pc_writeback_control *wbc, struct pc_page *page)
{
	if (wbc)
		wbc->pages_skipped++;
	pc_set_page_dirty(page);
}

PC_EXPORT void pc_cancel_dirty_page(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	if (!pc_PageDirty(page))
		return;
	if (!mapping) {
		pc_ClearPageDirty(page);
		return;
	}
	pc_mutex_lock(&mapping->tree_lock);
	if (pc_TestClearPageDirty(page)) {
		pc_page_tree_tag_clear(&mapping->tree, page->index, PC_TAG_DIRTY);
		pc_cache_account_dirty(mapping->cache, -1);
	}
	pc_mutex_unlock(&mapping->tree_lock);
}

PC_EXPORT void pc_set_page_writeback(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!mapping) {
		if (!pc_TestSetPageWriteback(page))
			pc_cache_account_writeback(page->cache, 1);
		return;
	}
	pc_mutex_lock(&mapping->tree_lock);
	if (!pc_TestSetPageWriteback(page)) {
		pc_page_tree_tag_set(&mapping->tree, page->index, PC_TAG_WRITEBACK);
		pc_cache_account_writeback(mapping->cache, 1);
	}
	pc_page_tree_tag_clear(&mapping->tree, page->index, PC_TAG_TOWRITE);
	pc_mutex_unlock(&mapping->tree_lock);
}

PC_EXPORT void pc_end_page_writeback(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;
	unsigned long old;

	if (mapping) {
		pc_mutex_lock(&mapping->tree_lock);
		old = atomic_fetch_and(&page->flags, ~(1UL << PC_PG_writeback));
		pc_page_tree_tag_clear(&mapping->tree, page->index, PC_TAG_WRITEBACK);
		pc_mutex_unlock(&mapping->tree_lock);
	} else {
		old = atomic_fetch_and(&page->flags, ~(1UL << PC_PG_writeback));
	}
	if (!(old & (1UL << PC_PG_writeback)))
		return;
	pc_cache_account_writeback(page->cache, -1);
	pc_cache_count(page->cache, PC_STAT_WRITTEN, 1);
	if (old & (1UL << PC_PG_waiters))
		pc_wake_up_page_bit(page, PC_PG_writeback);
	pc_rotate_reclaimable_page(page);
}

PC_EXPORT void pc_mapping_set_error(struct pc_address_space *mapping, int err)
{
	if (!mapping || !err)
		return;
	pc_errseq_set(&mapping->wb_err, err);
	if (mapping->host && mapping->host->i_sb)
		pc_errseq_set(&mapping->host->i_sb->s_wb_err, err);
}

/* ------------------------------------------------------------------ */
/* Range writeback and waiting                                        */
/* ------------------------------------------------------------------ */

PC_EXPORT int pc_filemap_fdatawrite_range(struct pc_address_space *mapping, loff_t start, loff_t end,
					  int sync_mode)
{
	struct pc_writeback_control wbc = {
		.nr_to_write = LONG_MAX,
		.range_start = start,
		.range_end = end,
		.sync_mode = sync_mode,
	};

	if (!atomic_load(&mapping->nrpages) || !pc_page_tree_tagged(&mapping->tree, PC_TAG_DIRTY))
		return 0;
	return pc_do_writepages(mapping, &wbc);
}

PC_EXPORT int pc_filemap_fdatawait_range(struct pc_address_space *mapping, loff_t start, loff_t end)
{
	pc_pgoff_t index = start >> PC_PAGE_SHIFT;
	pc_pgoff_t last = end >> PC_PAGE_SHIFT;
	struct pc_pagevec pv;
	int err = 0;

	if (end < start)
		return 0;
	while (index <= last && pc_page_tree_tagged(&mapping->tree, PC_TAG_WRITEBACK)) {
		if (!pc_pagevec_lookup_range_tag(&pv, mapping, &index, last, PC_TAG_WRITEBACK))
			break;
		for (unsigned i = 0; i < pv.nr; i++) {
			pc_wait_on_page_writeback(pv.pages[i]);
			/* Report a page's failed write once; the mapping's errseq
			 * keeps it for every opener. */
			if (pc_TestClearPageError(pv.pages[i]))
				err = -EIO;
		}
		pc_pagevec_release(&pv);
	}
	return err;
}

PC_EXPORT int pc_filemap_write_and_wait_range(struct pc_address_space *mapping, loff_t start,
					      loff_t end)
{
	/* Errors recorded from now on (the raw value: an older error nobody
	 * has seen yet must not be reported again by every later call; it
	 * stays for fsync, which reports once per open file). */
	uint32_t since = atomic_load(&mapping->wb_err);
	int err, err2;

	err = pc_filemap_fdatawrite_range(mapping, start, end, PC_WB_SYNC_ALL);
	err2 = pc_filemap_fdatawait_range(mapping, start, end);
	if (!err)
		err = err2;
	if (!err)
		err = pc_errseq_check(&mapping->wb_err, since);
	return err;
}

PC_EXPORT int pc_filemap_write_and_wait(struct pc_address_space *mapping)
{
	return pc_filemap_write_and_wait_range(mapping, 0, LLONG_MAX);
}

PC_EXPORT int pc_file_check_and_advance_wb_err(struct pc_file *file)
{
	return pc_errseq_check_and_advance(&file->f_mapping->wb_err, &file->f_wb_err);
}

PC_EXPORT int pc_file_write_and_wait_range(struct pc_file *file, loff_t start, loff_t end)
{
	struct pc_address_space *mapping = file->f_mapping;
	int err, err2;

	err = pc_filemap_fdatawrite_range(mapping, start, end, PC_WB_SYNC_ALL);
	if (err != -EIO) {
		err2 = pc_filemap_fdatawait_range(mapping, start, end);
		if (!err && err2 != -EIO)
			err = err2;
	}
	/* Report writeback errors once per open file (errseq), whichever
	 * writer met them. -EIO from this call is also recorded there. */
	err2 = pc_file_check_and_advance_wb_err(file);
	return err2 ? err2 : (err == -EIO ? 0 : err);
}

/* ------------------------------------------------------------------ */
/* Reading                                                            */
/* ------------------------------------------------------------------ */

/* Read @page (locked, not uptodate) with readpage and wait for it. 0 or -EIO. */
static int read_page_sync(struct pc_file *file, struct pc_address_space *mapping,
			  struct pc_page *page)
{
	int err;

	pc_ClearPageError(page);
	err = mapping->a_ops->readpage(file, page);
	if (err)
		return err == PC_AOP_TRUNCATED_PAGE ? -EAGAIN : err;
	pc_wait_on_page_locked(page);
	if (pc_PageUptodate(page))
		return 0;
	/* Truncated while we waited (truncate clears uptodate): look again. */
	if (!__atomic_load_n(&page->mapping, __ATOMIC_RELAXED))
		return -EAGAIN;
	return -EIO;
}

/*
 * Make @page (referenced) uptodate. Returns 0, -EAGAIN if the page was
 * truncated meanwhile (caller looks it up again), or -EIO.
 */
static int filemap_update_page(struct pc_file *file, struct pc_address_space *mapping,
			       struct pc_page *page)
{
	pc_wait_on_page_locked(page);	/* readahead I/O in flight */
	if (pc_PageUptodate(page))
		return 0;
	pc_lock_page(page);
	if (!page->mapping) {
		pc_unlock_page(page);
		return -EAGAIN;
	}
	if (pc_PageUptodate(page)) {
		pc_unlock_page(page);
		return 0;
	}
	return read_page_sync(file, mapping, page);
}

/* Bytes readable from @offset in page @index given the current i_size; 0 at
 * or past EOF. Read i_size only after the page was seen uptodate (I6). */
static inline unsigned long page_read_len(struct pc_inode *inode, pc_pgoff_t index, unsigned offset)
{
	loff_t isize = pc_i_size_read(inode);
	pc_pgoff_t end_index;
	unsigned long nr = PC_PAGE_SIZE;

	if (!isize)
		return 0;
	end_index = (isize - 1) >> PC_PAGE_SHIFT;
	if (index > end_index)
		return 0;
	if (index == end_index)
		nr = ((isize - 1) & ~PC_PAGE_MASK) + 1;
	return nr > offset ? nr - offset : 0;
}

/*
 * The read fast path: copy from a cached, uptodate page WITHOUT taking a
 * reference, so concurrent readers of the same pages write no shared
 * cache line. Frames are type-stable (never unmapped), so the copy is
 * always from valid memory; it is kept only if the page's @seq did not
 * move while copying, i.e. the page stayed in this mapping at this index
 * the whole time (every removal from a tree bumps @seq). Returns bytes
 * copied, (unsigned long)-1 at EOF, or 0 to take the slow path (absent, not
 * uptodate, readahead marker, a removal raced, or a short copy).
 */
static unsigned long read_page_fast(struct pc_address_space *mapping, struct pc_inode *inode,
				    pc_pgoff_t index, unsigned offset, struct pc_iov_iter *iter)
{
	void *_Atomic *slot;
	struct pc_page *page;
	unsigned long nr, ret = 0;
	unsigned seq;

	pc_rcu_lock();
	slot = pc_page_tree_lookup_slot(&mapping->tree, index);
	if (!slot)
		goto out;
	page = atomic_load_explicit(slot, memory_order_acquire);
	if (!page || ((uintptr_t)page & PC_TREE_ENTRY_SPECIAL))
		goto out;
	seq = atomic_load_explicit(&page->seq, memory_order_acquire);
	{
		unsigned long f = atomic_load_explicit(&page->flags, memory_order_acquire);
		if ((f & ((1UL << PC_PG_uptodate) | (1UL << PC_PG_readahead))) != (1UL << PC_PG_uptodate))
			goto out;
	}
	if (__atomic_load_n(&page->mapping, __ATOMIC_RELAXED) != mapping ||
	    __atomic_load_n(&page->index, __ATOMIC_RELAXED) != index)
		goto out;
	/* i_size after the page was seen uptodate (I6). */
	nr = page_read_len(inode, index, offset);
	if (!nr) {
		ret = (unsigned long)-1;
		goto out;
	}
	ret = pc_copy_page_to_iter(page, offset, nr, iter);
	atomic_thread_fence(memory_order_acquire);
	if (pc_unlikely(atomic_load_explicit(&page->seq, memory_order_relaxed) != seq || ret < nr)) {
		pc_iov_iter_revert(iter, ret);
		ret = 0;
		goto out;
	}
	pc_cache_count(mapping->cache, PC_STAT_HIT, 1);
out:
	pc_rcu_unlock();
	return ret;
}

/* mark_page_accessed for a page found by the fast path (no reference held:
 * look it up again with one; a page that left meanwhile needs no aging). */
static void pc_mark_page_accessed_nolock(struct pc_address_space *mapping, pc_pgoff_t index)
{
	struct pc_page *page;
	unsigned long f;

	pc_rcu_lock();
	page = pc_page_tree_lookup(&mapping->tree, index);
	if (page && !((uintptr_t)page & PC_TREE_ENTRY_SPECIAL)) {
		f = atomic_load_explicit(&page->flags, memory_order_relaxed);
		if ((f & (1UL << PC_PG_referenced)) && (f & (1UL << PC_PG_active))) {
			pc_rcu_unlock();
			return;		/* hot page: nothing to write */
		}
	}
	pc_rcu_unlock();
	page = pc_find_get_page(mapping, index);
	if (page) {
		pc_mark_page_accessed(page);
		pc_put_page(page);
	}
}

/*
 * The slow path of a read: the page at @index, referenced and uptodate,
 * after starting readahead as needed (none if @ra is NULL). NULL with *@err set: -EAGAIN (the
 * page was truncated meanwhile: look again), -ENOMEM, -EIO.
 */
static struct pc_page *read_get_page(struct pc_file *file, struct pc_address_space *mapping,
				     struct pc_file_ra_state *ra, pc_pgoff_t index, pc_pgoff_t last_index,
				     int *err)
{
	struct pc_page *page = pc_find_get_page(mapping, index);

	if (!page) {
		if (ra) {
			pc_page_cache_sync_readahead(mapping, ra, file, index, last_index - index);
			page = pc_find_get_page(mapping, index);
		}
		if (!page) {
			/* Readahead could not allocate: read this one page. */
			page = pc_find_or_create_page(mapping, index, 0);
			if (!page) {
				*err = -ENOMEM;
				return NULL;
			}
			if (pc_PageUptodate(page)) {
				pc_unlock_page(page);
				return page;
			}
			pc_cache_count(mapping->cache, PC_STAT_MISS, 1);
			*err = read_page_sync(file, mapping, page);
			goto check;
		}
	}
	if (pc_unlikely(pc_PageReadahead(page)) && ra)
		pc_page_cache_async_readahead(mapping, ra, file, page, index, last_index - index);
	if (pc_likely(pc_PageUptodate(page))) {
		pc_cache_count(mapping->cache, PC_STAT_HIT, 1);
		return page;
	}
	pc_cache_count(mapping->cache, PC_STAT_MISS, 1);
	*err = filemap_update_page(file, mapping, page);
check:
	if (*err) {
		pc_put_page(page);
		return NULL;
	}
	return page;
}

PC_EXPORT ssize_t pc_generic_file_read_iter(struct pc_kiocb *iocb, struct pc_iov_iter *iter)
{
	struct pc_file *file = iocb->ki_filp;
	struct pc_address_space *mapping = file->f_mapping;
	struct pc_inode *inode = mapping->host;
	struct pc_file_ra_state *ra = &file->f_ra;
	loff_t pos = iocb->ki_pos;
	ssize_t copied = 0;
	int error = 0;
	pc_pgoff_t index, last_index, prev_index;
	unsigned offset, prev_offset;

	if (!pc_iov_iter_count(iter))
		return 0;
	if (pos < 0)
		return -EINVAL;
	if ((iocb->ki_flags & PC_IOCB_DIRECT) && mapping->a_ops->direct_IO) {
		ssize_t ret = mapping->a_ops->direct_IO(iocb, iter);

		if (ret > 0)
			iocb->ki_pos += ret;
		return ret;
	}

	index = pos >> PC_PAGE_SHIFT;
	offset = pos & ~PC_PAGE_MASK;
	last_index = (pos + pc_iov_iter_count(iter) + PC_PAGE_SIZE - 1) >> PC_PAGE_SHIFT;
	/* The readahead state is a hint shared by every reader of this open
	 * file: racy updates only make readahead less precise. */
	loff_t prev_pos = __atomic_load_n(&ra->prev_pos, __ATOMIC_RELAXED);
	if (prev_pos >= 0) {
		prev_index = prev_pos >> PC_PAGE_SHIFT;
		prev_offset = prev_pos & ~PC_PAGE_MASK;
	} else {
		prev_index = ~(pc_pgoff_t)0;
		prev_offset = 0;
	}

	for (;;) {
		struct pc_page *page;
		unsigned long nr, ret;

		if (pc_i_size_read(inode) <= ((loff_t)index << PC_PAGE_SHIFT) + offset)
			break;
		ret = read_page_fast(mapping, inode, index, offset, iter);
		if (ret == (unsigned long)-1)
			break;		/* at EOF */
		if (pc_likely(ret)) {
			if (prev_index != index || offset != prev_offset)
				pc_mark_page_accessed_nolock(mapping, index);
		} else {
			/* The slow path may read from the device: a long read
			 * stops here when asked (fatal_signal_pending). */
			if (pc_unlikely(pc_interrupted())) {
				error = -EINTR;
				break;
			}
			page = read_get_page(file, mapping, ra, index, last_index, &error);
			if (pc_unlikely(!page)) {
				if (error == -EAGAIN) {
					error = 0;	/* truncated meanwhile: look again */
					continue;
				}
				break;
			}
			/* i_size must be read after the page is uptodate (I6). */
			nr = page_read_len(inode, index, offset);
			if (pc_unlikely(!nr)) {
				pc_put_page(page);
				break;
			}
			if (prev_index != index || offset != prev_offset)
				pc_mark_page_accessed(page);
			ret = pc_copy_page_to_iter(page, offset, nr, iter);
			pc_put_page(page);
			if (ret < nr)
				error = -EFAULT;
		}
		prev_index = index;
		offset += ret;
		index += offset >> PC_PAGE_SHIFT;
		offset &= ~PC_PAGE_MASK;
		prev_offset = offset;
		copied += ret;
		if (!pc_iov_iter_count(iter) || error)
			break;
	}
	if (prev_index != ~(pc_pgoff_t)0)
		__atomic_store_n(&ra->prev_pos, (loff_t)(prev_index << PC_PAGE_SHIFT) | prev_offset,
				 __ATOMIC_RELAXED);
	iocb->ki_pos += copied;
	return copied ? copied : error;
}

PC_EXPORT struct pc_page *pc_read_mapping_page(struct pc_address_space *mapping, pc_pgoff_t index,
					       struct pc_file *file, int *err)
{
	struct pc_page *page;

	do {
		page = read_get_page(file, mapping, NULL, index, index + 1, err);
	} while (!page && *err == -EAGAIN);
	return page;
}

/* ------------------------------------------------------------------ */
/* Writing (seeds 001, 004)                                           */
/* ------------------------------------------------------------------ */

PC_EXPORT int pc_pagecache_write_begin(struct pc_file *file, struct pc_address_space *mapping,
				       loff_t pos, unsigned len, unsigned flags,
				       struct pc_page **pagep, void **fsdata)
{
	return mapping->a_ops->write_begin(file, mapping, pos, len, flags, pagep, fsdata);
}

PC_EXPORT int pc_pagecache_write_end(struct pc_file *file, struct pc_address_space *mapping,
				     loff_t pos, unsigned len, unsigned copied,
				     struct pc_page *page, void *fsdata)
{
	return mapping->a_ops->write_end(file, mapping, pos, len, copied, page, fsdata);
}

PC_EXPORT ssize_t pc_generic_perform_write(struct pc_file *file, struct pc_iov_iter *i, loff_t pos)
{
	struct pc_address_space *mapping = file->f_mapping;
	const struct pc_address_space_operations *a_ops = mapping->a_ops;
	ssize_t written = 0;
	long status = 0;
	unsigned flags = 0;

	if (mapping->host)
		PC_ASSERT_INODE_LOCKED(mapping->host);
	do {
		struct pc_page *page;
		void *fsdata = NULL;
		unsigned long offset = pos & ~PC_PAGE_MASK;
		unsigned long bytes = PC_MIN(PC_PAGE_SIZE - offset, pc_iov_iter_count(i));
		size_t copied;

again:
		/*
		 * Fault the source in before locking the page: copying from a
		 * buffer that needs this very page would deadlock (I7). The
		 * copy below may still come up short; that is handled.
		 */
		if (pc_unlikely(pc_iov_iter_fault_in_readable(i, bytes))) {
			status = -EFAULT;
			break;
		}
		status = a_ops->write_begin(file, mapping, pos, bytes, flags, &page, &fsdata);
		if (pc_unlikely(status < 0))
			break;
		copied = pc_copy_page_from_iter_atomic(page, offset, bytes, i);
		status = a_ops->write_end(file, mapping, pos, bytes, copied, page, fsdata);
		if (pc_unlikely(status < 0))
			break;
		copied = status;
		pc_iov_iter_advance(i, copied);
		if (pc_unlikely(copied == 0)) {
			/*
			 * Nothing was committed (short copy into a page that was
			 * not uptodate). Retry with at most one segment, which
			 * fault_in_readable can guarantee, so we cannot livelock
			 * on a multi-segment write whose later segment faults.
			 */
			bytes = PC_MIN(PC_PAGE_SIZE - offset, pc_iov_iter_single_seg_count(i));
			goto again;
		}
		pos += copied;
		written += copied;
		pc_balance_dirty_pages_ratelimited(mapping);
	} while (pc_iov_iter_count(i));

	return written ? written : status;
}

PC_EXPORT ssize_t pc_generic_write_checks(struct pc_kiocb *iocb, struct pc_iov_iter *from)
{
	struct pc_inode *inode = iocb->ki_filp->f_mapping->host;
	loff_t maxbytes = inode->i_sb ? inode->i_sb->s_maxbytes : LLONG_MAX;
	size_t count = pc_iov_iter_count(from);

	PC_ASSERT_INODE_LOCKED(inode);
	if (!count)
		return 0;
	if (iocb->ki_flags & PC_IOCB_APPEND)
		iocb->ki_pos = pc_i_size_read(inode);
	if (iocb->ki_pos < 0)
		return -EINVAL;
	if (iocb->ki_pos >= maxbytes)
		return -EFBIG;
	if ((loff_t)count > maxbytes - iocb->ki_pos)
		pc_iov_iter_truncate(from, maxbytes - iocb->ki_pos);
	return pc_iov_iter_count(from);
}

PC_EXPORT ssize_t pc___generic_file_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from)
{
	struct pc_file *file = iocb->ki_filp;
	struct pc_address_space *mapping = file->f_mapping;
	ssize_t written;

	PC_ASSERT_INODE_LOCKED(mapping->host);
	pc_inode_touch(mapping->host, PC_ATTR_MTIME | PC_ATTR_CTIME);
	if ((iocb->ki_flags & PC_IOCB_DIRECT) && mapping->a_ops->direct_IO) {
		/* Direct write (direct-io.h): may drop and re-take the inode lock. */
		written = mapping->a_ops->direct_IO(iocb, from);
		if (written > 0)
			iocb->ki_pos += written;
		return written;
	}
	written = pc_generic_perform_write(file, from, iocb->ki_pos);
	if (written > 0)
		iocb->ki_pos += written;
	return written;
}

PC_EXPORT ssize_t pc_generic_write_sync(struct pc_kiocb *iocb, ssize_t count)
{
	struct pc_file *file = iocb->ki_filp;
	int err;

	if (count <= 0 || !(iocb->ki_flags & (PC_IOCB_DSYNC | PC_IOCB_SYNC)))
		return count;
	if (file->f_op && file->f_op->fsync)
		err = file->f_op->fsync(file, iocb->ki_pos - count, iocb->ki_pos - 1,
					!(iocb->ki_flags & PC_IOCB_SYNC));
	else
		err = pc_file_write_and_wait_range(file, iocb->ki_pos - count, iocb->ki_pos - 1);
	return err ? err : count;
}

PC_EXPORT ssize_t pc_generic_file_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from)
{
	struct pc_inode *inode = iocb->ki_filp->f_mapping->host;
	ssize_t ret;

	pc_inode_lock(inode);
	ret = pc_generic_write_checks(iocb, from);
	if (ret > 0)
		ret = pc___generic_file_write_iter(iocb, from);
	pc_inode_unlock(inode);
	if (ret > 0)
		ret = pc_generic_write_sync(iocb, ret);
	return ret;
}

/* ---- memory filesystems (seed 001's simple_write_begin/end) ---- */

PC_EXPORT int pc_simple_readpage(struct pc_file *file, struct pc_page *page)
{
	(void)file;
	memset(pc_page_address(page), 0, PC_PAGE_SIZE);
	pc_SetPageUptodate(page);
	pc_unlock_page(page);
	return 0;
}

PC_EXPORT int pc_simple_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				    unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata)
{
	struct pc_page *page;
	unsigned from = pos & ~PC_PAGE_MASK;

	(void)file;
	(void)fsdata;
	page = pc_grab_cache_page_write_begin(mapping, pos >> PC_PAGE_SHIFT, flags);
	if (!page)
		return -ENOSPC;		/* the pool is full of pinned/dirty memory pages */
	*pagep = page;
	if (!pc_PageUptodate(page) && len != PC_PAGE_SIZE) {
		/* Only the parts we will not write need zeroing. */
		pc_zero_user_segment(page, 0, from);
		pc_zero_user_segment(page, from + len, PC_PAGE_SIZE);
	}
	return 0;
}

PC_EXPORT int pc_simple_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				  unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_inode *inode = mapping->host;
	loff_t last_pos = pos + copied;

	(void)file;
	(void)fsdata;
	if (!pc_PageUptodate(page)) {
		/* Zero the part a short copy left stale; the rest was zeroed
		 * in write_begin, so the whole page is now valid. */
		if (copied < len)
			pc_zero_user_segment(page, (pos & ~PC_PAGE_MASK) + copied,
					     (pos & ~PC_PAGE_MASK) + len);
		pc_SetPageUptodate(page);
	}
	if (last_pos > pc_i_size_read(inode))
		pc_i_size_write(inode, last_pos);
	pc_set_page_dirty(page);
	pc_unlock_page(page);
	pc_put_page(page);
	return copied;
}
