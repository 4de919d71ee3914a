/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/snap.h - snapshot contexts for filesystems on object stores.
 *
 * An object store such as Ceph RADOS takes a snapshot at once, on the
 * server; a client that caches dirty data must then write every dirty page
 * with the snapshot context it was dirtied in, and write an older context's
 * data before a newer context's, or the snapshot silently keeps the wrong
 * bytes. This header gives a filesystem the generic part of that rule, as
 * Linux's Ceph client does it (fs/ceph/addr.c, fs/ceph/snap.c): the snap
 * context, a realm holding the current one, per-inode accounting of dirty
 * pages per context (cap_snaps), and address_space operations that keep the
 * order.
 *
 * Units: snapshot ids and seqs are 64-bit numbers the object store hands
 * out (pc_objstore_ops.snap_create), increasing with time.
 */
#ifndef PAGECACHE_SNAP_H
#define PAGECACHE_SNAP_H

#include "compiler.h"
#include "list.h"
#include "lock.h"
#include "mm.h"
#include "filemap.h"
#include "writeback.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The snap id of the live object (the "head"), as Ceph's CEPH_NOSNAP. */
#define PC_SNAP_HEAD ((uint64_t)-2)

/*
 * struct pc_snap_context - the snapshots a write must preserve (Linux's
 * struct ceph_snap_context).
 * @nref:      references; pc_snap_context_get/put. Immutable otherwise: a
 *             context is never changed once published; a snapshot makes a
 *             new one.
 * @seq:       the newest snap id this context knows (0: none yet). Writes
 *             carry it; an object store keeps a clone of an object for the
 *             snapshots in @snaps newer than the object's own last seq.
 * @num_snaps: entries in @snaps.
 * @snaps:     the live snapshot ids, newest first (descending), as RADOS
 *             requires of a write context.
 */
struct pc_snap_context {
	_Atomic int nref;
	uint64_t seq;
	uint32_t num_snaps;
	uint64_t snaps[];
};

/*
 * pc_snap_context_alloc - a new context with one reference.
 * @seq: its seq; @snaps: @num_snaps ids, copied, which must be in strictly
 * descending order and each <= @seq.
 * Returns the context (the caller owns the reference), or NULL with no
 * memory or when @snaps is out of order (callers check the order first).
 */
PC_EXPORT struct pc_snap_context *pc_snap_context_alloc(uint64_t seq, const uint64_t *snaps,
							 uint32_t num_snaps);

/* Take a reference on @sc (may be NULL: returns NULL). No locks needed. */
PC_EXPORT struct pc_snap_context *pc_snap_context_get(struct pc_snap_context *sc);

/* Drop a reference on @sc (NULL is ignored); the last one frees it. */
PC_EXPORT void pc_snap_context_put(struct pc_snap_context *sc);

/* ------------------------------------------------------------------ */
/* Realms, per-inode accounting and snapshot-ordered writeback         */
/* ------------------------------------------------------------------ */

struct pc_inode;
struct pc_file;
struct pc_snap_inode;

/*
 * Lock order of this layer (docs/locking.md has the table):
 *   inode i_rwsem -> page lock -> realm->rwsem (shared, short sections) ->
 *   pc_snap_inode.lock -> realm->list_lock, and under it the generic
 *   mapping tree_lock / inode i_lock / bdi list_lock of set_page_dirty.
 *   A snapshot takes realm->rwsem exclusive, then each dirty inode's lock
 *   (never a page lock). Write completions take only pc_snap_inode.lock
 *   (alone), then page-level locks after dropping it.
 *   realm->inodes_lock -> pc_snap_inode.lock (statistics, set_context).
 * Nothing of this layer waits for I/O while holding realm->rwsem or an
 * inode's lock.
 */

