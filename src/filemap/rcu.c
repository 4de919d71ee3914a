/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/filemap/rcu.c - userspace RCU glue. Threads are registered with
 * liburcu (memb flavour, membarrier-based: read-side sections cost a
 * thread-local counter update) on their first read-side section and
 * unregistered when they exit.
 */
#include <pthread.h>
#include <stdlib.h>
#include "rcu_internal.h"
#include <pagecache/filemap.h>

__thread bool pc_rcu_registered __attribute__((tls_model("initial-exec")));
#ifdef PC_RCU_TSAN
char pc_rcu_tsan_sync;
#endif
static pthread_key_t rcu_key;
static pthread_once_t rcu_once = PTHREAD_ONCE_INIT;

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	if (pc_rcu_registered) {
		urcu_memb_unregister_thread();
		pc_rcu_registered = false;
	}
}

static void rcu_key_init(void) { pthread_key_create(&rcu_key, rcu_thread_exit); }

void pc_rcu_register_slow(void)
{
	pthread_once(&rcu_once, rcu_key_init);
	urcu_memb_register_thread();
	pc_rcu_registered = true;
	pthread_setspecific(rcu_key, (void *)1);
}

PC_EXPORT void pc_rcu_read_lock(void) { pc_rcu_lock(); }
PC_EXPORT void pc_rcu_read_unlock(void) { pc_rcu_unlock(); }

