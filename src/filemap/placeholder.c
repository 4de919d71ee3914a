/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/placeholder.c - range locks in the page cache (seed 002).
 *
 * Direct I/O bypasses the cache, so it must keep the cache from changing
 * under it: no page may be instantiated (and read from disk) in a range
 * whose blocks are being allocated and written, no truncate may free the
 * blocks under it, no buffered writer may dirty a page it is about to
 * make stale. It locks the range: pages that exist are locked with their
 * page lock, and the holes between them are filled with placeholders,
 * RANGE entries of the page tree that every page insertion waits on.
 *
 * Representation (see placeholder.h and filemap.h):
 *   - a placeholder over [s, e] sits in the slot of e, tagged
 *     PC_TAG_PLACEHOLDER so range scans find it in O(tree height);
 *   - one covering more than one index bumps tree.nr_range (the seed's
 *     PAGE_CACHE_TAG_EXTENTS on the root): only then must a lookup of an
 *     empty slot look forward for a range ending past it;
 *   - mapping->nr_placeholders counts all of them, so truncate and
 *     pc_find_lock_page skip every check while none is live.
 *
 * Invariants:
 *   P1. Placeholders cover holes only and never overlap: a page index is
 *       at any time either a page, inside exactly one placeholder, or free.
 *   P2. While a placeholder covers an index, no page is inserted there
 *       (pc_filemap_add_page waits, or refuses for readahead).
 *   P3. A range [start, end] handed out by pc_find_or_insert_placeholders
 *       stays owned (pages locked, placeholders live) until
 *       pc_remove_placeholder_pages(start, end); the pages in it are then
 *       exactly the ones the owner locked (P2, and removing a page needs
 *       its lock).
 *   P4. Locks and placeholders are taken in ascending index order, so two
 *       owners, or an owner and writeback/truncate (also ascending), never
 *       wait for each other in a cycle.
 *
 * The review points of seed 002 and where they are handled: the end index
 * ~0 (every loop stops on "index == end" before incrementing, never on a
 * wrapped index); inclusive versus exclusive ends (every range here is
 * inclusive, byte ranges passed to writeback are computed once in
 * range_bytes()); the lookup loop written twice (one scan, next_entry(),
 * serves insertion, removal and waiting); the repeated wait pattern (one
 * helper, pc_placeholder_wait_put).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include "rcu_internal.h"
#include "placeholder.h"
#include <pagecache/writeback.h>

#define BATCH 16

static inline void *ph_entry(struct pc_placeholder *ph)
{
	return (void *)((uintptr_t)ph | PC_TREE_ENTRY_SPECIAL | PC_TREE_ENTRY_RANGE);
}

static struct pc_placeholder *ph_alloc(void)
{
	struct pc_placeholder *ph = calloc(1, sizeof(*ph));

	if (!ph)
		return NULL;
	atomic_init(&ph->ph_page.flags, (1UL << PC_PG_placeholder) | (1UL << PC_PG_locked));
	atomic_init(&ph->ph_ref, 1);
	return ph;
}

void pc_placeholder_put(struct pc_placeholder *ph)
{
	if (atomic_fetch_sub_explicit(&ph->ph_ref, 1, memory_order_acq_rel) == 1)
		free(ph);
}

void pc_placeholder_wait_put(struct pc_placeholder *ph)
{
	pc_wait_on_page_locked(&ph->ph_page);
	pc_placeholder_put(ph);
}

/* The first placeholder whose entry lies in [@from, @to], or NULL. Tree
 * lock or RCU. */
static struct pc_placeholder *first_placeholder(struct pc_address_space *mapping, pc_pgoff_t from,
						pc_pgoff_t to)
{
	void *e;

	if (pc_page_tree_gang_lookup_tag(&mapping->tree, from, to, PC_TAG_PLACEHOLDER, &e, NULL, 1))
		return pc_entry_to_placeholder(e);
	return NULL;
}

/* A placeholder that starts at or before @end but ends after it (its entry
 * is past @end, so a scan limited to @end misses it). */
static struct pc_placeholder *placeholder_past(struct pc_address_space *mapping, pc_pgoff_t end)
{
	struct pc_placeholder *ph;

	if (end == ~(pc_pgoff_t)0 || !atomic_load_explicit(&mapping->tree.nr_range, memory_order_relaxed))
		return NULL;
	ph = first_placeholder(mapping, end + 1, ~(pc_pgoff_t)0);
	return ph && ph->ph_start <= end ? ph : NULL;
}

struct pc_placeholder *pc_placeholder_covering(struct pc_address_space *mapping, pc_pgoff_t index)
{
	void *e;

	PC_ASSERT_HELD(&mapping->tree_lock);
	e = pc_page_tree_lookup(&mapping->tree, index);
	if (e)
		return pc_entry_is_placeholder(e) ? pc_entry_to_placeholder(e) : NULL;
	return placeholder_past(mapping, index);
}

