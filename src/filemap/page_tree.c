/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/page_tree.c - the page tree: a radix tree of 64-way nodes
 * with three marks (DIRTY, WRITEBACK, TOWRITE) summarised up to the root.
 *
 * Concurrency: every modification (insert, delete, tag set/clear, height
 * growth) happens under the owning mapping's tree_lock. Readers take no
 * lock: they run inside an RCU read-side section, load node and slot
 * pointers with acquire ordering, and nodes are freed only after a grace
 * period (call_rcu), so a reader never touches freed memory. A node is
 * published only after it is fully initialised (release stores). The
 * height only grows while the tree lives (the old root becomes slot 0 of
 * the new one), so a reader holding an old root still sees a consistent,
 * if slightly older, tree. Tag words are atomics read with relaxed loads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "rcu_internal.h"
#include <pagecache/filemap.h>

#define MAP_SIZE PC_TREE_MAP_SIZE
#define MAP_SHIFT PC_TREE_MAP_SHIFT
#define MAP_MASK (MAP_SIZE - 1)

struct pc_tree_node {
	unsigned char shift;		/* index bits below this node's slots */
	unsigned char offset;		/* slot in the parent */
	unsigned short count;		/* non-NULL slots */
	struct pc_tree_node *parent;
	_Atomic unsigned long tags[PC_TAG_MAX];
	void *_Atomic slots[MAP_SIZE];
	struct rcu_head rcu;
};

static inline pc_pgoff_t node_maxindex(const struct pc_tree_node *n)
{
	unsigned bits = n->shift + MAP_SHIFT;
	return bits >= 64 ? ~(pc_pgoff_t)0 : ((pc_pgoff_t)1 << bits) - 1;
}

