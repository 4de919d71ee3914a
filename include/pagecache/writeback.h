/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/writeback.h - layer 5: writeback control, write_cache_pages,
 * the per-backing-device flusher thread, dirty throttling.
 *
 * Dirty inodes sit on their backing device's b_dirty list ordered by the
 * time they were first dirtied. The flusher thread wakes periodically, when
 * the cache passes the background dirty threshold, or on request (sync,
 * reclaim), and writes inodes back with WB_SYNC_NONE in chunks. Writers
 * above the hard threshold sleep in pc_balance_dirty_pages_ratelimited()
 * until writeback brings the count down. Integrity writeback (fsync, sync)
 * uses WB_SYNC_ALL and tags pages TOWRITE first, so a steady stream of new
 * dirty pages cannot starve it.
 */
#ifndef PAGECACHE_WRITEBACK_H
#define PAGECACHE_WRITEBACK_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "compiler.h"
#include "list.h"

struct pc_page;
struct pc_address_space;
struct pc_inode;
struct pc_super_block;
struct pc_cache;

enum pc_writeback_sync_modes {
	PC_WB_SYNC_NONE,	/* don't wait on anything: background, reclaim */
	PC_WB_SYNC_ALL,		/* wait on every page: integrity (fsync, sync) */
};

/*
 * struct pc_writeback_control - what one writeback pass should do.
 * @nr_to_write:   pages still to write; decremented per page written.
 *                 WB_SYNC_ALL passes ignore it reaching 0.
 * @pages_skipped: pages not written (locked, redirtied...).
 * @range_start, @range_end: bytes, inclusive; ignored with @range_cyclic.
 * @sync_mode:     PC_WB_SYNC_NONE or PC_WB_SYNC_ALL.
 * @range_cyclic:  start at mapping->writeback_index and wrap.
 * @tagged_writepages: tag TOWRITE first even for WB_SYNC_NONE (sync(2)).
 * @for_background, @for_reclaim, @for_sync: who asked (statistics, policy).
 *
 * Growth: new members are only ever added at the end, and a zeroed member
 * means the default: initialise it with designated initialisers (or zero
 * it) so a rebuilt program keeps working.
 */
struct pc_writeback_control {
	long nr_to_write;
	long pages_skipped;
	loff_t range_start;
	loff_t range_end;
	enum pc_writeback_sync_modes sync_mode;
	unsigned range_cyclic : 1;
	unsigned tagged_writepages : 1;
	unsigned for_background : 1;
	unsigned for_reclaim : 1;
	unsigned for_sync : 1;
};

/*
 * writepage callback for pc_write_cache_pages: called with the page locked,
 * referenced and its dirty bit cleared for I/O; must unlock it (or arrange
 * for completion to). Returns 0 or -errno.
 */
typedef int (*pc_writepage_t)(struct pc_page *page, struct pc_writeback_control *wbc, void *data);

/*
 * pc_write_cache_pages - walk the DIRTY (or, for WB_SYNC_ALL/tagged, the
 * TOWRITE) pages of @mapping in the wbc range in index order and call
 * @writepage on each one still dirty, per write_cache_pages(). Waits for
 * writeback already in flight on a page only for WB_SYNC_ALL. Returns 0 or
 * the first error; for WB_SYNC_ALL it goes on after an error and returns it
 * at the end. Caller holds no page locks.
 */
PC_EXPORT int pc_write_cache_pages(struct pc_address_space *mapping, struct pc_writeback_control *wbc,
				   pc_writepage_t writepage, void *data);
/* Tag DIRTY pages in [@start, @end] (indexes, inclusive) TOWRITE, in batches. */
PC_EXPORT void pc_tag_pages_for_writeback(struct pc_address_space *mapping, pc_pgoff_t start, pc_pgoff_t end);
/* write_cache_pages using a_ops->writepage. */
PC_EXPORT int pc_generic_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc);
/* a_ops->writepages if set, else pc_generic_writepages. */
PC_EXPORT int pc_do_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc);
/* Write one locked dirty page synchronously (for reclaim and invalidate);
 * unlocks it. Returns 0 or -errno. */
PC_EXPORT int pc_write_one_page(struct pc_page *page);

/*
 * struct pc_backing_dev - a backing device's writeback state and flusher.
 * @list_lock: protects b_dirty/b_io and each inode's i_io_list/dirtied_when.
 * @b_dirty:   dirty inodes, oldest dirtied first.
 * Everything else is private to writeback.c.
 */
