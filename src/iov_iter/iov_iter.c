/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/iov_iter/iov_iter.c - layer 3: iterators over caller buffers.
 *
 * See include/pagecache/iov_iter.h for the contract. Implementation notes:
 *
 * - The position is kept canonical (see the header): after every operation
 *   either the current segment has bytes left after iov_offset, or the
 *   segments are exhausted (nr_segs == 0, iov_offset == 0). Every copy can
 *   therefore start at the current segment without skipping anything, and
 *   the single-segment fast path is "does the request fit in what is left of
 *   the current segment": one compare, then memcpy.
 * - Moving forward is one loop that steps over every segment the new
 *   position has reached or passed (zero-length ones included); moving back
 *   walks the contiguous array backwards until the remaining distance fits.
 * - iovec and kvec share the code (a kvec is an iovec); bvec has its own
 *   loops, reaching its data through pc_page_address().
 * - The fault hook only ever shortens copies out of the iterator; it costs
 *   one predicted-not-taken branch when unset.
 */
#include <errno.h>
#include <string.h>

#include <pagecache/iov_iter.h>
#include <pagecache/mm.h>

#define PC_ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* segment helpers                                                           */
/* ------------------------------------------------------------------------ */

static PC_ALWAYS_INLINE bool is_bvec(const struct pc_iov_iter *i)
{
	return pc_unlikely(i->type == PC_ITER_BVEC);
}

static PC_ALWAYS_INLINE char *bvec_data(const struct pc_bio_vec *bv)
{
	return (char *)pc_page_address(bv->bv_page) + bv->bv_offset;
}

/*
 * Step over the leading segments that hold no byte at or after @size bytes
 * into the current one; leaves the iterator at a canonical position. Used by
 * init (size 0: skip empty segments) and advance. Returns the bytes of @size
 * that did not fit in the segments (non-zero only if count was larger than
 * the segments).
 */
static PC_ALWAYS_INLINE size_t seek_forward(struct pc_iov_iter *i, size_t size)
{
	unsigned long nr = i->nr_segs;

	if (pc_likely(!is_bvec(i))) {
		const struct iovec *iov = i->iov;

		while (nr && size >= iov->iov_len) {
			size -= iov->iov_len;
			iov++;
			nr--;
		}
		i->iov = iov;
	} else {
		const struct pc_bio_vec *bv = i->bvec;

		while (nr && size >= bv->bv_len) {
			size -= bv->bv_len;
			bv++;
			nr--;
		}
		i->bvec = bv;
	}
	i->nr_segs = nr;
	if (pc_unlikely(!nr)) {
		/* Segments exhausted: nothing can be reached any more. */
		i->iov_offset = 0;
		return size;
	}
	i->iov_offset = size;
	return 0;
}

/* Move forward @bytes (caller guarantees bytes <= count). */
static PC_ALWAYS_INLINE void move_forward(struct pc_iov_iter *i, size_t bytes)
{
	size_t over = seek_forward(i, i->iov_offset + bytes);

	i->done += bytes - over;
	if (pc_unlikely(!i->nr_segs))
		i->count = 0;	/* count may have claimed more than the segments */
	else
		i->count -= bytes;
}

enum xfer_op { XFER_TO_ITER, XFER_FROM_ITER, XFER_ZERO };

/*
 * Move @n bytes between segment memory @seg and the flat buffer (@in for
 * XFER_TO_ITER, @out for XFER_FROM_ITER) at buffer offset @off. @op is a
 * constant at every call site, so this folds to one memcpy/memset.
 */
static PC_ALWAYS_INLINE void xfer_chunk(enum xfer_op op, char *seg, const char *in, char *out,
					size_t off, size_t n)
{
	switch (op) {
	case XFER_TO_ITER:
		memcpy(seg, in + off, n);
		break;
	case XFER_FROM_ITER:
		memcpy(out + off, seg, n);
		break;
	case XFER_ZERO:
		memset(seg, 0, n);
		break;
	}
}

/*
 * Transfer @n bytes (0 < n <= count) between the segments, starting at the
 * current position, and a flat buffer. The iterator does not move. Returns
 * the bytes transferred: @n, or fewer only if the segments end first.
 */
static PC_ALWAYS_INLINE size_t xfer(const struct pc_iov_iter *i, const char *in, char *out,
				    size_t n, enum xfer_op op)
{
	unsigned long nr = i->nr_segs;
	size_t skip = i->iov_offset;
	size_t done = 0;

	if (pc_likely(!is_bvec(i))) {
		const struct iovec *iov = i->iov;

		/* Fast path: the whole request lies in the current segment. */
		if (pc_likely(nr != 0) && pc_likely(n <= iov->iov_len - skip)) {
			xfer_chunk(op, (char *)iov->iov_base + skip, in, out, 0, n);
			return n;
		}
		for (; nr && done < n; iov++, nr--, skip = 0) {
			size_t len = PC_MIN(iov->iov_len - skip, n - done);

			if (!len)
				continue;
			xfer_chunk(op, (char *)iov->iov_base + skip, in, out, done, len);
			done += len;
		}
	} else {
		const struct pc_bio_vec *bv = i->bvec;

		if (pc_likely(nr != 0) && pc_likely(n <= bv->bv_len - skip)) {
			xfer_chunk(op, bvec_data(bv) + skip, in, out, 0, n);
			return n;
		}
		for (; nr && done < n; bv++, nr--, skip = 0) {
			size_t len = PC_MIN(bv->bv_len - skip, n - done);

			if (!len)
				continue;
			xfer_chunk(op, bvec_data(bv) + skip, in, out, done, len);
			done += len;
		}
	}
	return done;
}