/*
 * struct pc_snap_realm - the snapshot realm of a mount (Linux's struct
 * ceph_snap_realm with the mdsc's snap_rwsem): the current context that new
 * dirty data is tagged with, and the inodes that have dirty data in it.
 * Embed it in the filesystem's private super block data; initialise with
 * pc_snap_realm_init(), tear down with pc_snap_realm_destroy(). Every
 * member is private to src/snap: read it only through the functions below.
 * @rwsem:     Linux's mdsc->snap_rwsem: exclusive while a snapshot or a
 *             removal builds and publishes a new context; shared while
 *             set_page_dirty picks the context for a page. Writer-preferring.
 * @context:   the current context (one reference held by the realm).
 * @list_lock: protects @dirty_inodes (with @rwsem, see below); taken
 *             under an inode's lock.
 * @inodes_lock: protects @inodes; taken before an inode's lock (statistics,
 *             pc_snap_realm_set_context), never under it.
 * @inodes:    every pc_snap_inode of the realm.
 * @dirty_inodes: inodes that had head dirty pages since the last snapshot
 *             (additions under @rwsem shared + @list_lock; the snapshot
 *             walks and prunes it under @rwsem exclusive).
 * @nr_*:      counters, see struct pc_snap_stats.
 */
struct pc_snap_realm {
	struct pc_rwsem rwsem;
	struct pc_snap_context *context;
	struct pc_mutex list_lock;
	struct pc_mutex inodes_lock;
	struct pc_list_head inodes;
	struct pc_list_head dirty_inodes;
	_Atomic uint64_t nr_snapshots;
	_Atomic uint64_t nr_writes;
	_Atomic uint64_t nr_pages_written;
	_Atomic uint64_t nr_write_errors;
	_Atomic uint64_t nr_cap_snaps;
	_Atomic uint64_t nr_pending;
};

/*
 * struct pc_snap_cap_snap - the dirty data of one inode at one snapshot
 * (Linux's struct ceph_cap_snap), on pc_snap_inode.cap_snaps, oldest first.
 * Made by pc_snap_realm_snapshot(), freed when its last dirty page has been
 * written (or truncated) and it is not pending. Read-only to filesystems,
 * under pc_snap_inode.lock.
 * @context:     the context its pages were dirtied in (referenced).
 * @dirty_pages: pages dirty in it or being written (a page leaves the count
 *               when its write completes, successfully or not).
 * @size:        i_size at the snapshot (bytes; final once !@pending).
 * @mtime:       i_mtime at the snapshot (final once !@pending).
 * @pending:     a write_begin..write_end that began before the snapshot was
 *               still copying when it was taken: the page it dirties joins
 *               this cap_snap, new writes wait, and @size/@mtime are
 *               recorded when it ends (pc_snap_write_end).
 */
struct pc_snap_cap_snap {
	struct pc_list_head item;
	struct pc_snap_context *context;
	long dirty_pages;
	int64_t size;
	struct timespec mtime;
	bool pending;
};

/*
 * struct pc_snap_write - one asynchronous write of a run of pages, handed
 * to pc_snap_inode_ops.write_pages. Allocated by this layer, freed by
 * pc_snap_write_done().
 * @si:       the inode.
 * @snapc:    the context to write with (referenced until done): the context
 *            the pages were dirtied in.
 * @pos:      file offset of @pages[0], bytes (page aligned).
 * @len:      bytes to write from the pages: at most @nr_pages pages, cut at
 *            the file size of that context (the size at the snapshot for a
 *            cap_snap, i_size for head data). Always > 0.
 * @nr_pages: pages in @pages, contiguous in the file (index pos/PAGE + i).
 * @sync:     the write is for integrity writeback (WB_SYNC_ALL, fsync):
 *            make it durable before completing (PC_OBJ_F_SYNC).
 * @fs_private: for the filesystem, NULL on entry.
 * @pages:    locked, referenced, under writeback, PC_PG_dirty cleared; the
 *            data to write is pc_page_address(pages[i]). The filesystem
 *            must not unlock, put or change them: pc_snap_write_done does.
 */
