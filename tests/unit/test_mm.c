/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_mm.c - layer 1: the frame pool, references, page lock and
 * page waits, the LRU and reclaim (src/mm).
 *
 * MM_CHECK(cache, page, cond) counts each check and, on failure, dumps the
 * pool's counters and, when given, the page's descriptor. The tests that
 * need pages in a page cache use a bare address_space (no inode, no
 * operations), which is all reclaim and the writeback bits require.
 *
 * The whole program is also in the "concurrency" suite (TSan): the page
 * lock, page waits and concurrent allocation tests are multi-threaded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#include <pagecache/filemap.h>
#include <pagecache/mm.h>
#include "test_util.h"

static void mm_dump(struct pc_cache *c, const struct pc_page *pg)
{
	if (c) {
		struct pc_cache_stats st;
		pc_cache_get_stats(c, &st);
		fprintf(stderr,
			"  pool: nr_pages %" PRIu64 " nr_free %" PRIu64 " peak %" PRIu64
			" dirty %" PRIu64 " writeback %" PRIu64 " active %" PRIu64
			" inactive %" PRIu64 "\n        evictions %" PRIu64
			" reclaim_writeback %" PRIu64 " alloc_waits %" PRIu64
			" pages_written %" PRIu64 "\n",
			st.nr_pages, st.nr_free, st.peak_pages, st.nr_dirty, st.nr_writeback,
			st.nr_active, st.nr_inactive, st.evictions, st.reclaim_writeback,
			st.alloc_waits, st.pages_written);
	}
	if (pg) {
		static const char *const names[PC_PG_NR_FLAGS] = {
			"locked", "waiters", "uptodate", "dirty", "writeback", "error",
			"referenced", "active", "lru", "private", "readahead", "placeholder",
			"reclaim", "mappedtodisk", "owner_priv" };
		unsigned long f = atomic_load(&((struct pc_page *)pg)->flags);
		fprintf(stderr, "  page %p: ref %d mapping %p index %" PRIu64 " virtual %p flags:",
			(const void *)pg, pc_page_count(pg), (void *)pg->mapping, (uint64_t)pg->index,
			pg->virtual);
		for (int b = 0; b < PC_PG_NR_FLAGS; b++)
			if ((f >> b) & 1)
				fprintf(stderr, " %s", names[b]);
		fprintf(stderr, "\n");
	}
}

#define MM_CHECK(c, pg, cond) TU_CHECK(cond, mm_dump(c, pg))

static struct pc_cache *make_cache(size_t pages)
{
	struct pc_cache_params p = { .size_bytes = pages * PC_PAGE_SIZE };
	struct pc_cache *c = NULL;

	assert_int_equal(pc_cache_create(&p, &c), 0);
	assert_non_null(c);
	return c;
}

static struct pc_cache_stats stats(struct pc_cache *c)
{
	struct pc_cache_stats st;
	pc_cache_get_stats(c, &st);
	return st;
}

/* Allocate without waiting until the pool refuses; returns how many. */
static size_t alloc_until_null(struct pc_cache *c, struct pc_page **v, size_t max, unsigned gfp)
{
	size_t n = 0;
	while (n < max) {
		struct pc_page *pg = pc_page_alloc(c, gfp);
		if (!pg)
			break;
		v[n++] = pg;
	}
	return n;
}

/* ------------------------------------------------------------------ */