struct pc_backing_dev {
	char name[32];
	struct pc_cache *cache;
	pthread_mutex_t list_lock;
	struct pc_list_head b_dirty;
	struct pc_list_head b_io;
	pthread_cond_t wake;		/* flusher sleeps here */
	pthread_cond_t progress;	/* throttled writers sleep here */
	pthread_t thread;
	bool running, stop;
	long work_pages;		/* pages requested by wakeups */
	bool work_sync;			/* a pc_bdi_sync() pending */
	unsigned long long sync_gen, sync_done;
	struct pc_list_head bdi_list;	/* on the cache's list of flushers */
	unsigned ra_pages;		/* default readahead window, pages */
	struct pc_address_space *b_mapping; /* a block device's own mapping, if dirty */
	bool b_mapping_dirty;		/* under list_lock */
	unsigned long long b_mapping_dirtied_when;
};

/* Initialise and start the flusher thread. 0 or -errno (thread creation). */
PC_EXPORT int pc_bdi_init(struct pc_backing_dev *bdi, struct pc_cache *cache, const char *name);
/* Stop the flusher (after writing everything back) and tear down. */
PC_EXPORT void pc_bdi_destroy(struct pc_backing_dev *bdi);
/* Ask the flusher to write about @nr_pages (0: whatever is over the background limit). */
PC_EXPORT void pc_bdi_wakeup(struct pc_backing_dev *bdi, long nr_pages);

/* Inode dirty state bits in pc_inode.i_state. */
enum {
	PC_I_DIRTY_SYNC = 1 << 0,	/* inode metadata (size, times) dirty */
	PC_I_DIRTY_DATASYNC = 1 << 1,	/* metadata fdatasync needs (size) */
	PC_I_DIRTY_PAGES = 1 << 2,	/* has dirty pages */
	PC_I_SYNC = 1 << 3,		/* writeback of this inode in progress */
	PC_I_NEW = 1 << 4,		/* being read in */
	PC_I_FREEING = 1 << 5,		/* being evicted */
	PC_I_WILL_FREE = 1 << 6,
};
#define PC_I_DIRTY_INODE (PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC)
#define PC_I_DIRTY_ALL (PC_I_DIRTY_INODE | PC_I_DIRTY_PAGES)

/* Mark an inode dirty (PC_I_DIRTY_*) and queue it on its bdi. Any context
 * but the tree lock. */
PC_EXPORT void pc___mark_inode_dirty(struct pc_inode *inode, int flags);
static inline void pc_mark_inode_dirty(struct pc_inode *inode) { pc___mark_inode_dirty(inode, PC_I_DIRTY_SYNC | PC_I_DIRTY_DATASYNC); }
/*
 * Write one inode's pages (per @wbc) and, if its metadata is dirty,
 * s_op->write_inode. Waits for pages if WB_SYNC_ALL. Returns 0 or -errno.
 * Caller holds a reference on the inode.
 */
PC_EXPORT int pc_write_inode_now(struct pc_inode *inode, int sync);
PC_EXPORT int pc_writeback_single_inode(struct pc_inode *inode, struct pc_writeback_control *wbc);
/* Take the inode off its bdi's dirty list (eviction). Waits while the
 * flusher is writing it (PC_I_SYNC). The caller has set PC_I_FREEING under
 * i_lock, so the flusher will not pick it up again. */
PC_EXPORT void pc_inode_io_list_del(struct pc_inode *inode);
/* Write every dirty inode of @sb and wait (sync(2) for one mount). 0 or first -errno. */
PC_EXPORT int pc_sync_inodes_sb(struct pc_super_block *sb);

/*
 * pc_balance_dirty_pages_ratelimited - called by writers after dirtying
 * pages of @mapping. Above the background threshold it wakes the flusher;
 * above the hard threshold it sleeps until dirty+writeback pages fall
 * below it. Must be called with no page locked (may sleep).
 */
PC_EXPORT void pc_balance_dirty_pages_ratelimited(struct pc_address_space *mapping);

/* Milliseconds on a monotonic clock (dirtied_when, expiry). */
PC_EXPORT unsigned long long pc_now_ms(void);

#endif /* PAGECACHE_WRITEBACK_H */
