/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/readahead.c - on-demand readahead.
 *
 * A read that misses the cache starts a window sized from the request
 * (rounded up to a power of two, 2x or 4x for small requests) and marks the
 * page async_size pages before the window's end with PC_PG_readahead. A read
 * that hits the marker starts the next window, twice (small windows: four
 * times) as large, up to ra_pages, so sequential reads keep I/O in flight
 * ahead of the reader. Random reads read only what was asked.
 *
 * Pages are allocated and inserted locked and not uptodate, as one
 * contiguous batch, and handed to a_ops->readahead (mpage for block
 * filesystems), which unlocks each page when its I/O completes.
 */
#include <errno.h>
#include "rcu_internal.h"
#include <pagecache/filemap.h>
#include "placeholder.h"
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>

PC_EXPORT void pc_file_ra_state_init(struct pc_file_ra_state *ra, struct pc_address_space *mapping)
{
	ra->start = 0;
	ra->size = 0;
	ra->async_size = 0;
	ra->ra_pages = (mapping->bdi && mapping->bdi->ra_pages) ? mapping->bdi->ra_pages
								: PC_DEFAULT_RA_PAGES;
	ra->prev_pos = -1;
}

PC_EXPORT struct pc_page *pc_readahead_page(struct pc_readahead_control *rac)
{
	struct pc_page *page;

	if (!rac->_nr_pages)
		return NULL;
	/* The page is locked by us and in the tree: it cannot go away. */
	pc_rcu_lock();
	page = pc_page_tree_lookup(&rac->mapping->tree, rac->_index);
	pc_rcu_unlock();
	PC_BUG_ON(!page || !pc_PageLocked(page));
	rac->_index++;
	rac->_nr_pages--;
	return page;
}

static void read_pages(struct pc_readahead_control *rac)
{
	const struct pc_address_space_operations *aops = rac->mapping->a_ops;
	struct pc_page *page;

	if (!rac->_nr_pages)
		return;
	pc_cache_count(rac->mapping->cache, PC_STAT_RA_PAGES, rac->_nr_pages);
	if (aops->readahead) {
		aops->readahead(rac);
		/* Pages the filesystem did not take: leave them for a later read. */
		while ((page = pc_readahead_page(rac))) {
			pc_ClearPageReadahead(page);
			pc_unlock_page(page);
			pc_put_page(page);
		}
	} else if (aops->readpage) {
		while ((page = pc_readahead_page(rac))) {
			aops->readpage(rac->file, page);
			pc_put_page(page);
		}
	} else {
		while ((page = pc_readahead_page(rac))) {
			pc_unlock_page(page);
			pc_put_page(page);
		}
	}
}

/*
 * Read @nr pages from @index, skipping pages already cached; the page
 * @lookahead pages before the end gets the readahead marker.
 */
static void do_page_cache_ra(struct pc_address_space *mapping, struct pc_file_ra_state *ra,
			     struct pc_file *file, pc_pgoff_t index, unsigned long nr,
			     unsigned long lookahead)
{
	struct pc_readahead_control rac = { .file = file, .mapping = mapping, .ra = ra,
					    ._index = index };
	loff_t isize = mapping->host ? pc_i_size_read(mapping->host) : 0;
	pc_pgoff_t end_index;

	if (!mapping->host) {
		/* The block device mapping: bounded by the device, via bdi users. */
		return;
	}
	if (isize <= 0)
		return;
	end_index = (isize - 1) >> PC_PAGE_SHIFT;
	if (index > end_index)
		return;
	if (nr > end_index - index + 1)
		nr = end_index - index + 1;

	for (unsigned long i = 0; i < nr; i++) {
		pc_pgoff_t pidx = index + i;
		struct pc_page *page;
		void *e;

		pc_rcu_lock();
		e = pc_page_tree_lookup(&mapping->tree, pidx);
		pc_rcu_unlock();
		if (e) {
			/* Already cached (or being read): submit what we have. */
			read_pages(&rac);
			rac._index = pidx + 1;
			continue;
		}
		page = pc_page_alloc(mapping->cache, PC_GFP_NORETRY);
		if (!page)
			break;
		pc_set_bit(PC_PG_locked, page);
		if (pc_filemap_add_page(page, mapping, pidx, false)) {
			/* Cached meanwhile, or under a placeholder: never wait here. */
			pc_clear_bit(PC_PG_locked, page);
			pc_put_page(page);
			read_pages(&rac);
			rac._index = pidx + 1;
			continue;
		}
		if (i == nr - lookahead)
			pc_SetPageReadahead(page);
		rac._nr_pages++;
	}
	read_pages(&rac);
}