static void test_create(void **state)
{
	struct pc_cache *c = NULL;
	struct pc_cache_params p = { 0 };
	struct pc_cache_stats st;
	long bg, hard;

	(void)state;
	/* Below 64 pages (after rounding down) is refused. */
	p.size_bytes = 63 * PC_PAGE_SIZE;
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == -EINVAL);
	p.size_bytes = 64 * PC_PAGE_SIZE - 1;
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == -EINVAL);
	p.size_bytes = 1;
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == -EINVAL);
	/* Bad dirty percentages. */
	p.size_bytes = 64 * PC_PAGE_SIZE;
	p.dirty_pct = 95;
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == -EINVAL);
	p.dirty_pct = 20;
	p.dirty_background_pct = 20;
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == -EINVAL);

	/* Exactly 64 pages, with a ragged size rounded down. */
	p = (struct pc_cache_params){ .size_bytes = 64 * PC_PAGE_SIZE + 100 };
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == 0);
	MM_CHECK(c, NULL, pc_cache_nr_pages(c) == 64);
	st = stats(c);
	MM_CHECK(c, NULL, st.nr_pages == 64);
	MM_CHECK(c, NULL, st.nr_free == 64);
	MM_CHECK(c, NULL, st.peak_pages == 0 && st.nr_dirty == 0 && st.nr_writeback == 0);
	MM_CHECK(c, NULL, st.nr_active == 0 && st.nr_inactive == 0 && st.evictions == 0);
	/* Defaults: 3000 ms expiry; thresholds at least 16 apart. */
	MM_CHECK(c, NULL, pc_cache_dirty_expire_ms(c) == 3000);
	pc_cache_dirty_limits(c, &bg, &hard);
	MM_CHECK(c, NULL, bg >= 16 && hard >= bg + 16);
	pc_cache_destroy(c);
	c = NULL;

	/* NULL params: 256 MiB, 10 % / 40 %. */
	MM_CHECK(NULL, NULL, pc_cache_create(NULL, &c) == 0);
	MM_CHECK(c, NULL, pc_cache_nr_pages(c) == (256u << 20) / PC_PAGE_SIZE);
	pc_cache_dirty_limits(c, &bg, &hard);
	MM_CHECK(c, NULL, bg == (long)pc_cache_nr_pages(c) * 10 / 100);
	MM_CHECK(c, NULL, hard == (long)pc_cache_nr_pages(c) * 40 / 100);
	pc_cache_destroy(c);

	/* Explicit knobs are kept. */
	p = (struct pc_cache_params){ .size_bytes = 1000 * PC_PAGE_SIZE, .dirty_background_pct = 5,
				      .dirty_pct = 50, .dirty_expire_ms = 123 };
	MM_CHECK(NULL, NULL, pc_cache_create(&p, &c) == 0);
	pc_cache_dirty_limits(c, &bg, &hard);
	MM_CHECK(c, NULL, bg == 50 && hard == 500);
	MM_CHECK(c, NULL, pc_cache_dirty_expire_ms(c) == 123);
	pc_cache_destroy(c);
	pc_cache_destroy(NULL);	/* no-op */
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static void test_alloc_all_and_reserve(void **state)
{
	const size_t N = 128;
	struct pc_cache *c = make_cache(N);
	struct pc_page *pages[256];
	void *addr[256];
	size_t n, reserve, more;
	unsigned old;

	(void)state;
	/* Ordinary allocations stop short of the reserve. */
	n = alloc_until_null(c, pages, N + 1, PC_GFP_NOWAIT);
	reserve = N - n;
	MM_CHECK(c, NULL, reserve >= 1 && reserve <= N / 8);
	MM_CHECK(c, NULL, stats(c).nr_free == reserve);
	MM_CHECK(c, NULL, pc_page_alloc(c, PC_GFP_NOWAIT) == NULL);
	/* Nothing to reclaim: NORETRY fails at once too. */
	MM_CHECK(c, NULL, pc_page_alloc(c, PC_GFP_NORETRY) == NULL);
	MM_CHECK(c, NULL, stats(c).nr_free == reserve);

	/* A memalloc (writeback) thread may take the reserve, all of it. */
	old = pc_memalloc_enter();
	more = alloc_until_null(c, pages + n, N + 1 - n, PC_GFP_NOWAIT);
	MM_CHECK(c, NULL, more == reserve);
	MM_CHECK(c, NULL, pc_page_alloc(c, PC_GFP_NOWAIT) == NULL);
	pc_memalloc_leave(old);
	n += more;
	MM_CHECK(c, NULL, n == N);
	MM_CHECK(c, NULL, stats(c).nr_free == 0);
	MM_CHECK(c, NULL, stats(c).peak_pages == N);

	/* Every frame: fresh state, page aligned, distinct, non-overlapping. */
	for (size_t i = 0; i < n; i++) {
		struct pc_page *pg = pages[i];
		MM_CHECK(c, pg, pc_page_count(pg) == 1);
		MM_CHECK(c, pg, atomic_load(&pg->flags) == 0);
		MM_CHECK(c, pg, pg->mapping == NULL && pg->private == 0 && pg->index == 0);
		MM_CHECK(c, pg, ((uintptr_t)pc_page_address(pg) & (PC_PAGE_SIZE - 1)) == 0);
		addr[i] = pc_page_address(pg);
		memset(addr[i], (int)(i & 0xff), PC_PAGE_SIZE);
	}
	qsort(addr, n, sizeof(addr[0]), cmp_ptr);
	for (size_t i = 1; i < n; i++)
		MM_CHECK(c, NULL, (uintptr_t)addr[i] - (uintptr_t)addr[i - 1] >= PC_PAGE_SIZE);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = pc_page_address(pages[i]);
		MM_CHECK(c, pages[i], p[0] == (i & 0xff) && p[PC_PAGE_SIZE - 1] == (i & 0xff));
	}

	/* References: the last put frees, no earlier one. */
	{
		struct pc_page *pg = pages[5];
		pc_get_page(pg);
		MM_CHECK(c, pg, pc_page_count(pg) == 2);
		MM_CHECK(c, pg, pc_page_get_speculative(pg));
		MM_CHECK(c, pg, pc_page_count(pg) == 3);
		pc_put_page(pg);
		pc_put_page(pg);
		MM_CHECK(c, pg, pc_page_count(pg) == 1);
		MM_CHECK(c, pg, stats(c).nr_free == 0);
		pc_SetPageReferenced(pg);		/* leftovers a new owner must not see */
		pc_SetPageError(pg);
		pc_SetPageUptodate(pg);
		pg->private = 77;
		pg->index = 99;
		pc_put_page(pg);
		MM_CHECK(c, pg, pc_page_count(pg) == 0);
		MM_CHECK(c, pg, stats(c).nr_free == 1);
		/* A free frame cannot be resurrected by a lock-free lookup. */
		MM_CHECK(c, pg, !pc_page_get_speculative(pg));
		MM_CHECK(c, pg, pc_page_count(pg) == 0);
		/* The reserve is all that is free: ordinary allocation still fails. */
		if (reserve >= 1)
			MM_CHECK(c, NULL, pc_page_alloc(c, PC_GFP_NOWAIT) == NULL);
		old = pc_memalloc_enter();
		pages[5] = pc_page_alloc(c, PC_GFP_NOWAIT);
		pc_memalloc_leave(old);
		MM_CHECK(c, NULL, pages[5] != NULL);
		pg = pages[5];
		MM_CHECK(c, pg, pc_page_count(pg) == 1);
		MM_CHECK(c, pg, atomic_load(&pg->flags) == 0);
		MM_CHECK(c, pg, pg->private == 0 && pg->index == 0 && pg->mapping == NULL);
	}

	/* Put everything back: all free again. */
	for (size_t i = 0; i < n; i++)
		pc_put_page(pages[i]);
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	MM_CHECK(c, NULL, stats(c).peak_pages == N);
	/* ... and allocatable again. */
	n = alloc_until_null(c, pages, N + 1, PC_GFP_NOWAIT);
	MM_CHECK(c, NULL, n == N - reserve);
	for (size_t i = 0; i < n; i++)
		pc_put_page(pages[i]);
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	pc_cache_destroy(c);
}