struct pc_snap_write {
	struct pc_snap_inode *si;
	struct pc_snap_context *snapc;
	int64_t pos;
	size_t len;
	unsigned nr_pages;
	bool sync;
	void *fs_private;
	bool _keep_locked;		/* private: write_begin's own page */
	struct pc_page *pages[];
};

/*
 * struct pc_snap_inode_ops - what a filesystem supplies (const table).
 * @write_pages: start writing @req->len bytes of @req->pages at @req->pos
 *            to the store with @req->snapc. Return 0 once started: the
 *            filesystem then calls pc_snap_write_done(@req, result) exactly
 *            once, from any thread, maybe before write_pages returns. Or
 *            return a negative errno without calling it (the layer then
 *            completes @req with that error itself). Called with no lock
 *            of this layer held (the run's pages are locked); must not
 *            wait for another write of the same inode to complete.
 * @max_pages: optional: the most pages a run starting at page @index may
 *            have: the object (stripe unit) boundary and the filesystem's
 *            largest write (wsize), >= 1. A run never crosses it. NULL:
 *            runs of up to PC_SNAP_DEFAULT_RUN_PAGES, cut at multiples of
 *            it (4 MiB objects).
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the default: use designated initialisers.
 */
struct pc_snap_inode_ops {
	int (*write_pages)(struct pc_snap_inode *si, struct pc_snap_write *req);
	unsigned long (*max_pages)(struct pc_snap_inode *si, pc_pgoff_t index);
};

/* Default run limit and alignment: 4 MiB (an object of the default layout). */
#define PC_SNAP_DEFAULT_RUN_PAGES (4u << 20 >> PC_PAGE_SHIFT)

/*
 * struct pc_snap_inode - the per-inode half (Linux's snap fields of struct
 * ceph_inode_info). The filesystem embeds it in its inode (or hangs it off
 * i_private) and calls pc_snap_inode_init() once the pc_inode is set up
 * (read_inode, or after pc_new_inode/pc_iget_locked), and
 * pc_snap_inode_destroy() in s_op->destroy_inode (after evict truncated
 * the pages). Members are private to src/snap, protected by @lock; a
 * filesystem reads them only through pc_snap_inode_get_stats().
 *
 * Finding it from a page: pc_snap_inode_init() stores @si in
 * inode->i_mapping->private_data (nothing in the library uses that field;
 * a filesystem using this layer must leave it alone), so the a_ops helpers
 * find it as page->mapping->private_data.
 *
 * @inode, @realm, @ops: as given to pc_snap_inode_init.
 * @lock:             protects everything below.
 * @wq:               write_begin waiters (a pending cap_snap, an older
 *                    context being written) and integrity writeback
 *                    waiting for its writes; broadcast on every change.
 * @i_wrbuffer_ref:   dirty pages (and pages being written) of the inode, in
 *                    all contexts.
 * @i_wrbuffer_ref_head: those of them in the head (the realm's current
 *                    seq, not yet snapshotted).
 * @head_snapc:       a context of the head seq while @i_wrbuffer_ref_head
 *                    > 0 (referenced), else NULL.
 * @cap_snaps:        struct pc_snap_cap_snap, oldest first.
 * @i_wr_ref:         write_begin..write_end sections in progress.
 * @inflight:         write requests submitted and not completed.
 * @realm_item, @realm_dirty, @on_dirty_list: realm list links.
 */
struct pc_snap_inode {
	struct pc_inode *inode;
	struct pc_snap_realm *realm;
	const struct pc_snap_inode_ops *ops;
	struct pc_mutex lock;
	pthread_cond_t wq;
	long i_wrbuffer_ref;
	long i_wrbuffer_ref_head;
	struct pc_snap_context *head_snapc;
	struct pc_list_head cap_snaps;
	int i_wr_ref;
	long inflight;
	struct pc_list_head realm_item;
	struct pc_list_head realm_dirty;
	bool on_dirty_list;
};

