// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * src/snap/snap.c - snapshot realms, per-inode dirty accounting per snap
 * context (cap_snaps), and address_space operations that write dirty data
 * to an object store in snapshot order (Linux: fs/ceph/addr.c as first
 * merged, and the cap_snap parts of fs/ceph/snap.c and caps.c).
 *
 * Invariants:
 *  S1. A page carries a context (PC_PG_private, page->private = a
 *      referenced struct pc_snap_context) from the moment it is dirtied
 *      (pc_snap_set_page_dirty) until its write completes
 *      (pc_snap_write_done) or it is truncated (pc_snap_invalidatepage).
 *      Exactly those pages are counted in si->i_wrbuffer_ref, each in the
 *      cap_snap whose context has the page's seq, or in the head
 *      (i_wrbuffer_ref_head) when its seq is the head's.
 *  S2. Seqs strictly increase along si->cap_snaps and the head's seq is
 *      greater than every cap_snap's: a seq identifies where a page is
 *      counted. (Contexts of equal seq differ only by removed snapshots.)
 *  S3. Writeback writes only pages of the oldest seq with a count > 0, and
 *      a count drops only when the store has completed the write. So no
 *      write of a newer seq is submitted for an inode before every write
 *      of an older seq has completed: the order the object store needs.
 *  S4. While a cap_snap is pending (a write section was open at the
 *      snapshot), the head is empty, newly dirtied pages join that
 *      cap_snap, and new write sections wait (si->wq) until the open one
 *      ends and finalises it.
 *  S5. The realm's context changes only under realm->rwsem exclusive; a
 *      page picks its context under realm->rwsem shared and si->lock, so a
 *      page dirtied "during" a snapshot lands wholly before or after it.
 *
 * Lock order: see include/pagecache/snap.h and docs/locking.md.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <pagecache/snap.h>
#include <pagecache/filemap.h>
#include <pagecache/writeback.h>
#include <pagecache/vfs.h>

/* write_begin's notes for write_end (fsdata). */
#define SNAP_ZEROED_PAST_EOF ((void *)1)	/* page wholly past EOF, zeroed */
#define SNAP_ZEROED_COVER ((void *)2)		/* zeroed: the write covers all data */

static inline void si_lock(struct pc_snap_inode *si) { pc_mutex_lock(&si->lock); }
static inline void si_unlock(struct pc_snap_inode *si) { pc_mutex_unlock(&si->lock); }

/* Sleep on si->wq; si->lock held on entry and on return. */
static void si_wait(struct pc_snap_inode *si)
{
	pthread_cond_wait(&si->wq, &si->lock.m);
#ifndef NDEBUG
	atomic_store_explicit(&si->lock.owner, pc_lock_self(), memory_order_relaxed);
#endif
}

static inline struct pc_snap_context *page_snapc(const struct pc_page *page)
{
	return (struct pc_snap_context *)page->private;
}

static inline struct pc_snap_cap_snap *last_cap_snap(struct pc_snap_inode *si)
{
	if (pc_list_empty(&si->cap_snaps))
		return NULL;
	return pc_list_entry(si->cap_snaps.prev, struct pc_snap_cap_snap, item);
}

/* ------------------------------------------------------------------ */
/* Realm                                                              */
/* ------------------------------------------------------------------ */