/* With every frame pinned, a waiting allocation gives up (NULL), it does
 * not hang. */
static void test_alloc_all_pinned_fails(void **state)
{
	const size_t N = 64;
	struct pc_cache *c = make_cache(N);
	struct pc_page *pages[64];
	size_t n;
	uint64_t t0;

	(void)state;
	n = alloc_until_null(c, pages, N, PC_GFP_NOWAIT);
	MM_CHECK(c, NULL, n < N);
	t0 = tu_now_ns();
	MM_CHECK(c, NULL, pc_page_alloc(c, 0) == NULL);
	MM_CHECK(c, NULL, tu_now_ns() - t0 < 30ull * 1000 * 1000 * 1000);
	MM_CHECK(c, NULL, stats(c).alloc_waits > 0);
	for (size_t i = 0; i < n; i++)
		pc_put_page(pages[i]);
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	pc_cache_destroy(c);
}

/* ------------------------------------------------------------------ */
/* Page lock and waits                                                */
/* ------------------------------------------------------------------ */

struct lock_ctx {
	struct pc_page *page;
	long counter;		/* protected by the page lock only */
	unsigned iters;
	_Atomic int go;
};

static void *lock_worker(void *arg)
{
	struct lock_ctx *lc = arg;

	while (!atomic_load(&lc->go))
		;
	for (unsigned i = 0; i < lc->iters; i++) {
		pc_lock_page(lc->page);
		long v = lc->counter;
		if ((i & 63) == 0)
			sched_yield();	/* widen the critical section now and then */
		lc->counter = v + 1;
		pc_unlock_page(lc->page);
	}
	return NULL;
}