/*
 * pc_snap_realm_init - an empty realm whose first context has seq @seq and
 * no snapshots (a filesystem mounting a store with live snapshots then
 * calls pc_snap_realm_set_context). @realm is the caller's memory (embed
 * it); no lock needed, nobody else may use it yet. Returns 0 or -ENOMEM.
 * Linux: ceph_create_snap_realm with the realm's cached_context.
 */
PC_EXPORT int pc_snap_realm_init(struct pc_snap_realm *realm, uint64_t seq);

/*
 * pc_snap_realm_set_context - replace the realm's current context with a
 * new one of seq @seq and the @num_snaps ids @snaps (strictly descending,
 * each <= @seq), e.g. the live snapshots read at mount. Only while no
 * inode of the realm has dirty data (at mount). 0, -EINVAL (order, or
 * @seq lower than the current seq), -EBUSY (dirty data), -ENOMEM.
 */
PC_EXPORT int pc_snap_realm_set_context(struct pc_snap_realm *realm, uint64_t seq,
					const uint64_t *snaps, uint32_t num_snaps);

/*
 * pc_snap_realm_destroy - drop the current context. Every inode of the
 * realm must have been destroyed (pc_snap_inode_destroy) first.
 */
PC_EXPORT void pc_snap_realm_destroy(struct pc_snap_realm *realm);

/*
 * pc_snap_realm_get_context - the current context, referenced: the caller
 * puts it (pc_snap_context_put). Takes realm->rwsem shared briefly; no
 * lock needed on entry.
 */
PC_EXPORT struct pc_snap_context *pc_snap_realm_get_context(struct pc_snap_realm *realm);

/*
 * pc_snap_realm_snapshot - a snapshot with id @snapid (from the store's
 * snap_create) was taken: make the context {seq @snapid, snaps @snapid +
 * the current ones} current, and give every inode with dirty head pages a
 * cap_snap that takes over its head count (with i_size and i_mtime now,
 * or when the write in progress ends: pending). Under realm->rwsem
 * exclusive; O(inodes dirtied since the last snapshot): no page is
 * touched, nothing is written or waited for (Linux: ceph_queue_cap_snap
 * for each inode of the realm). Called with no lock of this layer and no
 * page lock held (an inode lock may be held). 0, -EINVAL (@snapid not
 * greater than the current seq: ids must increase), -ENOMEM (nothing
 * changed).
 */
PC_EXPORT int pc_snap_realm_snapshot(struct pc_snap_realm *realm, uint64_t snapid);

/*
 * pc_snap_realm_remove - snapshot @snapid was removed from the store
 * (snap_remove): new writes use a context without it. The seq stays the
 * same: RADOS needs a write context's seq to be >= every id in it and
 * never lower than a seq the object was written with (a lower one is
 * EOLDSNAPC under ORDERSNAP), and it needs no new seq for a removal (the
 * OSD trims the removed snap's clones itself; writes still carrying the
 * removed id are harmless). Data already dirty keeps its context (same
 * seq, so no order changes). O(1) apart from the copy of the snap list.
 * 0, -ENOENT (@snapid not in the current context), -ENOMEM.
 */
PC_EXPORT int pc_snap_realm_remove(struct pc_snap_realm *realm, uint64_t snapid);

/*
 * pc_snap_inode_init - set up @si for @inode (a regular file of a mount
 * whose a_ops use the helpers below) in @realm, with @ops (not copied:
 * must outlive @si). Stores @si in inode->i_mapping->private_data.
 * Never fails.
 */
PC_EXPORT void pc_snap_inode_init(struct pc_snap_inode *si, struct pc_inode *inode,
				  struct pc_snap_realm *realm, const struct pc_snap_inode_ops *ops);

