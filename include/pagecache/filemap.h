/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/filemap.h - layers 2 and 4: the page cache proper and generic
 * file I/O.
 *
 * struct pc_address_space is a file's (or a block device's) set of cached
 * pages: a page tree indexed by page index with marks, the operations
 * table its filesystem supplies, and the writeback error sequence.
 *
 * Lookups of cached pages are lock-free: readers walk the page tree under a
 * userspace RCU read-side section (liburcu, memb flavour) and take a
 * speculative reference (pc_page_get_speculative), then re-check the slot.
 * Only modifications take the mapping's tree_lock. See src/filemap/filemap.c
 * for the numbered invariants and the page state machine, and
 * docs/locking.md for the locking table of pc_address_space_operations.
 */
#ifndef PAGECACHE_FILEMAP_H
#define PAGECACHE_FILEMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>
#include "compiler.h"
#include "list.h"
#include "mm.h"
#include "errseq.h"
#include "iov_iter.h"
#include "lock.h"

struct pc_inode;
struct pc_file;
struct pc_writeback_control;
struct pc_readahead_control;
struct pc_kiocb;
struct pc_backing_dev;

/* ------------------------------------------------------------------ */
/* The page tree                                                      */
/* ------------------------------------------------------------------ */

/* Marks on page-tree entries (and summarised up to the root). */
enum pc_page_tree_tag {
	PC_TAG_DIRTY = 0,	/* page is PC_PG_dirty */
	PC_TAG_WRITEBACK = 1,	/* page is PC_PG_writeback */
	PC_TAG_TOWRITE = 2,	/* tagged for the current WB_SYNC_ALL pass */
	PC_TAG_PLACEHOLDER = 3,	/* a RANGE entry (placeholder): found in O(height) */
	PC_TAG_MAX = 4
};

#define PC_TREE_MAP_SHIFT 6
#define PC_TREE_MAP_SIZE (1UL << PC_TREE_MAP_SHIFT)

/*
 * Entries stored in the tree are pointers with the low two bits free.
 * A struct pc_page * is stored as is. An entry with bit 0 set is a
 * "special" entry: bit 1 clear marks an internal node pointer (never
 * returned to callers), bit 1 set a RANGE entry (a placeholder spanning one
 * or more indexes; the next layer, direct I/O, defines what it points to).
 * Lookups that return pages never return special entries.
 */
#define PC_TREE_ENTRY_SPECIAL 1UL
#define PC_TREE_ENTRY_RANGE   2UL
static inline bool pc_tree_entry_is_range(const void *e)
{
	return ((uintptr_t)e & 3UL) == (PC_TREE_ENTRY_SPECIAL | PC_TREE_ENTRY_RANGE);
}

struct pc_tree_node;

/*
 * struct pc_page_tree - a radix tree of 64-way nodes.
 * @root:      top node or a single entry (index 0) or NULL; read with
 *             acquire under RCU, written under the owner's tree_lock.
 * @height:    levels below the root (0: root is an entry for index 0).
 * @root_tags: PC_TAG_* bits set if any entry in the tree has that mark.
 * @nr_range:  RANGE entries spanning more than one index (0 keeps lookups
 *             on their fast path; the direct-I/O layer maintains it).
 */
struct pc_page_tree {
	_Atomic(void *) root;
	_Atomic unsigned int height;
	_Atomic unsigned long root_tags;
	_Atomic long nr_range;
};

PC_EXPORT void pc_page_tree_init(struct pc_page_tree *t);
/* Free every node (entries are not touched). No concurrent users allowed. */
PC_EXPORT void pc_page_tree_destroy(struct pc_page_tree *t);
/* Entry at @index or NULL. Caller is inside pc_rcu_read_lock() or holds the tree lock. */
PC_EXPORT void *pc_page_tree_lookup(struct pc_page_tree *t, pc_pgoff_t index);
/*
 * Slot address for @index (for the speculative-lookup recheck), or NULL.
 * Same locking as lookup.
 */