static void test_page_lock_counter(void **state)
{
	enum { NTHREADS = 4, ITERS = 20000 };
	struct pc_cache *c = make_cache(64);
	struct lock_ctx lc = { .iters = ITERS };
	pthread_t th[NTHREADS];

	(void)state;
	lc.page = pc_page_alloc(c, 0);
	MM_CHECK(c, NULL, lc.page != NULL);
	for (int i = 0; i < NTHREADS; i++)
		MM_CHECK(c, lc.page, pthread_create(&th[i], NULL, lock_worker, &lc) == 0);
	atomic_store(&lc.go, 1);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	MM_CHECK(c, lc.page, lc.counter == (long)NTHREADS * ITERS);
	MM_CHECK(c, lc.page, !pc_PageLocked(lc.page));

	/* trylock */
	MM_CHECK(c, lc.page, pc_trylock_page(lc.page));
	MM_CHECK(c, lc.page, pc_PageLocked(lc.page));
	MM_CHECK(c, lc.page, !pc_trylock_page(lc.page));
	pc_unlock_page(lc.page);
	MM_CHECK(c, lc.page, !pc_PageLocked(lc.page));
	MM_CHECK(c, lc.page, pc_trylock_page(lc.page));
	pc_unlock_page(lc.page);
	pc_put_page(lc.page);
	pc_cache_destroy(c);
}

struct waiter {
	struct pc_page *page;
	int what;		/* 0: pc_lock_page, 1: wait_on_page_locked, 2: wait_on_writeback */
	_Atomic bool *released;	/* set by the main thread just before it releases */
	_Atomic bool started, done;
	bool saw_released, saw_bit_clear;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	atomic_store(&w->started, true);
	switch (w->what) {
	case 0:
		pc_lock_page(w->page);
		w->saw_released = atomic_load(w->released);
		w->saw_bit_clear = true;
		pc_unlock_page(w->page);
		break;
	case 1:
		pc_wait_on_page_locked(w->page);
		w->saw_released = atomic_load(w->released);
		w->saw_bit_clear = true;	/* the lock may be retaken by another waiter */
		break;
	default:
		pc_wait_on_page_writeback(w->page);
		w->saw_released = atomic_load(w->released);
		w->saw_bit_clear = !pc_PageWriteback(w->page);
		break;
	}
	atomic_store(&w->done, true);
	return NULL;
}

static void wait_started(struct waiter *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		while (!atomic_load(&w[i].started))
			sched_yield();
	tu_sleep_ms(30);	/* let them reach their sleep */
}

static void test_page_lock_waiters(void **state)
{
	struct pc_cache *c = make_cache(64);
	struct pc_page *pg = pc_page_alloc(c, 0);
	_Atomic bool released = false;
	struct waiter w[4];
	pthread_t th[4];

	(void)state;
	MM_CHECK(c, NULL, pg != NULL);
	pc_lock_page(pg);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct waiter){ .page = pg, .what = i < 2 ? 0 : 1, .released = &released };
		MM_CHECK(c, pg, pthread_create(&th[i], NULL, waiter_main, &w[i]) == 0);
	}
	wait_started(w, 4);
	for (int i = 0; i < 4; i++)
		MM_CHECK(c, pg, !atomic_load(&w[i].done));	/* all stuck behind the lock */
	/* Sleepers announce themselves with PC_PG_waiters (poll: under load a
	 * thread may take a while to get there). */
	for (int ms = 0; ms < 5000 && !pc_test_bit(PC_PG_waiters, pg); ms++)
		tu_sleep_ms(1);
	MM_CHECK(c, pg, pc_test_bit(PC_PG_waiters, pg));
	atomic_store(&released, true);
	pc_unlock_page(pg);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		MM_CHECK(c, pg, w[i].saw_released);
	}
	MM_CHECK(c, pg, !pc_PageLocked(pg));
	pc_put_page(pg);
	pc_cache_destroy(c);
}

