/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/test_page_tree.c - the page tree (src/filemap/page_tree.c).
 *
 * Entries are fake pointers that encode their index (entry_of()), so any
 * entry found at the wrong index is caught. Every check goes through
 * PT_CHECK, which counts it and, on failure, dumps the whole tree as gang
 * lookups see it: each entry with its index and tags, and the root tags.
 *
 * Modifications need the owner's tree lock only against concurrency; the
 * single-threaded tests take none. The concurrency test (suite
 * "concurrency", also run under TSan) has one writer under a mutex and
 * lock-free readers in RCU read-side sections.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include <pagecache/filemap.h>
#include "test_util.h"

#define ENTRY_XOR 0xA5A5A5A5A5A5A5A4ULL	/* low 2 bits clear */
#define MAXIDX (~0ULL >> 2)

/* The entry stored for @idx (idx <= MAXIDX): unique, low 2 bits clear and
 * never NULL for the indexes used here (NULL only at ENTRY_XOR >> 2). */
static void *entry_of(uint64_t idx)
{
	return (void *)(uintptr_t)((idx << 2) ^ ENTRY_XOR);
}

static const char *const tag_name = "DWT";

/* Print every entry (index, entry, tags) found by gang lookup over the
 * whole index space, and the root's summary. */
static void pt_dump(struct pc_page_tree *t)
{
	void *e[64];
	pc_pgoff_t idx[64];
	pc_pgoff_t start = 0;
	unsigned long total = 0;

	fprintf(stderr, "  tree %p: height %u root_tags %#lx root %p nr_range %ld\n", (void *)t,
		atomic_load(&t->height), atomic_load(&t->root_tags), atomic_load(&t->root),
		atomic_load(&t->nr_range));
	for (;;) {
		unsigned n = pc_page_tree_gang_lookup(t, start, ~0ULL, e, idx, 64);
		for (unsigned i = 0; i < n; i++, total++) {
			if (total < 200) {
				char tags[PC_TAG_MAX + 1];
				for (unsigned tg = 0; tg < PC_TAG_MAX; tg++)
					tags[tg] = pc_page_tree_tag_get(t, idx[i], tg) ? tag_name[tg] : '-';
				tags[PC_TAG_MAX] = 0;
				fprintf(stderr, "    [%#" PRIx64 "] = %p %s%s\n", (uint64_t)idx[i], e[i], tags,
					e[i] == entry_of(idx[i]) ? "" : "  (NOT entry_of(index))");
			}
		}
		if (n < 64 || idx[n - 1] == ~0ULL)
			break;
		start = idx[n - 1] + 1;
	}
	if (total > 200)
		fprintf(stderr, "    ... %lu entries in all\n", total);
	else
		fprintf(stderr, "    %lu entries\n", total);
	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {
		unsigned n = pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, tg, e, idx, 64);
		fprintf(stderr, "    tag %c: summary %d, first %u tagged:", tag_name[tg],
			pc_page_tree_tagged(t, tg), n);
		for (unsigned i = 0; i < n && i < 16; i++)
			fprintf(stderr, " %#" PRIx64, (uint64_t)idx[i]);
		fprintf(stderr, "\n");
	}
}

#define PT_CHECK(t, cond) TU_CHECK(cond, pt_dump(t))

static int setup_tree(void **state)
{
	struct pc_page_tree *t = malloc(sizeof(*t));
	if (!t)
		return -1;
	pc_page_tree_init(t);
	*state = t;
	return 0;
}

static int teardown_tree(void **state)
{
	struct pc_page_tree *t = *state;
	pc_page_tree_destroy(t);
	free(t);
	return 0;
}

/* The tree holds nothing: no entry anywhere, no summary tag. */
static void check_empty(struct pc_page_tree *t)
{
	void *e[4];
	pc_pgoff_t idx[4];

	PT_CHECK(t, pc_page_tree_gang_lookup(t, 0, ~0ULL, e, idx, 4) == 0);
	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {
		PT_CHECK(t, !pc_page_tree_tagged(t, tg));
		PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, tg, e, idx, 4) == 0);
	}
	PT_CHECK(t, atomic_load(&t->root_tags) == 0);
}

static const uint64_t basic_idx[] = { 0, 1, 63, 64, 4095, 4096, 1ULL << 20, 1ULL << 40, MAXIDX };
#define NBASIC (sizeof(basic_idx) / sizeof(basic_idx[0]))

/* ------------------------------------------------------------------ */

static void test_empty_tree(void **state)
{
	struct pc_page_tree *t = *state;

	check_empty(t);
	for (unsigned i = 0; i < NBASIC; i++) {
		PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[i]) == NULL);
		PT_CHECK(t, pc_page_tree_lookup_slot(t, basic_idx[i]) == NULL);
		PT_CHECK(t, pc_page_tree_delete(t, basic_idx[i]) == NULL);
		PT_CHECK(t, !pc_page_tree_tag_get(t, basic_idx[i], PC_TAG_DIRTY));
		pc_page_tree_tag_set(t, basic_idx[i], PC_TAG_DIRTY);	/* absent: no-op */
	}
	check_empty(t);
}