static inline void *load(void *_Atomic *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void store(void *_Atomic *p, void *v) { atomic_store_explicit(p, v, memory_order_release); }
static inline unsigned long tag_word(struct pc_tree_node *n, unsigned t)
{
	return atomic_load_explicit(&n->tags[t], memory_order_relaxed);
}

static struct pc_tree_node *node_alloc(unsigned shift)
{
	struct pc_tree_node *n = calloc(1, sizeof(*n));
	if (n)
		n->shift = shift;
	return n;
}

static void node_free_rcu(struct rcu_head *head)
{
	pc_rcu_tsan_acquire();
	free(caa_container_of(head, struct pc_tree_node, rcu));
}

static void node_free_deferred(struct pc_tree_node *n)
{
	if (!pc_rcu_registered)
		pc_rcu_register_slow();
	pc_rcu_tsan_release();
	urcu_memb_call_rcu(&n->rcu, node_free_rcu);
}

PC_EXPORT void pc_page_tree_init(struct pc_page_tree *t)
{
	atomic_store(&t->root, NULL);
	atomic_store(&t->height, 0);
	atomic_store(&t->root_tags, 0);
	atomic_store(&t->nr_range, 0);
}

static void destroy_node(struct pc_tree_node *n)
{
	if (n->shift) {
		for (unsigned i = 0; i < MAP_SIZE; i++) {
			struct pc_tree_node *c = load(&n->slots[i]);
			if (c)
				destroy_node(c);
		}
	}
	free(n);
}

PC_EXPORT void pc_page_tree_destroy(struct pc_page_tree *t)
{
	struct pc_tree_node *root = atomic_load(&t->root);
	if (root)
		destroy_node(root);
	pc_page_tree_init(t);
}

/* Leaf node holding @index, or NULL. RCU or tree lock. */
static inline struct pc_tree_node *find_leaf(struct pc_page_tree *t, pc_pgoff_t index)
{
	struct pc_tree_node *n = load((void *_Atomic *)&t->root);

	if (!n || index > node_maxindex(n))
		return NULL;
	while (n->shift) {
		n = load(&n->slots[(index >> n->shift) & MAP_MASK]);
		if (!n)
			return NULL;
	}
	return n;
}

PC_EXPORT void *pc_page_tree_lookup(struct pc_page_tree *t, pc_pgoff_t index)
{
	struct pc_tree_node *n = find_leaf(t, index);
	return n ? load(&n->slots[index & MAP_MASK]) : NULL;
}

PC_EXPORT void *_Atomic *pc_page_tree_lookup_slot(struct pc_page_tree *t, pc_pgoff_t index)
{
	struct pc_tree_node *n = find_leaf(t, index);
	return n ? &n->slots[index & MAP_MASK] : NULL;
}

static int grow(struct pc_page_tree *t, pc_pgoff_t index)
{
	struct pc_tree_node *root = atomic_load(&t->root);

	if (!root) {
		unsigned shift = 0;
		while (shift + MAP_SHIFT < 64 && (index >> (shift + MAP_SHIFT)))
			shift += MAP_SHIFT;
		root = node_alloc(shift);
		if (!root)
			return -ENOMEM;
		store((void *_Atomic *)&t->root, root);
		atomic_store(&t->height, shift / MAP_SHIFT + 1);
		return 0;
	}
	while (index > node_maxindex(root)) {
		struct pc_tree_node *n = node_alloc(root->shift + MAP_SHIFT);
		if (!n)
			return -ENOMEM;
		for (unsigned tg = 0; tg < PC_TAG_MAX; tg++)
			if (tag_word(root, tg))
				atomic_store(&n->tags[tg], 1UL);
		n->count = 1;
		root->parent = n;
		root->offset = 0;
		atomic_store_explicit(&n->slots[0], root, memory_order_relaxed);
		store((void *_Atomic *)&t->root, n);
		atomic_store(&t->height, n->shift / MAP_SHIFT + 1);
		root = n;
	}
	return 0;
}

PC_EXPORT int pc_page_tree_insert(struct pc_page_tree *t, pc_pgoff_t index, void *entry)
{
	struct pc_tree_node *n;
	int err;

	PC_BUG_ON(!entry);
	err = grow(t, index);
	if (err)
		return err;
	n = atomic_load(&t->root);
	while (n->shift) {
		unsigned off = (index >> n->shift) & MAP_MASK;
		struct pc_tree_node *c = load(&n->slots[off]);
		if (!c) {
			c = node_alloc(n->shift - MAP_SHIFT);
			if (!c)
				return -ENOMEM;
			c->parent = n;
			c->offset = off;
			store(&n->slots[off], c);
			n->count++;
		}
		n = c;
	}
	if (load(&n->slots[index & MAP_MASK]))
		return -EEXIST;
	store(&n->slots[index & MAP_MASK], entry);
	n->count++;
	return 0;
}

PC_EXPORT void pc_page_tree_replace(struct pc_page_tree *t, pc_pgoff_t index, void *entry)
{
	struct pc_tree_node *n = find_leaf(t, index);
	PC_BUG_ON(!n || !load(&n->slots[index & MAP_MASK]));
	store(&n->slots[index & MAP_MASK], entry);
}

/* Clear tag @tg of slot @off in @n and propagate emptiness upwards. */
static void clear_tag_up(struct pc_page_tree *t, struct pc_tree_node *n, unsigned off, unsigned tg)
{
	for (;;) {
		unsigned long w = atomic_fetch_and_explicit(&n->tags[tg], ~(1UL << off),
							    memory_order_relaxed);
		if (!(w & (1UL << off)) || (w & ~(1UL << off)))
			return;		/* wasn't set, or others remain */
		if (!n->parent) {
			atomic_fetch_and(&t->root_tags, ~(1UL << tg));
			return;
		}
		off = n->offset;
		n = n->parent;
	}
}

PC_EXPORT void *pc_page_tree_delete(struct pc_page_tree *t, pc_pgoff_t index)
{
	struct pc_tree_node *n = find_leaf(t, index);
	unsigned off = index & MAP_MASK;
	void *old;

	if (!n)
		return NULL;
	old = load(&n->slots[off]);
	if (!old)
		return NULL;
	for (unsigned tg = 0; tg < PC_TAG_MAX; tg++)
		clear_tag_up(t, n, off, tg);
	store(&n->slots[off], NULL);
	n->count--;
	/* Free nodes that became empty (never the root). */
	while (n->count == 0 && n->parent) {
		struct pc_tree_node *p = n->parent;
		unsigned poff = n->offset;
		store(&p->slots[poff], NULL);
		p->count--;
		node_free_deferred(n);
		n = p;
	}
	return old;
}

PC_EXPORT void pc_page_tree_tag_set(struct pc_page_tree *t, pc_pgoff_t index, unsigned tg)
{
	struct pc_tree_node *n = atomic_load(&t->root);

	if (!n || index > node_maxindex(n))
		return;
	for (;;) {
		unsigned off = (index >> n->shift) & MAP_MASK;
		if (!n->shift) {
			if (!load(&n->slots[off]))
				return;
			break;
		}
		if (!load(&n->slots[off]))
			return;
		n = load(&n->slots[off]);
	}
	/* Set bottom-up so a lock-free reader that sees a parent bit... may
	 * still find no child bit briefly; readers tolerate that. */
	for (unsigned off = index & MAP_MASK;;) {
		unsigned long w = atomic_fetch_or_explicit(&n->tags[tg], 1UL << off,
							   memory_order_relaxed);
		if (w & (1UL << off))
			return;
		if (!n->parent)
			break;
		off = n->offset;
		n = n->parent;
	}
	atomic_fetch_or(&t->root_tags, 1UL << tg);
}

PC_EXPORT void pc_page_tree_tag_clear(struct pc_page_tree *t, pc_pgoff_t index, unsigned tg)
{
	struct pc_tree_node *n = find_leaf(t, index);
	if (n)
		clear_tag_up(t, n, index & MAP_MASK, tg);
}

PC_EXPORT bool pc_page_tree_tag_get(struct pc_page_tree *t, pc_pgoff_t index, unsigned tg)
{
	struct pc_tree_node *n = find_leaf(t, index);
	return n && ((tag_word(n, tg) >> (index & MAP_MASK)) & 1);
}

struct gang {
	pc_pgoff_t start, end;
	int tag;
	void **entries;
	pc_pgoff_t *indices;
	unsigned max, n;
};

static void gang_walk(struct gang *g, struct pc_tree_node *n, pc_pgoff_t base)
{
	unsigned off = 0;
	pc_pgoff_t span = (pc_pgoff_t)1 << n->shift;

	if (g->start > base)
		off = (g->start - base) >> n->shift;
	for (; off < MAP_SIZE && g->n < g->max; off++) {
		pc_pgoff_t cbase = base + off * span;
		void *e;

		if (cbase > g->end || (off && cbase == 0))
			return;		/* past the range (or wrapped) */
		if (g->tag >= 0 && !((tag_word(n, g->tag) >> off) & 1))
			continue;
		e = load(&n->slots[off]);
		if (!e)
			continue;
		if (n->shift) {
			gang_walk(g, e, cbase);
		} else {
			g->entries[g->n] = e;
			if (g->indices)
				g->indices[g->n] = cbase;
			g->n++;
		}
	}
}

static unsigned gang_lookup(struct pc_page_tree *t, pc_pgoff_t start, pc_pgoff_t end, int tag,
			    void **entries, pc_pgoff_t *indices, unsigned max)
{
	struct pc_tree_node *root = load((void *_Atomic *)&t->root);
	struct gang g = { start, end, tag, entries, indices, max, 0 };

	if (!root || start > node_maxindex(root) || start > end || !max)
		return 0;
	if (tag >= 0 && !pc_page_tree_tagged(t, tag))
		return 0;
	gang_walk(&g, root, 0);
	return g.n;
}

PC_EXPORT unsigned pc_page_tree_gang_lookup(struct pc_page_tree *t, pc_pgoff_t start, pc_pgoff_t end,
					    void **entries, pc_pgoff_t *indices, unsigned max)
{
	return gang_lookup(t, start, end, -1, entries, indices, max);
}

PC_EXPORT unsigned pc_page_tree_gang_lookup_tag(struct pc_page_tree *t, pc_pgoff_t start, pc_pgoff_t end,
						unsigned tag, void **entries, pc_pgoff_t *indices,
						unsigned max)
{
	return gang_lookup(t, start, end, (int)tag, entries, indices, max);
}

PC_EXPORT unsigned long pc_page_tree_range_tag_if_tagged(struct pc_page_tree *t, pc_pgoff_t start,
							 pc_pgoff_t end, unsigned long nr_max,
							 unsigned iftag, unsigned settag,
							 pc_pgoff_t *next)
{
	void *e[64];
	pc_pgoff_t idx[64];
	unsigned long done = 0;

	while (done < nr_max && start <= end) {
		unsigned want = (unsigned)PC_MIN((unsigned long)64, nr_max - done);
		unsigned n = gang_lookup(t, start, end, (int)iftag, e, idx, want);
		if (!n) {
			start = end + 1;
			if (start == 0)	/* end was ~0 */
				start = end;
			break;
		}
		for (unsigned i = 0; i < n; i++)
			pc_page_tree_tag_set(t, idx[i], settag);
		done += n;
		if (idx[n - 1] == ~(pc_pgoff_t)0) {
			start = end;
			break;
		}
		start = idx[n - 1] + 1;
	}
	if (next)
		*next = start;
	return done;
}
