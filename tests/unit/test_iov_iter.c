/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_iov_iter.c - unit tests for layer 3 (iov_iter).
 *
 * Most tests run once per iterator type (iovec, kvec, bvec) through a small
 * fixture that lays a list of segment lengths over real buffers:
 *   - iovec/kvec: every non-empty segment is its own malloc of exactly its
 *     length (so ASan catches any access past a segment); empty segments
 *     have a NULL base, so any use of their base crashes.
 *   - bvec: every non-empty segment sits at the END of its own fake page
 *     (bv_offset = PC_PAGE_SIZE - len), so an overrun leaves the allocation;
 *     empty segments have a NULL page.
 * Fake pages are plain struct pc_page objects whose ->virtual is an
 * aligned_alloc(PC_PAGE_SIZE) buffer; the mm layer is not linked.
 *
 * The "logical" offset of a byte is its offset in the concatenation of all
 * segments; tests check content through fx_byte().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagecache/iov_iter.h>
#include <pagecache/mm.h>

#define MAXSEG 16

static const int type_iovec = PC_ITER_IOVEC;
static const int type_kvec = PC_ITER_KVEC;
static const int type_bvec = PC_ITER_BVEC;

struct fx {
	int type;
	size_t nseg;
	size_t lens[MAXSEG];
	size_t total;
	unsigned char *data[MAXSEG];	/* start of each segment's bytes (NULL if empty) */
	struct iovec iov[MAXSEG];
	struct pc_bio_vec bv[MAXSEG];
	struct pc_page pages[MAXSEG];
	struct pc_iov_iter it;
};

static unsigned char pat(size_t off, unsigned seed)
{
	return (unsigned char)((off * 131u + seed * 17u + (off >> 8)) & 0xff);
}

static void *xalloc_page(void)
{
	void *p = aligned_alloc(PC_PAGE_SIZE, PC_PAGE_SIZE);

	assert_non_null(p);
	memset(p, 0xA5, PC_PAGE_SIZE);
	return p;
}

static struct pc_page *fake_page(void)
{
	struct pc_page *pg = calloc(1, sizeof(*pg));

	assert_non_null(pg);
	pg->virtual = xalloc_page();
	return pg;
}

static void free_fake_page(struct pc_page *pg)
{
	free(pg->virtual);
	free(pg);
}

/* Build the segments; fill them with pat(logical offset, seed). */
static void fx_setup(struct fx *f, int type, unsigned dir, const size_t *lens, size_t n,
		     unsigned seed)
{
	size_t off = 0;

	assert_true(n <= MAXSEG);
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->nseg = n;
	for (size_t k = 0; k < n; k++) {
		f->lens[k] = lens[k];
		assert_true(lens[k] <= PC_PAGE_SIZE);
		if (type == PC_ITER_BVEC) {
			if (lens[k]) {
				f->pages[k].virtual = xalloc_page();
				f->bv[k].bv_page = &f->pages[k];
				f->bv[k].bv_offset = (unsigned)(PC_PAGE_SIZE - lens[k]);
				f->data[k] = (unsigned char *)f->pages[k].virtual + f->bv[k].bv_offset;
			} else {
				f->bv[k].bv_page = NULL;
				f->bv[k].bv_offset = 0;
			}
			f->bv[k].bv_len = (unsigned)lens[k];
		} else {
			if (lens[k]) {
				f->data[k] = malloc(lens[k]);
				assert_non_null(f->data[k]);
			}
			f->iov[k].iov_base = f->data[k];
			f->iov[k].iov_len = lens[k];
		}
		for (size_t b = 0; b < lens[k]; b++)
			f->data[k][b] = pat(off + b, seed);
		off += lens[k];
	}
	f->total = off;
	switch (type) {
	case PC_ITER_IOVEC:
		pc_iov_iter_init(&f->it, dir, f->iov, n, f->total);
		break;
	case PC_ITER_KVEC:
		pc_iov_iter_kvec(&f->it, dir, f->iov, n, f->total);
		break;
	default:
		pc_iov_iter_bvec(&f->it, dir, f->bv, n, f->total);
		break;
	}
}

static void fx_teardown(struct fx *f)
{
	for (size_t k = 0; k < f->nseg; k++) {
		if (f->type == PC_ITER_BVEC)
			free(f->pages[k].virtual);
		else
			free(f->data[k]);
	}
}

/* Pointer to the byte at logical offset @off. */
static unsigned char *fx_byte(struct fx *f, size_t off)
{
	for (size_t k = 0; k < f->nseg; k++) {
		if (off < f->lens[k])
			return &f->data[k][off];
		off -= f->lens[k];
	}
	fail_msg("logical offset out of range");
	return NULL;
}

/* Index of the iterator's current segment in the fixture's array. */
static long fx_seg(const struct fx *f)
{
	if (f->type == PC_ITER_BVEC)
		return (long)(f->it.bvec - f->bv);
	return (long)(f->it.iov - f->iov);
}

/* Check position: segment index, offset in it, count, done, nr_segs. */
static void fx_check(const struct fx *f, long seg, size_t off, size_t count, size_t done)
{
	assert_int_equal(fx_seg(f), seg);
	assert_int_equal(f->it.iov_offset, off);
	assert_int_equal(f->it.count, count);
	assert_int_equal(pc_iov_iter_count(&f->it), count);
	assert_int_equal(f->it.done, done);
	assert_int_equal(f->it.nr_segs, (unsigned long)((long)f->nseg - seg));
}

static void fill_logical(struct fx *f, unsigned char v)
{
	for (size_t o = 0; o < f->total; o++)
		*fx_byte(f, o) = v;
}

#define TYPE(state) (*(const int *)*(state))

/* ======================================================================== */
/* init, count                                                              */
/* ======================================================================== */

static void test_init(void **state)
{
	static const size_t lens[] = { 5, 3, 7 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 1);
	assert_int_equal(f.it.type, TYPE(state));
	assert_int_equal(f.it.dir, PC_WRITE);
	assert_false(f.it.fault_sticky);
	assert_true(f.it.fault_at < 0);
	fx_check(&f, 0, 0, 15, 0);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 5);
	fx_teardown(&f);

	fx_setup(&f, TYPE(state), PC_READ, lens, 3, 1);
	assert_int_equal(f.it.dir, PC_READ);
	fx_teardown(&f);
}