PC_EXPORT int pc_snap_realm_init(struct pc_snap_realm *realm, uint64_t seq)
{
	pthread_rwlockattr_t attr;

	memset(realm, 0, sizeof(*realm));
	realm->context = pc_snap_context_alloc(seq, NULL, 0);
	if (!realm->context)
		return -ENOMEM;
	pthread_rwlockattr_init(&attr);
	/* A stream of writers must not starve a snapshot; nobody takes the
	 * shared side twice, so the non-recursive writer preference is safe. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pc_rwsem_init(&realm->rwsem, &attr);
	pthread_rwlockattr_destroy(&attr);
	pc_mutex_init(&realm->list_lock);
	pc_mutex_init(&realm->inodes_lock);
	pc_list_init(&realm->inodes);
	pc_list_init(&realm->dirty_inodes);
	return 0;
}

PC_EXPORT void pc_snap_realm_destroy(struct pc_snap_realm *realm)
{
	PC_BUG_ON(!pc_list_empty(&realm->inodes));
	pc_snap_context_put(realm->context);
	realm->context = NULL;
	pc_rwsem_destroy(&realm->rwsem);
	pc_mutex_destroy(&realm->list_lock);
	pc_mutex_destroy(&realm->inodes_lock);
}

PC_EXPORT struct pc_snap_context *pc_snap_realm_get_context(struct pc_snap_realm *realm)
{
	struct pc_snap_context *sc;

	pc_rwsem_down_read(&realm->rwsem);
	sc = pc_snap_context_get(realm->context);
	pc_rwsem_up_read(&realm->rwsem);
	return sc;
}

PC_EXPORT int pc_snap_realm_set_context(struct pc_snap_realm *realm, uint64_t seq,
					const uint64_t *snaps, uint32_t num_snaps)
{
	struct pc_snap_context *sc, *old;
	int err = 0;

	if (num_snaps && !snaps)
		return -EINVAL;
	for (uint32_t i = 0; i < num_snaps; i++)
		if (snaps[i] > seq || (i && snaps[i] >= snaps[i - 1]))
			return -EINVAL;
	sc = pc_snap_context_alloc(seq, snaps, num_snaps);
	if (!sc)
		return -ENOMEM;
	pc_rwsem_down_write(&realm->rwsem);
	old = realm->context;
	if (seq < old->seq) {
		err = -EINVAL;
		goto out;
	}
	pc_mutex_lock(&realm->inodes_lock);
	for (struct pc_list_head *p = realm->inodes.next; p != &realm->inodes; p = p->next) {
		struct pc_snap_inode *si = pc_list_entry(p, struct pc_snap_inode, realm_item);
		bool dirty;

		pc_mutex_lock(&si->lock);
		dirty = si->i_wrbuffer_ref > 0 || si->i_wr_ref > 0;
		pc_mutex_unlock(&si->lock);
		if (dirty) {
			err = -EBUSY;
			break;
		}
	}
	pc_mutex_unlock(&realm->inodes_lock);
	if (!err) {
		realm->context = sc;
		sc = old;
	}
out:
	pc_rwsem_up_write(&realm->rwsem);
	pc_snap_context_put(sc);
	return err;
}

PC_EXPORT int pc_snap_realm_snapshot(struct pc_snap_realm *realm, uint64_t snapid)
{
	struct pc_snap_context *old, *sc;
	struct pc_snap_cap_snap **pre = NULL;
	uint64_t *ids;
	size_t nr_dirty = 0, used = 0;
	int err = 0;

	pc_rwsem_down_write(&realm->rwsem);
	old = realm->context;
	if (snapid <= old->seq || snapid >= PC_SNAP_HEAD) {
		err = -EINVAL;
		goto out;
	}
	ids = malloc(((size_t)old->num_snaps + 1) * sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto out;
	}
	ids[0] = snapid;
	memcpy(ids + 1, old->snaps, (size_t)old->num_snaps * sizeof(*ids));
	sc = pc_snap_context_alloc(snapid, ids, old->num_snaps + 1);
	free(ids);
	if (!sc) {
		err = -ENOMEM;
		goto out;
	}
	/* Allocate every cap_snap first: past this point nothing can fail. */
	for (struct pc_list_head *p = realm->dirty_inodes.next; p != &realm->dirty_inodes; p = p->next)
		nr_dirty++;
	if (nr_dirty) {
		pre = calloc(nr_dirty, sizeof(*pre));
		for (size_t i = 0; pre && i < nr_dirty; i++) {
			pre[i] = calloc(1, sizeof(**pre));
			if (!pre[i]) {
				while (i--)
					free(pre[i]);
				free(pre);
				pre = NULL;
			}
		}
		if (!pre) {
			pc_snap_context_put(sc);
			err = -ENOMEM;
			goto out;
		}
	}
	/*
	 * Every inode with head pages gets a cap_snap taking over the head
	 * count (Linux: ceph_queue_cap_snap). The dirty list is only added to
	 * under the shared side of rwsem, which we hold exclusive: walking and
	 * pruning it needs no other lock than each inode's.
	 */
	while (!pc_list_empty(&realm->dirty_inodes)) {
		struct pc_snap_inode *si = pc_list_first_entry(&realm->dirty_inodes,
							       struct pc_snap_inode, realm_dirty);
		pc_mutex_lock(&si->lock);
		if (si->i_wrbuffer_ref_head > 0) {
			struct pc_snap_cap_snap *cs = pre[used++];

			cs->context = si->head_snapc;	/* the head's reference moves */
			si->head_snapc = NULL;
			cs->dirty_pages = si->i_wrbuffer_ref_head;
			si->i_wrbuffer_ref_head = 0;
			cs->pending = si->i_wr_ref > 0;
			if (!cs->pending) {
				cs->size = pc_i_size_read(si->inode);
				pc_inode_get_times(si->inode, NULL, &cs->mtime, NULL);
			}
			pc_list_add_tail(&cs->item, &si->cap_snaps);
			atomic_fetch_add(&realm->nr_cap_snaps, 1);
			if (cs->pending)
				atomic_fetch_add(&realm->nr_pending, 1);
		}
		pc_mutex_lock(&realm->list_lock);
		pc_list_del_init(&si->realm_dirty);
		si->on_dirty_list = false;
		pc_mutex_unlock(&realm->list_lock);
		pc_mutex_unlock(&si->lock);
	}
	for (size_t i = used; i < nr_dirty; i++)
		free(pre[i]);
	free(pre);
	realm->context = sc;
	pc_snap_context_put(old);
	atomic_fetch_add(&realm->nr_snapshots, 1);
out:
	pc_rwsem_up_write(&realm->rwsem);
	return err;
}

PC_EXPORT int pc_snap_realm_remove(struct pc_snap_realm *realm, uint64_t snapid)
{
	struct pc_snap_context *old, *sc;
	uint64_t *ids;
	uint32_t n = 0;
	bool found = false;
	int err = 0;

	pc_rwsem_down_write(&realm->rwsem);
	old = realm->context;
	ids = malloc(((size_t)old->num_snaps + 1) * sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < old->num_snaps; i++) {
		if (old->snaps[i] == snapid)
			found = true;
		else
			ids[n++] = old->snaps[i];
	}
	if (!found) {
		free(ids);
		err = -ENOENT;
		goto out;
	}
	sc = pc_snap_context_alloc(old->seq, ids, n);	/* same seq: see snap.h */
	free(ids);
	if (!sc) {
		err = -ENOMEM;
		goto out;
	}
	realm->context = sc;
	pc_snap_context_put(old);
out:
	pc_rwsem_up_write(&realm->rwsem);
	return err;
}

/* ------------------------------------------------------------------ */
/* Per-inode state                                                    */
/* ------------------------------------------------------------------ */

PC_EXPORT void pc_snap_inode_init(struct pc_snap_inode *si, struct pc_inode *inode,
				  struct pc_snap_realm *realm, const struct pc_snap_inode_ops *ops)
{
	memset(si, 0, sizeof(*si));
	si->inode = inode;
	si->realm = realm;
	si->ops = ops;
	pc_mutex_init(&si->lock);
	pthread_cond_init(&si->wq, NULL);
	pc_list_init(&si->cap_snaps);
	pc_list_init(&si->realm_item);
	pc_list_init(&si->realm_dirty);
	inode->i_mapping->private_data = si;
	pc_mutex_lock(&realm->inodes_lock);
	pc_list_add_tail(&si->realm_item, &realm->inodes);
	pc_mutex_unlock(&realm->inodes_lock);
}