static void test_insert_lookup_delete(void **state)
{
	struct pc_page_tree *t = *state;

	for (unsigned i = 0; i < NBASIC; i++) {
		uint64_t x = basic_idx[i];

		PT_CHECK(t, pc_page_tree_insert(t, x, entry_of(x)) == 0);
		/* Everything inserted so far is still there, nothing else. */
		for (unsigned j = 0; j < NBASIC; j++) {
			void *want = j <= i ? entry_of(basic_idx[j]) : NULL;
			PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[j]) == want);
		}
		/* Neighbours of present entries are absent. */
		if (x > 0 && (i == 0 || basic_idx[i - 1] != x - 1))
			PT_CHECK(t, pc_page_tree_lookup(t, x - 1) == NULL);
		if (x < MAXIDX && (i + 1 == NBASIC || basic_idx[i + 1] != x + 1))
			PT_CHECK(t, pc_page_tree_lookup(t, x + 1) == NULL);
	}
	/* Duplicates are refused and change nothing. */
	for (unsigned i = 0; i < NBASIC; i++) {
		PT_CHECK(t, pc_page_tree_insert(t, basic_idx[i], (void *)0x1230) == -EEXIST);
		PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[i]) == entry_of(basic_idx[i]));
	}
	/* The slot points at the entry. */
	for (unsigned i = 0; i < NBASIC; i++) {
		void *_Atomic *slot = pc_page_tree_lookup_slot(t, basic_idx[i]);
		PT_CHECK(t, slot != NULL);
		PT_CHECK(t, atomic_load(slot) == entry_of(basic_idx[i]));
	}
	/* Absent indexes far from everything. */
	PT_CHECK(t, pc_page_tree_lookup(t, 12345) == NULL);
	PT_CHECK(t, pc_page_tree_lookup(t, (1ULL << 40) + 64) == NULL);
	PT_CHECK(t, pc_page_tree_lookup(t, MAXIDX - 64) == NULL);
	PT_CHECK(t, pc_page_tree_lookup(t, ~0ULL) == NULL);

	/* Delete in a different order: every other one, then the rest. */
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned i = pass; i < NBASIC; i += 2) {
			PT_CHECK(t, pc_page_tree_delete(t, basic_idx[i]) == entry_of(basic_idx[i]));
			PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[i]) == NULL);
			PT_CHECK(t, pc_page_tree_delete(t, basic_idx[i]) == NULL);
		}
		for (unsigned i = 0; i < NBASIC; i++) {
			bool gone = (i % 2 == 0) || pass == 1;
			PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[i]) ==
					    (gone ? NULL : entry_of(basic_idx[i])));
		}
	}
	check_empty(t);

	/* Reusable after being emptied. */
	for (unsigned i = 0; i < NBASIC; i++)
		PT_CHECK(t, pc_page_tree_insert(t, basic_idx[i], entry_of(basic_idx[i])) == 0);
	for (unsigned i = 0; i < NBASIC; i++)
		PT_CHECK(t, pc_page_tree_lookup(t, basic_idx[i]) == entry_of(basic_idx[i]));
	for (unsigned i = NBASIC; i-- > 0;)
		PT_CHECK(t, pc_page_tree_delete(t, basic_idx[i]) == entry_of(basic_idx[i]));
	check_empty(t);
}

/* A dense run across several leaves, then replace. */
static void test_dense_and_replace(void **state)
{
	struct pc_page_tree *t = *state;
	const uint64_t n = 5000;

	for (uint64_t i = 0; i < n; i++)
		PT_CHECK(t, pc_page_tree_insert(t, i, entry_of(i)) == 0);
	for (uint64_t i = 0; i < n; i++)
		PT_CHECK(t, pc_page_tree_lookup(t, i) == entry_of(i));
	PT_CHECK(t, pc_page_tree_lookup(t, n) == NULL);

	/* replace keeps the tags */
	pc_page_tree_tag_set(t, 777, PC_TAG_TOWRITE);
	pc_page_tree_replace(t, 777, (void *)0xabc0);
	PT_CHECK(t, pc_page_tree_lookup(t, 777) == (void *)0xabc0);
	PT_CHECK(t, pc_page_tree_tag_get(t, 777, PC_TAG_TOWRITE));
	pc_page_tree_replace(t, 777, entry_of(777));
	PT_CHECK(t, pc_page_tree_delete(t, 777) == entry_of(777));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_TOWRITE));

	for (uint64_t i = 0; i < n; i++)
		if (i != 777)
			PT_CHECK(t, pc_page_tree_delete(t, i) == entry_of(i));
	check_empty(t);
}