/*
 * pc_snap_inode_destroy - tear @si down: the inode's pages must be gone
 * (pc_truncate_inode_pages(mapping, 0) waits for their writes), so no page
 * is dirty or being written. Frees what is left (finished cap_snaps) and
 * leaves the realm. No lock held. Truncating drops dirty data of every
 * context, cap_snaps included: an inode whose snapshots must keep its data
 * (an unlinked file still in a snapshot) is written first
 * (pc_snap_inode_flush_older, or pc_write_inode_now with sync) in
 * s_op->evict_inode. Unmount syncs before evicting, so nothing is lost
 * there.
 */
PC_EXPORT void pc_snap_inode_destroy(struct pc_snap_inode *si);

/* pc_snap_page_inode - the pc_snap_inode of @page's mapping, or NULL. */
PC_EXPORT struct pc_snap_inode *pc_snap_page_inode(struct pc_page *page);

/* ---- address_space_operations helpers (docs/locking.md rows) ---- */

/*
 * pc_snap_set_page_dirty - a_ops->set_page_dirty (Linux: ceph_set_page_dirty).
 * Page referenced and LOCKED (write_end, writepage's redirty). A page that
 * already carries a context (PC_PG_private: dirty, or being redirtied)
 * keeps it; otherwise it takes one reference on the context it is dirtied
 * in (the realm's current one, or the pending cap_snap's) in
 * page->private, PC_PG_private is set, and the inode's counts for that
 * context grow by one. Then the generic dirtying (tree mark, pool
 * accounting, inode on the flusher's list). True if the page was newly
 * dirtied. Takes realm->rwsem shared and si->lock.
 */
PC_EXPORT bool pc_snap_set_page_dirty(struct pc_page *page);

/*
 * pc_snap_invalidatepage - a_ops->invalidatepage (Linux:
 * ceph_invalidatepage). Page locked, not under writeback. When the whole
 * page is invalidated (@offset 0, @length PC_PAGE_SIZE: truncate), its
 * context reference and its count are dropped and private cleared (the
 * caller then cancels the dirty bit); a partial invalidation keeps them.
 */
PC_EXPORT void pc_snap_invalidatepage(struct pc_page *page, unsigned offset, unsigned length);

/*
 * pc_snap_releasepage - a_ops->releasepage (Linux: ceph_releasepage). Page
 * locked, clean, not under writeback. True (releasable) unless the page
 * still carries a context (it is counted: never dropped silently).
 */
PC_EXPORT bool pc_snap_releasepage(struct pc_page *page);

/*
 * pc_snap_writepage - a_ops->writepage (Linux: ceph_writepage). Page
 * locked, referenced, PC_PG_dirty cleared by the caller. If the page's
 * context is the inode's oldest with dirty data, it is written (a one-page
 * run through ops->write_pages; the page stays locked until the write
 * completes, which unlocks it). Otherwise writing it would break the
 * snapshot order: it is redirtied (pc_redirty_page_for_writepage), unlocked,
 * and the flusher is woken to write the older contexts first (reclaim and
 * pc_write_one_page callers get progress that way). Returns 0, or the
 * -errno of a write that could not be started (recorded in the mapping).
 */
PC_EXPORT int pc_snap_writepage(struct pc_page *page, struct pc_writeback_control *wbc);

/*
 * pc_snap_writepages - a_ops->writepages (Linux: ceph_writepages_start).
 * No page lock held. Finds the oldest context of the inode with dirty data
 * and writes only its pages: runs of pages contiguous in the file and of
 * that context, up to ops->max_pages and never across its boundary,
 * submitted asynchronously through ops->write_pages. The head context
 * honours the wbc range (range_cyclic: from writeback_index, wrapping);
 * older contexts are written whole (their order must not wait on a range).
 * WB_SYNC_NONE: writes the oldest context; when that was a cap_snap and
 * nr_to_write is left, waits for its writes to complete and goes on with
 * the next context; stops at nr_to_write, after the head, or when a
 * context's pages cannot be taken (locked elsewhere). WB_SYNC_ALL: for each context
 * in turn, oldest first, writes all its pages and waits for those writes
 * to complete before the next context (the head is scanned once per
 * call, so a steady writer cannot keep it going). When the oldest context
 * changes between passes, the scan restarts (as ceph_writepages_start does). Returns 0
 * or the first -errno from ops->write_pages (the error is also recorded
 * in the mapping by the completion).
 */