/*
 * Clip @n so that a copy out of the iterator stops before the fault hook's
 * byte, if that byte lies in [done, done + n).
 */
static PC_ALWAYS_INLINE size_t fault_clip(const struct pc_iov_iter *i, size_t n)
{
	if (pc_unlikely(i->fault_at >= 0)) {
		unsigned long long at = (unsigned long long)i->fault_at;

		if (at >= i->done && at - i->done < n)
			n = (size_t)(at - i->done);
	}
	return n;
}

/* Bytes of a page copy at @offset: clipped to the page end and to count. */
static PC_ALWAYS_INLINE size_t page_clip(const struct pc_iov_iter *i, size_t offset, size_t bytes)
{
	if (pc_unlikely(offset >= PC_PAGE_SIZE))
		return 0;
	bytes = PC_MIN(bytes, PC_PAGE_SIZE - offset);
	return PC_MIN(bytes, i->count);
}

/* ------------------------------------------------------------------------ */
/* init                                                                      */
/* ------------------------------------------------------------------------ */

static void iter_init_common(struct pc_iov_iter *i, unsigned char type, unsigned dir,
			     unsigned long nr_segs, size_t count)
{
	i->type = type;
	i->dir = (unsigned char)dir;
	i->fault_sticky = false;
	i->iov_offset = 0;
	i->count = count;
	i->nr_segs = nr_segs;
	i->fault_at = -1;
	i->done = 0;
	/* Skip leading empty segments; no segments at all means nothing to do. */
	seek_forward(i, 0);
	if (!i->nr_segs)
		i->count = 0;
}

void pc_iov_iter_init(struct pc_iov_iter *i, unsigned dir, const struct iovec *iov,
		      unsigned long nr_segs, size_t count)
{
	i->iov = iov;
	iter_init_common(i, PC_ITER_IOVEC, dir, nr_segs, count);
}

void pc_iov_iter_kvec(struct pc_iov_iter *i, unsigned dir, const struct iovec *kvec,
		      unsigned long nr_segs, size_t count)
{
	i->iov = kvec;
	iter_init_common(i, PC_ITER_KVEC, dir, nr_segs, count);
}

void pc_iov_iter_bvec(struct pc_iov_iter *i, unsigned dir, const struct pc_bio_vec *bvec,
		      unsigned long nr_segs, size_t count)
{
	i->bvec = bvec;
	iter_init_common(i, PC_ITER_BVEC, dir, nr_segs, count);
}

/* ------------------------------------------------------------------------ */
/* position                                                                  */
/* ------------------------------------------------------------------------ */

void pc_iov_iter_advance(struct pc_iov_iter *i, size_t bytes)
{
	if (pc_unlikely(bytes > i->count))
		bytes = i->count;
	if (pc_unlikely(!bytes))
		return;
	move_forward(i, bytes);
}

void pc_iov_iter_revert(struct pc_iov_iter *i, size_t bytes)
{
	size_t unroll;
	unsigned long nr;

	if (pc_unlikely(bytes > i->done))
		bytes = i->done;
	if (pc_unlikely(!bytes))
		return;
	i->done -= bytes;
	i->count += bytes;

	/* Still inside the current segment (offset 0 of a non-empty one is canonical). */
	if (pc_likely(bytes <= i->iov_offset)) {
		i->iov_offset -= bytes;
		return;
	}
	/*
	 * Walk back. unroll > 0 throughout, so the loop stops on a non-empty
	 * segment with the new offset < its length: canonical. It cannot run
	 * past the start of the array because unroll never exceeds the bytes
	 * of the segments before the current position (bytes <= done).
	 */
	unroll = bytes - i->iov_offset;
	nr = i->nr_segs;
	if (pc_likely(!is_bvec(i))) {
		const struct iovec *iov = i->iov;

		for (;;) {
			iov--;
			nr++;
			if (unroll <= iov->iov_len)
				break;
			unroll -= iov->iov_len;
		}
		i->iov = iov;
		i->iov_offset = iov->iov_len - unroll;
	} else {
		const struct pc_bio_vec *bv = i->bvec;

		for (;;) {
			bv--;
			nr++;
			if (unroll <= bv->bv_len)
				break;
			unroll -= bv->bv_len;
		}
		i->bvec = bv;
		i->iov_offset = bv->bv_len - unroll;
	}
	i->nr_segs = nr;
}