static void test_init_count_smaller_than_segments(void **state)
{
	static const size_t lens[] = { 5, 3, 7 };
	struct fx f;
	unsigned char buf[32];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 2);
	/* re-init with a smaller count */
	if (f.type == PC_ITER_BVEC)
		pc_iov_iter_bvec(&f.it, PC_WRITE, f.bv, 3, 6);
	else if (f.type == PC_ITER_KVEC)
		pc_iov_iter_kvec(&f.it, PC_WRITE, f.iov, 3, 6);
	else
		pc_iov_iter_init(&f.it, PC_WRITE, f.iov, 3, 6);
	fx_check(&f, 0, 0, 6, 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pc_copy_from_iter(buf, sizeof(buf), &f.it), 6);
	for (size_t o = 0; o < 6; o++)
		assert_int_equal(buf[o], pat(o, 2));
	assert_int_equal(buf[6], 0);
	fx_check(&f, 1, 1, 0, 6);
	fx_teardown(&f);
}

static void test_init_leading_empty(void **state)
{
	static const size_t lens[] = { 0, 0, 4, 0, 2 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 5, 3);
	fx_check(&f, 2, 0, 6, 0);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 4);
	fx_teardown(&f);
}

static void test_init_all_empty(void **state)
{
	static const size_t lens[] = { 0, 0, 0 };
	struct fx f;
	unsigned char buf[4] = { 9, 9, 9, 9 };

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 4);
	fx_check(&f, 3, 0, 0, 0);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 0);
	assert_int_equal(pc_copy_from_iter(buf, 4, &f.it), 0);
	assert_int_equal(buf[0], 9);
	assert_int_equal(pc_iov_iter_alignment(&f.it), 0);

	/* a count larger than the segments is clamped when they are empty */
	if (f.type == PC_ITER_BVEC)
		pc_iov_iter_bvec(&f.it, PC_WRITE, f.bv, 3, 100);
	else
		pc_iov_iter_init(&f.it, PC_WRITE, f.iov, 3, 100);
	fx_check(&f, 3, 0, 0, 0);

	/* no segments at all */
	if (f.type == PC_ITER_BVEC)
		pc_iov_iter_bvec(&f.it, PC_READ, f.bv, 0, 0);
	else
		pc_iov_iter_kvec(&f.it, PC_READ, f.iov, 0, 0);
	assert_int_equal(f.it.count, 0);
	assert_int_equal(f.it.nr_segs, 0);
	assert_int_equal(pc_copy_to_iter(buf, 4, &f.it), 0);
	fx_teardown(&f);
}

/* ======================================================================== */
/* advance                                                                  */
/* ======================================================================== */

static void test_advance_multi(void **state)
{
	static const size_t lens[] = { 5, 0, 3, 0, 0, 7, 0 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 5);
	fx_check(&f, 0, 0, 15, 0);
	pc_iov_iter_advance(&f.it, 0);
	fx_check(&f, 0, 0, 15, 0);
	pc_iov_iter_advance(&f.it, 2);
	fx_check(&f, 0, 2, 13, 2);
	/* to the end of seg 0: skips the empty seg 1 */
	pc_iov_iter_advance(&f.it, 3);
	fx_check(&f, 2, 0, 10, 5);
	/* across seg 2 and two empty segments into seg 5 */
	pc_iov_iter_advance(&f.it, 4);
	fx_check(&f, 5, 1, 6, 9);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 6);
	/* to the end, trailing empty segment skipped too */
	pc_iov_iter_advance(&f.it, 6);
	fx_check(&f, 7, 0, 0, 15);
	/* past the end: clipped */
	pc_iov_iter_advance(&f.it, 10);
	fx_check(&f, 7, 0, 0, 15);
	fx_teardown(&f);

	/* one big advance past everything is clipped to count */
	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 5);
	pc_iov_iter_advance(&f.it, 1000);
	fx_check(&f, 7, 0, 0, 15);
	fx_teardown(&f);

	/* advance across several segments at once, landing mid-segment */
	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 5);
	pc_iov_iter_advance(&f.it, 12);
	fx_check(&f, 5, 4, 3, 12);
	fx_teardown(&f);
}

static void test_advance_then_copy(void **state)
{
	static const size_t lens[] = { 4, 0, 6, 5 };
	struct fx f;
	unsigned char buf[16];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 4, 6);
	for (size_t start = 0; start <= 15; start++) {
		if (f.type == PC_ITER_BVEC)
			pc_iov_iter_bvec(&f.it, PC_WRITE, f.bv, 4, 15);
		else
			pc_iov_iter_init(&f.it, PC_WRITE, f.iov, 4, 15);
		pc_iov_iter_advance(&f.it, start);
		memset(buf, 0xEE, sizeof(buf));
		assert_int_equal(pc_copy_from_iter(buf, sizeof(buf), &f.it), 15 - start);
		for (size_t o = 0; o < 15 - start; o++)
			assert_int_equal(buf[o], pat(start + o, 6));
		assert_int_equal(buf[15 - start], 0xEE);
		assert_int_equal(f.it.count, 0);
		assert_int_equal(f.it.done, 15);
	}
	fx_teardown(&f);
}

static void test_advance_truncated(void **state)
{
	static const size_t lens[] = { 5, 0, 3, 0, 0, 7, 0 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 7);
	pc_iov_iter_truncate(&f.it, 8);
	pc_iov_iter_advance(&f.it, 100);
	/* 5 + 3 bytes: position canonical at the start of seg 5 */
	fx_check(&f, 5, 0, 0, 8);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 0);
	fx_teardown(&f);
}

/* ======================================================================== */
/* revert                                                                   */
/* ======================================================================== */

static void test_revert_stepwise(void **state)
{
	static const size_t lens[] = { 5, 0, 3, 0, 0, 7, 0 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 8);
	pc_iov_iter_advance(&f.it, 15);
	fx_check(&f, 7, 0, 0, 15);
	pc_iov_iter_revert(&f.it, 0);
	fx_check(&f, 7, 0, 0, 15);
	/* back from the end, over the trailing empty segment */
	pc_iov_iter_revert(&f.it, 1);
	fx_check(&f, 5, 6, 1, 14);
	pc_iov_iter_revert(&f.it, 6);
	fx_check(&f, 5, 0, 7, 8);
	/* over two empty segments into seg 2 */
	pc_iov_iter_revert(&f.it, 1);
	fx_check(&f, 2, 2, 8, 7);
	pc_iov_iter_revert(&f.it, 2);
	fx_check(&f, 2, 0, 10, 5);
	/* exactly one segment back (over the empty seg 1) */
	pc_iov_iter_revert(&f.it, 5);
	fx_check(&f, 0, 0, 15, 0);
	/* cannot go before the start */
	pc_iov_iter_revert(&f.it, 3);
	fx_check(&f, 0, 0, 15, 0);
	fx_teardown(&f);
}