PC_EXPORT int pc_snap_writepages(struct pc_address_space *mapping, struct pc_writeback_control *wbc);

/*
 * pc_snap_write_done - complete @req (from ops->write_pages, exactly once,
 * any thread, no lock of this layer held; may be inline in write_pages).
 * @err: 0 or a negative errno. On error the pages get PC_PG_error and the
 * mapping's errseq records @err (fsync reports it once per open file).
 * Either way each page's context reference is dropped, private cleared,
 * writeback ended, the page unlocked and released, and the counts of the
 * context drop (a cap_snap with no page left is freed). Frees @req.
 */
PC_EXPORT void pc_snap_write_done(struct pc_snap_write *req, int err);

/*
 * pc_snap_write_begin - a_ops->write_begin (Linux: ceph_write_begin). Inode
 * lock held exclusive, no page lock. Waits while the inode has a pending
 * cap_snap, then returns the page for [@pos, @pos+@len) locked and
 * referenced in *@pagep, ready for the copy: if it is dirty in an older
 * context than the one it will be dirtied in now, the older data must
 * reach the store first: when that context is the oldest the page is
 * written now and waited for; otherwise the page is unlocked, older
 * contexts are written (oldest first, waiting for each) until this page's
 * context can be, and it starts over. A page not uptodate is read through
 * the mapping's a_ops->readpage, except for a full-page write and a page
 * wholly past EOF (zeroed around the write instead). Returns 0, -ENOMEM
 * (no page), -EIO (the read failed, or writing the older data failed:
 * that data is dropped like any failed writeback and recorded in the
 * mapping's errseq), another -errno from ops->write_pages or readpage,
 * -EFBIG past s_maxbytes. On error nothing is held and the write
 * section is closed.
 */
PC_EXPORT int pc_snap_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				  unsigned len, unsigned flags, struct pc_page **pagep,
				  void **fsdata);

/*
 * pc_snap_write_end - a_ops->write_end (Linux: ceph_write_end). Commits
 * @copied bytes (all of them when the page was uptodate or zeroed by
 * write_begin; none after a short copy into a page write_begin left
 * unread), grows i_size, dirties the page (pc_set_page_dirty), unlocks and
 * releases it, and ends the write section (finalising a pending cap_snap:
 * size and mtime recorded, waiters woken). Returns the bytes committed.
 */
PC_EXPORT int pc_snap_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				unsigned len, unsigned copied, struct pc_page *page, void *fsdata);

/*
 * pc_snap_inode_flush_older - write every cap_snap of @si (all contexts
 * older than the head), oldest first, each waited for before the next
 * (for a direct write or a snapshot read, which must see older data in
 * the store). No page lock held. 0, or -EIO if a write failed.
 */
PC_EXPORT int pc_snap_inode_flush_older(struct pc_snap_inode *si);

/*
 * pc_snap_get_write / pc_snap_put_write - open and close a write section
 * on @si (Linux: taking and dropping the Fw cap reference,
 * ceph_get_caps/ceph_put_cap_refs) around a change of the file's data or
 * size that does not go through write_begin/write_end: truncate, a direct
 * write, fallocate. pc_snap_get_write waits while a cap_snap is pending;
 * a snapshot taken while the section is open makes the inode's cap_snap
 * pending, so the snapshot is ordered after the change: its size and
 * mtime are recorded when the last section closes, and data the section
 * writes to the store must use pc_snap_inode_write_context(). Sections
 * nest across threads, NOT with write_begin in the same thread
 * (write_begin opens its own and would wait for the one held). Inode lock
 * held exclusive by the caller; no page lock; may sleep.
 */