PC_EXPORT void *_Atomic *pc_page_tree_lookup_slot(struct pc_page_tree *t, pc_pgoff_t index);
/* Insert @entry (non-NULL) at @index. Tree lock held. 0, -EEXIST, -ENOMEM. */
PC_EXPORT int pc_page_tree_insert(struct pc_page_tree *t, pc_pgoff_t index, void *entry);
/* Replace the entry at @index (which must exist) with @entry; tags are kept. Tree lock held. */
PC_EXPORT void pc_page_tree_replace(struct pc_page_tree *t, pc_pgoff_t index, void *entry);
/* Remove the entry at @index, clearing its tags; returns it (or NULL). Tree lock held. */
PC_EXPORT void *pc_page_tree_delete(struct pc_page_tree *t, pc_pgoff_t index);
/* Tag operations on an existing entry. Tree lock held for set/clear. */
PC_EXPORT void pc_page_tree_tag_set(struct pc_page_tree *t, pc_pgoff_t index, unsigned tag);
PC_EXPORT void pc_page_tree_tag_clear(struct pc_page_tree *t, pc_pgoff_t index, unsigned tag);
/* Lock-free (RCU) or under the tree lock. */
PC_EXPORT bool pc_page_tree_tag_get(struct pc_page_tree *t, pc_pgoff_t index, unsigned tag);
static inline bool pc_page_tree_tagged(struct pc_page_tree *t, unsigned tag)
{
	return (atomic_load_explicit(&t->root_tags, memory_order_relaxed) >> tag) & 1;
}
/*
 * Gang lookups: fill up to @max entries with index in [@start, @end]
 * (inclusive; @end may be ~0), in ascending index order, optionally only
 * those carrying @tag. @indices (may be NULL) receives each entry's index.
 * Returns the number found. RCU or tree lock. Entries may be special.
 */
PC_EXPORT unsigned pc_page_tree_gang_lookup(struct pc_page_tree *t, pc_pgoff_t start, pc_pgoff_t end,
					    void **entries, pc_pgoff_t *indices, unsigned max);
PC_EXPORT unsigned pc_page_tree_gang_lookup_tag(struct pc_page_tree *t, pc_pgoff_t start, pc_pgoff_t end,
						unsigned tag, void **entries, pc_pgoff_t *indices,
						unsigned max);
/*
 * Set @settag on up to @nr_max entries in [@start, @end] that carry @iftag.
 * Returns how many were tagged; *@next gets the index to continue from.
 * Tree lock held.
 */
PC_EXPORT unsigned long pc_page_tree_range_tag_if_tagged(struct pc_page_tree *t, pc_pgoff_t start,
							 pc_pgoff_t end, unsigned long nr_max,
							 unsigned iftag, unsigned settag,
							 pc_pgoff_t *next);

/* RCU read-side section for lock-free lookups (liburcu memb; threads are
 * registered on first use). Nests. Never sleep inside. */
PC_EXPORT void pc_rcu_read_lock(void);
PC_EXPORT void pc_rcu_read_unlock(void);

/* ------------------------------------------------------------------ */
/* address_space                                                      */
/* ------------------------------------------------------------------ */

/* Flags for write_begin (the kernel's AOP_FLAG_*). */
enum {
	PC_AOP_FLAG_NOFS = 1 << 0,	/* caller holds fs locks: no recursion */
};

/* Returned by readpage/writepage when they unlocked the page and ask the
 * caller to retry (the kernel's AOP_TRUNCATED_PAGE). */
#define PC_AOP_TRUNCATED_PAGE 0x80001