static void test_wait_on_writeback(void **state)
{
	struct pc_cache *c = make_cache(64);
	struct pc_address_space *m = calloc(1, sizeof(*m));
	_Atomic bool released = false;
	struct waiter w[3];
	pthread_t th[3];
	struct pc_page *pg;
	struct pc_cache_stats st;

	(void)state;
	pc_address_space_init(m, NULL, c, NULL, NULL);
	pg = pc_find_or_create_page(m, 3, 0);
	MM_CHECK(c, NULL, pg != NULL);
	MM_CHECK(c, pg, pc_PageLocked(pg) && pg->mapping == m && pg->index == 3);
	pc_SetPageUptodate(pg);
	pc_set_page_writeback(pg);
	pc_unlock_page(pg);
	MM_CHECK(c, pg, pc_PageWriteback(pg));
	MM_CHECK(c, pg, pc_page_tagged(m, 3, PC_TAG_WRITEBACK));
	MM_CHECK(c, pg, stats(c).nr_writeback == 1);

	/* Two wait for writeback, one takes the page lock meanwhile (allowed). */
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){ .page = pg, .what = i < 2 ? 2 : 0, .released = &released };
		MM_CHECK(c, pg, pthread_create(&th[i], NULL, waiter_main, &w[i]) == 0);
	}
	wait_started(w, 3);
	pthread_join(th[2], NULL);	/* the lock was free: not blocked by writeback */
	MM_CHECK(c, pg, !w[2].saw_released);
	for (int i = 0; i < 2; i++)
		MM_CHECK(c, pg, !atomic_load(&w[i].done));
	atomic_store(&released, true);
	pc_end_page_writeback(pg);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		MM_CHECK(c, pg, w[i].saw_released);
		MM_CHECK(c, pg, w[i].saw_bit_clear);
	}
	st = stats(c);
	MM_CHECK(c, pg, st.nr_writeback == 0);
	MM_CHECK(c, pg, st.pages_written == 1);
	MM_CHECK(c, pg, !pc_page_tagged(m, 3, PC_TAG_WRITEBACK));
	MM_CHECK(c, pg, !pc_page_tree_tagged(&m->tree, PC_TAG_WRITEBACK));
	/* Waiting on a clear bit returns at once. */
	pc_wait_on_page_writeback(pg);
	pc_wait_on_page_locked(pg);
	/* Ending writeback twice is harmless and not counted twice. */
	pc_end_page_writeback(pg);
	MM_CHECK(c, pg, stats(c).pages_written == 1 && stats(c).nr_writeback == 0);

	pc_put_page(pg);
	pc_truncate_inode_pages(m, 0);
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == 0);
	MM_CHECK(c, NULL, stats(c).nr_free == 64);
	pc_address_space_destroy(m);
	free(m);
	pc_cache_destroy(c);
}

/* ------------------------------------------------------------------ */
/* LRU                                                                */
/* ------------------------------------------------------------------ */

static void test_lru_promotion(void **state)
{
	struct pc_cache *c = make_cache(64);
	struct pc_address_space *m = calloc(1, sizeof(*m));
	struct pc_page *pg, *other;
	struct pc_cache_stats st;

	(void)state;
	pc_address_space_init(m, NULL, c, NULL, NULL);
	pg = pc_find_or_create_page(m, 0, 0);
	other = pc_find_or_create_page(m, 1, 0);
	MM_CHECK(c, NULL, pg && other);
	pc_unlock_page(pg);
	pc_unlock_page(other);
	st = stats(c);
	MM_CHECK(c, pg, pc_PageLRU(pg) && !pc_PageActive(pg) && !pc_PageReferenced(pg));
	MM_CHECK(c, pg, st.nr_inactive == 2 && st.nr_active == 0);

	pc_mark_page_accessed(pg);		/* first touch: referenced only */
	st = stats(c);
	MM_CHECK(c, pg, pc_PageReferenced(pg) && !pc_PageActive(pg));
	MM_CHECK(c, pg, st.nr_inactive == 2 && st.nr_active == 0);

	pc_mark_page_accessed(pg);		/* second touch: promoted */
	st = stats(c);
	MM_CHECK(c, pg, pc_PageActive(pg) && pc_PageLRU(pg));
	MM_CHECK(c, pg, st.nr_active == 1 && st.nr_inactive == 1);

	pc_mark_page_accessed(pg);		/* further touches: stays active */
	pc_mark_page_accessed(pg);
	st = stats(c);
	MM_CHECK(c, pg, pc_PageActive(pg));
	MM_CHECK(c, pg, st.nr_active == 1 && st.nr_inactive == 1);
	MM_CHECK(c, other, !pc_PageActive(other) && !pc_PageReferenced(other));

	/* Dropping the last reference takes the page off the LRU. */
	pc_put_page(pg);
	pc_put_page(other);
	pc_truncate_inode_pages(m, 0);
	st = stats(c);
	MM_CHECK(c, NULL, st.nr_active == 0 && st.nr_inactive == 0);
	MM_CHECK(c, NULL, st.nr_free == 64);
	pc_address_space_destroy(m);
	free(m);
	pc_cache_destroy(c);
}

/* ------------------------------------------------------------------ */
/* Reclaim                                                            */
/* ------------------------------------------------------------------ */

