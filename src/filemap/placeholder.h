/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/placeholder.h - placeholders, private to src/filemap.
 *
 * struct pc_placeholder is what a RANGE entry of the page tree points at
 * (the pointer with both low bits set). It embeds a struct pc_page only to
 * reuse the page wait machinery: PC_PG_locked is set while the placeholder
 * is live and waiters sleep on it with pc_wait_on_page_locked(); the
 * remover clears it with pc_unlock_page(), waking them. The page's frame
 * fields (virtual, cache, lru, mapping) are unused: it is never a page of
 * any mapping, never on an LRU, never handed to I/O.
 *
 * Lifetime: @ph_ref counts the owner (the direct I/O that inserted it)
 * plus every waiter that found it under the tree lock and sleeps on it;
 * the last pc_placeholder_put() frees it. So a waiter never touches freed
 * memory even though the owner removes and drops it meanwhile.
 */
#ifndef PC_FILEMAP_PLACEHOLDER_H
#define PC_FILEMAP_PLACEHOLDER_H

#include <pagecache/filemap.h>

struct pc_placeholder {
	struct pc_page ph_page;		/* flags: PC_PG_placeholder | PC_PG_locked while live */
	pc_pgoff_t ph_start, ph_end;	/* inclusive page range it covers */
	_Atomic long ph_ref;
};

static inline bool pc_entry_is_placeholder(const void *e) { return pc_tree_entry_is_range(e); }
static inline struct pc_placeholder *pc_entry_to_placeholder(void *e)
{
	return (struct pc_placeholder *)((uintptr_t)e & ~3UL);
}

/*
 * The placeholder covering @index, or NULL. Caller holds mapping->tree_lock
 * (placeholders are freed without waiting for RCU readers, so lock-free
 * code may test an entry's RANGE bits but never dereference one). Costs one slot lookup
 * unless a multi-page placeholder is live (tree.nr_range), then one
 * forward gang lookup of one entry.
 */
struct pc_placeholder *pc_placeholder_covering(struct pc_address_space *mapping, pc_pgoff_t index);

/* Take a waiter's reference (tree lock held, @ph found in the tree). */
static inline void pc_placeholder_get(struct pc_placeholder *ph)
{
	atomic_fetch_add_explicit(&ph->ph_ref, 1, memory_order_relaxed);
}
void pc_placeholder_put(struct pc_placeholder *ph);

/* Sleep until @ph (referenced with pc_placeholder_get under the tree lock,
 * the lock since dropped) is removed, then drop the reference. */
void pc_placeholder_wait_put(struct pc_placeholder *ph);

/*
 * Insert @page (locked, referenced) at @index as pc_add_to_page_cache_lru
 * does; when a placeholder covers @index, sleep until it goes and retry
 * (@wait) or return -EEXIST (readahead: treat it like a cached page).
 */
int pc_filemap_add_page(struct pc_page *page, struct pc_address_space *mapping, pc_pgoff_t index,
			bool wait);

/* Remove a locked page from the cache for good: invalidate its buffers,
 * cancel dirty, clear uptodate, delete it (truncate.c). */
void pc_truncate_complete_page(struct pc_page *page);

#endif