static void test_revert_across_several(void **state)
{
	static const size_t lens[] = { 5, 0, 3, 0, 0, 7, 0 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 9);
	pc_iov_iter_advance(&f.it, 15);
	/* land exactly on a boundary: canonical is the start of seg 2 */
	pc_iov_iter_revert(&f.it, 10);
	fx_check(&f, 2, 0, 10, 5);
	pc_iov_iter_advance(&f.it, 9);
	fx_check(&f, 5, 6, 1, 14);
	/* from mid seg 5 to mid seg 0 */
	pc_iov_iter_revert(&f.it, 13);
	fx_check(&f, 0, 1, 14, 1);
	/* back to the start in one go, asking for too much */
	pc_iov_iter_advance(&f.it, 14);
	pc_iov_iter_revert(&f.it, 1000);
	fx_check(&f, 0, 0, 15, 0);
	fx_teardown(&f);
}

static void test_revert_leading_empty(void **state)
{
	static const size_t lens[] = { 0, 4, 0, 4 };
	struct fx f;
	unsigned char buf[8];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 4, 10);
	fx_check(&f, 1, 0, 8, 0);
	pc_iov_iter_advance(&f.it, 6);
	fx_check(&f, 3, 2, 2, 6);
	pc_iov_iter_revert(&f.it, 100);
	/* stops at the first non-empty segment, never before the array */
	fx_check(&f, 1, 0, 8, 0);
	assert_int_equal(pc_copy_from_iter(buf, 8, &f.it), 8);
	for (size_t o = 0; o < 8; o++)
		assert_int_equal(buf[o], pat(o, 10));
	fx_teardown(&f);
}

static void test_revert_then_copy(void **state)
{
	static const size_t lens[] = { 3, 0, 4, 2, 0, 6 };
	struct fx f;
	unsigned char buf[16];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 6, 11);
	for (size_t back = 0; back <= 15; back++) {
		pc_iov_iter_advance(&f.it, 15);
		pc_iov_iter_revert(&f.it, back);
		assert_int_equal(f.it.count, back);
		assert_int_equal(f.it.done, 15 - back);
		memset(buf, 0xEE, sizeof(buf));
		assert_int_equal(pc_copy_from_iter(buf, sizeof(buf), &f.it), back);
		for (size_t o = 0; o < back; o++)
			assert_int_equal(buf[o], pat(15 - back + o, 11));
		assert_int_equal(buf[back], 0xEE);
		pc_iov_iter_revert(&f.it, 15);
		fx_check(&f, 0, 0, 15, 0);
	}
	fx_teardown(&f);
}

static void test_revert_after_truncate(void **state)
{
	static const size_t lens[] = { 4, 4 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 12);
	pc_iov_iter_advance(&f.it, 5);
	pc_iov_iter_truncate(&f.it, 1);
	fx_check(&f, 1, 1, 1, 5);
	/* revert gives the bytes back to count, as the kernel does */
	pc_iov_iter_revert(&f.it, 3);
	fx_check(&f, 0, 2, 4, 2);
	fx_teardown(&f);
}

/* ======================================================================== */
/* truncate, single_seg_count                                               */
/* ======================================================================== */

static void test_truncate(void **state)
{
	static const size_t lens[] = { 5, 3, 7 };
	struct fx f;
	unsigned char buf[16];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 13);
	pc_iov_iter_truncate(&f.it, 100);
	assert_int_equal(f.it.count, 15);
	pc_iov_iter_truncate(&f.it, 7);
	assert_int_equal(f.it.count, 7);
	pc_iov_iter_truncate(&f.it, 9);
	assert_int_equal(f.it.count, 7);
	fx_check(&f, 0, 0, 7, 0);
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(pc_copy_from_iter(buf, sizeof(buf), &f.it), 7);
	for (size_t o = 0; o < 7; o++)
		assert_int_equal(buf[o], pat(o, 13));
	assert_int_equal(buf[7], 0xEE);
	fx_check(&f, 1, 2, 0, 7);
	assert_int_equal(pc_copy_from_iter(buf, sizeof(buf), &f.it), 0);
	pc_iov_iter_truncate(&f.it, 0);
	assert_int_equal(f.it.count, 0);
	fx_teardown(&f);
}

static void test_single_seg_count(void **state)
{
	static const size_t lens[] = { 5, 0, 3, 7 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 4, 14);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 5);
	pc_iov_iter_advance(&f.it, 2);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 3);
	pc_iov_iter_advance(&f.it, 3);	/* onto seg 2, past the empty one */
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 3);
	pc_iov_iter_advance(&f.it, 1);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 2);
	pc_iov_iter_truncate(&f.it, 1);	/* limited by count */
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 1);
	pc_iov_iter_revert(&f.it, 6);
	pc_iov_iter_truncate(&f.it, 4);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 4);
	pc_iov_iter_advance(&f.it, 4);
	assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 0);
	fx_teardown(&f);

	/* a single segment: count */
	{
		static const size_t one[] = { 100 };

		fx_setup(&f, TYPE(state), PC_WRITE, one, 1, 14);
		assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 100);
		pc_iov_iter_advance(&f.it, 99);
		assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 1);
		pc_iov_iter_advance(&f.it, 1);
		assert_int_equal(pc_iov_iter_single_seg_count(&f.it), 0);
		fx_teardown(&f);
	}
}

/* ======================================================================== */
/* copies to and from flat buffers                                          */
/* ======================================================================== */

static void test_copy_to_iter(void **state)
{
	static const size_t lens[] = { 3, 0, 5, 1, 0, 8 };
	unsigned char src[32];
	struct fx f;

	for (size_t o = 0; o < sizeof(src); o++)
		src[o] = pat(o, 99);
	fx_setup(&f, TYPE(state), PC_READ, lens, 6, 15);
	fill_logical(&f, 0xEE);
	/* 0 bytes: nothing */
	assert_int_equal(pc_copy_to_iter(src, 0, &f.it), 0);
	fx_check(&f, 0, 0, 17, 0);
	assert_int_equal(*fx_byte(&f, 0), 0xEE);
	/* within the first segment */
	assert_int_equal(pc_copy_to_iter(src, 2, &f.it), 2);
	fx_check(&f, 0, 2, 15, 2);
	/* across segments 0, 1 (empty), 2, 3 into 5 */
	assert_int_equal(pc_copy_to_iter(src + 2, 9, &f.it), 9);
	fx_check(&f, 5, 2, 6, 11);
	/* more than is left: clipped to count */
	assert_int_equal(pc_copy_to_iter(src + 11, 20, &f.it), 6);
	fx_check(&f, 6, 0, 0, 17);
	assert_int_equal(pc_copy_to_iter(src, 5, &f.it), 0);
	for (size_t o = 0; o < 17; o++)
		assert_int_equal(*fx_byte(&f, o), src[o]);
	fx_teardown(&f);
}