PC_EXPORT void pc_snap_inode_destroy(struct pc_snap_inode *si)
{
	struct pc_snap_realm *realm = si->realm;

	si_lock(si);
	while (si->inflight)
		si_wait(si);
	PC_BUG_ON(si->i_wrbuffer_ref != 0 || si->i_wr_ref != 0);
	while (!pc_list_empty(&si->cap_snaps)) {
		struct pc_snap_cap_snap *cs = pc_list_first_entry(&si->cap_snaps,
							       struct pc_snap_cap_snap, item);
		pc_list_del_init(&cs->item);
		pc_snap_context_put(cs->context);
		free(cs);
	}
	pc_snap_context_put(si->head_snapc);
	si->head_snapc = NULL;
	si_unlock(si);

	/* Shared side: a snapshot (exclusive) is not walking the dirty list. */
	pc_mutex_lock(&realm->inodes_lock);
	pc_list_del_init(&si->realm_item);
	pc_mutex_unlock(&realm->inodes_lock);
	pc_rwsem_down_read(&realm->rwsem);
	pc_mutex_lock(&realm->list_lock);
	if (si->on_dirty_list) {
		pc_list_del_init(&si->realm_dirty);
		si->on_dirty_list = false;
	}
	pc_mutex_unlock(&realm->list_lock);
	pc_rwsem_up_read(&realm->rwsem);
	if (si->inode->i_mapping->private_data == si)
		si->inode->i_mapping->private_data = NULL;
	pthread_cond_destroy(&si->wq);
	pc_mutex_destroy(&si->lock);
}

PC_EXPORT struct pc_snap_inode *pc_snap_page_inode(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;

	return mapping ? mapping->private_data : NULL;
}

/*
 * Drop @n pages of seq @seq from the counts (Linux:
 * ceph_put_wrbuffer_cap_refs). A cap_snap left with no page that is not
 * pending is freed. si->lock held.
 */
static void put_wrbuffer_refs(struct pc_snap_inode *si, uint64_t seq, long n)
{
	if (si->head_snapc && si->head_snapc->seq == seq) {
		si->i_wrbuffer_ref_head -= n;
		PC_BUG_ON(si->i_wrbuffer_ref_head < 0);
		if (!si->i_wrbuffer_ref_head) {
			pc_snap_context_put(si->head_snapc);
			si->head_snapc = NULL;
		}
	} else {
		struct pc_snap_cap_snap *cs = NULL;

		for (struct pc_list_head *p = si->cap_snaps.next; p != &si->cap_snaps; p = p->next) {
			struct pc_snap_cap_snap *c = pc_list_entry(p, struct pc_snap_cap_snap, item);
			if (c->context->seq == seq) {
				cs = c;
				break;
			}
		}
		PC_BUG_ON(!cs);
		if (!cs)
			return;
		cs->dirty_pages -= n;
		PC_BUG_ON(cs->dirty_pages < 0);
		if (!cs->dirty_pages && !cs->pending) {
			pc_list_del_init(&cs->item);
			pc_snap_context_put(cs->context);
			free(cs);
		}
	}
	si->i_wrbuffer_ref -= n;
	PC_BUG_ON(si->i_wrbuffer_ref < 0);
	pthread_cond_broadcast(&si->wq);
}

/*
 * The oldest context with dirty data (Linux: __get_oldest_context),
 * referenced, and the file size that goes with it (the size at the
 * snapshot, or i_size for the head and a pending cap_snap). NULL if the
 * inode has no dirty page. si->lock held.
 */
