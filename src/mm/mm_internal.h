/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Private to src/mm: the pool object. */
#ifndef PC_MM_INTERNAL_H
#define PC_MM_INTERNAL_H

#include <pagecache/mm.h>

#define PC_STAT_SHARDS 16

struct pc_cache {
	struct pc_page *pages;		/* descriptors, nr_pages of them */
	void *base;			/* the frame pool, page aligned */
	size_t nr_pages;
	size_t reserve;			/* frames only memalloc threads may take */

	pthread_mutex_t free_lock;	/* free list */
	struct pc_page **free_stack;
	size_t nr_free;

	pthread_mutex_t lru_lock;	/* both LRU lists, PC_PG_lru/PC_PG_active changes */
	struct pc_list_head active, inactive;
	long nr_active, nr_inactive;

	pthread_mutex_t wait_lock;	/* allocators waiting for frames */
	pthread_cond_t wait_cond;
	unsigned waiters;

	_Atomic(void (*)(struct pc_cache *, long)) hook_wakeup_flusher;
	_Atomic(bool (*)(struct pc_page *)) hook_remove_mapping;
	struct pc_cache_params params;

	_Atomic long nr_dirty, nr_writeback;
	_Atomic uint64_t peak_used;
	_Atomic uint64_t stat[16];
	/* Hot counters (hits, misses) sharded per thread so concurrent
	 * readers never write a shared cache line. */
	struct { _Atomic uint64_t v[8]; } __attribute__((aligned(64))) shard[PC_STAT_SHARDS];
};

enum { ST_HIT, ST_MISS, ST_RA, ST_WRITTEN, ST_THROTTLED, ST_EVICT, ST_RECLAIM_WB, ST_ALLOC_WAIT };

void pc_free_frame(struct pc_cache *cache, struct pc_page *page);
/* Reclaim up to @nr clean pages; returns how many frames were freed. */
long pc_shrink_lists(struct pc_cache *cache, long nr, long *dirty_seen);
bool pc_current_is_memalloc(void);

#endif