static void test_copy_from_iter(void **state)
{
	static const size_t lens[] = { 3, 0, 5, 1, 0, 8 };
	unsigned char dst[32];
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 6, 16);
	memset(dst, 0xEE, sizeof(dst));
	assert_int_equal(pc_copy_from_iter(dst, 0, &f.it), 0);
	assert_int_equal(dst[0], 0xEE);
	assert_int_equal(pc_copy_from_iter(dst, 1, &f.it), 1);
	fx_check(&f, 0, 1, 16, 1);
	assert_int_equal(pc_copy_from_iter(dst + 1, 2, &f.it), 2);
	fx_check(&f, 2, 0, 14, 3);
	assert_int_equal(pc_copy_from_iter(dst + 3, 10, &f.it), 10);
	fx_check(&f, 5, 4, 4, 13);
	assert_int_equal(pc_copy_from_iter(dst + 13, 19, &f.it), 4);
	fx_check(&f, 6, 0, 0, 17);
	for (size_t o = 0; o < 17; o++)
		assert_int_equal(dst[o], pat(o, 16));
	for (size_t o = 17; o < sizeof(dst); o++)
		assert_int_equal(dst[o], 0xEE);
	/* the source was not modified */
	for (size_t o = 0; o < 17; o++)
		assert_int_equal(*fx_byte(&f, o), pat(o, 16));
	fx_teardown(&f);
}

static void test_iov_iter_zero(void **state)
{
	static const size_t lens[] = { 4, 0, 3, 6 };
	struct fx f;

	fx_setup(&f, TYPE(state), PC_READ, lens, 4, 17);
	assert_int_equal(pc_iov_iter_zero(0, &f.it), 0);
	pc_iov_iter_advance(&f.it, 2);
	assert_int_equal(pc_iov_iter_zero(7, &f.it), 7);
	fx_check(&f, 3, 2, 4, 9);
	for (size_t o = 0; o < 13; o++) {
		if (o >= 2 && o < 9)
			assert_int_equal(*fx_byte(&f, o), 0);
		else
			assert_int_equal(*fx_byte(&f, o), pat(o, 17));
	}
	assert_int_equal(pc_iov_iter_zero(100, &f.it), 4);
	fx_check(&f, 4, 0, 0, 13);
	for (size_t o = 9; o < 13; o++)
		assert_int_equal(*fx_byte(&f, o), 0);
	assert_int_equal(*fx_byte(&f, 1), pat(1, 17));
	fx_teardown(&f);
}

/* ======================================================================== */
/* page copies                                                              */
/* ======================================================================== */

static void test_copy_page_to_iter(void **state)
{
	static const size_t lens[] = { 50, 0, 70, 200 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	for (size_t o = 0; o < PC_PAGE_SIZE; o++)
		pd[o] = pat(o, 77);
	fx_setup(&f, TYPE(state), PC_READ, lens, 4, 18);
	fill_logical(&f, 0xEE);
	/* 30 bytes from page offset 10 */
	assert_int_equal(pc_copy_page_to_iter(pg, 10, 30, &f.it), 30);
	fx_check(&f, 0, 30, 290, 30);
	/* clipped at the page end: 96 bytes from offset 4000 */
	assert_int_equal(pc_copy_page_to_iter(pg, 4000, 200, &f.it), 96);
	fx_check(&f, 3, 6, 194, 126);
	/* offset at / past the page end: nothing */
	assert_int_equal(pc_copy_page_to_iter(pg, PC_PAGE_SIZE, 10, &f.it), 0);
	assert_int_equal(pc_copy_page_to_iter(pg, PC_PAGE_SIZE + 5, 10, &f.it), 0);
	fx_check(&f, 3, 6, 194, 126);
	/* clipped to count */
	assert_int_equal(pc_copy_page_to_iter(pg, 0, PC_PAGE_SIZE, &f.it), 194);
	fx_check(&f, 4, 0, 0, 320);
	for (size_t o = 0; o < 30; o++)
		assert_int_equal(*fx_byte(&f, o), pd[10 + o]);
	for (size_t o = 0; o < 96; o++)
		assert_int_equal(*fx_byte(&f, 30 + o), pd[4000 + o]);
	for (size_t o = 0; o < 194; o++)
		assert_int_equal(*fx_byte(&f, 126 + o), pd[o]);
	/* the page was not modified */
	for (size_t o = 0; o < PC_PAGE_SIZE; o++)
		assert_int_equal(pd[o], pat(o, 77));
	fx_teardown(&f);
	free_fake_page(pg);
}

/* page bytes outside [lo, lo+n) still 0xA5, inside equal to logical src from @from */
static void check_page(struct fx *f, const unsigned char *pd, size_t lo, size_t n, size_t from,
		       unsigned seed)
{
	(void)f;
	for (size_t o = 0; o < PC_PAGE_SIZE; o++) {
		if (o >= lo && o < lo + n)
			assert_int_equal(pd[o], pat(from + o - lo, seed));
		else
			assert_int_equal(pd[o], 0xA5);
	}
}

static void test_copy_page_from_iter(void **state)
{
	static const size_t lens[] = { 7, 0, 9, 1, 0, 30 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 6, 19);
	assert_int_equal(pc_copy_page_from_iter(pg, 100, 0, &f.it), 0);
	check_page(&f, pd, 0, 0, 0, 19);
	assert_int_equal(pc_copy_page_from_iter(pg, 100, 17, &f.it), 17);
	check_page(&f, pd, 100, 17, 0, 19);
	fx_check(&f, 5, 0, 30, 17);
	memset(pd, 0xA5, PC_PAGE_SIZE);
	/* clipped at the page end */
	assert_int_equal(pc_copy_page_from_iter(pg, PC_PAGE_SIZE - 4, 10, &f.it), 4);
	check_page(&f, pd, PC_PAGE_SIZE - 4, 4, 17, 19);
	fx_check(&f, 5, 4, 26, 21);
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter(pg, PC_PAGE_SIZE, 10, &f.it), 0);
	assert_int_equal(pc_copy_page_from_iter(pg, 3 * PC_PAGE_SIZE, 10, &f.it), 0);
	fx_check(&f, 5, 4, 26, 21);
	/* clipped at count */
	assert_int_equal(pc_copy_page_from_iter(pg, 0, PC_PAGE_SIZE, &f.it), 26);
	check_page(&f, pd, 0, 26, 21, 19);
	fx_check(&f, 6, 0, 0, 47);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, PC_PAGE_SIZE, &f.it), 0);
	fx_teardown(&f);
	free_fake_page(pg);
}