static void test_tags(void **state)
{
	struct pc_page_tree *t = *state;

	for (unsigned i = 0; i < NBASIC; i++)
		PT_CHECK(t, pc_page_tree_insert(t, basic_idx[i], entry_of(basic_idx[i])) == 0);
	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {	/* entries, but no tags yet */
		void *e[4];
		pc_pgoff_t idx[4];
		PT_CHECK(t, !pc_page_tree_tagged(t, tg));
		PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, tg, e, idx, 4) == 0);
	}
	PT_CHECK(t, pc_page_tree_lookup(t, 0) == entry_of(0));

	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {
		/* Tag each entry in turn; only that one carries the tag. */
		for (unsigned i = 0; i < NBASIC; i++) {
			uint64_t x = basic_idx[i];

			PT_CHECK(t, !pc_page_tree_tagged(t, tg));
			pc_page_tree_tag_set(t, x, tg);
			PT_CHECK(t, pc_page_tree_tagged(t, tg));
			pc_page_tree_tag_set(t, x, tg);	/* idempotent */
			for (unsigned j = 0; j < NBASIC; j++)
				for (unsigned tg2 = 0; tg2 < PC_TAG_MAX; tg2++)
					PT_CHECK(t, pc_page_tree_tag_get(t, basic_idx[j], tg2) ==
							    (j == i && tg2 == tg));
			pc_page_tree_tag_clear(t, x, tg);
			PT_CHECK(t, !pc_page_tree_tag_get(t, x, tg));
			PT_CHECK(t, !pc_page_tree_tagged(t, tg));
			pc_page_tree_tag_clear(t, x, tg);	/* clearing a clear tag */
			PT_CHECK(t, !pc_page_tree_tagged(t, tg));
		}
	}

	/* The summary stays while any tagged entry remains. */
	pc_page_tree_tag_set(t, 1, PC_TAG_DIRTY);
	pc_page_tree_tag_set(t, 4096, PC_TAG_DIRTY);
	pc_page_tree_tag_set(t, MAXIDX, PC_TAG_DIRTY);
	pc_page_tree_tag_set(t, 4096, PC_TAG_WRITEBACK);
	pc_page_tree_tag_clear(t, 1, PC_TAG_DIRTY);
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_DIRTY));
	pc_page_tree_tag_clear(t, MAXIDX, PC_TAG_DIRTY);
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_DIRTY));
	PT_CHECK(t, pc_page_tree_tag_get(t, 4096, PC_TAG_DIRTY));
	/* Deleting the last tagged entry clears the summary of every tag it had. */
	PT_CHECK(t, pc_page_tree_delete(t, 4096) == entry_of(4096));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_DIRTY));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_WRITEBACK));
	/* ...and a new entry at that index comes without tags. */
	PT_CHECK(t, pc_page_tree_insert(t, 4096, entry_of(4096)) == 0);
	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++)
		PT_CHECK(t, !pc_page_tree_tag_get(t, 4096, tg));

	/* Two tagged entries in the same leaf, then in different subtrees. */
	pc_page_tree_tag_set(t, 0, PC_TAG_TOWRITE);
	pc_page_tree_tag_set(t, 63, PC_TAG_TOWRITE);
	PT_CHECK(t, pc_page_tree_delete(t, 0) == entry_of(0));
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_TOWRITE));
	PT_CHECK(t, pc_page_tree_tag_get(t, 63, PC_TAG_TOWRITE));
	PT_CHECK(t, pc_page_tree_delete(t, 63) == entry_of(63));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_TOWRITE));

	for (unsigned i = 0; i < NBASIC; i++)
		if (basic_idx[i] != 0 && basic_idx[i] != 63)
			PT_CHECK(t, pc_page_tree_delete(t, basic_idx[i]) == entry_of(basic_idx[i]));
	check_empty(t);
}

static void test_tags_survive_growth(void **state)
{
	struct pc_page_tree *t = *state;
	void *e[8];
	pc_pgoff_t idx[8];
	unsigned h0;

	PT_CHECK(t, pc_page_tree_insert(t, 5, entry_of(5)) == 0);
	pc_page_tree_tag_set(t, 5, PC_TAG_DIRTY);
	pc_page_tree_tag_set(t, 5, PC_TAG_TOWRITE);
	h0 = atomic_load(&t->height);
	PT_CHECK(t, pc_page_tree_insert(t, 1ULL << 40, entry_of(1ULL << 40)) == 0);
	PT_CHECK(t, atomic_load(&t->height) > h0);
	PT_CHECK(t, pc_page_tree_lookup(t, 5) == entry_of(5));
	PT_CHECK(t, pc_page_tree_tag_get(t, 5, PC_TAG_DIRTY));
	PT_CHECK(t, pc_page_tree_tag_get(t, 5, PC_TAG_TOWRITE));
	PT_CHECK(t, !pc_page_tree_tag_get(t, 5, PC_TAG_WRITEBACK));
	PT_CHECK(t, !pc_page_tree_tag_get(t, 1ULL << 40, PC_TAG_DIRTY));
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_DIRTY));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_WRITEBACK));
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_DIRTY, e, idx, 8) == 1);
	PT_CHECK(t, idx[0] == 5 && e[0] == entry_of(5));

	/* Grow again, to the top, from a tree with a tag deep inside. */
	PT_CHECK(t, pc_page_tree_insert(t, MAXIDX, entry_of(MAXIDX)) == 0);
	PT_CHECK(t, pc_page_tree_tag_get(t, 5, PC_TAG_DIRTY));
	pc_page_tree_tag_set(t, MAXIDX, PC_TAG_DIRTY);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_DIRTY, e, idx, 8) == 2);
	PT_CHECK(t, idx[0] == 5 && idx[1] == MAXIDX);
	PT_CHECK(t, e[1] == entry_of(MAXIDX));

	/* Clearing the deep tag leaves the other one and the summary. */
	pc_page_tree_tag_clear(t, 5, PC_TAG_DIRTY);
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_DIRTY));
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_DIRTY, e, idx, 8) == 1);
	PT_CHECK(t, idx[0] == MAXIDX);
	PT_CHECK(t, pc_page_tree_delete(t, MAXIDX) == entry_of(MAXIDX));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_DIRTY));
	PT_CHECK(t, pc_page_tree_tagged(t, PC_TAG_TOWRITE));
	PT_CHECK(t, pc_page_tree_delete(t, 5) == entry_of(5));
	PT_CHECK(t, !pc_page_tree_tagged(t, PC_TAG_TOWRITE));
	PT_CHECK(t, pc_page_tree_delete(t, 1ULL << 40) == entry_of(1ULL << 40));
	check_empty(t);
}

