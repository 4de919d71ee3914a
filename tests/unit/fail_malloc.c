/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/unit/fail_malloc.c - the fail-countdown allocator (fail_malloc.h).
 *
 * These functions run before ASan has mapped its shadow memory (ASan's own
 * start-up allocates through the dynamic loader, which calls malloc), so
 * they are built without sanitizer instrumentation.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fail_malloc.h"

#define FM_NOSAN __attribute__((no_sanitize("address", "undefined"), used))

/* ASan's allocator when linked in (weak: NULL otherwise), else glibc's. */
extern void *__interceptor_malloc(size_t) __attribute__((weak));
extern void *__interceptor_calloc(size_t, size_t) __attribute__((weak));
extern void *__interceptor_realloc(void *, size_t) __attribute__((weak));
extern void __interceptor_free(void *) __attribute__((weak));
extern void *__interceptor_memalign(size_t, size_t) __attribute__((weak));
extern int __interceptor_posix_memalign(void **, size_t, size_t) __attribute__((weak));
extern void *__interceptor_aligned_alloc(size_t, size_t) __attribute__((weak));
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static _Atomic bool fm_on;
static _Atomic bool fm_persist;
static _Atomic long fm_left;		/* successes still allowed */
static _Atomic long fm_calls;		/* successes while armed */
static _Atomic long fm_failed;		/* failures since fm_arm */
static _Atomic long fm_nlive;
static int fm_trace = -1;		/* $FM_BACKTRACE set: stack of each failure */

void fm_arm(long n, bool persistent)
{
	if (fm_trace < 0) {
		void *dummy[2];

		fm_trace = getenv("FM_BACKTRACE") != NULL;
		if (fm_trace)
			backtrace(dummy, 2);	/* loads libgcc now, not while failing */
	}
	atomic_store(&fm_calls, 0);
	atomic_store(&fm_failed, 0);
	atomic_store(&fm_persist, persistent);
	atomic_store(&fm_left, n);
	atomic_store(&fm_on, true);
}

long fm_disarm(void)
{
	atomic_store(&fm_on, false);
	return atomic_load(&fm_failed);
}

long fm_armed_calls(void) { return atomic_load(&fm_calls); }
long fm_live(void) { return atomic_load(&fm_nlive); }

FM_NOSAN static bool fm_fail(void)
{
	long left;

	if (!atomic_load_explicit(&fm_on, memory_order_relaxed))
		return false;
	left = atomic_fetch_sub(&fm_left, 1);
	if (left > 0 || (left < 0 && !atomic_load(&fm_persist))) {
		atomic_fetch_add(&fm_calls, 1);
		return false;
	}
	if (atomic_fetch_add(&fm_failed, 1) == 0 && fm_trace > 0) {
		void *st[24];
		int n = backtrace(st, 24);

		(void)!write(2, "fail_malloc: first failure at\n", 30);
		backtrace_symbols_fd(st, n, 2);
	}
	return true;
}

FM_NOSAN static inline void *fm_count(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&fm_nlive, 1, memory_order_relaxed);
	return p;
}

FM_NOSAN void *malloc(size_t n)
{
	if (fm_fail())
		return NULL;
	return fm_count(__interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n));
}

FM_NOSAN void *calloc(size_t a, size_t b)
{
	if (fm_fail())
		return NULL;
	return fm_count(__interceptor_calloc ? __interceptor_calloc(a, b) : __libc_calloc(a, b));
}

FM_NOSAN void free(void *p)
{
	if (!p)
		return;
	atomic_fetch_sub_explicit(&fm_nlive, 1, memory_order_relaxed);
	if (__interceptor_free)
		__interceptor_free(p);
	else
		__libc_free(p);
}

FM_NOSAN void *realloc(void *old, size_t n)
{
	void *p;

	if (old && n == 0) {
		free(old);
		return NULL;
	}
	if (fm_fail())
		return NULL;	/* @old stays valid, as with a real failure */
	p = __interceptor_realloc ? __interceptor_realloc(old, n) : __libc_realloc(old, n);
	if (p && !old)
		atomic_fetch_add_explicit(&fm_nlive, 1, memory_order_relaxed);
	return p;
}

FM_NOSAN void *memalign(size_t align, size_t n)
{
	if (fm_fail())
		return NULL;
	return fm_count(__interceptor_memalign ? __interceptor_memalign(align, n)
					       : __libc_memalign(align, n));
}

FM_NOSAN void *aligned_alloc(size_t align, size_t n)
{
	if (fm_fail())
		return NULL;
	return fm_count(__interceptor_aligned_alloc ? __interceptor_aligned_alloc(align, n)
						    : __libc_memalign(align, n));
}

FM_NOSAN int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;

	if (fm_fail())
		return ENOMEM;
	if (__interceptor_posix_memalign) {
		int err = __interceptor_posix_memalign(out, align, n);

		if (!err)
			fm_count(*out);
		return err;
	}
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = fm_count(p);
	return 0;
}

FM_NOSAN char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

FM_NOSAN char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}