/*
 * struct pc_address_space_operations - what a filesystem supplies.
 * The full contract of each member, with its locking row, is in
 * docs/locking.md; in short:
 *
 * @writepage:   write one dirty page. Called with the page locked, a
 *               reference held, PC_PG_dirty already cleared by
 *               pc_clear_page_dirty_for_io(). Must set writeback
 *               (pc_set_page_writeback) before unlocking, and unlock the
 *               page (now, or at I/O completion). Returns 0 or -errno (the
 *               error is also recorded in the mapping by the I/O path).
 * @readpage:    read one page. Called with the page locked and not
 *               uptodate; must unlock it when the read ends, setting
 *               PC_PG_uptodate on success or PC_PG_error on failure. Returns 0
 *               if the read was started/finished, or -errno (page unlocked).
 * @writepages:  write dirty pages per @wbc; may be NULL (then the generic
 *               pc_write_cache_pages + @writepage is used).
 * @set_page_dirty: mark a page dirty (and its buffers); NULL means
 *               pc___set_page_dirty_nobuffers. Page referenced, usually locked.
 * @readahead:   read the pages in @rac (each locked, in the cache, not
 *               uptodate); unlock each at completion. Pages it does not
 *               consume are unlocked and released by the caller. NULL means
 *               readpage is called per page.
 * @write_begin: prepare to copy @len bytes at @pos (within one page): on
 *               success returns 0 with *@pagep locked and referenced, and
 *               may set *@fsdata. Must cope with the copy being short.
 *               Returns -errno and no page on failure.
 * @write_end:   after the copy of @copied bytes (0 <= copied <= len):
 *               commit what it can (may be less than @copied, e.g. 0 if the
 *               page was not uptodate and the copy was short), update i_size,
 *               dirty the page, unlock it and drop the reference. Returns the
 *               bytes committed or -errno. Called only if write_begin
 *               succeeded.
 * @invalidatepage: the page (locked) is being truncated from @offset for
 *               @length bytes: drop private state for that part.
 * @releasepage: may private state be dropped so the page can be freed?
 *               Page locked, not dirty, not under writeback. True if done.
 * @direct_IO:   O_DIRECT transfer of @iter at iocb->ki_pos, bypassing the
 *               cache yet coherent with it (usually pc_blockdev_direct_IO,
 *               direct-io.h). Reads: no inode lock held. Writes: inode lock
 *               held exclusive on entry and on return (it may be dropped in
 *               between, PC_DIO_DROP_I_MUTEX); generic_write_checks done.
 *               No page lock held. Returns bytes transferred (the caller
 *               advances ki_pos) or -errno; -EINVAL when misaligned.
 *
 * Growth: new members are only ever added at the end, and a NULL (zeroed)
 * member means the operation is not provided (the generic default where the
 * member names one): define the table with
 * designated initialisers (or zero it) so a rebuilt program keeps working.
 */
struct pc_address_space_operations {
	int (*writepage)(struct pc_page *page, struct pc_writeback_control *wbc);
	int (*readpage)(struct pc_file *file, struct pc_page *page);
	int (*writepages)(struct pc_address_space *mapping, struct pc_writeback_control *wbc);
	bool (*set_page_dirty)(struct pc_page *page);
	void (*readahead)(struct pc_readahead_control *rac);
	int (*write_begin)(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			   unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata);
	int (*write_end)(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
			 unsigned len, unsigned copied, struct pc_page *page, void *fsdata);
	void (*invalidatepage)(struct pc_page *page, unsigned offset, unsigned length);
	bool (*releasepage)(struct pc_page *page);
	ssize_t (*direct_IO)(struct pc_kiocb *iocb, struct pc_iov_iter *iter);
};

/*
 * struct pc_address_space
 * @host:       owning inode (NULL for a block device's mapping, see bdev).
 * @cache:      the frame pool pages come from.
 * @tree:       the page tree; modified under @tree_lock only.
 * @tree_lock:  protects tree modifications, marks, nrpages. Leaf lock:
 *              never held while sleeping for I/O or allocating a page.
 * @nrpages:    pages in the tree.
 * @a_ops:      the filesystem's operations (const, never NULL).
 * @wb_err:     writeback error sequence (errseq.h).
 * @writeback_index: where range_cyclic writeback resumes (pages).
 * @bdi:        the backing device whose flusher writes this mapping back.
 * @private_data: for the filesystem.
 * @nr_placeholders: live placeholders of any size (0: truncate and
 *              pc_find_lock_page skip every placeholder check).
 */
struct pc_address_space {
	struct pc_inode *host;
	struct pc_cache *cache;
	struct pc_page_tree tree;
	struct pc_mutex tree_lock;
	_Atomic unsigned long nrpages;
	const struct pc_address_space_operations *a_ops;
	pc_errseq_t wb_err;
	_Atomic pc_pgoff_t writeback_index;
	struct pc_backing_dev *bdi;
	void *private_data;
	_Atomic long nr_placeholders;
};