PC_EXPORT void pc_snap_get_write(struct pc_snap_inode *si);
PC_EXPORT void pc_snap_put_write(struct pc_snap_inode *si);

/*
 * pc_snap_inode_write_context - the context a change made inside an open
 * write section must reach the store with: the pending cap_snap's if a
 * snapshot was taken during the section, else the realm's current one.
 * Referenced: the caller puts it. Before sending such a change (e.g. an
 * object truncate), write the older contexts (pc_snap_inode_flush_older),
 * so the store sees them first. Takes realm->rwsem shared and si->lock.
 */
PC_EXPORT struct pc_snap_context *pc_snap_inode_write_context(struct pc_snap_inode *si);

/* ---- statistics ---- */

/* One context's dirty pages (those being written included). */
struct pc_snap_ctx_stat {
	uint64_t seq;
	long dirty_pages;
};

/*
 * pc_snap_inode_get_stats - @si's dirty pages per context, oldest first
 * (cap_snaps, then the head if it has pages): up to @max entries in @out.
 * Returns the number of contexts with dirty pages (may exceed @max).
 * Takes si->lock.
 */
PC_EXPORT unsigned pc_snap_inode_get_stats(struct pc_snap_inode *si, struct pc_snap_ctx_stat *out,
					   unsigned max);

/*
 * struct pc_snap_cap_snap_info - a copy of one cap_snap (for a filesystem
 * writing the inode's metadata as of a snapshot: size and mtime).
 * @seq: its context's seq; @dirty_pages: pages still to write;
 * @size, @mtime: the file's at the snapshot (valid once !@pending).
 */
struct pc_snap_cap_snap_info {
	uint64_t seq;
	long dirty_pages;
	int64_t size;
	struct timespec mtime;
	bool pending;
};

/*
 * pc_snap_inode_get_cap_snaps - copy @si's cap_snaps, oldest first, up to
 * @max into @out. Returns how many there are (may exceed @max). A
 * cap_snap lives until its last page is written and it is not pending, so
 * a filesystem that must write per-snapshot metadata reads it before
 * writing the data (e.g. at the start of writepages or fsync). Takes
 * si->lock; no lock needed on entry.
 */
PC_EXPORT unsigned pc_snap_inode_get_cap_snaps(struct pc_snap_inode *si,
					       struct pc_snap_cap_snap_info *out, unsigned max);

/*
 * struct pc_snap_stats - a realm's counters, for --stats.
 * @seq:            the current context's seq.
 * @nr_snaps:       snapshots in the current context.
 * @nr_snapshots:   pc_snap_realm_snapshot calls that succeeded.
 * @nr_writes:      write requests submitted to ops->write_pages.
 * @nr_pages_written: pages those requests carried (completed).
 * @nr_write_errors: requests completed with an error.
 * @nr_cap_snaps:   cap_snaps made.
 * @nr_pending:     of those, made pending (a write was copying).
 * @dirty:          dirty pages per context over all inodes, oldest
 *                  first, @nr_dirty entries (at most
 *                  PC_SNAP_STATS_MAX_CTX; older ones are merged into the
 *                  first).
 */
#define PC_SNAP_STATS_MAX_CTX 16
struct pc_snap_stats {
	uint64_t seq;
	uint32_t nr_snaps;
	uint64_t nr_snapshots;
	uint64_t nr_writes;
	uint64_t nr_pages_written;
	uint64_t nr_write_errors;
	uint64_t nr_cap_snaps;
	uint64_t nr_pending;
	unsigned nr_dirty;
	struct pc_snap_ctx_stat dirty[PC_SNAP_STATS_MAX_CTX];
};

/*
 * pc_snap_realm_get_stats - fill *@st. Walks the realm's inodes under
 * realm->inodes_lock and each inode's lock: O(inodes), for statistics only.
 */
PC_EXPORT void pc_snap_realm_get_stats(struct pc_snap_realm *realm, struct pc_snap_stats *st);

#endif /* PAGECACHE_SNAP_H */
