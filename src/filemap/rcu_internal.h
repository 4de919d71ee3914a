/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inline RCU read-side helpers for the lock-free lookup paths (liburcu memb). */
#ifndef PC_RCU_INTERNAL_H
#define PC_RCU_INTERNAL_H

/*
 * ThreadSanitizer cannot see the ordering liburcu provides (its grace
 * periods and call_rcu queues live in the uninstrumented library, and its
 * inline fast paths use plain volatile accesses), so it reports every node
 * freed by call_rcu as racing with the readers and the writer that touched
 * it last, and liburcu's own wake-up flag as racing with itself. Under TSan
 * only: use liburcu's out-of-line read-side functions (not instrumented),
 * and model the grace period: each read-side unlock and each call_rcu
 * releases one sync object, each RCU callback acquires it before freeing.
 */
#if defined(__SANITIZE_THREAD__)
#define PC_RCU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PC_RCU_TSAN 1
#endif
#endif

#ifndef PC_RCU_TSAN
#define _LGPL_SOURCE 1
#endif
#include <stdbool.h>
#include <urcu/urcu-memb.h>

extern __thread bool pc_rcu_registered __attribute__((tls_model("initial-exec")));
void pc_rcu_register_slow(void);

#ifdef PC_RCU_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char pc_rcu_tsan_sync;
static inline void pc_rcu_tsan_release(void) { __tsan_release(&pc_rcu_tsan_sync); }
static inline void pc_rcu_tsan_acquire(void) { __tsan_acquire(&pc_rcu_tsan_sync); }
#else
static inline void pc_rcu_tsan_release(void) { }
static inline void pc_rcu_tsan_acquire(void) { }
#endif

static inline void pc_rcu_lock(void)
{
	if (__builtin_expect(!pc_rcu_registered, 0))
		pc_rcu_register_slow();
	urcu_memb_read_lock();
}
static inline void pc_rcu_unlock(void)
{
	pc_rcu_tsan_release();
	urcu_memb_read_unlock();
}

#endif