/* Initialise an embedded mapping. No error. Tear down with pc_address_space_destroy
 * after truncating every page (pc_truncate_inode_pages(mapping, 0)). */
PC_EXPORT void pc_address_space_init(struct pc_address_space *mapping, struct pc_inode *host,
				     struct pc_cache *cache,
				     const struct pc_address_space_operations *a_ops,
				     struct pc_backing_dev *bdi);
PC_EXPORT void pc_address_space_destroy(struct pc_address_space *mapping);

/* A small batch of page references (the kernel's pagevec). */
#define PC_PAGEVEC_SIZE 32
struct pc_pagevec {
	unsigned nr;
	struct pc_page *pages[PC_PAGEVEC_SIZE];
};
static inline void pc_pagevec_init(struct pc_pagevec *pv) { pv->nr = 0; }
/* Drop the reference on every page and empty the vector. */
PC_EXPORT void pc_pagevec_release(struct pc_pagevec *pv);

/* ---- lookups (all return referenced pages; the caller puts them) ---- */

/* Page at @index or NULL; lock-free. */
PC_EXPORT struct pc_page *pc_find_get_page(struct pc_address_space *mapping, pc_pgoff_t index);
/* Page at @index locked (sleeps on its lock; rechecks it is still there), or NULL. */
PC_EXPORT struct pc_page *pc_find_lock_page(struct pc_address_space *mapping, pc_pgoff_t index);
/*
 * Locked page at @index, allocating and inserting a new (not uptodate)
 * one if absent. NULL only if no frame could be had (see pc_page_alloc).
 */
PC_EXPORT struct pc_page *pc_find_or_create_page(struct pc_address_space *mapping, pc_pgoff_t index,
						 unsigned gfp);
/* The write_begin variant: locked page at @index, created if needed, with
 * any writeback on it finished. NULL on allocation failure. */
PC_EXPORT struct pc_page *pc_grab_cache_page_write_begin(struct pc_address_space *mapping,
							 pc_pgoff_t index, unsigned flags);
/* Up to @nr pages with index >= *@start (and <= @end), ascending; *@start
 * is moved past the last one. Lock-free. Returns the number found. */
PC_EXPORT unsigned pc_find_get_pages_range(struct pc_address_space *mapping, pc_pgoff_t *start,
					   pc_pgoff_t end, unsigned nr, struct pc_page **pages);
/* Same, only pages carrying @tag. */
PC_EXPORT unsigned pc_find_get_pages_range_tag(struct pc_address_space *mapping, pc_pgoff_t *index,
					       pc_pgoff_t end, unsigned tag, unsigned nr,
					       struct pc_page **pages);
/* Fill @pv with pages in [*@start, @end] (all, or only @tag with tag >= 0). */
PC_EXPORT unsigned pc_pagevec_lookup_range_tag(struct pc_pagevec *pv, struct pc_address_space *mapping,
					       pc_pgoff_t *start, pc_pgoff_t end, int tag);
/* Is there a page at @index with @tag? Lock-free. */
PC_EXPORT bool pc_page_tagged(struct pc_address_space *mapping, pc_pgoff_t index, unsigned tag);
/*
 * pc_mapping_seek_hole_data - SEEK_DATA/SEEK_HOLE over the page cache of
 * [@start, @end) (bytes, 0 <= @start < @end): a cached page with any of
 * the PG_* bits of @data_flags set is data (e.g. (1UL << PC_PG_uptodate) for
 * Linux's rule, PC_PG_dirty | PC_PG_owner_priv for data the block map does not
 * show yet); an absent page, or one without those bits, is a hole.
 * @whence SEEK_DATA: the first offset of the range inside a data page, or
 * @end if there is none; SEEK_HOLE: the first offset not inside one, or
 * @end. Results are clipped to [@start, @end]. Lock-free (RCU lookups,
 * pages referenced while tested); the answer is a snapshot, the caller
 * supplies the exclusion it needs (the inode lock against writers).
 * Costs O(cached pages in the range). Follows Linux's
 * mapping_seek_hole_data (mm/filemap.c).
 */
