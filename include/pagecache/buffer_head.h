/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/buffer_head.h - layer 7a: buffer heads, get_block and the
 * per-block helpers of the write_begin/write_end protocol (Linux fs/buffer.c), plus
 * the block device's own address_space (the buffer cache for metadata).
 *
 * A page whose blocks are smaller than the page, or whose blocks need
 * per-block state, carries a ring of buffer_heads in page->private
 * (PC_PG_private set), one per block, linked through b_this_page. The ring is
 * created and destroyed with the page locked. The ring holds no page
 * reference; it is freed only when no buffer is dirty, locked or referenced
 * and the page is not under writeback (pc_try_to_free_buffers), so a buffer
 * pointer stays valid while the caller holds the page lock, the buffer lock
 * or a b_count reference.
 *
 * The block device's own mapping (host == NULL) works like a file whose
 * block size is bd_block_size and whose size is bd_size; every helper here
 * that needs "the inode" handles that case itself.
 *
 * Completion context: b_end_io and the page-level completions run on a
 * block engine thread; they never sleep on page locks or I/O.
 */
#ifndef PAGECACHE_BUFFER_HEAD_H
#define PAGECACHE_BUFFER_HEAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "compiler.h"
#include "mm.h"
#include "filemap.h"
#include "writeback.h"
#include "blkdev.h"

struct pc_inode;

enum pc_bh_state_bits {
	PC_BH_Uptodate,		/* contains valid data */
	PC_BH_Dirty,		/* newer than the disk */
	PC_BH_Lock,		/* locked for I/O */
	PC_BH_Req,		/* has been submitted for I/O */
	PC_BH_Mapped,		/* b_blocknr is valid */
	PC_BH_New,		/* get_block just allocated it: contents are garbage */
	PC_BH_Async_Read,	/* part of a page read in flight */
	PC_BH_Async_Write,	/* part of a page write in flight */
	PC_BH_Delay,		/* reserved but not yet allocated (delayed allocation) */
	PC_BH_Boundary,		/* the next block is discontiguous / needs metadata I/O */
	PC_BH_Write_EIO,	/* last write failed */
	PC_BH_Unwritten,	/* allocated but reads as zeros (unwritten extent) */
	PC_BH_NoMem,		/* last submission failed for want of memory (no bio) */
	PC_BH_PrivateStart
};

/*
 * struct pc_buffer_head
 * @b_state:     BH_* bits (atomic).
 * @b_this_page: next buffer of the same page (circular).
 * @b_page:      the page holding the data.
 * @b_blocknr:   block number on @b_bdev, in units of b_size... of the
 *               filesystem block size (i_blkbits), valid with PC_BH_Mapped.
 * @b_size:      bytes. For get_block: on entry the most bytes the caller
 *               wants mapped; on return the bytes mapped (a multiple of the
 *               block size; may be less).
 * @b_data:      pointer to the data inside the page.
 * @b_bdev:      device of b_blocknr.
 * @b_end_io:    I/O completion for pc_submit_bh.
 * @b_private:   for the end_io / filesystem.
 * @b_count:     references (a page's ring holds none; users pc_get_bh).
 */
struct pc_buffer_head {
	_Atomic unsigned long b_state;
	struct pc_buffer_head *b_this_page;
	struct pc_page *b_page;
	pc_sector_t b_blocknr;
	size_t b_size;
	char *b_data;
	struct pc_block_device *b_bdev;
	void (*b_end_io)(struct pc_buffer_head *bh, int uptodate);
	void *b_private;
	_Atomic int b_count;
};