static unsigned char idx_byte(pc_pgoff_t idx, size_t off)
{
	return tu_pat(idx * PC_PAGE_SIZE + off, 3);
}

static bool page_has_pattern(struct pc_page *pg, pc_pgoff_t idx)
{
	const unsigned char *p = pc_page_address(pg);
	for (size_t off = 0; off < PC_PAGE_SIZE; off += 97)
		if (p[off] != idx_byte(idx, off))
			return false;
	return p[PC_PAGE_SIZE - 1] == idx_byte(idx, PC_PAGE_SIZE - 1);
}

static void test_reclaim(void **state)
{
	enum { N = 256, CACHED = 200, PINNED = 10, DIRTY = 10, EXTRA = 150 };
	struct pc_cache *c = make_cache(N);
	struct pc_address_space *m = calloc(1, sizeof(*m));
	struct pc_page *pinned[PINNED], *extra[N];
	struct pc_cache_stats st;
	size_t nextra, gone = 0;

	(void)state;
	pc_address_space_init(m, NULL, c, NULL, NULL);
	/* Fill the cache with clean, uptodate pages holding a pattern. */
	for (pc_pgoff_t i = 0; i < CACHED; i++) {
		struct pc_page *pg = pc_find_or_create_page(m, i, 0);
		MM_CHECK(c, NULL, pg != NULL);
		MM_CHECK(c, pg, pc_page_count(pg) == 2);	/* ours + the tree's */
		for (size_t off = 0; off < PC_PAGE_SIZE; off++)
			((unsigned char *)pc_page_address(pg))[off] = idx_byte(i, off);
		pc_SetPageUptodate(pg);
		pc_unlock_page(pg);
		pc_put_page(pg);
	}
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == CACHED);
	/* Pin 10 (an extra reference), dirty 10 more. */
	for (pc_pgoff_t i = 0; i < PINNED; i++) {
		pinned[i] = pc_find_get_page(m, i);
		MM_CHECK(c, NULL, pinned[i] != NULL);
	}
	for (pc_pgoff_t i = PINNED; i < PINNED + DIRTY; i++) {
		struct pc_page *pg = pc_find_lock_page(m, i);
		MM_CHECK(c, NULL, pg != NULL);
		MM_CHECK(c, pg, pc_set_page_dirty(pg));
		pc_unlock_page(pg);
		pc_put_page(pg);
	}
	st = stats(c);
	MM_CHECK(c, NULL, st.nr_dirty == DIRTY);
	MM_CHECK(c, NULL, st.nr_free == N - CACHED);
	MM_CHECK(c, NULL, st.evictions == 0);

	/* Allocate more frames than are free: reclaim must evict clean pages. */
	for (nextra = 0; nextra < EXTRA; nextra++) {
		extra[nextra] = pc_page_alloc(c, 0);
		MM_CHECK(c, NULL, extra[nextra] != NULL);
		memset(pc_page_address(extra[nextra]), 0xEE, PC_PAGE_SIZE);
	}
	st = stats(c);
	MM_CHECK(c, NULL, st.evictions > 0);
	MM_CHECK(c, NULL, st.evictions >= EXTRA - (N - CACHED));
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == CACHED - st.evictions);
	MM_CHECK(c, NULL, st.peak_pages <= N);
	MM_CHECK(c, NULL, st.nr_dirty == DIRTY);

	/* Pinned and dirty pages survived with their data; evicted indexes are
	 * not found; survivors are intact (no frame was handed out twice). */
	for (pc_pgoff_t i = 0; i < CACHED; i++) {
		struct pc_page *pg = pc_find_get_page(m, i);
		if (i < PINNED + DIRTY) {
			MM_CHECK(c, pg, pg != NULL);
			if (i < PINNED)
				MM_CHECK(c, pg, pg == pinned[i]);
			else
				MM_CHECK(c, pg, pc_PageDirty(pg));
		}
		if (!pg) {
			gone++;
			MM_CHECK(c, NULL, !pc_page_tagged(m, i, PC_TAG_DIRTY));
			continue;
		}
		MM_CHECK(c, pg, pg->mapping == m && pg->index == i);
		MM_CHECK(c, pg, pc_PageUptodate(pg));
		MM_CHECK(c, pg, page_has_pattern(pg, i));
		pc_put_page(pg);
	}
	MM_CHECK(c, NULL, gone == st.evictions);

	/* Keep allocating with NORETRY until reclaim has nothing left: then
	 * exactly the pinned and dirty pages remain. */
	for (;;) {
		struct pc_page *pg = pc_page_alloc(c, PC_GFP_NORETRY);
		if (!pg)
			break;
		MM_CHECK(c, NULL, nextra < N);
		extra[nextra++] = pg;
	}
	st = stats(c);
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == PINNED + DIRTY);
	MM_CHECK(c, NULL, st.evictions == CACHED - PINNED - DIRTY);
	MM_CHECK(c, NULL, st.reclaim_writeback > 0);	/* it saw the dirty ones */
	MM_CHECK(c, NULL, st.peak_pages <= N);
	for (pc_pgoff_t i = 0; i < PINNED + DIRTY; i++) {
		struct pc_page *pg = pc_find_get_page(m, i);
		MM_CHECK(c, pg, pg != NULL);
		MM_CHECK(c, pg, page_has_pattern(pg, i));
		pc_put_page(pg);
	}

	/* Release everything; truncate cancels the dirty pages. */
	for (size_t i = 0; i < nextra; i++)
		pc_put_page(extra[i]);
	for (size_t i = 0; i < PINNED; i++)
		pc_put_page(pinned[i]);
	pc_truncate_inode_pages(m, 0);
	st = stats(c);
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == 0);
	MM_CHECK(c, NULL, st.nr_dirty == 0);
	MM_CHECK(c, NULL, st.nr_free == N);
	MM_CHECK(c, NULL, st.nr_active == 0 && st.nr_inactive == 0);
	pc_address_space_destroy(m);
	free(m);
	pc_cache_destroy(c);
}

