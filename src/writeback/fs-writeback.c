/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/writeback/fs-writeback.c - dirty inode lists and the flusher thread.
 *
 * Each backing device (a block device, or a memory filesystem) has a
 * flusher thread and a list of dirty inodes, oldest first. The flusher
 * writes inodes back in chunks of PC_WB_CHUNK pages when the pool is over
 * its background dirty threshold, when asked (reclaim, throttled writers),
 * and for inodes dirty for longer than the expiry time; it also writes the
 * block device's own dirty mapping (metadata).
 *
 * Inode lifetime against the flusher: the flusher takes a reference under
 * the bdi list_lock and the inode's i_lock only if PC_I_FREEING is clear,
 * and sets PC_I_SYNC while it writes; pc_iput decides eviction under i_lock;
 * eviction calls pc_inode_io_list_del, which waits for PC_I_SYNC to clear.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pagecache/filemap.h>
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>

#define PC_WB_CHUNK 4096		/* pages per inode per pass: 16 MiB */
#define PC_WB_INTERVAL_MS 500

static pthread_mutex_t bdi_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pc_list_head bdi_list = PC_LIST_HEAD_INIT(bdi_list);

static void wake_cache_flushers(struct pc_cache *cache, long nr)
{
	pthread_mutex_lock(&bdi_list_lock);
	for (struct pc_list_head *p = bdi_list.next; p != &bdi_list; p = p->next) {
		struct pc_backing_dev *bdi = pc_list_entry(p, struct pc_backing_dev, bdi_list);
		if (bdi->cache == cache)
			pc_bdi_wakeup(bdi, nr);
	}
	pthread_mutex_unlock(&bdi_list_lock);
}

static void timed_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cond, lock, &ts);
}

/* ---- inode references for writeback ---- */

/* Take a writeback reference if the inode is not being freed. list_lock held. */
static bool wb_grab_inode(struct pc_inode *inode)
{
	bool ok;

	pthread_mutex_lock(&inode->i_lock);
	ok = !(inode->i_state & (PC_I_FREEING | PC_I_WILL_FREE));
	if (ok)
		atomic_fetch_add(&inode->i_count, 1);
	pthread_mutex_unlock(&inode->i_lock);
	return ok;
}

PC_EXPORT void pc___mark_inode_dirty(struct pc_inode *inode, int flags)
{
	struct pc_backing_dev *bdi = inode->i_data.bdi;
	bool was_dirty;

	if ((inode->i_state & flags) == (unsigned long)flags)
		return;		/* racy fast path: already marked */
	pthread_mutex_lock(&inode->i_lock);
	was_dirty = inode->i_state & PC_I_DIRTY_ALL;
	inode->i_state |= flags;
	if (inode->i_state & PC_I_FREEING)
		was_dirty = true;	/* don't queue an inode being evicted */
	pthread_mutex_unlock(&inode->i_lock);
	if (was_dirty || !bdi)
		return;
	pthread_mutex_lock(&bdi->list_lock);
	if (pc_list_empty(&inode->i_io_list)) {
		inode->dirtied_when = pc_now_ms();
		pc_list_add_tail(&inode->i_io_list, &bdi->b_dirty);
	}
	pthread_mutex_unlock(&bdi->list_lock);
}