static void test_copy_page_from_iter_atomic(void **state)
{
	static const size_t lens[] = { 7, 0, 9, 1, 0, 30 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 6, 20);
	pc_iov_iter_advance(&f.it, 3);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 50, 20, &f.it), 20);
	check_page(&f, pd, 50, 20, 3, 20);
	/* not advanced */
	fx_check(&f, 0, 3, 44, 3);
	/* again: the same bytes */
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 20, &f.it), 20);
	check_page(&f, pd, 0, 20, 3, 20);
	fx_check(&f, 0, 3, 44, 3);
	/* clipped at page end and at count */
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, PC_PAGE_SIZE - 2, 20, &f.it), 2);
	check_page(&f, pd, PC_PAGE_SIZE - 2, 2, 3, 20);
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 1000, &f.it), 44);
	check_page(&f, pd, 0, 44, 3, 20);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, PC_PAGE_SIZE, 1, &f.it), 0);
	fx_check(&f, 0, 3, 44, 3);
	fx_teardown(&f);
	free_fake_page(pg);
}

/* The common case: one segment, one full page. */
static void test_single_segment_full_page(void **state)
{
	static const size_t lens[] = { PC_PAGE_SIZE };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 1, 21);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, PC_PAGE_SIZE, &f.it), PC_PAGE_SIZE);
	check_page(&f, pd, 0, PC_PAGE_SIZE, 0, 21);
	fx_check(&f, 0, 0, PC_PAGE_SIZE, 0);
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, PC_PAGE_SIZE, &f.it), PC_PAGE_SIZE);
	check_page(&f, pd, 0, PC_PAGE_SIZE, 0, 21);
	fx_check(&f, 1, 0, 0, PC_PAGE_SIZE);
	/* and back the other way */
	pc_iov_iter_revert(&f.it, PC_PAGE_SIZE);
	fx_check(&f, 0, 0, PC_PAGE_SIZE, 0);
	memset(pd, 0x3C, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_to_iter(pg, 0, PC_PAGE_SIZE, &f.it), PC_PAGE_SIZE);
	for (size_t o = 0; o < PC_PAGE_SIZE; o++)
		assert_int_equal(*fx_byte(&f, o), 0x3C);
	fx_check(&f, 1, 0, 0, PC_PAGE_SIZE);
	fx_teardown(&f);
	free_fake_page(pg);
}

/* A page split over many segments (writev of 512-byte pieces). */
static void test_page_over_many_segments(void **state)
{
	size_t lens[10];
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	for (size_t k = 0; k < 10; k++)
		lens[k] = (k == 4) ? 0 : 512;	/* 9 * 512 = 4608 */
	fx_setup(&f, TYPE(state), PC_WRITE, lens, 10, 22);
	pc_iov_iter_advance(&f.it, 100);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, PC_PAGE_SIZE, &f.it), PC_PAGE_SIZE);
	check_page(&f, pd, 0, PC_PAGE_SIZE, 100, 22);
	fx_check(&f, 9, 100 + PC_PAGE_SIZE - 8 * 512, 4608 - 100 - PC_PAGE_SIZE,
		 100 + PC_PAGE_SIZE);
	fx_teardown(&f);
	free_fake_page(pg);
}

/* ======================================================================== */
/* alignment                                                                */
/* ======================================================================== */

static void test_alignment_iovec(void **state)
{
	const int type = TYPE(state);
	unsigned char *buf = aligned_alloc(PC_PAGE_SIZE, 4 * PC_PAGE_SIZE);
	unsigned long b = (unsigned long)(uintptr_t)buf;
	struct iovec iov[4];
	struct pc_iov_iter it;

	assert_non_null(buf);
#define INIT(n, c) do { if (type == PC_ITER_KVEC) pc_iov_iter_kvec(&it, PC_READ, iov, n, c); \
			else pc_iov_iter_init(&it, PC_READ, iov, n, c); } while (0)
	iov[0] = (struct iovec){ buf + 512, 1024 };
	iov[1] = (struct iovec){ buf + 1, 0 };		/* empty, odd base: ignored */
	iov[2] = (struct iovec){ buf + 2048, 512 };
	INIT(3, 1536);
	assert_int_equal(pc_iov_iter_alignment(&it), (b + 512) | 1024 | (b + 2048) | 512);
	assert_int_equal(pc_iov_iter_alignment(&it) & 511, 0);
	/* the current offset counts */
	pc_iov_iter_advance(&it, 1);
	assert_int_equal(pc_iov_iter_alignment(&it), (b + 513) | 1023 | (b + 2048) | 512);
	/* a consumed segment does not */
	pc_iov_iter_advance(&it, 1023);
	assert_int_equal(pc_iov_iter_alignment(&it), (b + 2048) | 512);
	/* count limits the lengths and drops segments past it */
	iov[0] = (struct iovec){ buf, PC_PAGE_SIZE };
	iov[1] = (struct iovec){ buf + PC_PAGE_SIZE, PC_PAGE_SIZE };
	iov[2] = (struct iovec){ buf + 3 * PC_PAGE_SIZE + 3, 5 };
	INIT(3, 2 * PC_PAGE_SIZE + 5);
	pc_iov_iter_truncate(&it, PC_PAGE_SIZE + 4);
	assert_int_equal(pc_iov_iter_alignment(&it), b | PC_PAGE_SIZE | (b + PC_PAGE_SIZE) | 4);
	pc_iov_iter_truncate(&it, PC_PAGE_SIZE);
	assert_int_equal(pc_iov_iter_alignment(&it), b | PC_PAGE_SIZE);
	pc_iov_iter_truncate(&it, 0);
	assert_int_equal(pc_iov_iter_alignment(&it), 0);
	/* end of the iterator */
	INIT(3, 2 * PC_PAGE_SIZE + 5);
	assert_int_equal(pc_iov_iter_alignment(&it),
			 b | PC_PAGE_SIZE | (b + PC_PAGE_SIZE) | (b + 3 * PC_PAGE_SIZE + 3) | 5);
	pc_iov_iter_advance(&it, 2 * PC_PAGE_SIZE + 5);
	assert_int_equal(pc_iov_iter_alignment(&it), 0);
#undef INIT
	free(buf);
}