/* The very last index, ~0: gang lookups and range tagging must not wrap. */
static void test_max_index(void **state)
{
	struct pc_page_tree *t = *state;
	void *const top = (void *)(uintptr_t)0x7770;
	void *e[8];
	pc_pgoff_t idx[8], next = 0;

	PT_CHECK(t, pc_page_tree_insert(t, ~0ULL, top) == 0);
	PT_CHECK(t, pc_page_tree_insert(t, 0, entry_of(0)) == 0);
	/* entry_of() is only defined up to MAXIDX: literals above it. */
	PT_CHECK(t, pc_page_tree_insert(t, ~0ULL - 1, (void *)(uintptr_t)0x7760) == 0);
	PT_CHECK(t, pc_page_tree_lookup(t, ~0ULL) == top);
	PT_CHECK(t, pc_page_tree_lookup(t, ~0ULL - 1) == (void *)(uintptr_t)0x7760);
	PT_CHECK(t, pc_page_tree_lookup(t, ~0ULL - 2) == NULL);

	PT_CHECK(t, pc_page_tree_gang_lookup(t, 0, ~0ULL, e, idx, 8) == 3);
	PT_CHECK(t, idx[0] == 0 && idx[1] == ~0ULL - 1 && idx[2] == ~0ULL);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, ~0ULL, ~0ULL, e, idx, 8) == 1);
	PT_CHECK(t, idx[0] == ~0ULL && e[0] == top);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 1, ~0ULL - 1, e, idx, 8) == 1);
	PT_CHECK(t, idx[0] == ~0ULL - 1);

	pc_page_tree_tag_set(t, ~0ULL, PC_TAG_DIRTY);
	pc_page_tree_tag_set(t, 0, PC_TAG_DIRTY);
	PT_CHECK(t, pc_page_tree_range_tag_if_tagged(t, 0, ~0ULL, 100, PC_TAG_DIRTY, PC_TAG_TOWRITE,
						     &next) == 2);
	PT_CHECK(t, pc_page_tree_tag_get(t, ~0ULL, PC_TAG_TOWRITE));
	PT_CHECK(t, pc_page_tree_tag_get(t, 0, PC_TAG_TOWRITE));
	PT_CHECK(t, !pc_page_tree_tag_get(t, ~0ULL - 1, PC_TAG_TOWRITE));
	/* Nothing can follow ~0: the cursor must not wrap back to 0. */
	PT_CHECK(t, next != 0);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, ~0ULL - 1, ~0ULL, PC_TAG_TOWRITE, e, idx, 8) == 1);
	PT_CHECK(t, idx[0] == ~0ULL);

	PT_CHECK(t, pc_page_tree_delete(t, ~0ULL) == top);
	PT_CHECK(t, pc_page_tree_delete(t, ~0ULL - 1) == (void *)(uintptr_t)0x7760);
	PT_CHECK(t, pc_page_tree_delete(t, 0) == entry_of(0));
	check_empty(t);
}

static void test_gang_lookup(void **state)
{
	struct pc_page_tree *t = *state;
	/* Sorted; spans leaves, levels, and the huge range. */
	static const uint64_t set[] = { 0, 2, 3, 63, 64, 65, 127, 128, 1000, 4095, 4096, 4097,
					70000, 1ULL << 20, (1ULL << 20) + 1, 1ULL << 33,
					1ULL << 40, (1ULL << 40) + 64, MAXIDX - 1, MAXIDX };
	const unsigned n = sizeof(set) / sizeof(set[0]);
	void *e[64];
	pc_pgoff_t idx[64];
	unsigned got;

	/* Insert in a scrambled order. */
	for (unsigned i = 0; i < n; i++) {
		unsigned k = (i * 7) % n;
		PT_CHECK(t, pc_page_tree_insert(t, set[k], entry_of(set[k])) == 0);
	}

	/* Everything, ascending, with indices. */
	got = pc_page_tree_gang_lookup(t, 0, ~0ULL, e, idx, 64);
	PT_CHECK(t, got == n);
	for (unsigned i = 0; i < n; i++) {
		PT_CHECK(t, idx[i] == set[i]);
		PT_CHECK(t, e[i] == entry_of(set[i]));
	}
	/* indices may be NULL */
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 0, ~0ULL, e, NULL, 64) == n);
	PT_CHECK(t, e[n - 1] == entry_of(MAXIDX));

	/* Every [a, b] window over the set boundaries, every max. */
	for (unsigned a = 0; a < n; a++) {
		for (unsigned b = a; b < n; b++) {
			for (int da = -1; da <= 1; da++) {
				for (int db = -1; db <= 1; db++) {
					uint64_t s = set[a] + da, en = set[b] + db;
					unsigned lo, hi, want;
					if ((da < 0 && set[a] == 0) || (db > 0 && set[b] == ~0ULL))
						continue;
					if (s > en)
						continue;
					/* the model: entries within [s, en] */
					for (lo = 0; lo < n && set[lo] < s; lo++)
						;
					for (hi = lo; hi < n && set[hi] <= en; hi++)
						;
					for (unsigned max = 1; max <= n + 1; max += (max < 4 ? 1 : 7)) {
						want = PC_TU_MIN(hi - lo, max);
						memset(idx, 0xff, sizeof(idx));
						got = pc_page_tree_gang_lookup(t, s, en, e, idx, max);
						PT_CHECK(t, got == want);
						for (unsigned i = 0; i < got; i++) {
							PT_CHECK(t, idx[i] == set[lo + i]);
							PT_CHECK(t, e[i] == entry_of(set[lo + i]));
						}
						/* nothing written past the result */
						if (got < 64)
							PT_CHECK(t, idx[got] == ~0ULL);
					}
				}
			}
		}
	}
	/* Empty windows and start > end. */
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 4, 62, e, idx, 64) == 0);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 129, 999, e, idx, 64) == 0);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, (1ULL << 40) + 65, MAXIDX - 2, e, idx, 64) == 0);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 100, 50, e, idx, 64) == 0);
	PT_CHECK(t, pc_page_tree_gang_lookup(t, 0, ~0ULL, e, idx, 0) == 0);

	/* Tagged gang lookups: tag every third entry with DIRTY. */
	for (unsigned i = 0; i < n; i += 3)
		pc_page_tree_tag_set(t, set[i], PC_TAG_DIRTY);
	got = pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_DIRTY, e, idx, 64);
	PT_CHECK(t, got == (n + 2) / 3);
	for (unsigned i = 0; i < got; i++) {
		PT_CHECK(t, idx[i] == set[3 * i]);
		PT_CHECK(t, e[i] == entry_of(set[3 * i]));
	}
	/* bounds and max on tagged lookups */
	for (unsigned a = 0; a < n; a++) {
		for (unsigned b = a; b < n; b++) {
			for (unsigned max = 1; max <= 4; max++) {
				unsigned want = 0;
				for (unsigned i = a; i <= b; i++)
					if (i % 3 == 0)
						want++;
				want = PC_TU_MIN(want, max);
				got = pc_page_tree_gang_lookup_tag(t, set[a], set[b], PC_TAG_DIRTY, e, idx,
								   max);
				PT_CHECK(t, got == want);
				for (unsigned i = 0, k = a; i < got; i++, k++) {
					while (k % 3)
						k++;
					PT_CHECK(t, idx[i] == set[k]);
				}
			}
		}
	}
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_WRITEBACK, e, idx, 64) == 0);

	for (unsigned i = 0; i < n; i++)
		PT_CHECK(t, pc_page_tree_delete(t, set[i]) == entry_of(set[i]));
	check_empty(t);
}