static struct pc_snap_context *oldest_context(struct pc_snap_inode *si, int64_t *size, bool *is_head)
{
	for (struct pc_list_head *p = si->cap_snaps.next; p != &si->cap_snaps; p = p->next) {
		struct pc_snap_cap_snap *cs = pc_list_entry(p, struct pc_snap_cap_snap, item);
		if (cs->dirty_pages > 0) {
			*size = cs->pending ? pc_i_size_read(si->inode) : cs->size;
			*is_head = false;
			return pc_snap_context_get(cs->context);
		}
	}
	if (si->i_wrbuffer_ref_head > 0) {
		*size = pc_i_size_read(si->inode);
		*is_head = true;
		return pc_snap_context_get(si->head_snapc);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Dirtying and invalidation                                          */
/* ------------------------------------------------------------------ */

PC_EXPORT bool pc_snap_set_page_dirty(struct pc_page *page)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_snap_inode *si = mapping ? mapping->private_data : NULL;
	struct pc_snap_realm *realm;
	struct pc_snap_cap_snap *last;
	struct pc_snap_context *sc;
	bool ret;

	if (!mapping)
		return !pc_TestSetPageDirty(page);
	if (!si || pc_PagePrivate(page))
		return pc___set_page_dirty_nobuffers(page);	/* keeps its context */
	realm = si->realm;
	pc_rwsem_down_read(&realm->rwsem);
	si_lock(si);
	last = last_cap_snap(si);
	if (last && last->pending) {
		/* A write open at the snapshot: its page belongs to it (S4). */
		sc = pc_snap_context_get(last->context);
		last->dirty_pages++;
	} else {
		sc = pc_snap_context_get(realm->context);
		if (si->i_wrbuffer_ref_head++ == 0) {
			si->head_snapc = pc_snap_context_get(realm->context);
			pc_mutex_lock(&realm->list_lock);
			if (!si->on_dirty_list) {
				pc_list_add_tail(&si->realm_dirty, &realm->dirty_inodes);
				si->on_dirty_list = true;
			}
			pc_mutex_unlock(&realm->list_lock);
		}
	}
	si->i_wrbuffer_ref++;
	page->private = (unsigned long)sc;
	pc_SetPagePrivate(page);
	/* Tagged before si->lock is dropped: a counted page is findable. */
	ret = pc___set_page_dirty_nobuffers(page);
	si_unlock(si);
	pc_rwsem_up_read(&realm->rwsem);
	return ret;
}

PC_EXPORT void pc_snap_invalidatepage(struct pc_page *page, unsigned offset, unsigned length)
{
	struct pc_snap_inode *si = pc_snap_page_inode(page);
	struct pc_snap_context *sc;

	PC_BUG_ON(!pc_PageLocked(page));
	if (offset != 0 || length < PC_PAGE_SIZE || !pc_PagePrivate(page) || !si)
		return;
	sc = page_snapc(page);
	page->private = 0;
	pc_ClearPagePrivate(page);
	si_lock(si);
	put_wrbuffer_refs(si, sc->seq, 1);
	si_unlock(si);
	pc_snap_context_put(sc);
}

PC_EXPORT bool pc_snap_releasepage(struct pc_page *page)
{
	return !pc_PagePrivate(page);
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

static struct pc_snap_write *write_alloc(struct pc_snap_inode *si, unsigned long max_pages)
{
	struct pc_snap_write *req = calloc(1, sizeof(*req) + max_pages * sizeof(req->pages[0]));

	if (req)
		req->si = si;
	return req;
}

PC_EXPORT void pc_snap_write_done(struct pc_snap_write *req, int err)
{
	struct pc_snap_inode *si = req->si;
	struct pc_snap_realm *realm = si->realm;

	if (err) {
		pc_mapping_set_error(si->inode->i_mapping, err);
		atomic_fetch_add(&realm->nr_write_errors, 1);
	} else {
		atomic_fetch_add(&realm->nr_pages_written, req->nr_pages);
	}
	/* Counts first: once the store has completed, the next context may go
	 * (S3). The pages stay locked and under writeback until below, so
	 * truncate and eviction (which wait for them) cannot free @si before
	 * this section is over. */
	si_lock(si);
	put_wrbuffer_refs(si, req->snapc->seq, req->nr_pages);
	si->inflight--;
	pthread_cond_broadcast(&si->wq);
	si_unlock(si);
	for (unsigned i = 0; i < req->nr_pages; i++) {
		struct pc_page *page = req->pages[i];
		struct pc_snap_context *sc = page_snapc(page);

		page->private = 0;
		pc_ClearPagePrivate(page);
		pc_snap_context_put(sc);
		if (err)
			pc_SetPageError(page);
		else
			pc_ClearPageError(page);	/* an earlier failure is over */
		pc_end_page_writeback(page);
		if (!req->_keep_locked)
			pc_unlock_page(page);
		pc_put_page(page);
	}
	pc_snap_context_put(req->snapc);
	free(req);
}

/*
 * Send @req (pages locked, under writeback) to the filesystem; @size is
 * the file size its context goes with. A run wholly past @size is
 * completed at once without I/O (Linux drops such pages in writepage).
 * Returns 0 or write_pages' -errno (the request is then completed with it).
 */
static int submit_write(struct pc_snap_write *req, int64_t size, bool sync)
{
	struct pc_snap_inode *si = req->si;
	int64_t room = size - req->pos;
	int err;

	req->snapc = pc_snap_context_get(page_snapc(req->pages[0]));
	req->sync = sync;
	req->len = room <= 0 ? 0 : (size_t)PC_MIN((int64_t)req->nr_pages << PC_PAGE_SHIFT, room);
	si_lock(si);
	si->inflight++;
	si_unlock(si);
	if (!req->len) {
		pc_snap_write_done(req, 0);
		return 0;
	}
	atomic_fetch_add(&si->realm->nr_writes, 1);
	err = si->ops->write_pages(si, req);
	if (err)
		pc_snap_write_done(req, err);
	return err;
}

/* Run limit at @index: the filesystem's, else the default object size. */
static unsigned long run_limit(struct pc_snap_inode *si, pc_pgoff_t index)
{
	unsigned long n;

	if (si->ops->max_pages) {
		n = si->ops->max_pages(si, index);
		return n ? n : 1;
	}
	return PC_SNAP_DEFAULT_RUN_PAGES - (index % PC_SNAP_DEFAULT_RUN_PAGES);
}

struct wr_state {
	struct pc_snap_inode *si;
	struct pc_address_space *mapping;
	struct pc_writeback_control *wbc;
	uint64_t seq;		/* the context being written */
	int64_t size;		/* its file size (head: i_size, refreshed) */
	bool head;		/* the head context */
	long submitted;		/* pages put into requests */
	int err;		/* first write_pages error */
	struct pc_snap_write *req;	/* the run being built */
	unsigned long max;	/* its limit */
	pc_pgoff_t next;	/* the index that would extend it */
};

static void flush_run(struct wr_state *st)
{
	int err;

	if (!st->req)
		return;
	if (st->head)	/* the head's pages are all below the current i_size */
		st->size = PC_MAX(st->size, pc_i_size_read(st->si->inode));
	err = submit_write(st->req, st->size, st->wbc->sync_mode == PC_WB_SYNC_ALL);
	if (err && !st->err)
		st->err = err;
	st->req = NULL;
}

/*
 * Write the dirty pages of seq st->seq in [@start, @end] (indexes) in runs
 * (Linux: the loop of ceph_writepages_start). Returns true when a
 * WB_SYNC_NONE pass ran out of nr_to_write; *@stop gets the index after
 * the last page looked at.
 */
static bool write_range(struct wr_state *st, pc_pgoff_t start, pc_pgoff_t end, pc_pgoff_t *stop)
{
	struct pc_writeback_control *wbc = st->wbc;
	bool sync = wbc->sync_mode == PC_WB_SYNC_ALL;
	pc_pgoff_t index = start;
	struct pc_pagevec pv;

	while (index <= end) {
		if (!pc_pagevec_lookup_range_tag(&pv, st->mapping, &index, end, PC_TAG_DIRTY))
			break;
		for (unsigned i = 0; i < pv.nr; i++) {
			struct pc_page *page = pv.pages[i];

			*stop = page->index + 1;
			if (st->req && (page->index != st->next || st->req->nr_pages >= st->max))
				flush_run(st);
			/* The first page of a run may sleep on its lock; the
			 * others are only tried (the seed's rule), so we never
			 * sleep on a page lock while holding locked pages. */
			if (st->req && !pc_trylock_page(page))
				flush_run(st);
			if (!st->req)
				pc_lock_page(page);
			if (page->mapping != st->mapping || !pc_PageDirty(page) ||
			    !pc_PagePrivate(page) || page_snapc(page)->seq != st->seq) {
				/* Not ours (another context, or written meanwhile):
				 * the run is not contiguous in this context. */
				pc_unlock_page(page);
				flush_run(st);
				continue;
			}
			if (pc_PageWriteback(page)) {
				if (!sync) {
					pc_unlock_page(page);
					flush_run(st);
					continue;
				}
				pc_wait_on_page_writeback(page);
			}
			if ((int64_t)page->index << PC_PAGE_SHIFT >= st->size && st->head)
				st->size = PC_MAX(st->size, pc_i_size_read(st->si->inode));
			if ((int64_t)page->index << PC_PAGE_SHIFT >= st->size) {
				/* Past this context's EOF as sampled (a write grew
				 * the file since, or a truncate is removing it):
				 * leave it dirty, as the seed stops there. */
				pc_unlock_page(page);
				flush_run(st);
				continue;
			}
			if (!pc_clear_page_dirty_for_io(page)) {
				pc_unlock_page(page);
				flush_run(st);
				continue;
			}
			if (!st->req) {
				st->max = run_limit(st->si, page->index);
				st->req = write_alloc(st->si, st->max);
				if (!st->req) {
					pc_redirty_page_for_writepage(wbc, page);
					pc_unlock_page(page);
					if (!st->err)
						st->err = -ENOMEM;
					pc_pagevec_release(&pv);
					return true;
				}
				st->req->pos = (int64_t)page->index << PC_PAGE_SHIFT;
			}
			pc_set_page_writeback(page);
			pc_get_page(page);	/* the request's reference */
			st->req->pages[st->req->nr_pages++] = page;
			st->next = page->index + 1;
			st->submitted++;
			if (--wbc->nr_to_write <= 0 && !sync) {
				flush_run(st);
				pc_pagevec_release(&pv);
				return true;
			}
		}
		pc_pagevec_release(&pv);
	}
	flush_run(st);
	return false;
}

/* Wait until no write of @si is in flight. No lock held. */
static void wait_inflight(struct pc_snap_inode *si)
{
	si_lock(si);
	while (si->inflight)
		si_wait(si);
	si_unlock(si);
}

/* The oldest dirty context's seq, size and kind; false if nothing is dirty. */
static bool oldest_seq(struct pc_snap_inode *si, uint64_t *seq, int64_t *size, bool *is_head)
{
	struct pc_snap_context *sc;

	si_lock(si);
	sc = oldest_context(si, size, is_head);
	si_unlock(si);
	if (!sc)
		return false;
	*seq = sc->seq;
	pc_snap_context_put(sc);
	return true;
}

/*
 * Write, oldest first and waiting for each, every context with seq below
 * @below (all cap_snaps for PC_SNAP_HEAD). 0 or a write_pages error.
 */
static int flush_older(struct pc_snap_inode *si, uint64_t below)
{
	struct pc_writeback_control wbc = {
		.nr_to_write = LONG_MAX, .range_end = LLONG_MAX, .sync_mode = PC_WB_SYNC_ALL,
	};
	uint64_t seq, last = 0;
	int64_t size;
	bool is_head;
	int idle = 0, err = 0;
	unsigned old = pc_memalloc_enter();

	while (oldest_seq(si, &seq, &size, &is_head) && !is_head && seq < below) {
		struct wr_state st = {
			.si = si, .mapping = si->inode->i_mapping, .wbc = &wbc, .seq = seq, .size = size,
		};
		pc_pgoff_t stop;

		write_range(&st, 0, ~(pc_pgoff_t)0 >> 1, &stop);
		wait_inflight(si);
		if (st.err) {
			err = st.err;
			break;
		}
		/* A page being redirtied by a writepage that must not write it
		 * is counted but not tagged for a moment: look again. */
		if (!st.submitted && seq == last) {
			if (++idle > 10000) {
				err = -EIO;
				break;
			}
			sched_yield();
		} else {
			idle = 0;
		}
		last = seq;
	}
	pc_memalloc_leave(old);
	return err;
}

PC_EXPORT int pc_snap_inode_flush_older(struct pc_snap_inode *si)
{
	struct pc_address_space *mapping = si->inode->i_mapping;
	uint32_t since = atomic_load(&mapping->wb_err);
	int err = flush_older(si, PC_SNAP_HEAD);

	return err ? err : pc_errseq_check(&mapping->wb_err, since);
}

PC_EXPORT int pc_snap_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc)
{
	struct pc_snap_inode *si = mapping->private_data;
	bool sync = wbc->sync_mode == PC_WB_SYNC_ALL;
	pc_pgoff_t hstart, hend, stop = 0;
	uint64_t seq, last = 0;
	bool have_last = false, is_head;
	int64_t size;
	int idle = 0, ret = 0;

	if (!si)
		return 0;
	if (wbc->range_cyclic) {
		hstart = atomic_load(&mapping->writeback_index);
		hend = ~(pc_pgoff_t)0 >> 1;
	} else {
		hstart = wbc->range_start >> PC_PAGE_SHIFT;
		hend = wbc->range_end >> PC_PAGE_SHIFT;
	}
	while (oldest_seq(si, &seq, &size, &is_head)) {
		struct wr_state st = {
			.si = si, .mapping = mapping, .wbc = wbc, .seq = seq, .size = size,
			.head = is_head,
		};
		bool out = false;

		if (have_last && seq == last) {
			/* Still the same context after its writes completed:
			 * WB_SYNC_NONE leaves what it could not take (pages
			 * locked elsewhere) for later; WB_SYNC_ALL writes what
			 * was dirtied into it since. */
			if (!sync)
				break;
			if (++idle > 10000)
				break;
			sched_yield();
		} else {
			idle = 0;
		}
		/* A new oldest context: the scan starts over (the seed's
		 * "snapc differs from last pass, restarting"). */
		have_last = true;
		last = seq;
		if (!is_head) {
			/* Older contexts are written whole: their order cannot
			 * wait on the caller's range. */
			out = write_range(&st, 0, ~(pc_pgoff_t)0 >> 1, &stop);
		} else {
			out = write_range(&st, hstart, hend, &stop);
			if (!out && wbc->range_cyclic && hstart > 0)
				out = write_range(&st, 0, hstart - 1, &stop);
			if (wbc->range_cyclic)
				atomic_store(&mapping->writeback_index, out ? stop : 0);
		}
		if (st.err && !ret)
			ret = st.err;
		if (sync) {
			/* Integrity: this context's writes complete before the
			 * next context's are sent. The head is scanned once, so
			 * a steady writer cannot keep fsync going. */
			wait_inflight(si);
			if (is_head || st.err)
				break;
			if (st.submitted)
				idle = 0;
			continue;
		}
		if (out || is_head || st.err)
			break;
		/* An older context went out and budget is left: let its
		 * writes complete (the store answers them; nothing here holds
		 * a page) so the next context can follow in this call, rather
		 * than have the flusher come back to find them in flight. */
		wait_inflight(si);
	}
	return ret;
}

/*
 * Write the locked, dirty-cleared @page of the oldest context alone. On
 * -ENOMEM nothing was sent: the page is redirtied (still locked, still
 * counted). Any other result: the request was completed or will be.
 */
static int write_one_locked(struct pc_snap_inode *si, struct pc_page *page, int64_t size, bool sync,
			    bool keep_locked)
{
	struct pc_snap_write *req = write_alloc(si, 1);

	if (!req) {
		pc_set_page_dirty(page);	/* keeps its context (S1) */
		return -ENOMEM;
	}
	req->_keep_locked = keep_locked;
	req->pos = (int64_t)page->index << PC_PAGE_SHIFT;
	pc_set_page_writeback(page);
	pc_get_page(page);
	req->pages[req->nr_pages++] = page;
	return submit_write(req, size, sync);
}

PC_EXPORT int pc_snap_writepage(struct pc_page *page, struct pc_writeback_control *wbc)
{
	struct pc_address_space *mapping = page->mapping;
	struct pc_snap_inode *si = pc_snap_page_inode(page);
	struct pc_snap_context *oldest = NULL;
	int64_t size = 0;
	bool is_head, ok;
	int err;

	PC_BUG_ON(!pc_PageLocked(page));
	if (!si || !pc_PagePrivate(page)) {
		pc_unlock_page(page);
		return 0;
	}
	si_lock(si);
	oldest = oldest_context(si, &size, &is_head);
	si_unlock(si);
	ok = oldest && oldest->seq == page_snapc(page)->seq;
	pc_snap_context_put(oldest);
	if (!ok) {
		/* Writing it now would put newer data ahead of older data of
		 * the same object (the seed's "not writeable - noop"). Keep it
		 * dirty and let ordered writeback (the flusher runs
		 * pc_snap_writepages, oldest context first) make the progress
		 * reclaim is after. */
		pc_redirty_page_for_writepage(wbc, page);
		pc_unlock_page(page);
		if (mapping && mapping->bdi)
			pc_bdi_wakeup(mapping->bdi, PC_SNAP_DEFAULT_RUN_PAGES);
		return 0;
	}
	err = write_one_locked(si, page, size, wbc && wbc->sync_mode == PC_WB_SYNC_ALL, false);
	if (err == -ENOMEM) {
		if (wbc)
			wbc->pages_skipped++;
		pc_unlock_page(page);
	}
	return err;
}

/* ------------------------------------------------------------------ */
/* write_begin / write_end                                            */
/* ------------------------------------------------------------------ */

/* Open a write section (Linux: taking the Fw cap reference): waits while
 * a cap_snap is pending (S4). */
static void wr_get(struct pc_snap_inode *si)
{
	struct pc_snap_cap_snap *last;

	si_lock(si);
	while ((last = last_cap_snap(si)) && last->pending)
		si_wait(si);
	si->i_wr_ref++;
	si_unlock(si);
}

/* Close it; the last one finalises pending cap_snaps (Linux:
 * __ceph_finish_cap_snap): their size and mtime are now known. */
static void wr_put(struct pc_snap_inode *si)
{
	si_lock(si);
	if (--si->i_wr_ref == 0) {
		struct pc_list_head *p, *n;

		for (p = si->cap_snaps.next; p != &si->cap_snaps; p = n) {
			struct pc_snap_cap_snap *cs = pc_list_entry(p, struct pc_snap_cap_snap, item);

			n = p->next;
			if (!cs->pending)
				continue;
			cs->pending = false;
			cs->size = pc_i_size_read(si->inode);
			pc_inode_get_times(si->inode, NULL, &cs->mtime, NULL);
			if (!cs->dirty_pages) {
				pc_list_del_init(&cs->item);
				pc_snap_context_put(cs->context);
				free(cs);
			}
		}
	}
	pthread_cond_broadcast(&si->wq);
	si_unlock(si);
}

PC_EXPORT void pc_snap_get_write(struct pc_snap_inode *si)
{
	wr_get(si);
}

PC_EXPORT void pc_snap_put_write(struct pc_snap_inode *si)
{
	wr_put(si);
}

PC_EXPORT struct pc_snap_context *pc_snap_inode_write_context(struct pc_snap_inode *si)
{
	struct pc_snap_realm *realm = si->realm;
	struct pc_snap_cap_snap *last;
	struct pc_snap_context *sc;

	pc_rwsem_down_read(&realm->rwsem);
	si_lock(si);
	last = last_cap_snap(si);
	sc = pc_snap_context_get(last && last->pending ? last->context : realm->context);
	si_unlock(si);
	pc_rwsem_up_read(&realm->rwsem);
	return sc;
}

PC_EXPORT int pc_snap_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				  unsigned len, unsigned flags, struct pc_page **pagep,
				  void **fsdata)
{
	struct pc_snap_inode *si = mapping->private_data;
	struct pc_inode *inode = mapping->host;
	pc_pgoff_t index = pos >> PC_PAGE_SHIFT;
	unsigned from = pos & ~PC_PAGE_MASK;
	struct pc_page *page;
	int64_t i_size;
	int err;

	*fsdata = NULL;
	if (inode->i_sb && pos + (loff_t)len > inode->i_sb->s_maxbytes)
		return -EFBIG;
retry:
	wr_get(si);
	page = pc_grab_cache_page_write_begin(mapping, index, flags);
	if (!page) {
		wr_put(si);
		return -ENOMEM;
	}
retry_locked:
	if (pc_PagePrivate(page)) {
		struct pc_snap_realm *realm = si->realm;
		struct pc_snap_context *sc = page_snapc(page), *oldest;
		struct pc_snap_cap_snap *last;
		uint64_t target;
		int64_t size = 0;
		bool is_head;

		pc_rwsem_down_read(&realm->rwsem);
		si_lock(si);
		last = last_cap_snap(si);
		target = last && last->pending ? last->context->seq : realm->context->seq;
		oldest = oldest_context(si, &size, &is_head);
		si_unlock(si);
		pc_rwsem_up_read(&realm->rwsem);

		if (sc->seq != target) {
			/* Dirty in an older context: that data must reach the
			 * store, in order, before this page takes new bytes. */
			if (oldest && oldest->seq == sc->seq) {
				pc_snap_context_put(oldest);
				/* The oldest: write it now, keeping the page. */
				if (pc_clear_page_dirty_for_io(page)) {
					err = write_one_locked(si, page, size, true, true);
					if (err == -ENOMEM)
						goto fail;	/* redirtied, nothing sent */
					pc_wait_on_page_writeback(page);
					if (!err && pc_PageError(page))
						err = -EIO;
					if (err)
						goto fail;
				}
				goto retry_locked;
			}
			pc_snap_context_put(oldest);
			/* Not yet writeable: let the older contexts go first
			 * (the page is released meanwhile), then start over. */
			uint64_t seq = sc->seq;
			pc_unlock_page(page);
			pc_put_page(page);
			wr_put(si);
			err = flush_older(si, seq);
			if (err)
				return err;
			goto retry;
		}
		pc_snap_context_put(oldest);
	}
	*pagep = page;
	if (pc_PageUptodate(page))
		return 0;
	if (from == 0 && len == PC_PAGE_SIZE)
		return 0;	/* full page: no read (write_end handles short copies) */
	i_size = pc_i_size_read(inode);
	if ((int64_t)index << PC_PAGE_SHIFT >= i_size || (from == 0 && pos + (loff_t)len >= i_size)) {
		/* Nothing to read: past EOF, or the write covers all the data. */
		pc_zero_user_segment(page, 0, from);
		pc_zero_user_segment(page, from + len, PC_PAGE_SIZE);
		*fsdata = (int64_t)index << PC_PAGE_SHIFT >= i_size ? SNAP_ZEROED_PAST_EOF
								     : SNAP_ZEROED_COVER;
		return 0;
	}
	/* Read it (readpage unlocks), then look again with the lock. */
	pc_ClearPageError(page);
	err = mapping->a_ops->readpage(file, page);
	if (err) {
		pc_put_page(page);
		wr_put(si);
		return err == PC_AOP_TRUNCATED_PAGE ? -EAGAIN : err;
	}
	pc_lock_page(page);
	if (page->mapping != mapping) {
		pc_unlock_page(page);
		pc_put_page(page);
		wr_put(si);
		goto retry;
	}
	if (!pc_PageUptodate(page)) {
		err = -EIO;
		goto fail;
	}
	goto retry_locked;
fail:
	pc_unlock_page(page);
	pc_put_page(page);
	wr_put(si);
	return err;
}

