/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/mm/page_alloc.c - the frame pool: creation, allocation, freeing,
 * reference drops, dirty accounting and statistics.
 *
 * The pool is one aligned region of nr_pages frames allocated at creation;
 * it never grows. Free frames are kept on a stack (LIFO keeps recently
 * freed, cache-warm frames in use). A small reserve is kept for threads in
 * a memalloc section (writeback), so writeback can always allocate the
 * metadata pages it needs to clean data pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include "mm_internal.h"

static __thread unsigned memalloc_depth __attribute__((tls_model("initial-exec")));

PC_EXPORT unsigned pc_memalloc_enter(void) { return memalloc_depth++; }
PC_EXPORT void pc_memalloc_leave(unsigned old) { memalloc_depth = old; }
bool pc_current_is_memalloc(void) { return memalloc_depth > 0; }

/*
 * The pool is one anonymous mapping aligned to 2 MiB and advised for
 * transparent huge pages: random reads across a large cache then miss the
 * TLB far less often (the kernel's page cache enjoys its direct map).
 */
#define POOL_ALIGN (2UL << 20)

static void *pool_map(size_t bytes)
{
	size_t len = bytes + POOL_ALIGN;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t start, end;

	if (p == MAP_FAILED)
		return NULL;
	start = ((uintptr_t)p + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
	end = start + bytes;
	if (start > (uintptr_t)p)
		munmap(p, start - (uintptr_t)p);
	if ((uintptr_t)p + len > end)
		munmap((void *)end, (uintptr_t)p + len - end);
#ifdef MADV_HUGEPAGE
	madvise((void *)start, bytes, MADV_HUGEPAGE);
#endif
	return (void *)start;
}

static void pool_unmap(void *base, size_t bytes)
{
	if (base)
		munmap(base, bytes);
}

PC_EXPORT int pc_cache_create(const struct pc_cache_params *params, struct pc_cache **out)
{
	struct pc_cache_params p = { 0 };
	struct pc_cache *c;
	size_t i;

	if (params)
		p = *params;
	if (!p.size_bytes)
		p.size_bytes = 256u << 20;
	if (!p.dirty_background_pct)
		p.dirty_background_pct = 10;
	if (!p.dirty_pct)
		p.dirty_pct = 40;
	if (!p.dirty_expire_ms)
		p.dirty_expire_ms = 3000;
	if (p.dirty_pct > 90 || p.dirty_background_pct >= p.dirty_pct)
		return -EINVAL;
	if ((p.size_bytes >> PC_PAGE_SHIFT) < 64)
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->params = p;
	c->nr_pages = p.size_bytes >> PC_PAGE_SHIFT;
	c->reserve = PC_MAX(8, PC_MIN(c->nr_pages / 64, 256));
	c->base = pool_map(c->nr_pages << PC_PAGE_SHIFT);
	c->pages = calloc(c->nr_pages, sizeof(struct pc_page));
	c->free_stack = malloc(c->nr_pages * sizeof(struct pc_page *));
	if (!c->base || !c->pages || !c->free_stack) {
		pool_unmap(c->base, c->nr_pages << PC_PAGE_SHIFT);
		free(c->pages);
		free(c->free_stack);
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->free_lock, NULL);
	pthread_mutex_init(&c->lru_lock, NULL);
	pthread_mutex_init(&c->wait_lock, NULL);
	pthread_cond_init(&c->wait_cond, NULL);
	pc_list_init(&c->active);
	pc_list_init(&c->inactive);
	/* Push in reverse so the first allocations walk the pool in order. */
	for (i = 0; i < c->nr_pages; i++) {
		struct pc_page *pg = &c->pages[i];
		pg->virtual = (char *)c->base + (i << PC_PAGE_SHIFT);
		pg->cache = c;
		pc_list_init(&pg->lru);
		c->free_stack[c->nr_pages - 1 - i] = pg;
	}
	c->nr_free = c->nr_pages;
	*out = c;
	return 0;
}

PC_EXPORT void pc_cache_destroy(struct pc_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->free_lock);
	pthread_mutex_destroy(&c->lru_lock);
	pthread_mutex_destroy(&c->wait_lock);
	pthread_cond_destroy(&c->wait_cond);
	pool_unmap(c->base, c->nr_pages << PC_PAGE_SHIFT);
	free(c->pages);
	free(c->free_stack);
	free(c);
}

PC_EXPORT size_t pc_cache_nr_pages(const struct pc_cache *c) { return c->nr_pages; }