static void test_range_tag_if_tagged(void **state)
{
	struct pc_page_tree *t = *state;
	void *e[256];
	pc_pgoff_t idx[256], next;
	unsigned long n;

	/* 200 entries at 0, 10, 20 ... 1990, all DIRTY; plus some clean ones. */
	for (uint64_t i = 0; i < 200; i++) {
		PT_CHECK(t, pc_page_tree_insert(t, i * 10, entry_of(i * 10)) == 0);
		pc_page_tree_tag_set(t, i * 10, PC_TAG_DIRTY);
		PT_CHECK(t, pc_page_tree_insert(t, i * 10 + 5, entry_of(i * 10 + 5)) == 0);
	}
	/* A range inside: [100, 399] holds 30 dirty entries. */
	next = 0;
	n = pc_page_tree_range_tag_if_tagged(t, 100, 399, 1000, PC_TAG_DIRTY, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 30);
	PT_CHECK(t, next == 400);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_TOWRITE, e, idx, 256) == 30);
	for (unsigned i = 0; i < 30; i++)
		PT_CHECK(t, idx[i] == 100 + 10 * i);
	PT_CHECK(t, !pc_page_tree_tag_get(t, 105, PC_TAG_TOWRITE));	/* clean: untouched */
	PT_CHECK(t, pc_page_tree_tag_get(t, 100, PC_TAG_DIRTY));	/* iftag kept */

	/* nr_max limit: 7 from 1000, next just past the 7th. */
	n = pc_page_tree_range_tag_if_tagged(t, 1000, ~0ULL, 7, PC_TAG_DIRTY, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 7);
	PT_CHECK(t, next == 1061);
	PT_CHECK(t, pc_page_tree_tag_get(t, 1060, PC_TAG_TOWRITE));
	PT_CHECK(t, !pc_page_tree_tag_get(t, 1070, PC_TAG_TOWRITE));
	/* continuing from next with a limit above 64 (several internal batches) */
	n = pc_page_tree_range_tag_if_tagged(t, next, 1999, 70, PC_TAG_DIRTY, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 70);
	PT_CHECK(t, next == 1761);
	n = pc_page_tree_range_tag_if_tagged(t, next, 1999, 1000, PC_TAG_DIRTY, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 23);	/* 1770 .. 1990 */
	PT_CHECK(t, next == 2000);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_TOWRITE, e, idx, 256) == 130);
	/* nothing left to tag in a range without iftag entries */
	n = pc_page_tree_range_tag_if_tagged(t, 0, 99, 1000, PC_TAG_WRITEBACK, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 0);
	PT_CHECK(t, next == 100);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, 99, PC_TAG_TOWRITE, e, idx, 256) == 0);
	/* tagging twice counts again but changes nothing */
	n = pc_page_tree_range_tag_if_tagged(t, 100, 399, 1000, PC_TAG_DIRTY, PC_TAG_TOWRITE, &next);
	PT_CHECK(t, n == 30);
	PT_CHECK(t, pc_page_tree_gang_lookup_tag(t, 0, ~0ULL, PC_TAG_TOWRITE, e, idx, 256) == 130);

	for (uint64_t i = 0; i < 200; i++) {
		PT_CHECK(t, pc_page_tree_delete(t, i * 10) == entry_of(i * 10));
		PT_CHECK(t, pc_page_tree_delete(t, i * 10 + 5) == entry_of(i * 10 + 5));
	}
	check_empty(t);
}

/* ------------------------------------------------------------------ */
/* Randomised test against a sorted-array model                       */
/* ------------------------------------------------------------------ */

struct model_ent {
	uint64_t idx;
	unsigned tags;
};
struct model {
	struct model_ent *v;
	size_t n, cap;
};

/* First position with idx >= x. */
static size_t model_lower(const struct model *m, uint64_t x)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].idx < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
static struct model_ent *model_find(struct model *m, uint64_t x)
{
	size_t p = model_lower(m, x);
	return p < m->n && m->v[p].idx == x ? &m->v[p] : NULL;
}
static bool model_insert(struct model *m, uint64_t x)
{
	size_t p = model_lower(m, x);
	if (p < m->n && m->v[p].idx == x)
		return false;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		assert_non_null(m->v);
	}
	memmove(&m->v[p + 1], &m->v[p], (m->n - p) * sizeof(*m->v));
	m->v[p].idx = x;
	m->v[p].tags = 0;
	m->n++;
	return true;
}
static bool model_delete(struct model *m, uint64_t x)
{
	size_t p = model_lower(m, x);
	if (p >= m->n || m->v[p].idx != x)
		return false;
	memmove(&m->v[p], &m->v[p + 1], (m->n - p - 1) * sizeof(*m->v));
	m->n--;
	return true;
}

