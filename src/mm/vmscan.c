/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/mm/vmscan.c - the active/inactive LRU and reclaim.
 *
 * New pages enter the inactive list. pc_mark_page_accessed() gives a page
 * a second chance (PC_PG_referenced) and promotes a twice-touched inactive
 * page to the active list. Reclaim keeps the inactive list at least as long
 * as the active one by deactivating the active list's tail, then scans the
 * inactive tail: referenced pages are promoted, clean unlocked pages that
 * only the cache references are removed from their mapping and freed
 * (private data released first), dirty and writeback pages are left for
 * the flusher, which the allocator wakes.
 *
 * Locking: lru_lock protects both lists, PC_PG_lru and PC_PG_active; it is a leaf
 * lock except for the page trylock done after pages are isolated.
 */
#include "mm_internal.h"

PC_EXPORT void pc_lru_cache_add(struct pc_page *page)
{
	struct pc_cache *c = page->cache;

	pthread_mutex_lock(&c->lru_lock);
	PC_BUG_ON(pc_PageLRU(page));
	pc_SetPageLRU(page);
	if (pc_PageActive(page)) {
		pc_list_add(&page->lru, &c->active);
		c->nr_active++;
	} else {
		pc_list_add(&page->lru, &c->inactive);
		c->nr_inactive++;
	}
	pthread_mutex_unlock(&c->lru_lock);
}

static void activate_page(struct pc_page *page)
{
	struct pc_cache *c = page->cache;

	pthread_mutex_lock(&c->lru_lock);
	if (pc_PageLRU(page) && !pc_PageActive(page)) {
		pc_list_move(&page->lru, &c->active);
		c->nr_inactive--;
		c->nr_active++;
		pc_SetPageActive(page);
	}
	pthread_mutex_unlock(&c->lru_lock);
}

PC_EXPORT void pc_mark_page_accessed(struct pc_page *page)
{
	unsigned long f = atomic_load_explicit(&page->flags, memory_order_relaxed);

	if ((f & (1UL << PC_PG_referenced)) && (f & (1UL << PC_PG_active)))
		return;		/* the hot path: nothing to write */
	if (!(f & (1UL << PC_PG_active)) && (f & (1UL << PC_PG_referenced)) && (f & (1UL << PC_PG_lru))) {
		activate_page(page);
		pc_ClearPageReferenced(page);
	} else if (!(f & (1UL << PC_PG_referenced))) {
		pc_SetPageReferenced(page);
	}
}

PC_EXPORT void pc_rotate_reclaimable_page(struct pc_page *page)
{
	struct pc_cache *c = page->cache;

	if (!pc_TestClearPageReclaim(page))
		return;
	pthread_mutex_lock(&c->lru_lock);
	if (pc_PageLRU(page) && !pc_PageActive(page))
		pc_list_move_tail(&page->lru, &c->inactive);
	pthread_mutex_unlock(&c->lru_lock);
}

/* Move up to @nr pages from the active tail to the inactive head. lru_lock held. */
static void shrink_active_list(struct pc_cache *c, long nr)
{
	while (nr-- > 0 && !pc_list_empty(&c->active)) {
		struct pc_page *pg = pc_list_last_entry(&c->active, struct pc_page, lru);
		if (pc_TestClearPageReferenced(pg)) {
			/* Used since the last pass: keep it active one more round. */
			pc_list_move(&pg->lru, &c->active);
			continue;
		}
		pc_list_move(&pg->lru, &c->inactive);
		pc_ClearPageActive(pg);
		c->nr_active--;
		c->nr_inactive++;
	}
}

static void putback_page(struct pc_cache *c, struct pc_page *pg)
{
	pthread_mutex_lock(&c->lru_lock);
	pc_SetPageLRU(pg);
	if (pc_PageActive(pg)) {
		pc_list_add(&pg->lru, &c->active);
		c->nr_active++;
	} else {
		pc_list_add(&pg->lru, &c->inactive);
		c->nr_inactive++;
	}
	pthread_mutex_unlock(&c->lru_lock);
	pc_put_page(pg);
}

long pc_shrink_lists(struct pc_cache *c, long nr, long *dirty_seen)
{
	struct pc_page *isolated[64];
	long n_iso = 0, freed = 0, scanned = 0;

	if (nr > 64)
		nr = 64;
	pthread_mutex_lock(&c->lru_lock);
	if (c->nr_inactive < c->nr_active)
		shrink_active_list(c, PC_MAX(nr * 2, (c->nr_active - c->nr_inactive) / 2));
	while (n_iso < nr && scanned < nr * 8 && !pc_list_empty(&c->inactive)) {
		struct pc_page *pg = pc_list_last_entry(&c->inactive, struct pc_page, lru);
		scanned++;
		/*
		 * As in the kernel's page_check_references() for unmapped page
		 * cache: one reference is not a reason to keep an inactive
		 * page (a streaming reader touches every page once); a second
		 * touch already moved it to the active list.
		 */
		pc_ClearPageReferenced(pg);
		if (pc_PageDirty(pg) || pc_PageWriteback(pg) || pc_PageLocked(pg) ||
		    !pc_page_get_speculative(pg)) {
			if (pc_PageDirty(pg) || pc_PageWriteback(pg)) {
				(*dirty_seen)++;
				pc_SetPageReclaim(pg);
			}
			pc_list_move(&pg->lru, &c->inactive);
			continue;
		}
		pc_list_del_init(&pg->lru);
		pc_ClearPageLRU(pg);
		c->nr_inactive--;
		isolated[n_iso++] = pg;
	}
	pthread_mutex_unlock(&c->lru_lock);

	for (long i = 0; i < n_iso; i++) {
		struct pc_page *pg = isolated[i];

		if (!pc_trylock_page(pg)) {
			putback_page(c, pg);
			continue;
		}
		if (pc_PageDirty(pg) || pc_PageWriteback(pg) || !pg->mapping) {
			if (pc_PageDirty(pg) || pc_PageWriteback(pg))
				(*dirty_seen)++;
			pc_unlock_page(pg);
			putback_page(c, pg);
			continue;
		}
		bool (*remove)(struct pc_page *) = atomic_load(&c->hook_remove_mapping);
		if (remove && remove(pg)) {
			/* Refcount frozen at 0 and out of the tree: the frame is ours. */
			atomic_store(&pg->flags, 0);
			atomic_fetch_add(&c->stat[ST_EVICT], 1);
			pc_free_frame(c, pg);
			freed++;
			continue;
		}
		/* Pinned or private data that cannot be released: keep it off
		 * the inactive list so reclaim finds clean pages quickly. */
		pc_SetPageActive(pg);
		pc_unlock_page(pg);
		putback_page(c, pg);
	}
	if (*dirty_seen)
		atomic_fetch_add(&c->stat[ST_RECLAIM_WB], *dirty_seen);
	return freed;
}
