/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/writeback/page-writeback.c - writing a mapping's dirty pages, and
 * throttling writers that dirty memory faster than it can be cleaned.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <pagecache/filemap.h>
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>

PC_EXPORT unsigned long long pc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

PC_EXPORT void pc_tag_pages_for_writeback(struct pc_address_space *mapping, pc_pgoff_t start, pc_pgoff_t end)
{
	/* Batches keep the tree lock hold time short. */
	while (start <= end) {
		pc_pgoff_t next = start;
		unsigned long n;

		pc_mutex_lock(&mapping->tree_lock);
		n = pc_page_tree_range_tag_if_tagged(&mapping->tree, start, end, 4096, PC_TAG_DIRTY,
						     PC_TAG_TOWRITE, &next);
		pc_mutex_unlock(&mapping->tree_lock);
		if (n < 4096 || next <= start)
			break;
		start = next;
	}
}

static void clear_towrite(struct pc_address_space *mapping, struct pc_page *page)
{
	pc_mutex_lock(&mapping->tree_lock);
	if (page->mapping == mapping)
		pc_page_tree_tag_clear(&mapping->tree, page->index, PC_TAG_TOWRITE);
	pc_mutex_unlock(&mapping->tree_lock);
}

PC_EXPORT int pc_write_cache_pages(struct pc_address_space *mapping, struct pc_writeback_control *wbc,
				   pc_writepage_t writepage, void *data)
{
	struct pc_pagevec pv;
	pc_pgoff_t index, end, done_index, cyclic_start = 0;
	bool range_whole = false, done = false, cycled;
	int ret = 0;
	unsigned tag;

	if (wbc->range_cyclic) {
		index = atomic_load(&mapping->writeback_index);
		cyclic_start = index;
		end = ~(pc_pgoff_t)0 >> 1;
		cycled = index == 0;
	} else {
		index = wbc->range_start >> PC_PAGE_SHIFT;
		end = wbc->range_end >> PC_PAGE_SHIFT;
		range_whole = wbc->range_start == 0 && wbc->range_end == LLONG_MAX;
		cycled = true;
	}
	tag = (wbc->sync_mode == PC_WB_SYNC_ALL || wbc->tagged_writepages) ? PC_TAG_TOWRITE
									   : PC_TAG_DIRTY;
retry:
	/*
	 * Integrity writeback first tags what is dirty now, then writes only
	 * tagged pages: pages dirtied meanwhile by a steady writer are left
	 * for later, so fsync finishes (the TOWRITE livelock fix).
	 */
	if (tag == PC_TAG_TOWRITE)
		pc_tag_pages_for_writeback(mapping, index, end);
	done_index = index;
	while (!done && index <= end) {
		unsigned nr = pc_pagevec_lookup_range_tag(&pv, mapping, &index, end, (int)tag);
		if (!nr)
			break;
		for (unsigned i = 0; i < nr; i++) {
			struct pc_page *page = pv.pages[i];
			int err;

			done_index = page->index;
			pc_lock_page(page);
			if (pc_unlikely(page->mapping != mapping)) {
				pc_unlock_page(page);
				continue;
			}
			if (!pc_PageDirty(page)) {
				/* Someone else wrote it already. */
				if (tag == PC_TAG_TOWRITE)
					clear_towrite(mapping, page);
				pc_unlock_page(page);
				continue;
			}
			if (pc_PageWriteback(page)) {
				if (wbc->sync_mode != PC_WB_SYNC_NONE) {
					pc_wait_on_page_writeback(page);
				} else {
					pc_unlock_page(page);
					continue;
				}
			}
			if (!pc_clear_page_dirty_for_io(page)) {
				pc_unlock_page(page);
				continue;
			}
			err = writepage(page, wbc, data);
			if (pc_unlikely(err)) {
				if (!ret)
					ret = err;
				if (wbc->sync_mode == PC_WB_SYNC_NONE) {
					/* Background: stop, the flusher retries later. */
					done_index = page->index + 1;
					done = true;
					break;
				}
				/* Integrity: go on so every page gets its chance. */
			}
			if (--wbc->nr_to_write <= 0 && wbc->sync_mode == PC_WB_SYNC_NONE) {
				done_index = page->index + 1;
				done = true;
				break;
			}
		}
		pc_pagevec_release(&pv);
	}
	if (!cycled && !done) {
		/* range_cyclic: wrap once to cover [0, where we started). */
		cycled = true;
		index = 0;
		end = cyclic_start ? cyclic_start - 1 : 0;
		goto retry;
	}
	if (wbc->range_cyclic || (range_whole && wbc->nr_to_write > 0))
		atomic_store(&mapping->writeback_index, done_index);
	return ret;
}