/* Referenced pages get a second chance: with half the cache touched twice
 * (active) and half never, reclaim takes the untouched ones first. */
static void test_reclaim_prefers_inactive(void **state)
{
	enum { N = 128, CACHED = 100 };
	struct pc_cache *c = make_cache(N);
	struct pc_address_space *m = calloc(1, sizeof(*m));
	struct pc_page *extra[N];
	size_t nextra = 0;
	struct pc_cache_stats st;

	(void)state;
	pc_address_space_init(m, NULL, c, NULL, NULL);
	for (pc_pgoff_t i = 0; i < CACHED; i++) {
		struct pc_page *pg = pc_find_or_create_page(m, i, 0);
		MM_CHECK(c, NULL, pg != NULL);
		pc_SetPageUptodate(pg);
		pc_unlock_page(pg);
		if (i % 2 == 0) {
			pc_mark_page_accessed(pg);
			pc_mark_page_accessed(pg);
			MM_CHECK(c, pg, pc_PageActive(pg));
		}
		pc_put_page(pg);
	}
	/* Take the free frames, then 20 more: all 20 evictions must be odd. */
	while (stats(c).evictions < 20) {
		struct pc_page *pg = pc_page_alloc(c, PC_GFP_NORETRY);
		MM_CHECK(c, NULL, pg != NULL);
		extra[nextra++] = pg;
	}
	st = stats(c);
	for (pc_pgoff_t i = 0; i < CACHED; i += 2) {
		struct pc_page *pg = pc_find_get_page(m, i);
		MM_CHECK(c, pg, pg != NULL);	/* active pages were kept */
		pc_put_page(pg);
	}
	MM_CHECK(c, NULL, atomic_load(&m->nrpages) == CACHED - st.evictions);
	for (size_t i = 0; i < nextra; i++)
		pc_put_page(extra[i]);
	pc_truncate_inode_pages(m, 0);
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	pc_address_space_destroy(m);
	free(m);
	pc_cache_destroy(c);
}

/* ------------------------------------------------------------------ */
/* Concurrent allocation                                              */
/* ------------------------------------------------------------------ */

struct alloc_ctx {
	struct pc_cache *c;
	unsigned id, hold, iters;
	unsigned long bad, nulls;
};

static void *alloc_worker(void *arg)
{
	struct alloc_ctx *a = arg;
	struct pc_page *held[32];
	struct tu_rng rng = { a->id };

	for (unsigned it = 0; it < a->iters; it++) {
		unsigned n = 1 + (unsigned)tu_rand_below(&rng, a->hold);
		unsigned got = 0;
		for (unsigned k = 0; k < n; k++) {
			struct pc_page *pg = pc_page_alloc(a->c, 0);
			if (!pg) {
				a->nulls++;
				break;
			}
			if (pc_page_count(pg) != 1 || atomic_load(&pg->flags) != 0)
				a->bad++;
			/* Stamp the frame; a frame handed out twice gets overwritten. */
			unsigned *w = pc_page_address(pg);
			w[0] = a->id;
			w[1] = it;
			w[PC_PAGE_SIZE / sizeof(unsigned) - 1] = a->id ^ it;
			held[got++] = pg;
		}
		for (unsigned k = 0; k < got; k++) {
			unsigned *w = pc_page_address(held[k]);
			if (w[0] != a->id || w[1] != it ||
			    w[PC_PAGE_SIZE / sizeof(unsigned) - 1] != (a->id ^ it))
				a->bad++;
			pc_put_page(held[k]);
		}
	}
	return NULL;
}