static void test_alignment_bvec(void **state)
{
	struct pc_page *p0 = fake_page(), *p1 = fake_page();
	struct pc_bio_vec bv[4];
	struct pc_iov_iter it;

	(void)state;
	bv[0] = (struct pc_bio_vec){ p0, 1024, 512 };
	bv[1] = (struct pc_bio_vec){ NULL, 0, 7 };	/* empty: ignored */
	bv[2] = (struct pc_bio_vec){ p1, 2048, 2048 };
	pc_iov_iter_bvec(&it, PC_WRITE, bv, 3, 3072);
	assert_int_equal(pc_iov_iter_alignment(&it), 512 | 1024 | 2048);
	pc_iov_iter_advance(&it, 2);
	assert_int_equal(pc_iov_iter_alignment(&it), 514 | 1022 | 2048);
	pc_iov_iter_truncate(&it, 1022 + 3);
	assert_int_equal(pc_iov_iter_alignment(&it), 514 | 1022 | 2048 | 3);
	pc_iov_iter_advance(&it, 1022);
	assert_int_equal(pc_iov_iter_alignment(&it), 2048 | 3);
	bv[0] = (struct pc_bio_vec){ p0, PC_PAGE_SIZE, 0 };
	pc_iov_iter_bvec(&it, PC_WRITE, bv, 1, PC_PAGE_SIZE);
	assert_int_equal(pc_iov_iter_alignment(&it), PC_PAGE_SIZE);
	assert_int_equal(pc_iov_iter_alignment(&it) & (PC_PAGE_SIZE - 1), 0);
	pc_iov_iter_advance(&it, PC_PAGE_SIZE);
	assert_int_equal(pc_iov_iter_alignment(&it), 0);
	free_fake_page(p0);
	free_fake_page(p1);
}

/* ======================================================================== */
/* the fault hook                                                           */
/* ======================================================================== */

static void test_fault_set_clear(void **state)
{
	static const size_t lens[] = { 10 };
	struct fx f;
	unsigned char buf[10];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 1, 30);
	pc_iov_iter_set_fault(&f.it, 4, true);
	assert_int_equal(f.it.fault_at, 4);
	assert_true(f.it.fault_sticky);
	assert_int_equal(pc_copy_from_iter(buf, 10, &f.it), 4);
	pc_iov_iter_set_fault(&f.it, -7, true);
	assert_true(f.it.fault_at < 0);
	assert_false(f.it.fault_sticky);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 10), 0);
	assert_int_equal(pc_copy_from_iter(buf + 4, 10, &f.it), 6);
	for (size_t o = 0; o < 10; o++)
		assert_int_equal(buf[o], pat(o, 30));
	fx_teardown(&f);
}

static void test_fault_middle_nonsticky(void **state)
{
	static const size_t lens[] = { 10, 10 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 31);
	pc_iov_iter_set_fault(&f.it, 5, false);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 20, &f.it), 5);
	check_page(&f, pd, 0, 5, 0, 31);
	fx_check(&f, 0, 0, 20, 0);
	/* a range that stops before the fault copies in full */
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 5, &f.it), 5);
	check_page(&f, pd, 0, 5, 0, 31);
	/* fault_in over a range not reaching the fault leaves it */
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 5), 0);
	assert_int_equal(f.it.fault_at, 5);
	/* over the fault: cleared */
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 6), 0);
	assert_true(f.it.fault_at < 0);
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 20, &f.it), 20);
	check_page(&f, pd, 0, 20, 0, 31);
	fx_check(&f, 0, 0, 20, 0);
	fx_teardown(&f);
	free_fake_page(pg);
}

static void test_fault_middle_sticky(void **state)
{
	static const size_t lens[] = { 10, 10 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 32);
	pc_iov_iter_set_fault(&f.it, 5, true);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 20, &f.it), 5);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 20), -EFAULT);
	assert_int_equal(f.it.fault_at, 5);
	assert_true(f.it.fault_sticky);
	/* the advancing copy stops at the fault too */
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter(pg, 8, 20, &f.it), 5);
	check_page(&f, pd, 8, 5, 0, 32);
	fx_check(&f, 0, 5, 15, 5);
	/* now it starts at the fault: nothing */
	memset(pd, 0xA5, PC_PAGE_SIZE);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, 20, &f.it), 0);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 20, &f.it), 0);
	check_page(&f, pd, 0, 0, 0, 32);
	fx_check(&f, 0, 5, 15, 5);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 1), -EFAULT);
	/* zero bytes: an empty range contains no fault */
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 0), 0);
	/* copies into the iterator do not care */
	{
		unsigned char src[15];

		memset(src, 0x11, sizeof(src));
		assert_int_equal(pc_copy_to_iter(src, 15, &f.it), 15);
		for (size_t o = 5; o < 20; o++)
			assert_int_equal(*fx_byte(&f, o), 0x11);
	}
	fx_teardown(&f);
	free_fake_page(pg);
}

static void test_fault_first_byte(void **state)
{
	static const size_t lens[] = { 8, 8 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	unsigned char buf[16];
	struct fx f;

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 33);
	pc_iov_iter_set_fault(&f.it, 0, false);
	assert_int_equal(pc_copy_page_from_iter_atomic(pg, 0, 16, &f.it), 0);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, 16, &f.it), 0);
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(pc_copy_from_iter(buf, 16, &f.it), 0);
	assert_int_equal(buf[0], 0xEE);
	check_page(&f, pd, 0, 0, 0, 33);
	fx_check(&f, 0, 0, 16, 0);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 0), 0);
	assert_int_equal(f.it.fault_at, 0);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 1), 0);
	assert_true(f.it.fault_at < 0);
	assert_int_equal(pc_copy_from_iter(buf, 16, &f.it), 16);
	for (size_t o = 0; o < 16; o++)
		assert_int_equal(buf[o], pat(o, 33));
	fx_teardown(&f);

	/* sticky at the first byte: never makes progress, -EFAULT */
	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 33);
	pc_iov_iter_set_fault(&f.it, 0, true);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 16), -EFAULT);
	assert_int_equal(pc_copy_page_from_iter(pg, 0, 16, &f.it), 0);
	fx_check(&f, 0, 0, 16, 0);
	fx_teardown(&f);
	free_fake_page(pg);
}