static int writepage_cb(struct pc_page *page, struct pc_writeback_control *wbc, void *data)
{
	struct pc_address_space *mapping = data;
	int ret = mapping->a_ops->writepage(page, wbc);

	if (ret < 0)
		pc_mapping_set_error(mapping, ret);
	return ret;
}

PC_EXPORT int pc_generic_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	if (!mapping->a_ops->writepage)
		return 0;
	return pc_write_cache_pages(mapping, wbc, writepage_cb, mapping);
}

PC_EXPORT int pc_do_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	/* Writeback may need pages (metadata reads to map blocks): let it
	 * use the pool's reserve so cleaning memory can always progress. */
	unsigned old = pc_memalloc_enter();
	int ret;

	if (mapping->a_ops->writepages)
		ret = mapping->a_ops->writepages(mapping, wbc);
	else
		ret = pc_generic_writepages(mapping, wbc);
	pc_memalloc_leave(old);
	return ret;
}

PC_EXPORT int pc_write_one_page(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_writeback_control wbc = { .sync_mode = PC_WB_SYNC_ALL, .nr_to_write = 1 };
	int ret = 0;

	PC_BUG_ON(!pc_PageLocked(page));
	pc_wait_on_page_writeback(page);
	if (mapping && mapping->a_ops->writepage && pc_clear_page_dirty_for_io(page)) {
		unsigned old = pc_memalloc_enter();
		pc_get_page(page);
		ret = mapping->a_ops->writepage(page, &wbc);
		pc_memalloc_leave(old);
		if (ret == 0) {
			pc_wait_on_page_writeback(page);
			if (pc_PageError(page))
				ret = -EIO;
		} else {
			pc_mapping_set_error(mapping, ret);
		}
		pc_put_page(page);
	} else {
		pc_unlock_page(page);
	}
	return ret;
}

PC_EXPORT void pc_balance_dirty_pages_ratelimited(struct pc_address_space *mapping)
{
	struct pc_cache *c = mapping->cache;
	struct pc_backing_dev *bdi = mapping->bdi;
	long bg, hard, nr;

	if (!bdi)
		return;
	pc_cache_dirty_limits(c, &bg, &hard);
	nr = pc_cache_nr_dirty(c) + pc_cache_nr_writeback(c);
	if (pc_likely(nr <= bg))
		return;
	pc_bdi_wakeup(bdi, 0);
	if (nr <= hard)
		return;
	/* Over the hard limit: wait for writeback to catch up. */
	pc_cache_count(c, PC_STAT_THROTTLED, 1);
	pthread_mutex_lock(&bdi->list_lock);
	while (pc_cache_nr_dirty(c) + pc_cache_nr_writeback(c) > hard && !bdi->stop) {
		struct timespec ts;
		if (!pc_cache_nr_dirty(c))
			break;	/* only writeback left: it will complete */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 2 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_signal(&bdi->wake);
		pthread_cond_timedwait(&bdi->progress, &bdi->list_lock, &ts);
	}
	pthread_mutex_unlock(&bdi->list_lock);
}