/* Index ranges: dense small, a leaf boundary, sparse mid, huge sparse, the top. */
static uint64_t random_index(struct tu_rng *r)
{
	switch (tu_rand_below(r, 6)) {
	case 0: return tu_rand_below(r, 300);
	case 1: return 4000 + tu_rand_below(r, 200);
	case 2: return (1ULL << 30) + tu_rand_below(r, 1ULL << 20) * 97;
	case 3: return (1ULL << 40) - 100 + tu_rand_below(r, 200);
	case 4: return MAXIDX - tu_rand_below(r, 300);
	default: return tu_rand(r) & MAXIDX & ~(1ULL << 61);	/* stays away from ENTRY_XOR>>2 */
	}
}

/* A random index near an existing one (so deletes and tag ops hit). */
static uint64_t random_existing_or_not(struct tu_rng *r, struct model *m)
{
	if (m->n && tu_rand_below(r, 4) != 0)
		return m->v[tu_rand_below(r, m->n)].idx;
	return random_index(r);
}

static void test_random_model(void **state)
{
	struct pc_page_tree *t = *state;
	struct tu_rng rng = { 0x5eed2024ULL };
	struct model m = { 0 };
	void *e[80];
	pc_pgoff_t idx[80];
	unsigned long nins = 0, ndel = 0, ngang = 0;

	for (unsigned op = 0; op < 20000; op++) {
		unsigned kind = (unsigned)tu_rand_below(&rng, 100);

		if (kind < 30) {			/* insert */
			uint64_t x = random_index(&rng);
			bool fresh = model_insert(&m, x);
			int err = pc_page_tree_insert(t, x, entry_of(x));
			PT_CHECK(t, err == (fresh ? 0 : -EEXIST));
			nins += fresh;
		} else if (kind < 45) {			/* delete */
			uint64_t x = random_existing_or_not(&rng, &m);
			bool had = model_delete(&m, x);
			void *old = pc_page_tree_delete(t, x);
			PT_CHECK(t, old == (had ? entry_of(x) : NULL));
			ndel += had;
		} else if (kind < 60) {			/* lookup */
			uint64_t x = random_existing_or_not(&rng, &m);
			void *want = model_find(&m, x) ? entry_of(x) : NULL;
			PT_CHECK(t, pc_page_tree_lookup(t, x) == want);
			for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {
				struct model_ent *me = model_find(&m, x);
				PT_CHECK(t, pc_page_tree_tag_get(t, x, tg) ==
						    (me && ((me->tags >> tg) & 1)));
			}
		} else if (kind < 75) {			/* tag set / clear */
			uint64_t x = random_existing_or_not(&rng, &m);
			unsigned tg = (unsigned)tu_rand_below(&rng, PC_TAG_MAX);
			struct model_ent *me = model_find(&m, x);
			if (tu_rand_below(&rng, 3)) {
				pc_page_tree_tag_set(t, x, tg);
				if (me)
					me->tags |= 1u << tg;
			} else {
				pc_page_tree_tag_clear(t, x, tg);
				if (me)
					me->tags &= ~(1u << tg);
			}
			PT_CHECK(t, pc_page_tree_tag_get(t, x, tg) == (me && ((me->tags >> tg) & 1)));
		} else if (kind < 95) {			/* gang lookups */
			uint64_t a = random_existing_or_not(&rng, &m);
			uint64_t b = random_existing_or_not(&rng, &m);
			unsigned max = 1 + (unsigned)tu_rand_below(&rng, 80);
			int tag = (int)tu_rand_below(&rng, PC_TAG_MAX + 1) - 1;	/* -1: untagged */
			unsigned got, want = 0;
			size_t p;

			if (tu_rand_below(&rng, 8) == 0)
				a = 0;
			if (tu_rand_below(&rng, 8) == 0)
				b = ~0ULL;
			if (a > b) {
				uint64_t tmp = a;
				a = b;
				b = tmp;
			}
			got = tag < 0 ? pc_page_tree_gang_lookup(t, a, b, e, idx, max)
				      : pc_page_tree_gang_lookup_tag(t, a, b, (unsigned)tag, e, idx, max);
			for (p = model_lower(&m, a); p < m.n && m.v[p].idx <= b && want < max; p++) {
				if (tag >= 0 && !((m.v[p].tags >> tag) & 1))
					continue;
				PT_CHECK(t, want < got);
				PT_CHECK(t, idx[want] == m.v[p].idx);
				PT_CHECK(t, e[want] == entry_of(m.v[p].idx));
				want++;
			}
			PT_CHECK(t, got == want);
			ngang++;
		} else if (kind < 97) {			/* range tag */
			uint64_t a = random_existing_or_not(&rng, &m);
			uint64_t b = a + tu_rand_below(&rng, 1ULL << 12);
			unsigned long nr_max = 1 + tu_rand_below(&rng, 100), want = 0, got;
			pc_pgoff_t next = 0, want_next = 0;
			size_t p;

			if (b < a)
				b = ~0ULL;
			for (p = model_lower(&m, a); p < m.n && m.v[p].idx <= b && want < nr_max; p++) {
				if (m.v[p].tags & (1u << PC_TAG_DIRTY)) {
					m.v[p].tags |= 1u << PC_TAG_TOWRITE;
					want++;
					want_next = m.v[p].idx + 1;
				}
			}
			if (want < nr_max)
				want_next = b + 1;
			got = pc_page_tree_range_tag_if_tagged(t, a, b, nr_max, PC_TAG_DIRTY,
							       PC_TAG_TOWRITE, &next);
			PT_CHECK(t, got == want);
			if (b != ~0ULL)
				PT_CHECK(t, next == want_next);
		} else {				/* summaries */
			for (unsigned tg = 0; tg < PC_TAG_MAX; tg++) {
				bool any = false;
				for (size_t p = 0; p < m.n && !any; p++)
					any = (m.v[p].tags >> tg) & 1;
				PT_CHECK(t, pc_page_tree_tagged(t, tg) == any);
			}
		}
	}
	PT_CHECK(t, nins > 3000 && ndel > 1000 && ngang > 2000);

	/* Full comparison, then empty the tree through the model. */
	{
		size_t p = 0;
		pc_pgoff_t start = 0;
		for (;;) {
			unsigned got = pc_page_tree_gang_lookup(t, start, ~0ULL, e, idx, 64);
			for (unsigned i = 0; i < got; i++, p++) {
				PT_CHECK(t, p < m.n);
				PT_CHECK(t, idx[i] == m.v[p].idx);
			}
			if (got < 64)
				break;
			start = idx[got - 1] + 1;
		}
		PT_CHECK(t, p == m.n);
	}
	while (m.n) {
		uint64_t x = m.v[tu_rand_below(&rng, m.n)].idx;
		PT_CHECK(t, pc_page_tree_delete(t, x) == entry_of(x));
		model_delete(&m, x);
	}
	check_empty(t);
	free(m.v);
}