void pc_bdi_mark_mapping_dirty(struct pc_backing_dev *bdi, struct pc_address_space *mapping);
void pc_bdi_mark_mapping_dirty(struct pc_backing_dev *bdi, struct pc_address_space *mapping)
{
	/* Unlocked peek (the flusher clears the flag under list_lock). */
	if (__atomic_load_n(&bdi->b_mapping_dirty, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&bdi->list_lock);
	if (!bdi->b_mapping_dirty) {
		bdi->b_mapping = mapping;
		__atomic_store_n(&bdi->b_mapping_dirty, true, __ATOMIC_RELEASE);
		bdi->b_mapping_dirtied_when = pc_now_ms();
	}
	pthread_mutex_unlock(&bdi->list_lock);
}

PC_EXPORT void pc_inode_io_list_del(struct pc_inode *inode)
{
	struct pc_backing_dev *bdi = inode->i_data.bdi;

	if (!bdi)
		return;
	pthread_mutex_lock(&bdi->list_lock);
	for (;;) {
		bool busy;
		pthread_mutex_lock(&inode->i_lock);
		busy = inode->i_state & PC_I_SYNC;
		pthread_mutex_unlock(&inode->i_lock);
		if (!busy)
			break;
		timed_wait_ms(&bdi->progress, &bdi->list_lock, 1);
	}
	if (!pc_list_empty(&inode->i_io_list))
		pc_list_del_init(&inode->i_io_list);
	pthread_mutex_unlock(&bdi->list_lock);
}

PC_EXPORT int pc_writeback_single_inode(struct pc_inode *inode, struct pc_writeback_control *wbc)
{
	struct pc_backing_dev *bdi = inode->i_data.bdi;
	struct pc_address_space *mapping = inode->i_mapping;
	unsigned long dirty;
	bool still_dirty;
	int ret, err;

	pthread_mutex_lock(&inode->i_lock);
	while (inode->i_state & PC_I_SYNC) {
		if (wbc->sync_mode == PC_WB_SYNC_NONE) {
			pthread_mutex_unlock(&inode->i_lock);
			return 0;	/* someone else is on it */
		}
		pthread_mutex_unlock(&inode->i_lock);
		if (bdi) {
			pthread_mutex_lock(&bdi->list_lock);
			timed_wait_ms(&bdi->progress, &bdi->list_lock, 1);
			pthread_mutex_unlock(&bdi->list_lock);
		}
		pthread_mutex_lock(&inode->i_lock);
	}
	inode->i_state |= PC_I_SYNC;
	dirty = inode->i_state & PC_I_DIRTY_ALL;
	inode->i_state &= ~PC_I_DIRTY_ALL;
	pthread_mutex_unlock(&inode->i_lock);

	ret = pc_do_writepages(mapping, wbc);
	if (wbc->sync_mode == PC_WB_SYNC_ALL) {
		err = pc_filemap_fdatawait_range(mapping, 0, LLONG_MAX);
		if (!ret)
			ret = err;
	}
	if ((dirty & PC_I_DIRTY_INODE) && inode->i_sb && inode->i_sb->s_op &&
	    inode->i_sb->s_op->write_inode) {
		err = inode->i_sb->s_op->write_inode(inode, wbc);
		if (err) {
			if (!ret)
				ret = err;
			/* Keep it dirty so a later pass retries. */
			pthread_mutex_lock(&inode->i_lock);
			inode->i_state |= dirty & PC_I_DIRTY_INODE;
			pthread_mutex_unlock(&inode->i_lock);
		}
	}

	/*
	 * Decide list membership under list_lock held across the i_lock
	 * section (list_lock -> i_lock, as in pick_inode): a concurrent
	 * pc___mark_inode_dirty either sets its bits before we read them, or
	 * finds the inode off the list and queues it itself. Deciding after
	 * dropping i_lock would let it see the inode still listed, skip
	 * queueing, and then we would unlist a dirty inode for good.
	 */
	if (bdi)
		pthread_mutex_lock(&bdi->list_lock);
	pthread_mutex_lock(&inode->i_lock);
	inode->i_state &= ~PC_I_SYNC;
	if (pc_page_tree_tagged(&mapping->tree, PC_TAG_DIRTY))
		inode->i_state |= PC_I_DIRTY_PAGES;
	still_dirty = inode->i_state & PC_I_DIRTY_ALL;
	pthread_mutex_unlock(&inode->i_lock);

	if (bdi) {
		if (!still_dirty) {
			if (!pc_list_empty(&inode->i_io_list))
				pc_list_del_init(&inode->i_io_list);
		} else if (pc_list_empty(&inode->i_io_list)) {
			inode->dirtied_when = pc_now_ms();
			pc_list_add_tail(&inode->i_io_list, &bdi->b_dirty);
		}
		pthread_cond_broadcast(&bdi->progress);
		pthread_mutex_unlock(&bdi->list_lock);
	}
	return ret;
}

PC_EXPORT int pc_write_inode_now(struct pc_inode *inode, int sync)
{
	struct pc_writeback_control wbc = {
		.nr_to_write = LONG_MAX,
		.range_start = 0,
		.range_end = LLONG_MAX,
		.sync_mode = sync ? PC_WB_SYNC_ALL : PC_WB_SYNC_NONE,
	};
	return pc_writeback_single_inode(inode, &wbc);
}

/* ---- the flusher ---- */

static bool over_bground(struct pc_backing_dev *bdi)
{
	long bg, hard;
	pc_cache_dirty_limits(bdi->cache, &bg, &hard);
	return pc_cache_nr_dirty(bdi->cache) > bg;
}

/*
 * Background writeback, once started, goes on until the dirty count is
 * down to half the background threshold: writing in large batches is what
 * lets mpage build large bios, instead of chasing the writer a few pages
 * at a time.
 */
static bool over_bground_low(struct pc_backing_dev *bdi)
{
	long bg, hard;
	pc_cache_dirty_limits(bdi->cache, &bg, &hard);
	return pc_cache_nr_dirty(bdi->cache) > bg / 2;
}

/* Oldest inode if it should be written now, referenced; list_lock held. */
static struct pc_inode *pick_inode(struct pc_backing_dev *bdi, bool all, unsigned long long now,
				   unsigned expire)
{
	struct pc_list_head *p;

	for (p = bdi->b_dirty.next; p != &bdi->b_dirty; p = p->next) {
		struct pc_inode *inode = pc_list_entry(p, struct pc_inode, i_io_list);
		if (!all && now - inode->dirtied_when < expire)
			return NULL;	/* oldest first: the rest are younger */
		if (inode->i_state & PC_I_SYNC)
			continue;
		if (!wb_grab_inode(inode))
			continue;
		/* Rotate so others get their turn while we write this one. */
		pc_list_move_tail(&inode->i_io_list, &bdi->b_dirty);
		return inode;
	}
	return NULL;
}

static void wb_writeback(struct pc_backing_dev *bdi, long work)
{
	unsigned expire = pc_cache_dirty_expire_ms(bdi->cache);
	int rounds = 0;
	bool background = over_bground(bdi);

	for (;;) {
		unsigned long long now = pc_now_ms();
		bool bg = background && over_bground_low(bdi);
		bool all = bg || work > 0;
		struct pc_inode *inode;
		struct pc_writeback_control wbc = {
			.nr_to_write = PC_WB_CHUNK,
			.sync_mode = PC_WB_SYNC_NONE,
			.range_cyclic = 1,
			.for_background = bg,
		};

		pthread_mutex_lock(&bdi->list_lock);
		inode = bdi->stop ? NULL : pick_inode(bdi, all, now, expire);
		pthread_mutex_unlock(&bdi->list_lock);
		if (!inode)
			break;
		pc_writeback_single_inode(inode, &wbc);
		pc_iput(inode);
		work -= PC_WB_CHUNK - wbc.nr_to_write;
		if (++rounds > 100000)
			break;
	}

	/* The block device's own mapping (metadata). */
	pthread_mutex_lock(&bdi->list_lock);
	if (bdi->b_mapping_dirty &&
	    (over_bground(bdi) || pc_now_ms() - bdi->b_mapping_dirtied_when >= expire || work > 0)) {
		struct pc_address_space *m = bdi->b_mapping;
		__atomic_store_n(&bdi->b_mapping_dirty, false, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&bdi->list_lock);
		struct pc_writeback_control wbc = {
			.nr_to_write = LONG_MAX, .sync_mode = PC_WB_SYNC_NONE, .range_cyclic = 1,
		};
		pc_do_writepages(m, &wbc);
		if (pc_page_tree_tagged(&m->tree, PC_TAG_DIRTY))
			pc_bdi_mark_mapping_dirty(bdi, m);
	} else {
		pthread_mutex_unlock(&bdi->list_lock);
	}
}

static bool has_expired(struct pc_backing_dev *bdi, unsigned long long now, unsigned expire)
{
	if (!pc_list_empty(&bdi->b_dirty)) {
		struct pc_inode *inode = pc_list_first_entry(&bdi->b_dirty, struct pc_inode, i_io_list);
		if (now - inode->dirtied_when >= expire)
			return true;
	}
	return bdi->b_mapping_dirty && now - bdi->b_mapping_dirtied_when >= expire;
}

static void *flusher_main(void *arg)
{
	struct pc_backing_dev *bdi = arg;
	unsigned expire = pc_cache_dirty_expire_ms(bdi->cache);

	pc_memalloc_enter();
	pthread_mutex_lock(&bdi->list_lock);
	while (!bdi->stop) {
		long work = bdi->work_pages;
		if (!work && !over_bground(bdi) && !has_expired(bdi, pc_now_ms(), expire)) {
			timed_wait_ms(&bdi->wake, &bdi->list_lock,
				      PC_MIN(PC_WB_INTERVAL_MS, expire / 2 + 1));
			continue;
		}
		bdi->work_pages = 0;
		pthread_mutex_unlock(&bdi->list_lock);
		wb_writeback(bdi, work);
		pthread_mutex_lock(&bdi->list_lock);
		pthread_cond_broadcast(&bdi->progress);
	}
	pthread_mutex_unlock(&bdi->list_lock);
	return NULL;
}

PC_EXPORT int pc_bdi_init(struct pc_backing_dev *bdi, struct pc_cache *cache, const char *name)
{
	int err;
	struct pc_cache_hooks hooks = { .wakeup_flusher = wake_cache_flushers };

	memset(bdi, 0, sizeof(*bdi));
	snprintf(bdi->name, sizeof(bdi->name), "%s", name ? name : "bdi");
	bdi->cache = cache;
	bdi->ra_pages = PC_DEFAULT_RA_PAGES;
	pthread_mutex_init(&bdi->list_lock, NULL);
	pc_list_init(&bdi->b_dirty);
	pc_list_init(&bdi->b_io);
	pthread_cond_init(&bdi->wake, NULL);
	pthread_cond_init(&bdi->progress, NULL);
	pc_cache_set_hooks(cache, &hooks);
	pthread_mutex_lock(&bdi_list_lock);
	pc_list_add_tail(&bdi->bdi_list, &bdi_list);
	pthread_mutex_unlock(&bdi_list_lock);
	err = pthread_create(&bdi->thread, NULL, flusher_main, bdi);
	if (err) {
		pthread_mutex_lock(&bdi_list_lock);
		pc_list_del_init(&bdi->bdi_list);
		pthread_mutex_unlock(&bdi_list_lock);
		return -err;
	}
	bdi->running = true;
	return 0;
}

PC_EXPORT void pc_bdi_destroy(struct pc_backing_dev *bdi)
{
	if (!bdi->running)
		return;
	pthread_mutex_lock(&bdi_list_lock);
	pc_list_del_init(&bdi->bdi_list);
	pthread_mutex_unlock(&bdi_list_lock);
	pthread_mutex_lock(&bdi->list_lock);
	bdi->stop = true;
	pthread_cond_broadcast(&bdi->wake);
	pthread_cond_broadcast(&bdi->progress);
	pthread_mutex_unlock(&bdi->list_lock);
	pthread_join(bdi->thread, NULL);
	bdi->running = false;
	pthread_cond_destroy(&bdi->wake);
	pthread_cond_destroy(&bdi->progress);
	pthread_mutex_destroy(&bdi->list_lock);
}

PC_EXPORT void pc_bdi_wakeup(struct pc_backing_dev *bdi, long nr_pages)
{
	pthread_mutex_lock(&bdi->list_lock);
	/* nr_pages 0: only "look at the background threshold". */
	if (nr_pages > 0)
		bdi->work_pages += nr_pages;
	pthread_cond_signal(&bdi->wake);
	pthread_mutex_unlock(&bdi->list_lock);
}

/* ---- sync ---- */

struct inode_vec {
	struct pc_inode **v;
	size_t n, cap;
};

/* Append @inode (a reference the vector now owns). False when the vector
 * cannot grow: the caller still owns the reference. */
static bool ivec_push(struct inode_vec *iv, struct pc_inode *inode)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 64;
		struct pc_inode **v = realloc(iv->v, cap * sizeof(*v));
		if (!v)
			return false;
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = inode;
	return true;
}