static void test_concurrent_alloc(void **state)
{
	enum { NT = 4, N = 64 };
	struct pc_cache *c = make_cache(N);
	struct alloc_ctx ctx[NT];
	pthread_t th[NT];

	(void)state;
	/* 4 threads holding up to 14 frames each: together at most the
	 * pool's 56 ordinary frames (64 less the reserve of 8), so none can
	 * be refused, but the free stack is hammered from all sides. */
	for (unsigned i = 0; i < NT; i++) {
		ctx[i] = (struct alloc_ctx){ .c = c, .id = i + 1, .hold = 14, .iters = 3000 };
		MM_CHECK(c, NULL, pthread_create(&th[i], NULL, alloc_worker, &ctx[i]) == 0);
	}
	for (unsigned i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < NT; i++) {
		MM_CHECK(c, NULL, ctx[i].bad == 0);
		MM_CHECK(c, NULL, ctx[i].nulls == 0);
	}
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	MM_CHECK(c, NULL, stats(c).peak_pages <= N);
	pc_cache_destroy(c);
}

struct blocked_alloc {
	struct pc_cache *c;
	_Atomic bool *released;
	struct pc_page *page;
	bool saw_released;
};

static void *blocked_alloc_main(void *arg)
{
	struct blocked_alloc *b = arg;

	b->page = pc_page_alloc(b->c, 0);
	b->saw_released = atomic_load(b->released);
	return NULL;
}

/* Allocators that find the pool empty sleep and are woken by frees. */
static void test_alloc_waits_for_free(void **state)
{
	enum { N = 64, NT = 3 };
	struct pc_cache *c = make_cache(N);
	struct pc_page *pages[N];
	struct blocked_alloc b[NT];
	pthread_t th[NT];
	_Atomic bool released = false;
	size_t n;

	(void)state;
	n = alloc_until_null(c, pages, N, PC_GFP_NOWAIT);
	MM_CHECK(c, NULL, n > NT);
	for (unsigned i = 0; i < NT; i++) {
		b[i] = (struct blocked_alloc){ .c = c, .released = &released };
		MM_CHECK(c, NULL, pthread_create(&th[i], NULL, blocked_alloc_main, &b[i]) == 0);
	}
	/* Wait (bounded) until the allocators are seen waiting; each one
	 * gives up only after about 2 s of finding nothing to reclaim. */
	for (int ms = 0; ms < 1500 && stats(c).alloc_waits < NT; ms++)
		tu_sleep_ms(1);
	MM_CHECK(c, NULL, stats(c).alloc_waits > 0);
	atomic_store(&released, true);
	for (unsigned i = 0; i < NT; i++)
		pc_put_page(pages[--n]);
	for (unsigned i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		MM_CHECK(c, NULL, b[i].page != NULL);
		MM_CHECK(c, b[i].page, b[i].saw_released);
		MM_CHECK(c, b[i].page, pc_page_count(b[i].page) == 1);
		for (unsigned j = 0; j < i; j++)
			MM_CHECK(c, b[i].page, b[i].page != b[j].page);
	}
	for (unsigned i = 0; i < NT; i++)
		pc_put_page(b[i].page);
	while (n)
		pc_put_page(pages[--n]);
	MM_CHECK(c, NULL, stats(c).nr_free == N);
	pc_cache_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_alloc_all_and_reserve),
		cmocka_unit_test(test_alloc_all_pinned_fails),
		cmocka_unit_test(test_page_lock_counter),
		cmocka_unit_test(test_page_lock_waiters),
		cmocka_unit_test(test_wait_on_writeback),
		cmocka_unit_test(test_lru_promotion),
		cmocka_unit_test(test_reclaim),
		cmocka_unit_test(test_reclaim_prefers_inactive),
		cmocka_unit_test(test_concurrent_alloc),
		cmocka_unit_test(test_alloc_waits_for_free),
	};
	int rc = cmocka_run_group_tests_name("mm", tests, NULL, NULL);
	tu_report("test_mm");
	return rc;
}