PC_EXPORT bool pc_placeholder_covers(struct pc_address_space *mapping, pc_pgoff_t index)
{
	bool r;

	if (!atomic_load(&mapping->nr_placeholders))
		return false;
	/* Under the tree lock: placeholders are freed without an RCU grace
	 * period, so their fields may only be read with the lock held. */
	pc_mutex_lock(&mapping->tree_lock);
	r = pc_placeholder_covering(mapping, index) != NULL;
	pc_mutex_unlock(&mapping->tree_lock);
	return r;
}

/* Bytes of pages [@start, @end] for the writeback helpers (inclusive end). */
static void range_bytes(pc_pgoff_t start, pc_pgoff_t end, loff_t *bstart, loff_t *bend)
{
	const pc_pgoff_t max_index = (pc_pgoff_t)LLONG_MAX >> PC_PAGE_SHIFT;

	*bstart = start > max_index ? LLONG_MAX : (loff_t)start << PC_PAGE_SHIFT;
	*bend = end >= max_index ? LLONG_MAX : (((loff_t)end + 1) << PC_PAGE_SHIFT) - 1;
}

/* Write back dirty pages and wait for writeback in [@start, @end]. */
static int flush_range(struct pc_address_space *mapping, pc_pgoff_t start, pc_pgoff_t end)
{
	loff_t bs, be;

	if (!pc_page_tree_tagged(&mapping->tree, PC_TAG_DIRTY) &&
	    !pc_page_tree_tagged(&mapping->tree, PC_TAG_WRITEBACK))
		return 0;
	range_bytes(start, end, &bs, &be);
	return pc_filemap_write_and_wait_range(mapping, bs, be);
}

/* Tree lock held: publish @ph over the hole [@s, @e]. 0 or -ENOMEM. */
static int insert_placeholder(struct pc_address_space *mapping, struct pc_placeholder *ph,
			      pc_pgoff_t s, pc_pgoff_t e)
{
	int err;

	PC_ASSERT_HELD(&mapping->tree_lock);
	ph->ph_start = s;
	ph->ph_end = e;
	ph->ph_page.index = e;
	if (s != e)
		atomic_fetch_add(&mapping->tree.nr_range, 1);
	err = pc_page_tree_insert(&mapping->tree, e, ph_entry(ph));
	if (err) {
		if (s != e)
			atomic_fetch_sub(&mapping->tree.nr_range, 1);
		return err;
	}
	pc_page_tree_tag_set(&mapping->tree, e, PC_TAG_PLACEHOLDER);
	atomic_fetch_add(&mapping->nr_placeholders, 1);
	return 0;
}

/*
 * Outcome of one locked scan step of pc_find_or_insert_placeholders:
 * what to do after dropping the tree lock.
 */
enum step { STEP_MORE, STEP_DONE, STEP_WAIT_PH, STEP_WAIT_PAGE, STEP_FLUSH, STEP_ERR };