#define PC_BUFFER_FNS(name, bit) \
	static inline bool pc_buffer_##name(const struct pc_buffer_head *bh) \
	{ return (atomic_load(&((struct pc_buffer_head *)bh)->b_state) >> PC_BH_##bit) & 1; } \
	static inline void pc_set_buffer_##name(struct pc_buffer_head *bh) \
	{ atomic_fetch_or(&bh->b_state, 1UL << PC_BH_##bit); } \
	static inline void pc_clear_buffer_##name(struct pc_buffer_head *bh) \
	{ atomic_fetch_and(&bh->b_state, ~(1UL << PC_BH_##bit)); } \
	static inline bool pc_test_set_buffer_##name(struct pc_buffer_head *bh) \
	{ return (atomic_fetch_or(&bh->b_state, 1UL << PC_BH_##bit) >> PC_BH_##bit) & 1; } \
	static inline bool pc_test_clear_buffer_##name(struct pc_buffer_head *bh) \
	{ return (atomic_fetch_and(&bh->b_state, ~(1UL << PC_BH_##bit)) >> PC_BH_##bit) & 1; }

PC_BUFFER_FNS(uptodate, Uptodate)
PC_BUFFER_FNS(dirty, Dirty)
PC_BUFFER_FNS(locked, Lock)
PC_BUFFER_FNS(req, Req)
PC_BUFFER_FNS(mapped, Mapped)
PC_BUFFER_FNS(new, New)
PC_BUFFER_FNS(async_read, Async_Read)
PC_BUFFER_FNS(async_write, Async_Write)
PC_BUFFER_FNS(delay, Delay)
PC_BUFFER_FNS(boundary, Boundary)
PC_BUFFER_FNS(write_io_error, Write_EIO)
PC_BUFFER_FNS(unwritten, Unwritten)
PC_BUFFER_FNS(nomem, NoMem)

static inline struct pc_buffer_head *pc_page_buffers(const struct pc_page *page)
{
	return pc_PagePrivate(page) ? (struct pc_buffer_head *)page->private : NULL;
}
static inline bool pc_page_has_buffers(const struct pc_page *page) { return pc_PagePrivate(page); }

static inline void pc_map_bh(struct pc_buffer_head *bh, struct pc_block_device *bdev, pc_sector_t block)
{
	pc_set_buffer_mapped(bh);
	bh->b_bdev = bdev;
	bh->b_blocknr = block;
}

/*
 * get_block_t - map file block @iblock (units of the inode's block size)
 * of @inode to a disk block.
 * On entry bh_result->b_size is the number of bytes the caller would like
 * mapped from @iblock on (at least one block); b_state is clear (except
 * when the callers pass a page's own buffer, which may carry other state
 * bits); b_page is the page being read or written (locked), so a get_block
 * for the block device's mapping (@inode NULL) finds the device through
 * b_page->mapping. The callers restore a page buffer's b_size afterwards.
 * On return 0 and either:
 *   - PC_BH_Mapped set, b_bdev, b_blocknr (first disk block) and b_size (bytes
 *     mapped contiguously on disk, <= the request). With @create the blocks
 *     are allocated if they were holes and PC_BH_New is set for freshly
 *     allocated ones (contents are garbage: callers must zero what they do
 *     not overwrite; the implementation also forgets any metadata buffers
 *     of the block device for them, pc_clean_bdev_aliases). PC_BH_Boundary is
 *     set when the block after the mapped run needs a metadata read to map.
 *   - PC_BH_Mapped clear: a hole (only when !@create); b_size may be set to the
 *     hole's length in bytes.
 * Errors: -ENOSPC (create, no space), -EIO (metadata read failed),
 * -EUCLEAN (the mapping points outside the device: corrupt, nothing may be
 * written there), -EFBIG (block beyond what the format can address).
 * Called with the page (if any) locked; takes the filesystem's metadata
 * lock inside.
 */
typedef int (*pc_get_block_t)(struct pc_inode *inode, pc_sector_t iblock,
			      struct pc_buffer_head *bh_result, int create);

/* ---- buffer rings on pages ---- */

/* Attach a ring of buffers of @blocksize (512..PAGE_SIZE, a power of two)
 * to a locked page without buffers; each gets @b_state, plus PC_BH_Uptodate if
 * the page is uptodate and PC_BH_Dirty if it is dirty. Buffers start unmapped
 * with b_count 0. 0, or -ENOMEM (the ring could not be allocated; the page
 * is left without buffers). */
PC_EXPORT int pc_create_empty_buffers(struct pc_page *page, unsigned long blocksize,
				       unsigned long b_state);
/* The page's buffers (the ring's head), creating them (blocksize = 1 <<
 * inode->i_blkbits; @inode NULL: the bdev mapping's bd_block_size) with
 * @b_state if absent. Page locked. NULL when the ring could not be
 * allocated (the caller fails with -ENOMEM). */
PC_EXPORT struct pc_buffer_head *pc_create_page_buffers(struct pc_page *page, struct pc_inode *inode,
							unsigned long b_state);
/* a_ops->releasepage for buffer pages: free the ring if the page is not
 * under writeback and no buffer is dirty, locked or referenced; a dirty
 * page whose buffers are all clean is cleaned (pc_cancel_dirty_page).
 * Page locked. True if freed (or there was no ring). */
PC_EXPORT bool pc_try_to_free_buffers(struct pc_page *page);
/* a_ops->invalidatepage for buffer pages: forget buffers fully inside
 * [offset, offset+length); free the ring when the whole page goes. */
PC_EXPORT void pc_block_invalidatepage(struct pc_page *page, unsigned offset, unsigned length);
/* a_ops->set_page_dirty for buffer pages: dirty every buffer, then the page
 * (pc___set_page_dirty_nobuffers). Page locked or its ring otherwise pinned.
 * True if the page was newly dirtied. */
PC_EXPORT bool pc___set_page_dirty_buffers(struct pc_page *page);
/* Set PC_BH_Dirty; if it was clean and the page is not dirty, dirty the page
 * (without dirtying the page's other buffers). Any context but the tree lock. */
PC_EXPORT void pc_mark_buffer_dirty(struct pc_buffer_head *bh);

/* ---- buffer locking and I/O ---- */
/* PC_BH_Lock is a sleeping bit lock (hashed wait table, like page locks).
 * Lock/wait sleep, and dispatch the calling thread's block plug first so a
 * thread never sleeps on I/O stuck in its own plug. Unlock is allowed from
 * any thread (I/O completion). */
PC_EXPORT void pc_lock_buffer(struct pc_buffer_head *bh);
PC_EXPORT void pc_unlock_buffer(struct pc_buffer_head *bh);
PC_EXPORT void pc_wait_on_buffer(struct pc_buffer_head *bh);
static inline void pc_get_bh(struct pc_buffer_head *bh) { atomic_fetch_add(&bh->b_count, 1); }
static inline void pc_put_bh(struct pc_buffer_head *bh) { atomic_fetch_sub(&bh->b_count, 1); }
/*
 * Submit one locked, mapped buffer as a one-segment bio at sector
 * b_blocknr * (b_size >> 9) of b_bdev; @op is PC_REQ_OP_READ or _WRITE,
 * @op_flags PC_REQ_*. b_end_io(bh, uptodate) runs exactly once at
 * completion (engine thread) and must unlock the buffer. Returns 0, or
 * -EINVAL when b_end_io is NULL (nothing done) or the buffer cannot be
 * submitted (not mapped, no device, bad size), or -ENOMEM when no bio could
 * be allocated: in both cases b_end_io has already run with uptodate 0
 * (for -ENOMEM with PC_BH_NoMem set, which the library's write completions
 * turn into "still dirty, -ENOMEM on the mapping").
 */
PC_EXPORT int pc_submit_bh(enum pc_req_op op, unsigned op_flags, struct pc_buffer_head *bh);
/* pc_bh_read_sync: read a mapped buffer that is not uptodate and wait
 * (locks it; returns 0 at once if uptodate). 0, -EIO (read failed or the
 * buffer is unmapped) or -ENOMEM (no bio could be allocated).
 * pc_sync_dirty_buffer: if dirty, write it and wait. 0 (also when clean) or
 * -EIO (PC_BH_Write_EIO set, the page's mapping gets the error), or -ENOMEM
 * (no bio: the buffer stays dirty, the mapping gets -ENOMEM). The caller
 * holds a reference (b_count) or the page lock. Both sleep. */
PC_EXPORT int pc_bh_read_sync(struct pc_buffer_head *bh);
PC_EXPORT int pc_sync_dirty_buffer(struct pc_buffer_head *bh);

/* ---- generic page/block helpers (Linux fs/buffer.c: block_*) ---- */

/* a_ops->readpage on buffers: map each block (get_block create=0), zero
 * holes, PC_BH_Unwritten blocks and blocks past the size, read mapped
 * non-uptodate blocks; unlocks the page when the last read completes,
 * PC_PG_uptodate if every buffer is, else PC_PG_error (get_block or read
 * failure). Page locked on entry. Returns 0 (errors are reported on the
 * page), or -ENOMEM when the buffer ring or a bio could not be allocated
 * (the page is unlocked, or will be by the I/O still in flight, and is
 * left !uptodate). */
PC_EXPORT int pc_block_read_full_page(struct pc_page *page, pc_get_block_t get_block);
/* a_ops->writepage on buffers: map/allocate dirty blocks (get_block
 * create=1), zero the part past EOF, write dirty mapped buffers; page
 * locked, dirty bit cleared on entry; unlocked on return with PC_PG_writeback
 * until the last buffer write completes. A page wholly past EOF is
 * invalidated and unlocked, nothing written. WB_SYNC_NONE redirties the
 * page for buffers it could not lock. Returns 0 or the get_block error
 * (-ENOSPC, -EIO, -EUCLEAN...): then blocks already mapped are still
 * written, unmapped dirty blocks are dropped (their data cannot be
 * written), the page gets PC_PG_error and the mapping the error. Write I/O
 * errors are reported through the mapping (errseq) and PC_PG_error. */
PC_EXPORT int pc_block_write_full_page(struct pc_page *page, pc_get_block_t get_block,
				       struct pc_writeback_control *wbc);
/*
 * pc___block_write_begin - for a locked page, make bytes [@pos, @pos+@len)
 * of it writable: map (allocate: create=1) each block touched, zero the
 * parts of new blocks outside the range, read blocks partially covered
 * that are not uptodate (and wait for them). On error, new buffers are
 * zeroed, uptodate and dirty (no stale data); blocks it allocated past
 * i_size are the filesystem's to trim. Returns 0, a get_block error, or
 * -EIO (a read failed). Page stays locked either way.
 */
PC_EXPORT int pc___block_write_begin(struct pc_page *page, loff_t pos, unsigned len,
				     pc_get_block_t get_block);
/* write_begin for block filesystems: grab the page
 * (pc_grab_cache_page_write_begin), then __block_write_begin. On success 0
 * and *pagep locked and referenced. On error (-ENOMEM, or as
 * __block_write_begin) the page is unlocked and released and *pagep NULL. */
PC_EXPORT int pc_block_write_begin(struct pc_address_space *mapping, loff_t pos, unsigned len,
				   unsigned flags, struct pc_page **pagep, pc_get_block_t get_block);
/* Commit @copied bytes: if the copy was short into a non-uptodate page,
 * commit 0 (the caller retries); zero new buffers' uncopied parts, mark
 * the written buffers uptodate and dirty (the page uptodate if all of its
 * buffers are). Returns the bytes committed. Page locked; does NOT unlock,
 * put, or update i_size. */
PC_EXPORT int pc_block_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				 unsigned len, unsigned copied, struct pc_page *page, void *fsdata);
/* block_write_end + i_size update (pc_i_size_write when pos+committed >
 * i_size; pc_mark_inode_dirty after unlocking if it changed; skipped for
 * the bdev mapping) + unlock + put; the usual write_end. Returns the bytes
 * committed. */
PC_EXPORT int pc_generic_write_end(struct pc_file *file, struct pc_address_space *mapping, loff_t pos,
				   unsigned len, unsigned copied, struct pc_page *page, void *fsdata);
/* Zero the parts of PC_BH_New buffers in [from, to) of a locked page that
 * were not written, and clear PC_BH_New (Linux's page_zero_new_buffers). */
PC_EXPORT void pc_page_zero_new_buffers(struct pc_page *page, unsigned from, unsigned to);
/* Zero the tail of the block containing @from on disk (truncate): reads the
 * block if needed and dirties it; nothing to do on a block boundary or in a
 * hole. Takes and releases the page lock (caller holds no page lock).
 * 0 or -ENOMEM, -EIO, or the get_block error. */
PC_EXPORT int pc_block_truncate_page(struct pc_address_space *mapping, loff_t from,
				     pc_get_block_t get_block);

/* ---- the block device's address_space (buffer cache) ---- */

/* The operations of every block device's mapping: readpage/writepage on
 * buffers with a 1:1 get_block (-EIO past bd_size), buffer set_page_dirty,
 * invalidatepage and releasepage, write_begin/write_end on buffers. */
PC_EXPORT extern const struct pc_address_space_operations pc_def_blk_aops;

/*
 * pc_bdev_attach_cache - give @bdev its buffer cache in @cache and start
 * its flusher (bd_bdi). Buffers are bd_block_size bytes (1024 if unset).
 * 0, -EINVAL (NULL argument), -EBUSY (already attached), or the error of
 * pc_bdi_init.
 */
PC_EXPORT int pc_bdev_attach_cache(struct pc_block_device *bdev, struct pc_cache *cache);
/* Write back and drop the buffer cache, stop the flusher. Every buffer must
 * have been released (pc_brelse) and every file of the device evicted. */
PC_EXPORT void pc_bdev_detach_cache(struct pc_block_device *bdev);
/* Change the buffer size (writes back and empties the buffer cache first;
 * no buffer may be held). 0 or -EINVAL (not a power of two in
 * 512..PAGE_SIZE, or under the logical block size of an O_DIRECT device). */
PC_EXPORT int pc_set_blocksize(struct pc_block_device *bdev, unsigned size);
/*
 * The buffer for @block (units of bd_block_size), referenced, read if
 * needed (pc___bread) or not (pc___getblk). NULL with *@err (-EIO, -EINVAL
 * past the device or no buffer cache attached, -ENOMEM, -EBUSY buffers of
 * another block size still held). Release with pc_brelse. The buffer is
 * unlocked on return; its data may be read and written (then
 * pc_mark_buffer_dirty) under the caller's own serialisation (the
 * filesystem's metadata lock) or pc_lock_buffer.
 */
PC_EXPORT struct pc_buffer_head *pc___bread(struct pc_block_device *bdev, pc_sector_t block, int *err);
PC_EXPORT struct pc_buffer_head *pc___getblk(struct pc_block_device *bdev, pc_sector_t block, int *err);
/* Drop a reference from pc___getblk/pc___bread (NULL is ignored). */
PC_EXPORT void pc_brelse(struct pc_buffer_head *bh);
/* Forget cached metadata for @len blocks from @block (units of bd_block_size):
 * they now hold file data written through another mapping. Their buffers
 * lose PC_BH_Dirty and PC_BH_Uptodate (after any write in flight on them ends),
 * their pages PC_PG_uptodate. Sleeps on the bdev's page locks: may be called
 * with file page locks and the filesystem metadata lock held (bdev pages
 * come after both in the lock order), not with a bdev page locked. */
PC_EXPORT void pc_clean_bdev_aliases(struct pc_block_device *bdev, pc_sector_t block, pc_sector_t len);
/* Write back the buffer cache and wait, then flush the device (not on a
 * read-only device). 0 or the first -errno (-EIO). */
PC_EXPORT int pc_sync_blockdev(struct pc_block_device *bdev);

#endif /* PAGECACHE_BUFFER_HEAD_H */