PC_EXPORT void pc_cache_set_hooks(struct pc_cache *c, const struct pc_cache_hooks *hooks)
{
	/* Installed once; later calls with the same hooks are no-ops. */
	if (hooks->wakeup_flusher) {
		void (*none)(struct pc_cache *, long) = NULL;
		atomic_compare_exchange_strong(&c->hook_wakeup_flusher, &none, hooks->wakeup_flusher);
	}
	if (hooks->remove_mapping) {
		bool (*none)(struct pc_page *) = NULL;
		atomic_compare_exchange_strong(&c->hook_remove_mapping, &none, hooks->remove_mapping);
	}
}

static struct pc_page *take_free(struct pc_cache *c, bool memalloc)
{
	struct pc_page *pg = NULL;
	size_t used;

	pthread_mutex_lock(&c->free_lock);
	if (c->nr_free > (memalloc ? 0 : c->reserve))
		pg = c->free_stack[--c->nr_free];
	used = c->nr_pages - c->nr_free;
	pthread_mutex_unlock(&c->free_lock);
	if (pg) {
		uint64_t peak = atomic_load_explicit(&c->peak_used, memory_order_relaxed);
		while (used > peak &&
		       !atomic_compare_exchange_weak(&c->peak_used, &peak, used))
			;
		atomic_store_explicit(&pg->flags, 0, memory_order_relaxed);
		pg->mapping = NULL;
		pg->index = 0;
		pg->private = 0;
		atomic_store_explicit(&pg->refcount, 1, memory_order_release);
	}
	return pg;
}

void pc_free_frame(struct pc_cache *c, struct pc_page *pg)
{
	bool wake;

	pg->mapping = NULL;
	pthread_mutex_lock(&c->free_lock);
	c->free_stack[c->nr_free++] = pg;
	pthread_mutex_unlock(&c->free_lock);
	pthread_mutex_lock(&c->wait_lock);
	wake = c->waiters > 0;
	pthread_mutex_unlock(&c->wait_lock);
	if (wake)
		pthread_cond_broadcast(&c->wait_cond);
}

/* Wake allocators after frames were freed in bulk or writeback completed. */
void pc_cache_wake_allocators(struct pc_cache *c);
void pc_cache_wake_allocators(struct pc_cache *c)
{
	pthread_mutex_lock(&c->wait_lock);
	if (c->waiters)
		pthread_cond_broadcast(&c->wait_cond);
	pthread_mutex_unlock(&c->wait_lock);
}

PC_EXPORT struct pc_page *pc_page_alloc(struct pc_cache *c, unsigned gfp)
{
	bool memalloc = pc_current_is_memalloc();
	struct pc_page *pg;
	int idle_rounds = 0;

	pg = take_free(c, memalloc);
	if (pc_likely(pg))
		return pg;
	if (gfp & PC_GFP_NOWAIT)
		return NULL;

	for (;;) {
		long dirty = 0, freed;

		/* Direct reclaim: drop clean pages, a batch at a time, a few
		 * batches before considering sleeping. */
		freed = 0;
		for (int pass = 0; pass < 8; pass++) {
			long f = pc_shrink_lists(c, 64, &dirty);
			freed += f;
			pg = take_free(c, memalloc);
			if (pg)
				return pg;
			if (!f && pass >= 2)
				break;
		}
		if (gfp & PC_GFP_NORETRY)
			return NULL;

		/* Nothing clean to drop: have writeback clean some, then wait. */
		long busy = atomic_load(&c->nr_dirty) + atomic_load(&c->nr_writeback);
		void (*wake)(struct pc_cache *, long) = atomic_load(&c->hook_wakeup_flusher);
		if (busy > 0 && wake)
			wake(c, PC_MAX(busy, 64));
		if (freed == 0 && busy == 0 && dirty == 0) {
			/* Everything is pinned by users; give them a moment. */
			if (++idle_rounds > 200)
				return NULL;
		} else {
			idle_rounds = 0;
		}
		atomic_fetch_add(&c->stat[ST_ALLOC_WAIT], 1);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&c->wait_lock);
		c->waiters++;
		/* nr_free belongs to free_lock (nested inside wait_lock here;
		 * pc_free_frame never holds both). A free after this check
		 * sees waiters > 0 and broadcasts once we sleep. */
		pthread_mutex_lock(&c->free_lock);
		bool empty = c->nr_free <= (memalloc ? 0 : c->reserve);
		pthread_mutex_unlock(&c->free_lock);
		if (empty)
			pthread_cond_timedwait(&c->wait_cond, &c->wait_lock, &ts);
		c->waiters--;
		pthread_mutex_unlock(&c->wait_lock);
		pg = take_free(c, memalloc);
		if (pg)
			return pg;
	}
}