PC_EXPORT loff_t pc_mapping_seek_hole_data(struct pc_address_space *mapping, loff_t start,
					   loff_t end, int whence, unsigned long data_flags);

/* ---- insertion and removal ---- */

/*
 * pc_add_to_page_cache_lru - insert a new page (locked by the caller with
 * pc_trylock_page/__SetPageLocked semantics, referenced) at @index and put
 * it on the LRU. On success the tree holds its own reference; the caller's
 * remains. Errors: -EEXIST (someone else inserted first; page untouched).
 */
PC_EXPORT int pc_add_to_page_cache_lru(struct pc_page *page, struct pc_address_space *mapping,
				       pc_pgoff_t index);
/* Remove a locked page from its mapping and drop the tree's reference. */
PC_EXPORT void pc_delete_from_page_cache(struct pc_page *page);
/* Reclaim's removal: page locked, clean, not under writeback. True if gone. */
PC_EXPORT bool pc_remove_mapping(struct pc_page *page);

/* ---- placeholders: range locks in the page cache (the 2007 "O_DIRECT
 * locking rework" series; Linux never merged it) ----
 *
 * A placeholder is a RANGE entry in the page tree (pc_tree_entry_is_range)
 * that stands for "these indexes are locked by someone doing I/O around
 * the cache" (direct I/O). It covers only holes: pages that exist in a
 * locked range are locked with their ordinary page lock instead. A range
 * of one index sits in that index's slot; a longer one sits in the slot
 * of its LAST index and bumps tree.nr_range (that series' extent tag on the
 * root), so single-index lookups search forward only while some
 * multi-page placeholder is live and pay nothing otherwise.
 *
 * Placeholders are never returned by lookups (pc_find_get_page, the gang
 * lookups); pc_find_lock_page and page insertion (pc_add_to_page_cache_lru:
 * readahead, write_begin, every page creation) sleep until no placeholder
 * covers their index; truncate waits for those in its range. Every range
 * here is INCLUSIVE of @end, which may be ~0 (as for the gang lookups);
 * there is no exclusive-end variant to confuse it with.
 *
 * Lock order: inode i_rwsem -> placeholders and page locks (ascending
 * index) -> tree_lock. A thread holding placeholders may take page locks
 * and placeholders only above the range it holds.
 */

/*
 * pc_find_or_insert_placeholders - lock page indexes [@start, @end]: every
 * page present is locked (ascending order, referenced), and placeholders
 * are inserted over the holes. With @iowait, dirty pages in the range are
 * written back and pages under writeback waited for first, so on return
 * every locked page is clean and idle. Sleeps (page locks, placeholders of
 * others, writeback). Entry: no page lock or placeholder held at or above
 * @start by the caller; on success the caller owns the range until
 * pc_remove_placeholder_pages(@start, @end). Errors (nothing is held on
 * return): -ENOMEM (no memory for a placeholder or a tree node), -EIO or
 * another -errno from writing back a dirty page when @iowait, -EINVAL
 * (@start > @end).
 */
PC_EXPORT int pc_find_or_insert_placeholders(struct pc_address_space *mapping, pc_pgoff_t start,
					     pc_pgoff_t end, bool iowait);
/*
 * pc_remove_placeholder_pages - release what pc_find_or_insert_placeholders
 * locked in [@start, @end]: placeholders are removed (and their waiters
 * woken), pages are unlocked and their references dropped. With
 * @drop_pages, pages are first removed from the cache while still locked
 * (after a direct write: no reader can then find the old contents once the
 * range is released). Never sleeps for I/O.
 */
PC_EXPORT void pc_remove_placeholder_pages(struct pc_address_space *mapping, pc_pgoff_t start,
					   pc_pgoff_t end, bool drop_pages);
/*
 * pc_wait_on_placeholder_pages_range - sleep until no placeholder
 * intersects [@start, @end]. Used by truncate (inode lock held exclusive,
 * so no new direct I/O can start in the range). New placeholders inserted
 * meanwhile by others are also waited for.
 */
