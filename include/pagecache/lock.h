/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagecache/lock.h - locks that know their owner, for the "caller holds"
 * sentences of the contracts (docs/locking.md).
 *
 * struct pc_mutex wraps a pthread mutex, struct pc_rwsem a pthread rwlock.
 * Each carries an @owner field (the pthread_self() of the thread holding
 * it exclusively, 0 when none). The field exists in every build, so the
 * layout of the structs that embed these locks does not depend on the
 * build type, but it is written only in debug builds of the library (NDEBUG
 * not defined: meson buildtype debug or debugoptimized, the default):
 * release builds pay nothing, not even a store.
 *
 * PC_ASSERT_HELD(lock) states "the calling thread holds @lock" (for a
 * pc_rwsem: holds it EXCLUSIVE). PC_ASSERT_LOCKED(rwsem) states "@rwsem is
 * held in some mode": shared holders are not tracked per thread (that
 * would need a per-thread table of held locks, or a shared counter on every
 * shared acquisition), so a "held shared" contract is checked only as
 * "somebody holds it", with a trywrlock that fails whenever any holder
 * exists. A failed assertion prints the lock expression, the function, file
 * and line, and the owner found, on stderr, and aborts: in debug builds
 * only, for a broken internal invariant (never for bad input). Both compile
 * to nothing with NDEBUG.
 *
 * The owner is recorded by pc_mutex_lock()/pc_rwsem_down_write() and
 * cleared by the matching unlock; a lock released on another thread than
 * the one that took it is itself a broken invariant in debug builds.
 * These inline helpers follow the NDEBUG of the translation unit that
 * includes them; a filesystem built apart from the library takes its inode
 * lock through pc_inode_lock() (out of line, vfs.h), so the library's own
 * build type decides what is recorded there.
 *
 * Follows the kernel's lockdep_assert_held()/mutex owner field
 * (kernel/locking/mutex.c), much simplified: no lock classes, no order
 * checking.
 */
#ifndef PAGECACHE_LOCK_H
#define PAGECACHE_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include "compiler.h"

struct pc_mutex {
	pthread_mutex_t m;
	_Atomic unsigned long owner;	/* debug builds: exclusive holder, or 0 */
};

struct pc_rwsem {
	pthread_rwlock_t rw;
	_Atomic unsigned long owner;	/* debug builds: writer, or 0 */
};

#ifndef NDEBUG
#include <stdio.h>
#include <stdlib.h>
/*
 * pc_lock_assert_fail - report a "must hold" contract broken at @file:@line
 * in @func: @what names the lock expression, @how the state it must be in,
 * @owner the exclusive holder found (0: none). Prints to stderr and aborts
 * (debug builds only, like PC_BUG_ON).
 */
static inline __attribute__((noreturn, cold)) void
pc_lock_assert_fail(const char *what, const char *how, unsigned long owner, const char *file,
		    int line, const char *func)
{
	fprintf(stderr, "pagecache BUG at %s:%d in %s(): lock %s must be %s "
		"(this thread %#lx, exclusive owner found %#lx)\n", file, line, func, what, how,
		(unsigned long)pthread_self(), owner);
	abort();
}
#endif

static inline unsigned long pc_lock_self(void)
{
	return (unsigned long)pthread_self();
}

static inline void pc_mutex_init(struct pc_mutex *l)
{
	pthread_mutex_init(&l->m, NULL);
	atomic_init(&l->owner, 0);
}
static inline void pc_mutex_destroy(struct pc_mutex *l) { pthread_mutex_destroy(&l->m); }

static inline void pc_mutex_lock(struct pc_mutex *l)
{
	pthread_mutex_lock(&l->m);
#ifndef NDEBUG
	atomic_store_explicit(&l->owner, pc_lock_self(), memory_order_relaxed);
#endif
}
/* Unlock; @file, @line, @func: the caller, for the debug report. */
static inline void pc_mutex_unlock_at(struct pc_mutex *l, const char *what, const char *file,
				      int line, const char *func)
{
#ifndef NDEBUG
	unsigned long o = atomic_load_explicit(&l->owner, memory_order_relaxed);
	if (pc_unlikely(o != pc_lock_self()))
		pc_lock_assert_fail(what, "held by this thread (unlock)", o, file, line, func);
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
#else
	(void)what, (void)file, (void)line, (void)func;
#endif
	pthread_mutex_unlock(&l->m);
}
#define pc_mutex_unlock(l) pc_mutex_unlock_at((l), #l, __FILE__, __LINE__, __func__)