/* ------------------------------------------------------------------ */
/* Concurrency: one locked writer, lock-free readers                  */
/* ------------------------------------------------------------------ */

#define STABLE_STRIDE 97	/* indexes k*97 < 4096 are never touched by the writer */
#define NREADERS 2

struct conc {
	struct pc_page_tree tree;
	pthread_mutex_t lock;
	_Atomic bool stop;
	_Atomic unsigned long writer_ops, growths;
};

struct reader_res {
	struct conc *c;
	unsigned seed;
	unsigned long lookups, gangs, found;
	unsigned long bad_entry, missing_stable, bad_order, bad_bounds;
	uint64_t first_bad_idx;
};

static uint64_t conc_index(struct tu_rng *r)
{
	switch (tu_rand_below(r, 4)) {
	case 0:
	case 1: return tu_rand_below(r, 4096);
	case 2: return (1ULL << 24) + tu_rand_below(r, 1ULL << 16) * 64;	/* sparse: many nodes */
	default: return (1ULL << 50) + tu_rand_below(r, 256) * (1ULL << 30);
	}
}

static void *conc_writer(void *arg)
{
	struct conc *c = arg;
	struct tu_rng rng = { 77 };
	uint64_t t0 = tu_now_ns();
	bool grew1 = false, grew2 = false;

	while (tu_now_ns() - t0 < 500ull * 1000 * 1000) {
		uint64_t x = conc_index(&rng);
		uint64_t el = tu_now_ns() - t0;

		/* Grow the height twice while the readers run. */
		if (!grew1 && el > 100ull * 1000 * 1000) {
			x = MAXIDX >> 12;
			grew1 = true;
			atomic_fetch_add(&c->growths, 1);
		} else if (!grew2 && el > 250ull * 1000 * 1000) {
			x = MAXIDX;
			grew2 = true;
			atomic_fetch_add(&c->growths, 1);
		} else if (x < 4096 && x % STABLE_STRIDE == 0) {
			continue;
		} else if (x >= (1ULL << 50) && !grew2) {
			continue;	/* keep the height small until the planned growth */
		}
		pthread_mutex_lock(&c->lock);
		if (pc_page_tree_lookup(&c->tree, x)) {
			if (tu_rand_below(&rng, 3) == 0)
				pc_page_tree_tag_set(&c->tree, x, (unsigned)tu_rand_below(&rng, PC_TAG_MAX));
			else
				pc_page_tree_delete(&c->tree, x);
		} else {
			int err = pc_page_tree_insert(&c->tree, x, entry_of(x));
			if (err) {
				pthread_mutex_unlock(&c->lock);
				fprintf(stderr, "writer: insert %#" PRIx64 " failed: %d\n", x, err);
				break;
			}
		}
		pthread_mutex_unlock(&c->lock);
		atomic_fetch_add_explicit(&c->writer_ops, 1, memory_order_relaxed);
	}
	atomic_store(&c->stop, true);
	return NULL;
}