PC_EXPORT void pc_wait_on_placeholder_pages_range(struct pc_address_space *mapping, pc_pgoff_t start,
						  pc_pgoff_t end);
/* Does a placeholder cover @index? Takes the tree lock briefly; the answer
 * may be stale on return. For tests and asserts. */
PC_EXPORT bool pc_placeholder_covers(struct pc_address_space *mapping, pc_pgoff_t index);

/* ---- dirtying and writeback state ---- */

/* Generic set_page_dirty: set PC_PG_dirty and the DIRTY mark, account it and
 * mark the inode dirty for the flusher. True if the page was newly dirtied. */
PC_EXPORT bool pc___set_page_dirty_nobuffers(struct pc_page *page);
/* Dispatch to a_ops->set_page_dirty or the generic one. */
PC_EXPORT bool pc_set_page_dirty(struct pc_page *page);
/* Page locked: clear PC_PG_dirty and the DIRTY mark before writing it out.
 * True if it was dirty (the caller must then write it). */
PC_EXPORT bool pc_clear_page_dirty_for_io(struct pc_page *page);
/* Undo: the writepage could not write; redirty without losing it. */
PC_EXPORT void pc_redirty_page_for_writepage(struct pc_writeback_control *wbc, struct pc_page *page);
/* Page locked: set PC_PG_writeback and the WRITEBACK mark, clear TOWRITE. */
PC_EXPORT void pc_set_page_writeback(struct pc_page *page);
/* Clear PC_PG_writeback, wake waiters, count it written. Any context (I/O completion). */
PC_EXPORT void pc_end_page_writeback(struct pc_page *page);
/* Cancel a page dirty state without writing (truncate). Page locked. */
PC_EXPORT void pc_cancel_dirty_page(struct pc_page *page);
/* Record a writeback error on the mapping (errseq). */
PC_EXPORT void pc_mapping_set_error(struct pc_address_space *mapping, int err);

/* ---- writeback and waiting over ranges (bytes, inclusive end) ---- */
PC_EXPORT int pc_filemap_fdatawrite_range(struct pc_address_space *mapping, loff_t start, loff_t end,
					  int sync_mode);
PC_EXPORT int pc_filemap_fdatawait_range(struct pc_address_space *mapping, loff_t start, loff_t end);
/* Write back and wait; returns -errno if an error was seen (checks the
 * mapping's errseq since sampled at entry, and per-page PC_PG_error). */
PC_EXPORT int pc_filemap_write_and_wait_range(struct pc_address_space *mapping, loff_t start,
					      loff_t end);
PC_EXPORT int pc_filemap_write_and_wait(struct pc_address_space *mapping);
/* fsync's error report: once per open file (errseq). */
PC_EXPORT int pc_file_check_and_advance_wb_err(struct pc_file *file);
/* Write back and wait, then report errors once per open file. */
PC_EXPORT int pc_file_write_and_wait_range(struct pc_file *file, loff_t start, loff_t end);

/* ---- generic file I/O ---- */

/* I/O control block: the file, the position (bytes) and flags. */
enum {
	PC_IOCB_APPEND = 1 << 0,
	PC_IOCB_DIRECT = 1 << 1,
	PC_IOCB_DSYNC = 1 << 2,
	PC_IOCB_SYNC = 1 << 3,
	PC_IOCB_NOWAIT = 1 << 4,
};
struct pc_kiocb {
	struct pc_file *ki_filp;
	loff_t ki_pos;
	unsigned ki_flags;
};

/*
 * pc_generic_file_read_iter - buffered read from ki_pos into @iter,
 * through the page cache with readahead. Advances ki_pos. Returns bytes
 * read (short at EOF, 0 at or past EOF) or -errno (-EIO if a page could not
 * be read and nothing was copied; -EINTR if pc_interrupt() was called and
 * nothing was copied: the flag is tested before each page that must be read
 * from the device). Takes no inode lock (callers may hold it shared).
 */