static inline void pc_rwsem_init(struct pc_rwsem *l, const pthread_rwlockattr_t *attr)
{
	pthread_rwlock_init(&l->rw, attr);
	atomic_init(&l->owner, 0);
}
static inline void pc_rwsem_destroy(struct pc_rwsem *l) { pthread_rwlock_destroy(&l->rw); }
static inline void pc_rwsem_down_write(struct pc_rwsem *l)
{
	pthread_rwlock_wrlock(&l->rw);
#ifndef NDEBUG
	atomic_store_explicit(&l->owner, pc_lock_self(), memory_order_relaxed);
#endif
}
static inline void pc_rwsem_up_write_at(struct pc_rwsem *l, const char *what, const char *file,
					int line, const char *func)
{
#ifndef NDEBUG
	unsigned long o = atomic_load_explicit(&l->owner, memory_order_relaxed);
	if (pc_unlikely(o != pc_lock_self()))
		pc_lock_assert_fail(what, "held exclusive by this thread (unlock)", o, file, line,
				    func);
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
#else
	(void)what, (void)file, (void)line, (void)func;
#endif
	pthread_rwlock_unlock(&l->rw);
}
#define pc_rwsem_up_write(l) pc_rwsem_up_write_at((l), #l, __FILE__, __LINE__, __func__)
static inline void pc_rwsem_down_read(struct pc_rwsem *l) { pthread_rwlock_rdlock(&l->rw); }
static inline void pc_rwsem_up_read(struct pc_rwsem *l) { pthread_rwlock_unlock(&l->rw); }

#ifdef NDEBUG
#define PC_ASSERT_HELD(lock) ((void)0)
#define PC_ASSERT_LOCKED(rwsem) ((void)0)
#else
static inline void pc_mutex_assert_held(struct pc_mutex *l, const char *what, const char *file,
					int line, const char *func)
{
	unsigned long o = atomic_load_explicit(&l->owner, memory_order_relaxed);
	if (pc_unlikely(o != pc_lock_self()))
		pc_lock_assert_fail(what, "held by this thread", o, file, line, func);
}
static inline void pc_rwsem_assert_held(struct pc_rwsem *l, const char *what, const char *file,
					int line, const char *func)
{
	unsigned long o = atomic_load_explicit(&l->owner, memory_order_relaxed);
	if (pc_unlikely(o != pc_lock_self()))
		pc_lock_assert_fail(what, "held exclusive by this thread", o, file, line, func);
}
static inline void pc_rwsem_assert_locked(struct pc_rwsem *l, const char *what, const char *file,
					  int line, const char *func)
{
	if (pc_unlikely(pthread_rwlock_trywrlock(&l->rw) == 0)) {
		pthread_rwlock_unlock(&l->rw);
		pc_lock_assert_fail(what, "held (shared or exclusive)", 0, file, line, func);
	}
}
/* The calling thread holds @lock (a struct pc_mutex *, or a struct
 * pc_rwsem * held exclusive). */
#define PC_ASSERT_HELD(lock) _Generic((lock), \
	struct pc_mutex *: pc_mutex_assert_held, \
	struct pc_rwsem *: pc_rwsem_assert_held)((lock), #lock, __FILE__, __LINE__, __func__)
/* @rwsem (a struct pc_rwsem *) is held in some mode, by somebody. */
#define PC_ASSERT_LOCKED(rwsem) \
	pc_rwsem_assert_locked((rwsem), #rwsem, __FILE__, __LINE__, __func__)
#endif

#endif /* PAGECACHE_LOCK_H */
