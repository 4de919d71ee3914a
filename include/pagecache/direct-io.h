/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/direct-io.h - layer 8: direct I/O coherent with the page cache.
 *
 * Direct I/O moves data between the caller's buffers and the device with no
 * copy through the cache, in bios built straight on the caller's memory.
 * It stays coherent with buffered I/O and truncate without one big inode
 * lock by locking the RANGE of the page cache it transfers (placeholders, as
 * in Chris Mason's 2007 "O_DIRECT locking rework"): the pages present
 * are locked, placeholders fill the holes (filemap.h), so
 *   - no buffered reader can instantiate a page over blocks the direct
 *     write is allocating and has not written yet (stale data);
 *   - no buffered writer can dirty a page the direct write makes stale;
 *   - truncate waits for direct I/O in the range before freeing blocks;
 *   - cached dirty pages are written back before, and after a direct write
 *     the range's cached pages are dropped while still locked, so once the
 *     write returns every buffered read sees the new data.
 *
 * Flags (those of the same series, on Linux's __blockdev_direct_IO):
 *   PC_DIO_PLACEHOLDERS  lock the range with placeholders (else only write
 *                        back before and invalidate after, for callers that
 *                        serialise with buffered I/O themselves).
 *   PC_DIO_CREATE        writes call get_block with create = 1: direct
 *                        writes fill holes and extend the file; i_size is
 *                        updated when the I/O has completed, before the
 *                        range is unlocked.
 *   PC_DIO_DROP_I_MUTEX  a write that ends inside i_size releases the inode
 *                        lock once its range is locked and takes it again
 *                        before returning, so direct writers to disjoint
 *                        ranges of one file run in parallel.
 *
 * Unlike that series, the whole range is locked before the first get_block:
 * nothing here maps file pages into a caller's address space, so the
 * mmap-buffer deadlock that made it lock DIO_PAGES at a time cannot
 * happen, and a single lock covers the whole transfer (truncate and readers
 * then see all of it or none of it).
 */
#ifndef PAGECACHE_DIRECT_IO_H
#define PAGECACHE_DIRECT_IO_H

#include "filemap.h"
#include "buffer_head.h"
#include "blkdev.h"

struct pc_inode;

enum {
	PC_DIO_PLACEHOLDERS = 1 << 0,
	PC_DIO_CREATE = 1 << 1,
	PC_DIO_DROP_I_MUTEX = 1 << 2,
};

/*
 * pc_check_dio_alignment - may @iter at byte offset @pos go direct? The
 * offset, the byte count and every segment's base address and length must
 * be multiples of @align (a power of two: the device's logical block size,
 * 512 B or 4 KiB, the same rule as Linux's O_DIRECT). Only iovec and kvec
 * iterators can go direct. Returns 0, or -EINVAL (nothing may be
 * transferred). No lock.
 */
PC_EXPORT int pc_check_dio_alignment(const struct pc_iov_iter *iter, loff_t pos, unsigned align);

/*
 * pc_blockdev_direct_IO - transfer @iter (PC_READ: fill it; PC_WRITE: take
 * from it) at iocb->ki_pos of @inode directly to or from @bdev, mapping
 * file blocks with @get_block (which may map runs: b_size), per @flags.
 *
 * Locking: reads are called WITHOUT the inode lock (after locking the
 * range they re-read i_size, so a truncate that ran meanwhile is seen);
 * writes are called with the inode lock held exclusive and return with it
 * held (with PC_DIO_DROP_I_MUTEX it may be released and re-taken in
 * between). No page lock may be held by the caller. get_block is called
 * with the range's pages locked by this call, so it must not lock pages of
 * @inode's mapping; it takes the filesystem's metadata lock (after the
 * page locks, as the lock order wants).
 *
 * Returns bytes transferred (short: at EOF for reads; before the first
 * error for a partial failure) or -errno if nothing was: -EINVAL
 * (misaligned, see pc_check_dio_alignment), -EIO (device error), -ENOSPC,
 * -EFBIG, -EUCLEAN (get_block errors), -ENOMEM, -ENOTBLK (a write to a
 * hole without PC_DIO_CREATE: the caller must fall back to buffered I/O
 * for the rest). Advances @iter by the bytes transferred, not ki_pos (the
 * generic read/write paths do that). Reads of holes fill zeros. After a
 * successful write the data is on the device (not necessarily on stable
 * storage) and i_size covers it; the inode is marked dirty if its size or
 * block map changed. Sleeps.
 */
PC_EXPORT ssize_t pc_blockdev_direct_IO(struct pc_kiocb *iocb, struct pc_inode *inode,
					struct pc_block_device *bdev, struct pc_iov_iter *iter,
					pc_get_block_t get_block, unsigned flags);

#endif /* PAGECACHE_DIRECT_IO_H */
