/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/mm.h - layer 1: page frames, page flags, page lock and waits,
 * reference counts, the LRU and reclaim.
 *
 * A struct pc_cache owns one aligned pool of PC_PAGE_SIZE frames; its size is
 * the cache's memory budget and it never grows. Each frame has a struct
 * pc_page descriptor. Page data is never allocated anywhere else.
 *
 * Reference counting (as the kernel's page->_refcount):
 *   - a free frame has refcount 0 and sits on the pool's free list;
 *   - pc_page_alloc() returns a frame with refcount 1 owned by the caller;
 *   - the page cache (an address_space's page tree) holds one reference for
 *     as long as the page is in the tree;
 *   - pc_get_page() / pc_put_page() take and drop references; the put that
 *     drops the count to 0 takes the page off the LRU and frees the frame.
 *   - pc_page_get_speculative() is the lock-free lookup's "get unless zero":
 *     frames are type-stable (never unmapped), so it is safe on a pointer
 *     read from the page tree without any lock; the caller must then check
 *     that the tree still holds that page at that index.
 *
 * Page lock: PC_PG_locked, a sleeping bit lock. Waiters sleep on a hashed table
 * of wait queues (like the kernel's page_waitqueue); PC_PG_waiters tells the
 * unlocker whether anyone sleeps, so an uncontended unlock_page is a single
 * atomic operation.
 *
 * Lock order: see docs/locking.md. Nothing in this header waits for I/O
 * while holding a mutex of the pool.
 */
#ifndef PAGECACHE_MM_H
#define PAGECACHE_MM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include "compiler.h"
#include "list.h"

#ifndef PC_PAGE_SHIFT
#define PC_PAGE_SHIFT 12
#endif
/* Page size in bytes, fixed at build time (4096 by default). */
#define PC_PAGE_SIZE (1UL << PC_PAGE_SHIFT)
#define PC_PAGE_MASK (~(PC_PAGE_SIZE - 1))

struct pc_address_space;
struct pc_cache;

/*
 * Page flags: bit numbers in pc_page.flags. All flag updates are atomic.
 * PC_PG_dirty, PC_PG_writeback are mirrored by the page tree marks DIRTY and
 * WRITEBACK (filemap.h); always change them through the filemap helpers.
 */
enum pc_pageflags {
	PC_PG_locked,		/* page lock held: I/O or a state change in progress */
	PC_PG_waiters,		/* someone sleeps on this page in the hashed wait table */
	PC_PG_uptodate,		/* contents valid (read completed or fully written) */
	PC_PG_dirty,		/* contents newer than the backing store */
	PC_PG_writeback,	/* write I/O in flight */
	PC_PG_error,		/* last I/O on this page failed */
	PC_PG_referenced,	/* accessed since last LRU scan */
	PC_PG_active,		/* on the active LRU list */
	PC_PG_lru,		/* on one of the LRU lists */
	PC_PG_private,		/* private holds buffer_heads or filesystem data */
	PC_PG_readahead,	/* readahead marker: reading it starts the next window */
	PC_PG_placeholder,	/* a placeholder entry: a range lock for direct I/O */
	PC_PG_reclaim,		/* reclaim wants it freed as soon as writeback ends */
	PC_PG_mappedtodisk,	/* every block of the page has a disk block */
	PC_PG_owner_priv,	/* for the filesystem (ext4: page has delayed blocks) */
	PC_PG_NR_FLAGS
};

/*
 * struct pc_page - descriptor of one page frame.
 * @flags:    PG_* bits, atomic.
 * @refcount: references, atomic (see above).
 * @mapping:  owning address_space while in a page tree, else NULL. Written
 *            only with the page locked and the tree lock held.
 * @index:    page index in @mapping (file offset >> PC_PAGE_SHIFT).
 * @private:  with PC_PG_private: the ring of buffer_heads, or filesystem data
 *            (objfs: its snap context). Changed only with the page locked.
 * @lru:      link on the pool's LRU or free list, under the pool lru lock.
 * @virtual:  address of the frame's data (PC_PAGE_SIZE bytes, page aligned).
 * @cache:    the pool the frame belongs to.
 * @seq:      bumped (release) each time the page leaves a page tree. The
 *            read fast path copies from a page without a reference and
 *            keeps the copy only if @seq did not move meanwhile (a seqlock
 *            over the page's identity; see pc_generic_file_read_iter).
 */
struct pc_page {
	_Atomic unsigned long flags;
	_Atomic int refcount;
	_Atomic unsigned seq;
	struct pc_address_space *mapping;
	pc_pgoff_t index;
	unsigned long private;
	struct pc_list_head lru;
	void *virtual;
	struct pc_cache *cache;
};

static inline void *pc_page_address(const struct pc_page *page) { return page->virtual; }

/* ---- flag helpers (atomic; seq_cst where an ordering matters) ---- */
static inline bool pc_test_bit(int nr, const struct pc_page *p)
{
	return (atomic_load_explicit(&((struct pc_page *)p)->flags, memory_order_acquire) >> nr) & 1;
}
static inline void pc_set_bit(int nr, struct pc_page *p) { atomic_fetch_or(&p->flags, 1UL << nr); }
static inline void pc_clear_bit(int nr, struct pc_page *p) { atomic_fetch_and(&p->flags, ~(1UL << nr)); }
static inline bool pc_test_and_set_bit(int nr, struct pc_page *p)
{
	return (atomic_fetch_or(&p->flags, 1UL << nr) >> nr) & 1;
}
static inline bool pc_test_and_clear_bit(int nr, struct pc_page *p)
{
	return (atomic_fetch_and(&p->flags, ~(1UL << nr)) >> nr) & 1;
}

#define PC_PAGEFLAG(name, bit)							\
	static inline bool pc_Page##name(const struct pc_page *p) { return pc_test_bit(bit, p); } \
	static inline void pc_SetPage##name(struct pc_page *p) { pc_set_bit(bit, p); } \
	static inline void pc_ClearPage##name(struct pc_page *p) { pc_clear_bit(bit, p); } \
	static inline bool pc_TestSetPage##name(struct pc_page *p) { return pc_test_and_set_bit(bit, p); } \
	static inline bool pc_TestClearPage##name(struct pc_page *p) { return pc_test_and_clear_bit(bit, p); }

PC_PAGEFLAG(Locked, PC_PG_locked)
PC_PAGEFLAG(Error, PC_PG_error)
PC_PAGEFLAG(Referenced, PC_PG_referenced)
PC_PAGEFLAG(Active, PC_PG_active)
PC_PAGEFLAG(LRU, PC_PG_lru)
PC_PAGEFLAG(Private, PC_PG_private)
PC_PAGEFLAG(Readahead, PC_PG_readahead)
PC_PAGEFLAG(Placeholder, PC_PG_placeholder)
PC_PAGEFLAG(Reclaim, PC_PG_reclaim)
PC_PAGEFLAG(MappedToDisk, PC_PG_mappedtodisk)
PC_PAGEFLAG(OwnerPriv, PC_PG_owner_priv)
PC_PAGEFLAG(Dirty, PC_PG_dirty)
PC_PAGEFLAG(Writeback, PC_PG_writeback)

/*
 * PC_PG_uptodate has ordering rules: the data must be visible before the flag
 * (release), and a reader that sees the flag must see the data (acquire).
 */
static inline bool pc_PageUptodate(const struct pc_page *p)
{
	return (atomic_load_explicit(&((struct pc_page *)p)->flags, memory_order_acquire) >> PC_PG_uptodate) & 1;
}
static inline void pc_SetPageUptodate(struct pc_page *p)
{
	atomic_fetch_or_explicit(&p->flags, 1UL << PC_PG_uptodate, memory_order_release);
}
static inline void pc_ClearPageUptodate(struct pc_page *p) { pc_clear_bit(PC_PG_uptodate, p); }

/* ---- reference counts ---- */
static inline void pc_get_page(struct pc_page *page)
{
	atomic_fetch_add_explicit(&page->refcount, 1, memory_order_relaxed);
}
static inline int pc_page_count(const struct pc_page *page)
{
	return atomic_load_explicit(&((struct pc_page *)page)->refcount, memory_order_relaxed);
}
/*
 * pc_page_get_speculative - take a reference unless the count is zero.
 * Returns true with a reference held, false if the frame is free or frozen.
 * Safe without locks on any frame pointer (frames are type-stable).
 */
static inline bool pc_page_get_speculative(struct pc_page *page)
{
	int c = atomic_load_explicit(&page->refcount, memory_order_relaxed);
	do {
		if (c == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&page->refcount, &c, c + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}
/*
 * pc_page_ref_freeze - atomically change refcount from @expected to 0.
 * Used by the page-removal paths (reclaim, invalidate) with the page locked
 * and the tree lock held, so that no lock-free lookup can take a new
 * reference to a page that is leaving the cache. Returns true on success.
 */
static inline bool pc_page_ref_freeze(struct pc_page *page, int expected)
{
	return atomic_compare_exchange_strong(&page->refcount, &expected, 0);
}
static inline void pc_page_ref_unfreeze(struct pc_page *page, int count)
{
	atomic_store_explicit(&page->refcount, count, memory_order_release);
}

/*
 * pc_put_page - drop one reference. The last put frees the frame (removes it
 * from the LRU first). The caller must not touch @page afterwards. Never
 * sleeps; may take the pool's lru lock.
 */
PC_EXPORT void pc_put_page(struct pc_page *page);

/* ---- the page lock and page waits ---- */

/* Take PC_PG_locked, sleeping until it is free. May block. */
PC_EXPORT void pc_lock_page(struct pc_page *page);
/* Take PC_PG_locked if free; true if taken. Never blocks. */
static inline bool pc_trylock_page(struct pc_page *page)
{
	return !pc_test_and_set_bit(PC_PG_locked, page);
}
/*
 * pc_unlock_page - release PC_PG_locked and wake sleepers. Must be locked on
 * entry (by this thread or one it hands the lock to, e.g. an I/O completion).
 */
PC_EXPORT void pc_unlock_page(struct pc_page *page);
/* Sleep until PC_PG_locked is clear (does not take the lock). */
PC_EXPORT void pc_wait_on_page_locked(struct pc_page *page);
/* Sleep until PC_PG_writeback is clear. */
PC_EXPORT void pc_wait_on_page_writeback(struct pc_page *page);
/*
 * pc_wake_up_page_bit - wake everyone sleeping on @bit of @page. Called
 * after clearing @bit (PC_PG_locked, PC_PG_writeback, or a filesystem bit).
 */
PC_EXPORT void pc_wake_up_page_bit(struct pc_page *page, int bit);
/* Sleep until @bit of @page is clear. */
PC_EXPORT void pc_wait_on_page_bit(struct pc_page *page, int bit);

/* ---- the pool ("cache") ---- */

/*
 * struct pc_cache_stats - counters for --stats. All monotonically increasing
 * except the gauges (nr_*) which are current values; peak_pages is the most
 * pages ever in use at once (not free).
 */
struct pc_cache_stats {
	uint64_t nr_pages;		/* pool size, pages */
	uint64_t nr_free;		/* gauge: free frames */
	uint64_t nr_dirty;		/* gauge: dirty page-cache pages */
	uint64_t nr_writeback;		/* gauge: pages under writeback */
	uint64_t nr_active, nr_inactive; /* gauges: LRU sizes */
	uint64_t peak_pages;		/* most frames in use at once */
	uint64_t hits;			/* read lookups that found an uptodate page */
	uint64_t misses;		/* read lookups that had to read */
	uint64_t readahead_pages;	/* pages submitted by readahead */
	uint64_t pages_written;		/* pages written back (completed) */
	uint64_t evictions;		/* pages dropped by reclaim */
	uint64_t reclaim_writeback;	/* dirty pages reclaim asked writeback for */
	uint64_t alloc_waits;		/* allocations that had to wait */
	uint64_t dirty_throttled;	/* writer waits in balance_dirty_pages */
};

/*
 * struct pc_cache_params - knobs for pc_cache_create().
 * @size_bytes:          memory budget in bytes (rounded down to pages,
 *                       minimum 64 pages). 0 means 256 MiB.
 * @dirty_background_pct: percentage of the pool above which the flushers
 *                       start background writeback (default 10).
 * @dirty_pct:           percentage above which writers are throttled in
 *                       balance_dirty_pages (default 40).
 * @dirty_expire_ms:     age after which dirty data is written back anyway
 *                       (default 3000 ms).
 *
 * Growth: new members are only ever added at the end, and a zeroed member
 * means the default: initialise it with designated initialisers (or zero
 * it) so a rebuilt program keeps working.
 */
struct pc_cache_params {
	size_t size_bytes;
	unsigned dirty_background_pct;
	unsigned dirty_pct;
	unsigned dirty_expire_ms;
};

/*
 * pc_cache_create - allocate the frame pool and its descriptors.
 * @params may be NULL for defaults. On success stores the new cache in
 * *@out and returns 0. Errors: -EINVAL (size too small after rounding),
 * -ENOMEM (the pool itself could not be allocated). The caller owns the
 * cache and frees it with pc_cache_destroy() after every address_space
 * using it is gone.
 */
PC_EXPORT int pc_cache_create(const struct pc_cache_params *params, struct pc_cache **out);
PC_EXPORT void pc_cache_destroy(struct pc_cache *cache);
/* Copy the current counters into *@st. Lock-free, approximate gauges. */
PC_EXPORT void pc_cache_get_stats(struct pc_cache *cache, struct pc_cache_stats *st);
PC_EXPORT size_t pc_cache_nr_pages(const struct pc_cache *cache);

/* Allocation flags for pc_page_alloc(). */
enum {
	PC_GFP_NOWAIT = 1 << 0,	/* fail with NULL rather than reclaim/wait */
	PC_GFP_NORETRY = 1 << 1,/* reclaim once, do not wait for writeback */
};

/*
 * pc_page_alloc - take a free frame (refcount 1, all flags clear, no
 * mapping). If the pool is empty, reclaims clean pages from the inactive
 * LRU, and if that is not enough wakes writeback and sleeps until pages are
 * freed: a full pool makes the caller wait, it does not fail while
 * reclaimable pages exist. Threads marked with pc_memalloc_enter() (the
 * writeback paths) may also dip into a small reserve so that writeback can
 * always make progress. Returns NULL only with PC_GFP_NOWAIT, or when every
 * frame is pinned (nothing clean, dirty or under writeback to reclaim).
 * Must not be called with the tree lock of any mapping held. May block.
 */
PC_EXPORT struct pc_page *pc_page_alloc(struct pc_cache *cache, unsigned gfp);

/* Mark the calling thread as a writeback thread (reserve access, no
 * recursion into reclaim writeback). Nests; returns the previous state to
 * pass to pc_memalloc_leave(). */
PC_EXPORT unsigned pc_memalloc_enter(void);
PC_EXPORT void pc_memalloc_leave(unsigned old);

/* ---- LRU ---- */

/* Put a page (referenced by the caller) on the inactive LRU. */
PC_EXPORT void pc_lru_cache_add(struct pc_page *page);
/*
 * pc_mark_page_accessed - the kernel's two-touch promotion: first touch sets
 * PC_PG_referenced, a second touch of a referenced inactive page moves it to
 * the active list. Touching an active referenced page writes nothing, so
 * the hot read path costs no shared cache-line writes.
 */
PC_EXPORT void pc_mark_page_accessed(struct pc_page *page);
/* Rotate a page whose writeback ended and that reclaim wanted freed to the
 * tail of the inactive list. */
PC_EXPORT void pc_rotate_reclaimable_page(struct pc_page *page);

/*
 * Hooks the upper layers install in the pool (set once after create; the
 * first non-NULL value of each member wins). Both are called from
 * pc_page_alloc()'s reclaim with whatever the allocating thread holds
 * (page locks, the inode lock, a filesystem lock), never a tree lock, so
 * neither may sleep on a page lock or wait for I/O (docs/locking.md):
 * @wakeup_flusher: ask writeback to write about @nr_pages dirty pages.
 *   Installed by writeback (pc_bdi_init); takes only the flushers' list
 *   locks briefly.
 * @remove_mapping: drop a clean page, trylocked and referenced by reclaim
 *   (refcount 2 with the tree's), not under writeback, from its mapping:
 *   true if it left the page cache with its refcount frozen at 0 (reclaim
 *   then frees the frame, lock and all); false leaves it locked and
 *   referenced. Installed by filemap (pc_address_space_init).
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the operation is not provided (the generic default where the
 * member names one): define the table with
 * designated initialisers (or zero it) so a rebuilt program keeps working.
 */
struct pc_cache_hooks {
	void (*wakeup_flusher)(struct pc_cache *cache, long nr_pages);
	bool (*remove_mapping)(struct pc_page *page);
};
PC_EXPORT void pc_cache_set_hooks(struct pc_cache *cache, const struct pc_cache_hooks *hooks);

/* Dirty/writeback accounting used by filemap and writeback (atomic). */
PC_EXPORT void pc_cache_account_dirty(struct pc_cache *cache, long delta);
PC_EXPORT void pc_cache_account_writeback(struct pc_cache *cache, long delta);
/* Counters for --stats, bumped by the layers that see the event. */
enum pc_stat_item { PC_STAT_HIT, PC_STAT_MISS, PC_STAT_RA_PAGES, PC_STAT_WRITTEN,
		    PC_STAT_THROTTLED };
PC_EXPORT void pc_cache_count(struct pc_cache *cache, enum pc_stat_item item, long n);
/* Dirty thresholds in pages (background, hard) and current dirty+writeback. */
PC_EXPORT void pc_cache_dirty_limits(struct pc_cache *cache, long *background, long *hard);
PC_EXPORT long pc_cache_nr_dirty(struct pc_cache *cache);
PC_EXPORT long pc_cache_nr_writeback(struct pc_cache *cache);
PC_EXPORT unsigned pc_cache_dirty_expire_ms(struct pc_cache *cache);

#endif /* PAGECACHE_MM_H */