PC_EXPORT int pc_snap_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				unsigned len, unsigned copied, struct pc_page *page, void *fsdata)
{
	struct pc_snap_inode *si = mapping->private_data;
	struct pc_inode *inode = mapping->host;
	unsigned from = pos & ~PC_PAGE_MASK;

	(void)file;
	if (!pc_PageUptodate(page)) {
		if (fsdata == SNAP_ZEROED_PAST_EOF) {
			/* Only zeros past EOF around the copy: a short copy
			 * leaves zeros, which is what the file holds there. */
			if (copied < len)
				pc_zero_user_segment(page, from + copied, from + len);
			pc_SetPageUptodate(page);
		} else if (copied < len) {
			/* Unread data (or zeroed data the copy was to replace)
			 * is not valid: commit nothing, the caller retries. */
			copied = 0;
			goto out;
		} else {
			pc_SetPageUptodate(page);
		}
	}
	if (copied) {
		if (pos + (loff_t)copied > pc_i_size_read(inode))
			pc_i_size_write(inode, pos + copied);
		pc_set_page_dirty(page);
	}
out:
	pc_unlock_page(page);
	pc_put_page(page);
	wr_put(si);
	return copied;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                         */
/* ------------------------------------------------------------------ */

/* si->lock held. */
static unsigned inode_stats_locked(struct pc_snap_inode *si, struct pc_snap_ctx_stat *out,
				   unsigned max)
{
	unsigned n = 0;

	for (struct pc_list_head *p = si->cap_snaps.next; p != &si->cap_snaps; p = p->next) {
		struct pc_snap_cap_snap *cs = pc_list_entry(p, struct pc_snap_cap_snap, item);
		if (!cs->dirty_pages)
			continue;
		if (n < max)
			out[n] = (struct pc_snap_ctx_stat){ cs->context->seq, cs->dirty_pages };
		n++;
	}
	if (si->i_wrbuffer_ref_head) {
		if (n < max)
			out[n] = (struct pc_snap_ctx_stat){ si->head_snapc->seq, si->i_wrbuffer_ref_head };
		n++;
	}
	return n;
}

PC_EXPORT unsigned pc_snap_inode_get_stats(struct pc_snap_inode *si, struct pc_snap_ctx_stat *out,
					   unsigned max)
{
	unsigned n;

	si_lock(si);
	n = inode_stats_locked(si, out, max);
	si_unlock(si);
	return n;
}

PC_EXPORT unsigned pc_snap_inode_get_cap_snaps(struct pc_snap_inode *si,
					       struct pc_snap_cap_snap_info *out, unsigned max)
{
	unsigned n = 0;

	si_lock(si);
	for (struct pc_list_head *p = si->cap_snaps.next; p != &si->cap_snaps; p = p->next) {
		struct pc_snap_cap_snap *cs = pc_list_entry(p, struct pc_snap_cap_snap, item);
		if (n < max)
			out[n] = (struct pc_snap_cap_snap_info){
				.seq = cs->context->seq, .dirty_pages = cs->dirty_pages,
				.size = cs->size, .mtime = cs->mtime, .pending = cs->pending,
			};
		n++;
	}
	si_unlock(si);
	return n;
}

/* Add @pages of @seq into st->dirty, kept sorted by seq. */
static void stats_add(struct pc_snap_stats *st, uint64_t seq, long pages)
{
	unsigned i;

	for (i = 0; i < st->nr_dirty; i++) {
		if (st->dirty[i].seq == seq) {
			st->dirty[i].dirty_pages += pages;
			return;
		}
		if (st->dirty[i].seq > seq)
			break;
	}
	if (st->nr_dirty == PC_SNAP_STATS_MAX_CTX) {
		/* Full: the oldest entry absorbs what is older still. */
		if (i == 0) {
			st->dirty[0].dirty_pages += pages;
			return;
		}
		st->dirty[1].dirty_pages += st->dirty[0].dirty_pages;
		memmove(&st->dirty[0], &st->dirty[1], sizeof(st->dirty[0]) * (i - 1));
		st->dirty[i - 1] = (struct pc_snap_ctx_stat){ seq, pages };
		return;
	}
	memmove(&st->dirty[i + 1], &st->dirty[i], sizeof(st->dirty[0]) * (st->nr_dirty - i));
	st->dirty[i] = (struct pc_snap_ctx_stat){ seq, pages };
	st->nr_dirty++;
}

PC_EXPORT void pc_snap_realm_get_stats(struct pc_snap_realm *realm, struct pc_snap_stats *st)
{
	struct pc_snap_ctx_stat tmp[PC_SNAP_STATS_MAX_CTX];

	memset(st, 0, sizeof(*st));
	pc_rwsem_down_read(&realm->rwsem);
	st->seq = realm->context->seq;
	st->nr_snaps = realm->context->num_snaps;
	pc_rwsem_up_read(&realm->rwsem);
	st->nr_snapshots = atomic_load(&realm->nr_snapshots);
	st->nr_writes = atomic_load(&realm->nr_writes);
	st->nr_pages_written = atomic_load(&realm->nr_pages_written);
	st->nr_write_errors = atomic_load(&realm->nr_write_errors);
	st->nr_cap_snaps = atomic_load(&realm->nr_cap_snaps);
	st->nr_pending = atomic_load(&realm->nr_pending);
	pc_mutex_lock(&realm->inodes_lock);	/* -> si->lock: see snap.h */
	for (struct pc_list_head *p = realm->inodes.next; p != &realm->inodes; p = p->next) {
		struct pc_snap_inode *si = pc_list_entry(p, struct pc_snap_inode, realm_item);
		unsigned n;

		pc_mutex_lock(&si->lock);
		n = inode_stats_locked(si, tmp, PC_SNAP_STATS_MAX_CTX);
		pc_mutex_unlock(&si->lock);
		for (unsigned i = 0; i < n && i < PC_SNAP_STATS_MAX_CTX; i++)
			stats_add(st, tmp[i].seq, tmp[i].dirty_pages);
	}
	pc_mutex_unlock(&realm->inodes_lock);
}