static void *conc_reader(void *arg)
{
	struct reader_res *r = arg;
	struct conc *c = r->c;
	struct tu_rng rng = { r->seed };
	void *e[600];
	pc_pgoff_t idx[600];

	while (!atomic_load(&c->stop)) {
		uint64_t x;
		void *v;

		/* a stable entry must always be found */
		x = tu_rand_below(&rng, 4096 / STABLE_STRIDE + 1) * STABLE_STRIDE;
		pc_rcu_read_lock();
		v = pc_page_tree_lookup(&c->tree, x);
		pc_rcu_read_unlock();
		if (v != entry_of(x)) {
			if (!r->missing_stable++)
				r->first_bad_idx = x;
		}
		r->lookups++;

		/* any index: absent or the right entry */
		x = conc_index(&rng);
		pc_rcu_read_lock();
		v = pc_page_tree_lookup(&c->tree, x);
		if (v && v != entry_of(x)) {
			if (!r->bad_entry++)
				r->first_bad_idx = x;
		}
		r->found += v != NULL;
		(void)pc_page_tree_tag_get(&c->tree, x, PC_TAG_DIRTY);
		pc_rcu_read_unlock();
		r->lookups++;

		/* gang lookups: ascending, in bounds, right entries; tagged too */
		{
			uint64_t a = conc_index(&rng), b;
			unsigned got, max = 1 + (unsigned)tu_rand_below(&rng, 32);
			int tag = (int)tu_rand_below(&rng, PC_TAG_MAX + 1) - 1;

			b = a + tu_rand_below(&rng, 1ULL << 20);
			pc_rcu_read_lock();
			got = tag < 0 ? pc_page_tree_gang_lookup(&c->tree, a, b, e, idx, max)
				      : pc_page_tree_gang_lookup_tag(&c->tree, a, b, (unsigned)tag, e,
								     idx, max);
			pc_rcu_read_unlock();
			if (got > max)
				r->bad_bounds++;
			for (unsigned i = 0; i < got && i < max; i++) {
				if (e[i] != entry_of(idx[i]) && !r->bad_entry++)
					r->first_bad_idx = idx[i];
				if (idx[i] < a || idx[i] > b)
					r->bad_bounds++;
				if (i && idx[i] <= idx[i - 1])
					r->bad_order++;
			}
			/* a range over stable entries finds all of them */
			a = tu_rand_below(&rng, 4096 / STABLE_STRIDE - 5) * STABLE_STRIDE;
			b = a + 5 * STABLE_STRIDE;
			pc_rcu_read_lock();
			got = pc_page_tree_gang_lookup(&c->tree, a, b, e, idx, 600);
			pc_rcu_read_unlock();
			unsigned stable = 0;
			for (unsigned i = 0; i < got; i++) {
				if (e[i] != entry_of(idx[i]) && !r->bad_entry++)
					r->first_bad_idx = idx[i];
				if (idx[i] % STABLE_STRIDE == 0)
					stable++;
				if (i && idx[i] <= idx[i - 1])
					r->bad_order++;
			}
			if (stable != 6) {
				if (!r->missing_stable++)
					r->first_bad_idx = a;
			}
			r->gangs += 2;
		}
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct conc *c = calloc(1, sizeof(*c));
	struct reader_res res[NREADERS];
	pthread_t w, rd[NREADERS];
	unsigned long total_lookups = 0, total_found = 0;

	(void)state;
	assert_non_null(c);
	pc_page_tree_init(&c->tree);
	pthread_mutex_init(&c->lock, NULL);
	for (uint64_t x = 0; x < 4096; x += STABLE_STRIDE)
		PT_CHECK(&c->tree, pc_page_tree_insert(&c->tree, x, entry_of(x)) == 0);

	for (unsigned i = 0; i < NREADERS; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].c = c;
		res[i].seed = 1000 + i;
		PT_CHECK(&c->tree, pthread_create(&rd[i], NULL, conc_reader, &res[i]) == 0);
	}
	PT_CHECK(&c->tree, pthread_create(&w, NULL, conc_writer, c) == 0);
	pthread_join(w, NULL);
	for (unsigned i = 0; i < NREADERS; i++)
		pthread_join(rd[i], NULL);

	for (unsigned i = 0; i < NREADERS; i++) {
		struct reader_res *r = &res[i];
		if (r->bad_entry || r->missing_stable || r->bad_order || r->bad_bounds)
			fprintf(stderr, "reader %u: bad_entry %lu missing_stable %lu bad_order %lu "
				"bad_bounds %lu first at %#" PRIx64 "\n", i, r->bad_entry,
				r->missing_stable, r->bad_order, r->bad_bounds, r->first_bad_idx);
		PT_CHECK(&c->tree, r->bad_entry == 0);
		PT_CHECK(&c->tree, r->missing_stable == 0);
		PT_CHECK(&c->tree, r->bad_order == 0);
		PT_CHECK(&c->tree, r->bad_bounds == 0);
		PT_CHECK(&c->tree, r->lookups > 100 && r->gangs > 100);
		total_lookups += r->lookups;
		total_found += r->found;
	}
	PT_CHECK(&c->tree, atomic_load(&c->writer_ops) > 1000);
	PT_CHECK(&c->tree, atomic_load(&c->growths) == 2);
	PT_CHECK(&c->tree, total_found > 0);
	fprintf(stderr, "  concurrency: writer ops %lu, reader lookups %lu (found %lu)\n",
		atomic_load(&c->writer_ops), total_lookups, total_found);

	/* After the storm the tree is still exactly consistent. */
	PT_CHECK(&c->tree, pc_page_tree_lookup(&c->tree, MAXIDX) == entry_of(MAXIDX) ||
			   pc_page_tree_lookup(&c->tree, MAXIDX) == NULL);
	{
		pc_pgoff_t start = 0, idx[64];
		void *e[64];
		for (;;) {
			unsigned got = pc_page_tree_gang_lookup(&c->tree, start, ~0ULL, e, idx, 64);
			for (unsigned i = 0; i < got; i++) {
				PT_CHECK(&c->tree, e[i] == entry_of(idx[i]));
				PT_CHECK(&c->tree, pc_page_tree_delete(&c->tree, idx[i]) == e[i]);
			}
			if (got < 64)
				break;
			start = idx[got - 1] + 1;
		}
	}
	check_empty(&c->tree);
	pc_page_tree_destroy(&c->tree);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_tree, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_insert_lookup_delete, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_dense_and_replace, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tags, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_tags_survive_growth, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_max_index, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_gang_lookup, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_range_tag_if_tagged, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_random_model, setup_tree, teardown_tree),
		cmocka_unit_test(test_concurrent_readers),
	};
	int rc = cmocka_run_group_tests_name("page_tree", tests, NULL, NULL);
	tu_report("test_page_tree");
	return rc;
}