static void test_fault_segment_boundary(void **state)
{
	static const size_t lens[] = { 10, 0, 10 };
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	struct fx f;

	for (int sticky = 0; sticky <= 1; sticky++) {
		memset(pd, 0xA5, PC_PAGE_SIZE);
		fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 34);
		pc_iov_iter_set_fault(&f.it, 10, sticky);
		/* fault_in is clipped to the current segment: fault not in range */
		assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 20), 0);
		assert_int_equal(f.it.fault_at, 10);
		assert_int_equal(pc_copy_page_from_iter(pg, 0, 20, &f.it), 10);
		check_page(&f, pd, 0, 10, 0, 34);
		fx_check(&f, 2, 0, 10, 10);
		assert_int_equal(pc_copy_page_from_iter(pg, 10, 10, &f.it), 0);
		/* now the fault is in the current segment */
		if (sticky) {
			assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 10), -EFAULT);
			assert_int_equal(f.it.fault_at, 10);
			assert_int_equal(pc_copy_page_from_iter(pg, 10, 10, &f.it), 0);
		} else {
			assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 10), 0);
			assert_true(f.it.fault_at < 0);
			assert_int_equal(pc_copy_page_from_iter(pg, 10, 10, &f.it), 10);
			check_page(&f, pd, 0, 20, 0, 34);
			fx_check(&f, 3, 0, 0, 20);
		}
		fx_teardown(&f);
	}
	free_fake_page(pg);
}

static void test_fault_in_clipped_to_count(void **state)
{
	static const size_t lens[] = { 20 };
	struct fx f;
	unsigned char buf[20];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 1, 35);
	pc_iov_iter_set_fault(&f.it, 15, false);
	pc_iov_iter_truncate(&f.it, 10);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 20), 0);
	assert_int_equal(f.it.fault_at, 15);
	/* a copy that does not reach it is full */
	assert_int_equal(pc_copy_from_iter(buf, 20, &f.it), 10);
	for (size_t o = 0; o < 10; o++)
		assert_int_equal(buf[o], pat(o, 35));
	fx_teardown(&f);
}

static void test_fault_in_later_position(void **state)
{
	static const size_t lens[] = { 6, 6 };
	struct fx f;
	unsigned char buf[12];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 36);
	pc_iov_iter_set_fault(&f.it, 8, false);
	pc_iov_iter_advance(&f.it, 7);	/* mid seg 1: range [7, 12) */
	assert_int_equal(pc_copy_from_iter(buf, 5, &f.it), 1);
	assert_int_equal(buf[0], pat(7, 36));
	fx_check(&f, 1, 2, 4, 8);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 4), 0);
	assert_true(f.it.fault_at < 0);
	assert_int_equal(pc_copy_from_iter(buf + 1, 5, &f.it), 4);
	for (size_t o = 0; o < 5; o++)
		assert_int_equal(buf[o], pat(7 + o, 36));
	fx_teardown(&f);
}

static void test_fault_passed_and_reverted(void **state)
{
	static const size_t lens[] = { 4, 4 };
	struct fx f;
	unsigned char buf[8];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 2, 37);
	pc_iov_iter_set_fault(&f.it, 3, true);
	/* plain advance moves past it; later copies are unaffected */
	pc_iov_iter_advance(&f.it, 5);
	assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, 3), 0);
	assert_int_equal(pc_copy_from_iter(buf, 8, &f.it), 3);
	for (size_t o = 0; o < 3; o++)
		assert_int_equal(buf[o], pat(5 + o, 37));
	/* back before it: the fault bites again, in "done" terms */
	pc_iov_iter_revert(&f.it, 8);
	assert_int_equal(pc_copy_from_iter(buf, 8, &f.it), 3);
	fx_check(&f, 0, 3, 5, 3);
	assert_int_equal(pc_copy_from_iter(buf, 8, &f.it), 0);
	pc_iov_iter_revert(&f.it, 1);
	assert_int_equal(pc_copy_from_iter(buf, 8, &f.it), 1);
	assert_int_equal(buf[0], pat(2, 37));
	fx_teardown(&f);
}

/*
 * generic_perform_write's loop with the hook (seed 004): fault_in, atomic
 * copy, advance by what was copied, retry with one segment on zero.
 * Non-sticky faults anywhere must let the whole write through.
 */
static void test_fault_perform_write_loop(void **state)
{
	static const size_t lens[] = { 100, 0, 3000, 1, 2000, 0, 900 };
	struct fx f;
	struct pc_page *pg[2] = { fake_page(), fake_page() };
	const size_t total = 6001;
	unsigned char *dst = malloc(2 * PC_PAGE_SIZE);

	assert_non_null(dst);
	for (long long at = 0; at < (long long)total; at += 97) {
		size_t pos = 0;
		int loops = 0;

		fx_setup(&f, TYPE(state), PC_WRITE, lens, 7, 38);
		pc_iov_iter_set_fault(&f.it, at, false);
		while (pc_iov_iter_count(&f.it)) {
			size_t off = pos & (PC_PAGE_SIZE - 1);
			size_t bytes = PC_MIN(PC_PAGE_SIZE - off, pc_iov_iter_count(&f.it));
			size_t copied;
			struct pc_page *p = pg[pos / PC_PAGE_SIZE];

			assert_true(++loops < 100);
again:
			assert_int_equal(pc_iov_iter_fault_in_readable(&f.it, bytes), 0);
			copied = pc_copy_page_from_iter_atomic(p, off, bytes, &f.it);
			if (copied == 0) {
				bytes = PC_MIN(PC_PAGE_SIZE - off, pc_iov_iter_single_seg_count(&f.it));
				assert_true(bytes > 0);
				assert_true(++loops < 100);
				goto again;
			}
			pc_iov_iter_advance(&f.it, copied);
			pos += copied;
		}
		assert_int_equal(pos, total);
		assert_true(f.it.fault_at < 0);
		memcpy(dst, pc_page_address(pg[0]), PC_PAGE_SIZE);
		memcpy(dst + PC_PAGE_SIZE, pc_page_address(pg[1]), PC_PAGE_SIZE);
		for (size_t o = 0; o < total; o++)
			assert_int_equal(dst[o], pat(o, 38));
		fx_teardown(&f);
	}
	free(dst);
	free_fake_page(pg[0]);
	free_fake_page(pg[1]);
}

/* ======================================================================== */
/* robustness: count claiming more than the segments hold                   */
/* ======================================================================== */

static void test_count_larger_than_segments(void **state)
{
	static const size_t lens[] = { 3, 0, 4 };
	struct fx f;
	unsigned char buf[16];

	fx_setup(&f, TYPE(state), PC_WRITE, lens, 3, 40);
	if (f.type == PC_ITER_BVEC)
		pc_iov_iter_bvec(&f.it, PC_WRITE, f.bv, 3, 12);
	else
		pc_iov_iter_init(&f.it, PC_WRITE, f.iov, 3, 12);
	memset(buf, 0xEE, sizeof(buf));
	assert_int_equal(pc_copy_from_iter(buf, 16, &f.it), 7);
	for (size_t o = 0; o < 7; o++)
		assert_int_equal(buf[o], pat(o, 40));
	assert_int_equal(buf[7], 0xEE);
	/* the iterator ends where the segments end */
	fx_check(&f, 3, 0, 0, 7);
	pc_iov_iter_revert(&f.it, 7);
	fx_check(&f, 0, 0, 7, 0);
	if (f.type == PC_ITER_BVEC)
		pc_iov_iter_bvec(&f.it, PC_WRITE, f.bv, 3, 12);
	else
		pc_iov_iter_init(&f.it, PC_WRITE, f.iov, 3, 12);
	pc_iov_iter_advance(&f.it, 12);
	fx_check(&f, 3, 0, 0, 7);
	fx_teardown(&f);
}