PC_EXPORT int pc_sync_inodes_sb(struct pc_super_block *sb)
{
	struct pc_backing_dev *bdi = sb->s_bdi;
	struct inode_vec iv = { 0 };
	struct pc_inode *spill = NULL;
	int ret = 0;

	/* Every inode of this sb with dirty state, or pages under writeback. */
	pthread_mutex_lock(&sb->s_inode_lock);
	for (struct pc_list_head *p = sb->s_inodes.next; p != &sb->s_inodes; p = p->next) {
		struct pc_inode *inode = pc_list_entry(p, struct pc_inode, i_sb_list);
		if (!(inode->i_state & PC_I_DIRTY_ALL) && !atomic_load(&inode->i_data.nrpages))
			continue;
		if (wb_grab_inode(inode) && !ivec_push(&iv, inode)) {
			/* No memory to track the rest: write what we hold and
			 * say the sync is incomplete (never report 0 for
			 * inodes not written). The reference is dropped
			 * after s_inode_lock (pc_iput takes it). */
			spill = inode;
			ret = -ENOMEM;
			break;
		}
	}
	pthread_mutex_unlock(&sb->s_inode_lock);
	pc_iput(spill);
	(void)bdi;

	for (size_t i = 0; i < iv.n; i++) {
		struct pc_inode *inode = iv.v[i];
		struct pc_writeback_control wbc = {
			.nr_to_write = LONG_MAX,
			.range_start = 0,
			.range_end = LLONG_MAX,
			.sync_mode = PC_WB_SYNC_ALL,
			.for_sync = 1,
		};
		int err = pc_writeback_single_inode(inode, &wbc);
		if (err && !ret)
			ret = err;
	}
	for (size_t i = 0; i < iv.n; i++)
		pc_iput(iv.v[i]);
	free(iv.v);
	return ret;
}