void pc_iov_iter_truncate(struct pc_iov_iter *i, size_t count)
{
	if (count < i->count)
		i->count = count;
}

size_t pc_iov_iter_single_seg_count(const struct pc_iov_iter *i)
{
	size_t left;

	if (pc_unlikely(!i->nr_segs))
		return 0;
	if (pc_likely(!is_bvec(i)))
		left = i->iov->iov_len - i->iov_offset;
	else
		left = i->bvec->bv_len - i->iov_offset;
	return PC_MIN(left, i->count);
}

/* ------------------------------------------------------------------------ */
/* faults                                                                    */
/* ------------------------------------------------------------------------ */

void pc_iov_iter_set_fault(struct pc_iov_iter *i, long long at, bool sticky)
{
	if (at < 0) {
		i->fault_at = -1;
		i->fault_sticky = false;
		return;
	}
	i->fault_at = at;
	i->fault_sticky = sticky;
}

int pc_iov_iter_fault_in_readable(struct pc_iov_iter *i, size_t bytes)
{
	unsigned long long at;

	/*
	 * Real iovec memory is either mapped or the process dies on the copy;
	 * there is nothing to prefault in userspace. Only the hook matters.
	 */
	if (pc_likely(i->fault_at < 0))
		return 0;
	bytes = PC_MIN(bytes, pc_iov_iter_single_seg_count(i));
	at = (unsigned long long)i->fault_at;
	if (at < i->done || at - i->done >= bytes)
		return 0;
	if (i->fault_sticky)
		return -EFAULT;
	i->fault_at = -1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* copies                                                                    */
/* ------------------------------------------------------------------------ */

size_t pc_copy_page_from_iter_atomic(struct pc_page *page, size_t offset, size_t bytes,
				     struct pc_iov_iter *i)
{
	size_t n = fault_clip(i, page_clip(i, offset, bytes));

	if (pc_unlikely(!n))
		return 0;
	return xfer(i, NULL, (char *)pc_page_address(page) + offset, n, XFER_FROM_ITER);
}

size_t pc_copy_page_from_iter(struct pc_page *page, size_t offset, size_t bytes,
			      struct pc_iov_iter *i)
{
	size_t n = fault_clip(i, page_clip(i, offset, bytes));

	if (pc_unlikely(!n))
		return 0;
	n = xfer(i, NULL, (char *)pc_page_address(page) + offset, n, XFER_FROM_ITER);
	move_forward(i, n);
	return n;
}

size_t pc_copy_page_to_iter(struct pc_page *page, size_t offset, size_t bytes,
			    struct pc_iov_iter *i)
{
	size_t n = page_clip(i, offset, bytes);

	if (pc_unlikely(!n))
		return 0;
	n = xfer(i, (const char *)pc_page_address(page) + offset, NULL, n, XFER_TO_ITER);
	move_forward(i, n);
	return n;
}

size_t pc_copy_to_iter(const void *addr, size_t bytes, struct pc_iov_iter *i)
{
	size_t n = PC_MIN(bytes, i->count);

	if (pc_unlikely(!n))
		return 0;
	n = xfer(i, addr, NULL, n, XFER_TO_ITER);
	move_forward(i, n);
	return n;
}

size_t pc_copy_from_iter(void *addr, size_t bytes, struct pc_iov_iter *i)
{
	size_t n = fault_clip(i, PC_MIN(bytes, i->count));

	if (pc_unlikely(!n))
		return 0;
	n = xfer(i, NULL, addr, n, XFER_FROM_ITER);
	move_forward(i, n);
	return n;
}

size_t pc_iov_iter_zero(size_t bytes, struct pc_iov_iter *i)
{
	size_t n = PC_MIN(bytes, i->count);

	if (pc_unlikely(!n))
		return 0;
	n = xfer(i, NULL, NULL, n, XFER_ZERO);
	move_forward(i, n);
	return n;
}

/* ------------------------------------------------------------------------ */
/* alignment                                                                 */
/* ------------------------------------------------------------------------ */

unsigned long pc_iov_iter_alignment(const struct pc_iov_iter *i)
{
	unsigned long res = 0;
	unsigned long nr = i->nr_segs;
	size_t size = i->count;
	size_t skip = i->iov_offset;

	if (pc_likely(!is_bvec(i))) {
		const struct iovec *iov = i->iov;

		for (; nr && size; iov++, nr--, skip = 0) {
			size_t len = iov->iov_len - skip;

			if (!len)
				continue;
			res |= (unsigned long)(uintptr_t)iov->iov_base + skip;
			len = PC_MIN(len, size);
			res |= len;
			size -= len;
		}
	} else {
		const struct pc_bio_vec *bv = i->bvec;

		for (; nr && size; bv++, nr--, skip = 0) {
			size_t len = bv->bv_len - skip;

			if (!len)
				continue;
			res |= (unsigned long)bv->bv_offset + skip;
			len = PC_MIN(len, size);
			res |= len;
			size -= len;
		}
	}
	return res;
}