static unsigned long roundup_pow2(unsigned long x)
{
	unsigned long r = 1;
	while (r < x)
		r <<= 1;
	return r;
}

static unsigned long init_ra_size(unsigned long size, unsigned long max)
{
	unsigned long n = roundup_pow2(size);

	if (n <= max / 32)
		n *= 4;
	else if (n <= max / 4)
		n *= 2;
	else
		n = max;
	return PC_MIN(n, max);
}

static unsigned long next_ra_size(struct pc_file_ra_state *ra, unsigned long max)
{
	unsigned long cur = ra->size;

	if (cur < max / 16)
		return 4 * cur;
	if (cur <= max / 2)
		return 2 * cur;
	return max;
}

/* Pages starting at @index that are cached, up to @max: find the first miss. */
static pc_pgoff_t next_miss(struct pc_address_space *mapping, pc_pgoff_t index, unsigned long max)
{
	pc_rcu_lock();
	while (max-- && pc_page_tree_lookup(&mapping->tree, index))
		index++;
	pc_rcu_unlock();
	return index;
}

static void ondemand_readahead(struct pc_address_space *mapping, struct pc_file_ra_state *ra,
			       struct pc_file *file, bool hit_marker, pc_pgoff_t index,
			       unsigned long req_size)
{
	unsigned long max = ra->ra_pages ? ra->ra_pages : PC_DEFAULT_RA_PAGES;
	/* A window the pool cannot hold evicts itself before it is read:
	 * keep it to a quarter of the pool. */
	unsigned long pool_max = PC_MAX(pc_cache_nr_pages(mapping->cache) / 4, 1UL);

	if (max > pool_max)
		max = pool_max;

	if (!req_size)
		req_size = 1;
	if (!index)
		goto initial;
	/* The expected next window, or the marker of the current one. */
	if (index == ra->start + ra->size - ra->async_size || index == ra->start + ra->size) {
		ra->start += ra->size;
		ra->size = next_ra_size(ra, max);
		ra->async_size = ra->size;
		goto readit;
	}
	if (hit_marker) {
		/* Interleaved streams: resume after the cached run. */
		pc_pgoff_t start = next_miss(mapping, index + 1, max);
		if (!start || start - index > max)
			return;
		ra->start = start;
		ra->size = start - index + req_size;
		ra->size = next_ra_size(ra, max);
		ra->async_size = ra->size;
		goto readit;
	}
	if (req_size > max)
		goto initial;
	/* Sequential with the previous read? */
	loff_t prev_pos = __atomic_load_n(&ra->prev_pos, __ATOMIC_RELAXED);
	if (prev_pos >= 0 && index - ((pc_pgoff_t)prev_pos >> PC_PAGE_SHIFT) <= 1)
		goto initial;
	/* Random: read just what was asked. */
	do_page_cache_ra(mapping, ra, file, index, req_size, 0);
	return;

initial:
	ra->start = index;
	ra->size = init_ra_size(req_size, max);
	ra->async_size = ra->size > req_size ? ra->size - req_size : ra->size;
readit:
	do_page_cache_ra(mapping, ra, file, ra->start, ra->size, ra->async_size);
}

PC_EXPORT void pc_page_cache_sync_readahead(struct pc_address_space *mapping,
					    struct pc_file_ra_state *ra, struct pc_file *file,
					    pc_pgoff_t index, unsigned long req_count)
{
	if (!ra->ra_pages) {
		do_page_cache_ra(mapping, ra, file, index, req_count ? req_count : 1, 0);
		return;
	}
	ondemand_readahead(mapping, ra, file, false, index, req_count);
}

PC_EXPORT void pc_page_cache_async_readahead(struct pc_address_space *mapping,
					     struct pc_file_ra_state *ra, struct pc_file *file,
					     struct pc_page *page, pc_pgoff_t index,
					     unsigned long req_count)
{
	if (!ra->ra_pages)
		return;
	if (!pc_TestClearPageReadahead(page))
		return;
	if (pc_PageWriteback(page))
		return;
	ondemand_readahead(mapping, ra, file, true, index, req_count);
}

PC_EXPORT void pc_force_page_cache_readahead(struct pc_address_space *mapping, struct pc_file *file,
					     pc_pgoff_t index, unsigned long nr)
{
	struct pc_file_ra_state ra;

	pc_file_ra_state_init(&ra, mapping);
	while (nr) {
		unsigned long chunk = PC_MIN(nr, (unsigned long)ra.ra_pages);
		do_page_cache_ra(mapping, &ra, file, index, chunk, 0);
		index += chunk;
		nr -= chunk;
	}
}