PC_EXPORT int pc_find_or_insert_placeholders(struct pc_address_space *mapping, pc_pgoff_t start,
					     pc_pgoff_t end, bool iowait)
{
	struct pc_placeholder *spare = NULL, *wait_ph = NULL;
	struct pc_page *wait_page = NULL;
	pc_pgoff_t cur = start, wait_index = 0;
	enum step step = STEP_MORE;
	int err = 0;

	if (start > end)
		return -EINVAL;
	if (iowait) {
		err = flush_range(mapping, start, end);
		if (err)
			return err;
	}
	while (step != STEP_DONE) {
		void *ents[BATCH];
		pc_pgoff_t idx[BATCH];
		unsigned n, i;

		if (!spare) {
			spare = ph_alloc();
			if (!spare) {
				err = -ENOMEM;
				break;
			}
		}
		step = STEP_MORE;
		pc_mutex_lock(&mapping->tree_lock);
		n = pc_page_tree_gang_lookup(&mapping->tree, cur, end, ents, idx, BATCH);
		for (i = 0; i < n && step == STEP_MORE; i++) {
			struct pc_page *page = ents[i];

			if (pc_entry_is_placeholder(page)) {
				/* Someone else's range intersects ours (P1). */
				wait_ph = pc_entry_to_placeholder(page);
				pc_placeholder_get(wait_ph);
				step = STEP_WAIT_PH;
				break;
			}
			if (idx[i] > cur) {
				/* The hole [cur, idx-1] before this page. */
				err = insert_placeholder(mapping, spare, cur, idx[i] - 1);
				if (err) {
					step = STEP_ERR;
					break;
				}
				spare = NULL;
				cur = idx[i];
				break;	/* next pass allocates a new spare outside the lock */
			}
			pc_get_page(page);
			if (!pc_trylock_page(page)) {
				wait_page = page;
				wait_index = idx[i];
				step = STEP_WAIT_PAGE;
				break;
			}
			if (iowait && (pc_PageDirty(page) || pc_PageWriteback(page))) {
				/* Dirtied since flush_range (a racing writer). */
				pc_unlock_page(page);
				pc_put_page(page);
				step = STEP_FLUSH;
				break;
			}
			if (idx[i] == end) {
				step = STEP_DONE;
				break;
			}
			cur = idx[i] + 1;
		}
		if (step == STEP_MORE && i == n && n < BATCH) {
			/* Nothing more in [cur, end]: the tail is a hole, unless a
			 * range ending past @end already covers part of it. */
			wait_ph = placeholder_past(mapping, end);
			if (wait_ph) {
				pc_placeholder_get(wait_ph);
				step = STEP_WAIT_PH;
			} else {
				err = insert_placeholder(mapping, spare, cur, end);
				if (err) {
					step = STEP_ERR;
				} else {
					spare = NULL;
					step = STEP_DONE;
				}
			}
		}
		pc_mutex_unlock(&mapping->tree_lock);

		switch (step) {
		case STEP_WAIT_PH:
			pc_placeholder_wait_put(wait_ph);
			wait_ph = NULL;
			break;
		case STEP_WAIT_PAGE:
			pc_lock_page(wait_page);
			if (wait_page->mapping != mapping || wait_page->index != wait_index) {
				/* Truncated or reclaimed meanwhile: rescan from cur. */
				pc_unlock_page(wait_page);
				pc_put_page(wait_page);
			} else if (iowait && (pc_PageDirty(wait_page) || pc_PageWriteback(wait_page))) {
				pc_unlock_page(wait_page);
				pc_put_page(wait_page);
				err = flush_range(mapping, cur, end);
			} else if (wait_index == end) {
				step = STEP_DONE;
			} else {
				cur = wait_index + 1;
			}
			wait_page = NULL;
			break;
		case STEP_FLUSH:
			err = flush_range(mapping, cur, end);
			break;
		default:
			break;
		}
		if (err)
			break;
	}
	if (spare)
		free(spare);	/* never published */
	if (err && cur > start)
		pc_remove_placeholder_pages(mapping, start, cur - 1, false);
	return err;
}

/* Drop a locked page of a range we own from the cache (after a direct
 * write made its contents stale). */
static void drop_locked_page(struct pc_address_space *mapping, struct pc_page *page)
{
	if (page->mapping != mapping)
		return;
	pc_truncate_complete_page(page);
}

PC_EXPORT void pc_remove_placeholder_pages(struct pc_address_space *mapping, pc_pgoff_t start,
					   pc_pgoff_t end, bool drop_pages)
{
	pc_pgoff_t cur = start;

	if (start > end)
		return;
	for (;;) {
		void *ents[BATCH];
		pc_pgoff_t idx[BATCH];
		struct pc_placeholder *phs[BATCH];
		unsigned n, nph = 0;

		pc_mutex_lock(&mapping->tree_lock);
		n = pc_page_tree_gang_lookup(&mapping->tree, cur, end, ents, idx, BATCH);
		for (unsigned i = 0; i < n; i++) {
			struct pc_placeholder *ph;

			if (!pc_entry_is_placeholder(ents[i]))
				continue;
			ph = pc_entry_to_placeholder(ents[i]);
			pc_page_tree_delete(&mapping->tree, idx[i]);
			if (ph->ph_start != ph->ph_end)
				atomic_fetch_sub(&mapping->tree.nr_range, 1);
			atomic_fetch_sub(&mapping->nr_placeholders, 1);
			phs[nph++] = ph;
		}
		pc_mutex_unlock(&mapping->tree_lock);
		for (unsigned i = 0; i < n; i++) {
			struct pc_page *page = ents[i];

			if (pc_entry_is_placeholder(page))
				continue;
			if (drop_pages)
				drop_locked_page(mapping, page);
			pc_unlock_page(page);
			pc_put_page(page);
		}
		for (unsigned i = 0; i < nph; i++) {
			pc_unlock_page(&phs[i]->ph_page);	/* wakes its waiters */
			pc_placeholder_put(phs[i]);
		}
		if (n < BATCH || idx[n - 1] == end)
			break;
		cur = idx[n - 1] + 1;
	}
}

PC_EXPORT void pc_wait_on_placeholder_pages_range(struct pc_address_space *mapping, pc_pgoff_t start,
						  pc_pgoff_t end)
{
	if (start > end)
		return;
	while (atomic_load(&mapping->nr_placeholders)) {
		struct pc_placeholder *ph;

		pc_mutex_lock(&mapping->tree_lock);
		ph = first_placeholder(mapping, start, end);
		if (!ph)
			ph = placeholder_past(mapping, end);
		if (ph)
			pc_placeholder_get(ph);
		pc_mutex_unlock(&mapping->tree_lock);
		if (!ph)
			return;
		pc_placeholder_wait_put(ph);
	}
}