PC_EXPORT ssize_t pc_generic_file_read_iter(struct pc_kiocb *iocb, struct pc_iov_iter *iter);
/*
 * pc_generic_perform_write - Linux's generic_perform_write: per page,
 * write_begin -> atomic copy -> write_end -> advance by what was committed;
 * when nothing could be copied, retry with at most one segment; stop
 * with -EFAULT when even that cannot be faulted in. Calls
 * pc_balance_dirty_pages_ratelimited() after each page. Returns bytes
 * written or -errno if none. Inode lock held exclusive by the caller.
 */
PC_EXPORT ssize_t pc_generic_perform_write(struct pc_file *file, struct pc_iov_iter *i, loff_t pos);
/* Checks and clips a write (O_APPEND position, the size limit
 * s_maxbytes -> -EFBIG). Returns bytes allowed or -errno. Inode lock held. */
PC_EXPORT ssize_t pc_generic_write_checks(struct pc_kiocb *iocb, struct pc_iov_iter *from);
/* Buffered write with the inode lock taken inside; honours O_APPEND and
 * O_SYNC/O_DSYNC (writes back and waits for the range, reporting errors). */
PC_EXPORT ssize_t pc_generic_file_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from);
/* Same without taking the inode lock (held exclusive by the caller). No sync. */
PC_EXPORT ssize_t pc___generic_file_write_iter(struct pc_kiocb *iocb, struct pc_iov_iter *from);
/* Handle O_SYNC/O_DSYNC after a write of @count bytes ending at ki_pos. */
PC_EXPORT ssize_t pc_generic_write_sync(struct pc_kiocb *iocb, ssize_t count);

/* write_begin/write_end for callers outside the write path (Linux's
 * pagecache_write_begin/pagecache_write_end). */
PC_EXPORT int pc_pagecache_write_begin(struct pc_file *file, struct pc_address_space *mapping,
				       loff_t pos, unsigned len, unsigned flags,
				       struct pc_page **pagep, void **fsdata);
PC_EXPORT int pc_pagecache_write_end(struct pc_file *file, struct pc_address_space *mapping,
				     loff_t pos, unsigned len, unsigned copied,
				     struct pc_page *page, void *fsdata);
/* Memory-only filesystems (ramfs): Linux's simple_write_begin/simple_write_end
 * and simple_readpage (zero the rest of a new page, mark it uptodate). */
PC_EXPORT int pc_simple_write_begin(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				    unsigned len, unsigned flags, struct pc_page **pagep, void **fsdata);
PC_EXPORT int pc_simple_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				  unsigned len, unsigned copied, struct pc_page *page, void *fsdata);
PC_EXPORT int pc_simple_readpage(struct pc_file *file, struct pc_page *page);

/* Read one page into the cache and return it referenced, uptodate and
 * unlocked, or an ERR value via *@err (-EIO). Used for metadata and
 * directories kept in the page cache. */
PC_EXPORT struct pc_page *pc_read_mapping_page(struct pc_address_space *mapping, pc_pgoff_t index,
					       struct pc_file *file, int *err);

/* ---- readahead (src/filemap/readahead.c) ---- */

/*
 * struct pc_file_ra_state - per open file readahead window, in pages.
 * @start:      first page of the current window.
 * @size:       pages in the window.
 * @async_size: start the next window when this many pages are left
 *              (the marker page PC_PG_readahead sits at start+size-async_size).
 * @ra_pages:   maximum window size.
 * @prev_pos:   byte position of the last read (sequential detection).
 */
struct pc_file_ra_state {
	pc_pgoff_t start;
	unsigned size;
	unsigned async_size;
	unsigned ra_pages;
	loff_t prev_pos;
};
/* Default maximum readahead window: 2 MiB. */
#define PC_DEFAULT_RA_PAGES (2u << 20 >> PC_PAGE_SHIFT)

/*
 * struct pc_readahead_control - a batch of locked, new pages in the cache
 * handed to a_ops->readahead. The filesystem consumes pages in ascending
 * order with pc_readahead_page(); each returned page is locked and carries
 * one extra reference the consumer must drop (pc_put_page) after
 * submitting it.
 */