/* ======================================================================== */
/* randomized comparison with a flat model                                  */
/* ======================================================================== */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Expected single_seg_count: bytes from logical @p to the end of its segment. */
static size_t model_seg_left(const struct fx *f, size_t p)
{
	for (size_t k = 0; k < f->nseg; k++) {
		if (p < f->lens[k])
			return f->lens[k] - p;
		p -= f->lens[k];
	}
	return 0;
}

static void test_random_model(void **state)
{
	struct fx f;
	struct pc_page *pg = fake_page();
	unsigned char *pd = pc_page_address(pg);
	unsigned char model[MAXSEG * 300];
	unsigned char buf[MAXSEG * 300];

	rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)TYPE(state);
	for (int round = 0; round < 200; round++) {
		size_t lens[MAXSEG];
		size_t n = 1 + rnd() % MAXSEG;
		size_t p = 0, limit;	/* model: position, end (position + count) */

		for (size_t k = 0; k < n; k++)
			lens[k] = (rnd() % 3 == 0) ? 0 : rnd() % 300;
		fx_setup(&f, TYPE(state), PC_WRITE, lens, n, (unsigned)round);
		for (size_t o = 0; o < f.total; o++)
			model[o] = pat(o, (unsigned)round);
		limit = f.total;
		for (int step = 0; step < 60; step++) {
			size_t k = rnd() % 700, got;

			switch (rnd() % 9) {
			case 0:
				pc_iov_iter_advance(&f.it, k);
				p += PC_MIN(k, limit - p);
				break;
			case 1:
				pc_iov_iter_revert(&f.it, k);
				p -= PC_MIN(k, p);	/* count grows, the end stays */
				break;
			case 2:
				if (rnd() % 2) {
					pc_iov_iter_truncate(&f.it, k);
					limit = PC_MIN(limit, p + k);
				}
				break;
			case 3:
				got = pc_copy_from_iter(buf, k, &f.it);
				assert_int_equal(got, PC_MIN(k, limit - p));
				assert_memory_equal(buf, model + p, got);
				p += got;
				break;
			case 4:
				for (size_t o = 0; o < k; o++)
					buf[o] = (unsigned char)rnd();
				got = pc_copy_to_iter(buf, k, &f.it);
				assert_int_equal(got, PC_MIN(k, limit - p));
				memcpy(model + p, buf, got);
				p += got;
				break;
			case 5:
				got = pc_iov_iter_zero(k, &f.it);
				assert_int_equal(got, PC_MIN(k, limit - p));
				memset(model + p, 0, got);
				p += got;
				break;
			case 6: {
				size_t off = rnd() % PC_PAGE_SIZE;

				memset(pd, 0xA5, PC_PAGE_SIZE);
				got = pc_copy_page_from_iter_atomic(pg, off, k, &f.it);
				assert_int_equal(got, PC_MIN(PC_MIN(k, limit - p), PC_PAGE_SIZE - off));
				assert_memory_equal(pd + off, model + p, got);
				if (off + got < PC_PAGE_SIZE)
					assert_int_equal(pd[off + got], 0xA5);
				break;
			}
			case 7: {
				size_t off = rnd() % PC_PAGE_SIZE;

				for (size_t o = 0; o < PC_PAGE_SIZE; o++)
					pd[o] = (unsigned char)rnd();
				got = pc_copy_page_to_iter(pg, off, k, &f.it);
				assert_int_equal(got, PC_MIN(PC_MIN(k, limit - p), PC_PAGE_SIZE - off));
				memcpy(model + p, pd + off, got);
				p += got;
				break;
			}
			default:
				assert_int_equal(pc_iov_iter_single_seg_count(&f.it),
						 PC_MIN(model_seg_left(&f, p), limit - p));
				break;
			}
			assert_int_equal(f.it.done, p);
			assert_int_equal(f.it.count, limit - p);
			/* canonical: current segment non-empty unless exhausted */
			if (f.it.nr_segs)
				assert_true(f.it.iov_offset < f.lens[fx_seg(&f)]);
			else
				assert_int_equal(f.it.iov_offset, 0);
		}
		for (size_t o = 0; o < f.total; o++)
			assert_int_equal(*fx_byte(&f, o), model[o]);
		fx_teardown(&f);
	}
	free_fake_page(pg);
}

/* ======================================================================== */

#define T3(fn)								\
	cmocka_unit_test_prestate(fn, (void *)&type_iovec),		\
	cmocka_unit_test_prestate(fn, (void *)&type_kvec),		\
	cmocka_unit_test_prestate(fn, (void *)&type_bvec)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T3(test_init),
		T3(test_init_count_smaller_than_segments),
		T3(test_init_leading_empty),
		T3(test_init_all_empty),
		T3(test_advance_multi),
		T3(test_advance_then_copy),
		T3(test_advance_truncated),
		T3(test_revert_stepwise),
		T3(test_revert_across_several),
		T3(test_revert_leading_empty),
		T3(test_revert_then_copy),
		T3(test_revert_after_truncate),
		T3(test_truncate),
		T3(test_single_seg_count),
		T3(test_copy_to_iter),
		T3(test_copy_from_iter),
		T3(test_iov_iter_zero),
		T3(test_copy_page_to_iter),
		T3(test_copy_page_from_iter),
		T3(test_copy_page_from_iter_atomic),
		T3(test_single_segment_full_page),
		T3(test_page_over_many_segments),
		cmocka_unit_test_prestate(test_alignment_iovec, (void *)&type_iovec),
		cmocka_unit_test_prestate(test_alignment_iovec, (void *)&type_kvec),
		cmocka_unit_test(test_alignment_bvec),
		T3(test_fault_set_clear),
		T3(test_fault_middle_nonsticky),
		T3(test_fault_middle_sticky),
		T3(test_fault_first_byte),
		T3(test_fault_segment_boundary),
		T3(test_fault_in_clipped_to_count),
		T3(test_fault_in_later_position),
		T3(test_fault_passed_and_reverted),
		T3(test_fault_perform_write_loop),
		T3(test_count_larger_than_segments),
		T3(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
