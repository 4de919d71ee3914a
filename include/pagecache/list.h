/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/list.h - intrusive doubly linked lists (the kernel's list_head).
 *
 * A struct pc_list_head is embedded in the object it links. An empty list is
 * a head pointing at itself. None of these functions lock: the caller holds
 * whatever lock protects the list it names.
 */
#ifndef PAGECACHE_LIST_H
#define PAGECACHE_LIST_H

#include <stddef.h>
#include <stdbool.h>

struct pc_list_head {
	struct pc_list_head *next, *prev;
};

#define PC_LIST_HEAD_INIT(name) { &(name), &(name) }

#define pc_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void pc_list_init(struct pc_list_head *h) { h->next = h->prev = h; }
static inline bool pc_list_empty(const struct pc_list_head *h) { return h->next == h; }

/* Link n between two adjacent entries prev and next (Linux's __list_add). */
static inline void pc___list_add(struct pc_list_head *n, struct pc_list_head *prev,
				  struct pc_list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* Insert n right after head (stack order). */
static inline void pc_list_add(struct pc_list_head *n, struct pc_list_head *head)
{
	pc___list_add(n, head, head->next);
}

/* Insert n right before head (queue order). */
static inline void pc_list_add_tail(struct pc_list_head *n, struct pc_list_head *head)
{
	pc___list_add(n, head->prev, head);
}

/* Unlink e and leave it pointing at itself (so pc_list_empty(e) is true). */
static inline void pc_list_del_init(struct pc_list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	pc_list_init(e);
}

static inline void pc_list_move(struct pc_list_head *e, struct pc_list_head *head)
{
	pc_list_del_init(e);
	pc_list_add(e, head);
}

static inline void pc_list_move_tail(struct pc_list_head *e, struct pc_list_head *head)
{
	pc_list_del_init(e);
	pc_list_add_tail(e, head);
}

#define pc_list_entry(ptr, type, member) pc_container_of(ptr, type, member)
#define pc_list_first_entry(head, type, member) pc_list_entry((head)->next, type, member)
#define pc_list_last_entry(head, type, member) pc_list_entry((head)->prev, type, member)

#define pc_list_for_each_safe(pos, n, head) \
	for (pos = (head)->next, n = pos->next; pos != (head); pos = n, n = pos->next)

#endif /* PAGECACHE_LIST_H */
