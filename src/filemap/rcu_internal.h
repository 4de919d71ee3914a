/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inline RCU read-side helpers for the lock-free lookup paths (liburcu memb). */
#ifndef PC_RCU_INTERNAL_H
#define PC_RCU_INTERNAL_H

#define _LGPL_SOURCE 1
#include <stdbool.h>
#include <urcu/urcu-memb.h>

extern __thread bool pc_rcu_registered;
void pc_rcu_register_slow(void);

static inline void pc_rcu_lock(void)
{
	if (__builtin_expect(!pc_rcu_registered, 0))
		pc_rcu_register_slow();
	urcu_memb_read_lock();
}
static inline void pc_rcu_unlock(void) { urcu_memb_read_unlock(); }

#endif
