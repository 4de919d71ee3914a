/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/mm/page_wait.c - page lock and page waits.
 *
 * Sleepers wait on one of PC_WAIT_TABLE_SIZE buckets chosen by hashing the
 * page address (the kernel's page_waitqueue): a mutex and a condition
 * variable per bucket. A sleeper sets PC_PG_waiters with an atomic RMW and
 * uses that RMW's result to test the bit it waits for; a waker clears its
 * bit with an RMW and only takes the bucket lock when the result shows
 * PC_PG_waiters. Both RMWs hit the same word, so one of them sees the other:
 * no wakeup is lost, and an uncontended unlock is one atomic instruction.
 */
#include <stdint.h>
#include "mm_internal.h"

/*
 * Like the kernel's io_schedule(), a thread about to sleep first sends the
 * bios it holds in its plug: the page it waits for may be in there.
 */
void pc_blk_flush_plug(void);

#define PC_WAIT_TABLE_BITS 8
#define PC_WAIT_TABLE_SIZE (1u << PC_WAIT_TABLE_BITS)

static struct wait_bucket {
	pthread_mutex_t lock;
	pthread_cond_t cond;
} __attribute__((aligned(64))) wait_table[PC_WAIT_TABLE_SIZE];

static pthread_once_t wait_once = PTHREAD_ONCE_INIT;

static void wait_table_init(void)
{
	for (unsigned i = 0; i < PC_WAIT_TABLE_SIZE; i++) {
		pthread_mutex_init(&wait_table[i].lock, NULL);
		pthread_cond_init(&wait_table[i].cond, NULL);
	}
}

static struct wait_bucket *page_bucket(const struct pc_page *page)
{
	uintptr_t v = (uintptr_t)page;
	v = (v >> 6) * 0x9E3779B97F4A7C15ull;
	pthread_once(&wait_once, wait_table_init);
	return &wait_table[v >> (64 - PC_WAIT_TABLE_BITS)];
}

PC_EXPORT void pc_wait_on_page_bit(struct pc_page *page, int bit)
{
	struct wait_bucket *b;

	if (!pc_test_bit(bit, page))
		return;
	pc_blk_flush_plug();
	b = page_bucket(page);
	pthread_mutex_lock(&b->lock);
	for (;;) {
		unsigned long old = atomic_fetch_or(&page->flags, 1UL << PC_PG_waiters);
		if (!((old >> bit) & 1))
			break;
		pthread_cond_wait(&b->cond, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

PC_EXPORT void pc_wake_up_page_bit(struct pc_page *page, int bit)
{
	struct wait_bucket *b = page_bucket(page);

	(void)bit;
	pthread_mutex_lock(&b->lock);
	/* Every sleeper of this bucket wakes and re-arms PC_PG_waiters if it
	 * still has to wait, so clearing it here loses nobody. */
	pc_clear_bit(PC_PG_waiters, page);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

PC_EXPORT void pc_lock_page(struct pc_page *page)
{
	struct wait_bucket *b;

	if (pc_likely(pc_trylock_page(page)))
		return;
	pc_blk_flush_plug();
	b = page_bucket(page);
	pthread_mutex_lock(&b->lock);
	for (;;) {
		atomic_fetch_or(&page->flags, 1UL << PC_PG_waiters);
		if (pc_trylock_page(page))
			break;
		pthread_cond_wait(&b->cond, &b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}

PC_EXPORT void pc_unlock_page(struct pc_page *page)
{
	unsigned long old = atomic_fetch_and_explicit(&page->flags, ~(1UL << PC_PG_locked),
						      memory_order_release);
	PC_BUG_ON(!(old & (1UL << PC_PG_locked)));
	if (old & (1UL << PC_PG_waiters))
		pc_wake_up_page_bit(page, PC_PG_locked);
}

PC_EXPORT void pc_wait_on_page_locked(struct pc_page *page)
{
	pc_wait_on_page_bit(page, PC_PG_locked);
}

PC_EXPORT void pc_wait_on_page_writeback(struct pc_page *page)
{
	pc_wait_on_page_bit(page, PC_PG_writeback);
}