PC_EXPORT void pc_put_page(struct pc_page *page)
{
	if (atomic_fetch_sub_explicit(&page->refcount, 1, memory_order_acq_rel) != 1)
		return;
	struct pc_cache *c = page->cache;
	if (pc_PageLRU(page)) {
		pthread_mutex_lock(&c->lru_lock);
		if (pc_PageLRU(page)) {
			pc_list_del_init(&page->lru);
			if (pc_PageActive(page))
				c->nr_active--;
			else
				c->nr_inactive--;
			pc_ClearPageLRU(page);
		}
		pthread_mutex_unlock(&c->lru_lock);
	}
	PC_BUG_ON(pc_PageDirty(page) || pc_PageWriteback(page) || pc_PageLocked(page));
	pc_free_frame(c, page);
}

PC_EXPORT void pc_cache_account_dirty(struct pc_cache *c, long delta)
{
	atomic_fetch_add_explicit(&c->nr_dirty, delta, memory_order_relaxed);
}
PC_EXPORT void pc_cache_account_writeback(struct pc_cache *c, long delta)
{
	atomic_fetch_add_explicit(&c->nr_writeback, delta, memory_order_relaxed);
	if (delta < 0)
		pc_cache_wake_allocators(c);
}
PC_EXPORT long pc_cache_nr_dirty(struct pc_cache *c) { return atomic_load(&c->nr_dirty); }
PC_EXPORT long pc_cache_nr_writeback(struct pc_cache *c) { return atomic_load(&c->nr_writeback); }
PC_EXPORT unsigned pc_cache_dirty_expire_ms(struct pc_cache *c) { return c->params.dirty_expire_ms; }

PC_EXPORT void pc_cache_dirty_limits(struct pc_cache *c, long *background, long *hard)
{
	long n = (long)c->nr_pages;
	*background = n * c->params.dirty_background_pct / 100;
	*hard = n * c->params.dirty_pct / 100;
	if (*background < 16)
		*background = 16;
	if (*hard < *background + 16)
		*hard = *background + 16;
}

static _Atomic unsigned shard_next;
static __thread int my_shard __attribute__((tls_model("initial-exec"))) = -1;

static inline unsigned stat_shard(void)
{
	if (pc_unlikely(my_shard < 0))
		my_shard = atomic_fetch_add(&shard_next, 1) % PC_STAT_SHARDS;
	return (unsigned)my_shard;
}

PC_EXPORT void pc_cache_count(struct pc_cache *c, enum pc_stat_item item, long n)
{
	if (pc_likely(item == PC_STAT_HIT || item == PC_STAT_MISS)) {
		/* A shard belongs to one thread (up to PC_STAT_SHARDS threads),
		 * so a plain load and store suffice: no locked instruction on
		 * the hot read path. Beyond that many threads, counts may lose
		 * a few increments; they are statistics. */
		_Atomic uint64_t *v = &c->shard[stat_shard()].v[item];
		atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + n,
				      memory_order_relaxed);
		return;
	}
	static const int map[] = { [PC_STAT_HIT] = ST_HIT, [PC_STAT_MISS] = ST_MISS,
				   [PC_STAT_RA_PAGES] = ST_RA, [PC_STAT_WRITTEN] = ST_WRITTEN,
				   [PC_STAT_THROTTLED] = ST_THROTTLED };
	atomic_fetch_add_explicit(&c->stat[map[item]], n, memory_order_relaxed);
}

PC_EXPORT void pc_cache_get_stats(struct pc_cache *c, struct pc_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->nr_pages = c->nr_pages;
	st->nr_free = c->nr_free;
	st->nr_dirty = atomic_load(&c->nr_dirty);
	st->nr_writeback = atomic_load(&c->nr_writeback);
	st->nr_active = c->nr_active;
	st->nr_inactive = c->nr_inactive;
	st->peak_pages = atomic_load(&c->peak_used);
	for (unsigned i = 0; i < PC_STAT_SHARDS; i++) {
		st->hits += atomic_load(&c->shard[i].v[PC_STAT_HIT]);
		st->misses += atomic_load(&c->shard[i].v[PC_STAT_MISS]);
	}
	st->readahead_pages = atomic_load(&c->stat[ST_RA]);
	st->pages_written = atomic_load(&c->stat[ST_WRITTEN]);
	st->evictions = atomic_load(&c->stat[ST_EVICT]);
	st->reclaim_writeback = atomic_load(&c->stat[ST_RECLAIM_WB]);
	st->alloc_waits = atomic_load(&c->stat[ST_ALLOC_WAIT]);
	st->dirty_throttled = atomic_load(&c->stat[ST_THROTTLED]);
}