struct pc_readahead_control {
	struct pc_file *file;
	struct pc_address_space *mapping;
	struct pc_file_ra_state *ra;
	pc_pgoff_t _index;		/* next page to hand out */
	unsigned _nr_pages;	/* pages left to hand out */
	unsigned _batch_count;
};
PC_EXPORT struct pc_page *pc_readahead_page(struct pc_readahead_control *rac);
static inline pc_pgoff_t pc_readahead_index(const struct pc_readahead_control *rac) { return rac->_index; }
static inline unsigned pc_readahead_count(const struct pc_readahead_control *rac) { return rac->_nr_pages; }

PC_EXPORT void pc_file_ra_state_init(struct pc_file_ra_state *ra, struct pc_address_space *mapping);
/* A read of @req_count pages at @index missed the cache: read ahead. */
PC_EXPORT void pc_page_cache_sync_readahead(struct pc_address_space *mapping,
					    struct pc_file_ra_state *ra, struct pc_file *file,
					    pc_pgoff_t index, unsigned long req_count);
/* A read hit the PC_PG_readahead marker @page: start the next window. */
PC_EXPORT void pc_page_cache_async_readahead(struct pc_address_space *mapping,
					     struct pc_file_ra_state *ra, struct pc_file *file,
					     struct pc_page *page, pc_pgoff_t index,
					     unsigned long req_count);
/* Read [@index, @index+@nr) ignoring the window logic (used by tests, fadvise). */
PC_EXPORT void pc_force_page_cache_readahead(struct pc_address_space *mapping, struct pc_file *file,
					     pc_pgoff_t index, unsigned long nr);

/* ---- truncate (src/filemap/truncate.c) ---- */

/*
 * Remove pages covering bytes [@lstart, @lend] (inclusive; @lend = -1 means
 * to the end) from the cache, waiting for writeback and locks; a partial
 * page at either end is zeroed in the range and its buffers invalidated.
 * Dirty data in the range is discarded. Inode lock held by the caller.
 */
PC_EXPORT void pc_truncate_inode_pages_range(struct pc_address_space *mapping, loff_t lstart,
					     loff_t lend);
PC_EXPORT void pc_truncate_inode_pages(struct pc_address_space *mapping, loff_t lstart);
/* Set i_size to @newsize and drop/zero pages past it (inode lock held). */
PC_EXPORT void pc_truncate_setsize(struct pc_inode *inode, loff_t newsize);
PC_EXPORT void pc_truncate_pagecache(struct pc_inode *inode, loff_t newsize);
/* Zero the part of the EOF page past @from (byte) if the page is cached. */
PC_EXPORT int pc_truncate_partial_page(struct pc_address_space *mapping, loff_t from);
/*
 * Invalidate pages in [@start, @end] (page indexes, inclusive): clean ones
 * are dropped; dirty ones are written back first. Returns 0 or -EBUSY if
 * some page could not be invalidated (e.g. redirtied concurrently).
 */
PC_EXPORT int pc_invalidate_inode_pages2_range(struct pc_address_space *mapping, pc_pgoff_t start,
					       pc_pgoff_t end);
/* Drop clean, unlocked, unmapped pages in [@start, @end]; returns the number dropped. */
PC_EXPORT unsigned long pc_invalidate_mapping_pages(struct pc_address_space *mapping, pc_pgoff_t start,
						    pc_pgoff_t end);
/* Call a_ops->invalidatepage (or the buffer default) for a page being truncated. */
PC_EXPORT void pc_do_invalidatepage(struct pc_page *page, unsigned offset, unsigned length);
/* Call a_ops->releasepage (or the buffer default). */
PC_EXPORT bool pc_try_to_release_page(struct pc_page *page);

/* Zero @len bytes at @off in @page (no flags changed). */
PC_EXPORT void pc_zero_user_segment(struct pc_page *page, unsigned start, unsigned end);

/*
 * pc_interrupted - has pc_interrupt() been called (and not cleared)? The
 * library's fatal_signal_pending(): long loops of the library and of
 * filesystems (listing, lookup, freeing blocks, reading large ranges) test
 * it between consistent steps and return -EINTR. Any context, no locks.
 * See pc_interrupt() in pagecache.h.
 */
PC_EXPORT bool pc_interrupted(void);

#endif /* PAGECACHE_FILEMAP_H */
