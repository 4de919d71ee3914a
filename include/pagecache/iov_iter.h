/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/iov_iter.h - layer 3: iterators over caller buffers.
 *
 * An iov_iter walks a list of segments: iovec (caller's user buffers), kvec
 * (library-internal buffers) or bvec (page, offset, length triples). It
 * follows Linux's iov_iter ("fs: add an iovec iterator", 2007, lib/iov_iter.c):
 * the iterator owns no memory; the segment array and the buffers it points
 * to belong to the caller and must outlive the iterator.
 *
 * Copies out of the iterator may stop short: pc_copy_page_from_iter_atomic()
 * is the "atomic" copy of generic_perform_write, which in the kernel stops at
 * a page fault. In userspace nothing faults, so a test hook
 * (pc_iov_iter_set_fault) marks a point in the iterator where copies stop
 * short, to exercise every short-copy path.
 *
 * Position: the iterator is always kept at a canonical position: either the
 * current segment (@iov / @bvec) still has bytes after @iov_offset, or the
 * segments are exhausted (@nr_segs == 0, @iov_offset == 0, the segment
 * pointer one past the last element). Zero-length and fully consumed
 * segments are stepped over eagerly (at init and on every advance/revert),
 * so while count > 0 the next byte is at @iov_offset in the current segment.
 * The segment pointer therefore moves forward as segments are consumed;
 * pc_iov_iter_revert() moves it back, relying (like the kernel) on the
 * segments being one contiguous array.
 *
 * @count may be smaller than the total length of the segments (a truncated
 * iterator); it must not be larger. If it is, the iterator ends where the
 * segments end: copies stop there and count drops to 0.
 *
 * @dir is recorded but not checked: copies in either direction work on any
 * iterator, and using the direction the iterator was built for is the
 * caller's duty.
 *
 * Thread safety: none. An iterator belongs to one thread at a time; the
 * segment arrays are only read.
 *
 * Cost: the single-segment copy (the common case: one iovec, a 4096-byte
 * memcpy) does a few compares besides the memcpy; no division, and no loop
 * over the segments beyond those the copy touches.
 */
#ifndef PAGECACHE_IOV_ITER_H
#define PAGECACHE_IOV_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "compiler.h"

struct pc_page;

/*
 * One page segment: @bv_len bytes at @bv_offset inside @bv_page
 * (bv_offset + bv_len <= PC_PAGE_SIZE). A zero-length segment's page is
 * never touched (it may be NULL).
 */
struct pc_bio_vec {
	struct pc_page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
};

enum pc_iter_type { PC_ITER_IOVEC, PC_ITER_KVEC, PC_ITER_BVEC };
/* Direction: data flows into the iterator's buffers (a read) or out of them. */
enum { PC_READ = 0, PC_WRITE = 1 };

/*
 * struct pc_iov_iter - position in a segment array.
 * @type, @dir:  kind of segments and direction (PC_READ: we fill the
 *               caller's buffers; PC_WRITE: we take data from them).
 * @iov_offset:  bytes already consumed in the current segment (for a bvec,
 *               relative to bv_offset).
 * @count:       bytes left in the whole iterator.
 * @iov/@bvec:   current segment; @nr_segs segments remain from it.
 * @fault_at:    test hook: when >= 0, the byte (counted from the start of
 *               the iterator, i.e. total bytes advanced so far) at which
 *               "atomic" copies stop short; @fault_sticky makes the fault
 *               permanent (fault_in_readable then fails with -EFAULT), else
 *               the fault clears once pc_iov_iter_fault_in_readable() has
 *               been called for the faulting byte.
 * @done:        bytes advanced since init (for @fault_at).
 */
struct pc_iov_iter {
	unsigned char type;
	unsigned char dir;
	bool fault_sticky;
	size_t iov_offset;
	size_t count;
	union {
		const struct iovec *iov;	/* IOVEC and KVEC (a kvec is an iovec) */
		const struct pc_bio_vec *bvec;
	};
	unsigned long nr_segs;
	long long fault_at;
	size_t done;
};

/*
 * pc_iov_iter_init - initialise @i over the caller's @nr_segs iovecs.
 * @i:       the iterator (any previous contents are overwritten).
 * @dir:     PC_READ (data will be copied into the buffers) or PC_WRITE
 *           (data will be taken from them).
 * @iov:     segment array; must stay valid and unchanged while @i is used.
 *           Zero-length segments are allowed anywhere (their base is never
 *           dereferenced).
 * @nr_segs: number of elements in @iov.
 * @count:   bytes to iterate over; at most the sum of the iov_len. Leading
 *           zero-length segments are skipped at once (i->iov may then point
 *           past @iov); if every segment is empty, count becomes 0.
 * No fault is set (fault_at = -1), done = 0. Cannot fail.
 */
PC_EXPORT void pc_iov_iter_init(struct pc_iov_iter *i, unsigned dir, const struct iovec *iov,
				unsigned long nr_segs, size_t count);
/*
 * pc_iov_iter_kvec - as pc_iov_iter_init(), for library-internal buffers
 * (type PC_ITER_KVEC). Behaves exactly as an iovec iterator, the fault hook
 * included. Cannot fail.
 */
PC_EXPORT void pc_iov_iter_kvec(struct pc_iov_iter *i, unsigned dir, const struct iovec *kvec,
				unsigned long nr_segs, size_t count);
/*
 * pc_iov_iter_bvec - as pc_iov_iter_init(), over @nr_segs page segments
 * (type PC_ITER_BVEC). @count at most the sum of the bv_len. The pages are
 * reached with pc_page_address(); the iterator takes no page references.
 * Cannot fail.
 */
PC_EXPORT void pc_iov_iter_bvec(struct pc_iov_iter *i, unsigned dir, const struct pc_bio_vec *bvec,
				unsigned long nr_segs, size_t count);

/* Bytes left in the iterator. */
static inline size_t pc_iov_iter_count(const struct pc_iov_iter *i) { return i->count; }
/*
 * pc_iov_iter_advance - move forward @bytes: count -= bytes, done += bytes,
 * stepping over consumed and zero-length segments. @bytes is clipped to
 * count (advancing past the end is not an error). Cannot fail.
 */
PC_EXPORT void pc_iov_iter_advance(struct pc_iov_iter *i, size_t bytes);
/*
 * pc_iov_iter_revert - move backward @bytes: count += bytes, done -= bytes,
 * walking back across segments (zero-length ones included) as needed.
 * @bytes is clipped to done (what was advanced since init), so the iterator
 * never moves before its start. Count grows even if it was truncated (as
 * the kernel's iov_iter_revert). Cannot fail.
 */
PC_EXPORT void pc_iov_iter_revert(struct pc_iov_iter *i, size_t bytes);
/*
 * pc_iov_iter_truncate - limit count to @count; never raises it. Segments
 * and position are unchanged. Cannot fail.
 */
PC_EXPORT void pc_iov_iter_truncate(struct pc_iov_iter *i, size_t count);
/*
 * pc_iov_iter_single_seg_count - bytes left in the current segment, limited
 * by count. Returns 0 only when count is 0 (the current segment is never an
 * empty one), so generic_perform_write's "retry with one segment" always
 * makes progress.
 */
PC_EXPORT size_t pc_iov_iter_single_seg_count(const struct pc_iov_iter *i);
/*
 * pc_iov_iter_fault_in_readable - make sure the next @bytes, clipped to the
 * current segment and to count, can be read without faulting (Linux's
 * iov_iter_fault_in_readable(i, bytes)). Only the fault hook can make a
 * range unreadable here: if fault_at lies inside the clipped range, a
 * non-sticky fault is cleared (fault_at = -1) and 0 returned, a sticky one
 * stays and -EFAULT is returned. A fault outside the range is left alone.
 * Returns 0 or -EFAULT. Does not move the iterator.
 */
PC_EXPORT int pc_iov_iter_fault_in_readable(struct pc_iov_iter *i, size_t bytes);

/*
 * pc_copy_page_from_iter_atomic - copy up to @bytes from the iterator into
 * @page at @offset WITHOUT advancing the iterator (the caller advances by
 * what write_end committed).
 * @page:   destination page; @offset + @bytes should be <= PC_PAGE_SIZE
 *          (the copy is clipped at the page end; @offset >= PC_PAGE_SIZE
 *          copies nothing).
 * @bytes:  bytes wanted; clipped to count and to the page.
 * @i:      source iterator, not moved.
 * Returns the bytes copied. Short (possibly 0) when the fault hook's byte
 * lies inside the range: then exactly fault_at - done bytes are copied.
 * There is no error return.
 */
PC_EXPORT size_t pc_copy_page_from_iter_atomic(struct pc_page *page, size_t offset, size_t bytes,
					       struct pc_iov_iter *i);
/*
 * pc_copy_page_from_iter - as pc_copy_page_from_iter_atomic(), then advance
 * the iterator by the bytes copied. Returns bytes copied: short only at the
 * fault hook (or at the page end / count). No error return.
 */
PC_EXPORT size_t pc_copy_page_from_iter(struct pc_page *page, size_t offset, size_t bytes,
					struct pc_iov_iter *i);
/*
 * pc_copy_page_to_iter - copy up to @bytes from @page at @offset into the
 * iterator's buffers and advance by what was copied. Clipped to count and
 * to the page end (@offset >= PC_PAGE_SIZE copies nothing). The fault hook
 * does not apply to copies into the iterator. Returns bytes copied; no
 * error return.
 */
PC_EXPORT size_t pc_copy_page_to_iter(struct pc_page *page, size_t offset, size_t bytes,
				      struct pc_iov_iter *i);
/*
 * pc_copy_to_iter - copy min(@bytes, count) bytes from @addr into the
 * iterator's buffers and advance. Not affected by the fault hook. Returns
 * bytes copied; no error return. @addr must not overlap the buffers.
 */
PC_EXPORT size_t pc_copy_to_iter(const void *addr, size_t bytes, struct pc_iov_iter *i);
/*
 * pc_copy_from_iter - copy min(@bytes, count) bytes from the iterator's
 * buffers into @addr and advance by what was copied. Short at the fault
 * hook (exactly fault_at - done bytes when the range crosses it). Returns
 * bytes copied; no error return.
 */
PC_EXPORT size_t pc_copy_from_iter(void *addr, size_t bytes, struct pc_iov_iter *i);
/*
 * pc_iov_iter_zero - write min(@bytes, count) zero bytes into the
 * iterator's buffers and advance. Returns bytes zeroed; no error return.
 */
PC_EXPORT size_t pc_iov_iter_zero(size_t bytes, struct pc_iov_iter *i);
/*
 * pc_iov_iter_alignment - OR of the start address (base + iov_offset for
 * the current segment, base for the later ones) and the length of every
 * non-empty remaining segment, the lengths limited by count and segments
 * past count ignored (as the kernel). For a bvec the "address" is
 * bv_offset (+ iov_offset), pages being page aligned. Returns 0 when count
 * is 0. Test (result & (blocksize - 1)) for direct-I/O alignment.
 */
PC_EXPORT unsigned long pc_iov_iter_alignment(const struct pc_iov_iter *i);

/*
 * pc_iov_iter_set_fault - test hook: copies out of the iterator
 * (pc_copy_page_from_iter_atomic, pc_copy_page_from_iter, pc_copy_from_iter)
 * stop short at byte @at (counted from init, i.e. in "done" terms) of this
 * iterator, for as long as the fault is set. @sticky: the range can never
 * be faulted in (pc_iov_iter_fault_in_readable returns -EFAULT); otherwise
 * pc_iov_iter_fault_in_readable() over it clears the fault. @at < 0 clears
 * the fault (and stickiness). Cannot fail.
 */
PC_EXPORT void pc_iov_iter_set_fault(struct pc_iov_iter *i, long long at, bool sticky);

#endif /* PAGECACHE_IOV_ITER_H */
